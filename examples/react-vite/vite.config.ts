import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

// The service worker is built from src/sw.ts to /sw.js (the site's root, so that its
// scope covers every page), and learns the build's file names here: it must precache
// the hashed scripts and styles that index.html loads, names known only once the bundle
// is written. (Workbox's injectManifest does the same with `self.__WB_MANIFEST`.)
function appShell(): Plugin {
  return {
    name: "app-shell",
    apply: "build",
    generateBundle(_options, bundle) {
      const worker = bundle["sw.js"];
      if (worker?.type !== "chunk") throw new Error("src/sw.ts was not built to sw.js");
      const files = Object.keys(bundle).filter((name) => name !== "sw.js" && !name.endsWith(".map"));
      const shell = ["./", ...files.filter((name) => name !== "index.html")];
      if (!worker.code.includes("self.__APP_SHELL__")) throw new Error("sw.js lost its self.__APP_SHELL__ placeholder");
      worker.code = worker.code.replace("self.__APP_SHELL__", JSON.stringify(shell));
    },
  };
}

export default defineConfig({
  plugins: [react(), appShell()],
  build: {
    rollupOptions: {
      input: { index: "index.html", sw: "src/sw.ts" },
      output: {
        entryFileNames: (chunk) => (chunk.name === "sw" ? "sw.js" : "assets/[name]-[hash].js"),
      },
    },
  },
});
