// Starts the real `warmlead-server` binary on a free loopback port with its own
// SQLite file, optionally with the demo company, and stops it after the test.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const serverBin = () => {
  const bin = process.env.WARMLEAD_SERVER_BIN;
  if (!bin) throw new Error("WARMLEAD_SERVER_BIN is not set: run through `cargo xtask test`");
  return bin;
};

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export async function waitFor(check, { timeoutMs = 30_000, intervalMs = 200, what = "condition" } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (e) {
      lastError = e;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${lastError.message}` : ""}`);
}

// `args` and `env` add server flags and environment (e.g. an SMS provider).
export async function startServer({ demo = true, args: extraArgs = [], env = {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "warmlead-e2e-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const databaseUrl = `sqlite://${join(dir, "server.db")}`;
  const args = ["serve", "--listen", `127.0.0.1:${port}`, "--database-url", databaseUrl];
  if (demo) args.push("--demo");
  args.push(...extraArgs);
  let child;
  let exited = null;
  // Starts the binary and waits for /healthz (again after `pause`).
  const run = async () => {
    exited = null;
    child = spawn(serverBin(), args, {
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, ...env },
    });
    const me = child;
    me.on("exit", (code) => {
      if (child === me) exited = code ?? -1;
    });
    await waitFor(
      async () => {
        if (exited !== null) throw new Error(`warmlead-server exited with ${exited}`);
        const res = await fetch(`${url}/healthz`);
        return res.ok;
      },
      { timeoutMs: 60_000, what: "the server's /healthz" },
    );
  };
  const halt = async () => {
    if (exited !== null) return;
    child.kill("SIGTERM");
    await new Promise((r) => (exited !== null ? r() : child.once("exit", r)));
  };
  await run();
  return {
    url,
    databaseUrl,
    // The server's data directory: its SQLite file and `media/` beside it.
    dir,
    demoCode(role) {
      return execFileSync(serverBin(), ["demo-code", "--database-url", databaseUrl, "--role", role], {
        encoding: "utf8",
      }).trim();
    },
    /** Stops the server and keeps its database: the network is "down". */
    pause: halt,
    /** Starts it again on the same port and database. */
    resume: run,
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// The sync API as a device sees it: activate with a one-time code, then pull.
export async function activate(url, code, deviceName = "e2e") {
  const res = await fetch(`${url}/api/v1/activate`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code, device_name: deviceName }),
  });
  if (!res.ok) throw new Error(`activate: ${res.status} ${await res.text()}`);
  return res.json();
}

export async function pullAll(url, token) {
  const changes = [];
  let after = 0;
  for (;;) {
    const res = await fetch(`${url}/api/v1/sync/pull?after=${after}&limit=1000`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (!res.ok) throw new Error(`pull: ${res.status} ${await res.text()}`);
    const page = await res.json();
    changes.push(...page.changes);
    after = page.cursor;
    if (!page.has_more) return changes;
  }
}

// A JSON API call as a signed-in device.
export async function api(url, token, method, path, body) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}
