/** Every limit on what a request may ask for. Each is configurable (see config.ts) and documented. */
export interface Limits {
  /** Largest request body in bytes; larger ones get 413. */
  maxBodyBytes: number;
  /** Page size used when the client sends none. */
  defaultPageSize: number;
  /** Larger page sizes are clamped to this. */
  maxPageSize: number;
  /** Most ids (or types) in one `segments` or `type` filter, one segments-of-customers list, one customer's `segments`. */
  maxIdsPerRequest: number;
  /** Deepest nesting of activity attributes. */
  maxAttributeDepth: number;
  /** Largest activity `attributes` value, as JSON bytes. */
  maxAttributeBytes: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxBodyBytes: 1024 * 1024,
  defaultPageSize: 100,
  maxPageSize: 1000,
  maxIdsPerRequest: 1000,
  maxAttributeDepth: 16,
  maxAttributeBytes: 256 * 1024,
};
