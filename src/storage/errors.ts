/**
 * Errors raised by the storage and domain layers. They carry a kind, never an HTTP status:
 * the HTTP layer decides how each kind is rendered.
 */
export type StoreErrorKind =
  | "not_found" // the addressed record does not exist
  | "invalid" // the request refers to something that does not exist or breaks a rule
  | "conflict" // a uniqueness rule would be broken
  | "full"; // the store cannot grow (disk or map full)

export class StoreError extends Error {
  constructor(
    readonly kind: StoreErrorKind,
    message: string,
    readonly details: string[] = [message],
  ) {
    super(message);
    this.name = "StoreError";
  }
}

export const notFound = (message: string) => new StoreError("not_found", message);
export const invalid = (message: string, details?: string[]) => new StoreError("invalid", message, details);
export const conflict = (message: string) => new StoreError("conflict", message);
