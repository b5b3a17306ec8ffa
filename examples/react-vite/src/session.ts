import type { TokenProvider } from "tasksync";

declare global {
  interface Window {
    // The demo's stand-in for a real sign-in: a host page (or a test) sets the token
    // before the app loads. A real app passes its auth client's token instead.
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
/** The token the app starts with: null while nobody is signed in. */
export const firstToken: TokenProvider | null = window.tasksyncToken ?? typed.token ?? null;
export const apiBase = window.tasksyncApi ?? typed.api ?? import.meta.env.VITE_TASKSYNC_API ?? location.origin;

/** Signing out here forgets the typed-in token too, so a reload stays signed out. */
export function forgetToken(): void {
  localStorage.removeItem("tasksync.example");
}
