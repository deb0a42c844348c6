// The share page's script retries a refused beacon while the page is open
// (issue 8): the first report is refused (503, 429, or the connection
// fails) before it reaches the server, and the view still arrives in
// storage, through the script's retry 1 s later, not its 5 s periodic report. The page's clock is paused so time
// only moves when the test says: a page without the retry sends nothing in
// the first 5 s after a refusal.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";

import { startServer, activate, pullAll, waitFor } from "./lib/server.mjs";
import { launchPhone } from "./lib/chromium.mjs";
import { signShare } from "./lib/token.mjs";

let server;
let phone;
let partner;
let item;
let shareNo = 8000;

function share(itemId, channel = 1) {
  shareNo += 1;
  return signShare(partner, shareNo, itemId, channel);
}

// The share's visit as the partner's radar pull shows it, if stored.
async function visitOf(token) {
  const res = await fetch(`${server.url}/api/v1/radar/pull?after=0&limit=1000`, {
    headers: { authorization: `Bearer ${partner.device_token}` },
  });
  assert.equal(res.status, 200);
  const { changes } = await res.json();
  return changes.find((c) => c.entity === "visit_stats" && c.data.share_token === token);
}

before(async () => {
  server = await startServer({ demo: true });
  phone = await launchPhone();
  partner = await activate(server.url, server.demoCode("partner"), "e2e retry partner");
  const items = await pullAll(server.url, partner.device_token);
  item = items.find((c) => c.entity === "content_item" && c.data.kind === "article").data;
});

after(async () => {
  await phone?.browser.close();
  await server?.stop();
});

// How the first beacon is refused: the writer behind (503), this address
// over its share (429), or no answer at all.
const REFUSALS = [
  ["503", (route) => route.fulfill({ status: 503, contentType: "application/json", body: '{"message":"busy"}' })],
  ["429", (route) => route.fulfill({ status: 429, contentType: "application/json", body: '{"message":"slow down"}' })],
  ["a network error", (route) => route.abort("connectionreset")],
];

for (const [refusal, refuse] of REFUSALS) {
  test(`a beacon refused with ${refusal} is sent again while the page is open, and the view is stored`, async () => {
    const token = share(item.id);
    const page = await phone.context.newPage();
    // Time stands still in the page unless the test runs it.
    await page.clock.install({ time: new Date("2026-03-02T09:00:00Z") });
    await page.clock.pauseAt(new Date("2026-03-02T09:00:01Z"));
    // Every beacon the page sends, and what it was answered.
    const beacons = [];
    await page.route("**/t/beacon", async (route) => {
      const n = beacons.push({ body: route.request().postData() });
      if (n === 1) {
        await refuse(route);
        beacons[0].refused = true;
      } else {
        const res = await route.fetch();
        beacons[n - 1].status = res.status();
        await route.fulfill({ response: res });
      }
    });
    await page.goto(`${server.url}/s/${token}`);
    await waitFor(async () => beacons[0]?.refused, { timeoutMs: 10_000, what: "the first beacon, refused" });
    // Refused, and the only report of the opening (the visible depth rides on
    // the view's report): nothing is stored for the share.
    assert.equal(await visitOf(token), undefined, "nothing but the refused beacon was sent");
    assert.equal(beacons.length, 1, "one report at open");

    // Run the page's clock a little at a time, up to just before the 5 s
    // periodic report: the retry (after 1 s) must come by itself.
    let ran = 0;
    await waitFor(
      async () => {
        if (beacons.length >= 2) return true;
        if (ran < 4_500) {
          await page.clock.runFor(250);
          ran += 250;
        }
        return false;
      },
      { timeoutMs: 15_000, intervalMs: 100, what: "a second beacon before the page's 5 s report" },
    );
    assert.ok(ran < 5_000, `retried after ${ran} ms of page time`);
    const retry = JSON.parse(beacons[1].body);
    assert.equal(retry.t, token);
    assert.equal(retry.pv, JSON.parse(beacons[0].body).pv, "the same page view, reported again");

    const visit = await waitFor(() => visitOf(token), { timeoutMs: 10_000, what: "the view in the partner's radar" });
    assert.equal(visit.data.page_views, 1);
    assert.equal(beacons[1].status, 204);
    await page.close();
  });
}
