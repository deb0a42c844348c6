// The first hour's small stumbles (issue 19), in the real built app under
// tauri-driver + WebKitWebDriver + Xvfb, at the app's default window size:
// 内容库 (a rep's empty state, the save line online, deleting a draft, a
// filter that hides the open item), the share dialog that keeps its size
// across tabs, the face-to-face QR with the company's logo, and Settings
// that scrolls in its pane. Each screen is shot in 中文 and English.
import { test } from "node:test";
import assert from "node:assert/strict";

import { activate, pullAll, waitFor } from "./lib/server.mjs";
import { appHarness, setLanguage, tid, openShareDialog, pickShareChannel } from "./lib/app.mjs";

const h = appHarness("firsthour", { WARMLEAD_SYNC_INTERVAL_SECS: "2" });
const { withApp, signIn } = h;
const shot = (app, name) => app.screenshot(`artifacts/firsthour-${name}.png`);
const WD = "element-6066-11e4-a52e-4f735466cecf";
const LIST_EMPTY = `.list-pane ${tid("empty-state")}`;
const el = (id) => ({ [WD]: id });

/** Switches the UI language and waits for the reloaded sidebar to speak it. */
async function language(app, lang, word) {
  await setLanguage(app, lang);
  await waitFor(
    async () => {
      const text = await app.execute(`return document.querySelector("nav")?.textContent ?? ""`);
      return text.includes(word);
    },
    { what: `the sidebar in ${lang}` },
  );
}
const english = (app) => language(app, "en", "Settings");
const chinese = (app) => language(app, "zh-CN", "设置");
const rect = (app, id) =>
  app.execute(
    "const r = arguments[0].getBoundingClientRect(); return [Math.round(r.width), Math.round(r.height)];",
    [el(id)],
  );

test("a rep's library: an empty state that fits the filter, 已保存 online, a draft deleted, a hidden item closed", async () => {
  await withApp("rep", async (app) => {
    await signIn(app, h.server.demoCode("rep"));
    await app.click(await app.waitFor(tid("nav-content")));
    // The rep's default view is 我的: he has written nothing yet.
    const empty = await app.waitFor(LIST_EMPTY);
    assert.match(await app.text(empty), /你还没有写过内容/);
    await shot(app, "library-empty-zh");

    await app.click(await app.find(tid("library-new")));
    await app.click(await app.waitFor(tid("library-new-article")));
    await app.type(await app.waitFor(tid("library-title")), "写错的草稿");
    const saved = await app.find(tid("library-save-state"));
    await waitFor(async () => (await app.text(saved)) === "已保存", { what: "已保存 while online" });
    // Synced, the draft can be deleted (a draft still waiting cannot).
    const del = await app.waitFor(tid("library-delete"));
    await waitFor(async () => (await app.attribute(del, "disabled")) === null, {
      what: "the draft synced, its delete button enabled",
    });
    await shot(app, "library-draft-zh");

    // The 已发布 filter hides the draft: the editor closes rather than
    // show it with a guessed status.
    await app.click(await app.find(tid("library-tab-live")));
    await waitFor(async () => (await app.findAll(tid("library-editor"))).length === 0, {
      what: "the editor closed with its item hidden",
    });
    assert.match(await app.text(await app.waitFor(LIST_EMPTY)), /没有已发布的内容/);
    await app.click(await app.find(tid("library-tab-all")));
    await app.click(await app.waitFor(tid("library-item")));
    await app.click(await app.waitFor(tid("library-delete")));
    await app.waitFor(tid("library-delete-dialog"));
    await shot(app, "library-delete-zh");
    await app.click(await app.find(tid("library-delete-confirm")));
    await app.waitFor(LIST_EMPTY);
    assert.equal((await app.findAll(tid("library-item"))).length, 0);

    await english(app);
    await app.click(await app.waitFor(tid("nav-content")));
    assert.match(await app.text(await app.waitFor(LIST_EMPTY)), /You have not written anything yet/);
    await shot(app, "library-empty-en");
    await chinese(app);
  });
  // On the server too: the draft's last change is its tombstone.
  const boss = await activate(h.server.url, h.server.demoCode("manager"), "e2e boss");
  const changes = await pullAll(h.server.url, boss.device_token);
  const draft = changes.find((c) => c.entity === "content_item" && c.data.title === "写错的草稿");
  assert.ok(draft, "the manager saw the draft once");
  const id = String(draft.data.id);
  const last = changes.filter((c) => (c.entity === "content_item" && String(c.data.id) === id) || (c.entity === "tombstone" && c.data.id === id)).at(-1);
  assert.equal(last.entity, "tombstone", JSON.stringify(last));
});

