// Auto-update in the real built app under tauri-driver + WebKitWebDriver +
// Xvfb, against the real server: with nothing newer published, no banner
// (Settings says up to date); a newer version published with `release add`
// and signed with the updater key the app trusts shows the banner with its
// notes, in 中文 and English; the same release with its signature swapped
// for another key's (as on a server someone tampered with) is refused when
// the user says install, with a clear message, and nothing is installed.
// The updater key is made here, at test time; the debug app trusts it
// through WARMLEAD_UPDATER_PUBKEY.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { serverBin, waitFor } from "./lib/server.mjs";
import { appHarness, chooseLanguage, tid } from "./lib/app.mjs";
import { makeUpdaterKey, signPackage } from "./lib/minisign.mjs";

const key = makeUpdaterKey();
const h = appHarness("update", { WARMLEAD_UPDATER_PUBKEY: key.public });
const { withApp, signIn } = h;

/** One minor version above the app's own (tauri.conf.json), so it is newer. */
const appVersion = JSON.parse(readFileSync(new URL("../../src-tauri/tauri.conf.json", import.meta.url))).version;
const [major, minor] = appVersion.split(".").map(Number);
const NEXT = `${major}.${minor + 1}.0`;
const NOTES = "更快的同步\nFaster sync";
const PACKAGE = `Warmlead_${NEXT}_amd64.AppImage`;

function textContent(app, el) {
  return app.execute("return arguments[0].textContent", [{ "element-6066-11e4-a52e-4f735466cecf": el }]);
}

/** The app binary's bytes, hashed: an install would replace them. */
function appDigest() {
  const bin = process.env.WARMLEAD_APP_BIN;
  return { sha256: createHash("sha256").update(readFileSync(bin)).digest("hex"), mtimeMs: statSync(bin).mtimeMs };
}

function sqlite(sql) {
  return execFileSync("sqlite3", [h.server.databaseUrl.replace(/^sqlite:\/\//, ""), sql], { encoding: "utf8" }).trim();
}

test("with nothing newer on the server, no banner; Settings says up to date", async () => {
  await withApp("rep", async (app) => {
    await signIn(app, h.server.demoCode("rep"));
    await app.click(await app.waitFor(tid("nav-settings")));
    // The check after signing in was answered (204): a positive signal, not a wait.
    await app.waitFor(`${tid("update-state")}[data-state="up_to_date"]`);
    assert.deepEqual(await app.findAll(tid("update-banner")), []);
    const card = await textContent(app, await app.find(tid("update-card")));
    assert.match(card, new RegExp(`当前版本 ${appVersion.replaceAll(".", "\\.")}`));
    assert.match(card, /已是最新版本/);
    await app.screenshot("artifacts/update-none.png");
  });
});

test("a newer version signed with the updater key shows the banner with its notes, in 中文 and English", async () => {
  const dir = mkdtempSync(join(tmpdir(), "warmlead-update-"));
  try {
    // An AppImage is an ELF file; this one is only for looking at.
    const bytes = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.from(`warmlead ${NEXT}`)]);
    writeFileSync(join(dir, PACKAGE), bytes);
    writeFileSync(join(dir, `${PACKAGE}.sig`), signPackage(key, bytes, { file: PACKAGE, version: NEXT }));
    writeFileSync(join(dir, "updater.key.pub"), key.public);
    // The operator's one command.
    const out = execFileSync(
      serverBin(),
      ["release", "add", "--database-url", h.server.databaseUrl, "--version", NEXT, "--target", "linux-x86_64",
        "--file", join(dir, PACKAGE), "--signature", join(dir, `${PACKAGE}.sig`), "--notes", NOTES,
        "--updater-pubkey", join(dir, "updater.key.pub")],
      { encoding: "utf8" },
    );
    assert.match(out, new RegExp(`published ${PACKAGE}`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  await withApp("rep", async (app) => {
    // Signed in since the first test: the app checks at start.
    const banner = await app.waitFor(tid("update-banner"));
    assert.equal(await app.attribute(banner, "data-version"), NEXT);
    const zh = await textContent(app, banner);
    assert.match(zh, new RegExp(`发现新版本 ${NEXT.replaceAll(".", "\\.")}`));
    assert.match(zh, /更快的同步/);
    assert.match(zh, /安装并重启/);
    await app.screenshot("artifacts/update-banner-zh.png");

    await app.click(await app.waitFor(tid("nav-settings")));
    await app.waitFor(`${tid("update-state")}[data-state="available"]`);
    await chooseLanguage(app, "en");
    await waitFor(async () => /Install and restart/.test(await textContent(app, await app.find(tid("update-banner")))), {
      what: "the banner in English",
    });
    const en = await textContent(app, await app.find(tid("update-banner")));
    assert.match(en, new RegExp(`Version ${NEXT.replaceAll(".", "\\.")} is available`));
    assert.match(en, /Faster sync/);
    await app.screenshot("artifacts/update-banner-en.png");
    await chooseLanguage(app, "zh-CN");
  });
});

test("a release whose signature was swapped is refused on install with a message, and nothing is installed", async () => {
  // Someone with the server's database replaces the package's signature
  // with one made by a key the app does not trust.
  const attacker = makeUpdaterKey();
  const stored = sqlite(`SELECT stored_as FROM app_releases WHERE version = '${NEXT}'`);
  const bytes = readFileSync(join(h.server.dir, "media", stored));
  const forged = signPackage(attacker, bytes, { file: PACKAGE, version: NEXT });
  sqlite(`UPDATE app_releases SET signature = '${forged}' WHERE version = '${NEXT}'`);
  const before = appDigest();

  await withApp("rep", async (app) => {
    const banner = await app.waitFor(tid("update-banner"));
    assert.equal(await app.attribute(banner, "data-version"), NEXT);
    await app.click(await app.find(tid("update-install")));
    const refused = await app.waitFor(tid("update-refused"));
    assert.match(await textContent(app, refused), /未通过签名验证，没有安装任何内容/);
    assert.deepEqual(await app.findAll(tid("update-install")), [], "no second try at the same package");
    await app.screenshot("artifacts/update-refused-zh.png");
    // Still this app, still running: the window answers, in English too.
    await app.click(await app.find(tid("nav-settings")));
    await app.waitFor(`${tid("update-state")}[data-state="refused"]`);
    await chooseLanguage(app, "en");
    await waitFor(async () => /did not pass the signature check/.test(await textContent(app, await app.find(tid("update-refused")))), {
      what: "the refusal in English",
    });
    assert.match(await textContent(app, await app.find(tid("update-refused"))), /nothing was installed/);
    await app.screenshot("artifacts/update-refused-en.png");
    await chooseLanguage(app, "zh-CN");
  });
  assert.deepEqual(appDigest(), before, "the app's program was not replaced");
});
