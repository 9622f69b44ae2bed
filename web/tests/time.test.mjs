// Browser tests of the map through time (views/time.js) against the real
// server: the month slider and its playback, the fill colours it draws, the
// before/after view's numbers, the URL hash and the English labels.
//
// Starts `talentmap serve` on a fresh data directory (the demo city) with a
// build of the page in a folder of its own (so it can run beside
// browser.test.mjs), and drives Debian's Chromium with playwright-core.
//
// Env: TALENTMAP_BIN (default ../target/debug/talentmap from web/),
//      CHROMIUM (default /usr/bin/chromium).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { BRBG, addMonths, beforeAfter, divergingBreaks, monthRange, stepColor } from '../src/views/time.js';
import { BLUES, NO_DATA, legendClasses, quantileBreaks } from '../src/ramps.js';
import { formatHash, parseHash } from '../src/state.js';
import { VIEWPORT, buildPage, launchBrowser, openMap, settle, shot, startServer } from './support.mjs';

/** Opacity of the time view's fill over the districts' own fill (#fbfaf7). */
const FILL_OPACITY = 0.82;
const DISTRICT_BASE = [0xfb, 0xfa, 0xf7];

let DIST;
let browser;
let server;

async function getJson(path) {
  const res = await fetch(`${server.url}${path}`);
  assert.equal(res.status, 200, `${path} answered ${res.status}`);
  return res.json();
}

/** A fresh page recording console errors and the requests it makes. */
async function openPage() {
  const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const rec = { errors: [], requests: [] };
  page.on('console', (msg) => {
    if (msg.type() === 'error') rec.errors.push(msg.text());
  });
  page.on('pageerror', (err) => rec.errors.push(`pageerror: ${err.message}`));
  page.on('request', (req) => rec.requests.push(req.url()));
  return { context, page, rec };
}

/** Opens the page at `hash` and waits for the first map 'idle'. */
const gotoMap = (page, hash) => openMap(page, `${server.url}/#${hash}`);

/** Waits until the time view has drawn an answer; `want`: `hash` (a part of
 *  the URL hash), `month` (the slider's month; `first` for the first), `date` (a before/after date is set). */
async function waitTime(page, want = {}) {
  await page.waitForFunction(
    (w) => {
      const s = window.__talentmap?.views?.state.time;
      if (!s || !s.data || !s.values || s.loading) return false;
      if (w.hash && !window.location.hash.includes(w.hash)) return false;
      if (w.month === 'first' && s.month !== s.months[0]) return false;
      if (w.month && w.month !== 'first' && s.month !== w.month) return false;
      if (w.date && !s.date) return false;
      return true;
    },
    want,
    { timeout: 60_000 },
  );
  await settle(page);
}

const timeState = (page) =>
  page.evaluate(() => {
    const s = window.__talentmap.views.state.time;
    return { months: s.months, breaks: s.breaks, colors: s.colors, values: s.values, month: s.month, date: s.date, from: s.data.from, to: s.data.to };
  });

const featureState = (page, id) => page.evaluate((i) => window.__talentmap.map.getFeatureState({ source: 'time-areas', id: i }), id);

/** Evaluates the time fill's paint expression (case → step over the feature state) for `v`, as MapLibre does. */
async function paintedColor(page, v) {
  const expr = await page.evaluate(() => window.__talentmap.map.getPaintProperty('time-fill', 'fill-color'));
  assert.equal(expr[0], 'case');
  if (!Number.isFinite(v)) return expr[3];
  const step = expr[2];
  if (typeof step === 'string') return step;
  assert.equal(step[0], 'step');
  let colour = step[2];
  for (let i = 3; i < step.length; i += 2) if (v >= step[i]) colour = step[i + 1];
  return colour;
}

const hex = (c) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));

/** Points (CSS px in the map) inside area `id` where only fills are drawn (no label, line or marker). */
async function clearPoints(page, id) {
  return page.evaluate((want) => {
    const m = window.__talentmap.map;
    const c = m.getCanvas();
    const w = c.clientWidth;
    const h = c.clientHeight;
    const out = [];
    for (let x = 10; x < w - 10; x += 12) {
      for (let y = 10; y < h - 60; y += 12) {
        const feats = m.queryRenderedFeatures([
          [x - 4, y - 4],
          [x + 4, y + 4],
        ]);
        if (!feats.length) continue;
        const ok = feats.every((f) => f.layer.id === 'time-fill' || f.layer.id === 'base-districts-fill');
        const mine = feats.find((f) => f.layer.id === 'time-fill');
        if (ok && mine && String(mine.properties.id) === want && feats.filter((f) => f.layer.id === 'time-fill').length === 1) out.push([x, y]);
      }
    }
    return out;
  }, id);
}

