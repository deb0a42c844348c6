// The manager's 团队 screen in the real built app (tauri-driver +
// WebKitWebDriver + Xvfb), on a demo server whose console SMS provider
// writes every message to an outbox file:
// - a person's open code is listed with its age; one made on another device
//   says so and offers a new code; a code made in this app is shown again
//   after the app restarts (the app keeps the codes it issued: the server
//   keeps only hashes), sent again by SMS, and withdrawn;
// - switching between the 销售/经理/合伙人 tabs clears the detail; the
//   search narrows the list;
// - the reps' import preview flags a phone already in the company (the
//   server's dry run) and nothing is added; a clean file is added whole,
//   its codes saved as CSV and sent by SMS with each row's result.
// Every screen is photographed in 中文 and English.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { activate, api, waitFor } from "./lib/server.mjs";
import { appHarness, setLanguage, tid } from "./lib/app.mjs";

const WD_ELEMENT = "element-6066-11e4-a52e-4f735466cecf";
const scratch = mkdtempSync(join(tmpdir(), "warmlead-team-codes-"));
const OUTBOX = join(scratch, "sms-outbox.jsonl");
const SAVE_DIR = join(scratch, "saved");

const h = appHarness(
  "team-codes",
  { WARMLEAD_SAVE_DIR: SAVE_DIR },
  {
    demo: true,
    env: { WARMLEAD_SMS_OUTBOX_FILE: OUTBOX },
    // No quiet hours: the test must not depend on the hour it runs at.
    args: ["--sms-quiet-hours", "00:00-00:00"],
  },
);
const { withApp, signIn } = h;

/** The SMS the console provider wrote, oldest first. */
function outbox() {
  if (!existsSync(OUTBOX)) return [];
  return readFileSync(OUTBOX, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
}

const textOf = (app, el) => app.execute("return arguments[0].textContent", [{ [WD_ELEMENT]: el }]);

/** The team row of the person called `name` (the list's order may change). */
async function teamRow(app, name) {
  return waitFor(async () => {
    for (const row of await app.findAll(tid("team-row"))) {
      if ((await textOf(app, row)).includes(name)) return row;
    }
    return null;
  }, { what: `the team row of ${name}` });
}

/** Opens 团队 and waits for the list to arrive from the server. */
async function openTeam(app) {
  await app.click(await app.waitFor(tid("nav-team")));
  await app.waitFor(tid("team-row"));
}

/** Types into the team search and waits for the list to show only `name`. */
async function search(app, query, name) {
  const box = await app.waitFor(tid("team-search"));
  await app.clear(box);
  await app.type(box, query);
  return waitFor(async () => {
    const rows = await app.findAll(tid("team-row"));
    if (rows.length !== 1) return null;
    return (await textOf(app, rows[0])).includes(name) ? rows[0] : null;
  }, { what: `the search to show only ${name}` });
}

/** The one open code row of the selected person, once `known` is as asked. */
async function openCodeRow(app, known) {
  return waitFor(async () => {
    const rows = await app.findAll(tid("team-open-code"));
    if (rows.length !== 1) return null;
    return (await app.attribute(rows[0], "data-known")) === known ? rows[0] : null;
  }, { what: `one open code, known here: ${known}` });
}

async function scrollTo(app, el) {
  await app.execute("arguments[0].scrollIntoView({block: 'center'})", [{ [WD_ELEMENT]: el }]);
}

test("a person's open code: its age, a new one for a code made elsewhere, shown again after a restart, sent again by SMS, withdrawn", async () => {
  const manager = await activate(h.server.url, h.server.demoCode("manager"), "e2e other laptop");
  // Added from another device: its code is not known to the app.
  const elsewhere = await api(h.server.url, manager.device_token, "POST", "/api/v1/team", {
    role: "rep",
    name: "赵敏",
    phone: "13700005555",
  });
  const managerCode = h.server.demoCode("manager");
  let code;
  await withApp("manager-codes", async (app) => {
    await signIn(app, managerCode);
    await openTeam(app);
    await app.click(await search(app, "赵敏", "赵敏"));
    let row = await openCodeRow(app, "0");
    await scrollTo(app, row);
    let text = await textOf(app, row);
    assert.match(text, /今天生成/);
    assert.match(text, /在其他设备上生成/);
    assert.doesNotMatch(text, new RegExp(elsewhere.activation_code));
    assert.equal((await app.findAll(tid("team-code-show"))).length, 0, "nothing to show again");
    await app.screenshot("artifacts/team-codes-elsewhere-zh.png");

    // A new code in its place: the old one is retired, the new one known here.
    await app.click(await app.find(tid("team-code-replace")));
    code = (await app.text(await app.waitFor(tid("team-code-value")))).trim();
    assert.match(code, /^[A-Z0-9]{3}-[A-Z0-9]{3}-[A-Z0-9]{3}$/);
    await openCodeRow(app, "1");
    const old = await fetch(`${h.server.url}/api/v1/activate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ code: elsewhere.activation_code, device_name: "e2e old code" }),
    });
    assert.equal(old.status, 401, "the code made elsewhere was retired");
  });

  // The app restarts: the code it issued is still known, shown and sent again.
  await withApp("manager-codes", async (app) => {
    await openTeam(app);
    await app.click(await search(app, "137 0000 5555", "赵敏"));
    const row = await openCodeRow(app, "1");
    await scrollTo(app, row);
    assert.match(await textOf(app, row), /今天生成/);
    assert.equal((await app.findAll(tid("team-code-value"))).length, 0, "not shown until asked");
    await app.click(await app.find(tid("team-code-show")));
    assert.equal((await app.text(await app.waitFor(tid("team-code-value")))).trim(), code);

    const before = outbox().length;
    // The card's QR arrives a moment later and moves the row below it.
    await app.waitFor(tid("team-code-qr"));
    const resend = await app.find(tid("team-code-resend"));
    await scrollTo(app, resend);
    await app.click(resend);
    await app.waitFor(tid("team-code-resend-sent"));
    const sms = await waitFor(() => outbox().slice(before).find((m) => m.to === "+8613700005555"), {
      what: "the code's SMS in the outbox",
    });
    assert.ok(sms.text.includes(code), sms.text);
    const listed = await app.find(tid("team-open-codes"));
    await scrollTo(app, listed);
    await app.screenshot("artifacts/team-codes-known-zh.png");

    await setLanguage(app, "en");
    await openTeam(app);
    await app.click(await search(app, "赵敏", "赵敏"));
    const en = await openCodeRow(app, "1");
    await scrollTo(app, en);
    assert.match(await textOf(app, en), /Made today/);
    await app.screenshot("artifacts/team-codes-known-en.png");
    await setLanguage(app, "zh-CN");

    // Withdrawn: listed no more, the card gone, and the code no longer signs in.
    await openTeam(app);
    await app.click(await search(app, "赵敏", "赵敏"));
    await openCodeRow(app, "1");
    await app.click(await app.find(tid("team-code-show")));
    await app.waitFor(tid("team-code-value"));
    // The card's QR arrives a moment later and moves what is below it:
    // wait for it, then bring the button into view as a person would.
    await app.waitFor(tid("team-code-qr"));
    const revoke = await app.find(tid("team-code-revoke"));
    await scrollTo(app, revoke);
    await app.click(revoke);
    await app.click(await app.waitFor(tid("team-code-revoke-confirm")));
    await app.waitFor(tid("team-no-open-codes"));
    assert.equal((await app.findAll(tid("team-code-value"))).length, 0);
    const res = await fetch(`${h.server.url}/api/v1/activate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ code, device_name: "e2e withdrawn" }),
    });
    assert.equal(res.status, 401);
  });
});

