// Browser tests of the web front end against the real server.
//
// Starts `talentmap serve` on a fresh data directory (the server loads a
// small demo city), drives Debian's Chromium with playwright-core, and
// checks what a person would see: the map draws, tiles answer, layers and
// filters change what is requested and drawn, clusters zoom, search flies,
// the language switches and the URL hash restores the whole view.
//
// Env: TALENTMAP_BIN (default ../target/debug/talentmap from web/),
//      CHROMIUM (default /usr/bin/chromium),
//      TALENTMAP_URL (optional: test a server that is already running, e.g.
//      http://127.0.0.1:8080, instead of starting one; it must serve web/dist).
// Screenshots go to test-artifacts/ at the repository root.
//
// Access control: an analyst is added with `talentmap users add` to the
// same data directory; a second server with `--public off` checks that the
// page asks for a sign-in instead of drawing an empty map.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { geometryBounds } from '../src/access.js';
import { areaAt } from '../src/people.js';
import {
  BIN,
  ROOT,
  VIEWPORT,
  WEB,
  buildPage,
  cli,
  launchBrowser,
  openMap,
  settle,
  shot,
  startServer,
  submitSignIn,
  unexpected as unexpectedErrors,
  waitForHealth,
} from './support.mjs';

const DIST = join(WEB, 'dist');

let server;
let dataDir;
let base;
let browser;

before(async () => {
  await buildPage(DIST);
  browser = await launchBrowser();
  if (process.env.TALENTMAP_URL) {
    base = process.env.TALENTMAP_URL.replace(/\/$/, '');
    await waitForHealth(base, { timeoutMs: 10_000 });
    return;
  }
  server = await startServer({ web: DIST, logName: 'server.log', talents: 20000 });
  base = server.url;
  dataDir = server.dir;
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

// ---------- helpers ----------

/** A fresh browser context and page, with console errors, failed requests
 *  and all responses recorded. */
async function openPage({ viewport = VIEWPORT } = {}) {
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
    // Tile requests cancelled by MapLibre when the view moves on are fine.
    if (!why.includes('ERR_ABORTED')) rec.failed.push(`${req.url()} ${why}`);
  });
  page.on('requestfinished', async (req) => {
    let res = null;
    try {
      res = await req.response();
    } catch {
      return; // the page closed while the request finished
    }
    let bytes = 0;
    try {
      bytes = (await req.sizes()).responseBodySize;
    } catch {
      /* page closed */
    }
    const timing = req.timing();
    // Epoch ms when the response ended, comparable with the page's Date.now().
    const end = timing.responseEnd >= 0 ? timing.startTime + timing.responseEnd : Date.now();
    rec.responses.push({ url: req.url(), status: res ? res.status() : 0, bytes, end });
  });
  return { context, page, rec };
}

/** Opens the map at `hash`; by default at the default layers (an address
 *  without any state opens on the briefing instead: see the briefing tests). */
const gotoMap = (page, hash = 'layers=talents,enterprises') => openMap(page, `${base}/${hash ? `#${hash}` : ''}`);

const idleCount = (page) => page.evaluate(() => window.__talentmap.idleCount);

/** Pixel statistics of the map canvas area, decoded by the browser from a
 *  screenshot: distinct colours and the share of the most common one. */
async function mapPixels(page) {
  const box = await page.locator('#map').boundingBox();
  const png = await page.screenshot({ clip: box });
  const stats = await page.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    const counts = new Map();
    for (let i = 0; i < d.length; i += 4) {
      const key = (d[i] << 16) | (d[i + 1] << 8) | d[i + 2];
      counts.set(key, (counts.get(key) || 0) + 1);
    }
    const total = d.length / 4;
    return { distinct: counts.size, dominant: Math.max(...counts.values()) / total, total };
  }, png.toString('base64'));
  return { ...stats, png };
}

/** Share of pixels that differ between two screenshots of the same size. */
async function pixelDiff(page, a, b) {
  return page.evaluate(
    async ([a64, b64]) => {
      const load = async (s) => {
        const img = new Image();
        img.src = `data:image/png;base64,${s}`;
        await img.decode();
        const c = document.createElement('canvas');
        c.width = img.width;
        c.height = img.height;
        c.getContext('2d').drawImage(img, 0, 0);
        return c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      };
      const [x, y] = [await load(a64), await load(b64)];
      if (x.length !== y.length) return 1;
      let diff = 0;
      for (let i = 0; i < x.length; i += 4) {
        if (Math.abs(x[i] - y[i]) + Math.abs(x[i + 1] - y[i + 1]) + Math.abs(x[i + 2] - y[i + 2]) > 24) diff += 1;
      }
      return diff / (x.length / 4);
    },
    [a.toString('base64'), b.toString('base64')],
  );
}

const tileRequests = (rec, layer, from = 0) =>
  rec.responses.slice(from).filter((r) => new URL(r.url).pathname.startsWith(`/tiles/${layer}/`));

function assertTilesAnswered(list, what) {
  assert.ok(list.length > 0, `no ${what} tile requests`);
  const bad = list.filter((r) => r.status !== 200 && r.status !== 204);
  assert.deepEqual(bad, [], `${what} tiles answered with other statuses`);
  assert.ok(
    list.some((r) => r.status === 200),
    `${what}: every tile was empty (204)`,
  );
}

// ---------- tests ----------

