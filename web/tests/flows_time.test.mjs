// Browser tests of the flow map's levels and focus (views/flows.js), the
// time view's talents layer as of a month (views/time.js), an area profile
// as of a month, and a study area's commute heat, mismatch tables and flows
// opened from its profile (profile.js, areas.js) — against the real server.
//
// Starts `talentmap serve` on a fresh data directory (the demo city, which
// has moves) with a build of the page in a folder of its own, adds a
// recruiter with `talentmap users add` (who keeps a study area), and drives
// Debian's Chromium with playwright-core.
//
// Env: TALENTMAP_BIN (default ../target/debug/talentmap from web/),
//      CHROMIUM (default /usr/bin/chromium).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { formatHash, parseHash } from '../src/state.js';
import { buildPage, cli, launchBrowser, numberOf, openMap, openPage as openRecordedPage, settle, shot, startServer, unexpected } from './support.mjs';

// i18n.setLang sets <html lang>; a stand-in document is enough for the pure parts.
globalThis.document ??= { documentElement: {} };
const { focusLines, odUrl } = await import('../src/views/flows.js');
const { mismatchHtml, profileUrl } = await import('../src/profile.js');

const RECRUITER = { name: 'rosa', password: 'a recruiter password' };

let DIST;
let browser;
let server;

async function getJson(path, headers = {}) {
  const res = await fetch(`${server.url}${path}`, { headers });
  assert.equal(res.status, 200, `${path} answered ${res.status}`);
  return res.json();
}

/** A fresh page recording console errors, failed requests and responses. */
const openPage = () => openRecordedPage(browser);

/** Opens the page at `hash` and waits for the first map 'idle'. */
const gotoMap = (page, hash) => openMap(page, `${server.url}/#${hash}`);

/** Does `action` and returns the JSON of the first response whose path and query match. */
async function answerOf(page, path, query, action) {
  const [res] = await Promise.all([
    page.waitForResponse((r) => {
      const u = new URL(r.url());
      return u.pathname === path && Object.entries(query).every(([k, v]) => (v === null ? !u.searchParams.has(k) : u.searchParams.get(k) === v));
    }, { timeout: 60_000 }),
    action(),
  ]);
  assert.equal(res.status(), 200, `${res.url()} answered ${res.status()}`);
  return res.json();
}

/** The flow view has drawn an answer (not loading). */
const flowsIdle = (page) => page.waitForFunction(() => window.__talentmap.views.state.flows.od && !window.__talentmap.views.state.flows.loading, null, { timeout: 60_000 });

const flowLines = (od) => od.features.filter((f) => f.properties.kind === 'flow').map((f) => f.properties);

before(async () => {
  DIST = await buildPage();
  browser = await launchBrowser();
  server = await startServer({ web: DIST, logName: 'server-flows-time.log' });
  cli(['users', 'add', RECRUITER.name, '--role', 'recruiter', '--data', server.dir], `${RECRUITER.password}\n`);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (DIST) await rm(DIST, { recursive: true, force: true });
});

