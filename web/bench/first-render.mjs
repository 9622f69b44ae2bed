// First-render benchmark of the page (not a test: it reports, it asserts
// nothing). Starts `talentmap serve` on a fresh data directory with the demo
// city, then loads the page in fresh headless-Chromium contexts (software
// WebGL) and reports the time from navigation to MapLibre's first `idle`
// (everything on screen drawn), with the requests and bytes up to then.
// In the same run, the same page with every data layer off gives the floor
// (basemap, labels, page and MapLibre start-up alone).
//
//   node bench/first-render.mjs [--bin ../target/release/talentmap] [--talents 100000] [--runs 7]
//                               [--web DIR]   (a page build to compare, e.g. an older release's web/dist)
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const BIN = resolve(WEB, arg('bin', '../target/release/talentmap'));
const TALENTS = arg('talents', '100000');
const RUNS = Number(arg('runs', '7'));
const PORT = Number(arg('port', '18190'));
const DIST = resolve(arg('web', join(WEB, 'dist')));
const base = `http://127.0.0.1:${PORT}`;

async function waitForHealth(deadline) {
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${base}/health`)).ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('the server did not answer /health');
}

async function firstRender(browser, hash) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  const sizes = [];
  page.on('requestfinished', async (req) => {
    try {
      const t = req.timing();
      sizes.push({ bytes: (await req.sizes()).responseBodySize, end: t.startTime + t.responseEnd });
    } catch {
      /* page closed */
    }
  });
  await page.goto(`${base}/${hash}`, { waitUntil: 'domcontentloaded' });
  await page.waitForFunction(() => window.__talentmap?.firstIdleMs != null, null, { timeout: 120_000 });
  const { ms, epoch } = await page.evaluate(() => ({ ms: window.__talentmap.firstIdleMs, epoch: window.__talentmap.firstIdleEpoch }));
  const upTo = sizes.filter((s) => s.end <= epoch + 1);
  await context.close();
  return { ms, requests: upTo.length, bytes: upTo.reduce((a, s) => a + s.bytes, 0) };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const data = await mkdtemp(join(tmpdir(), 'talentmap-bench-'));
  const server = spawn(BIN, ['serve', '--addr', `127.0.0.1:${PORT}`, '--data', data, '--demo-talents', TALENTS, '--web', DIST, '--rate-limit', '0'], {
    stdio: 'ignore',
    env: { ...process.env, RUST_LOG: 'warn' },
  });
  let browser;
  try {
    await waitForHealth(Date.now() + 600_000);
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run'],
    });
    await firstRender(browser, ''); // warms the server's tile cache and the OS page cache
    console.log(`| view (${TALENTS} demo talents, ${RUNS} fresh page loads) | first idle, median | min–max | requests | bytes |`);
    console.log('|---|---:|---:|---:|---:|');
    for (const [name, hash] of [['default view (talents, enterprises, labels)', ''], ['every data layer off (floor)', '#layers=']]) {
      const runs = [];
      for (let i = 0; i < RUNS; i += 1) runs.push(await firstRender(browser, hash));
      const ms = runs.map((r) => r.ms);
      const last = runs[runs.length - 1];
      console.log(`| ${name} | ${Math.round(median(ms))} ms | ${Math.round(Math.min(...ms))}–${Math.round(Math.max(...ms))} ms | ${last.requests} | ${last.bytes} |`);
    }
  } finally {
    await browser?.close();
    server.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    await rm(data, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
