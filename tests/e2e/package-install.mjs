// The desktop app as a company installs it (issue 20): the .deb that
// `cargo xtask package` made is installed with apt on this machine, its
// desktop entry registers the warmlead:// scheme, the installed program
// starts under Xvfb and WebDriver, and a sign-in link opened with xdg-open
// travels through the desktop entry to a second launch, which hands it to
// the running app (single instance) and exits; the app asks, signs in, and
// shows the briefcase with what the company published. Then the package is
// purged: none of its files is left, the user's data stays.
//
// Installs and removes a system package: root, or sudo without a password.
// Run through `cargo xtask package --test`, which builds the packages and
// sets WARMLEAD_DEB, WARMLEAD_RPM, WARMLEAD_VERSION, WARMLEAD_SERVER_BIN and
// TAURI_DRIVER_BIN (`cargo xtask test` runs it the same way, as a suite of
// its own). Not a *.test.mjs: the end-to-end suite runs the debug build and
// installs nothing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { activate, api, serverBin, startServer, waitFor } from "./lib/server.mjs";
import { startTauriDriver, startXvfb, newSession } from "./lib/webdriver.mjs";
import { appTreeMemory } from "./lib/memory.mjs";

const PACKAGE = "warmlead";
const BIN = "/usr/bin/warmlead-app";
const DESKTOP = "/usr/share/applications/Warmlead.desktop";
const SCHEME = "x-scheme-handler/warmlead";
const TITLE = "装好的暖客：第一篇文章";
const tid = (id) => `[data-testid="${id}"]`;

const need = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run through \`cargo xtask package --test\``);
  return v;
};

const isRoot = process.getuid() === 0;
/** A command as root (sudo when we are not), apt without questions. */
function asRoot(cmd, args) {
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  return isRoot
    ? execFileSync(cmd, args, { encoding: "utf8", env })
    : execFileSync("sudo", ["-n", "env", "DEBIAN_FRONTEND=noninteractive", cmd, ...args], { encoding: "utf8" });
}
const run = (cmd, args, env = {}) =>
  execFileSync(cmd, args, { encoding: "utf8", env: { ...process.env, ...env }, timeout: 60_000 }).trim();

/** "install ok installed", or "" when dpkg does not know the package. */
function dpkgStatus() {
  try {
    // Quiet: "no packages found" is the answer we wait for after the purge.
    return execFileSync("dpkg-query", ["-W", "-f=${Status}", PACKAGE], { encoding: "utf8", stdio: "pipe" }).trim();
  } catch {
    return "";
  }
}
const installed = () => dpkgStatus() === "install ok installed";
const purge = () => asRoot("apt-get", ["remove", "--purge", "-y", PACKAGE]);

let server;
let xvfb;
let home;
/** The environment of one user's desktop session (HOME, XDG dirs, the display, the session bus). */
let session;

before(async () => {
  mkdirSync("artifacts", { recursive: true });
  for (const name of ["WARMLEAD_DEB", "WARMLEAD_RPM", "WARMLEAD_VERSION"]) need(name);
  serverBin();
  if (!isRoot) {
    try {
      execFileSync("sudo", ["-n", "true"]);
    } catch {
      throw new Error("installing the .deb needs root: run as root or with passwordless sudo");
    }
  }
  // A run that stopped half-way may have left it installed.
  if (dpkgStatus() !== "") purge();
  server = await startServer({ demo: false });
  xvfb = await startXvfb();
  home = mkdtempSync(join(tmpdir(), "warmlead-install-home-"));
  session = {
    HOME: home,
    XDG_DATA_HOME: join(home, ".local/share"),
    XDG_CONFIG_HOME: join(home, ".config"),
    XDG_CACHE_HOME: join(home, ".cache"),
    DISPLAY: xvfb.display,
    // The display's session bus, with its unlocked keychain: the app keeps
    // its token there, and the second launch finds the running app on it.
    DBUS_SESSION_BUS_ADDRESS: xvfb.keychainEnv.DBUS_SESSION_BUS_ADDRESS,
  };
});

