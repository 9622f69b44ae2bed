// Area profiles and comparisons as panel HTML (docs/areas.md): the profile
// of a study area, district or park from GET /api/areas/{id}/profile, and
// two to four areas side by side from GET /api/compare. No DOM here: the
// panel, the map and the requests are areas.js.

import { fmt, fmtDecimal, getLang, nameOf, placeName, t } from './i18n.js';
import { esc } from './legend.js';
import { barChart, seriesChart } from './chart.js';
import { signed } from './briefing.js';
import { IN_COLOR, OUT_COLOR, km, kv, pct } from './views/shared.js';

/** Headline numbers in the order shown. */
export const HEADLINE_KEYS = ['residents', 'seekers', 'workers', 'enterprises', 'key_enterprises', 'employees', 'openings'];
/** Rows drawn in a table's chart; the rest are in the table below it. */
const CHART_ROWS = 10;
/** Tables whose rows keep their order (bands, levels) instead of being ranked. */
const ORDERED_TABLES = ['talents_by_education', 'talents_by_title', 'talents_by_tier', 'talents_by_age', 'openings_by_education'];

const SERIES_COLORS = {
  talents: '#3b528b',
  seekers: '#5e3c99',
  workers: '#21918c',
  enterprises: '#2a788e',
  employees: '#35b779',
  openings: '#e66101',
};

/** The study-area, district or park id's profile URL (an export with `format`; as of the end of `month` with one). */
export function profileUrl(id, format = null, month = null) {
  const base = `/api/areas/${encodeURIComponent(id)}/profile`;
  const q = [format && `format=${format}`, month && `month=${encodeURIComponent(month)}`].filter(Boolean);
  return q.length ? `${base}?${q.join('&')}` : base;
}

/** The mismatch tables of a district, park or study area. */
export const mismatchUrl = (id) => `/api/mismatch?area=${encodeURIComponent(id)}`;

/** The comparison's URL (JSON or an export). */
export function compareUrl(ids, format = null) {
  const q = `areas=${ids.map(encodeURIComponent).join(',')}`;
  return `/api/compare?${q}${format ? `&format=${format}` : ''}`;
}

/** The kind of an area as a word: study area (and how it was drawn), district, park. */
export function areaKindLabel(area) {
  const kind = t(`areaKind_${area.kind}`);
  if (area.kind !== 'study' || !area.shape) return kind;
  const shape = t(`shape_${area.shape}`);
  return getLang() === 'zh' ? `${kind}（${shape}）` : `${kind} (${shape})`;
}

/** A table's title in the current language. */
const tableTitle = (table) => (getLang() === 'en' ? table.title_en : table.title_zh) || table.title_zh || table.id;

/** What a table counts, from its id (`talents_by_field` → talents). */
const seriesOf = (id) => {
  const what = id.split('_by_')[0];
  return SERIES_COLORS[what] ? what : 'talents';
};

/** The number a value shows: integers grouped, fractions with two decimals. */
const num = (v) => (v === null || v === undefined ? '–' : Number.isInteger(v) ? fmt(v) : fmtDecimal(v));

function plainTable(headers, rows, { cls = '', id = '' } = {}) {
  const th = headers.map((h, i) => `<th scope="col"${i ? ' class="num"' : ''}>${esc(h)}</th>`).join('');
  const tr = rows.map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th scope="row">${c}</th>` : `<td class="num">${c}</td>`)).join('')}</tr>`).join('');
  return `<div class="table-wrap"><table${id ? ` id="${esc(id)}"` : ''}${cls ? ` class="${cls}"` : ''}><thead><tr>${th}</tr></thead><tbody>${tr}</tbody></table></div>`;
}

