// Signing in by hand, the path of everyone whose link did not open the app,
// in the real built app against an empty server whose company the
// operator's command line made: the server typed as `host:port` (no
// scheme), the whole warmlead://activate link pasted into either field;
// then the manager's empty company opens on its first steps, which tick as
// they are done and go once all are.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";

import { PNG } from "pngjs";

import { activate, api, serverBin, waitFor } from "./lib/server.mjs";
import { launchPhone } from "./lib/chromium.mjs";
import { appHarness, setLanguage, tid } from "./lib/app.mjs";

const h = appHarness("signin", {}, { demo: false });
const { withApp } = h;

const cli = (...args) => execFileSync(serverBin(), args, { encoding: "utf8" });
const el = (id) => ({ "element-6066-11e4-a52e-4f735466cecf": id });
const shot = (app, name) => app.screenshot(`artifacts/signin-${name}.png`);

let made = false;
/** The company, made once by the operator's command line. */
function company() {
  if (made) return;
  const out = cli(
    "company", "create",
    "--database-url", h.server.databaseUrl,
    "--name", "青松家政",
    "--manager-name", "周青",
    "--manager-phone", "+8613900000001",
    "--public-url", h.server.url,
  );
  assert.match(out, /青松家政/);
  made = true;
}

/** A fresh code for the manager, and its sign-in link (what 团队 copies). */
function managerCode() {
  company();
  const [code, linkLine] = cli(
    "activation-code", "--database-url", h.server.databaseUrl, "--public-url", h.server.url,
    "--user", "+8613900000001",
  ).trim().split("\n");
  const link = linkLine.replace(/^sign-in link: /, "");
  assert.match(link, /^warmlead:\/\/activate\?/);
  return { code: code.trim(), link };
}

/** Pastes `text` into a field as the clipboard does: the whole text in one input event. */
function paste(app, field, text) {
  return app.execute(
    `const [input, text] = arguments;
     input.focus();
     const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set;
     set.call(input, input.value + text);
     input.dispatchEvent(new InputEvent("input", { bubbles: true, inputType: "insertFromPaste", data: text }));`,
    [el(field), text],
  );
}

const value = (app, id) => app.execute(`return document.querySelector('[data-testid="${id}"]').value;`);

/** Signed in: the manager's sidebar is there. */
const signedIn = (app) => app.waitFor(tid("nav-overview"), 30_000);

