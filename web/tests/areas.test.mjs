// Study areas, area profiles and comparisons (docs/areas.md) in the page.
//
// The pure parts first (the Feature sent for a drawing or an upload, the
// hash keys, the panels' HTML), then the page against the real server: a
// recruiter (added with `talentmap users add`) signs in, draws a polygon on
// the map canvas and saves it, sees it in the list, opens its profile
// (headline, tables as charts, exports, print report), draws a circle,
// compares the two, uploads a GeoJSON file, gets the server's message for a
// bad one and deletes an area; a public visitor opens the shared link and
// sees the profile without export buttons.
//
// Env: TALENTMAP_BIN (default ../target/debug/talentmap from web/),
//      CHROMIUM (default /usr/bin/chromium).
// Screenshots go to test-artifacts/ at the repository root.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { buildPage, cli, launchBrowser, numberOf, openMap, openPage, settle, shot, startServer, submitSignIn, unexpected } from './support.mjs';

// i18n.setLang sets <html lang>; a stand-in document is enough for the pure parts.
globalThis.document ??= { documentElement: {} };

const { closeRing, distanceM, drawnFeature, ringArea, uploadedFeature, bufferWidth } = await import('../src/draw.js');
const { compareHtml, compareUrl, distanceDirectionTable, profileHtml, profileUrl } = await import('../src/profile.js');
const { formatHash, parseHash } = await import('../src/state.js');
const { canKeepAreas, geometryBounds, normaliseSession } = await import('../src/access.js');
const { setLang } = await import('../src/i18n.js');

// A build of its own, so that this file and browser.test.mjs (which rebuilds web/dist) can run side by side.
let DIST = null;

// ---------- the pure parts ----------

