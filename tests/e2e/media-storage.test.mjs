// The manager's 设置 shows how much of the company's media quota (the
// server's --media-quota-mb) its uploads take, in the real built app under
// tauri-driver + WebKitWebDriver + Xvfb, in Chinese and in English.
import { test } from "node:test";
import assert from "node:assert/strict";

import { activate, api, waitFor } from "./lib/server.mjs";
import { appHarness, chooseLanguage, tid } from "./lib/app.mjs";

const h = appHarness("storage", {}, { demo: true, args: ["--media-quota-mb", "20"] });
const { withApp, signIn } = h;

/** Scrolls the storage card into view and waits until it is on screen. */
async function showStorage(app) {
  const onScreen = `const r = document.querySelector('[data-testid="media-storage"]').getBoundingClientRect();
     return r.top >= 0 && r.bottom <= window.innerHeight;`;
  await waitFor(
    async () => {
      await app.execute(`document.querySelector('[data-testid="media-storage"]').scrollIntoView({ block: "center" })`);
      return app.execute(onScreen);
    },
    { what: "the storage card on screen" },
  );
}

test("the manager sees media storage used of the quota in Settings", async () => {
  // What the server counts for the demo company (its seeded logo, covers, ...).
  const manager = await activate(h.server.url, h.server.demoCode("manager"), "e2e storage probe");
  const { used_bytes, quota_bytes } = await api(h.server.url, manager.device_token, "GET", "/api/v1/company/media-usage");
  assert.equal(quota_bytes, 20 * 1024 * 1024);
  assert.ok(used_bytes > 0, "the demo company has media");

  await withApp("manager", async (app) => {
    await signIn(app, h.server.demoCode("manager"));
    await app.click(await app.waitFor(tid("nav-settings")));
    const used = await app.waitFor(tid("media-storage-used"));
    assert.match(await app.text(used), /^已用 [\d.]+ (KB|MB) \/ 共 20 MB$/);
    await showStorage(app);
    await app.screenshot("artifacts/storage-settings-zh.png");

    await chooseLanguage(app, "en");
    await waitFor(async () => /^[\d.]+ (KB|MB) of 20 MB used$/.test(await app.text(await app.find(tid("media-storage-used")))), {
      what: "the English line",
    });
    await showStorage(app);
    await app.screenshot("artifacts/storage-settings-en.png");
    await chooseLanguage(app, "zh-CN");
  });
});
