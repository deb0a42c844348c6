// A small W3C WebDriver client for the built app under tauri-driver, which
// forwards to WebKitWebDriver. Enough for what the suites do: find, click,
// type, read text, run a script, take a screenshot.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { freePort, waitFor } from "./server.mjs";

const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

// What a desktop login gives the programs of each display: a D-Bus session
// bus with a keychain (the Secret Service, unlocked at login), where the app
// keeps its device token. By display; `startTauriDriver` hands it to the app.
const sessions = new Map();

// A session bus of its own (a socket in `dir`) with gnome-keyring's Secret
// Service on it, its login keyring in `dir` unlocked by a password on its
// input, as a desktop login does: no prompt, nothing of this machine's own
// keyring. The keyring daemon leaves when the bus stops.
async function startSecretService(dir, timeoutMs) {
  const run = join(dir, "run");
  mkdirSync(run, { mode: 0o700 });
  const bus = spawn(
    "dbus-daemon",
    ["--session", "--nofork", "--print-address=1", `--address=unix:path=${join(run, "bus")}`],
    { stdio: ["ignore", "pipe", "ignore"] },
  );
  const address = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`dbus-daemon gave no address within ${timeoutMs} ms`)), timeoutMs);
    bus.stdout.on("data", (chunk) => {
      out += chunk;
      if (out.includes("\n")) {
        clearTimeout(timer);
        resolve(out.trim());
      }
    });
    bus.once("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot start dbus-daemon (install dbus: cargo xtask setup): ${e.message}`));
    });
    bus.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`dbus-daemon exited with ${code} before it gave its address`));
    });
  });
  const env = { ...process.env, DBUS_SESSION_BUS_ADDRESS: address, XDG_DATA_HOME: join(dir, "data"), XDG_RUNTIME_DIR: run };
  delete env.DISPLAY;
  const keyring = (args, input) => {
    try {
      execFileSync("gnome-keyring-daemon", args, { env, input, stdio: ["pipe", "ignore", "ignore"], timeout: timeoutMs });
    } catch (e) {
      bus.kill("SIGTERM");
      throw new Error(`gnome-keyring-daemon ${args.join(" ")} failed (install gnome-keyring: cargo xtask setup): ${e.message}`);
    }
  };
  keyring(["--unlock", "--components=secrets"], "e2e-login-password");
  keyring(["--start", "--components=secrets"], "");
  return { env: { DBUS_SESSION_BUS_ADDRESS: address }, stop: () => bus.kill("SIGTERM") };
}

// A virtual X display for the app's window. Xvfb picks a free display and
// writes its number to fd 3 once it accepts clients (-displayfd): we wait for
// that, not for a fixed time, and fail at once if it exits first. With
// `keychain` (the default) the display's session has a Secret Service, as a
// Linux desktop does; without, it has no session bus at all (a bare X
// session), and the app keeps its token in its fallback file.
export async function startXvfb({ timeoutMs = 30_000, keychain = true } = {}) {
  const child = spawn("Xvfb", ["-displayfd", "3", "-screen", "0", "1280x860x24", "-nolisten", "tcp"], {
    stdio: ["ignore", "ignore", "ignore", "pipe"],
  });
  const display = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGTERM");
      reject(new Error(`Xvfb did not announce a display within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (f) => (v) => {
      clearTimeout(timer);
      f(v);
    };
    child.stdio[3].on("data", (chunk) => {
      out += chunk;
      if (out.includes("\n")) done(resolve)(`:${out.trim()}`);
    });
    child.once("error", done(reject));
    child.once("exit", (code) => done(reject)(new Error(`Xvfb exited with ${code} before it was ready`)));
  });
  const sessionDir = mkdtempSync(join(tmpdir(), "warmlead-session-"));
  let session;
  try {
    session = keychain
      ? await startSecretService(sessionDir, timeoutMs)
      : // Nowhere: libdbus neither finds a bus nor starts one for the display.
        { env: { DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(sessionDir, "no-bus")}` }, stop: () => {} };
  } catch (e) {
    child.kill("SIGTERM");
    rmSync(sessionDir, { recursive: true, force: true });
    throw e;
  }
  sessions.set(display, session.env);
  return {
    display,
    keychainEnv: session.env,
    stop: () => {
      sessions.delete(display);
      session.stop();
      child.kill("SIGTERM");
      rmSync(sessionDir, { recursive: true, force: true });
    },
  };
}

