import { LiveStore, TasksyncClient, type TokenProvider } from "tasksync";

declare global {
  interface Window {
    // The demo's stand-in for a real sign-in: a host page (or a test) sets the token
    // before the app loads. A real app passes its auth client's token function instead.
    tasksyncToken?: TokenProvider;
    // Where the API lives when it is not VITE_TASKSYNC_API or this page's origin.
    tasksyncApi?: string;
  }
}

// Trying the app by hand: a token (and the API's address) typed into localStorage.
function typedIn(): { token?: string; api?: string } {
  try {
    return JSON.parse(localStorage.getItem("tasksync.example") ?? "{}") ?? {};
  } catch {
    return {};
  }
}

const typed = typedIn();
const token = window.tasksyncToken ?? typed.token;
export const signedIn = token !== undefined;
export const apiBase = window.tasksyncApi ?? typed.api ?? import.meta.env.VITE_TASKSYNC_API ?? location.origin;

// One store for the app, made once at module scope; App starts it and closes it.
export const store = new LiveStore(new TasksyncClient({ baseUrl: apiBase, token: token ?? (() => null) }));