describe('talentmap web front end', () => {
  test('loads without console errors, tiles answer 200/204 and the map is not blank', async () => {
    const { context, page, rec } = await openPage();
    await gotoMap(page);
    const perf = await page.evaluate(() => ({
      firstIdle: window.__talentmap.firstIdleMs,
      firstIdleEpoch: window.__talentmap.firstIdleEpoch,
      mapErrors: window.__talentmap.errors,
    }));
    // Requests answered up to the first complete render (the page itself included).
    const upToIdle = rec.responses.filter((r) => r.end <= perf.firstIdleEpoch + 1);
    const bytes = upToIdle.reduce((s, r) => s + r.bytes, 0);
    console.log(`web-perf: first_render_ms=${Math.round(perf.firstIdle)} requests=${upToIdle.length} bytes=${bytes}`);

    assert.deepEqual(rec.errors, [], 'console errors');
    assert.deepEqual(rec.failed, [], 'failed requests');
    assert.deepEqual(perf.mapErrors, [], 'map errors');
    assertTilesAnswered(tileRequests(rec, 'talents'), 'talents');
    assertTilesAnswered(tileRequests(rec, 'enterprises'), 'enterprises');
    const tilejson = rec.responses.filter((r) => /\/tiles\/\w+\.json/.test(r.url));
    assert.ok(tilejson.length >= 2 && tilejson.every((r) => r.status === 200), 'TileJSON answered');
    // The page's files carry a Content-Security-Policy (scripts from the page's origin only) that
    // nothing on the page breaks: a violation would be a console error above.
    const page0 = await fetch(`${base}/`);
    assert.match(page0.headers.get('content-security-policy') || '', /script-src 'self';/);
    assert.equal(page0.headers.get('x-content-type-options'), 'nosniff');
    // Nothing outside the server is asked for.
    const foreign = rec.responses.filter((r) => !r.url.startsWith(base) && !r.url.startsWith('data:') && !r.url.startsWith('blob:'));
    assert.deepEqual(foreign, [], 'requests to other hosts');

    const px = await mapPixels(page);
    assert.ok(px.distinct > 30, `map has only ${px.distinct} colours`);
    assert.ok(px.dominant < 0.9, `one colour covers ${(px.dominant * 100).toFixed(1)}% of the map`);
    await shot(page, 'web-initial.png');

    // Chinese UI by default. District names are MapLibre symbols drawn with
    // glyphs the server makes from its own fonts, not HTML markers.
    assert.equal(await page.textContent('h1'), '人才产业地图');
    const glyphs = rec.responses.filter((r) => new URL(r.url).pathname.startsWith('/fonts/'));
    assert.ok(glyphs.length > 0, 'no glyph requests');
    assert.deepEqual(glyphs.filter((r) => r.status !== 200), [], 'glyph requests answered');
    const names = await page.evaluate(() =>
      window.__talentmap.map.queryRenderedFeatures({ layers: ['district-labels'] }).map((f) => f.properties.name),
    );
    assert.ok(names.length >= 5, `district labels drawn: ${names}`);
    assert.ok(names.every((n) => /区|县|市/.test(n)), `district names: ${names}`);
    assert.equal(await page.locator('.map-label').count(), 0, 'no HTML label markers');
    await context.close();
  });

  test('toggling a layer (from the keyboard) changes what is requested and drawn', async () => {
    const { context, page, rec } = await openPage();
    await gotoMap(page);
    const before = await mapPixels(page);
    assert.equal(tileRequests(rec, 'vacancies').length, 0, 'vacancies requested while off');

    const n = await idleCount(page);
    const from = rec.responses.length;
    await page.focus('#layer-vacancies');
    await page.keyboard.press('Space');
    assert.equal(await page.isChecked('#layer-vacancies'), true);
    await settle(page, n);
    assertTilesAnswered(tileRequests(rec, 'vacancies', from), 'vacancies');
    const withVacancies = await mapPixels(page);
    const changed = await pixelDiff(page, before.png, withVacancies.png);
    assert.ok(changed > 0.005, `vacancies layer changed only ${(changed * 100).toFixed(2)}% of pixels`);
    const drawn = await page.evaluate(
      () => window.__talentmap.map.queryRenderedFeatures({ layers: ['vacancies-fill', 'vacancies-suppressed'] }).length,
    );
    assert.ok(drawn > 0, 'no vacancy cells drawn');
    assert.match(await page.evaluate(() => location.hash), /layers=[^&]*vacancies/);
    // Its legend appears, with the suppressed class.
    assert.match(await page.textContent('.layer[data-layer="vacancies"] .legend'), /已隐藏/);
    await shot(page, 'web-vacancies.png');

    const n2 = await idleCount(page);
    await page.click('label:has(#layer-talents)');
    await settle(page, n2);
    const withoutTalents = await mapPixels(page);
    const changed2 = await pixelDiff(page, withVacancies.png, withoutTalents.png);
    assert.ok(changed2 > 0.01, `hiding talents changed only ${(changed2 * 100).toFixed(2)}% of pixels`);
    assert.deepEqual(rec.errors, []);
    await context.close();
  });

  test('changing a filter reloads the tiles with it and redraws', async () => {
    const { context, page, rec } = await openPage();
    await gotoMap(page);
    const taxonomy = await (await fetch(`${base}/api/taxonomy`)).json();
    const before = await mapPixels(page);
    const field = taxonomy.fields.some((f) => f.code === '0812') ? '0812' : taxonomy.fields[0].code;

    const n = await idleCount(page);
    const from = rec.responses.length;
    await page.selectOption('#f-field', field);
    await settle(page, n);
    const talents = tileRequests(rec, 'talents', from);
    assertTilesAnswered(talents, 'filtered talents');
    assert.ok(
      talents.every((r) => new URL(r.url).searchParams.get('field') === field),
      'talent tiles carry the field filter',
    );
    const after = await mapPixels(page);
    const changed = await pixelDiff(page, before.png, after.png);
    assert.ok(changed > 0.01, `filter changed only ${(changed * 100).toFixed(2)}% of pixels`);
    assert.match(await page.evaluate(() => location.hash), new RegExp(`field=${field}`));
    assert.equal(await page.isVisible('#filter-count'), true);

    // An education chip adds a second filter to the same requests.
    const n2 = await idleCount(page);
    const from2 = rec.responses.length;
    await page.click('label.chip:has(input[name="education"][value="master"])');
    await settle(page, n2);
    const again = tileRequests(rec, 'talents', from2);
    assert.ok(again.length > 0 && again.every((r) => new URL(r.url).searchParams.get('education') === 'master'));
    await shot(page, 'web-filter.png');

    // Clearing the filters goes back to unfiltered tiles.
    const n3 = await idleCount(page);
    const from3 = rec.responses.length;
    await page.click('#reset-filters');
    await settle(page, n3);
    assert.ok(tileRequests(rec, 'talents', from3).every((r) => !new URL(r.url).search));
    assert.deepEqual(rec.errors, []);
    await context.close();
  });

  test('clicking a cluster zooms in and shows its numbers', async () => {
    const { context, page, rec } = await openPage();
    await gotoMap(page, 'layers=enterprises');
    const target = await page.evaluate(() => {
      const m = window.__talentmap.map;
      const feats = m.queryRenderedFeatures({ layers: ['enterprise-clusters'] });
      const { width, height } = m.getCanvas().getBoundingClientRect();
      const inside = feats
        .map((f) => ({ f, p: m.project(f.geometry.coordinates) }))
        .filter(({ p }) => p.x > 40 && p.y > 40 && p.x < width - 60 && p.y < height - 40);
      inside.sort((a, b) => b.f.properties.count - a.f.properties.count);
      const best = inside[0];
      return best ? { x: best.p.x, y: best.p.y, count: best.f.properties.count, zoom: m.getZoom() } : null;
    });
    assert.ok(target, 'no enterprise cluster on screen');
    const box = await page.locator('#map').boundingBox();
    const n = await idleCount(page);
    await page.mouse.click(box.x + target.x, box.y + target.y);
    await page.waitForSelector('.maplibregl-popup', { timeout: 10_000 });
    await settle(page, n);
    const zoom = await page.evaluate(() => window.__talentmap.map.getZoom());
    assert.ok(zoom > target.zoom + 0.5, `zoom ${zoom} not greater than ${target.zoom}`);
    const text = await page.textContent('.maplibregl-popup');
    assert.match(text, /家企业/);
    assert.match(await page.evaluate(() => location.hash), new RegExp(`map=${zoom.toFixed(2)}/`));
    await shot(page, 'web-cluster-zoom.png');
    assert.deepEqual(rec.errors, []);
    await context.close();
  });

  test('enterprise search flies to the enterprise and opens its popup', async () => {
    const { context, page, rec } = await openPage();
    await gotoMap(page);
    const list = await (await fetch(`${base}/api/enterprises?limit=50`)).json();
    const pick = list.features.find((f) => f.properties.key) || list.features[0];
    assert.ok(pick, 'no enterprise in the demo city');
    const name = pick.properties.name;

    await page.focus('#search');
    await page.keyboard.type(name);
    await page.waitForSelector('#search-results li[data-index]', { timeout: 10_000 });
    const n = await idleCount(page);
    await page.keyboard.press('Enter');
    await page.waitForSelector('.maplibregl-popup', { timeout: 20_000 });
    await settle(page, n);
    const view = await page.evaluate(() => {
      const m = window.__talentmap.map;
      return { zoom: m.getZoom(), center: m.getCenter().toArray() };
    });
    assert.ok(view.zoom >= 14.9, `zoom ${view.zoom}`);
    const [lng, lat] = pick.geometry.coordinates;
    assert.ok(Math.abs(view.center[0] - lng) < 0.001 && Math.abs(view.center[1] - lat) < 0.001, 'centred on the enterprise');
    assert.ok((await page.textContent('.maplibregl-popup')).includes(name));
    // At this zoom the enterprise is drawn as a single point.
    const points = await page.evaluate(() => window.__talentmap.map.queryRenderedFeatures({ layers: ['enterprise-points'] }).length);
    assert.ok(points > 0, 'no single enterprise points at high zoom');
    await shot(page, 'web-search.png');
    assert.deepEqual(rec.errors, []);
    await context.close();
  });

  test('clicking a district opens the region panel with tables and a chart', async () => {
    const { context, page, rec } = await openPage();
    await gotoMap(page, 'layers=regions');
    const target = await page.evaluate(() => {
      const m = window.__talentmap.map;
      const c = m.getCanvas().getBoundingClientRect();
      for (const label of m.queryRenderedFeatures({ layers: ['district-labels'] })) {
        const at = m.project(label.geometry.coordinates);
        const p = { x: at.x, y: at.y + 20 };
        if (p.x < 40 || p.y < 40 || p.x > c.width - 60 || p.y > c.height - 40) continue;
        const f = m.queryRenderedFeatures([p.x, p.y], { layers: ['base-districts-fill'] })[0];
        if (f) return { ...p, id: String(f.properties.id), name: f.properties.name };
      }
      return null;
    });
    assert.ok(target, 'no district on screen');
    const box = await page.locator('#map').boundingBox();
    await page.mouse.click(box.x + target.x, box.y + target.y);
    await page.waitForSelector('#details:not([hidden]) table', { timeout: 15_000 });
    const title = await page.textContent('#details-title');
    assert.ok(title.length > 0);
    assert.ok((await page.locator('#details table').count()) >= 2, 'supply/demand tables');
    assert.ok((await page.locator('#details svg.chart rect').count()) > 2, 'chart bars');
    await shot(page, 'web-region-panel.png');
    // The panel has the keyboard focus; Escape closes it and gives the focus back to the map.
    assert.equal(await page.evaluate(() => document.getElementById('details').contains(document.activeElement)), true);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.getElementById('details').contains(document.activeElement)), true, 'Tab stays in the panel');
    await page.keyboard.press('Escape');
    assert.equal(await page.isHidden('#details'), true, 'Escape closes the panel');
    assert.equal(await page.evaluate(() => document.activeElement === window.__talentmap.map.getCanvas()), true, 'focus back on the map');
    assert.deepEqual(rec.errors, []);
    await context.close();
  });

  test('the language switch changes the UI text and number format', async () => {
    const { context, page, rec } = await openPage();
    await gotoMap(page);
    assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
    assert.equal(await page.textContent('.layer[data-layer="talents"] .layer-name'), '人才密度');
    await page.click('#lang');
    assert.equal(await page.textContent('h1'), 'Industry–Talent Map');
    assert.equal(await page.textContent('.layer[data-layer="talents"] .layer-name'), 'Talent density');
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.match(await page.textContent('.layer[data-layer="talents"] .legend'), /perturbed/);
    assert.equal(await page.getAttribute('#search', 'placeholder'), 'Search enterprises…');
    assert.match(await page.evaluate(() => location.hash), /lang=en/);
    await settle(page);
    // District names on the map are drawn in English from the data's name_en.
    const districtNames = () =>
      page.evaluate(() =>
        window.__talentmap.map.queryRenderedFeatures({ layers: ['district-labels'] }).map((f) => f.properties.name_en ?? f.properties.name),
      );
    const labelText = () =>
      page.evaluate(() => JSON.stringify(window.__talentmap.map.getLayoutProperty('district-labels', 'text-field')));
    assert.match(await labelText(), /name_en/);
    const english = await districtNames();
    assert.ok(english.includes('Lixia District'), `English district labels: ${english}`);
    await shot(page, 'web-en.png');
    await page.click('#lang');
    assert.equal(await page.textContent('h1'), '人才产业地图');
    assert.doesNotMatch(await labelText(), /name_en/);
    assert.deepEqual(rec.errors, []);
    await context.close();
  });

  test('the URL hash round-trips centre, zoom, layers, statistic, filters and language', async () => {
    const { context, page, rec } = await openPage();
    await gotoMap(page);
    const centre = await page.evaluate(() => window.__talentmap.map.getCenter().toArray());
    const hash = `map=11.25/${centre[1].toFixed(5)}/${centre[0].toFixed(5)}&layers=vacancies,regions&stat=ratio&field=0812&education=master,doctorate&min_age=25&max_age=34&seeking=true&lang=en`;
    await gotoMap(page, hash);
    // Same document, new hash: applied by the hashchange handler. Reload to
    // apply it from scratch, as a shared link would be.
    await page.reload({ waitUntil: 'domcontentloaded' });
    await page.waitForFunction(() => window.__talentmap && window.__talentmap.firstIdleMs !== null, null, { timeout: 60_000 });
    await settle(page);

    const check = async () => {
      const s = await page.evaluate(() => {
        const m = window.__talentmap.map;
        return { zoom: m.getZoom(), center: m.getCenter().toArray() };
      });
      assert.ok(Math.abs(s.zoom - 11.25) < 0.01, `zoom ${s.zoom}`);
      assert.ok(Math.abs(s.center[0] - centre[0]) < 1e-4 && Math.abs(s.center[1] - centre[1]) < 1e-4, 'centre');
      assert.equal(await page.isChecked('#layer-vacancies'), true);
      assert.equal(await page.isChecked('#layer-regions'), true);
      assert.equal(await page.isChecked('#layer-talents'), false);
      assert.equal(await page.isChecked('#layer-enterprises'), false);
      assert.equal(await page.inputValue('#region-stat'), 'ratio');
      assert.equal(await page.inputValue('#f-field'), '0812');
      assert.equal(await page.isChecked('input[name="education"][value="master"]'), true);
      assert.equal(await page.isChecked('input[name="education"][value="doctorate"]'), true);
      assert.equal(await page.isChecked('input[name="education"][value="bachelor"]'), false);
      assert.equal(await page.inputValue('#f-age'), '1');
      assert.equal(await page.inputValue('#f-seeking'), 'true');
      assert.equal(await page.textContent('h1'), 'Industry–Talent Map');
    };
    await check();
    const from = 0;
    const vac = tileRequests(rec, 'vacancies', from).filter((r) => new URL(r.url).searchParams.get('field') === '0812');
    assertTilesAnswered(vac, 'vacancies with the field filter');
    // Region tiles do not depend on the talent filters: TileJSON advertises them without a query, so one
    // cached tile serves every filter state.
    const reg = tileRequests(rec, 'regions', from);
    assert.ok(reg.length > 0, 'region tiles requested');
    assert.ok(reg.every((r) => new URL(r.url).search === ''), 'region tiles carry no filter query');
    assert.equal(tileRequests(rec, 'talents').filter((r) => r.url.includes('field=0812')).length, 0, 'hidden talents layer not requested');
    await shot(page, 'web-url-state.png');

    // The page writes back the same state it read.
    const written = await page.evaluate(() => location.hash);
    for (const part of hash.split('&')) assert.ok(written.includes(part), `${part} missing from ${written}`);

    // Move the map, reload: the new view comes back.
    await page.evaluate(() => window.__talentmap.map.jumpTo({ zoom: 12.5 }));
    await page.waitForFunction(() => location.hash.includes('map=12.50/'));
    await page.reload({ waitUntil: 'domcontentloaded' });
    await page.waitForFunction(() => window.__talentmap && window.__talentmap.firstIdleMs !== null, null, { timeout: 60_000 });
    assert.ok(Math.abs((await page.evaluate(() => window.__talentmap.map.getZoom())) - 12.5) < 0.01);

    // A link pasted in while the map ends a move: the new hash is applied, not
    // written over with the old view before its `hashchange` runs.
    const pasted = `map=13.00/${centre[1].toFixed(5)}/${centre[0].toFixed(5)}&layers=regions`;
    const kept = await page.evaluate((h) => {
      window.location.hash = h;
      window.__talentmap.map.fire('moveend');
      return window.location.hash;
    }, pasted);
    assert.equal(kept, `#${pasted}`, 'the pasted hash survives a move ending before its hashchange');
    await page.waitForFunction(() => Math.abs(window.__talentmap.map.getZoom() - 13) < 0.01);
    assert.equal(await page.isChecked('#layer-vacancies'), false);
    assert.deepEqual(rec.errors, []);
    await context.close();
  });

  test('station names are map symbols from zoom 13', async () => {
    const { context, page, rec } = await openPage();
    // Station tiles load from zoom 9 (the layers' first zoom): start in the centre at 11.
    await gotoMap(page, 'map=11.00/36.66000/117.02000&layers=talents');
    const station = await page.evaluate(() => {
      const m = window.__talentmap.map;
      const f = m.querySourceFeatures('stations', { sourceLayer: 'stations', filter: ['==', ['get', 'mode'], 'metro'] })[0];
      return f && { at: f.geometry.coordinates, name: f.properties.name, name_en: f.properties.name_en };
    });
    assert.ok(station, 'a metro station in the loaded tiles');
    const n = await idleCount(page);
    await page.evaluate((at) => window.__talentmap.map.jumpTo({ center: at, zoom: 14.5 }), station.at);
    await settle(page, n);
    const names = await page.evaluate(() =>
      window.__talentmap.map.queryRenderedFeatures({ layers: ['station-labels'] }).map((f) => f.properties.name),
    );
    assert.ok(names.includes(station.name), `${station.name} among ${names}`);
    // In English the same symbols show the station's English name.
    await page.click('#lang');
    const text = await page.evaluate(() => window.__talentmap.map.getLayoutProperty('station-labels', 'text-field'));
    assert.deepEqual(text, ['coalesce', ['get', 'name_en'], ['get', 'name']]);
    assert.ok(station.name_en && /^[A-Za-z0-9 '’ü-]+$/.test(station.name_en), `English station name ${station.name_en}`);
    assert.deepEqual(rec.errors, []);
    await context.close();
  });

  test('presentation: the map alone with title, legends, north arrow, scale and sources; print keeps the frame', async () => {
    const { context, page, rec } = await openPage();
    await gotoMap(page);
    const before = (await page.locator('#map').boundingBox()).width;
    const n = await idleCount(page);
    // From the keyboard: focus the button, press Enter.
    await page.focus('#present');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.body.classList.contains('presenting'));
    await settle(page, n);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'frame-close', 'the frame takes the focus');
    assert.equal(await page.isVisible('#sidebar'), false, 'the panel is hidden');
    assert.equal(await page.isVisible('header.topbar'), false, 'the header is hidden');
    const after = (await page.locator('#map').boundingBox()).width;
    assert.ok(after > before + 200, `the map fills the screen: ${before} -> ${after}`);
    assert.equal(await page.textContent('.frame-title'), '人才产业地图');
    const layers = await page.textContent('.frame-layers');
    assert.ok(layers.includes('人才密度') && layers.includes('企业'), layers);
    assert.ok((await page.locator('.frame-legend section').count()) >= 2, 'a legend per layer on');
    assert.ok((await page.locator('.frame-legend .swatch').count()) >= 4, 'legend swatches');
    assert.equal(await page.isVisible('.frame-north'), true, 'north arrow');
    assert.equal(await page.isVisible('.maplibregl-ctrl-scale'), true, 'scale bar');
    const stats = await (await fetch(`${base}/api/stats`)).json();
    assert.ok((await page.textContent('.frame-source')).includes(`数据版本 ${stats.version}`));
    await shot(page, 'web-present.png');
    // Printed: the same frame without the buttons.
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.isVisible('.frame-head'), true);
    assert.equal(await page.isVisible('#frame-print'), false);
    await page.emulateMedia({ media: 'screen' });
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !document.body.classList.contains('presenting'));
    assert.equal(await page.isVisible('#sidebar'), true, 'Escape brings the panel back');
    assert.equal(await page.isVisible('#frame'), false);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'present', 'focus back on the Present button');
    assert.deepEqual(rec.errors, []);
    await context.close();
  });

  test('layout fits a laptop and a big screen', async () => {
    for (const [name, viewport] of [
      ['web-laptop.png', { width: 1366, height: 768 }],
      ['web-bigscreen.png', { width: 1920, height: 1080 }],
      ['web-wall-4k.png', { width: 3840, height: 2160 }],
      ['web-narrow.png', { width: 800, height: 900 }],
    ]) {
      const { context, page, rec } = await openPage({ viewport });
      await gotoMap(page);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
      assert.equal(overflow, false, `${name}: horizontal overflow`);
      const mapBox = await page.locator('#map').boundingBox();
      assert.ok(mapBox.width > viewport.width * 0.5 && mapBox.height > viewport.height * 0.6, `${name}: map too small`);
      // Text is readable at the screen's size: on a 4K wall the header title is
      // at least 40 device pixels high and map labels at least twice the laptop size.
      const sizes = await page.evaluate(() => {
        const h1 = document.querySelector('h1');
        const zoom = Number.parseFloat(getComputedStyle(document.querySelector('.topbar')).zoom || '1');
        return {
          title: Number.parseFloat(getComputedStyle(h1).fontSize) * zoom,
          label: window.__talentmap.map.getLayoutProperty('district-labels', 'text-size'),
        };
      });
      if (viewport.width >= 3200) {
        assert.ok(sizes.title >= 36, `${name}: title ${sizes.title}px`);
        assert.ok(sizes.label >= 26, `${name}: district labels ${sizes.label}px`);
      } else {
        assert.ok(sizes.title >= 16 && sizes.label >= 13, `${name}: ${JSON.stringify(sizes)}`);
      }
      await shot(page, name);
      assert.deepEqual(rec.errors, []);
      await context.close();
    }
  });
});