// tauri-driver on a free port, with the environment the app should inherit.
// The app's web storage (the UI language among it) lives under XDG_DATA_HOME:
// each driver gets its own, so a language chosen on this machine by hand
// never leaks into a test.
export async function startTauriDriver(env) {
  const webData = mkdtempSync(join(tmpdir(), "warmlead-webdata-"));
  // Saves go to a folder of the test without the native save dialog, a
  // window WebDriver cannot drive (the app's WARMLEAD_SAVE_DIR).
  const saveDir = join(webData, "saved");
  mkdirSync(saveDir);
  env = { XDG_DATA_HOME: webData, WARMLEAD_SAVE_DIR: saveDir, ...sessions.get(env.DISPLAY), ...env };
  const port = await freePort();
  const nativePort = await freePort();
  const bin = process.env.TAURI_DRIVER_BIN || "tauri-driver";
  const child = spawn(
    bin,
    ["--port", String(port), "--native-port", String(nativePort), "--native-driver", "/usr/bin/WebKitWebDriver"],
    { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, ...env } },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/status`)).ok, { what: "tauri-driver /status" });
  return {
    url,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r)));
      // WebKit's helper processes (network, storage) outlive the app by a
      // moment and can still be writing here: retry for up to 10 s, a
      // bound on their exit, not a pause.
      rmSync(webData, { recursive: true, force: true, maxRetries: 50, retryDelay: 200 });
    },
  };
}

async function call(method, url, body, { timeoutMs } = {}) {
  const res = await fetch(url, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined,
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json.value ?? json)}`);
  return json.value;
}

// `args` are the app's command line (how Linux hands over a warmlead:// link).
// An app that exits at once (another instance took its link) leaves
// WebKitWebDriver waiting for a window: the deadline turns that into an error.
export async function newSession(driverUrl, application, args = []) {
  const value = await call(
    "POST",
    `${driverUrl}/session`,
    { capabilities: { alwaysMatch: { "tauri:options": { application, args } } } },
    { timeoutMs: 120_000 },
  );
  return new Session(driverUrl, value.sessionId);
}

class Session {
  constructor(driverUrl, id) {
    this.base = `${driverUrl}/session/${id}`;
  }
  find(css) {
    return call("POST", `${this.base}/element`, { using: "css selector", value: css }).then((v) => v[ELEMENT]);
  }
  async findAll(css) {
    const v = await call("POST", `${this.base}/elements`, { using: "css selector", value: css });
    return v.map((e) => e[ELEMENT]);
  }
  // Waits until the element exists (the UI renders asynchronously).
  waitFor(css, timeoutMs = 30_000) {
    return waitFor(() => this.find(css), { timeoutMs, what: `element ${css}` });
  }
  click(el) {
    return call("POST", `${this.base}/element/${el}/click`, {});
  }
  clear(el) {
    return call("POST", `${this.base}/element/${el}/clear`, {});
  }
  type(el, text) {
    return call("POST", `${this.base}/element/${el}/value`, { text });
  }
  text(el) {
    return call("GET", `${this.base}/element/${el}/text`);
  }
  attribute(el, name) {
    return call("GET", `${this.base}/element/${el}/attribute/${name}`);
  }
  execute(script, args = []) {
    return call("POST", `${this.base}/execute/sync`, { script, args });
  }
  async screenshot(path) {
    writeFileSync(path, Buffer.from(await call("GET", `${this.base}/screenshot`), "base64"));
  }
  close() {
    // A session whose app already exited (an update restarted it) answers
    // late or never.
    return call("DELETE", this.base, undefined, { timeoutMs: 30_000 }).catch(() => {});
  }
}
