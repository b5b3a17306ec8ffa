export class SocketSession {
    /**
     * @param {string} url  with `since`, without any token
     * @param {TokenSource} tokens  asked for a fresh token when the current one is due
     * @param {string} token  the token to authenticate with
     * @param {SessionHandlers} handlers
     */
    constructor(url: string, tokens: TokenSource, token: string, handlers: SessionHandlers);
    tokens: import("./tokens.js").TokenSource;
    handlers: SessionHandlers;
    sent: string;
    hello: boolean;
    heard: number;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    reauth: ReturnType<typeof setTimeout> | undefined;
    /** Resolves once, when the session is over. @type {Promise<SessionEnd>} */
    ended: Promise<SessionEnd>;
    resolve: (end: SessionEnd) => void;
    ws: WebSocket;
    helloTimer: number;
    keepalive: number;
    /** End the session from this side. */
    close(): void;
    /** @param {number} code @param {string} [reason] */
    finish(code: number, reason?: string): void;
    /** @param {string} data */
    onFrame(data: string): void;
    scheduleReauth(): void;
    refresh(): Promise<void>;
}
export type TaskEvent = import("./rest.js").TaskEvent;
export type TokenSource = import("./tokens.js").TokenSource;
export type SessionHandlers = {
    /**
     * authenticated; replayed events follow
     */
    onHello: () => void;
    onEvent: (event: TaskEvent) => void;
    /**
     * the server cannot replay from `since`: reload the snapshot
     */
    onResync: () => void;
    /**
     * something to report; the session goes on
     */
    onError: (error: Error) => void;
};
export type SessionEnd = {
    /**
     * the close code (1006 for a connection that dropped or went silent)
     */
    code: number;
    /**
     * the close reason the server gave ("" if none)
     */
    reason: string;
    /**
     * whether the server got as far as `hello`
     */
    hello: boolean;
};