// ---------- analysis views ----------

const apiResponses = (rec, path, from = 0) => rec.responses.slice(from).filter((r) => new URL(r.url).pathname === path);

function assertApi(rec, path, from) {
  const list = apiResponses(rec, path, from);
  assert.ok(list.length > 0, `${path} not requested`);
  assert.ok(list.every((r) => r.status === 200), `${path} answered ${list.map((r) => r.status)}`);
}

/** Clicks a list row (button `sel`) and checks the map flew so that [lon, lat] is in view. */
async function rowFliesTo(page, sel, at) {
  const before = await page.evaluate(() => window.__talentmap.map.getCenter().toArray());
  const n = await idleCount(page);
  await page.click(sel);
  await page.waitForFunction(() => window.__talentmap.map.isMoving(), null, { timeout: 5_000 }).catch(() => {});
  await settle(page, n);
  const view = await page.evaluate(([lon, lat]) => {
    const m = window.__talentmap.map;
    return { center: m.getCenter().toArray(), inside: m.getBounds().contains([lon, lat]), zoom: m.getZoom() };
  }, at);
  const moved = Math.hypot(view.center[0] - before[0], view.center[1] - before[1]);
  assert.ok(moved > 0.005, `the map did not move (${moved})`);
  assert.ok(view.inside, `the area ${at} is not in view after the fly`);
  return view;
}

