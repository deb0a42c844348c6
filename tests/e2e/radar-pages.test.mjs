// The radar's public pages on a phone inside WeChat (issue 3): each kind of
// page renders, dwell/scroll/video signals reach the partner's radar stream,
// the "I'm interested" form makes a lead, and hostile names and titles stay
// text. Screenshots go to artifacts/radar-*.png.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";

import { startServer, activate, pullAll, waitFor } from "./lib/server.mjs";
import { launchPhone } from "./lib/chromium.mjs";
import { signShare } from "./lib/token.mjs";

let server;
let phone;
let partner; // activation of the demo partner
let items; // content items by kind
let shareNo = 9000;

function share(itemId, channel = 1) {
  shareNo += 1;
  return signShare(partner, shareNo, itemId, channel);
}

async function radar(token) {
  const changes = [];
  let after = 0;
  for (;;) {
    const res = await fetch(`${server.url}/api/v1/radar/pull?after=${after}&limit=1000`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200);
    const page = await res.json();
    changes.push(...page.changes);
    after = page.cursor;
    if (!page.has_more) return changes;
  }
}

const visitStats = (changes, shareToken) =>
  changes.filter((c) => c.entity === "visit_stats" && c.data.share_token === shareToken).map((c) => c.data);

before(async () => {
  mkdirSync("artifacts", { recursive: true });
  server = await startServer({ demo: true });
  phone = await launchPhone();
  partner = await activate(server.url, server.demoCode("partner"), "e2e radar partner");
  const changes = await pullAll(server.url, partner.device_token);
  items = {};
  for (const c of changes) {
    if (c.entity === "content_item" && !items[c.data.kind]) items[c.data.kind] = c.data;
  }
});

after(async () => {
  await phone?.browser.close();
  await server?.stop();
});

test("each kind of page renders on a phone, with the sharer, the form and pass-it-on", async () => {
  const expect = {
    article: ["article.body p"],
    poster: ["img.poster", "#wl-poster-hint"],
    video: ["video[controls][playsinline]"],
    case_study: ["#wl-case", "blockquote.case-quote"],
  };
  for (const [kind, selectors] of Object.entries(expect)) {
    const item = items[kind];
    assert.ok(item, `the demo has a ${kind}`);
    const token = share(item.id);
    const page = await phone.context.newPage();
    const res = await page.goto(`${server.url}/s/${token}`);
    assert.equal(res.status(), 200, kind);
    assert.equal((await page.textContent("#wl-title")).trim(), item.title, kind);
    assert.match(await page.textContent("#wl-sharer"), new RegExp(partner.user.name));
    for (const sel of [...selectors, "#wl-form", "#wl-forward", "#wl-privacy", "input[name=phone]"]) {
      assert.ok(await page.$(sel), `${kind}: ${sel}`);
    }
    if (kind === "poster" || kind === "article") {
      await page.waitForFunction(() => [...document.images].every((i) => i.complete && i.naturalWidth > 0));
    }
    await page.screenshot({ path: `artifacts/radar-${kind}.png`, fullPage: false });
    if (kind === "case_study") {
      await page.locator("#wl-form").scrollIntoViewIfNeeded();
      await page.screenshot({ path: "artifacts/radar-form.png", fullPage: false });
    }
    await page.close();
  }
});

test("dwell and scroll of an article reach the partner's radar", async () => {
  const token = share(items.article.id);
  const page = await phone.context.newPage();
  await page.goto(`${server.url}/s/${token}`);
  await page.waitForTimeout(1500);
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  await page.waitForTimeout(700);
  await page.close({ runBeforeUnload: true });
  const visit = await waitFor(
    async () => visitStats(await radar(partner.device_token), token).find((v) => v.scroll_pct >= 90 && v.dwell_ms >= 1000),
    { timeoutMs: 10_000, what: "a visit with scroll >= 90% and dwell >= 1 s" },
  );
  assert.ok(visit.dwell_ms < 60_000, `dwell ${visit.dwell_ms}`);
  assert.equal(visit.partner_id, partner.user.id);
});