/** One profile table: a bar chart of its first rows and, when it has more, every row below. */
function tableSection(table) {
  const ordered = ORDERED_TABLES.includes(table.id);
  const rows = ordered ? table.rows : [...table.rows].sort((x, y) => y.value - x.value);
  // Bands and levels are drawn whole; ranked tables show their first rows.
  const shown = ordered ? rows.length : CHART_ROWS;
  const what = seriesOf(table.id);
  const title = tableTitle(table);
  if (!rows.length) {
    return `<section class="profile-table" data-table="${esc(table.id)}"><h3>${esc(title)}</h3><p class="hint">${esc(t('profileEmptyTable'))}</p></section>`;
  }
  const chart = barChart({
    title,
    rows: rows.slice(0, shown).map((r) => ({ label: nameOf(r, r.key), values: [r.value] })),
    series: [{ name: t(`series_${what}`), color: SERIES_COLORS[what] }],
  });
  const more =
    rows.length > shown
      ? `<details class="profile-more"><summary>${esc(t('profileMoreRows', { n: rows.length }))}</summary>${plainTable(
          [title, t(`series_${what}`)],
          rows.map((r) => [esc(nameOf(r, r.key)), fmt(r.value)]),
        )}</details>`
      : '';
  return `<section class="profile-table chart-section" data-table="${esc(table.id)}">${chart}${more}</section>`;
}

function headlineHtml(h) {
  return `<dl class="brief-headline profile-headline">${HEADLINE_KEYS.map(
    (key) => `<div class="brief-number" data-key="${key}"><dt>${esc(t(`h_${key}`))}</dt><dd><strong>${esc(fmt(h?.[key]))}</strong></dd></div>`,
  ).join('')}</dl>`;
}

function keyEnterprisesHtml(list, ctx) {
  if (!list?.length) return `<p class="hint">${esc(t('profileNoKey'))}</p>`;
  const industry = (code) => (code ? nameOf(ctx?.tax?.industries?.get(String(code)), String(code)) : '–');
  const head = [t('enterprise'), t('industry'), t('employees'), t('openings')]
    .map((h, i) => `<th scope="col"${i > 1 ? ' class="num"' : ''}>${esc(h)}</th>`)
    .join('');
  const rows = list
    .map(
      (e) => `<tr><th scope="row"><button type="button" class="link-btn" data-ent-at="${esc(`${e.lon},${e.lat}`)}">${esc(e.name)}</button></th>
        <td class="wrap">${esc(industry(e.industry))}</td><td class="num">${fmt(e.employees)}</td><td class="num">${fmt(e.openings)}</td></tr>`,
    )
    .join('');
  return `<div class="table-wrap"><table class="key-enterprises"><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table></div>`;
}

function shortageHtml(list) {
  if (!list?.length) return `<p class="hint">${esc(t('profileEmptyTable'))}</p>`;
  return plainTable(
    [t('field'), t('openings'), t('seekers'), t('shortageIndex')],
    list.map((s) => [
      `${esc(nameOf(s, s.field))}${s.low_data ? ` <span class="badge" title="${esc(t('shortageLowData'))}">${esc(t('shortageLowDataQ'))}</span>` : ''}`,
      fmt(Math.round(s.demand)),
      fmt(s.supply),
      `<strong>${fmtDecimal(s.index)}</strong>${
        s.low !== null && s.low !== undefined ? `<span class="interval">${fmtDecimal(s.low)}–${fmtDecimal(s.high)}</span>` : ''
      }`,
    ]),
    { cls: 'rank-table shortage-table' },
  );
}

function commuteHtml(c) {
  if (!c) return '';
  const r = c.residents_commute || {};
  const workers = kv([
    [t('workers'), fmt(c.workers)],
    [t('commuteMean'), km(c.mean_commute_km)],
    [t('commuteMedian'), `<strong>${km(c.median_commute_km)}</strong>`],
    [t('commuteWithin5'), pct(c.share_within_5km)],
    [t('commuteOver20'), pct(c.share_over_20km)],
    [t('commuteHomesRail'), pct(c.share_homes_near_rail)],
    [t('commuteJobsRail'), pct(c.share_jobs_near_rail)],
    [t('commuteJobHousing'), fmtDecimal(c.job_housing_ratio)],
    c.young_share !== undefined && [t('commuteYoung'), pct(c.young_share)],
  ]);
  const residents = kv([
    [t('h_residents'), fmt(r.count)],
    [t('commuteMean'), km(r.mean_km)],
    [t('commuteMedian'), `<strong>${km(r.median_km)}</strong>`],
    [t('commuteWithin5'), pct(r.share_within_5km)],
    [t('commuteOver20'), pct(r.share_over_20km)],
    [t('commuteHomesRail'), pct(r.share_homes_near_rail)],
  ]);
  return `<div class="profile-commute"><div><h4>${esc(t('profileWorkersCommute'))}</h4>${workers}</div><div><h4>${esc(
    t('profileResidentsCommute'),
  )}</h4>${residents}</div></div>`;
}

