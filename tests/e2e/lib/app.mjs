// The harness of the tests that drive the real built app: a demo server,
// an Xvfb display and one data directory per test file (set up before and
// removed after the file), and a fresh app process per `withApp` call.
import { before, after } from "node:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { startServer, waitFor } from "./server.mjs";
import { startXvfb, startTauriDriver, newSession } from "./webdriver.mjs";

export const tid = (id) => `[data-testid="${id}"]`;

/**
 * Registers the file's before/after hooks. `prefix` names its temp dir and
 * failure screenshots; `env` is added to every app's environment;
 * `serverOptions` go to `startServer` (an empty server: `{ demo: false }`).
 */
export function appHarness(prefix, env = {}, serverOptions = { demo: true }) {
  const h = { server: undefined, xvfb: undefined, dataRoot: undefined };
  before(async () => {
    mkdirSync("artifacts", { recursive: true });
    if (!process.env.WARMLEAD_APP_BIN) throw new Error("WARMLEAD_APP_BIN is not set: run through `cargo xtask test`");
    h.server = await startServer(serverOptions);
    h.xvfb = await startXvfb();
    h.dataRoot = mkdtempSync(join(tmpdir(), `warmlead-${prefix}-e2e-`));
  });
  after(async () => {
    h.xvfb?.stop();
    await h.server?.stop();
    if (h.dataRoot) rmSync(h.dataRoot, { recursive: true, force: true });
  });
  /**
   * Runs `body(app, dataDir)` with a fresh app whose local cache lives in
   * `name`; `args` are its command line (a warmlead:// link, as a desktop
   * hands it over); `appEnv` is added to this app's environment.
   */
  h.withApp = async (name, body, args = [], appEnv = {}) => {
    const dataDir = join(h.dataRoot, name);
    const driver = await startTauriDriver({ DISPLAY: h.xvfb.display, WARMLEAD_DATA_DIR: dataDir, ...env, ...appEnv });
    const app = await newSession(driver.url, process.env.WARMLEAD_APP_BIN, args);
    try {
      return await body(app, dataDir);
    } catch (e) {
      await app.screenshot(`artifacts/${prefix}-${name}-failure.png`).catch(() => {});
      throw e;
    } finally {
      await app.close().catch(() => {});
      // The app first: the driver's stop removes the web data it may still write.
      await stopApps(dataDir);
      await driver.stop();
    }
  };
  /** Signs in on the sign-in screen against this file's server. */
  h.signIn = async (app, code) => {
    const serverField = await app.waitFor(tid("signin-server"));
    await app.clear(serverField);
    await app.type(serverField, h.server.url);
    const codeField = await app.find(tid("signin-code"));
    await app.clear(codeField);
    await app.type(codeField, code);
    await app.click(await app.find(tid("signin-submit")));
  };
  return h;
}

/** Switches the UI language and waits for the page to have reloaded: an
 * element found before the reload would be stale, so a test that looks for
 * one right after `location.reload()` races the reload. */
export async function setLanguage(app, lang) {
  await app.execute(
    `window.__beforeReload = true; localStorage.setItem("warmlead.lang", arguments[0]); location.reload();`,
    [lang],
  );
  await waitFor(async () => (await app.execute("return window.__beforeReload === undefined")) === true, {
    what: "the page to reload",
  });
}

/** The app processes running on `dataDir` (found by their environment). */
function appsOn(dataDir) {
  const want = `WARMLEAD_DATA_DIR=${dataDir}`;
  const pids = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const env = readFileSync(`/proc/${pid}/environ`, "latin1").split("\0");
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "latin1");
      if (env.includes(want) && cmd.includes("warmlead-app")) pids.push(Number(pid));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** Makes sure no app of a finished `withApp` outlives it. WebDriver's
 * session end normally closes the app; when it does not (a slow machine),
 * the app would stay on the file's session bus, and the single-instance
 * plugin would hand the next app's link to it and end the next app at once. */
async function stopApps(dataDir) {
  const gone = (signal) => () => {
    const pids = appsOn(dataDir);
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch {
        // Already gone.
      }
    }
    return pids.length === 0;
  };
  try {
    await waitFor(gone("SIGTERM"), { timeoutMs: 10_000, what: `the app on ${dataDir} to exit` });
  } catch {
    await waitFor(gone("SIGKILL"), { timeoutMs: 5_000, what: `the app on ${dataDir} to die` });
  }
}

/** Picks a language in Settings the way a person does (React sees a change). */
export function chooseLanguage(app, lang) {
  return app.execute(
    `const s = document.querySelector('[data-testid="lang-select"]');
     Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, "value").set.call(s, arguments[0]);
     s.dispatchEvent(new Event("change", { bubbles: true }));`,
    [lang],
  );
}

/**
 * Opens the share dialog of the item shown in the detail pane. A click that
 * lands while the pane re-renders (the first sync attempt after start, the
 * item just picked) reaches a replaced button and does nothing, as it would
 * for a person, who clicks again: so does this, until the dialog shows.
 */
export function openShareDialog(app) {
  const open = async () => (await app.findAll(tid("share-dialog"))).length > 0;
  return waitFor(
    async () => {
      if (await open()) return true;
      await app.click(await app.find(tid("share-button")));
      return open();
    },
    { what: "the share dialog to open" },
  );
}

/**
 * Picks `channel` in the open share dialog and waits for its link. A click
 * that lands while the dialog renders again is clicked once more, as a
 * person would, until the channel shows as chosen; a refusal shown in the
 * dialog fails at once with its words. Returns the link's text.
 */
export async function pickShareChannel(app, channel) {
  const button = tid(`share-channel-${channel}`);
  let url;
  await waitFor(
    async () => {
      const [error] = await app.findAll(tid("share-error"));
      if (error) return { refused: await app.text(error) };
      const [shown] = await app.findAll(tid("share-url"));
      url = shown && (await app.text(shown)).trim();
      if (url?.includes("/s/")) return { url };
      const [choice] = await app.findAll(button);
      if (choice && (await app.attribute(choice, "aria-checked")) !== "true") await app.click(choice);
      return null;
    },
    { what: `the ${channel} share link` },
  ).then((out) => {
    if (out.refused) throw new Error(`the share dialog says: ${out.refused}`);
  });
  return url;
}