test("video progress reaches the partner's radar", async (t) => {
  const token = share(items.video.id);
  const page = await phone.context.newPage();
  await page.goto(`${server.url}/s/${token}`);
  const playable = await page.evaluate(() => document.createElement("video").canPlayType('video/mp4; codecs="avc1.42E01E"'));
  if (!playable) {
    await page.close();
    t.skip("this Chromium has no H.264 decoder");
    return;
  }
  await page.evaluate(async () => {
    const v = document.querySelector("video");
    v.muted = true;
    await v.play();
  });
  await page.waitForTimeout(2500);
  await page.evaluate(() => document.querySelector("video").pause());
  await page.screenshot({ path: "artifacts/radar-video-playing.png" });
  const visit = await waitFor(
    async () => visitStats(await radar(partner.device_token), token).find((v) => v.video_pct > 0),
    { timeoutMs: 10_000, what: "a visit with video progress" },
  );
  assert.ok(visit.video_pct <= 100);
  await page.close();
});

test("the form creates a lead for the partner's rep, and errors speak the page's language", async () => {
  const token = share(items.article.id);
  const page = await phone.context.newPage();
  await page.goto(`${server.url}/s/${token}`);
  await page.fill("input[name=name]", "周女士");
  await page.fill("input[name=phone]", "12345");
  await page.check("input[name=consent]");
  await page.click("#wl-form button[type=submit]");
  await page.waitForSelector("#wl-form-msg.error");
  assert.match(await page.textContent("#wl-form-msg"), /手机号/);
  await page.fill("input[name=phone]", "139 0013 9123");
  await page.fill("textarea[name=note]", "想了解旧房翻新");
  await page.click("#wl-form button[type=submit]");
  await page.waitForSelector("#wl-thanks");
  assert.match(await page.textContent("#wl-thanks"), /谢谢/);
  await page.screenshot({ path: "artifacts/radar-thanks.png" });
  await page.close();

  const rep = await activate(server.url, server.demoCode("rep"), "e2e radar rep");
  const leads = (await radar(rep.device_token)).filter((c) => c.entity === "lead").map((c) => c.data);
  const lead = leads.reverse().find((l) => l.phone === "+8613900139123");
  assert.ok(lead, "the rep's radar has the lead with the full phone");
  assert.equal(lead.name, "周女士");
  assert.equal(lead.partner_id, partner.user.id);
  assert.ok(lead.reasons.some((r) => r.code === "left_contact"));
  const mine = (await radar(partner.device_token)).filter((c) => c.entity === "lead").map((c) => c.data);
  assert.ok(mine.some((l) => l.phone === "+86139****9123"), "the partner sees it masked");
});

test("hostile names and titles stay text", async () => {
  const hostileTitle = `"><script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">`;
  const hostileName = `<img src=x onerror=window.__pwned=3>`;
  const manager = await activate(server.url, server.demoCode("manager"), "e2e radar manager");
  const res = await fetch(`${server.url}/api/v1/content`, {
    method: "POST",
    headers: { authorization: `Bearer ${manager.device_token}`, "content-type": "application/json" },
    body: JSON.stringify({ kind: "case_study", title: hostileTitle, summary: "</p><b>x</b>", body: "客户：<i>李</i>\n\n“</blockquote><script>window.__pwned=4</script>”", cover_media_id: null, video_media_id: null }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  const item = await res.json();
  const rename = await fetch(`${server.url}/api/v1/sync/push`, {
    method: "POST",
    headers: { authorization: `Bearer ${partner.device_token}`, "content-type": "application/json" },
    body: JSON.stringify({
      client_id: String(partner.device_id),
      mutations: [{ mutation_id: crypto.randomUUID(), seq: 1, schema_version: 1, name: "rename_self", args: { name: hostileName } }],
    }),
  });
  assert.equal(rename.status, 200, await rename.clone().text());
  const token = share(item.id);
  const page = await phone.context.newPage();
  let dialogs = 0;
  page.on("dialog", (d) => {
    dialogs += 1;
    d.dismiss();
  });
  await page.goto(`${server.url}/s/${token}`);
  await page.waitForTimeout(500);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(dialogs, 0);
  assert.equal((await page.textContent("#wl-title")).trim(), hostileTitle);
  assert.match(await page.textContent("#wl-sharer"), /<img src=x onerror=window.__pwned=3>/);
  assert.equal(await page.$$eval("img[src=x]", (els) => els.length), 0);
  await page.screenshot({ path: "artifacts/radar-hostile.png" });
  await page.close();
});
