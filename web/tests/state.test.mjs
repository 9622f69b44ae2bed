// Unit tests of the pure modules: URL-hash state and legend class breaks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { activeFilterCount, defaultState, filterQuery, formatHash, parseHash } from '../src/state.js';
import { archiveUrl } from '../src/archive.js';
import { BLUES, CIVIDIS, legendClasses, nice, pickColors, PUOR, quantileBreaks, stepExpression, VIRIDIS } from '../src/ramps.js';

test('a full hash parses and formats back to itself', () => {
  const hash =
    '#map=12.50/36.66123/117.02345&layers=vacancies,regions&stat=ratio&industry=ngit&field=0812,0835&education=master,doctorate&title=senior&tier=A,none&min_age=25&max_age=34&seeking=false&lang=en';
  const s = parseHash(hash);
  assert.equal(s.zoom, 12.5);
  assert.deepEqual(s.center, [117.02345, 36.66123]);
  assert.deepEqual(s.layers, ['vacancies', 'regions']);
  assert.equal(s.stat, 'ratio');
  assert.deepEqual(s.filters, {
    industry: ['ngit'],
    field: ['0812', '0835'],
    education: ['master', 'doctorate'],
    title: ['senior'],
    tier: ['A', 'none'],
    min_age: 25,
    max_age: 34,
    seeking: false,
  });
  assert.equal(s.lang, 'en');
  assert.equal(formatHash(s), hash);
});

test('an empty or malformed hash gives the defaults', () => {
  assert.deepEqual(parseHash(''), defaultState());
  const s = parseHash('#map=abc/1/2&layers=bogus,talents&stat=nope&min_age=-3&seeking=maybe&lang=fr');
  assert.equal(s.center, null);
  assert.deepEqual(s.layers, ['talents']);
  assert.equal(s.stat, 'talents');
  assert.equal(s.filters.min_age, null);
  assert.equal(s.filters.seeking, null);
  assert.equal(s.lang, null);
  // Ages outside the five-year bands (an old link) are dropped.
  const old = parseHash('#min_age=26&max_age=35');
  assert.equal(old.filters.min_age, null);
  assert.equal(old.filters.max_age, null);
});

test('an empty layer list is kept (all layers off)', () => {
  const s = parseHash('#layers=');
  assert.deepEqual(s.layers, []);
  assert.match(formatHash(s), /layers=(&|$)/);
});

test('filter query strings keep only the requested keys, in a stable order', () => {
  const f = { ...defaultState().filters, field: ['0812'], industry: ['39', '63'], seeking: true, max_age: 34 };
  assert.equal(filterQuery(f), 'industry=39,63&field=0812&max_age=34&seeking=true');
  assert.equal(filterQuery(f, ['industry']), 'industry=39,63');
  assert.equal(filterQuery(defaultState().filters), '');
  assert.equal(activeFilterCount(f), 4);
});

test('names with reserved characters survive the round trip', () => {
  const s = defaultState();
  s.filters.industry = ['a&b=c'];
  s.center = [117, 36.6];
  s.zoom = 9;
  assert.deepEqual(parseHash(formatHash(s)).filters.industry, ['a&b=c']);
});

test('class breaks are nice, increasing and above the minimum', () => {
  assert.equal(nice(7.4), 7);
  assert.equal(nice(123), 120);
  assert.equal(nice(4567), 4600);
  const values = Array.from({ length: 1000 }, (_, i) => 5 + i * i * 0.01);
  const b = quantileBreaks(values, 6, 5);
  assert.ok(b.length >= 3 && b.length <= 5);
  b.forEach((v, i) => assert.ok(v > (i ? b[i - 1] : 5)));
  assert.deepEqual(quantileBreaks([], 6, 5), []);
  assert.deepEqual(quantileBreaks([5, 5, 5], 6, 5), []);
});

test('step expressions and legend rows agree', () => {
  const breaks = [10, 50, 200];
  const expr = stepExpression(['get', 'count'], breaks, VIRIDIS);
  const rows = legendClasses(breaks, VIRIDIS, 5);
  assert.equal(rows.length, 4);
  assert.deepEqual(
    rows.map((r) => r.color),
    [expr[2], expr[4], expr[6], expr[8]],
  );
  assert.deepEqual(
    rows.map((r) => [r.from, r.to]),
    [
      [5, 10],
      [10, 50],
      [50, 200],
      [200, null],
    ],
  );
  assert.equal(pickColors(VIRIDIS, 2)[0], VIRIDIS[0]);
  assert.equal(pickColors(VIRIDIS, 2)[1], VIRIDIS[5]);
});

