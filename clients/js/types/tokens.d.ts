/**
 * The claims of a JWT, read without verifying it: the server verifies; the client only
 * needs `sub` (whose tabs share a socket) and `exp` (when to refresh).
 * @param {string} token
 * @returns {Record<string, any> | null}
 */
export function tokenClaims(token: string): Record<string, any> | null;
/**
 * The SHA-256 of a token, in hex: what a store keeps of the token the server last
 * accepted, so that it can recognise it offline without keeping a bearer credential in
 * IndexedDB. Null where `crypto.subtle` is missing (plain `http://` other than localhost).
 * @param {string} token @returns {Promise<string | null>}
 */
export function tokenHash(token: string): Promise<string | null>;
/** Caches the provider's token and asks again shortly before it expires. */
export class TokenSource {
    /** When to ask for a new token: a margin before `exp`; never, for an opaque token. */
    static refreshTime(token: string, now: number): number;
    /** @param {TokenProvider} provider */
    constructor(provider: TokenProvider);
    provider: TokenProvider;
    /** @type {string | null} */
    token: string | null;
    refreshAt: number;
    /** @type {Promise<string> | null} */
    pending: Promise<string> | null;
    /** @param {boolean} [force] ask the provider even if the cached token still looks fresh (after a 401) */
    get(force?: boolean): Promise<string>;
    fetch(): Promise<string>;
}
/**
 * A token, or a function returning one (or a promise of one). It is called again when
 * the token it gave is about to expire and after a `401`; returning nothing means
 * "signed out".
 */
export type TokenProvider = string | (() => string | null | undefined | Promise<string | null | undefined>);