describe('flows and months: pure parts', () => {
  test('the OD URL, the focus lines, the hash keys', () => {
    assert.equal(odUrl('enterprise', { area: 'sa_1', enterprise: 'E1' }), '/api/flows/od?level=enterprise&enterprise=E1');
    assert.equal(odUrl('industry', { area: '370102' }), '/api/flows/od?level=industry&area=370102');
    assert.equal(odUrl(null), '/api/flows/od?level=district');
    const od = {
      focus: { id: 'A', lost: 9, gained: 7 },
      features: [
        { properties: { kind: 'flow', from: 'A', to: 'B', count: 5 } },
        { properties: { kind: 'flow', from: 'C', to: 'A', count: 7 } },
        { properties: { kind: 'flow', from: 'A', to: 'C', count: 6 } },
        { properties: { kind: 'area', id: 'A' } },
      ],
    };
    const lines = focusLines(od);
    assert.deepEqual(lines.out.map((p) => p.to), ['C', 'B']);
    assert.deepEqual(lines.in.map((p) => p.from), ['C']);
    assert.deepEqual(focusLines({ focus: null, features: od.features }), { out: [], in: [] });
    const hash = '#layers=enterprises&view=flows&flevel=enterprise&farea=sa_1&fent=E000040&month=2026-01';
    assert.equal(formatHash(parseHash(hash)), hash);
    assert.equal(formatHash(parseHash('#layers=&view=flows&flevel=nation')), '#layers=&view=flows');
    assert.equal(formatHash(parseHash('#layers=&view=commute&park=sa_1&cside=home')), '#layers=&view=commute&park=sa_1&cside=home');
    assert.equal(formatHash(parseHash('#layers=&view=time&tmonth=2025-06&ttiles=1')), '#layers=&view=time&tmonth=2025-06&ttiles=1');
    assert.equal(profileUrl('sa_1', null, '2025-03'), '/api/areas/sa_1/profile?month=2025-03');
    assert.equal(profileUrl('sa_1', 'csv', '2025-03'), '/api/areas/sa_1/profile?format=csv&month=2025-03');
    const html = mismatchHtml({
      area: { id: 'sa_1', name: 'x', kind: 'study' },
      demand_total: 3,
      supply_total: 2,
      workforce_total: 9,
      by_field: [{ code: '0812', demand: 3, supply: 2, workforce: 9, demand_share: 1, supply_share: 1, workforce_share: 1 }],
      by_education: [],
      by_title: [],
      top_missing_fields: [],
    });
    assert.match(html, /id="mismatch-by-field"/);
    assert.match(html, /data-area-profile="sa_1"/);
  });
});