test("switching between the 销售/经理/合伙人 tabs clears the detail, and the search narrows the list", async () => {
  await withApp("manager-tabs", async (app) => {
    await signIn(app, h.server.demoCode("manager"));
    await openTeam(app);
    const reps = await app.findAll(tid("team-row"));
    assert.ok(reps.length >= 2, "the demo has reps");
    await app.click(reps[0]);
    const name = (await app.text(await app.waitFor(`${tid("team-detail")} h2`))).trim();
    await app.click(await app.find(tid("team-filter-partner")));
    await waitFor(async () => (await app.findAll(tid("team-detail"))).length === 0, {
      what: "the detail to clear on another tab",
    });
    await app.screenshot("artifacts/team-tab-switched-zh.png");
    await app.click(await app.find(tid("team-filter-rep")));
    assert.equal((await app.findAll(tid("team-detail"))).length, 0, "back on 销售, nobody is picked");

    // The search: a part of a name narrows the list; nonsense says nothing matches.
    const row = await search(app, name.slice(0, 1), name);
    assert.ok(row);
    await app.screenshot("artifacts/team-search-zh.png");
    const box = await app.find(tid("team-search"));
    await app.clear(box);
    await app.type(box, "没有这个人");
    await app.waitFor(tid("team-no-match"));
    assert.equal((await app.findAll(tid("team-row"))).length, 0);

    await setLanguage(app, "en");
    await openTeam(app);
    await app.type(await app.waitFor(tid("team-search")), "nobody-like-this");
    assert.match(await app.text(await app.waitFor(tid("team-no-match"))), /Nobody here matches/);
    await app.screenshot("artifacts/team-search-en.png");
    // Backspace, as a person clears it (React does not hear WebDriver's clear alone).
    await app.type(await app.find(tid("team-search")), "\uE003".repeat(20));
    await app.click(await app.waitFor(tid("team-row")));
    await app.waitFor(tid("team-detail"));
    await app.click(await app.find(tid("team-filter-manager")));
    await waitFor(async () => (await app.findAll(tid("team-detail"))).length === 0, {
      what: "the detail to clear on another tab",
    });
    await app.screenshot("artifacts/team-tab-switched-en.png");
    await setLanguage(app, "zh-CN");
  });
});

