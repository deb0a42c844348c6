// The rep's recruiting screens in the real built app under tauri-driver +
// WebKitWebDriver + Xvfb: the full-screen QR that refreshes itself when a
// friend joins on a phone (headless Chromium), and the Partners screen
// finding that new partner after the sync.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";

import jsQR from "jsqr";
import { PNG } from "pngjs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { startServer, waitFor } from "./lib/server.mjs";
import { launchPhone } from "./lib/chromium.mjs";
import { startXvfb, startTauriDriver, newSession } from "./lib/webdriver.mjs";

const tid = (id) => `[data-testid="${id}"]`;
let server;
let xvfb;
let phone;
let dataDir;
let driver;
let app;

before(async () => {
  mkdirSync("artifacts", { recursive: true });
  if (!process.env.WARMLEAD_APP_BIN) throw new Error("WARMLEAD_APP_BIN is not set: run through `cargo xtask test`");
  server = await startServer({ demo: true });
  xvfb = await startXvfb();
  phone = await launchPhone();
  dataDir = mkdtempSync(join(tmpdir(), "warmlead-recruit-"));
  // Signed in as the demo rep at launch, as `cargo xtask demo` does.
  driver = await startTauriDriver({
    DISPLAY: xvfb.display,
    WARMLEAD_DATA_DIR: dataDir,
    WARMLEAD_SERVER_URL: server.url,
    WARMLEAD_ACTIVATION_CODE: server.demoCode("rep"),
    WARMLEAD_SYNC_INTERVAL_SECS: "2",
  });
  app = await newSession(driver.url, process.env.WARMLEAD_APP_BIN);
});