/** The colour of the map's pixel at [x, y] (CSS px in the map), from a screenshot. */
async function pixelAt(page, [x, y]) {
  const box = await page.locator('#map').boundingBox();
  const png = await page.screenshot({ clip: { x: box.x + x, y: box.y + y, width: 1, height: 1 } });
  return page.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = 1;
    c.height = 1;
    c.getContext('2d').drawImage(img, 0, 0);
    return [...c.getContext('2d').getImageData(0, 0, 1, 1).data.slice(0, 3)];
  }, png.toString('base64'));
}

function assertBlended(pixel, colour, what) {
  const want = hex(colour).map((v, i) => Math.round(v * FILL_OPACITY + DISTRICT_BASE[i] * (1 - FILL_OPACITY)));
  const off = Math.max(...pixel.map((v, i) => Math.abs(v - want[i])));
  assert.ok(off <= 10, `${what}: pixel ${pixel} is not ${colour} over the district fill (${want}), off by ${off}`);
}

/** Sets the slider to month index `i` as a person dragging it would (an input event). */
async function slideTo(page, i) {
  await page.$eval(
    '#time-slider',
    (el, v) => {
      el.value = String(v);
      el.dispatchEvent(new Event('input', { bubbles: true }));
    },
    i,
  );
}

before(async () => {
  DIST = await buildPage();
  browser = await launchBrowser();
  server = await startServer({ web: DIST, logName: 'server-time.log' });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (DIST) await rm(DIST, { recursive: true, force: true });
});

describe('the map through time: pure parts', () => {
  test('months, windows and breaks', () => {
    assert.equal(addMonths('2025-11', 2), '2026-01');
    assert.equal(addMonths('2025-01', -1), '2024-12');
    assert.deepEqual(monthRange('2024-11', '2025-02'), ['2024-11', '2024-12', '2025-01', '2025-02']);
    const months = monthRange('2025-01', '2025-12').map((month, i) => ({ month, talents: 100 + i * 2 }));
    // Means of Jan–Jun (105) and Jul–Dec (117).
    assert.deepEqual(beforeAfter(months, '2025-07', 6), { before: 105, after: 117, change: 12, pct: (12 / 105) * 100 });
    // End of June (110) vs end of September (116).
    const end = beforeAfter(months, '2025-07', 3, 'end');
    assert.equal(end.before, 110);
    assert.equal(end.after, 116);
    assert.equal(end.change, 6);
    // A month missing (suppressed): no value rather than a wrong one.
    assert.equal(beforeAfter(months.map((m) => (m.month === '2025-03' ? { ...m, talents: null } : m)), '2025-07', 6).change, null);
    const b = divergingBreaks([-30, 12, 4]);
    assert.deepEqual(b, [-20, -10, -2.5, 2.5, 10, 20]);
    assert.equal(stepColor(0, b, BRBG), BRBG[3]);
    assert.equal(stepColor(-30, b, BRBG), BRBG[0]);
    assert.equal(stepColor(25, b, BRBG), BRBG[6]);
    assert.equal(stepColor(null, b, BRBG), NO_DATA);
  });

  test('the hash keeps the time view', () => {
    const hash = '#layers=enterprises&view=time&tlevel=park&tmonth=2025-06&tmode=change&tdate=2025-03&twin=3&tcalc=end&tby=pct&tarea=370102&tfield=0812&tchain=ngit';
    const s = parseHash(hash);
    assert.equal(s.view, 'time');
    assert.equal(s.tlevel, 'park');
    assert.equal(s.twin, 3);
    assert.equal(formatHash(s), hash);
    // Defaults are left out; bad values are dropped.
    const d = parseHash('#layers=&view=time&tlevel=region&tmonth=2025-13&twin=5&tmode=x&tdate=2025-1');
    assert.equal(formatHash(d), '#layers=&view=time');
  });
});

