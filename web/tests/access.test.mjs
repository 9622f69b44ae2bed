// Unit tests of access control as the page sees it: sessions, who sees the
// people layer, the jurisdiction box, the people source and a person's panel.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  anonymousSession,
  boxesIntersect,
  canSeePeople,
  errorMessage,
  isRefusedPeopleTile,
  jurisdictionBounds,
  jurisdictionNames,
  mustSignIn,
  normaliseSession,
} from '../src/access.js';
import { PEOPLE_LAYER, areaAt, peopleLayer, peopleSource } from '../src/people.js';
import { indexTaxonomy, personPanel } from '../src/panel.js';
import { formatHash, parseHash } from '../src/state.js';
import { setLang } from '../src/i18n.js';

// i18n.setLang sets <html lang>; a stand-in document is enough here.
globalThis.document ??= { documentElement: {} };

const square = (w, s, e, n) => ({ type: 'Polygon', coordinates: [[[w, s], [e, s], [e, n], [w, n], [w, s]]] });
const regions = [
  { type: 'Feature', properties: { id: '370102', name: '历下区', kind: 'district' }, geometry: square(117.0, 36.6, 117.2, 36.7) },
  { type: 'Feature', properties: { id: '370103', name: '市中区', kind: 'district' }, geometry: square(116.9, 36.5, 117.0, 36.65) },
  { type: 'Feature', properties: { id: 'park-a', name: '齐鲁软件园', kind: 'park' }, geometry: square(117.1, 36.62, 117.15, 36.66) },
];
const regionsById = new Map(regions.map((f) => [f.properties.id, f]));

const analyst = normaliseSession({
  authenticated: true,
  public_access: true,
  principal: { kind: 'user', id: 'li.na', role: 'analyst', jurisdiction: ['370102'] },
  expires: '2026-12-01T13:00:00Z',
});

test('sessions: anonymous, signed in, and what each may see', () => {
  const anon = normaliseSession({
    authenticated: false,
    public_access: true,
    principal: { kind: 'anonymous', id: null, role: 'public', jurisdiction: [] },
    expires: null,
  });
  assert.deepEqual(anon, anonymousSession(true));
  assert.equal(canSeePeople(anon), false);
  assert.equal(mustSignIn(anon), false);
  assert.equal(mustSignIn(normaliseSession({ authenticated: false, public_access: false })), true);
  assert.equal(canSeePeople(analyst), true);
  assert.equal(analyst.principal.id, 'li.na');
  for (const role of ['public', 'recruiter', 'feeder']) {
    assert.equal(canSeePeople(normaliseSession({ authenticated: true, principal: { kind: 'key', id: 'k1', role } })), false, role);
  }
  assert.equal(canSeePeople(normaliseSession({ authenticated: true, principal: { kind: 'user', id: 'root', role: 'admin' } })), true);
  // An unknown role sees nothing more than the public.
  assert.equal(normaliseSession({ authenticated: true, principal: { role: 'superuser' } }).principal.role, 'public');
  assert.equal(canSeePeople(null), false);
});

test('the jurisdiction box is the union of its regions; none for admins or unknown ids', () => {
  const two = { ...analyst, principal: { ...analyst.principal, jurisdiction: ['370102', '370103'] } };
  assert.deepEqual(jurisdictionBounds(analyst, regionsById), [117.0, 36.6, 117.2, 36.7]);
  assert.deepEqual(jurisdictionBounds(two, regionsById), [116.9, 36.5, 117.2, 36.7]);
  assert.equal(jurisdictionBounds({ ...analyst, principal: { ...analyst.principal, jurisdiction: ['999'] } }, regionsById), null);
  assert.equal(jurisdictionBounds({ ...analyst, principal: { ...analyst.principal, role: 'admin' } }, regionsById), null);
  assert.deepEqual(jurisdictionNames(two, regionsById), ['历下区', '市中区']);
  assert.equal(boxesIntersect([0, 0, 1, 1], [0.5, 0.5, 2, 2]), true);
  assert.equal(boxesIntersect([0, 0, 1, 1], [1.5, 0, 2, 1]), false);
});

test('error messages and refused people tiles', () => {
  assert.equal(errorMessage({ error: { code: 'unauthorized', message: 'wrong username or password' } }, 'x'), 'wrong username or password');
  assert.equal(errorMessage(null, 'fallback'), 'fallback');
  assert.equal(errorMessage({ error: {} }, 'fallback'), 'fallback');
  const tileError = (status, url) => ({ error: { status, url } });
  assert.equal(isRefusedPeopleTile(tileError(403, 'http://h/tiles/people/15/1/2.mvt')), true);
  assert.equal(isRefusedPeopleTile(tileError(401, 'http://h/tiles/people/15/1/2.mvt')), true);
  assert.equal(isRefusedPeopleTile(tileError(500, 'http://h/tiles/people/15/1/2.mvt')), false);
  assert.equal(isRefusedPeopleTile(tileError(403, 'http://h/tiles/talents/15/1/2.mvt')), false);
  assert.equal(isRefusedPeopleTile({ error: new Error('boom') }), false);
});