/** Hands the file input a CSV (WebKitWebDriver cannot type a path into it). */
async function pick(app, text) {
  const input = await app.waitFor(tid("import-file"));
  await app.execute(
    `const input = arguments[0];
     const dt = new DataTransfer();
     dt.items.add(new File([arguments[1]], "reps.csv", { type: "text/csv" }));
     input.files = dt.files;
     input.dispatchEvent(new Event("change", { bubbles: true }));`,
    [{ [WD_ELEMENT]: input }, text],
  );
}

test("the reps' import flags a phone already in the company before import; a clean file is added whole, saved as CSV and sent by SMS", async () => {
  const manager = await activate(h.server.url, h.server.demoCode("manager"), "e2e import probe");
  const team = async () => api(h.server.url, manager.device_token, "GET", "/api/v1/team");
  const taken = (await team()).find((m) => m.user.role === "partner" && m.user.phone).user;
  const csv = `姓名,手机\r\n钱多,13700007771\r\n孙少,13700007772\r\n已在公司,${taken.phone}\r\n`;
  const people = (await team()).length;
  await withApp("manager-import", async (app) => {
    await signIn(app, h.server.demoCode("manager"));
    await openTeam(app);
    await app.click(await app.find(tid("team-import")));
    await pick(app, csv);
    // The file itself is fine; the server's dry run finds the taken phone.
    const bad = await app.waitFor(tid("import-error-row"));
    assert.equal(await app.attribute(bad, "data-reason"), "duplicate_phone");
    assert.match(await textOf(app, bad), /已经在公司里/);
    assert.equal(await app.attribute(await app.find(tid("import-confirm")), "disabled"), "true");
    assert.equal((await team()).length, people, "the preview adds no one");
    await app.screenshot("artifacts/team-import-taken-zh.png");

    await pick(app, csv.replace(/已在公司.*\r\n/, ""));
    const confirm = await app.waitFor(tid("import-confirm"));
    await waitFor(async () => (await app.attribute(confirm, "disabled")) === null, { what: "the import button" });
    assert.match(await app.text(await app.find(tid("import-dialog"))), /全部导入或全不导入/);
    await app.click(confirm);
    const rows = await waitFor(async () => {
      const all = await app.findAll(tid("import-rep-result"));
      return all.length === 2 ? all : null;
    }, { what: "a row per added rep" });
    const codes = [];
    for (const row of rows) {
      const m = (await textOf(app, row)).match(/[A-Z0-9]{3}-[A-Z0-9]{3}-[A-Z0-9]{3}/);
      assert.ok(m, "each row shows its code");
      codes.push(m[0]);
    }

    await app.click(await app.find(tid("import-export-codes")));
    const file = await waitFor(() => existsSync(SAVE_DIR) && readdirSync(SAVE_DIR).find((f) => f.endsWith(".csv")), {
      what: "the saved CSV",
    });
    const saved = readFileSync(join(SAVE_DIR, file), "utf8");
    assert.match(saved, /^\uFEFF姓名,手机,激活码,登录链接\r\n/);
    assert.ok(saved.includes(`钱多,'+8613700007771,${codes[0]},warmlead://activate?`), saved);
    assert.ok(saved.includes(`孙少,'+8613700007772,${codes[1]},warmlead://activate?`), saved);

    const before = outbox().length;
    await app.click(await app.find(tid("import-sms-all")));
    await waitFor(async () => {
      const all = await app.findAll(tid("import-rep-result"));
      const states = await Promise.all(all.map((r) => app.attribute(r, "data-sms")));
      return states.every((s) => s === "sent");
    }, { what: "every row sent" });
    // The button is itself again once every row has its answer.
    const smsAll = await app.find(tid("import-sms-all"));
    await waitFor(async () => (await app.attribute(smsAll, "aria-busy")) === "false", { what: "the sending to end" });
    const sent = outbox().slice(before);
    assert.ok(sent.some((m) => m.to === "+8613700007771" && m.text.includes(codes[0])));
    assert.ok(sent.some((m) => m.to === "+8613700007772" && m.text.includes(codes[1])));
    await app.screenshot("artifacts/team-import-sent-zh.png");

    // English: the same preview of a taken phone.
    await setLanguage(app, "en");
    await openTeam(app);
    await app.click(await app.find(tid("team-import")));
    await pick(app, `name,phone\r\nNew One,13700007779\r\nTaken,${taken.phone}\r\n`);
    const en = await app.waitFor(tid("import-error-row"));
    assert.match(await textOf(app, en), /already in the company/);
    await app.screenshot("artifacts/team-import-taken-en.png");
    await pick(app, "name,phone\r\nNew One,13700007779\r\n");
    const go = await app.waitFor(tid("import-confirm"));
    await waitFor(async () => (await app.attribute(go, "disabled")) === null, { what: "the import button" });
    await app.click(go);
    await app.waitFor(tid("import-rep-result"));
    assert.match(await app.text(await app.find(tid("import-sms-all"))), /Send all by SMS/);
    await app.screenshot("artifacts/team-import-added-en.png");
    await setLanguage(app, "zh-CN");
  });
});
