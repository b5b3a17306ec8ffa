// @ts-check
/**
 * Whether a store may show what this browser keeps for the user its token names. The
 * client cannot check a token's signature (it has no key), and anything can be written
 * in a token's `sub`, so the server vouches for it: what is stored is shown for the very
 * token the server last accepted here (recognised by its hash, stored beside the list,
 * never the token itself), or once the server has accepted a new one. A token it refuses
 * sees nothing. When an accepted session ends, what is stored goes with it unless it
 * holds something the user did (storage.js `endSession`).
 * @module tasksync/trust
 */

import { AuthError, TasksyncError, errorFrom } from "./errors.js";
import { retryDelay } from "./retry.js";
import { tokenClaims, tokenHash } from "./tokens.js";

/** @typedef {import("./rest.js").TasksyncClient} TasksyncClient */
/** @typedef {import("./storage.js").TaskStorage} TaskStorage */

/**
 * @typedef {object} VerifyHooks
 * @property {(link: "connecting" | "offline") => void} onLink  asking, or waiting to ask again
 * @property {(ms: number, atLeast?: number) => Promise<void>} pause  the wait before asking again (ends early when back online)
 * @property {() => boolean} closed  the store closed: stop asking
 */

// The smallest authenticated read: a list page of one task. Sent with `client.fetch`
// itself, not through the REST calls, to know exactly which token the answer is for
// (those renew the token on a 401 behind the caller's back).
const VERIFY_PATH = "api/tasks?limit=1";

export class TokenTrust {
  /**
   * @param {TasksyncClient} client @param {TaskStorage} storage
   * @param {string} user  the `sub` the store's database is named after
   */
  constructor(client, storage, user) {
    this.client = client;
    this.storage = storage;
    this.user = user;
    /** Whether what is stored may be shown: the server accepted this store's token. */
    this.trusted = false;
    /** The hash last stored as accepted, so an unchanged token is not stored again. @type {string | null} */
    this.hash = null;
    this.ended = false;
  }

  /** Whether `token` is the one the server last accepted for this database. @param {string} token */
  async known(token) {
    const hash = await tokenHash(token);
    this.trusted = hash !== null && hash === (await this.storage.readAccepted());
    if (this.trusted) this.hash = hash;
    return this.trusted;
  }

  /**
   * Ask the server whether it takes `token` until it answers (offline: again with
   * backoff). Resolves true once it accepts it, or the provider's fresh token after a
   * `401`; false if the store closed first. Rejects with an `AuthError` when it refuses
   * both: nothing stored is touched, since a refused token proves nothing about whose
   * data it is.
   * @param {string} token @param {VerifyHooks} hooks @returns {Promise<boolean>}
   */
  async verify(token, hooks) {
    let renewed = false;
    for (let failures = 0; !hooks.closed(); ) {
      hooks.onLink("connecting");
      /** @type {TasksyncError} */
      let error;
      try {
        const response = await this.client.fetch(new URL(VERIFY_PATH, this.client.baseUrl), {
          headers: { Accept: "application/json", Authorization: `Bearer ${token}` },
          cache: "no-store",
        });
        if (response.ok) {
          await this.accepted(token);
          this.trusted = !this.ended;
          return this.trusted;
        }
        error = await errorFrom(response, "GET /api/tasks");
      } catch (cause) {
        error = new TasksyncError("GET /api/tasks: the server could not be reached", { cause });
      }
      if (error instanceof AuthError) {
        const fresh = renewed ? token : await this.client.token(true);
        // A fresh token for another user would open this user's stored list.
        if (renewed || fresh === token || tokenClaims(fresh)?.sub !== this.user) {
          throw new AuthError("the server refused this token: nothing stored for its user is shown");
        }
        renewed = true;
        token = fresh;
        continue;
      }
      if (!error.retryable) throw error;
      hooks.onLink("offline");
      const wait = error.retryAfter;
      await hooks.pause(retryDelay(failures++, wait), (wait ?? 0) * 1000);
    }
    return false;
  }

  /**
   * The server accepted `token` (a socket's `hello`, an answered verification): it is the
   * one to recognise from now on. @param {string | null | undefined} token
   */
  async accepted(token) {
    if (!token || this.ended) return;
    const hash = await tokenHash(token);
    // Checked again after the hashing: the session may have ended meanwhile.
    if (!hash || hash === this.hash || this.ended) return;
    this.hash = hash;
    await this.storage.writeAccepted(hash);
  }

  /**
   * The session ended: nothing is shown any more, and what is stored is deleted unless
   * it holds writes not sent yet or open conflicts (storage.js `endSession`). Resolves
   * with what was kept; null when this store never showed anything (then nothing is
   * touched).
   * @returns {Promise<{writes: number, conflicts: number} | null>}
   */
  async end() {
    this.ended = true;
    if (!this.trusted) return null;
    this.trusted = false;
    return this.storage.endSession();
  }
}
