// Recruiting partners end to end: a friend accepts an invitation on a phone
// (headless Chromium, phone viewport, WeChat's user agent), SMS invitations
// through a local fake of Twilio's API that checks the real request, and the
// warmlead:// activation link signing in the real built app under WebDriver.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { startServer, activate, pullAll, api, waitFor } from "./lib/server.mjs";
import { launchPhone } from "./lib/chromium.mjs";
import { startXvfb, startTauriDriver, newSession } from "./lib/webdriver.mjs";

const tid = (id) => `[data-testid="${id}"]`;
let server;
let phone;
let rep;

before(async () => {
  mkdirSync("artifacts", { recursive: true });
  server = await startServer({ demo: true });
  phone = await launchPhone();
  rep = await activate(server.url, server.demoCode("rep"), "rep laptop");
});

after(async () => {
  await phone?.browser.close();
  await server?.stop();
});

const newInvitation = (channel = "qr", multiUse = false) =>
  api(server.url, rep.device_token, "POST", "/api/v1/invitations", {
    channel,
    multi_use: multiUse,
    expires_in_hours: null,
  });

async function fillForm(page, name, number) {
  await page.fill('input[name="name"]', name);
  await page.fill('input[name="phone"]', number);
  const consent = page.locator('input[type="checkbox"]');
  if (await consent.count()) await consent.first().check();
}

// Fills the invitation form the way a person does and lands on the welcome page.
async function accept(page, name, number) {
  await fillForm(page, name, number);
  await Promise.all([page.waitForNavigation(), page.click("#wl-join")]);
  return page;
}

async function activationLink(page) {
  const href = await page.getAttribute('a[href^="warmlead://activate"]', "href");
  assert.ok(href, "the welcome page links to warmlead://activate");
  const link = new URL(href);
  return { href, server: link.searchParams.get("server"), code: link.searchParams.get("code") };
}

test("a friend scans the rep's QR, joins as a partner and can activate the app", async () => {
  const inv = await newInvitation("qr", false);
  assert.equal(inv.status, "pending");
  assert.equal(inv.max_uses, 1);
  assert.match(inv.short_code, /^[0-9A-Z]{6}$/);

  const page = await phone.context.newPage();
  const res = await page.goto(inv.url);
  assert.equal(res.status(), 200);
  const text = await page.textContent("body");
  assert.ok(text.includes(rep.user.name), "the page names the inviting rep");
  assert.ok(text.includes(rep.company.name), "the page names the company");
  // The page fits a phone: nothing wider than the viewport.
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `page is ${width}px wide on a 390px phone`);
  await page.screenshot({ path: "artifacts/invite-page.png", fullPage: true });

  // A phone number that is not one gets a clear message and nothing is created.
  await fillForm(page, "王小二", "12345");
  await Promise.all([page.waitForNavigation(), page.click("#wl-join")]);
  assert.match(await page.textContent("body"), /手机号/);

  await page.goto(inv.url);
  await accept(page, "王小二", "139 1234 5678");
  await page.screenshot({ path: "artifacts/invite-welcome.png", fullPage: true });
  const welcome = await page.textContent("body");
  assert.equal(await page.locator("#wl-welcome").count(), 1, "the welcome page");
  const link = await activationLink(page);
  assert.ok(welcome.includes(link.code), "the activation code is shown to type in");

  const partner = await activate(link.server, link.code, "new partner laptop");
  assert.equal(partner.user.role, "partner");
  assert.equal(partner.user.name, "王小二");
  assert.equal(partner.user.phone, "+8613912345678");
  assert.equal(partner.user.rep_id, rep.user.id);
  assert.equal(partner.user.source, "qr");
  assert.equal(partner.user.invitation_id, inv.id);

  // The rep's devices learn about it: the invitation is used up, the partner is theirs.
  const changes = await pullAll(server.url, rep.device_token);
  const latest = changes.filter((c) => c.entity === "invitation" && c.data.id === inv.id).at(-1);
  assert.equal(latest.data.status, "accepted");
  assert.equal(latest.data.uses, 1);
  assert.ok(changes.some((c) => c.entity === "user" && c.data.id === partner.user.id));

  // Single use: a second person is told to ask for a new invitation.
  const again = await phone.context.newPage();
  const used = await again.goto(inv.url);
  assert.equal(used.status(), 410);
  assert.doesNotMatch(await again.content(), /<form/);
  await again.close();
  await page.close();
});

