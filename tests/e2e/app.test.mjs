// The core loop in the real built app under tauri-driver + WebKitWebDriver +
// Xvfb: a partner signs in with an activation code, sees the briefcase and
// shares an item; a friend opens the link in Chromium; the rep signs in on
// another device, syncs, and sees the view on the radar.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

import { activate, pullAll, waitFor } from "./lib/server.mjs";
import { launchPhone } from "./lib/chromium.mjs";
import { appHarness, tid, openShareDialog, pickShareChannel } from "./lib/app.mjs";

const h = appHarness("app", { WARMLEAD_SYNC_INTERVAL_SECS: "2" });
const { withApp, signIn } = h;

test("partner shares from the briefcase; the friend's view reaches the rep's radar", async () => {
  let shareUrl;
  let itemId;
  await withApp("partner", async (app, dataDir) => {
    await signIn(app, h.server.demoCode("partner"));
    const card = await app.waitFor(tid("briefcase-item"));
    assert.ok((await app.findAll(tid("briefcase-item"))).length >= 10, "the demo briefcase is full");
    // After the first sync the covers and the logo are cached, so posters
    // made offline later still show them (no poster was opened yet).
    const cache = join(dataDir, "media-cache");
    await waitFor(() => existsSync(cache) && readdirSync(cache).filter((f) => !f.endsWith(".part")).length >= 10, {
      what: "the briefcase's covers in the media cache",
    });
    await app.screenshot("artifacts/app-partner-briefcase.png");
    itemId = Number(await app.attribute(card, "data-item-id"));
    await app.click(card);
    await openShareDialog(app);
    shareUrl = await pickShareChannel(app, "group");
    await app.waitFor(tid("share-qr"));
    await app.screenshot("artifacts/app-partner-share.png");
  });
  assert.ok(shareUrl.startsWith(`${h.server.url}/s/`), `share link ${shareUrl} uses the server's public URL`);
  assert.ok(shareUrl.length <= 60 + h.server.url.length - "https://r.example.com".length, "the link stays short");

  // The visit as the server stored it, seen by an API device of the same partner.
  const token = shareUrl.split("/s/")[1];
  const probe = await activate(h.server.url, h.server.demoCode("partner"), "e2e probe");
  const phone = await launchPhone();
  let visit;
  try {
    const page = await phone.context.newPage();
    assert.equal((await page.goto(shareUrl)).status(), 200);
    await page.waitForTimeout(3200); // the friend reads for a while
    await page.close({ runBeforeUnload: true });
    // The dwell goes out in a beacon on pagehide: the browser stays open
    // until the server has it (a phone does not kill its browser with the tab).
    visit = await waitFor(async () => {
      const changes = await pullAll(h.server.url, probe.device_token);
      return changes.find((c) => c.entity === "visit" && c.data.share_token === token && c.data.dwell_ms >= 2500)?.data;
    }, { what: "the friend's visit with its dwell on the server" });
  } finally {
    await phone.browser.close();
  }
  assert.equal(visit.item_id, itemId);

  await withApp("rep", async (app) => {
    await signIn(app, h.server.demoCode("rep"));
    await app.click(await app.waitFor(tid("nav-radar")));
    const row = await waitFor(async () => {
      await app.click(await app.find(tid("sync-now"))).catch(() => {});
      for (const el of await app.findAll(tid("radar-row"))) {
        if (Number(await app.attribute(el, "data-visit-id")) === visit.id) return el;
      }
      return null;
    }, { timeoutMs: 45_000, intervalMs: 1500, what: "the visit on the rep's radar" });
    assert.ok((await app.text(row)).length > 0);
    await app.screenshot("artifacts/app-rep-radar.png");
  });
});
