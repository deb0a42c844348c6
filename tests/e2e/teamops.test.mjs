// Team operations in the real built app under tauri-driver + WebKitWebDriver +
// Xvfb. A rep's running app is signed out within seconds after the manager
// switches the account off through the API (the background sync waits 10
// minutes here, so only the live event stream can tell it), says why, keeps
// nothing of the company's on disk, and the account's tokens get 401; while
// switched off no code is given; switched on again, a new code signs in; a
// revoked device is signed out with its own message. The manager's 团队
// screen imports reps from a file with the per-row preview and each added
// rep's code.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

import { activate, api, waitFor } from "./lib/server.mjs";
import { appHarness, setLanguage, tid } from "./lib/app.mjs";

/** "Within seconds": the stream wakes at once, a reconnect takes a second or two. */
const SIGN_OUT_WITHIN_MS = 15_000;
const h = appHarness("teamops", {
  // Far longer than the test waits: only the live event stream can notice.
  WARMLEAD_SYNC_INTERVAL_SECS: "600",
});
const { withApp, signIn } = h;

/** Every file under `dir` (the app's data directory), recursively. */
function filesUnder(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** Files of the data directory that still hold any of `needles`. */
function filesHolding(dir, needles) {
  return filesUnder(dir).filter((p) => {
    const bytes = readFileSync(p);
    return needles.some((n) => bytes.includes(Buffer.from(n, "utf8")));
  });
}

async function me(token) {
  const res = await fetch(`${h.server.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json().catch(() => ({})) };
}

async function post(token, path) {
  const res = await fetch(`${h.server.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: "{}",
  });
  return { status: res.status, body: await res.json().catch(() => ({})) };
}

test("a switched-off rep's running app signs out within seconds, keeps nothing, and signs in again once switched on", async () => {
  const manager = await activate(h.server.url, h.server.demoCode("manager"), "e2e manager");
  // Another device of the same rep: its token must get 401 too.
  const probe = await activate(h.server.url, h.server.demoCode("rep"), "e2e probe");
  const rep = probe.user;
  const company = probe.company.name;

  await withApp("rep", async (app, dataDir) => {
    await signIn(app, h.server.demoCode("rep"));
    await app.waitFor(tid("nav-radar"));
    // The cache holds the company before (so the check after can fail).
    await waitFor(async () => filesHolding(dataDir, [company]).length > 0, { what: "the company in the cache" });

    const t0 = Date.now();
    assert.equal((await post(manager.device_token, `/api/v1/team/${rep.id}/deactivate`)).status, 200);
    const notice = await app.waitFor(tid("signin-switched-off"), SIGN_OUT_WITHIN_MS);
    const elapsed = Date.now() - t0;
    assert.ok(elapsed < SIGN_OUT_WITHIN_MS, `signed out after ${elapsed} ms`);
    assert.equal(await app.attribute(notice, "data-code"), "account_disabled");
    const text = await app.text(notice);
    assert.match(text, /公司已停用此账号/);
    assert.match(text, new RegExp(`${company}的经理`), "says whom to ask");
    await app.screenshot("artifacts/teamops-signed-out.png");
    console.log(`# signed out ${elapsed} ms after the manager switched the rep off`);

    // Nothing of the company's is kept: no file of the data directory holds
    // its name, the rep's name or the token of the device.
    assert.deepEqual(filesHolding(dataDir, [company, rep.name]), []);
    const probeMe = await me(probe.device_token);
    assert.equal(probeMe.status, 401);
    assert.equal(probeMe.body.code, "account_disabled");

    // Switched off, nobody gives the account a code; switched on, a new one signs in.
    assert.equal((await post(manager.device_token, `/api/v1/team/${rep.id}/activation-code`)).status, 409);
    assert.equal((await post(manager.device_token, `/api/v1/team/${rep.id}/reactivate`)).status, 200);
    const issued = await post(manager.device_token, `/api/v1/team/${rep.id}/activation-code`);
    assert.equal(issued.status, 200);
    await signIn(app, issued.body.activation_code);
    await app.waitFor(tid("nav-radar"));

    // A revoked device (a lost laptop): signed out with its own message; the
    // rep's other device goes on.
    const team = await api(h.server.url, manager.device_token, "GET", "/api/v1/team");
    const laptop = team
      .find((m) => m.user.id === rep.id)
      .devices.filter((d) => d.revoked_at_ms === null && d.name !== "e2e probe")
      .sort((a, b) => b.id - a.id)[0];
    const t1 = Date.now();
    assert.equal((await post(manager.device_token, `/api/v1/devices/${laptop.id}/revoke`)).status, 200);
    const revoked = await app.waitFor(`${tid("signin-switched-off")}[data-code="device_revoked"]`, SIGN_OUT_WITHIN_MS);
    assert.ok(Date.now() - t1 < SIGN_OUT_WITHIN_MS);
    assert.match(await app.text(revoked), /公司已停用这台设备/);
    await app.screenshot("artifacts/teamops-device-revoked.png");
    assert.deepEqual(filesHolding(dataDir, [company, rep.name]), []);
    assert.equal((await me(probe.device_token)).status, 200, "the other device goes on");
  });
});

test("a manager imports reps from a file with the per-row preview and each added rep's code", async () => {
  await withApp("manager", async (app) => {
    await signIn(app, h.server.demoCode("manager"));
    await app.click(await app.waitFor(tid("nav-team")));
    await app.click(await app.waitFor(tid("team-import")));
    const input = await app.waitFor(tid("import-file"));
    const csv = "姓名,手机\r\n孙丽,13700001111\r\n周强,13700002222\r\n坏号码,12345\r\n";
    // WebKitWebDriver cannot type a path into a file input: hand it a File.
    const pick = (text) =>
      app.execute(
        `const input = arguments[0];
         const dt = new DataTransfer();
         dt.items.add(new File([arguments[1]], "reps.csv", { type: "text/csv" }));
         input.files = dt.files;
         input.dispatchEvent(new Event("change", { bubbles: true }));`,
        [{ "element-6066-11e4-a52e-4f735466cecf": input }, text],
      );
    await pick(csv);
    const bad = await app.waitFor(tid("import-error-row"));
    assert.equal(await app.attribute(bad, "data-reason"), "bad_phone");
    await app.screenshot("artifacts/teamops-import-preview.png");

    await pick(csv.replace("坏号码,12345\r\n", ""));
    const confirm = await app.waitFor(tid("import-confirm"));
    await waitFor(async () => (await app.attribute(confirm, "disabled")) === null, { what: "the import button" });
    await app.click(confirm);
    const rows = await waitFor(async () => {
      const all = await app.findAll(tid("import-rep-result"));
      return all.length === 2 ? all : null;
    }, { what: "a result per row" });
    assert.match(await app.text(rows[0]), /[A-Z0-9]{3}-[A-Z0-9]{3}-[A-Z0-9]{3}/);
    // The team list behind the dialog reloads with the two new reps (the
    // demo has two): the screenshot then shows the results, not an old frame.
    await waitFor(async () => /4/.test(await app.text(await app.find(tid("team-filter-rep")))), {
      what: "four reps in the team list",
    });
    await app.screenshot("artifacts/teamops-import-results.png");
  });
});

test("a manager withdraws a rep's open activation code on the team screen, and the code no longer signs in", async () => {
  await withApp("manager-codes", async (app) => {
    await signIn(app, h.server.demoCode("manager"));
    await app.click(await app.waitFor(tid("nav-team")));
    await app.click(await app.waitFor(tid("team-row")));
    await app.click(await app.waitFor(tid("team-issue-code")));
    const code = (await app.text(await app.waitFor(tid("team-code-value")))).trim();
    assert.match(code, /^[A-Z0-9]{3}-[A-Z0-9]{3}-[A-Z0-9]{3}$/);
    // The list shows the open code by its age, never the code itself.
    const list = await app.waitFor(tid("team-open-codes"));
    await app.execute("arguments[0].scrollIntoView({block: 'center'})", [{ "element-6066-11e4-a52e-4f735466cecf": list }]);
    const listed = await waitFor(async () => {
      const rows = await app.findAll(`${tid("team-open-codes")} li`);
      return rows.length === 1 ? rows : null;
    }, { what: "one open code listed" });
    await app.screenshot("artifacts/teamops-open-codes.png");
    // WebKitWebDriver's element text leaves out this row's title (it reads
    // only the button; the screenshot shows the title): read the DOM's text.
    const rowText = await app.execute("return arguments[0].textContent", [
      { "element-6066-11e4-a52e-4f735466cecf": listed[0] },
    ]);
    assert.match(rowText, /今天生成/);
    assert.doesNotMatch(await app.text(list), new RegExp(code));

    await app.click(await app.find(tid("team-code-revoke")));
    const dialog = await app.waitFor(tid("team-code-revoke-dialog"));
    assert.match(await app.text(dialog), /不能再登录任何设备/);
    await app.screenshot("artifacts/teamops-code-revoke-confirm.png");
    await app.click(await app.find(tid("team-code-revoke-confirm")));
    await app.waitFor(tid("team-no-open-codes"));
    // The card does not go on showing a code that no longer signs in.
    assert.equal((await app.findAll(tid("team-code-value"))).length, 0);
    await app.screenshot("artifacts/teamops-code-revoked.png");

    const res = await fetch(`${h.server.url}/api/v1/activate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ code, device_name: "e2e withdrawn" }),
    });
    assert.equal(res.status, 401);
    assert.match((await res.json()).message, /withdrawn/);
  });
});

/** The team row of the person called `name` (the list's order may change). */
async function teamRow(app, name) {
  return waitFor(async () => {
    for (const row of await app.findAll(tid("team-row"))) {
      const text = await app.execute("return arguments[0].textContent", [{ [WD_ELEMENT]: row }]);
      if (text.includes(name)) return row;
    }
    return null;
  }, { what: `the team row of ${name}` });
}

const WD_ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

test("switching a rep on again, the manager chooses whether the invitations the switch-off closed reopen", async () => {
  const manager = await activate(h.server.url, h.server.demoCode("manager"), "e2e manager reopen");
  const team = await api(h.server.url, manager.device_token, "GET", "/api/v1/team");
  const rep = team.find((m) => m.user.role === "rep" && m.deactivated_at_ms === null && m.user.name !== "李明").user;
  const signInRep = async () => {
    const issued = await post(manager.device_token, `/api/v1/team/${rep.id}/activation-code`);
    return (await activate(h.server.url, issued.body.activation_code, "e2e rep phone")).device_token;
  };
  const poster = async (token) =>
    (await api(h.server.url, token, "POST", "/api/v1/invitations", { channel: "poster", multi_use: true })).id;
  const status = async (id) => (await api(h.server.url, manager.device_token, "GET", `/api/v1/invitations/${id}`)).status;

  const reopened = await poster(await signInRep());
  assert.equal((await post(manager.device_token, `/api/v1/team/${rep.id}/deactivate`)).status, 200);
  assert.equal(await status(reopened), "revoked");

  await withApp("manager-reopen", async (app) => {
    await signIn(app, h.server.demoCode("manager"));
    await app.click(await app.waitFor(tid("nav-team")));
    await app.click(await teamRow(app, rep.name));
    await app.click(await app.waitFor(tid("team-switch-on")));
    const dialog = await app.waitFor(tid("team-switch-on-dialog"));
    assert.match(await app.text(dialog), /重新打开/);
    await app.screenshot("artifacts/teamops-switch-on-zh.png");
    await app.click(await app.find(tid("team-switch-on-reopen")));
    await app.waitFor(tid("team-switch-off"));
    assert.equal(await status(reopened), "pending", "reopened as the manager chose");

    // Off again, and on again in English, keeping them closed this time.
    const kept = await poster(await signInRep());
    assert.equal((await post(manager.device_token, `/api/v1/team/${rep.id}/deactivate`)).status, 200);
    await setLanguage(app, "en");
    await app.click(await app.waitFor(tid("nav-team")));
    await app.click(await teamRow(app, rep.name));
    await app.click(await app.waitFor(tid("team-switch-on")));
    const en = await app.waitFor(tid("team-switch-on-dialog"));
    assert.match(await app.text(en), /Reopen those too/);
    await app.screenshot("artifacts/teamops-switch-on-en.png");
    await app.click(await app.find(tid("team-switch-on-keep-closed")));
    await app.waitFor(tid("team-switch-off"));
    assert.equal(await status(kept), "revoked", "kept closed as the manager chose");
    await app.execute(`localStorage.setItem("warmlead.lang", "zh-CN");`);
  });
});
