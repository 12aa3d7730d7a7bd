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
  return `${listHead(p)}${p.items.join(",")}]}`;
}

/** The list envelope up to the opening bracket of `data` (close it with `]}`). */
export function listHead(p: { page: number; pageSize: number; total: number; timestamp: number }): string {
  const totalPages = Math.ceil(p.total / p.pageSize);
  return `{"page":${p.page},"totalPages":${totalPages},"pageSize":${p.pageSize},"total":${p.total},"timestamp":${p.timestamp},"data":[`;
}

/**
 * A list response assembled from stored item bytes: each item is copied once into the body,
 * never decoded into a string and encoded again (that round trip was ~40% of a page of 100).
 */
export class ListBody {
  private buf: Buffer;
  private len = 0;
  private items = 0;
  constructor(head: string, expectedBytes: number) {
    this.buf = Buffer.allocUnsafe(Math.max(1024, expectedBytes + head.length * 3));
    this.text(head);
  }
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
  private text(s: string): void {
    this.room(s.length * 3);
    this.len += this.buf.write(s, this.len);
  }
  /** Appends a stored item (UTF-8 JSON object, no `_links`) with its link; `stored` is copied at once. */
  item(stored: Uint8Array, resource: Resource, id: number): void {
    if (this.items++ > 0) this.text(",");
    const body = stored.length > 2 ? stored.length - 1 : 1; // all but the closing brace
    this.room(body);
    this.buf.set(stored.subarray(0, body), this.len);
    this.len += body;
    this.text(`${stored.length > 2 ? "," : ""}${linksJson(resource, id)}}`);
  }
  /** Appends an item given as JSON text (already complete, links included). */
  itemText(json: string): void {
    if (this.items++ > 0) this.text(",");
    this.text(json);
  }
  response(): Response {
    this.text("]}");
    return new Response(this.buf.subarray(0, this.len), { headers: { "content-type": JSON_TYPE } });
  }
}

export const flatEnvelope = (itemJson: string, resource: Resource, id: number) =>
  appendMembers(itemJson, `${linksJson(resource, id)},"success":true`);

export function json(body: string, status = 200): Response {
  return new Response(body, { status, headers: { "content-type": JSON_TYPE } });
}

export const noContent = () => new Response(null, { status: 204 });