describe('briefing', () => {
  test('the page opens on the briefing; a card flies to its finding and opens the view that shows it', async () => {
    const { context, page, rec } = await openPage();
    await gotoMap(page, '');
    await page.waitForSelector('#details:not([hidden]) .brief-card', { timeout: 60_000 });
    assertApi(rec, '/api/briefing');
    const api = await (await fetch(`${base}/api/briefing?lang=zh`)).json();
    assert.equal(await page.locator('.brief-number').count(), 5, 'five headline numbers');
    assert.equal(await page.locator('.brief-card').count(), api.items.length, 'a card per finding');
    const shortage = api.items.find((it) => it.kind === 'shortage' && it.rank === 1);
    assert.ok(shortage, 'the demo city has a shortage finding');
    assert.equal(await page.textContent('.brief-kind[data-kind="shortage"] .brief-card strong'), shortage.title);
    assert.match(await page.textContent('#details-eyebrow, .details-head .eyebrow'), new RegExp(api.month));
    await shot(page, 'web-briefing.png');
    // No workbook download for the public (an export); Print lays the brief out for paper.
    assert.equal(await page.locator('#brief-xlsx').count(), 0);
    await page.evaluate(() => {
      window.print = () => {
        window.__printed = true;
      };
    });
    await page.click('#brief-print');
    assert.equal(await page.evaluate(() => window.__printed === true && document.body.classList.contains('brief-print')), true);
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.isVisible('#details .brief-card'), true, 'the briefing is printed');
    assert.equal(await page.isVisible('.frame-head'), true, 'with the framed map');
    assert.equal(await page.isVisible('#sidebar'), false);
    assert.equal(await page.isVisible('#brief-print'), false, 'without its buttons');
    await shot(page, 'web-briefing-print.png');
    await page.emulateMedia({ media: 'screen' });
    await page.evaluate(() => window.dispatchEvent(new Event('afterprint')));

    // The first shortage card: the map flies to the area, the shortage view opens with that field, other data layers go off.
    const n = await idleCount(page);
    await page.click('.brief-kind[data-kind="shortage"] .brief-card');
    await page.waitForFunction((f) => location.hash.includes(`view=shortage`) && location.hash.includes(`sfield=${f}`), shortage.numbers.field);
    await page.waitForSelector('#shortage-ranking tbody tr', { timeout: 60_000 });
    await settle(page, n);
    const [, zoom, lat, lon] = /#map=([\d.]+)\/([\d.-]+)\/([\d.-]+)/.exec(shortage.link).map(Number);
    const view = await page.evaluate(() => {
      const m = window.__talentmap.map;
      return { center: m.getCenter().toArray(), zoom: m.getZoom() };
    });
    assert.ok(Math.abs(view.center[0] - lon) < 0.01 && Math.abs(view.center[1] - lat) < 0.01, `centre ${view.center} vs ${lon},${lat}`);
    assert.ok(Math.abs(view.zoom - zoom) < 0.05, `zoom ${view.zoom}`);
    for (const layer of ['talents', 'vacancies', 'regions']) {
      assert.equal(await page.locator(`.layer[data-layer="${layer}"].on`).count(), 0, `${layer} is off`);
    }
    assert.equal(await page.inputValue('#shortage-field'), shortage.numbers.field);
    // The panel explains the finding's own area.
    await page.waitForSelector('#shortage-explain dl', { timeout: 20_000 });
    assert.ok((await page.textContent('#shortage-explain h3')).includes(shortage.area_name), 'the explanation is of the area');

    // Back to the briefing from the header, in English.
    await page.click('#brief');
    await page.waitForSelector('#details .brief-card');
    await page.click('#lang');
    const en = await (await fetch(`${base}/api/briefing?lang=en`)).json();
    const title = en.items.find((it) => it.kind === 'shortage' && it.rank === 1).title;
    await page.waitForFunction((t) => document.querySelector('.brief-kind[data-kind="shortage"] .brief-card strong')?.textContent === t, title);
    assert.deepEqual(rec.errors, []);
    await context.close();
  });

  test('wall mode cycles through the findings and follows a new data version without reloading', async () => {
    const { context, page, rec } = await openPage({ viewport: { width: 1920, height: 1080 } });
    let bump = 0;
    await page.route('**/health', async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      body.version += bump;
      await route.fulfill({ response: res, json: body });
    });
    await page.goto(`${base}/?wall=3`, { waitUntil: 'domcontentloaded' });
    await page.waitForFunction(() => window.__talentmap?.wall?.shown >= 1, null, { timeout: 60_000 });
    await page.evaluate(() => {
      window.__sameDocument = true;
    });
    assert.equal(await page.evaluate(() => document.body.classList.contains('wall')), true);
    assert.equal(await page.isVisible('#wall-card'), true);
    assert.equal(await page.isVisible('#sidebar'), false);
    assert.equal(await page.isVisible('header.topbar'), false);
    assert.equal(await page.locator('#wall-card .brief-number').count(), 5, 'the headline above the finding');
    const first = await page.evaluate(() => window.__talentmap.wall.current);
    await page.waitForFunction((f) => window.__talentmap.wall.current !== f, first, { timeout: 20_000 });
    await shot(page, 'web-wall.png');
    // The next data version brings a new briefing, without a reload.
    const refreshed = await page.evaluate(() => window.__talentmap.wall.refreshed);
    bump = 1;
    await page.waitForFunction((r) => window.__talentmap.wall.refreshed > r, refreshed, { timeout: 20_000 });
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was not reloaded');
    assert.deepEqual(rec.errors, []);
    await context.close();
  });
});

