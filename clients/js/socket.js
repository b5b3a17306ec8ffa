// @ts-check
/**
 * One WebSocket session of the sync protocol: the token in the first message (never in
 * the URL), keepalive pings, and a fresh token handed to the same socket before the old
 * one expires. `LiveStore` runs one session at a time and decides from how it ended
 * whether, and when, to open the next.
 * @module tasksync/socket
 */

/** @typedef {import("./rest.js").TaskEvent} TaskEvent */
/** @typedef {import("./tokens.js").TokenSource} TokenSource */

/**
 * @typedef {object} SessionHandlers
 * @property {() => void} onHello  authenticated; replayed events follow
 * @property {(event: TaskEvent) => void} onEvent
 * @property {() => void} onResync  the server cannot replay from `since`: reload the snapshot
 * @property {(error: Error) => void} onError  something to report; the session goes on
 */

/**
 * @typedef {object} SessionEnd
 * @property {number} code  the close code (1006 for a connection that dropped or went silent)
 * @property {string} reason  the close reason the server gave ("" if none)
 * @property {boolean} hello  whether the server got as far as `hello`
 */

// A socket silent this long despite pings is dead (a laptop that slept, a proxy that
// dropped it without a word); the server answers a ping at once.
const PING_EVERY_MS = 20_000;
const SILENCE_LIMIT_MS = 45_000;
// A handshake or an auth message that a dead link swallowed gets no answer at all; the
// server says hello at once, so this long without one means try another socket.
const HELLO_TIMEOUT_MS = 10_000;
// How soon to try again when a token refresh failed or gave back the same token.
const REAUTH_RETRY_MS = 2_000;

export class SocketSession {
  /**
   * @param {string} url  with `since`, without any token
   * @param {TokenSource} tokens  asked for a fresh token when the current one is due
   * @param {string} token  the token to authenticate with
   * @param {SessionHandlers} handlers
   */
  constructor(url, tokens, token, handlers) {
    this.tokens = tokens;
    this.handlers = handlers;
    this.sent = token;
    this.hello = false;
    this.heard = Date.now();
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.reauth = undefined;
    /** @type {(end: SessionEnd) => void} */
    let resolve = () => {};
    /** Resolves once, when the session is over. @type {Promise<SessionEnd>} */
    this.ended = new Promise((r) => (resolve = r));
    this.resolve = resolve;

    this.ws = new WebSocket(url);
    this.ws.onopen = () => this.ws.send(JSON.stringify({ type: "auth", token }));
    this.ws.onclose = (event) => this.finish(event.code, event.reason);
    this.ws.onmessage = (message) => this.onFrame(message.data);
    this.helloTimer = setTimeout(() => this.hello || this.finish(1006), HELLO_TIMEOUT_MS);
    this.keepalive = setInterval(() => {
      if (Date.now() - this.heard > SILENCE_LIMIT_MS) this.finish(1006);
      else if (this.ws.readyState === WebSocket.OPEN) this.ws.send('{"type":"ping"}');
    }, PING_EVERY_MS);
  }

  /** End the session from this side. */
  close() {
    this.finish(1000);
  }

  /** @param {number} code @param {string} [reason] */
  finish(code, reason = "") {
    clearTimeout(this.reauth);
    clearTimeout(this.helloTimer);
    clearInterval(this.keepalive);
    this.ws.onopen = this.ws.onmessage = this.ws.onclose = null;
    if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
    this.resolve({ code, reason, hello: this.hello });
  }

  /** @param {string} data */
  onFrame(data) {
    this.heard = Date.now();
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (frame.type === "hello") {
      this.hello = true;
      this.scheduleReauth();
      this.handlers.onHello();
    } else if (frame.type === "resync") {
      this.handlers.onResync();
    } else if (frame.type === "error") {
      this.handlers.onError(new Error(`socket: ${frame.code}: ${frame.detail}`));
    } else if (typeof frame.seq === "number" && frame.task) {
      this.handlers.onEvent(frame);
    }
  }

  scheduleReauth() {
    const due = this.tokens.refreshAt - Date.now();
    if (Number.isFinite(due)) this.reauth = setTimeout(() => this.refresh(), due > 0 ? due : REAUTH_RETRY_MS);
  }

  async refresh() {
    try {
      const fresh = await this.tokens.get();
      if (fresh !== this.sent && this.ws.readyState === WebSocket.OPEN) {
        this.ws.send(JSON.stringify({ type: "auth", token: fresh }));
        this.sent = fresh;
      }
    } catch (error) {
      // At expiry the server closes with 4401, and the store takes it from there.
      this.handlers.onError(error instanceof Error ? error : new Error(String(error)));
    }
    if (this.ws.readyState === WebSocket.OPEN) this.scheduleReauth();
  }
}