test("the short code typed at /j opens the same invitation; a forged token is a clear 404", async () => {
  const inv = await newInvitation("qr", false);
  const page = await phone.context.newPage();
  await page.goto(`${server.url}/j`);
  await page.fill("input", inv.short_code.toLowerCase());
  await Promise.all([page.waitForNavigation(), page.click("#wl-join-form button")]);
  assert.ok((await page.textContent("body")).includes(rep.user.name));
  await accept(page, "赵六", "13811112222");
  assert.equal(await page.locator("#wl-welcome").count(), 1, "the welcome page");

  const forged = await page.goto(`${server.url}/i/AAAAAAAAAAAAAAAAAAAAAA`);
  assert.equal(forged.status(), 404);
  await page.close();
});

test("a poster invitation is multi-use and a revoked one stops working", async () => {
  const inv = await newInvitation("poster", true);
  assert.equal(inv.max_uses, null);
  for (const [name, number] of [
    ["群友一", "13700000001"],
    ["群友二", "13700000002"],
  ]) {
    const page = await phone.context.newPage();
    await page.goto(inv.url);
    await accept(page, name, number);
    assert.equal(await page.locator("#wl-welcome").count(), 1, "the welcome page");
    await page.close();
  }
  const fresh = await api(server.url, rep.device_token, "GET", `/api/v1/invitations/${inv.id}`);
  assert.equal(fresh.uses, 2);
  assert.equal(fresh.status, "pending");

  const revoked = await api(server.url, rep.device_token, "POST", `/api/v1/invitations/${inv.id}/revoke`);
  assert.equal(revoked.status, "revoked");
  const page = await phone.context.newPage();
  assert.equal((await page.goto(inv.url)).status(), 410);
  await page.close();
});