test('the people source is a tile template from zoom 15, scoped to a box when given', () => {
  assert.deepEqual(peopleSource('http://127.0.0.1:8080'), {
    type: 'vector',
    tiles: ['http://127.0.0.1:8080/tiles/people/{z}/{x}/{y}.mvt'],
    minzoom: 15,
    maxzoom: 22,
  });
  assert.deepEqual(peopleSource('http://h', [1, 2, 3, 4]).bounds, [1, 2, 3, 4]);
  const layer = peopleLayer(true);
  assert.equal(layer.id, PEOPLE_LAYER);
  assert.equal(layer['source-layer'], 'people');
  assert.equal(layer.type, 'circle');
  assert.equal(layer.minzoom, 15);
  assert.equal(peopleLayer(false).layout.visibility, 'none');
});

test('the people layer survives the hash; unknown layers do not', () => {
  const s = parseHash('#map=15.50/36.65000/117.10000&layers=talents,people,bogus');
  assert.deepEqual(s.layers, ['talents', 'people']);
  assert.match(formatHash(s), /layers=talents,people/);
});

test('a point finds its park before its district', () => {
  assert.equal(areaAt(regions, [117.12, 36.64]).properties.id, 'park-a');
  assert.equal(areaAt(regions, [117.18, 36.68]).properties.id, '370102');
  assert.equal(areaAt(regions, [116.95, 36.55]).properties.id, '370103');
  assert.equal(areaAt(regions, [118, 37]), null);
  assert.equal(areaAt(regions, null), null);
});

test("a person's panel shows the record, the moves and the audit notice", () => {
  const tax = indexTaxonomy({
    fields: [{ code: '0812', name_zh: '计算机科学与技术', name_en: 'Computer science' }],
    education: [{ code: 'master', name_zh: '硕士', name_en: 'Master' }],
    titles: [{ code: 'senior', name_zh: '正高级', name_en: 'Senior' }],
    tiers: [{ code: 'B', name_zh: 'B类 领军人才', name_en: 'B: leading' }],
  });
  const pid = `p${'0123456789abcdef'.repeat(2)}`;
  const person = {
    pid,
    field: '0812',
    education: 'master',
    title: 'senior',
    tier: 'B',
    age_band: '30-34',
    seeking: true,
    in_city: false,
    home: [117.18, 36.68],
    work: [117.12, 36.64],
    employer: { id: 'e42', name: '浪潮<软件>' },
    home_district: '370102',
    home_park: null,
    work_district: '370102',
    work_park: 'park-a',
    moves: [
      { date: '2024-03-15', event: 'relocate', from: [116.95, 36.55], to: [117.18, 36.68], to_enterprise_id: null, destination: null },
      { date: '2025-01-02', event: 'job_change', from: null, to: [117.12, 36.64], to_enterprise_id: 'e42', destination: null },
      { date: '2025-06-30', event: 'leave', from: null, to: null, to_enterprise_id: null, destination: '上海' },
    ],
    audited: true,
  };
  const opts = {
    areaName: (id) => regionsById.get(id)?.properties.name ?? id,
    areaAtPoint: (pt) => areaAt(regions, pt)?.properties.id ?? null,
  };
  setLang('zh');
  const html = personPanel(person, { tax, k: 5 }, opts);
  for (const s of [pid, '计算机科学与技术', '硕士', '正高级', 'B类 领军人才', '30-34', '正在求职', '浪潮&lt;软件&gt;', '历下区', '齐鲁软件园', '此次查看已记入审计日志', '已离开本市（以下为最后已知住址与单位）']) {
    assert.ok(html.includes(s), `${s} missing`);
  }
  assert.ok(!html.includes('<软件>'), 'names are escaped');
  // Moves: dates, events and where they went.
  for (const s of ['2024-03-15', '迁居', '2025-01-02', '换工作', '浪潮&lt;软件&gt; · 齐鲁软件园', '离开本市', '上海']) assert.ok(html.includes(s), `${s} missing`);
  setLang('en');
  const en = personPanel({ ...person, moves: [], employer: null, seeking: false, in_city: true }, { tax, k: 5 }, opts);
  for (const s of ['This view is recorded in the audit log', 'No moves', 'Not seeking', 'Computer science', 'None', 'In the city']) assert.ok(en.includes(s), `${s} missing`);
  assert.ok(!en.includes('Left the city'));
  assert.ok(!personPanel({ ...person, audited: false }, { tax, k: 5 }, opts).includes('audit log'));
  setLang('zh');
});
