// Trust in the built app (issue 18): a warmlead://activate link never signs
// the app in by itself. It asks first, naming the host the link really
// reaches; Cancel leaves the app signed out and the code unused, Continue
// signs in. Signed in, the window runs under its Content-Security-Policy:
// an inline script handler injected into the page does not run, and the
// covers still show (the app serves them itself).
import { test } from "node:test";
import assert from "node:assert/strict";

import { waitFor } from "./lib/server.mjs";
import { appHarness, tid } from "./lib/app.mjs";

const h = appHarness("deeplink", { WARMLEAD_SYNC_INTERVAL_SECS: "2" });
const { withApp } = h;

const link = (server, code) =>
  `warmlead://activate?server=${encodeURIComponent(server)}&code=${encodeURIComponent(code)}`;

/** Whether an element matching `css` is in the page now. */
const present = async (app, css) => (await app.findAll(css)).length > 0;

/** Takes the screenshot once the window has painted what the DOM holds. */
async function painted(app, path) {
  await app.execute("return new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))");
  await app.screenshot(path);
}

test("an activation link asks, naming its server's host, before it signs the app in", async () => {
  const code = h.server.demoCode("partner");
  const { host } = new URL(h.server.url);
  // What the address seems to say is not what it reaches: the user-info part
  // before '@' is not the host, and the dialog names the real one.
  const disguised = h.server.url.replace("://", "://qingsong-jiazheng.cn@");

  await withApp("partner", async (app) => {
    const dialog = await app.waitFor(tid("link-confirm"), 60_000);
    assert.equal((await app.text(await app.find(tid("link-confirm-host")))).trim(), host);
    assert.match(await app.text(dialog), new RegExp(`${host.replace(/\./g, "\\.")} 上的暖客服务器`));
    // Nothing is signed in while the question is open: the sign-in form is
    // underneath, no section of a signed-in app.
    assert.ok(await present(app, tid("signin-server")));
    assert.ok(!(await present(app, tid("sync-badge"))));
    await painted(app, "artifacts/deeplink-confirm.png");

    await app.click(await app.find(tid("link-confirm-cancel")));
    await waitFor(async () => !(await present(app, tid("link-confirm"))), { what: "the dialog to close" });
    assert.ok(await present(app, tid("signin-server")), "still on the sign-in screen");
    assert.ok(!(await present(app, tid("sync-badge"))), "not signed in");
  }, [link(disguised, code)]);

  // The same data directory without a link: still signed out, nothing asks.
  await withApp("partner", async (app) => {
    await app.waitFor(tid("signin-server"), 60_000);
    assert.ok(!(await present(app, tid("link-confirm"))));
    assert.ok(!(await present(app, tid("sync-badge"))));
  });

  // Again with the same code (Cancel did not use it): Continue signs in.
  await withApp("partner", async (app) => {
    await app.waitFor(tid("link-confirm"), 60_000);
    assert.equal((await app.text(await app.find(tid("link-confirm-host")))).trim(), host);
    await app.click(await app.find(tid("link-confirm-continue")));
    await app.waitFor(tid("briefcase-item"), 60_000);
    await waitFor(
      async () => (await app.attribute(await app.find(tid("sync-badge")), "data-state")) === "synced",
      { what: "the sync badge to say synced" },
    );

    // The covers come from the app's own scheme and load under the CSP.
    const covers = await waitFor(async () => {
      const loaded = await app.execute(
        `return [...document.querySelectorAll("img.cover")]
           .filter((i) => i.complete && i.naturalWidth > 0)
           .map((i) => i.src)`,
      );
      return loaded.length >= 6 ? loaded : null;
    }, { what: "the first screen of covers shown in the briefcase" });
    for (const src of covers) assert.match(src, /^wlmedia:\/\/localhost\/[0-9a-f]{32}$/);
    await painted(app, "artifacts/deeplink-signed-in.png");

    // The CSP is in force: an inline handler in injected markup does not run.
    // The image's own error event (added here, not inline) says when its
    // handler would have run; the policy reports the refusal.
    await app.execute(`
      window.__pwned = undefined;
      window.__violations = [];
      window.__imgDone = false;
      document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(e.violatedDirective));
      const box = document.createElement("div");
      box.innerHTML = '<img src="/no-such-image.png" onerror="window.__pwned = 1">';
      box.firstChild.addEventListener("error", () => { window.__imgDone = true; });
      document.body.appendChild(box);
    `);
    await waitFor(() => app.execute("return window.__imgDone && window.__violations.length > 0"), {
      what: "the image to fail and the policy to refuse its handler",
    });
    assert.equal(await app.execute("return window.__pwned === undefined"), true);
    const violated = await app.execute("return window.__violations");
    assert.ok(violated.some((d) => d.startsWith("script-src")), JSON.stringify(violated));
  }, [link(h.server.url, code)]);
});