describe('analysis views', () => {
  test('shortage view: tiles, ranking, explanation and fly-to', async () => {
    const { context, page, rec } = await openPage();
    await gotoMap(page, 'layers=enterprises');
    const before = await mapPixels(page);
    const from = rec.responses.length;
    await page.focus('#view-shortage');
    await page.keyboard.press('Space');
    await page.waitForSelector('#shortage-ranking tbody tr', { timeout: 60_000 });
    await settle(page);
    const field = await page.inputValue('#shortage-field');
    assert.match(field, /^\d{4}$/);
    const tiles = tileRequests(rec, 'shortage', from);
    assertTilesAnswered(tiles, 'shortage');
    assert.ok(tiles.every((r) => new URL(r.url).searchParams.get('field') === field), 'shortage tiles carry the field');
    assertApi(rec, '/api/shortage', from);
    const after = await mapPixels(page);
    const changed = await pixelDiff(page, before.png, after.png);
    assert.ok(changed > 0.01, `shortage view changed only ${(changed * 100).toFixed(2)}% of pixels`);
    assert.match(await page.evaluate(() => location.hash), new RegExp(`view=shortage&sfield=${field}`));
    assert.match(await page.textContent('.layer[data-view="shortage"] .legend'), /数据不足/);
    const drawn = await page.evaluate(() => window.__talentmap.map.queryRenderedFeatures({ layers: ['shortage-fill'] }).length);
    assert.ok(drawn > 0, 'no shortage cells drawn');

    // Hiring difficulty beside the index: the same numbers the API gives for each district.
    assertApi(rec, '/api/shortage/hiring', from);
    const hiring = await (await fetch(`${base}/api/shortage/hiring?field=${field}&by=district`)).json();
    const shown = await page.$$eval('#shortage-ranking tbody tr', (trs) =>
      trs.map((tr) => ({
        id: tr.querySelector('button').dataset.explain,
        days: tr.querySelector('.hiring-days').textContent,
        long: tr.querySelector('.hiring-long').textContent,
      })),
    );
    assert.ok(shown.length > 0);
    for (const row of shown) {
      const h = hiring.items.find((r) => r.id === row.id);
      assert.ok(h, `hiring row for ${row.id}`);
      assert.equal(row.days, h.median_days_to_fill === null ? '–' : String(h.median_days_to_fill), `days to fill of ${row.id}`);
      if (h.share_open_long !== null) assert.match(row.long, /%$/);
    }
    assert.ok(shown.some((r) => r.days !== '–'), 'some district has a median');
    assert.match(await page.textContent('#hiring-note'), /90/);

    // The first row flies to the area and explains its index.
    const row = await page.$eval('#shortage-ranking tbody tr:first-child button', (b) => [Number(b.dataset.lon), Number(b.dataset.lat)]);
    await rowFliesTo(page, '#shortage-ranking tbody tr:first-child button', row);
    await page.waitForSelector('#shortage-explain dl', { timeout: 20_000 });
    const explain = await page.textContent('#shortage-explain');
    for (const word of ['岗位需求', '求职人才', '全市岗位/求职比', '先验', '可信区间', '通勤圈有效供给']) assert.ok(explain.includes(word), `${word} missing`);
    assert.ok((await page.locator('#shortage-explain table tbody tr').count()) > 0, 'top enterprises');
    assertApi(rec, '/api/shortage/explain', from);
    await shot(page, 'web-view-shortage.png');

    // Parks instead of districts.
    await page.selectOption('#shortage-by', 'park');
    await page.waitForFunction(() => location.hash.includes('sby=park'));
    await page.waitForSelector('#details-title');
    assert.ok(apiResponses(rec, '/api/shortage', from).some((r) => r.url.includes('by=park')));
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(rec.failed, []);
    await context.close();
  });

  test('commute view: park heat, indicators, underserved fly-to and a station scenario', async () => {
    const { context, page, rec } = await openPage();
    await gotoMap(page, 'layers=enterprises');
    const regions = await (await fetch(`${base}/api/regions`)).json();
    const centre = new Map(regions.features.map((f) => [String(f.properties.id ?? f.id), f.properties.centre]));
    const before = await mapPixels(page);
    const from = rec.responses.length;
    await page.click('label:has(#view-commute)');
    await page.waitForSelector('#underserved-list tbody tr', { timeout: 60_000 });
    assertApi(rec, '/api/commute/underserved', from);
    assertApi(rec, '/api/commute/flows', from);

    const park = await page.$eval('#underserved-list tbody tr:first-child button', (b) => b.dataset.park);
    const n = await idleCount(page);
    await page.selectOption('#commute-park', park);
    await page.waitForFunction(() => document.querySelectorAll('#details .chart-section svg rect').length > 5, null, { timeout: 20_000 });
    await settle(page, n);
    assertApi(rec, '/api/commute/summary', from);
    const tiles = tileRequests(rec, 'commute', from);
    assertTilesAnswered(tiles, 'commute');
    assert.ok(tiles.every((r) => new URL(r.url).searchParams.get('work_area') === park));
    const text = await page.textContent('#details');
    for (const word of ['通勤距离中位数', '5 公里以内', '超过 20 公里', '住处近轨道站', '职住比', '35 岁及以下占比']) assert.ok(text.includes(word), `${word} missing`);
    assert.match(text, /\d+(\.\d+)? km/);
    const after = await mapPixels(page);
    const changed = await pixelDiff(page, before.png, after.png);
    assert.ok(changed > 0.01, `commute view changed only ${(changed * 100).toFixed(2)}% of pixels`);
    assert.match(await page.evaluate(() => location.hash), new RegExp(`view=commute&park=${park}`));
    await shot(page, 'web-view-commute.png');

    // An underserved row flies to its park.
    const second = await page.$eval('#underserved-list tbody tr:nth-child(2) button', (b) => b.dataset.park);
    await rowFliesTo(page, '#underserved-list tbody tr:nth-child(2) button', centre.get(second));
    await page.waitForFunction((id) => location.hash.includes(`park=${id}`), second);

    // Scenario: a station at the most underserved park changes the ranking.
    await rowFliesTo(page, '#underserved-list tbody tr:first-child button', centre.get(park));
    await page.click('#scenario-place');
    assert.equal(await page.getAttribute('#scenario-place', 'aria-pressed'), 'true');
    const pt = await page.evaluate((c) => window.__talentmap.map.project(c), centre.get(park));
    const box = await page.locator('#map').boundingBox();
    await page.mouse.click(box.x + pt.x, box.y + pt.y);
    await page.waitForSelector('.station-list li');
    await page.click('#scenario-run');
    await page.waitForSelector('#scenario-result tbody tr', { timeout: 20_000 });
    const post = rec.responses.filter((r) => new URL(r.url).pathname === '/api/commute/scenario');
    assert.ok(post.length === 1 && post[0].status === 200, 'scenario answered');
    assert.ok((await page.locator('#scenario-result tr.changed').count()) > 0, 'the ranking did not change');
    const moved = await page.$eval('#scenario-result tr.changed', (tr) => tr.textContent);
    assert.match(moved, /→/);
    const stations = await page.evaluate(() => window.__talentmap.map.queryRenderedFeatures({ layers: ['scenario-stations'] }).length);
    assert.ok(stations > 0, 'hypothetical station drawn');
    await shot(page, 'web-view-commute-scenario.png');
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(rec.failed, []);
    await context.close();
  });

  test('flow view: arcs, alert list flies to the area, monthly chart', async () => {
    const { context, page, rec } = await openPage();
    await gotoMap(page, 'layers=enterprises');
    const before = await mapPixels(page);
    const from = rec.responses.length;
    const n = await idleCount(page);
    await page.click('label:has(#view-flows)');
    await page.waitForSelector('#flows-alerts tbody tr', { timeout: 60_000 });
    await settle(page, n);
    assertApi(rec, '/api/flows/od', from);
    assertApi(rec, '/api/flows/alerts', from);
    const arcs = await page.evaluate(() => window.__talentmap.map.queryRenderedFeatures({ layers: ['flows-arcs'] }).length);
    assert.ok(arcs > 0, 'no flow arcs drawn');
    const after = await mapPixels(page);
    const changed = await pixelDiff(page, before.png, after.png);
    assert.ok(changed > 0.003, `flow view changed only ${(changed * 100).toFixed(2)}% of pixels`);
    const month = await page.inputValue('#flows-month');
    assert.match(month, /^\d{4}-\d{2}$/);

    const at = await page.$eval('#flows-alerts tbody tr:first-child button', (b) => [Number(b.dataset.lon), Number(b.dataset.lat), b.dataset.farea]);
    await rowFliesTo(page, '#flows-alerts tbody tr:first-child button', at.slice(0, 2));
    await page.waitForFunction(() => document.querySelectorAll('#flows-series svg.series-chart rect').length > 5, null, { timeout: 20_000 });
    assertApi(rec, '/api/flows/series', from);
    assert.match(await page.evaluate(() => location.hash), new RegExp(`view=flows&farea=${at[2]}`));
    assert.match(await page.textContent('#details'), /流入/);
    await shot(page, 'web-view-flows.png');

    // The state comes back from the URL.
    await page.reload({ waitUntil: 'domcontentloaded' });
    await page.waitForFunction(() => document.querySelectorAll('#flows-series svg.series-chart rect').length > 5, null, { timeout: 60_000 });
    assert.equal(await page.isChecked('#view-flows'), true);
    assert.equal(await page.inputValue('#flows-area'), at[2]);
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(rec.failed, []);
    await context.close();
  });
});

