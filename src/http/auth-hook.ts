/**
 * The seam between the webservice and authentication. The app calls `authenticate` for every
 * request under the webservice prefix, before routing, so unknown paths answer 401 before 404.
 */
export interface Principal {
  userId: number;
  userName: string;
  /** Visible prefix of the API key used, if any (safe to log). */
  keyPrefix?: string;
  readOnly: boolean;
  via: "key" | "session";
}

export interface Authenticator {
  /** Resolves the caller or throws an ApiError (401, 403 or 429). */
  /** `ip` (the client address, for failure limiting) may be given lazily: it is only needed on failure. */
  authenticate(request: Request, ip: string | undefined | (() => string | undefined)): Principal | Promise<Principal>;
}

/** Lets every request through (for tests of other concerns only). */
export const openAccess: Authenticator = {
  authenticate: () => ({ userId: 0, userName: "anonymous", readOnly: false, via: "key" }),
};