describe('study areas: what the page sends and shows', () => {
  test('a drawing becomes the Feature of POST /api/areas', () => {
    const square = [
      [117.0, 36.6],
      [117.01, 36.6],
      [117.01, 36.61],
      [117.0, 36.61],
    ];
    const poly = drawnFeature({ kind: 'polygon', points: square }, 'A');
    assert.equal(poly.type, 'Feature');
    assert.equal(poly.geometry.type, 'Polygon');
    assert.equal(poly.geometry.coordinates[0].length, 5, 'the ring is closed');
    assert.deepEqual(poly.geometry.coordinates[0][0], poly.geometry.coordinates[0][4]);
    assert.deepEqual(poly.properties, { name: 'A' });
    const c = drawnFeature({ kind: 'circle', centre: [117.123456789, 36.6], radius: 812.6 }, 'B');
    assert.deepEqual(c.geometry, { type: 'Point', coordinates: [117.123457, 36.6] });
    assert.deepEqual(c.properties, { name: 'B', radius_m: 813 });
    const line = drawnFeature({ kind: 'corridor', points: square.slice(0, 2), buffer: 500 }, 'C');
    assert.equal(line.geometry.type, 'LineString');
    assert.equal(line.properties.buffer_m, 500);
    assert.deepEqual(closeRing([[1, 2], [3, 4], [5, 6], [1, 2]]).length, 4, 'an already closed ring stays as it is');
    // Drawn clockwise on the screen, sent counter-clockwise (RFC 7946).
    const clockwise = drawnFeature({ kind: 'polygon', points: [...square].reverse() }, 'D');
    assert.ok(ringArea(clockwise.geometry.coordinates[0]) > 0, 'the shell is counter-clockwise');
    assert.ok(ringArea(poly.geometry.coordinates[0]) > 0);
    // One degree of latitude is about 111 km.
    assert.ok(Math.abs(distanceM([117, 36], [117, 37]) - 111_195) < 200);
    // The corridor preview covers twice the buffer in pixels: 1000 m at zoom 0 on the equator.
    const w = bufferWidth(500, 0);
    assert.ok(Math.abs(w[4] - 1000 / (40_075_016.686 / 512)) < 1e-9);
  });

  test('an uploaded file: Feature, FeatureCollection with one polygon, bare geometry, and clear refusals', () => {
    const ring = [[117, 36.6], [117.01, 36.6], [117.01, 36.61, 12], [117, 36.6]];
    const geometry = { type: 'Polygon', coordinates: [ring] };
    const f = uploadedFeature(JSON.stringify({ type: 'Feature', properties: { name: 'Park', other: 1 }, geometry }), { fileName: 'x.geojson' });
    assert.deepEqual(f.feature.properties, { name: 'Park' }, 'only the accepted properties are sent');
    assert.deepEqual(f.feature.geometry.coordinates[0][2], [117.01, 36.61], 'heights are dropped');
    const cw = uploadedFeature(JSON.stringify({ type: 'MultiPolygon', coordinates: [[[...ring].reverse()]] }), { name: 'cw' });
    assert.ok(ringArea(cw.feature.geometry.coordinates[0][0]) > 0, 'an uploaded clockwise shell is turned');
    const fc = uploadedFeature(
      JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [1, 2] } }, { type: 'Feature', properties: {}, geometry }] }),
      { fileName: 'east zone.geojson' },
    );
    assert.equal(fc.feature.geometry.type, 'Polygon');
    assert.equal(fc.feature.properties.name, 'east zone', 'named after the file');
    assert.equal(uploadedFeature(JSON.stringify(geometry), { name: 'typed', fileName: 'f.json' }).feature.properties.name, 'typed');
    assert.equal(uploadedFeature('not json at all').error, 'uploadNotJson');
    assert.equal(uploadedFeature('[1, 2]').error, 'uploadNotGeojson');
    assert.equal(uploadedFeature(JSON.stringify({ type: 'FeatureCollection', features: [] })).error, 'uploadNoPolygon');
    const two = uploadedFeature(JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', geometry }, { type: 'Feature', geometry }] }));
    assert.deepEqual(two, { error: 'uploadManyPolygons', params: { n: 2 } });
    assert.equal(uploadedFeature(JSON.stringify({ type: 'Point', coordinates: [117, 36.6] })).error, 'uploadPointRadius');
    assert.equal(uploadedFeature(JSON.stringify({ type: 'GeometryCollection', geometries: [] })).error, 'uploadBadGeometry');
  });

  test('the hash keeps an area or a comparison', () => {
    const s = parseHash('#layers=talents&area=sa_0123456789abcdef0123456789abcdef');
    assert.equal(s.area, 'sa_0123456789abcdef0123456789abcdef');
    assert.match(formatHash(s), /&area=sa_0123456789abcdef0123456789abcdef$/);
    const c = parseHash('#layers=talents&compare=370102,sa_01');
    assert.deepEqual(c.compare, ['370102', 'sa_01']);
    assert.match(formatHash(c), /compare=370102,sa_01/);
    assert.equal(parseHash('#compare=a').compare, null, 'one area is no comparison');
    assert.equal(parseHash('#compare=a,b,c,d,e').compare, null, 'at most four');
    assert.equal(parseHash('#compare=a,a').compare, null, 'distinct ids');
    assert.equal(parseHash('#area=<script>').area, null);
  });

  test('who may keep areas', () => {
    const as = (role) => normaliseSession({ authenticated: role !== 'public', principal: { kind: 'user', id: 'x', role } });
    assert.deepEqual(['public', 'recruiter', 'analyst', 'feeder', 'admin'].map((r) => canKeepAreas(as(r))), [false, true, true, false, true]);
    assert.equal(canKeepAreas(null), false);
  });

  test('profile and comparison panels', () => {
    setLang('en');
    const profile = {
      area: { id: 'sa_1', name: 'East', name_en: 'East', kind: 'study', shape: 'circle', km2: 1.23, bbox: [1, 2, 3, 4], cells: 20 },
      data_version: 7,
      reference_year: 2025,
      privacy_k: 5,
      exact_counts: false,
      headline: { residents: 1200, seekers: 40, workers: 900, enterprises: 12, key_enterprises: 1, employees: 3000, openings: 55 },
      tables: [
        { id: 'talents_by_age', title_zh: '年龄', title_en: 'Age', talent_counts: true, rows: [{ key: '20-24', name_zh: '20–24', name_en: '20–24', value: 5 }] },
        { id: 'enterprises_by_industry', title_zh: '行业', title_en: 'Industry', talent_counts: false, rows: [] },
      ],
      key_enterprises: [{ id: 'e1', name: 'Acme <b>', industry: 'I65', employees: 300, openings: 4, lon: 117, lat: 36.6 }],
      shortage: [{ field: '0812', name_zh: '计算机', name_en: 'Computing', demand: 30, supply: 6, index: 2.5, low: 1.2, high: 3.9, low_data: false }],
      commute: { workers: 900, mean_commute_km: 7.5, median_commute_km: 5.1, share_within_5km: 0.5, residents_commute: { count: 800, median_km: 6 } },
      distance_direction: {
        bands: ['0–5 km', '5–10 km', '10–25 km', '25+ km'],
        directions: ['N', 'NE', 'E', 'SE', 'S', 'SW', 'W', 'NW'],
        workers: [[1, 2, 3, 4, 5, 6, 7, 8], [0, 0, 0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0, 9]],
        workers_same_place: 3,
        residents: [[0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0]],
        residents_same_place: 0,
      },
      flows: null,
    };
    const html = profileHtml(profile, { exports: false });
    assert.match(html, /Study area \(circle\)/);
    assert.match(html, /Acme &lt;b&gt;/, 'names are escaped');
    assert.doesNotMatch(html, /format=csv/, 'no exports for the public');
    assert.match(profileHtml(profile, { exports: true }), /href="\/api\/areas\/sa_1\/profile\?format=xlsx"/);
    assert.match(html, /data-exact="false"/);
    assert.match(html, /20 cells/);
    assert.equal((distanceDirectionTable(profile.distance_direction.workers, profile.distance_direction.bands, profile.distance_direction.directions, 3, 'x').match(/dd-cell/g) || []).length, 32);
    assert.equal(profileUrl('370102', 'csv'), '/api/areas/370102/profile?format=csv');
    assert.equal(compareUrl(['a', 'b'], 'xlsx'), '/api/compare?areas=a,b&format=xlsx');

    const c = {
      areas: [profile.area, { ...profile.area, id: '370102', name: '历下区', name_en: 'Lixia', kind: 'district', shape: null }],
      exact_counts: [false, false],
      privacy_k: 5,
      tables: [
        { id: 'headline', rows: [{ key: 'residents', name_zh: '常住人才', name_en: 'Resident talents', values: [1200, 1000], differences: [0, -200] }] },
        { id: 'commute', rows: [{ key: 'share_within_5km', name_zh: '', name_en: 'Within 5 km', values: [0.5, 0.6], differences: [0, 0.1] }] },
      ],
      profiles: [profile],
    };
    const cmp = compareHtml(c, { exports: true });
    assert.match(cmp, /<span class="diff down">−200<\/span>/);
    assert.match(cmp, /<span class="diff up">\+10%<\/span>/);
    assert.match(cmp, /Lixia/);
    assert.match(cmp, /id="compare-csv" href="\/api\/compare\?areas=sa_1,370102&amp;format=csv"/);
    setLang('zh');
  });
});

