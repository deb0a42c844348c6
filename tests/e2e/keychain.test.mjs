// Where the app keeps its device token (issue 20), in the real built app
// under tauri-driver + WebKitWebDriver + Xvfb. In a desktop session with a
// keychain (the harness gives each display a Secret Service, as a Linux
// desktop login does) the token goes there and nowhere in the data folder,
// 设置 says 系统钥匙串, and the next start works from it. In a bare X session
// (no session bus) it goes to the private fallback file and 设置 says 本机文件.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

import { waitFor } from "./lib/server.mjs";
import { appHarness, chooseLanguage, tid } from "./lib/app.mjs";

const h = appHarness("keychain");
const { withApp, signIn } = h;

/** The app's entries in the display's keychain, read with libsecret's own tool. */
function keychainEntries() {
  const r = spawnSync("secret-tool", ["search", "--all", "service", "Warmlead"], {
    env: { ...process.env, ...h.xvfb.keychainEnv },
    encoding: "utf8",
  });
  if (r.error) throw new Error(`cannot run secret-tool (install libsecret-tools: cargo xtask setup): ${r.error.message}`);
  const secrets = [...r.stdout.matchAll(/^secret = (.*)$/gm)].map((m) => m[1]);
  const names = [...r.stderr.matchAll(/^attribute\.username = (.*)$/gm)].map((m) => m[1]);
  return names.map((name, i) => ({ name, secret: secrets[i] }));
}

/** Every file under `dir` whose bytes hold `needle`. */
function filesHolding(dir, needle) {
  const found = [];
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath ?? e.path, e.name);
    if (readFileSync(path).includes(needle)) found.push(path);
  }
  return found;
}

/** Opens Settings and reads the token line in Chinese and English (screenshots of both). */
async function tokenLine(app, shot) {
  await app.click(await app.waitFor(tid("nav-settings")));
  const line = await app.waitFor(tid("token-place"));
  const place = await app.attribute(line, "data-place");
  await app.execute(`document.querySelector('[data-testid="token-place"]').scrollIntoView({ block: "center" })`);
  const zh = await app.text(line);
  await app.screenshot(`artifacts/keychain-${shot}-zh.png`);
  await chooseLanguage(app, "en");
  await waitFor(async () => /kept in/.test(await app.text(await app.find(tid("token-place")))), { what: "the English line" });
  await app.execute(`document.querySelector('[data-testid="token-place"]').scrollIntoView({ block: "center" })`);
  const en = await app.text(await app.find(tid("token-place")));
  await app.screenshot(`artifacts/keychain-${shot}-en.png`);
  await chooseLanguage(app, "zh-CN");
  return { place, zh, en };
}

test("in a session with a keychain the token is kept there, said in Settings, used at the next start and forgotten at sign-out", async () => {
  assert.deepEqual(keychainEntries(), [], "the display's keychain starts empty");
  await withApp("desktop", async (app, dataDir) => {
    await signIn(app, h.server.demoCode("manager"));
    const line = await tokenLine(app, "keychain");
    assert.equal(line.place, "keychain");
    assert.match(line.zh, /系统钥匙串/);
    assert.match(line.en, /system keychain/);
    // The storage card asks the server with the token: it works.
    await app.waitFor(tid("media-storage-used"));

    const entries = keychainEntries();
    assert.equal(entries.length, 1, JSON.stringify(entries.map((e) => e.name)));
    assert.match(entries[0].name, /^device-[0-9a-f]{32}$/);
    assert.ok(entries[0].secret.length >= 20);
    assert.deepEqual(filesHolding(dataDir, entries[0].secret), [], "no file of the data folder holds the token");
    assert.ok(!existsSync(join(dataDir, "device-tokens")), "no fallback file");
  });
  // The next start reads it from the keychain: signed in, and the server answers.
  await withApp("desktop", async (app) => {
    await app.click(await app.waitFor(tid("nav-settings")));
    await app.waitFor(tid("media-storage-used"));
    assert.equal(await app.attribute(await app.waitFor(tid("token-place")), "data-place"), "keychain");
    // Signing out forgets it there too.
    await app.click(await app.waitFor(tid("sign-out")));
    await app.click(await app.waitFor(tid("sign-out-confirm")));
    await app.waitFor(tid("signin-server"));
    assert.deepEqual(keychainEntries(), []);
  });
});

test("in a bare X session the token goes to the private file and Settings says so", async () => {
  const before = keychainEntries().length;
  // No session bus at all, and none started for the display.
  const bare = { DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(h.dataRoot, "no-bus")}` };
  await withApp(
    "bare",
    async (app, dataDir) => {
      await signIn(app, h.server.demoCode("rep"));
      const line = await tokenLine(app, "file");
      assert.equal(line.place, "file");
      assert.match(line.zh, /本机文件/);
      assert.match(line.en, /a file on this computer/);

      const dir = join(dataDir, "device-tokens");
      const files = readdirSync(dir);
      assert.equal(files.length, 1, files.join(", "));
      assert.equal(statSync(dir).mode & 0o777, 0o700);
      assert.equal(statSync(join(dir, files[0])).mode & 0o777, 0o600);
      const token = readFileSync(join(dir, files[0]), "utf8");
      assert.deepEqual(filesHolding(dataDir, token), [join(dir, files[0])], "only the token's own file holds it");
    },
    [],
    bare,
  );
  assert.equal(keychainEntries().length, before, "nothing went to the keychain");
});