after(async () => {
  if (installed()) purge();
  xvfb?.stop();
  await server?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

test("the .rpm carries the app, its desktop entry, its icons and what it needs", () => {
  const rpm = need("WARMLEAD_RPM");
  const q = (...args) => run("rpm", ["-qp", ...args, rpm]);
  assert.equal(q("--qf", "%{NAME} %{VERSION}"), `${PACKAGE} ${need("WARMLEAD_VERSION")}`);
  const files = q("-l").split("\n");
  for (const f of [BIN, DESKTOP, "/usr/share/icons/hicolor/128x128/apps/warmlead-app.png"]) {
    assert.ok(files.includes(f), `${f} in the .rpm:\n${files.join("\n")}`);
  }
  // RPM names the libraries; dnf and zypper find the packages that provide them.
  const requires = q("--requires");
  assert.match(requires, /libwebkit2gtk-4\.1\.so\.0/, requires);
  assert.match(requires, /libgtk-3\.so\.0/, requires);
  assert.match(q("--recommends"), /google-noto-sans-cjk-fonts/);
  assert.match(q("--scripts"), /update-desktop-database/);
});

test("the installed .deb opens a warmlead:// link from xdg-open in the running app, signs in, and purges cleanly", async () => {
  const deb = need("WARMLEAD_DEB");

  // Installed as a company's IT would: apt pulls what the package depends on.
  asRoot("apt-get", ["install", "-y", "--no-install-recommends", deb]);
  assert.equal(dpkgStatus(), "install ok installed");
  const field = (f) => run("dpkg-query", ["-W", `-f=\${${f}}`, PACKAGE]);
  assert.equal(field("Version"), need("WARMLEAD_VERSION"));
  const depends = field("Depends");
  for (const d of ["libwebkit2gtk-4.1-0", "libgtk-3-0", "fonts-noto-cjk"]) assert.match(depends, new RegExp(d), depends);

  const paths = run("dpkg", ["-L", PACKAGE]).split("\n");
  const files = paths.filter((p) => existsSync(p) && !lstatSync(p).isDirectory());
  for (const f of [
    BIN,
    DESKTOP,
    "/usr/share/icons/hicolor/32x32/apps/warmlead-app.png",
    "/usr/share/icons/hicolor/128x128/apps/warmlead-app.png",
    "/usr/share/icons/hicolor/256x256/apps/warmlead-app.png",
    "/usr/share/icons/hicolor/512x512/apps/warmlead-app.png",
  ]) {
    assert.ok(files.includes(f), `${f} installed:\n${files.join("\n")}`);
  }

  // The desktop entry is valid, starts the program with the link, and
  // claims the scheme; the desktop database says so.
  run("desktop-file-validate", [DESKTOP]);
  const entry = readFileSync(DESKTOP, "utf8");
  assert.match(entry, /^Exec=warmlead-app %u$/m);
  assert.match(entry, /^MimeType=.*x-scheme-handler\/warmlead/m);
  assert.match(entry, /^Icon=warmlead-app$/m);
  assert.match(entry, /^Name\[zh_CN\]=暖客/m);
  assert.equal(run("xdg-mime", ["query", "default", SCHEME], session), "Warmlead.desktop");

  // The company, its first article, and a rep with a sign-in link, as the
  // operator's command line and the manager's device make them.
  const cli = (...args) => execFileSync(serverBin(), args, { encoding: "utf8" });
  const made = cli(
    "company", "create",
    "--database-url", server.databaseUrl,
    "--name", "青松家居",
    "--manager-name", "周青",
    "--manager-phone", "+8613900000001",
    "--public-url", server.url,
  );
  const managerCode = /activation code[^:]*: (\S+)/.exec(made)?.[1];
  assert.ok(managerCode, made);
  const manager = await activate(server.url, managerCode, "install test manager");
  await api(server.url, manager.device_token, "PUT", "/api/v1/content/install-first", {
    kind: "article",
    title: TITLE,
    summary: "装上就能用。",
    body: "<p>从安装包装好的暖客里读到这篇。</p>",
    case_study: null,
    cover: null,
    video: null,
    audience: { to: "company" },
  });
  await api(server.url, manager.device_token, "POST", "/api/v1/content/install-first/publish");
  await api(server.url, manager.device_token, "POST", "/api/v1/team", { role: "rep", name: "林晓", phone: "13900000002" });
  const [, linkLine] = cli(
    "activation-code", "--database-url", server.databaseUrl, "--public-url", server.url, "--user", "+8613900000002",
  ).trim().split("\n");
  const link = linkLine.replace(/^sign-in link: /, "");
  assert.match(link, /^warmlead:\/\/activate\?/);

  // The installed program, in the user's session, with its default data
  // directory (no WARMLEAD_DATA_DIR: as a user starts it).
  const driver = await startTauriDriver(session);
  const app = await newSession(driver.url, BIN);
  const dataFile = join(session.XDG_DATA_HOME, "com.warmlead.app", "warmlead.sqlite");
  let memory;
  try {
    await app.waitFor(tid("signin-server"), 60_000);

    // The link as a browser or a chat app hands it to the desktop.
    run("xdg-open", [link], session);
    const dialog = await app.waitFor(tid("link-confirm"), 60_000);
    assert.equal((await app.text(await app.find(tid("link-confirm-host")))).trim(), new URL(server.url).host);
    assert.ok(dialog);
    await app.click(await app.find(tid("link-confirm-continue")));
    await app.click(await app.waitFor(tid("nav-briefcase"), 60_000));
    await waitFor(
      async () => {
        const titles = await app.execute(
          `return [...document.querySelectorAll('[data-testid="briefcase-item"]')].map((e) => e.textContent)`,
        );
        return titles.some((t) => t.includes(TITLE));
      },
      { timeoutMs: 60_000, what: "the company's article in the briefcase" },
    );
    await waitFor(
      async () => (await app.attribute(await app.find(tid("sync-badge")), "data-state")) === "synced",
      { what: "the sync badge to say synced" },
    );
    await app.execute("return new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))");
    await app.screenshot("artifacts/package-installed-briefcase.png");

    // One app: the launch xdg-open made handed the link over and exited.
    memory = appTreeMemory(BIN);
    writeFileSync("artifacts/package-installed-memory.json", JSON.stringify(memory, null, 2));
    console.log(
      `installed app with the briefcase open, over ${memory.members.join("+")}: ` +
        `PSS ${(memory.pssKb / 1024).toFixed(1)} MiB, RSS sum ${(memory.rssKb / 1024).toFixed(1)} MiB`,
    );
  } catch (e) {
    await app.screenshot("artifacts/package-install-failure.png").catch(() => {});
    throw e;
  } finally {
    await app.close();
    await driver.stop();
  }
  assert.ok(memory.members.some((m) => m.startsWith("WebKitWebProces")), memory.members.join(" "));
  assert.ok(existsSync(dataFile), `the app kept its data in ${dataFile}`);

  // Purged: every file the package installed is gone, the scheme has no
  // handler any more, and the user's data is still there.
  purge();
  assert.equal(dpkgStatus(), "", "dpkg no longer knows the package");
  const left = files.filter((f) => existsSync(f));
  assert.deepEqual(left, [], "files of the package left after the purge");
  assert.equal(run("xdg-mime", ["query", "default", SCHEME], session), "");
  assert.ok(existsSync(dataFile), "the user's data stays");
});