// ---------- the page against the server ----------

const api = (rec, method, re) => rec.responses.filter((r) => r.method === method && re.test(new URL(r.url).pathname));
// Bad uploads are answered 400, which Chromium logs.
const EXPECTED = [/Failed to load resource: .*400.* \S+\/api\/areas$/];

/** Clicks the map canvas at offsets (px) from its centre. */
async function clickMap(page, dx, dy) {
  const box = await page.locator('#map').boundingBox();
  await page.mouse.click(box.x + box.width / 2 + dx, box.y + box.height / 2 + dy);
}

describe('study areas in the page', () => {
  const RECRUITER = { name: 'rita', password: 'a recruiter password' };
  let server;
  let browser;
  let home; // [lon, lat]: a dense talent cell
  let session; // the recruiter's page, kept across the tests below
  const ids = {};

  before(async () => {
    DIST = await buildPage();
    browser = await launchBrowser();
    server = await startServer({ web: DIST, logName: 'server-areas.log', talents: 20000, dirPrefix: 'talentmap-web-areas-' });
    cli(['users', 'add', RECRUITER.name, '--role', 'recruiter', '--data', server.dir], `${RECRUITER.password}\n`);
    // Where talents live: the densest published cell of the district with most talents.
    const regions = await (await fetch(`${server.url}/api/regions?kind=district`)).json();
    const districts = regions.features.filter((f) => f.properties.kind === 'district');
    districts.sort((x, y) => (y.properties.talents ?? -1) - (x.properties.talents ?? -1));
    const d = districts[0];
    const bbox = geometryBounds(d.geometry);
    const cells = await (await fetch(`${server.url}/api/aggregates?layer=talents&zoom=12&bbox=${bbox.join(',')}`)).json();
    const centre = (f) => {
      const ring = f.geometry.coordinates[0];
      return [ring.reduce((s, c) => s + c[0], 0) / ring.length, ring.reduce((s, c) => s + c[1], 0) / ring.length];
    };
    const dense = cells.features.filter((f) => f.properties.count).sort((x, y) => y.properties.count - x.properties.count)[0];
    home = dense ? centre(dense) : d.properties.centre;
    assert.ok(home, 'no place with talents in the demo city');
  });

  after(async () => {
    await session?.context.close();
    await browser?.close();
    await server?.stop();
    if (DIST) await rm(DIST, { recursive: true, force: true });
  });

  test('a recruiter draws a polygon on the map, saves it and sees it in the list', async () => {
    session = await openPage(browser);
    const { page, rec } = session;
    await openMap(page, `${server.url}/#map=14.00/${home[1].toFixed(5)}/${home[0].toFixed(5)}&layers=talents`);
    assert.equal(api(rec, 'GET', /^\/api\/areas/).length, 0, 'nothing about areas is asked for at first');
    assert.equal(await page.evaluate(() => performance.getEntriesByType('resource').some((e) => e.name.endsWith('/areas.js'))), false, 'areas.js is loaded on demand');

    await page.click('#signin-open');
    const signed = await submitSignIn(page, RECRUITER.name, RECRUITER.password);
    assert.equal(signed.status, 200);
    await page.waitForSelector('#account-who:not([hidden])');

    await page.click('#areas-open');
    await page.waitForSelector('#area-draw-section');
    await page.waitForSelector('#area-list-empty');
    assert.ok(api(rec, 'GET', /^\/api\/areas$/).every((r) => r.status === 200) && api(rec, 'GET', /^\/api\/areas$/).length >= 1, 'GET /api/areas');
    await settle(page);

    await page.click('[data-draw="polygon"]');
    assert.equal(await page.getAttribute('[data-draw="polygon"]', 'aria-pressed'), 'true');
    await clickMap(page, -110, -90);
    await clickMap(page, 120, -80);
    await clickMap(page, 90, 110);
    await clickMap(page, -100, 100);
    assert.match(await page.textContent('#area-draw-hint'), /4 个顶点/);
    // Clicking the first vertex closes the polygon.
    await clickMap(page, -110, -90);
    const drawn = await page.evaluate(() => window.__talentmap.draw);
    assert.deepEqual({ kind: drawn.kind, phase: drawn.phase, vertices: drawn.vertices }, { kind: 'polygon', phase: 'done', vertices: 4 });
    assert.equal(await page.isHidden('#details'), false, 'no region panel opened by the clicks');
    await settle(page);
    const preview = await page.evaluate(() => window.__talentmap.map.queryRenderedFeatures({ layers: ['area-draw-fill'] }).length);
    assert.ok(preview > 0, 'the polygon is drawn on the map');
    await shot(page, 'web-areas-drawn.png');

    assert.equal(await page.isDisabled('#area-save'), false);
    await page.fill('#area-name', '测试多边形');
    const [created] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/api/areas' && r.request().method() === 'POST'),
      page.click('#area-save'),
    ]);
    assert.equal(created.status(), 201);
    const area = await created.json();
    assert.match(area.id, /^sa_[0-9a-f]{32}$/);
    assert.equal(area.properties.kind, 'polygon');
    assert.ok(area.properties.km2 > 0);
    ids.polygon = area.id;
    await page.waitForSelector(`.area-item[data-id="${area.id}"]`);
    assert.equal(await page.textContent(`.area-item[data-id="${area.id}"] .area-name`), '测试多边形');
    assert.match(await page.textContent('#area-message'), /测试多边形/);
    assert.equal(await page.evaluate(() => window.__talentmap.draw.phase), null, 'the drawing is cleared');
    assert.equal(await page.evaluate(() => window.__talentmap.shownArea), area.id, 'the saved outline is shown');
    const listed = await page.evaluate(() => fetch('/api/areas').then((r) => r.json()));
    assert.deepEqual(listed.features.map((f) => f.id), [area.id]);
    assert.deepEqual(unexpected(rec, EXPECTED), [], 'console errors');
  });

  test('its profile: headline, tables as charts, distance and direction, exports and the print report', async () => {
    const { page, rec } = session;
    const [res] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === `/api/areas/${ids.polygon}/profile`),
      page.click(`.area-item[data-id="${ids.polygon}"] [data-area-profile]`),
    ]);
    assert.equal(res.status(), 200);
    const profile = await res.json();
    await page.waitForSelector('#details .profile-headline');
    assert.equal(await page.textContent('#details-title'), '测试多边形');
    assert.ok(profile.headline.residents > 0, `residents ${profile.headline.residents}`);
    const shown = numberOf(await page.textContent('.brief-number[data-key="residents"] strong'));
    assert.equal(shown, profile.headline.residents, 'headline residents');
    assert.equal(await page.locator('.profile-headline .brief-number').count(), 7);
    const charts = await page.locator('#details .profile-table svg.chart').count();
    assert.ok(charts >= 5, `${charts} charts`);
    assert.ok((await page.locator('#details .profile-table svg.chart rect').count()) > 10, 'chart bars');
    const firstTitle = profile.tables.find((t) => t.rows.length).title_zh;
    assert.ok((await page.locator('.profile-table .chart-title').allTextContents()).includes(firstTitle), 'zh table titles');
    assert.equal(await page.locator('.dd-table').count(), 2, 'workers and residents distance/direction');
    assert.equal(await page.locator('.dd-table').first().locator('tbody tr').count(), profile.distance_direction.bands.length);
    assert.equal(await page.locator('.dd-table').first().locator('.dd-cell').count(), profile.distance_direction.bands.length * 8);
    assert.equal(await page.getAttribute('.profile-disclosure', 'data-exact'), String(profile.exact_counts));
    assert.match(await page.evaluate(() => location.hash), new RegExp(`area=${ids.polygon}`));

    // Exports for a recruiter: the same URL with format=….
    for (const f of ['csv', 'xlsx', 'geojson']) {
      assert.equal(await page.getAttribute(`#area-${f}`, 'href'), `/api/areas/${ids.polygon}/profile?format=${f}`);
    }
    const csv = await page.evaluate((u) => fetch(u).then(async (r) => ({ status: r.status, text: await r.text() })), `/api/areas/${ids.polygon}/profile?format=csv`);
    assert.equal(csv.status, 200);
    assert.match(csv.text, /^table,key,name_zh,name_en,value/);

    // Print: the map picture, then the profile.
    await page.evaluate(() => {
      window.print = () => {
        window.__printed = true;
      };
    });
    await page.click('#area-print');
    await page.waitForFunction(() => window.__printed === true, null, { timeout: 20_000 });
    assert.equal(await page.evaluate(() => document.body.classList.contains('area-print')), true);
    assert.match(await page.getAttribute('.area-print-map img', 'src'), /^data:image\/png;base64,/);
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.isVisible('.area-print-map img'), true, 'the map picture is printed');
    assert.equal(await page.isVisible('.profile-table svg.chart >> nth=0'), true, 'with the charts');
    assert.equal(await page.isVisible('#sidebar'), false);
    assert.equal(await page.isVisible('#area-print'), false, 'without its buttons');
    await shot(page, 'web-areas-print.png');
    await page.emulateMedia({ media: 'screen' });
    await page.evaluate(() => window.dispatchEvent(new Event('afterprint')));
    assert.equal(await page.evaluate(() => document.body.classList.contains('area-print')), false);

    // In English the tables take their English titles, without asking again.
    const asked = api(rec, 'GET', /\/profile$/).length;
    await page.click('#lang');
    const enTitle = profile.tables.find((t) => t.rows.length).title_en;
    assert.ok((await page.locator('.profile-table .chart-title').allTextContents()).includes(enTitle), 'en table titles');
    assert.equal(await page.textContent('.brief-number[data-key="residents"] dt'), 'Resident talents');
    assert.equal(api(rec, 'GET', /\/profile$/).length, asked);
    await page.click('#lang');
    await shot(page, 'web-areas-profile.png');
    assert.deepEqual(unexpected(rec, EXPECTED), [], 'console errors');
  });

  test('a circle, then the two areas compared with their differences', async () => {
    const { page, rec } = session;
    await page.click('#area-back');
    await page.waitForSelector('#area-draw-section');
    await settle(page);
    await page.click('[data-draw="circle"]');
    await clickMap(page, 0, 0);
    // While the radius is set it is shown beside the pointer, in metres.
    const box = await page.locator('#map').boundingBox();
    await page.mouse.move(box.x + box.width / 2 + 60, box.y + box.height / 2);
    await page.waitForSelector('.draw-tip:not([hidden])');
    assert.match(await page.textContent('.draw-tip'), /^[\d,]+ m$/);
    assert.match(await page.textContent('#area-draw-hint'), /半径：[\d,]+ 米/);
    await clickMap(page, 100, 0);
    assert.equal(await page.isHidden('.draw-tip'), true);
    const drawn = await page.evaluate(() => window.__talentmap.draw);
    assert.equal(drawn.phase, 'done');
    assert.ok(drawn.radius > 50, `radius ${drawn.radius} m`);
    assert.match(await page.textContent('#area-draw-hint'), new RegExp(`半径 ${drawn.radius.toLocaleString('zh-CN')} 米`));
    await page.fill('#area-name', '测试圆形');
    const [created] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/api/areas' && r.request().method() === 'POST'),
      page.click('#area-save'),
    ]);
    assert.equal(created.status(), 201);
    const circle = await created.json();
    assert.equal(circle.properties.kind, 'circle');
    assert.ok(Math.abs(circle.properties.drawn.distance_m - drawn.radius) <= 1, 'the radius drawn is kept');
    ids.circle = circle.id;
    await page.waitForSelector(`.area-item[data-id="${circle.id}"]`);
    assert.deepEqual(await page.locator('.area-item').evaluateAll((els) => els.map((e) => e.dataset.id)), [circle.id, ids.polygon], 'newest first');

    // Ticking re-draws the list: one at a time.
    await page.click(`[data-pick="${ids.polygon}"]`);
    await page.waitForSelector('#pick-list li');
    await page.click(`[data-pick="${ids.circle}"]`);
    await page.waitForFunction(() => document.querySelectorAll('#pick-list li').length === 2);
    assert.equal(await page.isChecked(`[data-pick="${ids.circle}"]`), true);
    const [res] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/api/compare'),
      page.click('#compare-run'),
    ]);
    assert.equal(res.status(), 200);
    const cmp = await res.json();
    assert.deepEqual(cmp.areas.map((x) => x.id), [ids.polygon, ids.circle]);
    await page.waitForSelector('.compare-table[data-table="headline"]');
    assert.match(await page.evaluate(() => location.hash), new RegExp(`compare=${ids.polygon},${ids.circle}`));
    assert.equal(await page.locator('.compare-table[data-table="headline"] thead th').count(), 3, 'a column per area');
    const residents = cmp.tables.find((x) => x.id === 'headline').rows.find((r) => r.key === 'residents');
    const diff = residents.differences[1];
    const cell = page.locator('.compare-table[data-table="headline"] tr[data-key="residents"] td').nth(1);
    assert.equal(numberOf(await cell.locator('.diff').textContent()) * (diff < 0 ? -1 : 1), diff, 'the difference shown');
    assert.equal(await cell.locator(`.diff.${diff > 0 ? 'up' : diff < 0 ? 'down' : 'flat'}`).count(), 1, 'coloured by its sign');
    assert.ok((await page.locator('.compare-table .diff').count()) >= 5, 'differences in the tables');
    assert.equal(await page.getAttribute('#compare-csv', 'href'), `/api/compare?areas=${ids.polygon},${ids.circle}&format=csv`);
    assert.equal(await page.getAttribute('#compare-xlsx', 'href'), `/api/compare?areas=${ids.polygon},${ids.circle}&format=xlsx`);
    await shot(page, 'web-areas-compare.png');
    assert.deepEqual(unexpected(rec, EXPECTED), [], 'console errors');
  });

  test('upload a GeoJSON file, the server refuses a bad one with its message, Escape cancels, delete', async () => {
    const { page, rec } = session;
    await page.click('#area-back');
    await page.waitForSelector('#area-file');
    const d = 0.01;
    const square = [[home[0] - d, home[1] - d], [home[0] + d, home[1] - d], [home[0] + d, home[1] + d], [home[0] - d, home[1] + d], [home[0] - d, home[1] - d]];
    const file = {
      type: 'FeatureCollection',
      features: [{ type: 'Feature', properties: { name: '上传的园区', source: 'survey' }, geometry: { type: 'Polygon', coordinates: [square] } }],
    };
    const [up] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/api/areas' && r.request().method() === 'POST'),
      page.setInputFiles('#area-file', { name: 'park.geojson', mimeType: 'application/geo+json', buffer: Buffer.from(JSON.stringify(file)) }),
    ]);
    assert.equal(up.status(), 201);
    const uploaded = await up.json();
    ids.uploaded = uploaded.id;
    await page.waitForSelector(`.area-item[data-id="${uploaded.id}"]`);
    assert.equal(await page.textContent(`.area-item[data-id="${uploaded.id}"] .area-name`), '上传的园区');
    assert.equal(await page.locator('.area-item').count(), 3);

    // Not JSON: the page says so without asking the server.
    const posts = api(rec, 'POST', /^\/api\/areas$/).length;
    await page.setInputFiles('#area-file', { name: 'notes.geojson', mimeType: 'application/geo+json', buffer: Buffer.from('name,lon,lat\n') });
    await page.waitForSelector('#area-upload-error:not([hidden])');
    assert.match(await page.textContent('#area-upload-error'), /不是 JSON/);
    assert.equal(api(rec, 'POST', /^\/api\/areas$/).length, posts);

    // A longitude out of range: the server's 400 message, naming the part.
    const bad = { type: 'Feature', properties: { name: 'bad' }, geometry: { type: 'Polygon', coordinates: [[[200, 36.6], [117.1, 36.6], [117.1, 36.7], [200, 36.6]]] } };
    const [refused] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/api/areas' && r.request().method() === 'POST'),
      page.setInputFiles('#area-file', { name: 'bad.geojson', mimeType: 'application/geo+json', buffer: Buffer.from(JSON.stringify(bad)) }),
    ]);
    assert.equal(refused.status(), 400);
    const body = await refused.json();
    assert.match(body.error.message, /coordinates/);
    await page.waitForFunction((m) => document.querySelector('#area-upload-error')?.textContent === m, body.error.message);
    await shot(page, 'web-areas-upload-refused.png');

    // A drawn polygon that crosses itself: the server's message next to the form.
    await settle(page);
    await page.click('[data-draw="polygon"]');
    await clickMap(page, -100, -100);
    await clickMap(page, 100, 100);
    await clickMap(page, 100, -100);
    await clickMap(page, -100, 100);
    await clickMap(page, -100, -100);
    assert.equal(await page.evaluate(() => window.__talentmap.draw.phase), 'done');
    await page.fill('#area-name', 'bow tie');
    const [selfCross] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/api/areas' && r.request().method() === 'POST'),
      page.click('#area-save'),
    ]);
    assert.equal(selfCross.status(), 400);
    const crossMsg = (await selfCross.json()).error.message;
    await page.waitForFunction((m) => document.querySelector('#area-error')?.textContent === m, crossMsg);
    await page.click('#area-discard');

    // Escape cancels a shape being drawn; the panel stays.
    await page.click('[data-draw="corridor"]');
    await clickMap(page, -50, 0);
    assert.equal(await page.evaluate(() => window.__talentmap.draw.vertices), 1);
    await page.keyboard.press('Escape');
    assert.equal(await page.evaluate(() => window.__talentmap.draw.phase), null);
    assert.equal(await page.isHidden('#details'), false, 'the panel stays open');
    assert.match(await page.textContent('#area-draw-hint'), /取消/);

    // A corridor: the line, then its buffer distance.
    await page.click('[data-draw="corridor"]');
    assert.equal(await page.isVisible('#area-buffer'), true);
    await clickMap(page, -120, 40);
    await clickMap(page, 0, -30);
    await page.mouse.dblclick((await page.locator('#map').boundingBox()).x + (await page.locator('#map').boundingBox()).width / 2 + 120, (await page.locator('#map').boundingBox()).y + (await page.locator('#map').boundingBox()).height / 2 + 20);
    const line = await page.evaluate(() => window.__talentmap.draw);
    assert.deepEqual({ phase: line.phase, vertices: line.vertices }, { phase: 'done', vertices: 3 });
    assert.equal(await page.inputValue('#area-buffer'), '500');
    await page.fill('#area-buffer', '300');
    await page.fill('#area-name', '测试走廊');
    const [corr] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/api/areas' && r.request().method() === 'POST'),
      page.click('#area-save'),
    ]);
    assert.equal(corr.status(), 201);
    const corridor = await corr.json();
    assert.equal(corridor.properties.kind, 'corridor');
    assert.equal(corridor.properties.drawn.distance_m, 300);
    await page.waitForSelector(`.area-item[data-id="${corridor.id}"]`);

    // Delete (after confirming): gone from the list and from the server.
    page.once('dialog', (dialog) => dialog.accept());
    const [del] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'DELETE'),
      page.click(`.area-item[data-id="${uploaded.id}"] [data-area-delete]`),
    ]);
    assert.equal(del.status(), 204);
    await page.waitForSelector(`.area-item[data-id="${uploaded.id}"]`, { state: 'detached' });
    assert.equal(await page.locator('.area-item').count(), 3);
    assert.equal((await fetch(`${server.url}/api/areas/${uploaded.id}`)).status, 404);
    assert.deepEqual(unexpected(rec, EXPECTED), [], 'console errors');
  });

  test('a public visitor opens the shared link: the profile, no export buttons', async () => {
    const { page } = session;
    await page.click(`.area-item[data-id="${ids.polygon}"] [data-area-share]`);
    await page.waitForSelector('#area-share-url');
    const url = await page.inputValue('#area-share-url');
    assert.equal(url, `${server.url}/#area=${ids.polygon}`);

    const visitor = await openPage(browser);
    try {
      const [res] = await Promise.all([
        visitor.page.waitForResponse((r) => new URL(r.url()).pathname === `/api/areas/${ids.polygon}/profile`, { timeout: 60_000 }),
        visitor.page.goto(url, { waitUntil: 'domcontentloaded' }),
      ]);
      assert.equal(res.status(), 200);
      const profile = await res.json();
      await visitor.page.waitForSelector('#details .profile-headline', { timeout: 60_000 });
      assert.equal(await visitor.page.textContent('#details-title'), '测试多边形');
      assert.equal(profile.exact_counts, false, 'perturbed for the public');
      assert.equal(await visitor.page.getAttribute('.profile-disclosure', 'data-exact'), 'false');
      assert.ok(numberOf(await visitor.page.textContent('.brief-number[data-key="residents"] strong')) > 0);
      for (const f of ['csv', 'xlsx', 'geojson']) assert.equal(await visitor.page.locator(`#area-${f}`).count(), 0, `no ${f} export for the public`);
      assert.equal(await visitor.page.isVisible('#area-print'), true, 'printing is for everyone');
      await visitor.page.waitForFunction((id) => window.__talentmap.shownArea === id, ids.polygon);
      // The server refuses the export to the public as well.
      const status = (await fetch(`${server.url}/api/areas/${ids.polygon}/profile?format=csv`)).status;
      assert.ok([401, 403].includes(status), `export answered ${status}`);

      // The tool asks the public to sign in, and does not ask for a list.
      await visitor.page.click('#areas-open');
      await visitor.page.waitForSelector('.area-signin-hint');
      assert.equal(await visitor.page.locator('#area-draw-section').count(), 0);
      assert.equal(api(visitor.rec, 'GET', /^\/api\/areas$/).length, 0);
      await shot(visitor.page, 'web-areas-public.png');
      assert.deepEqual(visitor.rec.errors, [], 'console errors');
    } finally {
      await visitor.context.close();
    }
  });

  test('a district: Profile from the region panel, and compared with a study area', async () => {
    const visitor = await openPage(browser);
    try {
      await openMap(visitor.page, `${server.url}/#layers=regions`);
      const district = await visitor.page.evaluate(() => window.__talentmap.map.queryRenderedFeatures({ layers: ['base-districts-fill'] })[0]?.properties.id);
      assert.ok(district, 'a district on screen');
      await visitor.page.evaluate((id) => window.__talentmap.showRegion(id), String(district));
      await visitor.page.waitForSelector('#details [data-area-profile]');
      const [res] = await Promise.all([
        visitor.page.waitForResponse((r) => new URL(r.url()).pathname === `/api/areas/${district}/profile`),
        visitor.page.click('#details [data-area-profile]'),
      ]);
      assert.equal(res.status(), 200);
      const profile = await res.json();
      assert.equal(profile.area.kind, 'district');
      await visitor.page.waitForSelector('#details .profile-headline');
      if (profile.flows) assert.equal(await visitor.page.locator('.profile-flows svg.chart').count(), 1, 'the monthly flows');
      // Into the comparison with the shared study area.
      await visitor.page.click('[data-pick-add]');
      await visitor.page.goto(`${server.url}/#compare=${district},${ids.polygon}`);
      await visitor.page.waitForSelector('.compare-table[data-table="headline"]', { timeout: 60_000 });
      assert.equal(await visitor.page.locator('#compare-csv').count(), 0, 'no export for the public');
      assert.deepEqual(visitor.rec.errors, [], 'console errors');
    } finally {
      await visitor.context.close();
    }
  });
});
