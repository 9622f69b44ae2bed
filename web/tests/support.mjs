// Helpers shared by the browser test files (browser, time, flows_time and
// areas .test.mjs): where things are, building the page, starting
// `talentmap serve` and its CLI, launching Chromium, and waiting on the map.
//
// Not a test file itself: `node --test tests/` runs only files named like
// *.test.mjs.
//
// Env: TALENTMAP_BIN (default ../target/debug/talentmap from web/),
//      CHROMIUM (default /usr/bin/chromium).

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = resolve(WEB, '..');
export const BIN = resolve(WEB, process.env.TALENTMAP_BIN || '../target/debug/talentmap');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
/** Screenshots and server logs: test-artifacts/ at the repository root. */
export const ARTIFACTS = join(ROOT, 'test-artifacts');
export const VIEWPORT = { width: 1440, height: 900 };
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/** Makes test-artifacts/ and builds the page into `dist` (web/dist for
 *  browser.test.mjs) or, without it, into a fresh temporary folder of the
 *  test file's own, so that it can run beside browser.test.mjs (which
 *  rebuilds web/dist). Returns the folder; the caller removes a temporary one. */
export async function buildPage(dist = null) {
  await mkdir(ARTIFACTS, { recursive: true });
  const out = dist ?? (await mkdtemp(join(tmpdir(), 'talentmap-web-dist-')));
  const build = spawnSync(process.execPath, [join(WEB, 'build.mjs'), out], { encoding: 'utf8' });
  if (build.status !== 0 && !dist) await rm(out, { recursive: true, force: true });
  assert.equal(build.status, 0, `web build failed: ${build.stderr}`);
  return out;
}

/** Launches Debian's Chromium with playwright-core (which starts it with a
 *  fresh temporary --user-data-dir of its own). */
export async function launchBrowser() {
  assert.ok(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}: apt-get install chromium`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** Runs the server binary's CLI (e.g. `users add`) with `input` on standard input. */
export function cli(args, input = '') {
  const r = spawnSync(BIN, args, { input, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `talentmap ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** Waits until `url`/health answers and returns its JSON. `exited()` tells
 *  whether the server process has ended (then there is no point waiting);
 *  `name` and `logName` go into the error messages. */
export async function waitForHealth(url, { timeoutMs = 120_000, exited = () => null, name = 'server', logName = 'server.log' } = {}) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const why = exited();
    if (why) throw new Error(`${name} exited early (${why}); see test-artifacts/${logName}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) return res.json();
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${name} not healthy after ${timeoutMs} ms; see test-artifacts/${logName}`);
}

/** Starts `talentmap serve` on a fresh data directory (the demo city with
 *  `talents` talents) serving the page built in `web`, with `extra` arguments
 *  (e.g. `--public off`), its output in test-artifacts/`logName`, and waits
 *  for /health. Returns { url, dir, stop }; `stop` ends the server and
 *  removes the directory. `dirPrefix` names the data directory; `name` is
 *  the server's name in error messages. */
export async function startServer({ web, logName, extra = [], talents = 3000, dirPrefix = 'talentmap-web-data-', name = 'server' }) {
  assert.ok(existsSync(BIN), `server binary not found at ${BIN}: run \`cargo build\` or set TALENTMAP_BIN`);
  const dir = await mkdtemp(join(tmpdir(), dirPrefix));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log = createWriteStream(join(ARTIFACTS, logName));
  const proc = spawn(BIN, ['serve', '--addr', `127.0.0.1:${port}`, '--data', dir, '--demo-talents', String(talents), '--web', web, ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn' },
  });
  proc.stdout.pipe(log);
  proc.stderr.pipe(log);
  let exited = null;
  proc.on('exit', (code, signal) => {
    exited = `code ${code}, signal ${signal}`;
  });
  const stop = async () => {
    if (!exited) {
      proc.kill('SIGTERM');
      await new Promise((r) => {
        const timer = setTimeout(() => {
          proc.kill('SIGKILL');
          r();
        }, 5000);
        proc.once('exit', () => {
          clearTimeout(timer);
          r();
        });
      });
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForHealth(url, { exited: () => exited, name, logName });
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, dir, stop };
}

/** A fresh browser context and page, with console errors, failed requests
 *  and responses ({ url, status, method }) recorded. */
export async function openPage(browser, { viewport = VIEWPORT } = {}) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const rec = { errors: [], responses: [], failed: [] };
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    // Network errors name their URL only in the message's location.
    const url = msg.text().startsWith('Failed to load resource') ? msg.location()?.url : '';
    rec.errors.push(url ? `${msg.text()} ${url}` : msg.text());
  });
  page.on('pageerror', (err) => rec.errors.push(`pageerror: ${err.message}`));
  page.on('requestfailed', (req) => {
    const why = req.failure()?.errorText || '';
    // Requests cancelled by MapLibre when the view moves on are fine.
    if (!why.includes('ERR_ABORTED')) rec.failed.push(`${req.url()} ${why}`);
  });
  page.on('response', (res) => rec.responses.push({ url: res.url(), status: res.status(), method: res.request().method() }));
  return { context, page, rec };
}

/** Waits until the map has no pending tiles, animation or re-render (and,
 *  with `since`, has been idle again after idle count `since`). */
export async function settle(page, since = null) {
  await page.waitForFunction(
    (n) => {
      const app = window.__talentmap;
      const m = app && app.map;
      return m && (n === null || app.idleCount > n) && m.loaded() && m.areTilesLoaded() && !m.isMoving();
    },
    since,
    { timeout: 60_000, polling: 100 },
  );
  // One more idle after any paint update made by the legend breaks.
  await page.evaluate(
    () =>
      new Promise((r) => {
        const m = window.__talentmap.map;
        requestAnimationFrame(() => requestAnimationFrame(() => (m.loaded() ? r() : m.once('idle', r))));
      }),
  );
}

/** Opens the page at `url` and waits for the first map 'idle'. */
export async function openMap(page, url) {
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  await page.waitForFunction(() => window.__talentmap && window.__talentmap.firstIdleMs !== null, null, { timeout: 60_000 });
  await settle(page);
}

/** Clicks the submit button of the sign-in form and returns the POST /api/session answer. */
export async function submitSignIn(page, username, password) {
  await page.fill('#signin-user', username);
  await page.fill('#signin-pass', password);
  const [res] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === '/api/session' && r.request().method() === 'POST'),
    page.click('#signin-submit'),
  ]);
  let body = null;
  try {
    body = await res.json();
  } catch {
    /* no body */
  }
  return { status: res.status(), body };
}

/** A screenshot of the page into test-artifacts/. */
export const shot = (page, name) => page.screenshot({ path: join(ARTIFACTS, name) });
/** A number as the page shows it (grouped, Chinese or English). */
export const numberOf = (text) => Number(String(text).replace(/[^\d.-]/g, ''));
/** Console errors other than those a test expects (`allowed`: regexps on "message url"). */
export const unexpected = (rec, allowed = []) => rec.errors.filter((e) => !allowed.some((re) => re.test(e)));