/** OnTheMap's distance/direction report: bands × the eight compass directions, shaded by count. */
export function distanceDirectionTable(grid, bands, directions, same, caption) {
  const max = Math.max(1, ...grid.flat().filter(Number.isFinite));
  const head = directions.map((d) => `<th scope="col" class="num">${esc(t(`dir_${d}`))}</th>`).join('');
  const body = grid
    .map((row, b) => {
      const cells = row
        .map((v) => {
          const a = v > 0 ? 0.08 + 0.62 * (v / max) : 0;
          const dark = a > 0.45;
          return `<td class="num dd-cell" style="background:rgba(26,111,176,${a.toFixed(2)})${dark ? ';color:#fff' : ''}">${fmt(v)}</td>`;
        })
        .join('');
      return `<tr><th scope="row">${esc(bands[b] ?? '')}</th>${cells}</tr>`;
    })
    .join('');
  return `<figure class="dd"><figcaption>${esc(caption)}</figcaption><div class="table-wrap"><table class="dd-table"><thead><tr><th scope="col">km</th>${head}</tr></thead><tbody>${body}</tbody></table></div>
    <p class="legend-note">${esc(t('ddSame', { n: fmt(same) }))}</p></figure>`;
}

function flowsHtml(f) {
  if (!f) return '';
  const months = f.months || [];
  const chart = months.length
    ? seriesChart({
        title: `${t('flowsArrivals')} / ${t('flowsDepartures')} / ${t('flowsNet')}`,
        months: months.map((m) => m.month),
        series: [
          { name: t('flowsArrivals'), color: IN_COLOR, values: months.map((m) => m.arrivals) },
          { name: t('flowsDepartures'), color: OUT_COLOR, values: months.map((m) => m.departures) },
        ],
        net: months.map((m) => m.net),
        netName: t('flowsNet'),
      })
    : '';
  return `<section class="profile-flows"><h3>${esc(t('profileFlows', { from: f.from, to: f.to }))}</h3>${kv([
    [t('flowsArrivals'), fmt(f.arrivals)],
    [t('flowsDepartures'), fmt(f.departures)],
    [t('flowsNet'), `<strong>${esc(signed(f.net))}</strong>`],
  ])}${chart ? `<div class="chart-section">${chart}</div>` : ''}</section>`;
}

/**
 * The profile panel. `exports`: CSV, XLSX and GeoJSON links (export
 * roles); `picked`: whether the area is in the comparison; `back`: a link
 * back to the study-area tool.
 */
