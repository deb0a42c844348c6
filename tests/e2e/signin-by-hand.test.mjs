// Signing in by hand, the path of everyone whose link did not open the app,
// in the real built app against an empty server whose company the
// operator's command line made: the server typed as `host:port` (no
// scheme), the whole warmlead://activate link pasted into either field.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";

import { serverBin, waitFor } from "./lib/server.mjs";
import { appHarness, tid } from "./lib/app.mjs";

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
    await app.execute(`localStorage.setItem("warmlead.lang", "en"); location.reload();`);
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
    await app.execute(`localStorage.setItem("warmlead.lang", "zh-CN"); location.reload();`);
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
