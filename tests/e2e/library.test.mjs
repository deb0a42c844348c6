// The content library's public side in a real phone browser: a hostile
// article saved through the API runs no script on its public page (the
// server stored it sanitised, the page sanitises again, the CSP is the
// third wall), and an archived item's old link shows the polite page. And
// the app's editor, the built UI in Chromium: a hostile body in the cache
// (as a hostile server would send it) runs no script there either.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, resolve, sep } from "node:path";

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

/** The built UI (ui/dist) on a loopback port, as plain files. */
async function serveUi() {
  const root = resolve(import.meta.dirname, "../../ui/dist");
  const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml" };
  const http = createServer(async (req, res) => {
    const path = new URL(req.url, "http://ui").pathname;
    const file = resolve(join(root, path === "/" ? "index.html" : path));
    try {
      if (!file.startsWith(root + sep)) throw new Error("outside the UI");
      const body = await readFile(file);
      res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => http.listen(0, "127.0.0.1", r));
  await readFile(join(root, "index.html")).catch(() => {
    throw new Error("ui/dist is missing: build the UI first (cd ui && npm run build)");
  });
  return { url: `http://127.0.0.1:${http.address().port}/`, close: () => http.close() };
}

test("the app's editor shows a hostile cached article without running its script", async () => {
  const now = Date.now();
  const hostileItem = {
    id: 77,
    company_id: 1,
    key: "e2e-hostile-cached",
    kind: "article",
    status: "live",
    owner_id: null,
    audience: { to: "company" },
    title: "装修避坑指南（缓存）",
    summary: "",
    body: HOSTILE,
    case_study: null,
    cover: null,
    video: null,
    created_at_ms: now,
    updated_at_ms: now,
  };
  const session = {
    user: { id: 1, company_id: 1, role: "manager", name: "测试经理", phone: null, rep_id: null, joined_at_ms: now, source: null, invited_by: null, invitation_id: null },
    company: { id: 1, name: "测试公司", poster_artwork: null, poster_slogan: null, logo: null, commission_promise: null },
    server_url: "http://127.0.0.1:9",
    public_base_url: "http://127.0.0.1:9",
    device_id: 1,
  };
  const sanitized = [];
  // The app's commands as the window sees them. The article sanitiser is the
  // real one: the server's, the same Rust function the app's command calls
  // (the server answers a saved draft's body in its sanitised form).
  const commands = {
    session: () => session,
    signed_out_notice: () => null,
    set_locale: () => null,
    sync_status: () => ({ state: "synced", last_synced_at_ms: now, pending: 0, rejected: [], last_error: null }),
    library: () => [{ item: hostileItem, mine: false, unsynced: false, rejected: null }],
    library_reps: () => [],
    sanitize_article: async ({ html }) => {
      const saved = await api(server.url, manager.device_token, "PUT", "/api/v1/content/e2e-editor-sanitize", {
        kind: "article",
        title: hostileItem.title,
        summary: "",
        body: html,
        case_study: null,
        cover: null,
        video: null,
        audience: { to: "company" },
      });
      sanitized.push(html);
      return saved.body;
    },
    // The update banner asks once at start (a build without the updater key).
    update_status: () => ({ current_version: "0.1.0", enabled: false, checked_at_ms: null, available: null, refused: null }),
    "plugin:event|listen": () => 1,
    "plugin:event|unlisten": () => null,
  };
  const ui = await serveUi();
  // No CSP here: this checks the sanitiser wall alone (the app's policy is
  // the other wall, checked in the built app by deeplink.test.mjs).
  const context = await phone.browser.newContext({ viewport: { width: 1280, height: 860 }, locale: "zh-CN" });
  try {
    const page = await context.newPage();
    const dialogs = [];
    page.on("dialog", async (d) => {
      dialogs.push(d.message());
      await d.dismiss();
    });
    const unknown = [];
    await page.exposeFunction("__bridge", async (cmd, args) => {
      const answer = commands[cmd];
      if (!answer) {
        unknown.push(cmd);
        throw new Error(`no ${cmd} in this test`);
      }
      return answer(args ?? {});
    });
    await page.addInitScript(() => {
      window.__TAURI_INTERNALS__ = {
        metadata: { currentWindow: { label: "main" }, currentWebview: { windowLabel: "main", label: "main" } },
        transformCallback: () => 1,
        unregisterCallback: () => {},
        convertFileSrc: (path, protocol) => `${protocol}://localhost/${path}`,
        invoke: (cmd, args) => window.__bridge(cmd, args),
      };
      window.__TAURI_EVENT_PLUGIN_INTERNALS__ = { unregisterListener: () => {} };
    });
    await page.goto(ui.url);
    await page.click('[data-testid="nav-content"]');
    await page.click('[data-testid="library-item"]');
    const body = page.locator('[data-testid="library-article-body"]');
    // Editable once the body is in; every image in the window has loaded or
    // failed by then (an `onerror` would have run in that same task).
    await page.waitForFunction(() => {
      const el = document.querySelector('[data-testid="library-article-body"]');
      const preview = document.querySelector(".phone-body");
      return (
        el?.isContentEditable &&
        el.textContent.includes("标题") &&
        preview?.textContent.includes("标题") &&
        [...document.images].every((i) => i.complete)
      );
    });
    await page.locator('[data-testid="library-article-body"] h2').click();
    await page.screenshot({ path: "artifacts/library-editor-hostile.png" });
    await page.locator('[data-testid="library-preview"] a', { hasText: "点我" }).click();
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.deepEqual(dialogs, []);
    // The safe parts are there, in the editor and in the phone preview.
    assert.equal(await body.locator("h2").textContent(), "标题");
    assert.match(await body.textContent(), /正文 点我/);
    for (const html of [await body.innerHTML(), await page.innerHTML(".phone-body")]) {
      for (const bad of ["<script", "onerror", "onload", "onclick", "javascript:", "data:", "<svg", "<iframe", "style="]) {
        assert.ok(!html.includes(bad), `${bad} in ${html}`);
      }
    }
    assert.ok(sanitized.includes(HOSTILE), "the editor asked the sanitiser for the cached body");
    assert.deepEqual(unknown, []);
  } finally {
    await context.close();
    ui.close();
  }
});