export function profileHtml(p, { ctx = null, exports = false, picked = false, back = true } = {}) {
  const a = p.area;
  const name = placeName(a, a.id);
  const dd = p.distance_direction;
  const exact = p.exact_counts;
  const links = exports
    ? ['csv', 'xlsx', 'geojson']
        .map(
          (f) =>
            `<a class="btn" id="area-${f}" href="${esc(profileUrl(a.id, f, p.month))}" download>${esc(t(`profile${f[0].toUpperCase()}${f.slice(1)}`))}</a>`,
        )
        .join('')
    : '';
  // A study area's commute heat (both sides), mismatch tables and flows open in the views that draw them.
  const study =
    a.kind === 'study'
      ? `<p class="area-actions" id="area-study-actions">
        <button type="button" class="btn" id="area-commute-work" data-commute-area="${esc(a.id)}" data-commute-side="work" data-area-name="${esc(name)}">${esc(t('areaCommuteWork'))}</button>
        <button type="button" class="btn" id="area-commute-home" data-commute-area="${esc(a.id)}" data-commute-side="home" data-area-name="${esc(name)}">${esc(t('areaCommuteHome'))}</button>
        <button type="button" class="btn" id="area-mismatch" data-mismatch-area="${esc(a.id)}">${esc(t('areaMismatch'))}</button>
        <button type="button" class="btn" id="area-flows" data-flows-area="${esc(a.id)}">${esc(t('areaFlows'))}</button></p>`
      : '';
  const asOf = `<div class="profile-month"><label for="profile-month">${esc(t('profileMonth'))}</label>
      <input type="month" id="profile-month" value="${esc(p.month ?? '')}">
      ${p.month ? `<button type="button" class="link-btn" id="profile-today">${esc(t('profileToday'))}</button>` : ''}
      <span class="legend-note" id="profile-month-note" data-month="${esc(p.month ?? '')}">${esc(p.month ? t('profileAsOf', { month: p.month }) : t('profileAsOfToday'))}</span>
      <span class="error" id="profile-month-error" role="alert" hidden></span></div>`;
  return `
    <header class="details-head profile-head">
      <p class="eyebrow">${esc(areaKindLabel(a))} · ${esc(t('km2', { v: fmtDecimal(a.km2) }))}${p.reference_year ? ` · ${esc(String(p.reference_year))}` : ''}</p>
      <h2 id="details-title">${esc(name)}</h2>
      <p class="area-actions">
        <button type="button" class="btn" id="area-print">${esc(t('profilePrint'))}</button>${links}
        <button type="button" class="btn" data-pick-add="${esc(a.id)}" data-pick-name="${esc(name)}"${picked ? ' aria-pressed="true"' : ''}>${esc(t('comparePick'))}</button>
        ${back ? `<button type="button" class="link-btn" id="area-back">${esc(t('areasBack'))}</button>` : ''}
      </p>${study}${asOf}
    </header>
    <figure class="area-print-map" hidden><img alt="${esc(name)}"><figcaption></figcaption></figure>
    <section><h3>${esc(t('profileHeadline'))}</h3>${headlineHtml(p.headline)}
      <p class="legend-note profile-disclosure" data-exact="${exact ? 'true' : 'false'}">${esc(exact ? t('profileExact') : t('profilePerturbed', { k: p.privacy_k }))}</p>
      ${a.kind === 'study' && a.cells !== null && a.cells !== undefined ? `<p class="legend-note">${esc(t('profileCells', { n: fmt(a.cells) }))}</p>` : ''}
    </section>
    <div class="profile-charts">${(p.tables || []).map(tableSection).join('')}</div>
    <section><h3>${esc(t('profileKeyEnterprises'))}</h3>${keyEnterprisesHtml(p.key_enterprises, ctx)}</section>
    <section><h3>${esc(t('profileShortage'))}</h3>${shortageHtml(p.shortage)}</section>
    <section><h3>${esc(t('profileCommute'))}</h3>${commuteHtml(p.commute)}</section>
    ${
      dd
        ? `<section class="profile-dd"><h3>${esc(t('profileDD'))}</h3>
      ${distanceDirectionTable(dd.workers, dd.bands, dd.directions, dd.workers_same_place, t('ddWorkers'))}
      ${distanceDirectionTable(dd.residents, dd.bands, dd.directions, dd.residents_same_place, t('ddResidents'))}</section>`
        : ''
    }
    ${flowsHtml(p.flows)}
    <p class="legend-note">${esc(t('dataVersion', { v: p.data_version ?? '–' }))}</p>`;
}

/** A comparison table's title: the profile table's own, else the page's. */
function compareTitle(id, profiles) {
  const table = (profiles || []).flatMap((p) => p.tables || []).find((x) => x.id === id);
  if (table) return tableTitle(table);
  const key = `cmpTable_${id}`;
  return t(key) === key ? id : t(key);
}