test("the server typed as host:port with no scheme signs in; the sign-in screen speaks to everyone", async () => {
  const { code } = managerCode();
  const hostPort = h.server.url.replace(/^http:\/\//, "");
  assert.match(hostPort, /^127\.0\.0\.1:\d+$/);
  await withApp("hostport", async (app) => {
    await app.waitFor(tid("signin-server"));
    await shot(app, "screen-zh");
    const subtitle = await app.execute(`return document.querySelector(".signin .hint").textContent;`);
    assert.match(subtitle, /经理/, "a manager or rep is spoken to");
    assert.match(subtitle, /合伙人/, "and a partner");
    await setLanguage(app, "en");
    await waitFor(async () => /Paste the whole link/.test(await app.execute(`return document.body.textContent;`)), {
      what: "the sign-in screen in English",
    });
    await shot(app, "screen-en");
    // A bad address says what to type, in the person's language.
    await app.type(await app.waitFor(tid("signin-server")), "r.example .com");
    await app.type(await app.find(tid("signin-code")), code);
    await app.click(await app.find(tid("signin-submit")));
    const error = await app.waitFor(tid("signin-error"));
    assert.equal(await app.attribute(error, "data-code"), "bad_server_address");
    assert.match(await app.text(error), /e\.g\. warmlead\.example\.com/);
    await shot(app, "bad-address-en");
    await setLanguage(app, "zh-CN");
    const field = await app.waitFor(tid("signin-server"));
    await app.type(field, "r.example .com");
    await app.type(await app.find(tid("signin-code")), code);
    await app.click(await app.find(tid("signin-submit")));
    const zh = await app.text(await app.waitFor(tid("signin-error")));
    assert.match(zh, /服务器地址不对/);
    assert.doesNotMatch(zh, /builder error/);
    await shot(app, "bad-address-zh");

    await app.clear(field);
    await app.type(field, ` ${hostPort}/ `);
    await app.click(await app.find(tid("signin-submit")));
    await signedIn(app);
  });
});

for (const into of ["signin-server", "signin-code"]) {
  test(`the warmlead:// link pasted into ${into} fills both fields and signs in`, async () => {
    const { code, link } = managerCode();
    await withApp(`paste-${into}`, async (app) => {
      await app.waitFor(tid("signin-server"));
      // Something else was typed first: the pasted link wins.
      if (into === "signin-code") await app.type(await app.find(tid("signin-server")), "r.example.com");
      await paste(app, await app.find(tid(into)), link);
      await waitFor(async () => (await value(app, "signin-server")) === h.server.url && (await value(app, "signin-code")) === code, {
        what: "the link's server and code in the fields before signing in",
      });
      assert.equal((await app.findAll(tid("signin-error"))).length, 0);
      await shot(app, `pasted-${into}`);
      await app.click(await app.find(tid("signin-submit")));
      await signedIn(app);
    });
  });
}

test("the link typed key by key into the code field signs in on Activate", async () => {
  const { link } = managerCode();
  await withApp("typed-link", async (app) => {
    await app.type(await app.waitFor(tid("signin-code")), link);
    await app.click(await app.find(tid("signin-submit")));
    await signedIn(app);
  });
});

/** A small real PNG (a colour gradient). */
function pngBytes(w, hgt) {
  const png = new PNG({ width: w, height: hgt });
  for (let y = 0; y < hgt; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      png.data[i] = (x * 255) / w;
      png.data[i + 1] = 140;
      png.data[i + 2] = (y * 255) / hgt;
      png.data[i + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}

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
    [el(input), name, type, Buffer.from(bytes).toString("base64")],
  );
}

const stepDone = async (app, step) =>
  (await app.attribute(await app.find(tid(`first-step-${step}`)), "data-done")) === "true";

/** Back to 总览, syncing, until `step` shows as done. */
async function untilDone(app, step) {
  await waitFor(
    async () => {
      await app.click(await app.find(tid("nav-overview")));
      // What the card shows is read once the steps are loaded.
      await app.waitFor(`${tid("overview-body")}[data-loaded="true"]`);
      if ((await app.findAll(tid("first-steps"))).length === 0) return step === "all";
      if (step === "all") {
        await app.click(await app.find(tid("sync-now")));
        return false;
      }
      if (await stepDone(app, step)) return true;
      await app.click(await app.find(tid("sync-now")));
      return false;
    },
    { timeoutMs: 60_000, intervalMs: 1000, what: `the first step ${step} done` },
  );
}

test("an empty company opens on its first steps, each opens its screen and ticks once done", async () => {
  const { code } = managerCode();
  await withApp("first-steps", async (app) => {
    await h.signIn(app, code);
    const card = await app.waitFor(tid("first-steps"), 30_000);
    for (const step of ["rep", "logo", "item"]) assert.equal(await stepDone(app, step), false, step);
    const text = await app.execute("return arguments[0].textContent", [el(card)]);
    assert.match(text, /添加第一位销售/);
    assert.doesNotMatch(text, /暖居|装修|演示|demo/i, "no demo wording");
    await shot(app, "first-steps-zh");
    await setLanguage(app, "en");
    await waitFor(async () => /Add your first rep/.test(await app.execute(`return document.body.textContent;`)), {
      what: "the card in English",
    });
    await shot(app, "first-steps-en");
    await setLanguage(app, "zh-CN");

    // Add your first rep: the step opens 团队.
    await app.click(await app.waitFor(tid("first-step-rep-go")));
    await app.click(await app.waitFor(tid("team-add")));
    await app.type(await app.waitFor(tid("team-add-name")), "林晓");
    await app.type(await app.find(tid("team-add-phone")), "139 0000 0002");
    await app.click(await app.find(tid("team-add-submit")));
    await app.waitFor(tid("team-code-value"));
    await untilDone(app, "rep");
    assert.equal(await stepDone(app, "logo"), false);
    await shot(app, "first-steps-one-done");

    // Set the logo: the step opens 设置.
    await app.click(await app.find(tid("first-step-logo-go")));
    await pickFile(app, await app.waitFor(tid("logo-file")), "logo.png", "image/png", pngBytes(128, 128));
    const save = await app.find(tid("company-profile-save"));
    await waitFor(async () => (await app.attribute(save, "disabled")) === null, { what: "the logo uploaded" });
    await app.click(save);
    await waitFor(async () => /已保存|Saved/.test(await app.execute("return arguments[0].textContent", [el(await app.find(tid("company-profile")))])), {
      what: "the profile saved",
    });
    await untilDone(app, "logo");

    // Write the first item: the step opens 内容库.
    await app.click(await app.find(tid("first-step-item-go")));
    await app.click(await app.waitFor(tid("library-new")));
    await app.click(await app.waitFor(tid("library-new-article")));
    await app.type(await app.waitFor(tid("library-title")), "服务项目介绍");
    const body = await app.find(tid("library-article-body"));
    await app.click(body);
    await app.type(body, "日常保洁、深度保洁、开荒保洁。");
    await app.click(await app.find(tid("library-publish")));
    await waitFor(async () => (await app.findAll(tid("library-archive"))).length === 1, { what: "published" });
    // All three done: the card goes.
    await untilDone(app, "all");
    assert.equal(await app.attribute(await app.find(tid("nav-overview")), "aria-current"), "page");
    await shot(app, "first-steps-gone");
  });
});

let phone;
after(async () => {
  await phone?.browser.close();
});

test("the partner's welcome page shows the server address and the code to type later", async () => {
  const { code } = managerCode();
  const manager = await activate(h.server.url, code, "e2e probe");
  const inv = await api(h.server.url, manager.device_token, "POST", "/api/v1/invitations", {
    channel: "qr",
    multi_use: false,
    expires_in_hours: null,
  });
  phone = await launchPhone();
  const page = await phone.context.newPage();
  await page.goto(inv.url);
  await page.fill('input[name="name"]', "陈阿姨");
  await page.fill('input[name="phone"]', "139 0000 0009");
  const consent = page.locator('input[type="checkbox"]');
  if (await consent.count()) await consent.first().check();
  await Promise.all([page.waitForNavigation(), page.click("#wl-join")]);
  const server = (await page.textContent("#wl-server-address")).trim();
  const partnerCode = (await page.textContent("#wl-activation-code")).trim();
  assert.equal(server, h.server.url);
  assert.match(partnerCode, /^[A-Z0-9]{3}-[A-Z0-9]{3}-[A-Z0-9]{3}$/);
  await page.screenshot({ path: "artifacts/signin-welcome-page.png", fullPage: true });
  await page.close();
  // Days later, on a computer where the button opens nothing: typed by hand.
  await withApp("partner-later", async (app) => {
    await app.type(await app.waitFor(tid("signin-server")), server);
    await app.type(await app.find(tid("signin-code")), partnerCode);
    await app.click(await app.find(tid("signin-submit")));
    await app.waitFor(tid("nav-briefcase"), 30_000);
  });
});
