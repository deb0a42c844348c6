// Inviting with no network (issue 10): the link of an invitation signed on the
// rep's device, which the server has never seen, opened on a phone (headless
// Chromium, phone viewport, WeChat's user agent): the page shows the rep and
// the company, the friend joins, a second phone is told it was used, and an
// altered link gets the clear "not found" page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";

import { startServer, activate, pullAll } from "./lib/server.mjs";
import { launchPhone } from "./lib/chromium.mjs";
import { signInvitation } from "./lib/token.mjs";

let server;
let phone;
let rep;

before(async () => {
  mkdirSync("artifacts", { recursive: true });
  server = await startServer({ demo: true });
  phone = await launchPhone();
  rep = await activate(server.url, server.demoCode("rep"), "rep laptop offline");
});

after(async () => {
  await phone?.browser.close();
  await server?.stop();
});

async function fillAndJoin(page, name, number) {
  await page.fill('input[name="name"]', name);
  await page.fill('input[name="phone"]', number);
  await page.locator('input[type="checkbox"]').first().check();
  await Promise.all([page.waitForNavigation(), page.click("#wl-join")]);
}

test("a phone opens an invitation the server never saw and joins", async () => {
  const token = signInvitation(rep, 1, { channel: 1, maxUses: 1, expiresAtMs: Date.now() + 3_600_000 });
  const url = `${server.url}/i/${token}`;
  const page = await phone.context.newPage();
  const res = await page.goto(url);
  assert.equal(res.status(), 200);
  const title = await page.textContent("#wl-invite-title");
  assert.ok(title.includes(rep.user.name), `the page names the rep: ${title}`);
  assert.ok(title.includes(rep.company.name), `the page names the company: ${title}`);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `page is ${width}px wide on a 390px phone`);
  await page.screenshot({ path: "artifacts/offline-invite-page.png", fullPage: true });

  await fillAndJoin(page, "离线邀请", "13700137999");
  assert.ok((await page.textContent("#wl-welcome")).includes("离线邀请"));
  assert.match(await page.textContent("#wl-activation-code"), /\S{6,}/);

  // The rep's devices learn of it through the sync stream, used once.
  const changes = await pullAll(server.url, rep.device_token);
  const inv = changes
    .filter((c) => c.entity === "invitation" && c.data.url === url)
    .map((c) => c.data)
    .at(-1);
  assert.ok(inv, "the invitation reached the rep");
  assert.equal(inv.uses, 1);
  assert.equal(inv.status, "accepted");

  // Single use: the next phone is told so.
  const second = await phone.context.newPage();
  const again = await second.goto(url);
  assert.equal(again.status(), 410);
  assert.ok((await second.textContent("body")).includes("这个邀请已被使用"));
  await page.close();
  await second.close();
});

test("an altered offline link gets the clear not-found page", async () => {
  const token = signInvitation(rep, 2, { channel: 3, maxUses: 0, expiresAtMs: Date.now() + 3_600_000 });
  const flip = token[5] === "A" ? "B" : "A";
  const altered = token.slice(0, 5) + flip + token.slice(6);
  const page = await phone.context.newPage();
  const res = await page.goto(`${server.url}/i/${altered}`);
  assert.equal(res.status(), 404);
  assert.ok((await page.textContent("body")).includes("邀请不存在"));
  await page.close();
});