describe('the flow map in the page', () => {
  test('districts: a focus ranks where its leavers went and its joiners came from; the district arcs stay', async () => {
    const regions = await getJson('/api/regions?kind=district');
    const { context, page, rec } = await openPage();
    await gotoMap(page, 'layers=enterprises&view=flows');
    await page.waitForSelector('#flows-alerts tbody tr', { timeout: 60_000 });
    await flowsIdle(page);
    const full = await getJson('/api/flows/od?level=district');
    // Pick the district with the most lines leaving it.
    const counts = new Map();
    for (const p of flowLines(full)) counts.set(p.from, (counts.get(p.from) || 0) + 1);
    const id = [...counts.entries()].sort((x, y) => y[1] - x[1])[0][0];
    assert.ok(regions.features.some((f) => String(f.properties.id) === id));
    const od = await answerOf(page, '/api/flows/od', { level: 'district', area: id }, () => page.selectOption('#flows-area', id));
    await page.waitForSelector(`#flows-focus[data-focus="${id}"]`);
    await flowsIdle(page);
    assert.equal(numberOf(await page.textContent('#flows-lost')), od.focus.lost);
    assert.equal(numberOf(await page.textContent('#flows-gained')), od.focus.gained);
    const out = flowLines(od).filter((p) => p.from === id);
    const inn = flowLines(od).filter((p) => p.to === id);
    const rows = async (sel) => page.$$eval(`${sel} tbody tr`, (trs) => trs.map((tr) => [tr.dataset.id, Number(tr.dataset.count)]));
    assert.deepEqual(await rows('#flows-leavers'), out.slice(0, 15).map((p) => [p.to, p.count]));
    assert.deepEqual(await rows('#flows-joiners'), inn.slice(0, 15).map((p) => [p.from, p.count]));
    // Every district arc is still drawn, those of the focus coloured by direction.
    await settle(page);
    const drawn = await page.evaluate(() => window.__talentmap.map.getSource('flows-od').serialize().data.features.filter((f) => f.properties.kind === 'flow'));
    assert.equal(drawn.length, flowLines(full).length);
    assert.deepEqual(new Set(drawn.filter((f) => f.properties.from === id).map((f) => f.properties.dir)), new Set(['out']));
    assert.deepEqual(new Set(drawn.filter((f) => f.properties.to === id).map((f) => f.properties.dir)), new Set(['in']));
    await page.waitForFunction(() => document.querySelectorAll('#flows-series svg.series-chart rect').length > 5, null, { timeout: 30_000 });
    assert.match(await page.evaluate(() => location.hash), new RegExp(`view=flows&farea=${id}`));
    await shot(page, 'web-flows-district-focus.png');
    // In English: the lists' titles and the level names.
    await page.click('#lang');
    await page.waitForFunction(() => document.documentElement.lang.startsWith('en'));
    await page.waitForSelector(`#flows-focus[data-focus="${id}"]`);
    assert.match(await page.textContent('#flows-focus'), /Where its leavers went[\s\S]*Where its joiners came from/);
    assert.deepEqual(await page.$$eval('#flows-level option', (o) => o.map((x) => x.textContent.trim())), ['Districts', 'Parks', 'Enterprises', 'Industries']);
    await page.click('#lang');
    await page.waitForFunction(() => document.documentElement.lang.startsWith('zh'));
    assert.deepEqual(unexpected(rec), [], 'console errors');
    assert.deepEqual(rec.failed, [], 'failed requests');
    await context.close();
  });

  test('enterprises: an area focus, a click on an enterprise, the enterprise field; industries as a table without arcs', async () => {
    const { context, page, rec } = await openPage();
    await gotoMap(page, 'layers=enterprises&view=flows');
    await page.waitForSelector('#flows-alerts tbody tr', { timeout: 60_000 });
    await flowsIdle(page);
    const area = (await getJson('/api/regions?kind=district')).features[0].properties.id;
    await answerOf(page, '/api/flows/od', { level: 'district', area: String(area) }, () => page.selectOption('#flows-area', String(area)));
    await flowsIdle(page);

    // The enterprise level keeps the district as its focus: job changes crossing its boundary.
    let od = await answerOf(page, '/api/flows/od', { level: 'enterprise', area: String(area) }, () => page.selectOption('#flows-level', 'enterprise'));
    await page.waitForSelector(`#flows-focus[data-focus="${area}"][data-kind="district"]`);
    assert.equal(numberOf(await page.textContent('#flows-lost')), od.focus.lost);
    const leavers = flowLines(od).filter((p) => p.from === String(area));
    assert.equal(await page.$$eval('#flows-leavers tbody tr', (t) => t.length), Math.min(15, leavers.length));
    // Largest first (counts are perturbed line by line, so they need not add up to the perturbed total).
    const listed = await page.$$eval('#flows-leavers tbody tr', (trs) => trs.map((tr) => Number(tr.dataset.count)));
    assert.deepEqual(listed, [...listed].sort((x, y) => y - x));
    assert.match(await page.evaluate(() => location.hash), new RegExp(`flevel=enterprise&farea=${area}`));

    // No focus: every enterprise line (at most 500) and the enterprises' points.
    od = await answerOf(page, '/api/flows/od', { level: 'enterprise', area: null, enterprise: null }, () => page.selectOption('#flows-area', ''));
    await flowsIdle(page);
    await settle(page);
    assert.equal(od.focus, null);
    assert.ok(flowLines(od).length > 0 && flowLines(od).length <= 500);
    const ents = od.features.filter((f) => f.properties.kind === 'enterprise');
    assert.ok(ents.length > 1);
    // Bring the busiest enterprise into view and click its point.
    const top = ents.sort((x, y) => y.properties.arrivals + y.properties.departures - (x.properties.arrivals + x.properties.departures))[0];
    await page.evaluate((c) => window.__talentmap.map.jumpTo({ center: c, zoom: 14 }), top.geometry.coordinates);
    await settle(page);
    const hit = await page.evaluate((c) => {
      const m = window.__talentmap.map;
      const p = m.project(c);
      const f = m.queryRenderedFeatures(p, { layers: ['flows-areas'] }).find((x) => x.properties.kind === 'enterprise');
      return f ? { id: f.properties.id, x: p.x, y: p.y } : null;
    }, top.geometry.coordinates);
    assert.ok(hit, 'the enterprise point is drawn');
    const box = await page.locator('#map').boundingBox();
    od = await answerOf(page, '/api/flows/od', { level: 'enterprise', enterprise: hit.id }, () => page.mouse.click(box.x + hit.x, box.y + hit.y));
    await page.waitForSelector(`#flows-focus[data-focus="${hit.id}"][data-kind="enterprise"]`);
    await flowsIdle(page);
    assert.equal(numberOf(await page.textContent('#flows-gained')), od.focus.gained);
    const joiners = flowLines(od).filter((p) => p.to === hit.id);
    assert.deepEqual(
      await page.$$eval('#flows-joiners tbody tr', (trs) => trs.map((tr) => tr.dataset.id)),
      joiners.slice(0, 15).map((p) => p.from),
    );
    assert.match(await page.evaluate(() => location.hash), new RegExp(`fent=${hit.id}`));
    await shot(page, 'web-flows-enterprise-focus.png');

    // The enterprise field: another enterprise by its name.
    const other = ents.find((f) => f.properties.id !== hit.id && f.properties.name);
    await page.fill('#flows-enterprise', other.properties.name);
    od = await answerOf(page, '/api/flows/od', { level: 'enterprise', enterprise: other.properties.id }, () => page.press('#flows-enterprise', 'Enter'));
    await page.waitForSelector(`#flows-focus[data-focus="${other.properties.id}"]`);
    assert.equal(od.focus.id, other.properties.id);

    // Industries: the enterprise cleared, every line ranked in a table, no arcs on the map.
    await page.fill('#flows-enterprise', '');
    await answerOf(page, '/api/flows/od', { level: 'enterprise', enterprise: null }, () => page.press('#flows-enterprise', 'Enter'));
    await flowsIdle(page);
    od = await answerOf(page, '/api/flows/od', { level: 'industry', enterprise: null, area: null }, () => page.selectOption('#flows-level', 'industry'));
    await page.waitForSelector('#flows-lines tbody tr');
    await flowsIdle(page);
    await settle(page);
    const lines = flowLines(od);
    assert.ok(lines.length > 0);
    assert.ok(od.features.every((f) => f.geometry === null), 'industries have no place');
    assert.deepEqual(
      await page.$$eval('#flows-lines tbody tr', (trs) => trs.map((tr) => [tr.dataset.from, tr.dataset.to, Number(tr.dataset.count)])),
      lines.map((p) => [p.from, p.to, p.count]),
    );
    assert.equal(await page.evaluate(() => window.__talentmap.map.queryRenderedFeatures({ layers: ['flows-arcs', 'flows-areas'] }).length), 0, 'no arcs at the industry level');
    assert.equal(await page.textContent('#flows-panel .eyebrow').then((s) => s.includes('行业')), true);
    await shot(page, 'web-flows-industry.png');

    // Back to districts: the alerts and the district arcs again.
    await answerOf(page, '/api/flows/od', { level: 'district' }, () => page.selectOption('#flows-level', 'district'));
    await page.waitForSelector('#flows-alerts tbody tr');
    await flowsIdle(page);
    assert.deepEqual(unexpected(rec), [], 'console errors');
    assert.deepEqual(rec.failed, [], 'failed requests');
    await context.close();
  });
});