// ---------- access control ----------

const ANALYST = { name: 'ana', password: 'correct horse battery' };

/** Network errors the access-control tests expect (regexps on "message url"), for `unexpectedErrors`. */
const EXPECTED_REFUSALS = [
  // A wrong password or a lockout is answered 401 / 429, which Chromium logs.
  /Failed to load resource: .*(401|429).* \S+\/api\/session$/,
  // People tiles at the edge of the jurisdiction box but outside the jurisdiction.
  /Failed to load resource: .*403.* \S+\/tiles\/people\//,
];

describe('PMTiles archive', { skip: process.env.TALENTMAP_URL ? 'exports from the data directory of a server this test starts' : false }, () => {
  // `talentmap export pmtiles` writes the archive next to the page, as a
  // static host would hold it; the page reads it with range requests.
  const EXPORTS = join(DIST, 'exports');
  const NAME = 'talents-archive.pmtiles';

  test('a layer drawn from an exported archive: range requests, no tile route, same picture', async () => {
    await mkdir(EXPORTS, { recursive: true });
    try {
      const out = spawnSync(
        BIN,
        ['export', 'pmtiles', '--data', dataDir, '--layer', 'talents', '--maxzoom', '12', '--out', join(EXPORTS, NAME)],
        { encoding: 'utf8', env: { ...process.env, RUST_LOG: 'warn' } },
      );
      assert.equal(out.status, 0, out.stderr);
      const summary = JSON.parse(out.stdout);
      assert.ok(summary.tiles > 0, 'the archive holds tiles');
      const view = 'map=11.00/36.66000/117.05000&layers=talents';

      // The reference: the same view from the server's tiles.
      const ref = await openPage();
      await gotoMap(ref.page, view);
      const served = await mapPixels(ref.page);
      await ref.context.close();

      const { context, page, rec } = await openPage();
      await gotoMap(page, `${view}&archive=exports/${NAME}`);
      const state = await page.evaluate(() => ({
        archive: window.__talentmap.archive,
        archiveError: window.__talentmap.archiveError ?? null,
        mapErrors: window.__talentmap.errors,
        sourceUrl: window.__talentmap.map.getSource('talents').url,
        drawn: window.__talentmap.map.queryRenderedFeatures({ layers: ['talents-fill'] }).length,
      }));
      assert.equal(state.archiveError, null);
      assert.equal(state.archive.layer, 'talents');
      assert.match(state.sourceUrl, /^pmtiles:\/\/http:\/\/127\.0\.0\.1:\d+\/exports\/talents-archive\.pmtiles$/);
      assert.ok(state.drawn > 0, 'talent cells drawn from the archive');
      assert.deepEqual(rec.errors, [], 'console errors');
      assert.deepEqual(rec.failed, [], 'failed requests');
      assert.deepEqual(state.mapErrors, [], 'map errors');
      const reads = rec.responses.filter((r) => new URL(r.url).pathname === `/exports/${NAME}`);
      assert.ok(reads.length >= 1 && reads.every((r) => r.status === 206), `archive reads: ${JSON.stringify(reads)}`);
      assert.deepEqual(tileRequests(rec, 'talents'), [], 'no talent tiles from the server');
      assert.ok(!rec.responses.some((r) => r.url.includes('/tiles/talents.json')), 'no talent TileJSON from the server');
      const note = page.locator('#archive-note');
      assert.equal(await note.isVisible(), true);
      const text = await note.textContent();
      assert.ok(text.includes(NAME) && text.includes(String(summary.data_version)), text);

      // Same data version, same disclosure control: the same picture.
      const fromArchive = await mapPixels(page);
      const diff = await pixelDiff(page, served.png, fromArchive.png);
      assert.ok(diff < 0.02, `archive and server tiles differ on ${(diff * 100).toFixed(2)}% of pixels`);
      await shot(page, 'web-archive.png');

      // The archive was made for one query: a filter leaves it alone.
      const from = rec.responses.length;
      const n = await idleCount(page);
      await page.click('label.chip:has(input[name="education"][value="master"])');
      await settle(page, n);
      assert.deepEqual(tileRequests(rec, 'talents', from), []);
      assert.match(await page.evaluate(() => window.__talentmap.map.getSource('talents').url), /^pmtiles:/);
      assert.match(await page.evaluate(() => location.hash), /archive=exports\/talents-archive\.pmtiles/);
      await context.close();

      // A missing archive: the sidebar says so and the server's tiles are drawn.
      const missing = await openPage();
      await gotoMap(missing.page, `${view}&archive=exports/missing.pmtiles`);
      const why = await missing.page.evaluate(() => window.__talentmap.archiveError);
      assert.ok(why && why.includes('missing.pmtiles'), why);
      assert.equal(await missing.page.locator('#archive-note.error').isVisible(), true);
      assertTilesAnswered(tileRequests(missing.rec, 'talents'), 'talents after a missing archive');
      await missing.context.close();
    } finally {
      await rm(EXPORTS, { recursive: true, force: true });
    }
  });
});