test('the analysis view state round-trips through the hash', () => {
  for (const hash of [
    '#layers=enterprises&view=shortage&sfield=0812&sby=park',
    '#layers=&view=shortage&sfield=0812&sarea=370102',
    '#layers=enterprises&view=commute&park=park-qilu-software',
    '#layers=enterprises&view=flows&farea=370102&month=2026-10',
  ]) {
    assert.equal(formatHash(parseHash(hash)), hash);
  }
  const s = parseHash('#view=bogus&sby=street&month=2026-13&park=a%20b');
  assert.equal(s.view, null);
  assert.equal(s.sby, 'district');
  assert.equal(s.fmonth, null);
  assert.equal(s.park, null);
});

test('an archive in the hash: kept when it names a .pmtiles file, dropped otherwise', () => {
  const s = parseHash('#layers=talents&archive=exports/talents-0812.pmtiles');
  assert.equal(s.archive, 'exports/talents-0812.pmtiles');
  assert.equal(parseHash(formatHash(s)).archive, 'exports/talents-0812.pmtiles');
  const remote = parseHash(`#archive=${encodeURIComponent('https://cdn.example.org/map/talents.pmtiles')}`);
  assert.equal(remote.archive, 'https://cdn.example.org/map/talents.pmtiles');
  assert.equal(parseHash(formatHash(remote)).archive, remote.archive);
  for (const bad of ['talents.mbtiles', 'javascript:alert(1)//x.pmtiles'.replace('(', '%28'), 'a b.pmtiles', '"x".pmtiles']) {
    assert.equal(parseHash(`#archive=${encodeURIComponent(bad)}`).archive, null, bad);
  }
  assert.equal(formatHash(parseHash('#layers=talents')).includes('archive'), false);
});

test('archive URLs resolve against the page, on its own origin only', () => {
  const page = 'http://127.0.0.1:8080/index.html#layers=talents';
  assert.equal(archiveUrl('exports/t.pmtiles', page), 'http://127.0.0.1:8080/exports/t.pmtiles');
  assert.equal(archiveUrl('/t.pmtiles', page), 'http://127.0.0.1:8080/t.pmtiles');
  assert.equal(archiveUrl('http://127.0.0.1:8080/exports/t.pmtiles', page), 'http://127.0.0.1:8080/exports/t.pmtiles');
  // Another origin could bring its own attribution HTML: refused.
  assert.equal(archiveUrl('https://cdn.example.org/t.pmtiles', page), null);
  assert.equal(archiveUrl('//cdn.example.org/t.pmtiles', page), null);
  assert.equal(archiveUrl('javascript:x.pmtiles', page), null);
  assert.equal(archiveUrl('file:///etc/t.pmtiles', page), null);
  assert.equal(archiveUrl('exports/t.json', page), null);
  assert.equal(archiveUrl(null, page), null);
});

test('colour ramps print in grey: sequential ramps darken step by step, the diverging one from its light centre', () => {
  // Relative luminance (WCAG): what a greyscale print keeps of a colour.
  const luminance = (hex) => {
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const monotonic = (ramp) => {
    const l = ramp.map(luminance);
    const up = l.every((v, i) => i === 0 || v > l[i - 1] + 0.02);
    const down = l.every((v, i) => i === 0 || v < l[i - 1] - 0.02);
    return up || down;
  };
  for (const [name, ramp] of Object.entries({ VIRIDIS, CIVIDIS, BLUES })) assert.ok(monotonic(ramp), name);
  const mid = Math.floor(PUOR.length / 2);
  assert.ok(monotonic(PUOR.slice(0, mid + 1)) && monotonic(PUOR.slice(mid)), 'PuOr darkens away from its centre on both sides');
});

test('the time view keeps its month, level, date, window and filters in the hash', () => {
  const hash = '#layers=enterprises&view=time&tlevel=park&tmonth=2025-06&tmode=change&tdate=2025-03&twin=12&tcalc=end&tby=pct&tarea=370102&tfield=0812&tchain=ngit';
  const s = parseHash(hash);
  assert.equal(s.view, 'time');
  assert.equal(s.tlevel, 'park');
  assert.equal(s.tmonth, '2025-06');
  assert.equal(s.tmode, 'change');
  assert.equal(s.tdate, '2025-03');
  assert.equal(s.twin, 12);
  assert.equal(formatHash(s), hash);
  // Defaults and bad values are left out; the keys belong to the time view only.
  assert.equal(formatHash(parseHash('#layers=&view=time&tlevel=district&twin=6&tmonth=2025-00&tcalc=x')), '#layers=&view=time');
  assert.equal(formatHash(parseHash('#layers=&view=flows&tmonth=2025-06')), '#layers=&view=flows');
});
