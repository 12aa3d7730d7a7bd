import { Type } from "@sinclair/typebox";
import { t, type TSchema } from "elysia";

/**
 * Writable body properties of segments and segment groups (all optional; required ones are checked
 * by the store, with upstream's messages). Shared by the webservice and `cmfd import`.
 */
const nullable = <T extends TSchema>(s: T, expected: string) => t.Optional(t.Union([s, t.Null()], { expected }));

export const SEGMENT_BODY_PROPS: Record<string, TSchema> = {
  name: nullable(t.String({ maxLength: 255 }), "a string of at most 255 characters"),
  group: nullable(Type.Integer({ minimum: 1 }), "a segment group id (positive integer)"),
  reference: nullable(t.String({ maxLength: 255 }), "a string of at most 255 characters, or null"),
  calculated: nullable(t.Boolean(), "true or false"),
  useAsTargetGroup: nullable(t.Boolean(), "true, false or null"),
  targetGroup: nullable(t.String({ maxLength: 255 }), "a string of at most 255 characters, or null"),
};
/** Body keys of a segment accepted and ignored (besides the read-only ones). */
export const SEGMENT_IGNORED_KEYS = ["subFolder"];

export const GROUP_BODY_PROPS: Record<string, TSchema> = {
  name: nullable(t.String({ maxLength: 255 }), "a string of at most 255 characters"),
  reference: nullable(t.String({ maxLength: 190 }), "a string of at most 190 characters, or null"),
  calculated: t.Optional(t.Boolean({ expected: "true or false" })),
  showAsFilter: nullable(t.Boolean(), "true, false or null"),
  filterSortOrder: nullable(Type.Integer({ minimum: -2147483648, maximum: 2147483647 }), "an integer or null"),
  exportNewsletterProvider: nullable(t.Boolean(), "true, false or null"),
};

/** Keys a client gets back from a GET or a write of either: accepted and ignored. */
export const FLAT_READ_ONLY_KEYS = ["id", "creationDate", "modificationDate", "_links", "success"];

/** The body schema built from writable and ignored keys, as the webservice checks it. */
export function flatBodySchema(bodyProps: Record<string, TSchema>, ignored: readonly string[] = []) {
  return t.Object(
    { ...bodyProps, ...Object.fromEntries(ignored.map((k) => [k, t.Optional(t.Unknown({ description: "accepted and ignored" }))])) },
    { additionalProperties: false },
  );
}
