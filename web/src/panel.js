// Popup contents (cells, clusters, enterprises) and the right-hand detail
// panel (regions: overview, supply/demand tables, chart).

import { fmt, fmtDecimal, nameOf, placeName, t } from './i18n.js';
import { esc } from './legend.js';
import { barChart } from './chart.js';

/** Lookup tables from /api/taxonomy: code → entry. */
export function indexTaxonomy(tax) {
  const byCode = (list) => new Map((list || []).map((e) => [String(e.code), e]));
  return {
    raw: tax,
    industries: byCode(tax.industries),
    fields: byCode(tax.fields),
    education: byCode(tax.education),
    titles: byCode(tax.titles),
    tiers: byCode(tax.tiers),
    chains: new Map((tax.chains || []).map((c) => [c.id, c])),
  };
}

const codeName = (table, code) => (code === undefined || code === null ? '–' : `${nameOf(table.get(String(code)), String(code))}`);

function rows(pairs) {
  return `<dl class="kv">${pairs
    .filter(Boolean)
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`)
    .join('')}</dl>`;
}

export function cellPopup(props, layer, ctx) {
  const title = layer === 'talents' ? t('talentCell') : t('vacancyCell');
  if (props.suppressed) {
    return `<h3>${esc(title)}</h3><p class="suppressed-note"><span class="swatch hatched"></span>${esc(t('suppressedLong', { k: ctx.k }))}</p>`;
  }
  const main = layer === 'talents' ? t('talents') : t('openings');
  const edu = ['associate', 'bachelor', 'master', 'doctorate']
    .filter((e) => props[`edu_${e}`] !== undefined)
    .map((e) => [codeName(ctx.tax.education, e), fmt(props[`edu_${e}`])]);
  const pairs = [[main, `<strong>${fmt(props.count)}</strong>`]];
  if (layer === 'talents') {
    if (props.seekers !== undefined) pairs.push([t('seekers'), fmt(props.seekers)]);
    if (props.young !== undefined) pairs.push([t('young'), fmt(props.young)]);
  }
  pairs.push(...edu);
  if (props.top_field !== undefined) {
    pairs.push([t('topField'), `${esc(codeName(ctx.tax.fields, props.top_field))} (${fmt(props.top_field_count)})`]);
  }
  return `<h3>${esc(title)}</h3>${rows(pairs)}`;
}

export function clusterPopup(props, ctx) {
  return `<h3>${esc(t('clusterTitle', { n: fmt(props.count) }))}</h3>${rows([
    [t('keyEnterprises'), fmt(props.key_count ?? 0)],
    [t('employees'), fmt(props.employees)],
    [t('openings'), fmt(props.openings)],
    props.industry !== undefined && [t('industry'), esc(codeName(ctx.tax.industries, props.industry))],
  ])}<p class="hint">${esc(t('clusterZoomHint'))}</p>`;
}

export function enterprisePopup(props, ctx) {
  const key = props.key === true || props.key === 'true';
  return `<h3>${esc(props.name ?? '')}${key ? ` <span class="badge">${esc(t('keyEnterprise'))}</span>` : ''}</h3>${rows([
    [t('industry'), esc(codeName(ctx.tax.industries, props.industry))],
    [t('employees'), fmt(props.employees)],
    [t('openings'), fmt(props.openings)],
  ])}`;
}

// ---- Region side panel ----

function table(headers, body, numericFrom = 1) {
  const th = headers.map((h, i) => `<th scope="col"${i >= numericFrom ? ' class="num"' : ''}>${esc(h)}</th>`).join('');
  const tr = body
    .map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th scope="row">${esc(c)}</th>` : `<td class="num">${c}</td>`)).join('')}</tr>`)
    .join('');
  return `<div class="table-wrap"><table><thead><tr>${th}</tr></thead><tbody>${tr}</tbody></table></div>`;
}

const keyOf = (row, names) => {
  for (const n of names) if (row[n] !== undefined) return String(row[n]);
  return String(row.code ?? '');
};

/** Joins supply and demand rows on their code. */
function mergeSupplyDemand(supply = [], demand = [], keyNames) {
  const merged = new Map();
  for (const s of supply) merged.set(keyOf(s, keyNames), { code: keyOf(s, keyNames), talents: s.talents, seekers: s.seekers, openings: 0 });
  for (const d of demand) {
    const code = keyOf(d, keyNames);
    const row = merged.get(code) || { code, talents: 0, seekers: 0, openings: 0 };
    row.openings = d.openings;
    merged.set(code, row);
  }
  return [...merged.values()];
}

const ratioOf = (r) => (r.seekers ? r.openings / r.seekers : null);

export function regionPanel(data, ctx) {
  const s = data.stats || {};
  const kind = data.kind === 'park' ? t('regionKindPark') : t('regionKindDistrict');
  const sup = (v) => (v === null ? `<span class="suppressed-value" title="${esc(t('suppressedLong', { k: ctx.k }))}">${esc(t('suppressed', { k: ctx.k }))}</span>` : fmt(v));
  const ratio = s.ratio ?? (s.seekers ? (s.openings ?? 0) / s.seekers : null);
  const overview = rows([
    [t('talents'), sup(s.talents)],
    [t('seekers'), sup(s.seekers)],
    s.workers !== undefined && [t('workers'), sup(s.workers)],
    [t('enterprises'), fmt(s.enterprises)],
    s.key_enterprises !== undefined && [t('keyEnterprises'), fmt(s.key_enterprises)],
    s.employees !== undefined && [t('employees'), fmt(s.employees)],
    [t('openings'), fmt(s.openings)],
    [t('ratio'), ratio === null ? '–' : `<strong>${fmtDecimal(ratio)}</strong>`],
  ]);

  const byField = mergeSupplyDemand(data.supply?.by_field, data.demand?.by_field, ['field']);
  byField.sort((a, b) => Math.max(b.seekers ?? 0, b.openings) - Math.max(a.seekers ?? 0, a.openings));
  const top = byField.slice(0, 8);
  const chart = top.length
    ? barChart({
        title: t('chartTitle'),
        rows: top.map((r) => ({ label: codeName(ctx.tax.fields, r.code), values: [r.seekers, r.openings] })),
        series: [
          { name: t('seekers'), color: '#3b528b' },
          { name: t('openings'), color: '#e66101' },
        ],
      })
    : '';
  const fieldTable = table(
    [t('field'), t('talents'), t('seekers'), t('openings'), t('ratio')],
    byField.slice(0, 20).map((r) => [codeName(ctx.tax.fields, r.code), sup(r.talents), sup(r.seekers), fmt(r.openings), fmtDecimal(ratioOf(r))]),
  );
  const byEdu = mergeSupplyDemand(data.supply?.by_education, data.demand?.by_education, ['education']);
  const eduTable = table(
    [t('education'), t('talents'), t('seekers'), t('openings'), t('ratio')],
    byEdu.map((r) => [codeName(ctx.tax.education, r.code), sup(r.talents), sup(r.seekers), fmt(r.openings), fmtDecimal(ratioOf(r))]),
  );
  const titles = data.demand?.by_title || [];
  const titleTable = titles.length
    ? table([t('title_'), t('openings')], titles.map((r) => [codeName(ctx.tax.titles, keyOf(r, ['title'])), fmt(r.openings)]))
    : '';

  return `
    <header class="details-head">
      <p class="eyebrow">${esc(kind)} · ${esc(data.id)}</p>
      <h2 id="details-title">${esc(placeName(data))}</h2>
      <p class="area-actions"><button type="button" class="btn" data-area-profile="${esc(data.id)}">${esc(t('regionProfile'))}</button></p>
    </header>
    <section><h3>${esc(t('overview'))}</h3>${overview}</section>
    ${chart ? `<section class="chart-section">${chart}</section>` : ''}
    <section><h3>${esc(t('supply'))} / ${esc(t('demand'))} · ${esc(t('byField'))}</h3>${fieldTable}</section>
    <section><h3>${esc(t('byEducation'))}</h3>${eduTable}</section>
    ${titleTable ? `<section><h3>${esc(t('demand'))} · ${esc(t('byTitle'))}</h3>${titleTable}</section>` : ''}
    <p class="legend-note">${esc(t('statRatioNote'))}</p>`;
}

// ---- A person's panel (people layer) ----

const yesNo = (v) => (v === true ? t('seekingYes') : v === false ? t('seekingNo') : '–');

/** Where a move went: the server's label, the enterprise (named when it is
 *  the current employer), and the park or district at its end point. */
function moveDestination(m, person, areaName, areaAtPoint) {
  if (m.destination) return String(m.destination);
  const parts = [];
  if (m.to_enterprise_id) {
    const e = person.employer;
    parts.push(e && String(e.id) === String(m.to_enterprise_id) ? e.name : String(m.to_enterprise_id));
  }
  const area = m.to ? areaAtPoint(m.to) : null;
  if (area) parts.push(areaName(area));
  if (!parts.length && m.event === 'leave') parts.push(t('move_leave'));
  if (!parts.length && m.to) parts.push(`${fmtDecimal(m.to[1])}, ${fmtDecimal(m.to[0])}`);
  return parts.join(' · ') || '–';
}

/** The record of one person from /api/people/{pid}. `areaName(id)` names a
 *  district or park, `areaAtPoint([lon, lat])` finds the area id at a point. */
export function personPanel(data, ctx, { areaName = (id) => id, areaAtPoint = () => null } = {}) {
  const area = (id) => (id === null || id === undefined ? '–' : esc(areaName(String(id))));
  const tier = data.tier === 'none' ? nameOf(ctx.tax.tiers.get('none'), t('tierNone')) : codeName(ctx.tax.tiers, data.tier);
  const overview = rows([
    [t('field'), esc(codeName(ctx.tax.fields, data.field))],
    [t('education'), esc(codeName(ctx.tax.education, data.education))],
    [t('title_'), esc(codeName(ctx.tax.titles, data.title))],
    [t('filterTier'), esc(tier)],
    [t('personAge'), esc(data.age_band ?? '–')],
    [t('filterSeeking'), esc(yesNo(data.seeking))],
    [t('personInCity'), esc(data.in_city === false ? t('inCityNo') : data.in_city === true ? t('inCityYes') : '–')],
    [t('employer'), data.employer ? esc(data.employer.name ?? data.employer.id) : esc(t('none'))],
    [t('homeDistrict'), area(data.home_district)],
    [t('homePark'), area(data.home_park)],
    [t('workDistrict'), area(data.work_district)],
    [t('workPark'), area(data.work_park)],
  ]);
  const moves = Array.isArray(data.moves) ? data.moves : [];
  const moveRows = moves.map((m) => [
    esc(m.date ?? '–'),
    esc(t(`move_${m.event}`) === `move_${m.event}` ? String(m.event) : t(`move_${m.event}`)),
    esc(moveDestination(m, data, areaName, areaAtPoint)),
  ]);
  const movesTable = moves.length
    ? `<div class="table-wrap"><table class="moves"><thead><tr>${[t('moveDate'), t('moveEvent'), t('moveDestination')]
        .map((h) => `<th scope="col">${esc(h)}</th>`)
        .join('')}</tr></thead><tbody>${moveRows
        .map((r) => `<tr><th scope="row">${r[0]}</th><td>${r[1]}</td><td class="wrap">${r[2]}</td></tr>`)
        .join('')}</tbody></table></div>`
    : `<p class="hint">${esc(t('noMoves'))}</p>`;
  const audited = data.audited !== false;
  return `
    <header class="details-head">
      <p class="eyebrow">${esc(t('person'))} · ${esc(t('pid'))}</p>
      <h2 id="details-title" class="pid">${esc(data.pid)}</h2>
    </header>
    ${audited ? `<p class="audit-notice" role="note"><span aria-hidden="true">●</span> ${esc(t('auditNotice'))}</p>` : ''}
    <section><h3>${esc(t('overview'))}</h3>${overview}</section>
    <section><h3>${esc(t('moves'))}</h3>${movesTable}</section>`;
}
