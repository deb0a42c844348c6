// A real, playable phone video of a given size, made with ffmpeg at test
// time, and the streamed upload the app does (crates/sync/src/upload.rs).
import { execFileSync } from "node:child_process";
import { createReadStream, statSync } from "node:fs";
import { once } from "node:events";
import http from "node:http";
import { join } from "node:path";

const CLIP_SECONDS = 10;

function ffmpeg(args) {
  execFileSync(process.env.FFMPEG_BIN || "ffmpeg", ["-v", "error", "-y", ...args], {
    stdio: ["ignore", "inherit", "inherit"],
    timeout: 120_000,
  });
}

/**
 * An MP4 as an Android phone's camera writes it (H.264 + AAC, `ftyp isom`),
 * of about `bytes` bytes, with its index (`moov`) first (`+faststart`) so a
 * player starts after a small first read; and a JPEG cover from it.
 *
 * Encoding 300 MB of real video would take minutes on two cores. Instead a
 * cheap 10 s clip (a synthetic pattern and a tone) is encoded once at a
 * constant 8 Mbit/s, what a phone records at 720p: x264's CBR mode
 * (`nal-hrd=cbr`) pads every second to the rate with filler NAL units that
 * decoders skip, the way broadcast CBR streams do, so the bytes on the wire
 * per second of playback are a real phone video's. The clip is then repeated
 * with `-stream_loop` by copying packets (no re-encode, timestamps continue)
 * to one file of about five minutes: a few seconds in all. Seeking near the
 * end of it therefore means reading near the end of the file.
 */
export function makePhoneVideo(dir, bytes) {
  const clip = join(dir, "clip.mp4");
  ffmpeg([
    "-f", "lavfi", "-i", `testsrc2=size=1280x720:rate=30:duration=${CLIP_SECONDS}`,
    "-f", "lavfi", "-i", `sine=frequency=440:sample_rate=48000:duration=${CLIP_SECONDS}`,
    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "30",
    "-b:v", "8M", "-minrate", "8M", "-maxrate", "8M", "-bufsize", "4M",
    "-x264-params", "nal-hrd=cbr",
    "-c:a", "aac", "-b:a", "128k",
    clip,
  ]);
  const copies = Math.ceil(bytes / statSync(clip).size);
  const path = join(dir, "walkthrough.mp4");
  ffmpeg(["-stream_loop", String(copies - 1), "-i", clip, "-c", "copy", "-movflags", "+faststart", path]);
  const cover = join(dir, "cover.jpg");
  ffmpeg(["-ss", "3", "-i", clip, "-frames:v", "1", "-q:v", "4", cover]);
  return { path, cover, size: statSync(path).size, seconds: copies * CLIP_SECONDS };
}

/**
 * POSTs the file at `path` to the media endpoint as a stream (never all in
 * memory), as the app does, calling `onSent(sent, total)` each time a chunk
 * has been handed to the socket. Resolves to the server's answer.
 */
export async function uploadFile(url, token, path, contentType, onSent = () => {}) {
  const total = statSync(path).size;
  const req = http.request(`${url}/api/v1/media`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": contentType,
      "content-length": total,
    },
  });
  const answer = once(req, "response");
  // An early answer (a refusal) or a broken connection stops the writing
  // instead of waiting for a drain that never comes; `await answer` reports it.
  let over = false;
  answer.then(
    () => (over = true),
    () => (over = true),
  );
  let sent = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    if (over) break;
    if (!req.write(chunk)) await Promise.race([once(req, "drain").catch(() => {}), answer.catch(() => {})]);
    sent += chunk.length;
    onSent(sent, total);
  }
  req.end();
  const [res] = await answer;
  let text = "";
  for await (const part of res) text += part;
  if (res.statusCode !== 200) throw new Error(`upload ${path}: ${res.statusCode} ${text}`);
  return JSON.parse(text);
}
