import { StrictMode, useState } from "react";
import { createRoot } from "react-dom/client";
import type { TokenProvider } from "tasksync";
import { TasksyncProvider } from "tasksync/react";
import { App } from "./App";
import { apiBase, firstToken, forgetToken } from "./session";
import "./app.css";

// The provider makes the signed-in user's store, starts it and closes it (StrictMode's
// double effect run included); with no token there is no store.
function Root() {
  const [token, setToken] = useState<TokenProvider | null>(firstToken);
  const signOut = () => {
    forgetToken();
    setToken(null);
  };
  return (
    <TasksyncProvider baseUrl={apiBase} token={token}>
      <App onSignedOut={signOut} />
    </TasksyncProvider>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <Root />
  </StrictMode>,
);

// The offline app shell: without a service worker a reload with no connection shows
// the browser's error page, however much the store has kept. Only in a build (the dev
// server has no sw.js).
if (import.meta.env.PROD && "serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js").catch((error: unknown) => console.warn("no offline app shell:", error));
}