describe('access control', { skip: process.env.TALENTMAP_URL ? 'needs a server this test starts (TALENTMAP_URL is set)' : false }, () => {
  let district; // the demo city's district with most talents: the analyst's jurisdiction
  let home; // [lon, lat] of a dense talent cell inside it

  before(async () => {
    const regions = await (await fetch(`${base}/api/regions?kind=district`)).json();
    const districts = regions.features.filter((f) => f.properties.kind === 'district');
    districts.sort((x, y) => (y.properties.talents ?? -1) - (x.properties.talents ?? -1));
    district = districts[0];
    assert.ok(district, 'no district in the demo city');
    cli(['users', 'add', ANALYST.name, '--role', 'analyst', '--area', String(district.properties.id), '--data', dataDir], `${ANALYST.password}\n`);

    // Where people live: the densest published talent cell whose centre lies in the district.
    const bbox = geometryBounds(district.geometry).join(',');
    const cells = await (await fetch(`${base}/api/aggregates?layer=talents&zoom=12&bbox=${bbox}`)).json();
    const centre = (f) => {
      const ring = f.geometry.coordinates[0];
      return [ring.reduce((sum, c) => sum + c[0], 0) / ring.length, ring.reduce((sum, c) => sum + c[1], 0) / ring.length];
    };
    const inside = cells.features
      .filter((f) => f.properties.count)
      .map((f) => ({ count: f.properties.count, at: centre(f) }))
      .filter(({ at }) => areaAt([district], at));
    inside.sort((x, y) => y.count - x.count);
    home = inside[0]?.at ?? district.properties.centre;
  });

  test('an analyst signs in, sees people in the district, opens a record and signs out', async () => {
    const { context, page, rec } = await openPage();
    await gotoMap(page);
    assert.equal(await page.isVisible('#signin-open'), true, 'sign-in control');
    assert.equal(await page.locator('#layer-people').count(), 0, 'People toggle before signing in');

    // A wrong password: the server's message in the form.
    await page.click('#signin-open');
    assert.equal(await page.isVisible('#signin-form'), true);
    const wrong = await submitSignIn(page, ANALYST.name, 'not the password at all');
    assert.equal(wrong.status, 401);
    await page.waitForSelector('#signin-error:not([hidden])');
    assert.equal(await page.textContent('#signin-error'), wrong.body.error.message);

    const right = await submitSignIn(page, ANALYST.name, ANALYST.password);
    assert.equal(right.status, 200);
    assert.equal(right.body.authenticated, true);
    await page.waitForSelector('#account-who:not([hidden])');
    assert.equal(await page.isHidden('#signin'), true, 'the form closes');
    assert.equal(await page.textContent('#account-who .who-id'), ANALYST.name);
    assert.equal(await page.textContent('#account-who .who-role'), '分析员');
    assert.equal(await page.textContent('#account-who .who-area'), district.properties.name);
    assert.equal(await page.isVisible('#signout'), true);
    const cookie = (await context.cookies()).find((c) => c.name === 'talentmap_session');
    assert.ok(cookie && cookie.httpOnly && cookie.sameSite === 'Strict', 'session cookie: HttpOnly, SameSite=Strict');

    // The toggle is there, but enabled only from zoom 15.
    assert.equal(await page.locator('#layer-people').count(), 1, 'People toggle for an analyst');
    assert.equal(await page.isDisabled('#layer-people'), true, 'People toggle disabled below zoom 15');
    assert.equal(await page.isVisible('#people-zoom-hint'), true, 'zoom hint');
    assert.equal(tileRequests(rec, 'people').length, 0, 'people tiles requested while off');

    await page.evaluate((at) => window.__talentmap.map.jumpTo({ center: at, zoom: 16 }), home);
    await settle(page);
    assert.equal(await page.isDisabled('#layer-people'), false, 'People toggle enabled at zoom 16');
    assert.equal(await page.isHidden('#people-zoom-hint'), true);

    const n = await idleCount(page);
    const from = rec.responses.length;
    await page.click('label:has(#layer-people)');
    await settle(page, n);
    const tiles = tileRequests(rec, 'people', from);
    assert.ok(tiles.length > 0, 'no people tile requests');
    assert.ok(tiles.every((r) => /\/tiles\/people\/1[5-8]\/\d+\/\d+\.mvt$/.test(new URL(r.url).pathname)), 'people tile URLs');
    assert.deepEqual(
      tiles.filter((r) => ![200, 204, 403].includes(r.status)),
      [],
      'people tiles answered other than 200, 204 or 403',
    );
    assert.ok(tiles.some((r) => r.status === 200), 'no people tile answered 200');
    const drawn = await page.evaluate(() => window.__talentmap.map.queryRenderedFeatures({ layers: ['people-points'] }).length);
    assert.ok(drawn > 0, 'no people drawn');
    assert.match(await page.evaluate(() => location.hash), /layers=[^&]*people/);
    await shot(page, 'web-people.png');

    // One person: the record in the side panel, with the audit notice.
    const target = await page.evaluate(() => {
      const m = window.__talentmap.map;
      const { width, height } = m.getCanvas().getBoundingClientRect();
      const hit = m
        .queryRenderedFeatures({ layers: ['people-points'] })
        .map((f) => ({ pid: f.properties.pid, p: m.project(f.geometry.coordinates) }))
        .find(({ p }) => p.x > 60 && p.y > 60 && p.x < width - 80 && p.y < height - 60);
      return hit ? { pid: hit.pid, x: hit.p.x, y: hit.p.y } : null;
    });
    assert.ok(target, 'no person on screen away from the edges');
    assert.match(target.pid, /^p[0-9a-f]{32}$/);
    const box = await page.locator('#map').boundingBox();
    const [person] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname.startsWith('/api/people/')),
      page.mouse.click(box.x + target.x, box.y + target.y),
    ]);
    assert.equal(person.status(), 200, `GET ${person.url()}`);
    const record = await person.json();
    await page.waitForSelector('#details:not([hidden]) .audit-notice');
    // Points can overlap: the panel shows the person the server answered for.
    assert.equal(await page.textContent('#details-title'), record.pid);
    assert.match(record.pid, /^p[0-9a-f]{32}$/);
    const panel = await page.textContent('#details');
    for (const word of ['此次查看已记入审计日志', '学科', '学历', '人才层次', '年龄段', '雇主', '居住区县', '流动记录']) {
      assert.ok(panel.includes(word), `${word} missing from the person's panel`);
    }
    if (record.age_band) assert.ok(panel.includes(record.age_band), 'age band');
    for (const m of record.moves) assert.ok(panel.includes(m.date), `move on ${m.date} missing`);
    await shot(page, 'web-person-panel.png');

    // Signing out takes the layer, the toggle and the record away.
    const [gone] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/api/session' && r.request().method() === 'DELETE'),
      page.click('#signout'),
    ]);
    assert.equal(gone.status(), 204);
    await page.waitForSelector('#signin-open:not([hidden])');
    assert.equal(await page.locator('#layer-people').count(), 0, 'People toggle after signing out');
    assert.equal(await page.isHidden('#account-who'), true);
    assert.equal(await page.isHidden('#details'), true, "the person's panel closes");
    assert.equal(await page.evaluate(() => Boolean(window.__talentmap.map.getLayer('people-points'))), false, 'people layer removed');
    assert.doesNotMatch(await page.evaluate(() => location.hash), /people/);
    const after = await page.evaluate(() => fetch('/api/session').then((r) => r.json()));
    assert.equal(after.authenticated, false);

    assert.deepEqual(unexpectedErrors(rec, EXPECTED_REFUSALS), [], 'console errors');
    assert.deepEqual(rec.failed, [], 'failed requests');
    assert.deepEqual(await page.evaluate(() => window.__talentmap.errors), [], 'map errors');
    await context.close();
  });

  test('a public visitor sees the sign-in control but no People toggle, even from a link', async () => {
    const { context, page, rec } = await openPage();
    await gotoMap(page, `map=16.00/${home[1].toFixed(5)}/${home[0].toFixed(5)}&layers=talents,people`);
    const session = await page.evaluate(() => fetch('/api/session').then((r) => r.json()));
    assert.equal(session.authenticated, false);
    assert.equal(session.principal.role, 'public');
    assert.equal(await page.isVisible('#signin-open'), true);
    assert.equal(await page.locator('#layer-people').count(), 0, 'People toggle for the public');
    assert.equal(tileRequests(rec, 'people').length, 0, 'people tiles requested for the public');
    assert.equal(await page.evaluate(() => Boolean(window.__talentmap.map.getLayer('people-points'))), false);
    assert.doesNotMatch(await page.evaluate(() => location.hash), /people/);

    // The server refuses the public too.
    const z = 16;
    const x = Math.floor(((home[0] + 180) / 360) * 2 ** z);
    const rad = (home[1] * Math.PI) / 180;
    const y = Math.floor(((1 - Math.log(Math.tan(rad) + 1 / Math.cos(rad)) / Math.PI) / 2) * 2 ** z);
    assert.equal((await fetch(`${base}/tiles/people/${z}/${x}/${y}.mvt`)).status, 401, 'people tile without a session');

    // The form opens and cancels; its texts follow the language.
    await page.click('#signin-open');
    assert.equal(await page.isVisible('#signin-form'), true);
    assert.equal(await page.textContent('#signin-h'), '登录');
    await shot(page, 'web-signin-form.png');
    await page.click('#lang');
    assert.equal(await page.textContent('#signin-h'), 'Sign in');
    assert.equal(await page.textContent('#signin-open'), 'Sign in');
    await page.click('#signin-cancel');
    assert.equal(await page.isHidden('#signin'), true);
    assert.deepEqual(rec.errors, [], 'console errors');
    await context.close();
  });

  test('a locked-out name: the form shows the server message (429)', async () => {
    const { context, page, rec } = await openPage();
    await gotoMap(page);
    // Failures for a name that does not exist count like a real one's.
    const name = 'no.such.user';
    let status = 0;
    for (let i = 0; i < 10 && status !== 429; i += 1) {
      const res = await fetch(`${base}/api/session`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: name, password: 'wrong password number one' }),
      });
      status = res.status;
      assert.ok([401, 429].includes(status), `sign-in answered ${status}`);
    }
    assert.equal(status, 429, 'no lockout after 10 failures');
    await page.click('#signin-open');
    const locked = await submitSignIn(page, name, 'wrong password number two');
    assert.equal(locked.status, 429);
    await page.waitForSelector('#signin-error:not([hidden])');
    assert.ok((await page.textContent('#signin-error')).startsWith(locked.body.error.message), 'the server message');
    assert.equal(await page.isVisible('#account-who'), false);
    await shot(page, 'web-signin-locked.png');
    assert.deepEqual(unexpectedErrors(rec, EXPECTED_REFUSALS), [], 'console errors');
    await context.close();
  });
});

