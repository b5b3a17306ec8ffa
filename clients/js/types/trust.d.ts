export class TokenTrust {
    /**
     * @param {TasksyncClient} client @param {TaskStorage} storage
     * @param {string} user  the `sub` the store's database is named after
     */
    constructor(client: TasksyncClient, storage: TaskStorage, user: string);
    client: import("./rest.js").TasksyncClient;
    storage: import("./storage.js").TaskStorage;
    user: string;
    /** Whether what is stored may be shown: the server accepted this store's token. */
    trusted: boolean;
    /** The hash last stored as accepted, so an unchanged token is not stored again. @type {string | null} */
    hash: string | null;
    ended: boolean;
    /** Whether `token` is the one the server last accepted for this database. @param {string} token */
    known(token: string): Promise<boolean>;
    /**
     * Ask the server whether it takes `token` until it answers (offline: again with
     * backoff). Resolves true once it accepts it, or the provider's fresh token after a
     * `401`; false if the store closed first. Rejects with an `AuthError` when it refuses
     * both: nothing stored is touched, since a refused token proves nothing about whose
     * data it is.
     * @param {string} token @param {VerifyHooks} hooks @returns {Promise<boolean>}
     */
    verify(token: string, hooks: VerifyHooks): Promise<boolean>;
    /**
     * The server accepted `token` (a socket's `hello`, an answered verification): it is the
     * one to recognise from now on. @param {string | null | undefined} token
     */
    accepted(token: string | null | undefined): Promise<void>;
    /**
     * The session ended: nothing is shown any more, and what is stored is deleted unless
     * it holds writes not sent yet or open conflicts (storage.js `endSession`). Resolves
     * with what was kept; null when this store never showed anything (then nothing is
     * touched).
     * @returns {Promise<{writes: number, conflicts: number} | null>}
     */
    end(): Promise<{
        writes: number;
        conflicts: number;
    } | null>;
}
export type TasksyncClient = import("./rest.js").TasksyncClient;
export type TaskStorage = import("./storage.js").TaskStorage;
export type VerifyHooks = {
    /**
     * asking, or waiting to ask again
     */
    onLink: (link: "connecting" | "offline") => void;
    /**
     * the wait before asking again (ends early when back online)
     */
    pause: (ms: number, atLeast?: number) => Promise<void>;
    /**
     * the store closed: stop asking
     */
    closed: () => boolean;
};