describe('months in the page', () => {
  test('time view: the talents layer as of the slider month, kept during playback, today again when off', async () => {
    const stock = await getJson('/api/stock?level=district');
    const { context, page, rec } = await openPage();
    await gotoMap(page, 'layers=enterprises&view=time');
    await page.waitForFunction(() => window.__talentmap.views.state.time.values, null, { timeout: 60_000 });
    const talentsUrl = () => page.evaluate(() => window.__talentmap.map.getSource('talents').url);
    assert.doesNotMatch(await talentsUrl(), /month=/);
    // The first month, by the keyboard (input and change events).
    await page.focus('#time-slider');
    await page.keyboard.press('Home');
    await page.waitForFunction((m) => window.__talentmap.views.state.time.month === m, stock.from);
    assert.doesNotMatch(await talentsUrl(), /month=/, 'the option is off: today’s tiles');

    await page.click('label[for="time-tiles"]');
    await page.waitForFunction((m) => window.__talentmap.map.getSource('talents').url.includes(`month=${m}`), stock.from, { timeout: 10_000 });
    assert.match(await page.evaluate(() => window.__talentmap.map.getSource('regions').url), new RegExp(`month=${stock.from}`));
    assert.equal(await page.evaluate(() => window.__talentmap.map.getLayoutProperty('talents-fill', 'visibility')), 'visible', 'the talents layer is shown');
    assert.match(await page.textContent('#time-tiles-note'), new RegExp(stock.from));
    assert.match(await page.evaluate(() => location.hash), /ttiles=1/);
    // The busy indicator goes once the month's tiles are in.
    await page.waitForFunction(() => !window.__talentmap.views.state.time.tilesBusy, null, { timeout: 60_000 });
    assert.equal(await page.isHidden('#time-busy'), true);
    await settle(page);
    const tiles = rec.responses.filter((r) => /\/tiles\/talents\/\d+\/\d+\/\d+\.mvt/.test(r.url) && new URL(r.url).searchParams.get('month') === stock.from);
    assert.ok(tiles.length > 0, 'talent tiles of the month asked for');
    assert.ok(tiles.every((r) => r.status === 200 || r.status === 204), `tiles answered ${tiles.map((r) => r.status)}`);
    const json = await getJson(`/tiles/talents.json?month=${stock.from}`);
    assert.match(json.tiles[0], new RegExp(`month=${stock.from}`));
    await shot(page, 'web-time-tiles-month.png');

    // Playback: the stock colouring moves on, the tiles stay on the month playback started from.
    const asked = rec.responses.length;
    await page.click('#time-play');
    await page.waitForFunction((m) => window.__talentmap.views.state.time.month > m, stock.from, { timeout: 10_000 });
    const during = await page.evaluate(() => window.__talentmap.views.state.time.month);
    assert.ok(during > stock.from);
    assert.match(await talentsUrl(), new RegExp(`month=${stock.from}`));
    assert.equal(rec.responses.slice(asked).filter((r) => /\/tiles\/talents\.json/.test(r.url)).length, 0, 'no TileJSON asked during playback');
    await page.click('#time-play');
    const paused = await page.evaluate(() => window.__talentmap.views.state.time.month);
    await page.waitForFunction((m) => window.__talentmap.map.getSource('talents').url.includes(`month=${m}`), paused, { timeout: 10_000 });
    await page.waitForFunction(() => !window.__talentmap.views.state.time.tilesBusy, null, { timeout: 60_000 });

    // Off: today's tiles, the talents layer hidden again.
    await page.click('label[for="time-tiles"]');
    await page.waitForFunction(() => !window.__talentmap.map.getSource('talents').url.includes('month='), null, { timeout: 10_000 });
    assert.doesNotMatch(await page.evaluate(() => window.__talentmap.map.getSource('regions').url), /month=/);
    assert.equal(await page.evaluate(() => window.__talentmap.map.getLayoutProperty('talents-fill', 'visibility')), 'none');
    assert.equal(await page.$('#time-tiles-note'), null);
    assert.doesNotMatch(await page.evaluate(() => location.hash), /ttiles/);
    assert.deepEqual(unexpected(rec), [], 'console errors');
    assert.deepEqual(rec.failed, [], 'failed requests');
    await context.close();
  });

  test('an area profile as of a month: the numbers of that month, a refused month explained', async () => {
    const stock = await getJson('/api/stock?level=district');
    const id = String(stock.areas[0].id);
    const month = stock.areas[0].months[3].month;
    const want = await getJson(`/api/areas/${id}/profile?month=${month}`);
    assert.equal(want.month, month);
    const { context, page, rec } = await openPage();
    await gotoMap(page, `layers=enterprises&area=${id}`);
    await page.waitForSelector('#profile-month');
    assert.equal(await page.getAttribute('#profile-month-note', 'data-month'), '');
    const got = await answerOf(page, `/api/areas/${id}/profile`, { month }, () => page.fill('#profile-month', month));
    assert.equal(got.month, month);
    await page.waitForSelector(`#profile-month-note[data-month="${month}"]`);
    assert.match(await page.textContent('#profile-month-note'), new RegExp(month));
    assert.equal(numberOf(await page.textContent('.brief-number[data-key="residents"] strong')), want.headline.residents);
    assert.equal(await page.inputValue('#profile-month'), month);
    // The stock of that month agrees with the profile's residents where the area is a district.
    const stockAt = stock.areas[0].months[3].talents;
    assert.ok(Number.isFinite(want.headline.residents) && Number.isFinite(stockAt));
    // A month before the moves: the server's message, the numbers kept.
    const [bad] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).searchParams.get('month') === '2001-01'),
      page.fill('#profile-month', '2001-01'),
    ]);
    assert.equal(bad.status(), 400);
    await page.waitForSelector('#profile-month-error:not([hidden])');
    assert.match(await page.textContent('#profile-month-error'), /month/);
    assert.equal(await page.getAttribute('#profile-month-note', 'data-month'), month);
    // Back to today.
    const today = await answerOf(page, `/api/areas/${id}/profile`, { month: null }, () => page.click('#profile-today'));
    assert.equal(today.month, null);
    await page.waitForSelector('#profile-month-note[data-month=""]');
    assert.deepEqual(unexpected(rec, [/Failed to load resource: .*400/]), [], 'console errors');
    await context.close();
  });
});

