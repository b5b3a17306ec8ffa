// The app's service worker: with it the app opens with no connection (the tasks and the
// queued writes are in IndexedDB, but without it the browser shows its own error page).
// Built to /sw.js by vite.config.ts, which replaces `self.__APP_SHELL__` with the
// build's files.
import { serveAppShell } from "tasksync/sw";

declare const self: ServiceWorkerGlobalScope & { __APP_SHELL__: string[] };

serveAppShell(self, { shell: self.__APP_SHELL__, cacheName: "tasks-example" });