describe('city basemap from a local file', { skip: process.env.TALENTMAP_URL ? 'starts its own server' : false }, () => {
  let city;

  before(async () => {
    city = await startServer({ web: DIST, extra: ['--basemap', join(ROOT, 'fixtures', 'basemap', 'jinan-test.pmtiles')], logName: 'server-basemap.log', name: 'second server' });
  });

  after(async () => {
    await city?.stop();
  });

  test('roads, water and place names from the basemap file are drawn beneath the data', async () => {
    const { context, page, rec } = await openPage();
    await page.goto(`${city.url}/#map=12.00/36.66000/117.02000&layers=talents`, { waitUntil: 'domcontentloaded' });
    await page.waitForFunction(() => window.__talentmap && window.__talentmap.firstIdleMs !== null, null, { timeout: 60_000 });
    await settle(page);
    const seen = await page.evaluate(() => {
      const m = window.__talentmap.map;
      const ids = m.getStyle().layers.map((l) => l.id);
      const count = (id) => m.queryRenderedFeatures({ layers: [id] }).length;
      return {
        order: { water: ids.indexOf('basemap-water'), roads: ids.indexOf('basemap-roads-major'), talents: ids.indexOf('talents-fill') },
        water: count('basemap-water'),
        roads: count('basemap-roads-major'),
        places: m.queryRenderedFeatures({ layers: ['basemap-places'] }).map((f) => f.properties['name:zh']),
        talents: count('talents-fill'),
      };
    });
    assert.ok(seen.order.water >= 0 && seen.order.water < seen.order.talents, `layer order ${JSON.stringify(seen.order)}`);
    assert.ok(seen.order.roads < seen.order.talents);
    assert.ok(seen.water > 0 && seen.roads > 0, `basemap drawn: ${JSON.stringify(seen)}`);
    assert.ok(seen.places.length > 0 && seen.places.every((n) => /区$/.test(n)), `place names: ${seen.places}`);
    assert.ok(seen.talents > 0, 'talent cells drawn over the basemap');
    const tiles = rec.responses.filter((r) => new URL(r.url).pathname.startsWith('/basemap/'));
    assert.ok(tiles.some((r) => r.status === 200), 'basemap tiles answered');
    assert.deepEqual(tiles.filter((r) => r.status !== 200 && r.status !== 204), []);
    assert.ok(rec.responses.some((r) => r.url.endsWith('/basemap.json') && r.status === 200));
    assert.deepEqual(rec.errors, [], 'console errors');
    await shot(page, 'web-basemap.png');
    await context.close();
  });
});

describe('access control: a server without public access', { skip: process.env.TALENTMAP_URL ? 'starts its own server' : false }, () => {
  let second;

  before(async () => {
    second = await startServer({ web: DIST, extra: ['--public', 'off'], logName: 'server-private.log', name: 'second server' });
    cli(['users', 'add', 'rita', '--role', 'recruiter', '--data', second.dir], 'a recruiter password\n');
  });

  after(async () => {
    await second?.stop();
  });

  test('the page shows the sign-in form instead of an empty map, and the map after signing in', async () => {
    const { context, page, rec } = await openPage();
    await page.goto(`${second.url}/`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#signin.gate:not([hidden])', { timeout: 30_000 });
    assert.equal(await page.isVisible('#signin-gate-note'), true);
    assert.equal(await page.isHidden('#signin-cancel'), true, 'nothing to cancel to');
    assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector('.layout')).visibility), 'hidden');
    assert.equal(await page.evaluate(() => Boolean(window.__talentmap.map)), false, 'no map without a session');
    await shot(page, 'web-signin-gate.png');

    const res = await submitSignIn(page, 'rita', 'a recruiter password');
    assert.equal(res.status, 200);
    // The page starts again with the session and draws the map.
    await page.waitForFunction(() => window.__talentmap && window.__talentmap.firstIdleMs !== null, null, { timeout: 60_000 });
    await settle(page);
    assert.equal(await page.textContent('#account-who .who-id'), 'rita');
    assert.equal(await page.textContent('#account-who .who-role'), '招聘方');
    assert.equal(await page.locator('#layer-people').count(), 0, 'no People toggle for a recruiter');
    const talents = rec.responses.filter((r) => new URL(r.url).pathname.startsWith('/tiles/talents/'));
    assertTilesAnswered(talents, 'talents after signing in');
    const px = await mapPixels(page);
    assert.ok(px.distinct > 30, `map has only ${px.distinct} colours`);

    // Signing out goes back to the form.
    await page.click('#signout');
    await page.waitForSelector('#signin.gate:not([hidden])', { timeout: 30_000 });
    // Before signing in the data requests were refused (401), which Chromium logs.
    const allowed = [...EXPECTED_REFUSALS, /Failed to load resource: .*401.* \S+\/api\/(taxonomy|stats|regions)$/];
    assert.deepEqual(unexpectedErrors(rec, allowed), [], 'console errors');
    await context.close();
  });
});