describe('the map through time in the page', () => {
  test('slider: months of /api/stock, fill colours on one fixed scale, playback, hash', async () => {
    const stock = await getJson('/api/stock?level=district');
    const { context, page, rec } = await openPage();
    await gotoMap(page, 'layers=');
    // The first render neither loads the time code nor asks for the stock.
    assert.equal(rec.requests.filter((u) => u.includes('/api/stock') || u.includes('/views/time.js')).length, 0);

    await page.click('label:has(#view-time)');
    await page.waitForSelector('#time-bar:not([hidden])', { timeout: 60_000 });
    await waitTime(page);
    assert.ok(rec.requests.some((u) => u.includes('/views/time.js')), 'time.js not loaded when the view opened');
    assert.ok(rec.requests.some((u) => new URL(u).pathname === '/api/stock'), '/api/stock not asked');
    let st = await timeState(page);
    assert.deepEqual(st.months, monthRange(stock.from, stock.to));
    assert.deepEqual(st.months, stock.areas[0].months.map((m) => m.month));
    assert.equal(await page.$eval('#time-slider', (el) => Number(el.max) + 1), stock.areas[0].months.length);
    assert.equal((await page.textContent('#time-month')).trim(), stock.to);

    // The scale is fixed over the whole span: quantiles of every area's every month.
    const all = stock.areas.flatMap((a) => a.months.map((m) => m.talents)).filter(Number.isFinite);
    const breaks = quantileBreaks(all, BLUES.length, 0);
    assert.deepEqual(st.breaks, breaks);
    const colors = legendClasses(breaks, BLUES, 0).map((c) => c.color);
    const legendColors = await page.$$eval('#time-legend .swatch', (els) => els.map((e) => e.style.background));
    assert.equal(legendColors.length, colors.length + 1, 'legend rows: the classes and no data');

    // A district whose colour differs between two months.
    const colourOf = (v) => stepColor(v, breaks, colors);
    let pick = null;
    for (const a of stock.areas) {
      const last = a.months.at(-1).talents;
      const i = a.months.findIndex((m) => colourOf(m.talents) !== colourOf(last));
      if (i >= 0) {
        pick = { id: String(a.id), i, month: a.months[i].month, v: a.months[i].talents, last };
        break;
      }
    }
    pick ||= { id: String(stock.areas[0].id), i: 0, month: stock.from, v: stock.areas[0].months[0].talents, last: stock.areas[0].months.at(-1).talents };
    assert.equal((await featureState(page, pick.id)).v, pick.last);
    assert.equal(await paintedColor(page, pick.last), colourOf(pick.last));
    const points = await clearPoints(page, pick.id);
    assert.ok(points.length > 0, `no clear point inside district ${pick.id}`);
    const at = points[Math.floor(points.length / 2)];
    assertBlended(await pixelAt(page, at), colourOf(pick.last), `district ${pick.id} at ${stock.to}`);

    await slideTo(page, pick.i);
    await waitTime(page, { month: pick.month });
    st = await timeState(page);
    assert.equal(st.month, pick.month);
    assert.equal((await page.textContent('#time-month')).trim(), pick.month);
    assert.equal((await featureState(page, pick.id)).v, pick.v);
    // Every district's feature state is its stock in that month.
    for (const a of stock.areas) assert.equal(st.values[String(a.id)], a.months[pick.i].talents, `district ${a.id} in ${pick.month}`);
    assert.equal(await paintedColor(page, pick.v), colourOf(pick.v));
    assertBlended(await pixelAt(page, at), colourOf(pick.v), `district ${pick.id} at ${pick.month}`);
    assert.deepEqual((await timeState(page)).breaks, breaks, 'the scale moved with the month');
    const row = await page.$eval(`#time-table tr[data-area="${pick.id}"]`, (tr) => Number(tr.dataset.talents));
    assert.equal(row, pick.v);
    assert.match(await page.evaluate(() => location.hash), new RegExp(`view=time.*tmonth=${pick.month}`));
    await shot(page, 'web-view-time.png');

    // A link reopens the month.
    await page.reload({ waitUntil: 'domcontentloaded' });
    await page.waitForFunction(() => window.__talentmap?.views?.state.time?.values, null, { timeout: 60_000 });
    await waitTime(page);
    assert.equal(await page.isChecked('#view-time'), true);
    assert.equal((await page.textContent('#time-month')).trim(), pick.month);
    assert.equal(await page.$eval('#time-slider', (el) => Number(el.value)), pick.i);
    assert.equal((await featureState(page, pick.id)).v, pick.v);

    // Playback steps about one month a second.
    await slideTo(page, 0);
    await waitTime(page, { month: 'first' });
    assert.equal(await page.getAttribute('#time-play', 'aria-pressed'), 'false');
    const t0 = Date.now();
    await page.click('#time-play');
    assert.equal(await page.getAttribute('#time-play', 'aria-pressed'), 'true');
    await page.waitForFunction(() => window.__talentmap.views.state.time.month === window.__talentmap.views.state.time.months[2], null, { timeout: 10_000 });
    const took = Date.now() - t0;
    assert.ok(took >= 1500 && took < 6000, `two steps took ${took} ms`);
    await page.click('#time-play');
    assert.equal(await page.getAttribute('#time-play', 'aria-pressed'), 'false');
    const stopped = (await timeState(page)).month;
    assert.ok(stopped === st.months[2] || stopped === st.months[3], `paused at ${stopped}`);
    await page.waitForTimeout(1500);
    assert.equal((await timeState(page)).month, stopped, 'the month moved after pausing');
    const s2 = await timeState(page);
    const i2 = s2.months.indexOf(stopped);
    for (const a of stock.areas) assert.equal(s2.values[String(a.id)], a.months[i2].talents);
    assert.equal((await page.textContent('#time-month')).trim(), stopped);
    assert.match(await page.evaluate(() => location.hash), new RegExp(`tmonth=${stopped}`));

    // Turning the view off hides the bar.
    await page.click('label:has(#view-time)');
    await page.waitForSelector('#time-bar', { state: 'hidden' });
    assert.deepEqual(rec.errors, []);
    await context.close();
  });

  test('before/after: the change per district equals the difference from /api/stock, and a click charts the area', async () => {
    const latest = (await getJson('/api/stock?level=district')).to;
    const date = addMonths(latest, -8);
    const stock = await getJson(`/api/stock?level=district&from=${addMonths(date, -12)}`);
    const { context, page, rec } = await openPage();
    await gotoMap(page, `layers=&view=time&tmode=change&tdate=${date}`);
    await waitTime(page, { date: true });
    const st = await timeState(page);
    assert.equal(st.date, date);
    const expect = new Map(stock.areas.map((a) => [String(a.id), beforeAfter(a.months, date, 6)]));
    // The district that changed most, computed here from the months of /api/stock.
    const [id, c] = [...expect].sort((x, y) => Math.abs(y[1].change ?? 0) - Math.abs(x[1].change ?? 0))[0];
    const mean = (list) => list.reduce((s, v) => s + v, 0) / list.length;
    const months = stock.areas.find((a) => String(a.id) === id).months;
    const val = (m) => months.find((x) => x.month === m).talents;
    const b = mean(Array.from({ length: 6 }, (_, i) => val(addMonths(date, i - 6))));
    const a = mean(Array.from({ length: 6 }, (_, i) => val(addMonths(date, i))));
    assert.ok(Math.abs(c.change - (a - b)) < 1e-9);
    const row = await page.$eval(`#time-table tr[data-area="${id}"]`, (tr) => ({ ...tr.dataset, cells: [...tr.querySelectorAll('td')].map((td) => td.textContent.trim()) }));
    assert.ok(Math.abs(Number(row.before) - b) < 1e-9, `before ${row.before} ≠ ${b}`);
    assert.ok(Math.abs(Number(row.after) - a) < 1e-9, `after ${row.after} ≠ ${a}`);
    assert.ok(Math.abs(Number(row.change) - (a - b)) < 1e-9, `change ${row.change} ≠ ${a - b}`);
    assert.ok(Math.abs(Number(row.pct) - ((a - b) / b) * 100) < 1e-9);
    const zh = new Intl.NumberFormat('zh-CN', { maximumFractionDigits: 2 });
    assert.equal(row.cells[2], `${a - b > 0 ? '+' : ''}${zh.format(a - b)}`);
    for (const [k, v] of expect) assert.ok(Math.abs((st.values[k] ?? NaN) - v.change) < 1e-9 || (v.change === null && st.values[k] === null), `district ${k}`);

    // The diverging ramp: symmetric breaks, the colour of the district's change.
    const breaks = divergingBreaks([...expect.values()].map((v) => v.change));
    assert.deepEqual(st.breaks, breaks);
    assert.equal(await paintedColor(page, (await featureState(page, id)).v), stepColor(a - b, breaks, BRBG));
    const points = await clearPoints(page, id);
    assert.ok(points.length > 0, `no clear point inside district ${id}`);
    const at = points[Math.floor(points.length / 2)];
    assertBlended(await pixelAt(page, at), stepColor(a - b, breaks, BRBG), `change of district ${id}`);
    assert.equal(await page.$$eval('#time-legend .swatch', (els) => els.length), BRBG.length + 1);
    if (!stock.exact_counts) assert.match(await page.textContent('#details'), /扰动/);

    // A click on the district: its monthly stock with the date marked.
    await page.mouse.click(...(await page.locator('#map').boundingBox().then((box) => [box.x + at[0], box.y + at[1]])));
    await page.waitForSelector('#time-chart svg.line-chart polyline');
    assert.equal(await page.getAttribute('#time-chart line.mark', 'data-month'), date);
    assert.equal(await page.$$eval('#time-chart circle', (els) => els.length), monthRange(st.from, st.to).length);
    assert.match(await page.evaluate(() => location.hash), new RegExp(`tmode=change&tdate=${date}&tarea=${id}`));
    assert.equal((await page.textContent('#details-title')).trim().length > 0, true);

    // A window of 3 months: the numbers follow.
    await page.selectOption('#time-window', '3');
    await waitTime(page, { hash: 'twin=3' });
    const c3 = beforeAfter(months, date, 3);
    const row3 = await page.$eval(`#time-table tr[data-area="${id}"]`, (tr) => Number(tr.dataset.change));
    assert.ok(Math.abs(row3 - c3.change) < 1e-9, `3-month change ${row3} ≠ ${c3.change}`);

    // End of the month before vs end of the window.
    await page.selectOption('#time-calc', 'end');
    await waitTime(page, { hash: 'tcalc=end' });
    const e3 = await page.$eval(`#time-table tr[data-area="${id}"]`, (tr) => Number(tr.dataset.change));
    assert.equal(e3, val(addMonths(date, 2)) - val(addMonths(date, -1)));
    await shot(page, 'web-view-time-change.png');
    assert.deepEqual(rec.errors, []);
    await context.close();
  });

  test('English labels, parks and the field filter', async () => {
    const { context, page, rec } = await openPage();
    await gotoMap(page, 'layers=&lang=en&view=time');
    await waitTime(page);
    assert.equal(await page.getAttribute('#time-play', 'aria-label'), 'Play');
    assert.match(await page.textContent('.layer[data-view="time"]'), /Talent stock over time/);
    assert.match(await page.textContent('#time-legend'), /No data/);
    assert.match(await page.textContent('.layer[data-view="time"] .legend'), /one scale for/);
    assert.match(await page.textContent('#details'), /Talents by area/);

    // Parks.
    const parks = await getJson('/api/stock?level=park');
    await page.selectOption('#time-level', 'park');
    await waitTime(page, { hash: 'tlevel=park' });
    const st = await timeState(page);
    assert.deepEqual(Object.keys(st.values).sort(), parks.areas.map((a) => String(a.id)).sort());
    for (const a of parks.areas) assert.equal(st.values[String(a.id)], a.months.at(-1).talents);
    assert.ok(rec.requests.some((u) => /\/api\/stock\?level=park/.test(u)));

    // A field: the stock of that field's talents.
    const field = '0812';
    const byField = await getJson(`/api/stock?level=park&field=${field}`);
    await page.selectOption('#time-field', field);
    await waitTime(page, { hash: 'tfield=0812' });
    const sf = await timeState(page);
    for (const a of byField.areas) assert.equal(sf.values[String(a.id)], a.months.at(-1).talents);

    // Before/after in English.
    await page.selectOption('#time-mode', 'change');
    await waitTime(page, { hash: 'tmode=change', date: true });
    assert.match(await page.textContent('#details'), /Change by area/);
    assert.match(await page.textContent('#time-table thead'), /Before/);
    assert.match(await page.textContent('#time-legend').then(() => page.textContent('.layer[data-view="time"] .legend')), /Change after − before/);
    assert.equal(await page.isHidden('#time-bar'), true);
    assert.deepEqual(rec.errors, []);
    await context.close();
  });
});
