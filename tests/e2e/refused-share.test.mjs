// A share the server refuses, in the real built app (issue 18): the partner
// shares, offline, an item the manager archived meanwhile. At the next sync
// the share leaves the briefcase's count, and the refusal (the item's title
// and why) is listed above the briefcase and in the sync badge, in 中文 and
// in English, until the partner dismisses it.
import { test } from "node:test";
import assert from "node:assert/strict";

import { activate, api, pullAll, waitFor } from "./lib/server.mjs";
import { appHarness, setLanguage, tid, openShareDialog, pickShareChannel } from "./lib/app.mjs";

const h = appHarness("refused", { WARMLEAD_SYNC_INTERVAL_SECS: "2" });
const { withApp, signIn } = h;
const shot = (app, name) => app.screenshot(`artifacts/refused-${name}.png`);

test("a share of an archived item is undone and listed until dismissed", async () => {
  let itemId;
  await withApp("partner", async (app) => {
    await signIn(app, h.server.demoCode("partner"));
    const card = await app.waitFor(tid("briefcase-item"));
    itemId = Number(await app.attribute(card, "data-item-id"));
  });

  // The manager archives that item; the partner's computer does not know yet.
  const boss = await activate(h.server.url, h.server.demoCode("manager"), "e2e boss");
  const item = (await pullAll(h.server.url, boss.device_token)).filter(
    (c) => c.entity === "content_item" && c.data?.id === itemId,
  ).at(-1).data;
  await api(h.server.url, boss.device_token, "POST", `/api/v1/content/${item.key}/archive`);

  await h.server.pause();
  await withApp("partner", async (app) => {
    const card = await app.waitFor(`[data-item-id="${itemId}"]`);
    await app.click(card);
    await openShareDialog(app);
    await pickShareChannel(app, "group");
    await app.click(await app.find(tid("share-close")));

    await h.server.resume();
    await app.click(await app.waitFor(tid("sync-now")));
    const list = await app.waitFor(tid("refused-shares"), 30_000);
    const text = await app.text(list);
    assert.match(text, new RegExp(item.title));
    assert.match(text, /已下架/);
    // The archived item left the briefcase, and no share of it is counted.
    assert.equal((await app.findAll(`[data-item-id="${itemId}"]`)).length, 0);
    await shot(app, "briefcase-zh");
    await app.click(await app.find(tid("sync-badge")));
    const badgeList = await app.waitFor(tid("sync-rejected"));
    assert.match(await app.text(badgeList), new RegExp(item.title));
    await shot(app, "badge-zh");

    await setLanguage(app, "en");
    const en = await app.waitFor(tid("refused-shares"), 30_000);
    await waitFor(async () => /archived/.test(await app.text(en)), { what: "the English reason" });
    await shot(app, "briefcase-en");

    // Dismissing removes the record only; the badge is calm again.
    await app.click(await app.find(`${tid("refused-shares")} ${tid("dismiss-rejected")}`));
    await waitFor(async () => (await app.findAll(tid("refused-shares"))).length === 0, {
      what: "the refusal dismissed",
    });
    await waitFor(
      async () => (await app.attribute(await app.find(tid("sync-badge")), "data-state")) !== "attention",
      { what: "the badge without attention" },
    );
    await shot(app, "dismissed-en");
    await app.execute(`localStorage.setItem("warmlead.lang", "zh-CN");`);
  });
});
