// The memory of the app's process tree: the app and every descendant
// (WebKitWebProcess, WebKitNetworkProcess), read from /proc. PSS splits
// shared pages (WebKit's libraries) among the processes that map them, so
// it adds up; RSS counts them once per process.
import { readFileSync, readdirSync, readlinkSync, realpathSync } from "node:fs";

function processes() {
  const out = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      const pss = /Pss:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
      out.push({ pid: Number(pid), ppid, comm, rssKb: rss ? Number(rss[1]) : 0, pssKb: pss ? Number(pss[1]) : 0 });
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

/** The executable a process runs, or null when it is gone or not ours to read. */
function exeOf(pid) {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return null;
  }
}

/**
 * The processes running the program at `exe` now: one that runs a file
 * since replaced (a package upgraded under it) is not among them.
 */
export function pidsOf(exe) {
  const path = realpathSync(exe);
  return processes()
    .filter((p) => exeOf(p.pid) === path)
    .map((p) => p.pid);
}

/** Whether the process is still there (not exited, not a zombie). */
export function running(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/**
 * Sums RSS and PSS (kB) over the tree of the one process running the program
 * at `exe` (other copies of the app on the machine, other builds, are not it).
 */
export function appTreeMemory(exe) {
  const path = realpathSync(exe);
  const all = processes();
  const roots = all.filter((p) => exeOf(p.pid) === path);
  if (roots.length !== 1) throw new Error(`expected one process of ${path}, found ${roots.length}`);
  const tree = new Set([roots[0].pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all) if (!tree.has(p.pid) && tree.has(p.ppid)) tree.add(p.pid), (grew = true);
  }
  const members = all.filter((p) => tree.has(p.pid));
  return {
    rssKb: members.reduce((s, p) => s + p.rssKb, 0),
    pssKb: members.reduce((s, p) => s + p.pssKb, 0),
    members: members.map((p) => p.comm),
  };
}
