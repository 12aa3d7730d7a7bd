import { StoreError, type StoreErrorKind } from "../storage/errors.ts";

/**
 * The one error type of the HTTP layer. Whatever goes wrong ends up rendered by `errorResponse`
 * in the contract's shape: {"success":false,"msg":"…","errors":["…"]}.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors: string[] = [message],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export const badRequest = (msg: string, errors?: string[]) => new ApiError(400, msg, errors);
export const INVALID_JSON = "Request body is no valid JSON";

const STATUS_OF_KIND: Record<StoreErrorKind, number> = {
  not_found: 404,
  invalid: 400,
  conflict: 400,
  full: 507,
};

/** Converts known error types to ApiError; anything else is undefined (a bug: 500). */
export function toApiError(e: unknown): ApiError | undefined {
  if (e instanceof ApiError) return e;
  if (e instanceof StoreError) return new ApiError(STATUS_OF_KIND[e.kind], e.message, e.details);
  return undefined;
}

export const JSON_TYPE = "application/json; charset=utf-8";

export function errorBody(msg: string, errors: string[] = [msg]): string {
  return JSON.stringify({ success: false, msg, errors: errors.length ? errors : [msg] });
}

export function errorResponse(e: ApiError, extraHeaders: Record<string, string> = {}): Response {
  return new Response(errorBody(e.message, e.errors), {
    status: e.status,
    headers: { "content-type": JSON_TYPE, ...e.headers, ...extraHeaders },
  });
}
