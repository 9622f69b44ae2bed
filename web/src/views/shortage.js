// The shortage index view (紧缺指数): shortage tiles for one field coloured
// relative to the city ratio, the ranked list of districts or parks, and the
// explanation of one area's index. Composed with the other views by
// `index.js`, which owns the shared request counter and the panels.

import { fmt, fmtDecimal, nameOf, t } from '../i18n.js';
import { HATCH } from '../layers.js';
import { NO_DATA, PUOR, RATIO_BREAKS, stepExpression } from '../ramps.js';
import { esc, swatchRows } from '../legend.js';
import { kv, pct } from './shared.js';

export function createShortageView(cx) {
  const { map, state, ctx, getJson, openPanel, beforeLayer } = cx;
  const s = { city: null, list: null, explain: null, explainArea: null, fields: null };
  let added = false;

  const tileUrl = () => `${cx.origin}/tiles/shortage.json?field=${encodeURIComponent(state.sfield)}`;

  function addLayers() {
    if (added) return;
    added = true;
    map.addSource('shortage', { type: 'vector', url: tileUrl() });
    const rel = ['/', ['get', 'index'], ['max', ['get', 'city_ratio'], 1e-9]];
    const layer = { source: 'shortage', 'source-layer': 'shortage' };
    map.addLayer(
      {
        id: 'shortage-fill',
        type: 'fill',
        ...layer,
        paint: { 'fill-color': ['case', ['has', 'index'], stepExpression(rel, RATIO_BREAKS, PUOR), NO_DATA], 'fill-opacity': 0.78 },
      },
      beforeLayer,
    );
    map.addLayer(
      { id: 'shortage-lowdata', type: 'fill', ...layer, filter: ['==', ['get', 'low_data'], true], paint: { 'fill-pattern': HATCH, 'fill-opacity': 0.55 } },
      beforeLayer,
    );
    map.addLayer(
      {
        id: 'shortage-line',
        type: 'line',
        ...layer,
        filter: ['==', ['get', 'low_data'], true],
        paint: { 'line-color': '#555', 'line-width': 0.6, 'line-opacity': 0.6 },
      },
      beforeLayer,
    );
  }

  function fieldOptions() {
    const list = [...ctx.tax.fields.values()];
    const top = s.fields || [];
    const topSet = new Set(top.slice(0, 10).map((f) => f.code));
    const opt = (f) => `<option value="${esc(f.code)}"${f.code === state.sfield ? ' selected' : ''}>${esc(f.code)} ${esc(nameOf(f, f.code))}</option>`;
    const head = top.length
      ? `<optgroup label="${esc(t('shortageTopFields'))}">${top
          .slice(0, 10)
          .map((x) => opt(ctx.tax.fields.get(x.code) || { code: x.code }))
          .join('')}</optgroup>`
      : '';
    return `${head}<optgroup label="${esc(t('shortageAllFields'))}">${list
      .filter((f) => !topSet.has(f.code))
      .map(opt)
      .join('')}</optgroup>`;
  }

  function controls() {
    return `<div class="field-row compact"><label for="shortage-field">${esc(t('shortageField'))}</label>
        <select id="shortage-field">${state.sfield ? fieldOptions() : ''}</select></div>
        <div class="field-row compact"><label for="shortage-by">${esc(t('shortageBy'))}</label>
        <select id="shortage-by">${['district', 'park']
          .map((b) => `<option value="${b}"${b === state.sby ? ' selected' : ''}>${esc(t(b === 'park' ? 'parks' : 'districts'))}</option>`)
          .join('')}</select></div>`;
  }

  function legend() {
    const rho = s.city?.ratio;
    const bounds = [null, ...RATIO_BREAKS];
    const range = (from, to, f) => (from === null ? `< ${fmtDecimal(to * f)}` : to === null ? `≥ ${fmtDecimal(from * f)}` : `${fmtDecimal(from * f)}–${fmtDecimal(to * f)}`);
    const rows = bounds.map((from, i) => {
      const to = RATIO_BREAKS[i] ?? null;
      const abs = rho ? ` (${range(from, to, rho)})` : '';
      return { color: PUOR[i], label: `${range(from, to, 1)} × ρ${abs}` };
    });
    rows.push({ cls: 'hatched', label: t('shortageLowData') });
    rows.push({ color: NO_DATA, label: t('noData') });
    return `<ul class="legend-list">${swatchRows(rows)}</ul>
        <p class="legend-note">${esc(t('shortageLegendNote', { rho: rho ? fmtDecimal(rho) : '–' }))}</p>`;
  }

  /** The field with most openings in the city: the per-district field lists summed. */
  async function defaultField() {
    const districts = cx.districts;
    const lists = await Promise.all(districts.map((d) => getJson(`/api/shortage/fields?area=${encodeURIComponent(d.properties.id)}&limit=1000`)));
    const demand = new Map();
    for (const l of lists) for (const it of l.items) demand.set(it.field, (demand.get(it.field) || 0) + (it.demand || 0));
    const ranked = [...demand.entries()].filter(([, d]) => d > 0).sort((a, b) => b[1] - a[1]);
    s.fields = ranked.map(([code, d]) => ({ code, demand: d }));
    return ranked[0]?.[0] ?? [...ctx.tax.fields.keys()][0];
  }

  async function load() {
    const mine = cx.seq.next();
    if (!s.fields) {
      const best = await defaultField();
      if (!state.sfield) state.sfield = best;
    }
    addLayers();
    const src = map.getSource('shortage');
    if (src.url !== tileUrl()) src.setUrl(tileUrl());
    cx.setVisibility();
    cx.writeHash();
    const field = encodeURIComponent(state.sfield);
    // Hiring difficulty of the same areas, shown beside the index.
    const [data, hiring] = await Promise.all([
      getJson(`/api/shortage?field=${field}&by=${state.sby}&limit=30`),
      getJson(`/api/shortage/hiring?field=${field}&by=${state.sby === 'park' ? 'park' : 'district'}`).catch(() => null),
    ]);
    if (mine !== cx.seq.now() || state.view !== 'shortage') return;
    s.city = data.city;
    s.list = data;
    s.hiring = hiring;
    s.hiringById = new Map((hiring?.items || []).map((r) => [String(r.id), r]));
    cx.rerenderItem('shortage');
    renderPanel();
    // An area named in the address (a briefing card) is explained at once.
    if (state.sarea) s.explainArea = state.sarea;
    if (s.explainArea) explain(s.explainArea, false);
  }

  function rankRow(it, i) {
    const supply = it.supply === null || it.supply === undefined ? '–' : fmt(it.supply);
    const h = s.hiringById?.get(String(it.id));
    const days = h?.median_days_to_fill ?? null;
    return `<tr${it.low_data ? ' class="low-data"' : ''}>
        <td class="num">${i + 1}</td>
        <th scope="row"><button type="button" class="link-btn fly-row" data-fly="${esc(it.id)}" data-lon="${it.lon}" data-lat="${it.lat}" data-explain="${esc(it.id)}">${esc(it.name)}</button></th>
        <td class="num"><strong>${fmtDecimal(it.index)}</strong><span class="interval">${fmtDecimal(it.low)}–${fmtDecimal(it.high)}</span></td>
        <td class="num">${fmt(it.demand)}</td>
        <td class="num">${supply}</td>
        <td class="num hiring-days">${days === null ? '–' : fmt(days)}</td>
        <td class="num hiring-long">${pct(h?.share_open_long)}</td>
        <td>${it.low_data ? `<span class="swatch hatched" title="${esc(t('shortageLowData'))}"></span>` : ''}</td></tr>`;
  }

  function renderPanel() {
    const d = s.list;
    if (!d) return;
    const rows = d.items.map(rankRow).join('');
    openPanel(`
      <header class="details-head">
        <p class="eyebrow">${esc(t('viewShortage'))} · ${esc(state.sfield)}</p>
        <h2 id="details-title">${esc(cx.fieldName(state.sfield))}</h2>
      </header>
      <section>${kv([
        [t('shortageCityRatio'), `<strong>${fmtDecimal(d.city.ratio)}</strong>`],
        [t('openings'), fmt(d.city.demand)],
        [t('seekers'), fmt(d.city.supply)],
        [t('shortageEffRatio'), fmtDecimal(d.city_effective_ratio)],
        [t('hiringDays'), s.hiring?.city.median_days_to_fill == null ? '–' : fmt(s.hiring.city.median_days_to_fill)],
        [t('hiringLong'), pct(s.hiring?.city.share_open_long)],
      ])}</section>
      <section><h3>${esc(t('shortageRanking'))} · ${esc(t(state.sby === 'park' ? 'parks' : 'districts'))}</h3>
      <div class="table-wrap"><table class="rank-table" id="shortage-ranking"><thead><tr>
        <th class="num">#</th><th>${esc(t('area'))}</th><th class="num">${esc(t('shortageIndex'))}<span class="interval">${esc(t('shortageInterval'))}</span></th>
        <th class="num">${esc(t('openings'))}</th><th class="num">${esc(t('seekers'))}</th>
        <th class="num">${esc(t('hiringDays'))}</th><th class="num">${esc(t('hiringLong'))}</th><th></th></tr></thead><tbody>${rows}</tbody></table></div>
      <p class="legend-note">${esc(t('shortageRankNote', { k: ctx.k }))}</p>
      ${s.hiring ? `<p class="legend-note" id="hiring-note">${esc(t('hiringNote', { date: s.hiring.as_of ?? '–' }))}</p>` : ''}</section>
      <section id="shortage-explain" aria-live="polite">${s.explain ? explainHtml(s.explain) : `<p class="hint">${esc(t('shortageExplainHint'))}</p>`}</section>`);
  }

  async function explain(area, scroll = true) {
    s.explainArea = area;
    if (state.sarea !== area) {
      state.sarea = area;
      cx.writeHash();
    }
    const mine = cx.seq.now();
    const data = await getJson(`/api/shortage/explain?area=${encodeURIComponent(area)}&field=${encodeURIComponent(state.sfield)}`);
    if (mine !== cx.seq.now() || state.view !== 'shortage') return;
    s.explain = data;
    const el = document.getElementById('shortage-explain');
    if (el) {
      el.innerHTML = explainHtml(data);
      if (scroll) el.scrollIntoView({ block: 'nearest' });
    }
  }

  function explainHtml(d) {
    const n = d.numbers;
    const supply = n.supply === null || n.supply === undefined ? '–' : fmt(n.supply);
    const effSupply = n.effective_supply === null || n.effective_supply === undefined ? '–' : fmtDecimal(n.effective_supply);
    const ents = (d.enterprises || [])
      .map(
        (e) => `<tr><th scope="row">${esc(e.name)}</th><td class="num">${fmt(e.openings)}</td><td class="num">${fmtDecimal(e.site_effective_ratio)}</td></tr>`,
      )
      .join('');
    return `<h3>${esc(t('shortageExplain'))} · ${esc(d.area.name)}</h3>
      ${kv([
        [t('shortageDemand'), fmt(n.demand)],
        [t('shortageSupply'), supply],
        [t('shortageRawRatio'), fmtDecimal(n.ratio)],
        [t('shortageCityRatio'), fmtDecimal(d.city?.ratio)],
        [t('shortagePrior'), `Gamma(${fmtDecimal(d.prior_detail.shape)}, ${fmtDecimal(d.prior_detail.rate)}) · m = ${fmtDecimal(d.prior_detail.strength)}`],
        [t('shortageIndex'), `<strong>${fmtDecimal(n.index)}</strong>`],
        [t('shortageInterval'), `${fmtDecimal(n.low)}–${fmtDecimal(n.high)} (${fmtDecimal((d.interval ?? 0.8) * 100)}%)`],
        [t('shortageLowDataQ'), n.low_data ? `<span class="swatch hatched"></span> ${esc(t('yes'))}` : esc(t('no'))],
        [t('shortageEffSupply'), effSupply],
        [t('shortageEffRatio'), fmtDecimal(n.effective_ratio)],
        [t('shortageEffIndex'), fmtDecimal(n.effective_index)],
      ])}
      <p class="legend-note formula">${esc(d.posterior.formula)}</p>
      <p class="legend-note">${esc(d.low_data_rule)}</p>
      <p class="legend-note">${esc(t('shortageCatchment', { r: fmtDecimal(d.catchment.radius_km), decay: d.catchment.decay }))}</p>
      ${ents ? `<h3>${esc(t('shortageTopEnterprises'))}</h3><div class="table-wrap"><table><thead><tr><th>${esc(t('enterprise'))}</th><th class="num">${esc(t('openings'))}</th><th class="num">${esc(t('shortageEffRatio'))}</th></tr></thead><tbody>${ents}</tbody></table></div>` : ''}`;
  }

  /** A change of one of this view's controls in the layer panel; true when handled. */
  function onControl(el) {
    if (el.id === 'shortage-field') {
      state.sfield = el.value;
      s.explain = null;
      cx.load();
      return true;
    }
    if (el.id === 'shortage-by') {
      state.sby = el.value;
      cx.load();
      return true;
    }
    return false;
  }

  /** A click on a shortage cell explains it; true when handled. */
  function onClick(e) {
    const cell = map.queryRenderedFeatures(e.point, { layers: ['shortage-fill'] })[0];
    if (cell && cell.properties.id !== undefined) {
      if (!document.getElementById('shortage-explain')) renderPanel();
      explain(String(cell.properties.id)).catch(cx.report);
      return true;
    }
    return false;
  }

  return {
    id: 'shortage',
    layers: ['shortage-fill', 'shortage-lowdata', 'shortage-line'],
    state: s,
    controls,
    legend,
    load,
    rerender: renderPanel,
    explain,
    onControl,
    onClick,
  };
}
