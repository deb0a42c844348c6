// A friend opens a partner's share link on a phone, stays 3 s, and the view
// with its dwell time is stored and reaches the partner's scope through sync.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";

import { startServer, activate, pullAll, waitFor } from "./lib/server.mjs";
import { launchPhone } from "./lib/chromium.mjs";

let server;
let phone;

before(async () => {
  mkdirSync("artifacts", { recursive: true });
  server = await startServer({ demo: true });
  phone = await launchPhone();
});

after(async () => {
  await phone?.browser.close();
  await server?.stop();
});

const visitsOf = (changes, token) =>
  changes.filter((c) => c.entity === "visit" && c.data.share_token === token).map((c) => c.data);

test("opening a share link records a view with its dwell time", async () => {
  const device = await activate(server.url, server.demoCode("partner"), "e2e partner");
  const before = await pullAll(server.url, device.device_token);
  const share = before.find((c) => c.entity === "share" && c.data.partner_id === device.user.id)?.data;
  assert.ok(share, "the demo partner has at least one share to open");
  const item = before.find((c) => c.entity === "content_item" && c.data.id === share.item_id)?.data;
  assert.ok(item, "the shared item is in the partner's briefcase");
  const known = new Set(visitsOf(before, share.token).map((v) => v.id));

  const page = await phone.context.newPage();
  const res = await page.goto(`${server.url}/s/${share.token}`);
  assert.equal(res.status(), 200);
  assert.equal((await page.textContent("#wl-title")).trim(), item.title);
  assert.match(await page.textContent("#wl-sharer"), new RegExp(device.user.name));
  await page.screenshot({ path: "artifacts/public-page.png", fullPage: false });
  await page.waitForTimeout(3200);
  await page.close({ runBeforeUnload: true });

  const visit = await waitFor(
    async () => {
      const now = visitsOf(await pullAll(server.url, device.device_token), share.token);
      return now.find((v) => !known.has(v.id) && v.dwell_ms >= 2500);
    },
    { timeoutMs: 10_000, what: "the new visit with ~3 s dwell in the partner's pull" },
  );
  assert.ok(visit.dwell_ms < 60_000, `dwell ${visit.dwell_ms} ms is about the 3 s spent`);
});

test("an altered share token gets a 404 page, not a crash", async () => {
  const device = await activate(server.url, server.demoCode("partner"), "e2e partner 2");
  const share = (await pullAll(server.url, device.device_token)).find((c) => c.entity === "share")?.data;
  assert.ok(share);
  const t = share.token;
  const altered = t.slice(0, 5) + (t[5] === "A" ? "B" : "A") + t.slice(6);
  const page = await phone.context.newPage();
  const res = await page.goto(`${server.url}/s/${altered}`);
  assert.equal(res.status(), 404);
  assert.ok((await page.textContent("body")).length > 0, "the 404 page says something");
  await page.close();
});