after(async () => {
  await app?.close();
  await driver?.stop();
  xvfb?.stop();
  await phone?.browser.close();
  await server?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function shot(name) {
  await app.screenshot(`artifacts/${name}.png`).catch(() => {});
}

const bodyText = () => app.execute("return document.body.innerText");
// The texts of the partner rows on screen (the list is virtualized).
const partnerRows = () =>
  app.execute(`return [...document.querySelectorAll('[data-testid="partner-row"]')].map((e) => e.innerText)`);
const shortCode = async () => (await app.text(await app.find(tid("invite-short-code")))).replace(/\s+/g, "");

test("the face-to-face QR refreshes itself when a friend joins, and Esc closes it", async () => {
  try {
    await app.click(await app.waitFor(tid("nav-invite"), 60_000));
    await app.click(await app.waitFor(tid("invite-qr")));
    await app.waitFor(tid("invite-qr-overlay"));
    await app.waitFor(tid("invite-qr-image"));
    const first = await waitFor(async () => /^[0-9A-Z]{6}$/.test(await shortCode()) && shortCode(), {
      what: "a short code under the QR",
    });
    await shot("invite-qr-overlay");

    // The friend types the code on a phone and joins.
    const page = await phone.context.newPage();
    await page.goto(`${server.url}/j/${first.toLowerCase()}`);
    await page.fill('input[name="name"]', "吴小满");
    await page.fill('input[name="phone"]', "13655556666");
    await page.locator('input[type="checkbox"]').first().check();
    await Promise.all([page.waitForNavigation(), page.click("#wl-join")]);
    assert.equal(await page.locator("#wl-welcome").count(), 1);
    await page.close();

    // The overlay says so and shows a fresh invitation.
    const next = await waitFor(
      async () => {
        const code = await shortCode().catch(() => "");
        return /^[0-9A-Z]{6}$/.test(code) && code !== first && code;
      },
      { timeoutMs: 30_000, what: "a new short code after the friend joined" },
    );
    assert.notEqual(next, first);
    await shot("invite-qr-refreshed");

    await app.execute(
      "document.activeElement && document.activeElement.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true}));" +
        "window.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true}));",
    );
    await waitFor(async () => (await app.findAll(tid("invite-qr-overlay"))).length === 0, {
      what: "Esc to close the overlay",
    });
  } catch (e) {
    await shot("recruit-qr-failure");
    throw e;
  }
});

test("the Partners screen lists the demo partners and finds the one who just joined", async () => {
  try {
    await app.click(await app.waitFor(tid("nav-partners")));
    await app.waitFor(tid("partner-row"));
    const rows = await app.findAll(tid("partner-row"));
    assert.ok(rows.length >= 5, `the demo rep has partners (saw ${rows.length})`);
    await shot("partners");

    // The partner from the QR test arrives by sync; search by name finds them.
    const search = await app.find(tid("partner-search"));
    await app.type(search, "吴小满");
    await waitFor(
      async () => {
        const rows = await partnerRows();
        return rows.length === 1 && rows[0].includes("吴小满");
      },
      { timeoutMs: 30_000, what: "the new partner in the search results" },
    );
    await app.click((await app.findAll(tid("partner-row")))[0]);
    const detail = await app.text(await app.waitFor(tid("partner-detail")));
    assert.ok(detail.includes("吴小满"));
    assert.ok(detail.includes("136 5555 6666"), "the phone is shown in groups");
    await shot("partner-detail");

    // Search by phone digits too.
    await app.clear(search);
    await app.type(search, "5555666");
    await waitFor(
      async () => {
        const rows = await partnerRows();
        return rows.length === 1 && rows[0].includes("吴小满");
      },
      { what: "the phone search" },
    );
  } catch (e) {
    await shot("recruit-partners-failure");
    throw e;
  }
});

// The number on the "全部" chip.
async function allCount() {
  const text = await app.text(await app.find(tid("partner-filter-all")));
  return Number(text.replace(/[^0-9]/g, ""));
}

test("CSV import: a GBK file with bad rows is refused row by row, a clean one goes in whole", async () => {
  try {
    await app.click(await app.waitFor(tid("nav-partners")));
    const search = await app.waitFor(tid("partner-search"));
    // Select all and delete, as a person does (React sees the input events).
    await app.type(search, "\uE009a\uE000\uE003");
    await waitFor(async () => (await partnerRows()).length > 1, { what: "the full list" });
    const before = await allCount();

    // What Excel on a Chinese Windows writes: GBK, CRLF.
    const gbk = join(dataDir, "partners-gbk.csv");
    const text = "姓名,手机,备注\r\n陈一,13800990001,老客户\r\n坏号码,12345,\r\n陈一重复,138 0099 0001,\r\n";
    writeFileSync(gbk, execFileSync("iconv", ["-f", "UTF-8", "-t", "GBK"], { input: text }));
    await app.click(await app.find(tid("partner-import")));
    await app.type(await app.waitFor(tid("import-file")), gbk);
    await waitFor(async () => (await app.findAll(tid("import-error-row"))).length === 2, {
      what: "two problem rows (a bad phone, a repeated phone)",
    });
    const reasons = await app.execute(
      `return [...document.querySelectorAll('[data-testid="import-error-row"]')].map((e) => e.dataset.reason)`,
    );
    assert.deepEqual(reasons.sort(), ["bad_phone", "duplicate_phone"]);
    assert.equal(await app.attribute(await app.find(tid("import-confirm")), "disabled"), "true");
    await shot("import-problems");

    // Fixed file: UTF-8 with a BOM this time.
    const utf8 = join(dataDir, "partners-utf8.csv");
    writeFileSync(utf8, "\uFEFF姓名,手机\n陈一,13800990001\n陈二,13800990002\n");
    await app.type(await app.find(tid("import-file")), utf8);
    await waitFor(async () => (await app.findAll(tid("import-error-row"))).length === 0, {
      what: "the clean file's preview",
    });
    const confirm = await app.find(tid("import-confirm"));
    await waitFor(async () => (await app.attribute(confirm, "disabled")) === null, { what: "import enabled" });
    await app.click(confirm);
    await waitFor(async () => (await allCount()) === before + 2, {
      timeoutMs: 30_000,
      what: `the list to grow from ${before} to ${before + 2}`,
    });
    await app.type(await app.find(tid("partner-search")), "陈二");
    await waitFor(
      async () => {
        const rows = await partnerRows();
        return rows.length === 1 && rows[0].includes("陈二") && rows[0].includes("导入");
      },
      { what: "the imported partner, marked as imported" },
    );
    assert.equal(await app.execute(`return document.querySelector('[data-testid="partner-search"]').value`), "陈二");
    await shot("import-done");
  } catch (e) {
    await shot("recruit-import-failure");
    throw e;
  }
});

// An independent decoder (jsQR) reads the QR off the poster the app saved.
function decodeQr(pngBytes) {
  const png = PNG.sync.read(pngBytes);
  const found = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  return { width: png.width, height: png.height, text: found?.data ?? null };
}

test("a poster invitation is saved as a 1080x1920 PNG whose QR opens the invitation page", async () => {
  try {
    await app.click(await app.waitFor(tid("nav-invite")));
    await app.click(await app.waitFor(tid("invite-poster")));
    await app.waitFor(tid("poster-image"), 60_000);
    await shot("invite-poster");
    await app.click(await app.waitFor(tid("poster-save")));
    const toastText = await waitFor(
      async () => {
        const texts = await app.execute(
          `return [...document.querySelectorAll('[data-testid="toast"]')].map((e) => e.innerText)`,
        );
        return texts.find((t) => t.includes(".png"));
      },
      { what: "the saved-to toast" },
    );
    const path = toastText.slice(toastText.indexOf("/")).trim();
    const poster = decodeQr(readFileSync(path));
    rmSync(path, { force: true });
    assert.deepEqual([poster.width, poster.height], [1080, 1920]);
    assert.ok(poster.text, "the QR on the poster decodes");
    assert.match(poster.text, /\/i\/[A-Za-z0-9_-]+$/);

    // A friend in a WeChat group scans it: the invitation page of this rep.
    const page = await phone.context.newPage();
    const res = await page.goto(poster.text);
    assert.equal(res.status(), 200);
    assert.ok((await page.textContent("body")).includes("李明"));
    await page.close();
  } catch (e) {
    await shot("recruit-poster-failure");
    throw e;
  }
});
