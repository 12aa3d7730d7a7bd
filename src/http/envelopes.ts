import { JSON_TYPE } from "./errors.ts";

/** Everything below lives under this prefix (contract: same paths as upstream). */
export const PREFIX = "/__customermanagementframework/webservice";

export type Resource = "customers" | "activities" | "segments" | "segment-groups";

/**
 * Stored items are JSON objects without `_links`; these helpers splice the link (and other trailing
 * keys) into the stored bytes instead of parsing and re-encoding them.
 */
export function linksJson(resource: Resource, id: number): string {
  return `"_links":[{"rel":"self","href":"${PREFIX}/${resource}/${id}","method":"GET"}]`;
}

/** Appends `,key:value` members to a JSON object string. */
export function appendMembers(objectJson: string, members: string): string {
  return objectJson.length > 2 ? `${objectJson.slice(0, -1)},${members}}` : `{${members}}`;
}

export const withLinks = (itemJson: string, resource: Resource, id: number) =>
  appendMembers(itemJson, linksJson(resource, id));

export const singleEnvelope = (timestamp: number, itemJson: string) => `{"timestamp":${timestamp},"data":${itemJson}}`;

export function listEnvelope(p: { page: number; pageSize: number; total: number; timestamp: number; items: string[] }): string {
  const totalPages = Math.ceil(p.total / p.pageSize);
  return `{"page":${p.page},"totalPages":${totalPages},"pageSize":${p.pageSize},"total":${p.total},"timestamp":${p.timestamp},"data":[${p.items.join(",")}]}`;
}

export const flatEnvelope = (itemJson: string, resource: Resource, id: number) =>
  appendMembers(itemJson, `${linksJson(resource, id)},"success":true`);

export function json(body: string, status = 200): Response {
  return new Response(body, { status, headers: { "content-type": JSON_TYPE } });
}

export const noContent = () => new Response(null, { status: 204 });
