/**
 * The seconds a `4429` close asks to wait (none for any other close).
 * @param {import("./socket.js").SessionEnd} end @returns {number | null}
 */
export function serverWait(end: import("./socket.js").SessionEnd): number | null;
export class Connection {
    /** @param {TasksyncClient} client @param {ConnectionHooks} hooks */
    constructor(client: TasksyncClient, hooks: ConnectionHooks);
    client: import("./rest.js").TasksyncClient;
    hooks: ConnectionHooks;
    closed: boolean;
    /** @type {SocketSession | null} */
    socket: SocketSession | null;
    /** @type {(() => void) | null} */
    wakeUp: (() => void) | null;
    /** Connect, and reconnect after every drop, until `close()`. */
    run(): Promise<void>;
    /** One socket, from `since`, until it closes. @param {string} token */
    session(token: string): Promise<import("./socket.js").SessionEnd>;
    /**
     * Wait `ms`, or less if `wake()` is called (back online) or the connection closes; a
     * wake-up within the first `atLeast` ms (a wait the server asked for) is ignored.
     * @param {number} ms @param {number} [atLeast] @returns {Promise<void>}
     */
    pause(ms: number, atLeast?: number): Promise<void>;
    /** Stop waiting: try again now. */
    wake(): void;
    close(): void;
}
export type TaskEvent = import("./rest.js").TaskEvent;
export type TasksyncClient = import("./rest.js").TasksyncClient;
export type ConnectionHooks = {
    /**
     * the seq to resume from
     */
    since: () => number;
    /**
     * a snapshot reload in progress, to wait for
     */
    reloading: () => Promise<void> | null;
    resync: (reason: string) => Promise<void>;
    /**
     * `code`: how the last socket closed
     */
    onLink: (link: "connecting" | "live" | "offline", code?: number) => void;
    onEvent: (event: TaskEvent) => void;
    /**
     * the server cannot replay from `since`
     */
    onResync: () => void;
    /**
     * no point trying again (signed out, origin refused)
     */
    onFatal: (error: Error) => void;
    /**
     * something to report; the connection goes on
     */
    onError: (error: unknown) => void;
};
import { SocketSession } from "./socket.js";
