/** The socket, the tab relays and the connection state of a `LiveCore`. */
export class LiveSync extends LiveWrites {
    connection: Connection;
    /** @type {ConnectionState} */
    state: ConnectionState;
    /** @type {Role | null} */
    role: Role | null;
    /** The connection itself, apart from a reload in progress. @type {ConnectionState} */
    link: ConnectionState;
    /** How the last socket closed, until the next one is live. @type {number | undefined} */
    closeCode: number | undefined;
    /**
     * Why the store cannot show or keep the list current: `start()` failed or gave up
     * waiting, or the connection ended for good. Null again once the list is shown.
     * @type {Error | null}
     */
    error: Error | null;
    relayed: number;
    /** Aborted by `close()`: whatever a start began stops with it. */
    stop: AbortController;
    /** @type {TabChannel | null} */
    channel: TabChannel | null;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    heartbeat: ReturnType<typeof setInterval> | undefined;
    onOnline: () => void;
    /** @type {TaskStorage | null} */
    storage: TaskStorage | null;
    /** @type {MirrorKeeper | null} */
    keeper: MirrorKeeper | null;
    /** Whether what is stored may be shown for this store's token. @type {TokenTrust | null} */
    trust: TokenTrust | null;
    /** The socket's token at the last heartbeat. @type {{socket: SocketSession, token: string, at: number} | null} */
    renewal: {
        socket: SocketSession;
        token: string;
        at: number;
    } | null;
    /** The tasks with the queued writes applied (computed when asked). @type {Map<string, Task> | null} */
    view: Map<string, Task> | null;
    /** @type {(() => void)[]} */
    waiting: (() => void)[];
    /** Events relayed while the stored list or the snapshot is loading, applied after it. @type {TaskEvent[] | null} */
    early: TaskEvent[] | null;
    /** @type {Set<() => void>} */
    listeners: Set<() => void>;
    /** How many changes `subscribe`'s listeners were told of. */
    revision: number;
    /** The mirror of one start; what it reports is dropped once the store is reopened. */
    newMirror(): TaskMirror;
    /** The socket sessions of one start. */
    newConnection(): Connection;
    /** Stop; if this tab held the socket, the next tab takes it over. */
    close(): void;
    /**
     * The session ended: the server refused fresh tokens, or the provider has none (the
     * user signed out elsewhere). The store closes and shows nothing any more; what is
     * stored is deleted unless it holds writes not sent yet or open conflicts, kept for the
     * user's next sign-in, and the token is forgotten either way (an offline start with it
     * shows nothing). `onError` is told what was kept.
     * @param {Error} error
     */
    endSession(error: Error): Promise<void>;
    /** Runs with the Web Lock held (or at once without sharing), until the store closes. */
    lead(): Promise<void>;
    /**
     * A token renewed on the open socket gets no answer, but a refused one closes it at
     * once (4401), and the server reads a socket's messages in order. So the token the
     * socket carried at the last heartbeat was accepted if the same socket is still open
     * now and has heard from the server since: the one to recognise offline.
     */
    noteRenewal(): void;
    announce(): void;
    reloadConflicts(): Promise<void>;
    /** @param {Relay} message */
    onRelay(message: Relay): void;
    /** Tell `onState` (and, from the leader, the other tabs) of a change. @param {boolean} [roleChanged] */
    refreshState(roleChanged?: boolean): void;
    /**
     * A fatal error: offline until the store is closed and started again; a refused
     * session ends the store. @param {Error} error
     */
    fail(error: Error): void;
}
export type Task = import("./rest.js").Task;
export type TaskEvent = import("./rest.js").TaskEvent;
export type TasksyncClient = import("./rest.js").TasksyncClient;
export type MirrorKeeper = import("./storage.js").MirrorKeeper;
export type TaskStorage = import("./storage.js").TaskStorage;
export type Relay = import("./tabs.js").Relay;
export type TabChannel = import("./tabs.js").TabChannel;
export type TokenTrust = import("./trust.js").TokenTrust;
export type SocketSession = import("./socket.js").SocketSession;
export type ConnectionState = import("./live_options.js").ConnectionState;
export type LiveStoreOptions = import("./live_options.js").LiveStoreOptions;
export type Role = import("./live_options.js").Role;
import { LiveWrites } from "./live_writes.js";
import { Connection } from "./connection.js";
import { TaskMirror } from "./mirror.js";
