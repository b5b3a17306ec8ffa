// @ts-check
/**
 * The live connection of one tab: socket sessions (socket.js) one after another, from
 * `since` = the mirror's `seq`, with backoff and jitter between them, until the store
 * closes. How a session ended decides what comes next: a retry, a reload first (`1008`),
 * the wait the server named (`4429`: over the stream-open rate, or the user's streams at
 * their cap), or the end (`4401` with fresh tokens, `4403`).
 * @module tasksync/connection
 */

import { AuthError } from "./errors.js";
import { retryDelay } from "./retry.js";
import { SocketSession } from "./socket.js";

/** @typedef {import("./rest.js").TaskEvent} TaskEvent */
/** @typedef {import("./rest.js").TasksyncClient} TasksyncClient */

/**
 * @typedef {object} ConnectionHooks
 * @property {() => number} since  the seq to resume from
 * @property {() => Promise<void> | null} reloading  a snapshot reload in progress, to wait for
 * @property {(reason: string) => Promise<void>} resync
 * @property {(link: "connecting" | "live" | "offline", code?: number) => void} onLink  `code`: how the last socket closed
 * @property {(event: TaskEvent) => void} onEvent
 * @property {() => void} onResync  the server cannot replay from `since`
 * @property {(error: Error) => void} onFatal  no point trying again (signed out, origin refused)
 * @property {(error: unknown) => void} onError  something to report; the connection goes on
 */

// Fresh tokens refused this many times in a row mean the user is signed out for good.
const AUTH_FAILURES_FATAL = 3;
const CLOSE_NOT_AUTHENTICATED = 4401;
const CLOSE_ORIGIN_REFUSED = 4403;
const CLOSE_TOO_MANY_SOCKETS = 4429;
const CLOSE_BAD_SINCE = 1008;
// A 4429 names its wait when it is the stream-open rate ("too many stream opens; retry
// in 12 s"); the cap on open streams does not ("too many open streams for this user"):
// one may end any time, so try again after this long.
const TOO_MANY_SOCKETS_WAIT_S = 5;

/**
 * The seconds a `4429` close asks to wait (none for any other close).
 * @param {import("./socket.js").SessionEnd} end @returns {number | null}
 */
export function serverWait(end) {
  if (end.code !== CLOSE_TOO_MANY_SOCKETS) return null;
  const named = /retry in (\d{1,5}) s/.exec(end.reason);
  return named ? Number(named[1]) : TOO_MANY_SOCKETS_WAIT_S;
}

export class Connection {
  /** @param {TasksyncClient} client @param {ConnectionHooks} hooks */
  constructor(client, hooks) {
    this.client = client;
    this.hooks = hooks;
    this.closed = false;
    /** @type {SocketSession | null} */
    this.socket = null;
    /** @type {(() => void) | null} */
    this.wakeUp = null;
  }

  /** Connect, and reconnect after every drop, until `close()`. */
  async run() {
    let attempt = 0;
    let authFailures = 0;
    while (!this.closed) {
      await this.hooks.reloading();
      this.hooks.onLink("connecting");
      /** @type {import("./socket.js").SessionEnd} */
      let end;
      try {
        end = await this.session(await this.client.token(authFailures > 0));
      } catch (error) {
        if (error instanceof AuthError) return this.hooks.onFatal(error);
        this.hooks.onError(error); // the token provider failed: retry as after a dropped socket
        end = { code: 0, reason: "", hello: false };
      }
      if (this.closed) return;
      if (end.hello) attempt = authFailures = 0;
      if (end.code === CLOSE_NOT_AUTHENTICATED && ++authFailures >= AUTH_FAILURES_FATAL) {
        return this.hooks.onFatal(new AuthError("the server refused fresh tokens: signed out"));
      }
      if (end.code === CLOSE_ORIGIN_REFUSED) {
        return this.hooks.onFatal(new Error("the server refused this page's origin (see CORS_ORIGINS)"));
      }
      if (end.code === CLOSE_BAD_SINCE) await this.hooks.resync("since refused");
      // Refused by a limit: never sooner than the server said, jittered on top. A refusal
      // comes before `hello`, as does a failed handshake, so `attempt` keeps growing.
      const wait = serverWait(end);
      this.hooks.onLink("offline", end.code);
      await this.pause(retryDelay(attempt++, wait), (wait ?? 0) * 1000);
    }
  }

  /** One socket, from `since`, until it closes. @param {string} token */
  async session(token) {
    this.socket = new SocketSession(this.client.socketUrl(this.hooks.since()), this.client.tokens, token, {
      onHello: () => this.hooks.onLink("live"),
      onEvent: (event) => this.hooks.onEvent(event),
      onResync: () => this.hooks.onResync(),
      onError: (error) => this.hooks.onError(error),
    });
    const end = await this.socket.ended;
    this.socket = null;
    return end;
  }

  /**
   * Wait `ms`, or less if `wake()` is called (back online) or the connection closes; a
   * wake-up within the first `atLeast` ms (a wait the server asked for) is ignored.
   * @param {number} ms @param {number} [atLeast] @returns {Promise<void>}
   */
  pause(ms, atLeast = 0) {
    const earliest = Date.now() + atLeast;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        resolve(undefined);
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = () => (this.closed || Date.now() >= earliest) && done();
      if (this.closed) done();
    });
  }

  /** Stop waiting: try again now. */
  wake() {
    this.wakeUp?.();
  }

  close() {
    this.closed = true;
    this.socket?.close();
    this.wake();
  }
}
