// The public pages against a hostile page (issue 8): the share page's own
// script runs under its Content-Security-Policy (the beacon reaches the
// partner's radar, the poster image loads from its unguessable address),
// a script injected without the nonce does not run, and a form on another
// site cannot post the lead form through a visitor's browser.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";

import { startServer, activate, pullAll, waitFor, freePort } from "./lib/server.mjs";
import { launchPhone } from "./lib/chromium.mjs";
import { signShare } from "./lib/token.mjs";

let server;
let phone;
let partner;
let items;
let shareNo = 7000;

function share(itemId, channel = 1) {
  shareNo += 1;
  return signShare(partner, shareNo, itemId, channel);
}

async function radar(token) {
  const res = await fetch(`${server.url}/api/v1/radar/pull?after=0&limit=1000`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(res.status, 200);
  return (await res.json()).changes;
}

// Every CSP violation the page reports, from before its first script.
async function watchViolations(page) {
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
}

before(async () => {
  server = await startServer({ demo: true });
  phone = await launchPhone();
  partner = await activate(server.url, server.demoCode("partner"), "e2e websec partner");
  items = {};
  for (const c of await pullAll(server.url, partner.device_token)) {
    if (c.entity === "content_item" && !items[c.data.kind]) items[c.data.kind] = c.data;
  }
});

after(async () => {
  await phone?.browser.close();
  await server?.stop();
});

test("the share page's script runs under its policy: the image loads and the beacon arrives", async () => {
  const item = items.poster;
  assert.ok(item?.cover?.key, "the demo poster has a cover with a key");
  const token = share(item.id);
  const page = await phone.context.newPage();
  await watchViolations(page);
  const res = await page.goto(`${server.url}/s/${token}`);
  assert.equal(res.status(), 200);
  const csp = res.headers()["content-security-policy"];
  assert.match(csp, /script-src 'nonce-[A-Za-z0-9+/=]+'/);
  assert.equal(res.headers()["x-content-type-options"], "nosniff");
  const src = await page.getAttribute("img.poster", "src");
  assert.equal(src, `/media/${item.cover.key}`);
  await page.waitForFunction(() => [...document.images].every((i) => i.complete && i.naturalWidth > 0));
  await page.waitForTimeout(1200);
  await page.close({ runBeforeUnload: true });
  // The first beacon makes the visit; the one at close carries the dwell.
  const visit = await waitFor(
    async () =>
      (await radar(partner.device_token)).find(
        (c) => c.entity === "visit_stats" && c.data.share_token === token && c.data.dwell_ms >= 1000,
      ),
    { timeoutMs: 10_000, what: "the visit with its dwell, reported by the page's beacon" },
  );
  assert.ok(visit.data.dwell_ms < 60_000, `dwell ${visit.data.dwell_ms}`);
});

test("the policy holds: no violation by our own page, a script without the nonce does not run", async () => {
  const token = share(items.article.id);
  const page = await phone.context.newPage();
  await watchViolations(page);
  await page.goto(`${server.url}/s/${token}`);
  await page.waitForSelector("#wl-forward");
  assert.deepEqual(await page.evaluate(() => window.__csp), [], "our own page breaks no rule");
  // What an injection would do: add an inline script to the document.
  await page.evaluate(() => {
    const s = document.createElement("script");
    s.textContent = "window.__injected = 1";
    document.body.append(s);
  });
  await waitFor(async () => (await page.evaluate(() => window.__csp.length)) > 0, {
    timeoutMs: 5_000,
    what: "the violation report",
  });
  assert.equal(await page.evaluate(() => window.__injected), undefined);
  assert.match((await page.evaluate(() => window.__csp)).join("\n"), /script-src/);
  await page.close();
});

test("a page on another site cannot make the visitor's browser post the lead form", async () => {
  const token = share(items.article.id);
  const port = await freePort();
  const evil = createServer((req, res) => {
    res.setHeader("content-type", "text/html; charset=utf-8");
    res.end(`<!doctype html><form id="f" method="post" action="${server.url}/t/lead">
<input name="t" value="${token}"><input name="name" value="冒名">
<input name="phone" value="13900139555"><input name="consent" value="yes"></form>
<script>document.getElementById("f").submit()</script>`);
  });
  await new Promise((r) => evil.listen(port, "127.0.0.1", r));
  try {
    const page = await phone.context.newPage();
    const answered = page.waitForResponse((r) => r.url() === `${server.url}/t/lead`);
    // localhost vs 127.0.0.1: another site, as far as the browser is concerned.
    await page.goto(`http://localhost:${port}/`);
    const res = await answered;
    assert.equal(res.status(), 403);
    await page.waitForSelector("#wl-error");
    assert.match(await page.textContent("#wl-error"), /本站的页面/);
    await page.close();
  } finally {
    evil.close();
  }
  const rep = await activate(server.url, server.demoCode("rep"), "e2e websec rep");
  const leads = (await radar(rep.device_token)).filter((c) => c.entity === "lead");
  assert.ok(!leads.some((c) => c.data.phone === "+8613900139555"), "no lead was made");
});