test("the share dialog keeps its size across its tabs", async () => {
  await withApp("partner", async (app) => {
    await signIn(app, h.server.demoCode("partner"));
    await app.click(await app.waitFor(tid("briefcase-item")));
    await openShareDialog(app);
    await pickShareChannel(app, "group");
    const dialog = await app.find(tid("share-dialog"));
    const tabs = await app.find(".dialog .tabs");
    const sizes = [];
    for (const tab of ["link", "qr", "poster"]) {
      await app.click(await app.find(tid(`share-tab-${tab}`)));
      if (tab === "poster") {
        const img = await app.waitFor(tid("share-poster"), 60_000);
        await waitFor(
          async () => (await app.execute("return arguments[0].complete && arguments[0].naturalWidth", [el(img)])) > 0,
          { what: "the poster drawn" },
        );
      }
      const tabsTop = await app.execute("return Math.round(arguments[0].getBoundingClientRect().top)", [el(tabs)]);
      sizes.push([...(await rect(app, dialog)), tabsTop]);
      await shot(app, `share-${tab}-zh`);
    }
    assert.deepEqual(sizes[1], sizes[0], `qr vs link: ${JSON.stringify(sizes)}`);
    assert.deepEqual(sizes[2], sizes[0], `poster vs link: ${JSON.stringify(sizes)}`);
  });
});

test("the face-to-face QR shows the company's logo; a manager's Settings scrolls inside its pane", async () => {
  await withApp("rep-qr", async (app) => {
    await signIn(app, h.server.demoCode("rep"));
    await app.click(await app.waitFor(tid("nav-invite")));
    await app.click(await app.waitFor(tid("invite-qr")));
    await app.waitFor(tid("invite-qr-overlay"));
    const logo = await app.waitFor(`${tid("invite-qr-overlay")} ${tid("company-logo")}`);
    await waitFor(
      async () => (await app.execute("return arguments[0].complete && arguments[0].naturalWidth", [el(logo)])) > 0,
      { what: "the logo image loaded" },
    );
    assert.equal((await app.findAll(`${tid("invite-qr-overlay")} ${tid("company-initial")}`)).length, 0);
    await app.waitFor(tid("invite-qr-image"));
    await shot(app, "qr-logo-zh");
    await app.click(await app.find(tid("invite-qr-close")));
    await waitFor(async () => (await app.findAll(tid("invite-qr-overlay"))).length === 0, { what: "closed" });

  });
  // The manager's Settings is the long one (profile, slogan, storage).
  await withApp("manager", async (app) => {
    await signIn(app, h.server.demoCode("manager"));
    await app.click(await app.waitFor(tid("nav-settings")));
    const pane = await app.waitFor(tid("settings-scroll"));
    await app.waitFor(tid("media-storage"));
    // Scrolled to the bottom, the pane moved and the window did not: the
    // sidebar stays where it was.
    const [paneTop, windowTop] = await app.execute(
      "arguments[0].scrollTop = arguments[0].scrollHeight; return [arguments[0].scrollTop, document.scrollingElement.scrollTop];",
      [el(pane)],
    );
    assert.ok(paneTop > 0, `the pane scrolled (${paneTop})`);
    assert.equal(windowTop, 0, "the window itself does not scroll");
    const navTop = await app.execute(
      "return Math.round(document.querySelector('[data-testid=\"nav-settings\"]').getBoundingClientRect().top)",
    );
    assert.ok(navTop > 0 && navTop < 800, `the sidebar stays in view (${navTop})`);
    await shot(app, "settings-scrolled-zh");
    await english(app);
    await app.click(await app.waitFor(tid("nav-settings")));
    await app.waitFor(tid("settings-scroll"));
    await shot(app, "settings-en");
    await chinese(app);
  });
});