describe('a study area in the other views', () => {
  test('from its profile: commute heat of its workers and of its residents, its mismatch tables, its flows', async () => {
    // The recruiter keeps a study area: the box of the district with most talents.
    const regions = await getJson('/api/regions?kind=district');
    const d = regions.features.sort((x, y) => (y.properties.talents ?? -1) - (x.properties.talents ?? -1))[0];
    const prof = await getJson(`/api/areas/${d.properties.id}/profile`);
    const [w, s, e, n] = prof.area.bbox;
    const mid = [(w + e) / 2, (s + n) / 2];
    const hw = (e - w) / 4;
    const hh = (n - s) / 4;
    const signIn = await fetch(`${server.url}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: RECRUITER.name, password: RECRUITER.password }),
    });
    assert.equal(signIn.status, 200);
    const cookie = signIn.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const ring = [
      [mid[0] - hw, mid[1] - hh],
      [mid[0] + hw, mid[1] - hh],
      [mid[0] + hw, mid[1] + hh],
      [mid[0] - hw, mid[1] + hh],
      [mid[0] - hw, mid[1] - hh],
    ];
    const made = await fetch(`${server.url}/api/areas`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify({ type: 'Feature', properties: { name: '测试研究区' }, geometry: { type: 'Polygon', coordinates: [ring] } }),
    });
    assert.equal(made.status, 201);
    const sa = (await made.json()).id;
    assert.match(sa, /^sa_/);

    const { context, page, rec } = await openPage();
    const openProfile = async () => {
      // A fresh load (not a hash change), so nothing of the view before is left.
      await page.goto('about:blank');
      await page.goto(`${server.url}/#layers=enterprises&area=${sa}`, { waitUntil: 'domcontentloaded' });
      await page.waitForFunction(() => window.__talentmap && window.__talentmap.firstIdleMs !== null, null, { timeout: 60_000 });
      await page.waitForSelector('#area-study-actions');
    };
    await openProfile();

    // Where its workers live: the commute view on the study area.
    const work = await answerOf(page, '/tiles/commute.json', { work_area: sa }, () => page.click('#area-commute-work'));
    assert.match(work.tiles[0], new RegExp(`work_area=${sa}`));
    await page.waitForSelector('#commute-heat-hint');
    assert.equal(await page.isChecked('#view-commute'), true);
    assert.equal(await page.inputValue('#commute-park'), sa);
    assert.equal(await page.inputValue('#commute-side'), 'work');
    assert.match(await page.textContent('#details-title'), /测试研究区/);
    assert.match(await page.evaluate(() => location.hash), new RegExp(`view=commute&park=${sa}`));
    await settle(page);
    const heat = rec.responses.filter((r) => /\/tiles\/commute\/\d+\/\d+\/\d+\.mvt/.test(r.url) && new URL(r.url).searchParams.get('work_area') === sa);
    assert.ok(heat.length > 0 && heat.every((r) => r.status === 200 || r.status === 204), `heat tiles ${heat.map((r) => r.status)}`);
    await shot(page, 'web-study-commute-work.png');

    // Where its residents work: the other side, from the profile, then back by the select.
    await openProfile();
    const home = await answerOf(page, '/tiles/commute.json', { home_area: sa }, () => page.click('#area-commute-home'));
    assert.match(home.tiles[0], new RegExp(`home_area=${sa}`));
    await page.waitForSelector('#commute-heat-hint');
    assert.equal(await page.inputValue('#commute-side'), 'home');
    assert.match(await page.evaluate(() => location.hash), /cside=home/);
    await answerOf(page, '/tiles/commute.json', { work_area: sa }, () => page.selectOption('#commute-side', 'work'));
    await settle(page);

    // Its mismatch tables.
    await openProfile();
    const m = await answerOf(page, '/api/mismatch', { area: sa }, () => page.click('#area-mismatch'));
    assert.equal(m.area.id, sa);
    assert.equal(m.area.kind, 'study');
    await page.waitForSelector('#mismatch-by-field');
    assert.equal(numberOf(await page.textContent('#mismatch-demand')), m.demand_total);
    assert.equal(numberOf(await page.textContent('#mismatch-workforce')), m.workforce_total);
    assert.equal(await page.$$eval('#mismatch-by-field tbody tr', (t) => t.length), m.by_field.length);
    assert.equal(await page.$$eval('#mismatch-by-education tbody tr', (t) => t.length), m.by_education.length);
    assert.equal(await page.$$eval('#mismatch-missing tbody tr', (t) => t.length), m.top_missing_fields.length);
    await shot(page, 'web-study-mismatch.png');
    // Back to its profile.
    await answerOf(page, `/api/areas/${sa}/profile`, {}, () => page.click('#mismatch-back'));
    await page.waitForSelector('#area-study-actions');

    // Its flows: job changes crossing its boundary, at the enterprise level.
    const od = await answerOf(page, '/api/flows/od', { level: 'enterprise', area: sa }, () => page.click('#area-flows'));
    assert.equal(od.focus.kind, 'study');
    await page.waitForSelector(`#flows-focus[data-focus="${sa}"][data-kind="study"]`);
    assert.equal(numberOf(await page.textContent('#flows-lost')), od.focus.lost);
    assert.equal(await page.inputValue('#flows-area'), sa);
    assert.equal(await page.isChecked('#view-flows'), true);
    await flowsIdle(page);
    // The public is not offered study areas (no /api/areas asked); signed in, the recruiter's are listed by name.
    assert.equal(rec.responses.filter((r) => new URL(r.url).pathname === '/api/areas').length, 0);
    await page.click('#signin-open');
    await page.fill('#signin-user', RECRUITER.name);
    await page.fill('#signin-pass', RECRUITER.password);
    const [listed] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/api/areas' && r.request().method() === 'GET', { timeout: 30_000 }),
      page.click('#signin-submit'),
    ]);
    assert.equal(listed.status(), 200);
    await page.waitForFunction((id) => (window.__talentmap.views.state.flows.studyAreas || []).some((a) => a.id === id), sa);
    await page.waitForSelector(`#flows-area optgroup option[value="${sa}"]`, { state: 'attached' });
    assert.equal(await page.$$eval(`#flows-area option[value="${sa}"]`, (o) => o.map((x) => x.textContent)).then((t) => t.join('|')), '测试研究区');
    assert.deepEqual(unexpected(rec), [], 'console errors');
    assert.deepEqual(rec.failed, [], 'failed requests');
    await context.close();
  });
});
