// The content library's public side in a real phone browser: a hostile
// article saved through the API runs no script on its public page (the
// server stored it sanitised, the page sanitises again, the CSP is the
// third wall), and an archived item's old link shows the polite page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";

import { startServer, activate, api } from "./lib/server.mjs";
import { launchPhone } from "./lib/chromium.mjs";
import { signShare } from "./lib/token.mjs";

let server;
let phone;
let manager;
let partner;

before(async () => {
  server = await startServer({ demo: true });
  phone = await launchPhone();
  manager = await activate(server.url, server.demoCode("manager"), "e2e library manager");
  partner = await activate(server.url, server.demoCode("partner"), "e2e library partner");
});

after(async () => {
  await phone?.browser.close();
  await server?.stop();
});

const HOSTILE = [
  `<h2 onclick="window.__pwned='h2'">标题</h2>`,
  `<script>window.__pwned='script'</script>`,
  `<p>正文 <a href="javascript:window.__pwned='link'">点我</a></p>`,
  `<img src="x" onerror="window.__pwned='img'">`,
  `<svg onload="window.__pwned='svg'"><script>window.__pwned='svg-script'</script></svg>`,
  `<math><mtext><table><mglyph><style><img src=x onerror="window.__pwned='mxss'">`,
  `<iframe src="javascript:parent.__pwned='iframe'"></iframe>`,
  `<p style="background:url(javascript:window.__pwned='css')">风格</p>`,
  `<a href="data:text/html,<script>alert(1)</script>">数据</a>`,
].join("");

async function publish(key, draft) {
  await api(server.url, manager.device_token, "PUT", `/api/v1/content/${key}`, draft);
  return api(server.url, manager.device_token, "POST", `/api/v1/content/${key}/publish`);
}

test("a hostile article's public page runs no script", async () => {
  const item = await publish("e2e-hostile", {
    kind: "article",
    title: "装修避坑指南（测试）",
    summary: "",
    body: HOSTILE,
    case_study: null,
    cover: null,
    video: null,
    audience: { to: "company" },
  });
  const page = await phone.context.newPage();
  const dialogs = [];
  page.on("dialog", async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });
  const res = await page.goto(`${server.url}/s/${signShare(partner, 9101, item.id)}`);
  assert.equal(res.status(), 200);
  assert.equal(await page.textContent("#wl-article h2"), "标题");
  await page.hover("#wl-article h2");
  await page.click("#wl-article h2");
  // The sanitiser keeps no id: the link is found by its text.
  const link = page.locator("#wl-article a", { hasText: "点我" });
  // A click handler would have run inside the click; an image's onerror
  // before the load event: both are over once these resolve.
  await link.click();
  await page.waitForLoadState("load");
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(dialogs, []);
  const html = await page.innerHTML("#wl-article");
  for (const bad of ["<script", "onerror", "onload", "onclick", "javascript:", "data:", "<svg", "<iframe", "style="]) {
    assert.ok(!html.includes(bad), `${bad} in ${html}`);
  }
  assert.equal(await link.getAttribute("href"), null);
  assert.equal(await link.getAttribute("rel"), "noopener nofollow");
  await page.close();
});

test("an archived item's old link shows the polite page, not a 404", async () => {
  const item = await publish("e2e-archive", {
    kind: "article",
    title: "旧房翻新预算（测试）",
    summary: "",
    body: "<p>一</p>",
    case_study: null,
    cover: null,
    video: null,
    audience: { to: "company" },
  });
  const url = `${server.url}/s/${signShare(partner, 9102, item.id)}`;
  const page = await phone.context.newPage();
  assert.equal((await page.goto(url)).status(), 200);
  await api(server.url, manager.device_token, "POST", "/api/v1/content/e2e-archive/archive");
  const res = await page.goto(url);
  assert.equal(res.status(), 410);
  assert.ok(await page.isVisible("#wl-archived"));
  assert.match(await page.textContent("#wl-archived h1"), /内容已下架|No longer available/);
  await page.close();
});