/** A value and, after the first area, its difference coloured by sign. */
function diffCell(value, diff, i, share) {
  const show = share ? pct : num;
  const d =
    i > 0 && diff !== null && diff !== undefined
      ? ` <span class="diff ${diff > 0 ? 'up' : diff < 0 ? 'down' : 'flat'}">${esc(
          share ? (diff === 0 ? '±0' : `${diff > 0 ? '+' : '−'}${fmtDecimal(Math.abs(diff) * 100)}%`) : signed(diff, (v) => (Number.isInteger(v) ? fmt(v) : fmtDecimal(v))),
        )}</span>`
      : '';
  return `${show(value)}${d}`;
}

/** Tables shown open; the others are folded under "More tables". */
const OPEN_TABLES = ['headline', 'commute', 'shortage_index', 'talents_by_field', 'enterprises_by_industry'];

/** The comparison panel from /api/compare; `exports` adds the CSV and XLSX links. */
export function compareHtml(c, { exports = false } = {}) {
  const names = c.areas.map((a) => placeName(a, a.id));
  const ids = c.areas.map((a) => a.id);
  const head = `<tr><th scope="col"></th>${c.areas
    .map(
      (a, i) =>
        `<th scope="col" class="num"><button type="button" class="link-btn" data-area-profile="${esc(a.id)}">${esc(names[i])}</button><span class="cmp-exact">${esc(
          c.exact_counts?.[i] ? t('cmpExact') : t('cmpPerturbed'),
        )}</span></th>`,
    )
    .join('')}</tr>`;
  const section = (table) => {
    const share = (key) => table.id === 'commute' && key.startsWith('share_');
    const rows = table.rows
      .map(
        (r) =>
          `<tr data-key="${esc(r.key)}"><th scope="row">${esc(nameOf(r, r.key))}</th>${r.values
            .map((v, i) => `<td class="num">${diffCell(v, r.differences?.[i], i, share(r.key))}</td>`)
            .join('')}</tr>`,
      )
      .join('');
    const body = `<div class="table-wrap"><table class="compare-table" data-table="${esc(table.id)}"><thead>${head}</thead><tbody>${rows}</tbody></table></div>`;
    return { id: table.id, html: `<section class="compare-section"><h3>${esc(compareTitle(table.id, c.profiles))}</h3>${body}</section>` };
  };
  const all = (c.tables || []).filter((x) => x.rows?.length).map(section);
  const open = all.filter((s) => OPEN_TABLES.includes(s.id));
  const folded = all.filter((s) => !OPEN_TABLES.includes(s.id));
  const links = exports
    ? ['csv', 'xlsx'].map((f) => `<a class="btn" id="compare-${f}" href="${esc(compareUrl(ids, f))}" download>${esc(t(`profile${f[0].toUpperCase()}${f.slice(1)}`))}</a>`).join('')
    : '';
  const perturbed = (c.exact_counts || []).some((e) => !e);
  return `
    <header class="details-head">
      <p class="eyebrow">${esc(t('compareEyebrow', { n: c.areas.length }))}</p>
      <h2 id="details-title">${esc(names.join(' · '))}</h2>
      <p class="area-actions">${links}<button type="button" class="link-btn" id="area-back">${esc(t('areasBack'))}</button></p>
    </header>
    <p class="legend-note">${esc(t('compareDiffNote', { name: names[0] }))}</p>
    ${perturbed ? `<p class="legend-note">${esc(t('profilePerturbed', { k: c.privacy_k }))}</p>` : ''}
    ${open.map((s) => s.html).join('')}
    ${folded.length ? `<details class="compare-more"><summary>${esc(t('compareMoreTables'))} (${folded.length})</summary>${folded.map((s) => s.html).join('')}</details>` : ''}`;
}

/** A share as a percentage. */
const share = (v) => (v === null || v === undefined ? '–' : `${fmtDecimal(v * 100)}%`);

/**
 * The mismatch panel of an area (GET /api/mismatch?area=…): openings against
 * seekers living there and the workforce working there, by field, education
 * and title, the vertical (education and title level) and horizontal (field)
 * mismatch and the fields most missing. `ctx` names the codes.
 */
