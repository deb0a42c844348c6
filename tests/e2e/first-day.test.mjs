// A real company's first day, in the real built app under tauri-driver +
// WebKitWebDriver + Xvfb, against an empty server: the company is made by the
// server's command line; its manager signs in and adds a rep, who signs in
// with the code the app shows; the rep writes an article with an image while
// the server is stopped and publishes it once it is back; a partner the rep
// invited sees it in the briefcase and shares it as a poster, whose QR, read
// by an independent decoder (jsQR), opens the tracked page on a phone.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";

import { PNG } from "pngjs";
import jsQR from "jsqr";

import { activate, api, pullAll, serverBin, waitFor } from "./lib/server.mjs";
import { appHarness, tid, openShareDialog, pickShareChannel } from "./lib/app.mjs";
import { launchPhone } from "./lib/chromium.mjs";

const h = appHarness("firstday", {}, { demo: false });
const { withApp, signIn } = h;

const COMPANY = "青松家居";
const TITLE = "第一天写的文章";
let phone;

before(async () => {
  phone = await launchPhone();
});
after(async () => {
  await phone?.browser.close();
});

const cli = (...args) => execFileSync(serverBin(), args, { encoding: "utf8" });

/** A small real PNG (a colour gradient) of `w` x `h`. */
function pngBytes(w, h) {
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      png.data[i] = (x * 255) / w;
      png.data[i + 1] = 120;
      png.data[i + 2] = (y * 255) / h;
      png.data[i + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}

/** Hands `bytes` to a file input as a picked file (WebKitWebDriver cannot type paths). */
async function pickFile(app, input, name, type, bytes) {
  await app.execute(
    `const [input, name, type, b64] = arguments;
     const bin = atob(b64);
     const bytes = new Uint8Array(bin.length);
     for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
     const dt = new DataTransfer();
     dt.items.add(new File([bytes], name, { type }));
     input.files = dt.files;
     input.dispatchEvent(new Event("change", { bubbles: true }));`,
    [{ "element-6066-11e4-a52e-4f735466cecf": input }, name, type, Buffer.from(bytes).toString("base64")],
  );
}

const shot = (app, name) => app.screenshot(`artifacts/firstday-${name}.png`);

test("a company made by the CLI: manager adds a rep, the rep writes offline, a partner shares it as a poster", async () => {
  // The empty server's operator makes the company.
  const made = cli(
    "company", "create",
    "--database-url", h.server.databaseUrl,
    "--name", COMPANY,
    "--manager-name", "周青",
    "--manager-phone", "+8613900000001",
    "--public-url", h.server.url,
  );
  const managerCode = /activation code[^:]*: (\S+)/.exec(made)?.[1];
  assert.ok(managerCode, `company create prints the manager's code:\n${made}`);
  assert.ok(made.includes(`warmlead://activate?`), made);

  // The manager signs in and adds a rep; the app shows the rep's code.
  let repCode;
  await withApp("manager", async (app) => {
    await signIn(app, managerCode);
    await app.click(await app.waitFor(tid("nav-team")));
    await app.click(await app.waitFor(tid("team-add")));
    await app.type(await app.waitFor(tid("team-add-name")), "林晓");
    await app.type(await app.find(tid("team-add-phone")), "139 0000 0002");
    await app.click(await app.find(tid("team-add-submit")));
    repCode = (await app.text(await app.waitFor(tid("team-code-value")))).trim();
    await app.waitFor(tid("team-code-qr"));
    await shot(app, "manager-rep-code");
  });
  assert.match(repCode, /^[A-Z0-9]{3}-[A-Z0-9]{3}-[A-Z0-9]{3}$/);

  let probe;
  await withApp("rep", async (app) => {
    await signIn(app, repCode);
    await app.waitFor(tid("nav-content"));
    // The rep's second device for the API side of the test (the rep's own
    // laptop is the app): a code from the operator's command line, made
    // once the first is spent (a new code withdraws the person's open one).
    probe = await activate(
      h.server.url,
      cli("activation-code", "--database-url", h.server.databaseUrl, "--user", "+8613900000002").trim(),
      "e2e probe",
    );
    assert.equal(probe.user.role, "rep");
    // The server goes away: the rep writes with no network.
    await h.server.pause();
    await app.click(await app.find(tid("nav-content")));
    await app.click(await app.waitFor(tid("library-new")));
    await app.click(await app.waitFor(tid("library-new-article")));
    await app.type(await app.waitFor(tid("library-title")), TITLE);
    const body = await app.find(tid("library-article-body"));
    await app.click(body);
    await app.type(body, "开工第一天，先看这张图。");
    await pickFile(app, await app.find(tid("library-image-file")), "site.png", "image/png", pngBytes(240, 160));
    // The image shows in the editor from the local cache (no server).
    await waitFor(
      () =>
        app.execute(
          `const img = document.querySelector('[data-testid="library-article-body"] img');
           return !!img && img.complete && img.naturalWidth === 240;`,
        ),
      { what: "the placed image drawn in the editor" },
    );
    await waitFor(async () => /本机/.test(await app.text(await app.find(tid("library-save-state")))), {
      what: "saved on this computer",
    });
    await app.click(await app.find(tid("library-publish")));
    await waitFor(async () => (await app.findAll(tid("library-archive"))).length === 1, {
      what: "published here (archive offered)",
    });
    await shot(app, "rep-offline-article");

    // Back online: the next sync uploads the image, then the article.
    await h.server.resume();
    await app.click(await app.find(tid("sync-now")));
    const live = await waitFor(
      async () => {
        const item = (await pullAll(h.server.url, probe.device_token)).filter(
          (c) => c.entity === "content_item" && c.data?.title === TITLE,
        ).at(-1)?.data;
        return item?.status === "live" ? item : null;
      },
      { timeoutMs: 90_000, what: "the article live on the server" },
    );
    assert.match(live.body, /<img src="\/media\/[0-9a-f]{32}"/);
    assert.match(live.body, /开工第一天/);
    await waitFor(async () => (await app.attribute(await app.find(tid("sync-badge")), "data-state")) === "synced", {
      what: "the badge synced",
    });
    await shot(app, "rep-published");
  });

  // The rep invites a friend, who joins on a phone and gets the app's code.
  const inv = await api(h.server.url, probe.device_token, "POST", "/api/v1/invitations", {
    channel: "qr",
    multi_use: false,
    expires_in_hours: null,
  });
  const join = await phone.context.newPage();
  await join.goto(inv.url);
  await join.fill('input[name="name"]', "陈朋友");
  await join.fill('input[name="phone"]', "139 0000 0003");
  const consent = join.locator('input[type="checkbox"]');
  if (await consent.count()) await consent.first().check();
  await Promise.all([join.waitForNavigation(), join.click("#wl-join")]);
  const href = await join.getAttribute('a[href^="warmlead://activate"]', "href");
  assert.ok(href, "the welcome page links to warmlead://activate");
  const partnerCode = new URL(href).searchParams.get("code");
  await join.close();

  await withApp("partner", async (app) => {
    await signIn(app, partnerCode);
    await app.click(await app.waitFor(tid("nav-briefcase")));
    const card = await waitFor(
      async () => {
        const found = await app.execute(
          `return [...document.querySelectorAll('[data-testid="briefcase-item"]')]
             .find((e) => e.textContent.includes(arguments[0])) ?? null;`,
          [TITLE],
        );
        return found?.["element-6066-11e4-a52e-4f735466cecf"] ?? null;
      },
      { what: "the rep's article in the partner's briefcase" },
    );
    await app.click(card);
    await openShareDialog(app);
    await pickShareChannel(app, "moments");
    await app.click(await app.waitFor(tid("share-tab-poster")));
    const poster = await app.waitFor(tid("share-poster"), 60_000);
    await shot(app, "partner-poster");
    const src = await app.attribute(poster, "src");
    const png = PNG.sync.read(Buffer.from(src.replace(/^data:image\/png;base64,/, ""), "base64"));
    assert.deepEqual([png.width, png.height], [1080, 1920]);
    const qr = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
    assert.ok(qr, "jsQR reads the poster's QR");
    const shareUrl = qr.data;
    assert.ok(shareUrl.startsWith(`${h.server.url}/s/`), shareUrl);

    // The friend's phone opens it: the tracked page of the article, image and all.
    const page = await phone.context.newPage();
    const res = await page.goto(shareUrl);
    assert.equal(res.status(), 200);
    assert.ok((await page.textContent("body")).includes(TITLE));
    await page.waitForFunction(() => [...document.images].some((i) => i.complete && i.naturalWidth === 240));
    await page.screenshot({ path: "artifacts/firstday-phone.png", fullPage: true });
    const token = new URL(shareUrl).pathname.split("/").pop();
    await waitFor(
      async () =>
        (await pullAll(h.server.url, probe.device_token)).some(
          (c) => c.entity === "visit" && c.data?.share_token === token,
        ),
      { what: "the phone's visit in the rep's pull" },
    );
    await page.close();
  });
});
