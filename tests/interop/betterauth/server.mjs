// Test-only Better Auth server for Tasksync's Python interop tests.
//
// Starts a real Better Auth instance (emailAndPassword + jwt plugin with its
// defaults: EdDSA / Ed25519 keys, JWKS at /api/auth/jwks) on
// http://127.0.0.1:$PORT backed by the in-memory adapter, then over real HTTP:
//   1. POST /api/auth/sign-up/email   (autoSignIn -> session cookie)
//   2. GET  /api/auth/token           (with that cookie -> {"token": "<JWT>"})
// and prints exactly ONE line of JSON to stdout:
//   {"jwks_url", "token", "issuer", "audience", "sub", "email"}
// (issuer/audience/sub/email are read back from the issued token itself).
// It then keeps serving until SIGTERM/SIGINT. Diagnostics go to stderr; any
// startup failure exits nonzero.
//
// Env: PORT (required), TEST_EMAIL (default "ada@example.com").

import { randomBytes } from "node:crypto";
import { createServer } from "node:http";

import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { toNodeHandler } from "better-auth/node";
import { jwt } from "better-auth/plugins";

// stdout is a protocol channel carrying exactly one JSON line: route every
// console method that would write to stdout over to stderr instead.
for (const method of ["log", "info", "debug", "warn"]) {
  console[method] = (...args) => console.error(...args);
}

function fail(message, err) {
  console.error(`[betterauth-server] ${message}`);
  if (err !== undefined) console.error(err);
  process.exit(1);
}

function decodeJwtPart(part) {
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
}

async function main() {
  const portText = process.env.PORT;
  const port = Number(portText);
  if (!portText || !Number.isInteger(port) || port <= 0 || port > 65535) {
    fail(`PORT env var must be a TCP port number, got ${JSON.stringify(portText)}`);
  }
  const email = process.env.TEST_EMAIL || "ada@example.com";
  const name = "Ada";
  const password = "correct-horse-battery-staple";
  const baseURL = `http://127.0.0.1:${port}`;

  // Tables the memory adapter needs up front (core schema + jwt plugin).
  const db = { user: [], session: [], account: [], verification: [], jwks: [] };

  const auth = betterAuth({
    baseURL,
    basePath: "/api/auth",
    secret: randomBytes(32).toString("hex"),
    database: memoryAdapter(db),
    emailAndPassword: { enabled: true },
    plugins: [jwt()],
    telemetry: { enabled: false },
    logger: {
      level: "warn",
      log: (level, message, ...args) =>
        console.error(`[better-auth ${level}] ${message}`, ...args),
    },
  });

  const server = createServer(toNodeHandler(auth));
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });

  const shutdown = () => {
    server.close(() => process.exit(0));
    // Don't wait on lingering keep-alive connections.
    server.closeAllConnections?.();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);

  // 1. Sign up (autoSignIn is on by default, so this also creates a session).
  const signUp = await fetch(`${baseURL}/api/auth/sign-up/email`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: baseURL },
    body: JSON.stringify({ email, password, name }),
  });
  if (!signUp.ok) {
    fail(`sign-up failed: HTTP ${signUp.status} ${await signUp.text()}`);
  }
  const cookies = signUp.headers
    .getSetCookie()
    .map((c) => c.split(";", 1)[0])
    .join("; ");
  if (!cookies.includes("better-auth.session_token=")) {
    fail(`sign-up returned no session cookie (got: ${JSON.stringify(cookies)})`);
  }

  // 2. Exchange the session for a JWT (jwt plugin's GET /token).
  const tokenRes = await fetch(`${baseURL}/api/auth/token`, {
    headers: { cookie: cookies, origin: baseURL },
  });
  if (!tokenRes.ok) {
    fail(`GET /api/auth/token failed: HTTP ${tokenRes.status} ${await tokenRes.text()}`);
  }
  const { token } = await tokenRes.json();
  if (typeof token !== "string" || token.split(".").length !== 3) {
    fail(`GET /api/auth/token returned no JWT: ${JSON.stringify(token)}`);
  }

  // Report what the token actually carries (not what we assume it carries).
  const [headerPart, payloadPart] = token.split(".");
  const header = decodeJwtPart(headerPart);
  const claims = decodeJwtPart(payloadPart);
  console.error(`[betterauth-server] issued JWT header=${JSON.stringify(header)}`);

  const line = JSON.stringify({
    jwks_url: `${baseURL}/api/auth/jwks`,
    token,
    issuer: claims.iss,
    audience: Array.isArray(claims.aud) ? claims.aud[0] : claims.aud,
    sub: claims.sub,
    email: claims.email,
  });
  process.stdout.write(`${line}\n`);
}

main().catch((err) => fail("startup failed", err));
