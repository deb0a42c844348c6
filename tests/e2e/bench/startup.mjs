// Measures the built app under Xvfb: time from launch to the first screen
// (the sign-in form, or the briefcase when already signed in), and idle memory
// summed over the app's processes (the app and its WebKit children) after 10 s.
// Run through `cargo xtask bench` (which sets WARMLEAD_APP_BIN and builds first).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { startXvfb, startTauriDriver, newSession } from "../lib/webdriver.mjs";
import { appTreeMemory } from "../lib/memory.mjs";

const RUNS = Number(process.env.RUNS || 3);

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
    const mem = appTreeMemory(process.env.WARMLEAD_APP_BIN);
    results.push({
      firstScreenMs,
      idleRssMb: mem.rssKb / 1024,
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
