// Measures the built app under Xvfb: time from launch to the first screen
// (the sign-in form, or the briefcase when already signed in), and idle memory
// summed over the app's processes (the app and its WebKit children) after 10 s.
// Run through `cargo xtask bench` (which sets WARMLEAD_APP_BIN and builds first).
import { readFileSync, readdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { startXvfb, startTauriDriver, newSession } from "../lib/webdriver.mjs";

const RUNS = Number(process.env.RUNS || 3);

function processes() {
  const out = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      // PSS splits shared pages (WebKit's libraries) among the processes that map them.
      const pss = /Pss:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
      out.push({ pid: Number(pid), ppid, comm, rssKb: rss ? Number(rss[1]) : 0, pssKb: pss ? Number(pss[1]) : 0 });
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

// The app process and every descendant (WebKitWebProcess, WebKitNetworkProcess).
function appTreeRssKb() {
  const all = processes();
  const root = all.find((p) => p.comm.startsWith("warmlead-app"));
  if (!root) throw new Error("warmlead-app is not running");
  const tree = new Set([root.pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all) if (!tree.has(p.pid) && tree.has(p.ppid)) tree.add(p.pid), (grew = true);
  }
  const members = all.filter((p) => tree.has(p.pid));
  return {
    kb: members.reduce((s, p) => s + p.rssKb, 0),
    pssKb: members.reduce((s, p) => s + p.pssKb, 0),
    members: members.map((p) => p.comm),
  };
}

const xvfb = await startXvfb();
const results = [];
try {
  for (let i = 0; i < RUNS; i++) {
    const driver = await startTauriDriver({
      DISPLAY: xvfb.display,
      WARMLEAD_DATA_DIR: mkdtempSync(join(tmpdir(), "warmlead-bench-")),
    });
    const t0 = performance.now();
    const app = await newSession(driver.url, process.env.WARMLEAD_APP_BIN);
    await app.waitFor('[data-testid="signin-server"]', 30_000);
    const firstScreenMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 10_000));
    const mem = appTreeRssKb();
    results.push({
      firstScreenMs,
      idleRssMb: mem.kb / 1024,
      idlePssMb: mem.pssKb / 1024,
      processes: mem.members.join("+"),
    });
    await app.close();
    await driver.stop();
  }
} finally {
  xvfb.stop();
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const r of results) console.log(JSON.stringify(r));
console.log(
  `launch to first screen: median ${median(results.map((r) => r.firstScreenMs)).toFixed(0)} ms; ` +
    `idle memory over ${results[0].processes}: PSS median ${median(results.map((r) => r.idlePssMb)).toFixed(1)} MiB, ` +
    `RSS sum median ${median(results.map((r) => r.idleRssMb)).toFixed(1)} MiB; ${RUNS} runs`,
);
