// A 300 MB video, as a phone's camera writes it, goes from a manager's
// upload to a partner's share page and plays in a phone's Chromium (issue
// 10). The upload streams: the server has part of the file on its disk
// while the rest is still being sent. The player reads the file in ranges:
// it starts and seeks near the end without downloading the whole file.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { startServer, activate, api } from "./lib/server.mjs";
import { launchPhone } from "./lib/chromium.mjs";
import { signShare } from "./lib/token.mjs";
import { makePhoneVideo, uploadFile } from "./lib/video.mjs";

const VIDEO_BYTES = 300_000_000;
const ARTIFACTS = fileURLToPath(new URL("./artifacts/", import.meta.url));
const HAVE_METADATA = 1;
const HAVE_FUTURE_DATA = 3;

let server;
let phone;
let manager;
let partner;
let work;
let video;
let item;

before(async () => {
  work = mkdtempSync(join(tmpdir(), "warmlead-video-"));
  const started = Date.now();
  video = makePhoneVideo(work, VIDEO_BYTES);
  console.log(`# video: ${video.size} bytes, ${video.seconds} s, made in ${Date.now() - started} ms`);
  server = await startServer({ demo: true });
  phone = await launchPhone();
  manager = await activate(server.url, server.demoCode("manager"), "e2e video manager");
  partner = await activate(server.url, server.demoCode("partner"), "e2e video partner");
});