export function mismatchHtml(m, { ctx = null } = {}) {
  const a = m.area || {};
  const fieldName = (code) => nameOf(ctx?.tax?.fields?.get(String(code)), String(code));
  const codeName = (table, code) => nameOf(ctx?.tax?.[table]?.get(String(code)), String(code));
  const table = (tid, rows, label) =>
    plainTable(
      [t('mismatchKey'), t('openings'), t('mismatchSupply'), t('mismatchWorkforce'), t('mismatchDemandShare'), t('mismatchSupplyShare'), t('mismatchWorkforceShare')],
      (rows || []).map((r) => [esc(label(r.code)), fmt(r.demand), fmt(r.supply), fmt(r.workforce), share(r.demand_share), share(r.supply_share), share(r.workforce_share)]),
      { cls: 'rank-table mismatch-table', id: tid },
    );
  const vertical = (v, title) =>
    v
      ? `<h4>${esc(title)}</h4>${kv([
          [t('mismatchAgainstSupply'), `${esc(t(`mismatchDir_${v.against_supply?.direction}`))} · ${esc(t('mismatchAbove'))} ${share(v.against_supply?.above)} · ${esc(t('mismatchBelow'))} ${share(v.against_supply?.below)}`],
          [t('mismatchAgainstWorkforce'), `${esc(t(`mismatchDir_${v.against_workforce?.direction}`))} · ${esc(t('mismatchAbove'))} ${share(v.against_workforce?.above)} · ${esc(t('mismatchBelow'))} ${share(v.against_workforce?.below)}`],
        ])}`
      : '';
  const h = m.horizontal || {};
  const missing = m.top_missing_fields || [];
  return `
    <header class="details-head">
      <p class="eyebrow">${esc(t('mismatchTitle'))} · ${esc(t(`areaKind_${a.kind}`))}</p>
      <h2 id="details-title">${esc(placeName(a, a.id))}</h2>
      <p class="area-actions"><button type="button" class="link-btn" id="mismatch-back" data-area-profile="${esc(a.id)}">${esc(t('mismatchBack'))}</button></p>
    </header>
    <section id="mismatch-totals">${kv([
      [t('openings'), `<strong id="mismatch-demand">${fmt(m.demand_total)}</strong>`],
      [t('mismatchSupply'), `<span id="mismatch-supply">${fmt(m.supply_total)}</span>`],
      [t('mismatchWorkforce'), `<span id="mismatch-workforce">${fmt(m.workforce_total)}</span>`],
    ])}<p class="legend-note">${esc(t('mismatchSupplyNote'))}</p></section>
    <section><h3>${esc(t('mismatchByField'))}</h3>${table('mismatch-by-field', m.by_field, fieldName)}</section>
    <section><h3>${esc(t('mismatchByEducation'))}</h3>${table('mismatch-by-education', m.by_education, (c) => codeName('education', c))}</section>
    <section><h3>${esc(t('mismatchByTitle'))}</h3>${table('mismatch-by-title', m.by_title, (c) => codeName('titles', c))}</section>
    <section><h3>${esc(t('mismatchVertical'))}</h3>${vertical(m.vertical_education, t('mismatchVerticalEducation'))}${vertical(m.vertical_title, t('mismatchVerticalTitle'))}</section>
    <section><h3>${esc(t('mismatchHorizontal'))}</h3>${kv([
      [t('mismatchDissimilaritySupply'), fmtDecimal(h.dissimilarity_supply)],
      [t('mismatchDissimilarityWorkforce'), fmtDecimal(h.dissimilarity_workforce)],
      [t('mismatchAbsent'), esc((h.absent_fields || []).map(fieldName).join('、') || '–')],
    ])}</section>
    <section><h3>${esc(t('mismatchMissing'))}</h3>${plainTable(
      [t('field'), t('openings'), t('mismatchSupply'), t('shortageIndex')],
      missing.map((r) => [esc(fieldName(r.field)), fmt(r.demand), fmt(r.supply), `<strong>${fmtDecimal(r.index)}</strong>`]),
      { cls: 'rank-table mismatch-table', id: 'mismatch-missing' },
    )}</section>
    <p class="legend-note">${esc(m.exact_counts ? t('profileExact') : t('profilePerturbed', { k: m.privacy_k }))}</p>`;
}
