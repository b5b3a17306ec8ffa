// @ts-check
/**
 * The token behind every request and socket: `TokenSource` caches what the provider
 * gave and asks again shortly before it expires (or after a `401`); `tokenClaims` reads
 * `sub` and `exp` from a JWT without verifying it (the server verifies); `tokenHash` is
 * how a store recognises the token the server last accepted (trust.js).
 * @module tasksync/tokens
 */

import { AuthError } from "./errors.js";

/**
 * A token, or a function returning one (or a promise of one). It is called again when
 * the token it gave is about to expire and after a `401`; returning nothing means
 * "signed out".
 * @typedef {string | (() => string | null | undefined | Promise<string | null | undefined>)} TokenProvider
 */

// Ask for a new token this long before `exp` (a quarter of the lifetime of a short one).
const REFRESH_MARGIN_MS = 60_000;
// A token that looks due for refresh the moment it arrives (this clock is ahead of the
// issuer's, or the provider hands out a cached token) is kept this long anyway, so the
// provider is not called on every request.
const MIN_TOKEN_REFRESH_MS = 5_000;

/**
 * The claims of a JWT, read without verifying it: the server verifies; the client only
 * needs `sub` (whose tabs share a socket) and `exp` (when to refresh).
 * @param {string} token
 * @returns {Record<string, any> | null}
 */
export function tokenClaims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(part.padEnd(Math.ceil(part.length / 4) * 4, "=")), (ch) =>
      ch.charCodeAt(0),
    );
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return claims && typeof claims === "object" ? claims : null;
  } catch {
    return null;
  }
}

/**
 * The SHA-256 of a token, in hex: what a store keeps of the token the server last
 * accepted, so that it can recognise it offline without keeping a bearer credential in
 * IndexedDB. Null where `crypto.subtle` is missing (plain `http://` other than localhost).
 * @param {string} token @returns {Promise<string | null>}
 */
export async function tokenHash(token) {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return null;
  const digest = await subtle.digest("SHA-256", new TextEncoder().encode(token));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Caches the provider's token and asks again shortly before it expires. */
export class TokenSource {
  /** @param {TokenProvider} provider */
  constructor(provider) {
    this.provider = provider;
    /** @type {string | null} */
    this.token = null;
    this.refreshAt = 0;
    /** @type {Promise<string> | null} */
    this.pending = null;
  }

  /** @param {boolean} [force] ask the provider even if the cached token still looks fresh (after a 401) */
  get(force = false) {
    if (this.token && Date.now() < this.refreshAt && !force) return Promise.resolve(this.token);
    this.pending ??= this.fetch().finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  async fetch() {
    const token = typeof this.provider === "function" ? await this.provider() : this.provider;
    if (!token) throw new AuthError("signed out: the token provider returned no token");
    const now = Date.now();
    this.token = token;
    const due = TokenSource.refreshTime(token, now);
    this.refreshAt = due > now ? due : now + MIN_TOKEN_REFRESH_MS;
    return token;
  }

  /** When to ask for a new token: a margin before `exp`; never, for an opaque token. */
  static refreshTime(/** @type {string} */ token, /** @type {number} */ now) {
    const claims = tokenClaims(token);
    if (typeof claims?.exp !== "number") return Infinity;
    const exp = claims.exp * 1000;
    const lifetime = exp - (typeof claims.iat === "number" ? claims.iat * 1000 : now);
    return exp - Math.min(REFRESH_MARGIN_MS, Math.max(lifetime, 0) / 4);
  }
}