// A stand-in for api.twilio.com that accepts only what Twilio accepts: Basic
// auth with the account SID, a form body with To, From and Body, on the
// Messages resource of that account. It answers like Twilio does.
async function fakeTwilio(sid, authToken) {
  const seen = [];
  const srv = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const expectedAuth = `Basic ${Buffer.from(`${sid}:${authToken}`).toString("base64")}`;
      const form = new URLSearchParams(body);
      const ok =
        req.method === "POST" &&
        req.url === `/2010-04-01/Accounts/${sid}/Messages.json` &&
        req.headers.authorization === expectedAuth &&
        (req.headers["content-type"] || "").startsWith("application/x-www-form-urlencoded") &&
        /^\+\d{8,15}$/.test(form.get("To") || "") &&
        form.get("From") &&
        form.get("Body");
      if (!ok) {
        seen.push({ rejected: true, url: req.url, body });
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify({ code: 21604, message: "bad request", status: 400 }));
        return;
      }
      seen.push({ to: form.get("To"), from: form.get("From"), body: form.get("Body") });
      res.writeHead(201, { "content-type": "application/json" });
      res.end(JSON.stringify({ sid: `SM${seen.length.toString().padStart(32, "0")}`, status: "queued" }));
    });
  });
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${srv.address().port}`, seen, close: () => srv.close() };
}

test("SMS invitations go through the provider's real API, with the opt-out line, once a day", async () => {
  const sid = "AC0123456789abcdef0123456789abcdef";
  const token = "e2e-twilio-auth-token";
  const twilio = await fakeTwilio(sid, token);
  const sms = await startServer({
    demo: true,
    // No quiet hours here, so the test does not depend on the hour it runs at
    // (quiet hours are covered by the server's tests with a clock it controls).
    args: ["--sms-provider", "twilio", "--sms-quiet-hours", "00:00-00:00"],
    env: {
      WARMLEAD_TWILIO_ACCOUNT_SID: sid,
      WARMLEAD_TWILIO_AUTH_TOKEN: token,
      WARMLEAD_TWILIO_FROM: "+15005550006",
      WARMLEAD_TWILIO_BASE_URL: twilio.url,
    },
  });
  try {
    const smsRep = await activate(sms.url, sms.demoCode("rep"), "rep laptop");
    const req = (dryRun) => ({
      recipients: [
        { name: "孙七", phone: "139 0000 1111" },
        { name: "周八", phone: "not a phone" },
      ],
      dry_run: dryRun,
    });
    const preview = await api(sms.url, smsRep.device_token, "POST", "/api/v1/invitations/sms", req(true));
    assert.equal(twilio.seen.length, 0, "a preview sends nothing");
    assert.equal(preview.items[1].plan.plan, "refuse");
    assert.equal(preview.items[1].plan.reason, "bad_phone");
    assert.match(preview.items[0].text, /拒收请回复R/);

    const sent = await api(sms.url, smsRep.device_token, "POST", "/api/v1/invitations/sms", req(false));
    assert.equal(sent.items[0].plan.plan, "send");
    assert.ok(sent.items[0].sms_id, "the message is recorded");
    {
      await waitFor(() => twilio.seen.length >= 1, { what: "the fake Twilio to receive the SMS" });
      const msg = twilio.seen[0];
      assert.ok(!msg.rejected, `the provider refused the request: ${JSON.stringify(msg)}`);
      assert.equal(msg.to, "+8613900001111");
      assert.match(msg.body, /拒收请回复R/);
      const url = msg.body.match(/https?:\/\/\S+\/i\/[A-Za-z0-9_-]+/)?.[0];
      assert.ok(url, `the SMS carries the invitation link: ${msg.body}`);
      const page = await phone.context.newPage();
      assert.equal((await page.goto(url)).status(), 200);
      // A real provider is configured, so the page asks for a one-time code by SMS first.
      await fillForm(page, "孙七", "13900001111");
      const sentBefore = twilio.seen.length;
      await Promise.all([page.waitForNavigation(), page.click("#wl-send-code")]);
      await waitFor(() => twilio.seen.length > sentBefore, { what: "the one-time code SMS" });
      const otp = twilio.seen.at(-1).body.match(/\b(\d{6})\b/)?.[1];
      assert.ok(otp, `a 6-digit code in: ${twilio.seen.at(-1).body}`);
      assert.doesNotMatch(twilio.seen.at(-1).body, /拒收请回复R/, "a code someone asked for is not marketing");
      // A wrong code is refused, the right one lets them in.
      await page.fill('input[name="code"]', otp === "000000" ? "111111" : "000000");
      await accept(page, "孙七", "13900001111");
      assert.equal(await page.locator("#wl-welcome").count(), 0, "a wrong code does not let them in");
      await page.fill('input[name="code"]', otp);
      await accept(page, "孙七", "13900001111");
      assert.equal(await page.locator("#wl-welcome").count(), 1, "the welcome page");
      await page.close();
      // The rep sees the SMS as sent.
      const records = (await pullAll(sms.url, smsRep.device_token)).filter((c) => c.entity === "sms_record");
      assert.ok(records.some((c) => c.data.phone === "+8613900001111" && c.data.status === "sent"));
    }
    // The same person again within a day: refused, nothing sent. A new
    // person in the same send is sent: once theirs has reached the provider,
    // the send pass is over, and nothing went to the refused one.
    const before = twilio.seen.length;
    const again = await api(sms.url, smsRep.device_token, "POST", "/api/v1/invitations/sms", {
      recipients: [
        { name: "孙七", phone: "139 0000 1111" },
        { name: "吴十", phone: "139 0000 2222" },
      ],
      dry_run: false,
    });
    assert.equal(again.items[0].plan.plan, "refuse");
    assert.ok(["duplicate", "already_partner"].includes(again.items[0].plan.reason));
    assert.equal(again.items[1].plan.plan, "send");
    await waitFor(() => twilio.seen.slice(before).some((m) => m.to === "+8613900002222"), {
      what: "the SMS to the new person, sent in the same pass",
    });
    assert.deepEqual(
      twilio.seen.slice(before).map((m) => m.to),
      ["+8613900002222"],
      "only the new person got a message",
    );
  } finally {
    await sms.stop();
    twilio.close();
  }
});

test("the warmlead:// link from the welcome page signs the built app in", async () => {
  if (!process.env.WARMLEAD_APP_BIN) throw new Error("WARMLEAD_APP_BIN is not set: run through `cargo xtask test`");
  const inv = await newInvitation("qr", false);
  const page = await phone.context.newPage();
  await page.goto(inv.url);
  await accept(page, "钱九", "13622223333");
  const link = await activationLink(page);
  await page.close();

  const xvfb = await startXvfb();
  const dataDir = mkdtempSync(join(tmpdir(), "warmlead-deeplink-"));
  const driver = await startTauriDriver({ DISPLAY: xvfb.display, WARMLEAD_DATA_DIR: dataDir });
  const app = await newSession(driver.url, process.env.WARMLEAD_APP_BIN, [link.href]);
  try {
    // No sign-in form to fill: the link asks, naming the server, and signs in
    // on Continue. The partner sees the company's briefcase.
    await app.waitFor(tid("link-confirm"), 60_000);
    assert.equal(await app.text(await app.find(tid("link-confirm-host"))), new URL(link.server).host);
    await app.click(await app.find(tid("link-confirm-continue")));
    await app.waitFor(tid("briefcase-item"), 60_000);
    const body = await app.execute("return document.body.innerText");
    assert.ok(body.includes("钱九"), "the sidebar shows the new partner's name");
    // And it keeps syncing with the server the link named.
    await waitFor(
      async () => (await app.attribute(await app.find(tid("sync-badge")), "data-state")) === "synced",
      { what: "the sync badge to say synced" },
    );
    assert.ok((await app.findAll(tid("briefcase-item"))).length > 0);
    await app.screenshot("artifacts/deeplink-signed-in.png");
  } catch (e) {
    await app.screenshot("artifacts/deeplink-failure.png").catch(() => {});
    throw e;
  } finally {
    await app.close();
    await driver.stop();
    xvfb.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