after(async () => {
  await phone?.browser.close();
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Sizes of the server's unfinished upload files (`media/.upload-*`). */
function partialUploads(mediaDir) {
  let names;
  try {
    names = readdirSync(mediaDir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(".upload-"))
    .flatMap((n) => {
      try {
        return [statSync(join(mediaDir, n)).size];
      } catch {
        return []; // renamed into place between the listing and the stat
      }
    });
}

test("a 300 MB phone video uploads as a stream with progress", async () => {
  const mediaDir = join(server.dir, "media");
  // What the server has written of the file while the upload runs: its
  // acknowledgement that the bytes arrived, watched from outside.
  // Sampled at each progress step (after each chunk the client wrote), not
  // on a timer: the server's part must grow while the client still sends.
  const onServer = [];
  const sent = [];
  const media = await uploadFile(server.url, manager.device_token, video.path, "video/mp4", (n) => {
    sent.push(n);
    for (const size of partialUploads(mediaDir)) {
      if (size !== onServer.at(-1)) onServer.push(size);
    }
  });
  assert.equal(media.size, video.size);
  assert.equal(media.content_type, "video/mp4");
  // Progress: many steps, each further than the last, up to the whole file.
  assert.ok(sent.length >= 100, `${sent.length} progress steps`);
  assert.ok(sent.every((n, i) => i === 0 || n > sent[i - 1]), "progress never goes back");
  assert.equal(sent.at(-1), video.size);
  // Streamed: the server had a growing part of the file before the end.
  const midway = onServer.filter((n) => n > 0 && n < video.size);
  assert.ok(midway.length >= 3, `sizes seen on the server during the upload: ${onServer}`);
  assert.ok(
    midway.every((n, i) => i === 0 || n > midway[i - 1]),
    `the server's part grows: ${midway}`,
  );
  assert.deepEqual(partialUploads(mediaDir), [], "no unfinished file is left");

  const cover = await uploadFile(server.url, manager.device_token, video.cover, "image/jpeg");
  await api(server.url, manager.device_token, "PUT", "/api/v1/content/e2e-video", {
    kind: "video",
    title: "旧房翻新实拍：五分钟看完全过程（测试）",
    summary: "从拆旧到完工，一镜到底。",
    body: "",
    case_study: null,
    cover,
    video: media,
    audience: { to: "company" },
  });
  item = await api(server.url, manager.device_token, "POST", "/api/v1/content/e2e-video/publish");
  assert.equal(item.video.key, media.key);
});

test("the share page plays it on a phone with range requests", async () => {
  assert.ok(item, "the upload test published the item");
  const videoPath = `/media/${item.video.key}`;
  const page = await phone.context.newPage();
  page.setDefaultTimeout(60_000);

  // Every answer to the player (status, headers) from the page's network events.
  const answers = [];
  page.on("response", (r) => {
    if (new URL(r.url()).pathname !== videoPath) return;
    answers.push(
      r.allHeaders().then((headers) => ({ status: r.status(), headers, asked: r.request().headers().range })),
    );
  });
  // The bytes that actually arrived: a player asks `bytes=N-` and stops
  // reading when it has enough, so a response's Content-Range is what the
  // server offered, not what was transferred.
  const cdp = await phone.context.newCDPSession(page);
  await cdp.send("Network.enable");
  const videoRequests = new Set();
  let received = 0;
  cdp.on("Network.requestWillBeSent", (e) => {
    if (new URL(e.request.url).pathname === videoPath) videoRequests.add(e.requestId);
  });
  cdp.on("Network.dataReceived", (e) => {
    if (videoRequests.has(e.requestId)) received += e.dataLength;
  });

  const res = await page.goto(`${server.url}/s/${signShare(partner, 9301, item.id)}`);
  assert.equal(res.status(), 200);
  const state = () =>
    page.evaluate(() => {
      const v = document.querySelector("video");
      return { readyState: v.readyState, currentTime: v.currentTime, duration: v.duration, paused: v.paused };
    });
  // The cover is the player's poster until it plays.
  const poster = await page.getAttribute("video", "poster");
  assert.equal(poster, `/media/${item.cover.key}`);
  const coverType = await page.evaluate(async (src) => (await fetch(src)).headers.get("content-type"), poster);
  assert.equal(coverType, "image/jpeg");
  // The index is at the start of the file: the length is known at once.
  await page.waitForFunction((n) => document.querySelector("video").readyState >= n, HAVE_METADATA);
  const { duration } = await state();
  assert.ok(Math.abs(duration - video.seconds) < 1, `duration ${duration} s, made ${video.seconds} s`);

  // Muted autoplay, as a page may start a video without a tap (a tap in
  // the middle of the player only shows its controls, as on a phone).
  const played = await page.evaluate(() => {
    const v = document.querySelector("video");
    v.muted = true;
    return v.play().then(
      () => "playing",
      (e) => `refused: ${e.message}`,
    );
  });
  assert.equal(played, "playing");
  await page.waitForFunction((n) => document.querySelector("video").readyState >= n, HAVE_FUTURE_DATA);
  const started = (await state()).currentTime;
  await page.waitForFunction((t) => document.querySelector("video").currentTime > t + 1, started);
  assert.equal((await state()).paused, false);
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, "video-phone.png") });

  // A seek near the end plays from there.
  const answeredBeforeSeek = answers.length;
  const target = duration - 12;
  await page.evaluate((t) => (document.querySelector("video").currentTime = t), target);
  await page.waitForFunction(
    (t) => {
      const v = document.querySelector("video");
      return !v.seeking && v.currentTime > t + 1 && v.readyState >= 3;
    },
    target,
  );
  assert.equal((await state()).paused, false);
  await page.screenshot({ path: join(ARTIFACTS, "video-phone-seeked.png") });

  const all = await Promise.all(answers);
  const spans = all.map(({ status, headers, asked }) => {
    assert.equal(status, 206, `asked ${asked}: ${status}`);
    assert.equal(headers["accept-ranges"], "bytes");
    assert.equal(headers["content-type"], "video/mp4");
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(headers["content-range"] ?? "");
    assert.ok(m, `Content-Range ${headers["content-range"]}`);
    assert.equal(Number(m[3]), video.size);
    return { first: Number(m[1]), last: Number(m[2]) };
  });
  assert.ok(spans.length >= 2, `${spans.length} range responses`);
  // The seek read near the end of the file, not everything up to it.
  const afterSeek = spans.slice(answeredBeforeSeek);
  assert.ok(
    afterSeek.some((s) => s.first > video.size * 0.9),
    `ranges after the seek: ${JSON.stringify(afterSeek)}`,
  );
  console.log(
    `# ${spans.length} ranges ${JSON.stringify(spans)}; ${received} bytes of ${video.size} transferred`,
  );
  assert.ok(received > 1_000_000, `the player read ${received} bytes`);
  assert.ok(received < video.size / 4, `the player read ${received} of ${video.size} bytes`);
  await page.close();
});
