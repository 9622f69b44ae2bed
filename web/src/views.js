// Analysis views in the layer panel: shortage index (紧缺指数), commute and
// job–housing (通勤与职住) and talent flows (人才流动). One view is active at a
// time; it adds its own sources and map layers the first time it is turned
// on (so nothing is requested while it is off) and uses the detail panel for
// its ranked list, indicators and explanations.

import { fmt, fmtDecimal, getLang, nameOf, t } from './i18n.js';
import { HATCH } from './layers.js';
import { NO_DATA, PUOR, RATIO_BREAKS, VIRIDIS, quantileBreaks, stepExpression } from './ramps.js';
import { cellLegendRows, esc, swatchRows } from './legend.js';
import { barChart, seriesChart } from './chart.js';

export const VIEW_IDS = ['shortage', 'commute', 'flows'];

/** Colour of flow lines: out of the selected area (orange) and into it (purple), PuOr ends. */
const OUT_COLOR = '#e66101';
const IN_COLOR = '#5e3c99';
const ARC_COLOR = '#0f5f8a';
const STATION_NEW = '#d01c8b';

const pct = (v) => (v === null || v === undefined ? '–' : `${fmtDecimal(v * 100)}%`);
const km = (v) => (v === null || v === undefined ? '–' : `${fmtDecimal(v)} km`);

/** Points of a gentle arc from a to b (quadratic Bézier bent to the right of
 *  the direction of travel, so the two directions of a pair do not overlap). */
export function arc(a, b, bend = 0.18, n = 20) {
  const [x0, y0] = a;
  const [x1, y1] = b;
  const mx = (x0 + x1) / 2;
  const my = (y0 + y1) / 2;
  const cx = mx + (y1 - y0) * bend;
  const cy = my - (x1 - x0) * bend;
  const out = [];
  for (let i = 0; i <= n; i += 1) {
    const s = i / n;
    const u = 1 - s;
    out.push([u * u * x0 + 2 * u * s * cx + s * s * x1, u * u * y0 + 2 * u * s * cy + s * s * y1]);
  }
  return out;
}

/** A circle of `radius_m` around [lon, lat] as a GeoJSON polygon ring. */
function circle([lon, lat], radiusM, n = 48) {
  const dLat = radiusM / 111_320;
  const dLon = dLat / Math.cos((lat * Math.PI) / 180);
  const ring = [];
  for (let i = 0; i <= n; i += 1) {
    const a = (i / n) * 2 * Math.PI;
    ring.push([lon + dLon * Math.cos(a), lat + dLat * Math.sin(a)]);
  }
  return ring;
}

const lineWidth = (max) => ['interpolate', ['linear'], ['get', 'count'], 0, 1, Math.max(2, max), 9];

export function createViews({ map, state, ctx, base, regionsById, origin, getJson, writeHash, flyToArea, openPanel, beforeLayer, onViewOn }) {
  const parks = base.features.filter((f) => f.properties.kind === 'park');
  const districts = base.features.filter((f) => f.properties.kind === 'district');
  const fieldName = (code) => nameOf(ctx.tax.fields.get(String(code)), String(code));
  const areaName = (id) => regionsById.get(String(id))?.properties.name ?? String(id);
  const v = {
    shortage: { city: null, list: null, explain: null, explainArea: null, fields: null },
    commute: { breaks: [20, 50, 100, 200, 500], summary: null, underserved: null, flowsMax: 1, stations: [], placing: false, scenario: null, radius: 800 },
    flows: { od: null, series: null, alerts: null, months: [], available: null, flowsMax: 1 },
  };
  let seq = 0;

  // ---------- layers ----------
  const LAYERS = {
    shortage: ['shortage-fill', 'shortage-lowdata', 'shortage-line'],
    commute: ['commute-fill', 'commute-suppressed', 'commute-arcs', 'scenario-radius', 'scenario-stations'],
    flows: ['flows-arcs', 'flows-areas'],
  };
  const added = new Set();

  const emptyFc = { type: 'FeatureCollection', features: [] };

  function shortageUrl() {
    return `${origin}/tiles/shortage.json?field=${encodeURIComponent(state.sfield)}`;
  }
  function commuteUrl() {
    return `${origin}/tiles/commute.json?work_area=${encodeURIComponent(state.park)}`;
  }

  function addLayers(id) {
    if (added.has(id)) return;
    added.add(id);
    if (id === 'shortage') {
      map.addSource('shortage', { type: 'vector', url: shortageUrl() });
      const rel = ['/', ['get', 'index'], ['max', ['get', 'city_ratio'], 1e-9]];
      map.addLayer(
        {
          id: 'shortage-fill',
          type: 'fill',
          source: 'shortage',
          'source-layer': 'shortage',
          paint: { 'fill-color': ['case', ['has', 'index'], stepExpression(rel, RATIO_BREAKS, PUOR), NO_DATA], 'fill-opacity': 0.78 },
        },
        beforeLayer,
      );
      map.addLayer(
        {
          id: 'shortage-lowdata',
          type: 'fill',
          source: 'shortage',
          'source-layer': 'shortage',
          filter: ['==', ['get', 'low_data'], true],
          paint: { 'fill-pattern': HATCH, 'fill-opacity': 0.55 },
        },
        beforeLayer,
      );
      map.addLayer(
        {
          id: 'shortage-line',
          type: 'line',
          source: 'shortage',
          'source-layer': 'shortage',
          filter: ['==', ['get', 'low_data'], true],
          paint: { 'line-color': '#555', 'line-width': 0.6, 'line-opacity': 0.6 },
        },
        beforeLayer,
      );
    } else if (id === 'commute') {
      // The heat source is added when a park is chosen (its URL needs one).
      map.addSource('commute-flows', { type: 'geojson', data: emptyFc });
      map.addSource('scenario', { type: 'geojson', data: emptyFc });
      map.addLayer(
        {
          id: 'commute-arcs',
          type: 'line',
          source: 'commute-flows',
          layout: { 'line-cap': 'round' },
          paint: { 'line-color': ARC_COLOR, 'line-opacity': 0.55, 'line-width': lineWidth(1) },
        },
        beforeLayer,
      );
      map.addLayer({
        id: 'scenario-radius',
        type: 'line',
        source: 'scenario',
        filter: ['==', ['geometry-type'], 'Polygon'],
        paint: { 'line-color': STATION_NEW, 'line-width': 1.5, 'line-dasharray': [2, 1.5] },
      });
      map.addLayer({
        id: 'scenario-stations',
        type: 'circle',
        source: 'scenario',
        filter: ['==', ['geometry-type'], 'Point'],
        paint: { 'circle-radius': 7, 'circle-color': '#ffffff', 'circle-stroke-color': STATION_NEW, 'circle-stroke-width': 3.5 },
      });
    } else if (id === 'flows') {
      map.addSource('flows-od', { type: 'geojson', data: emptyFc });
      map.addLayer(
        {
          id: 'flows-arcs',
          type: 'line',
          source: 'flows-od',
          filter: ['==', ['get', 'kind'], 'flow'],
          layout: { 'line-cap': 'round' },
          paint: {
            'line-color': ['match', ['get', 'dir'], 'out', OUT_COLOR, 'in', IN_COLOR, ARC_COLOR],
            'line-opacity': ['match', ['get', 'dir'], 'other', 0.25, 0.8],
            'line-width': lineWidth(1),
          },
        },
        beforeLayer,
      );
      map.addLayer({
        id: 'flows-areas',
        type: 'circle',
        source: 'flows-od',
        filter: ['==', ['get', 'kind'], 'area'],
        paint: {
          'circle-radius': ['interpolate', ['linear'], ['sqrt', ['coalesce', ['get', 'departures'], 0]], 0, 3, 40, 14],
          'circle-color': '#ffffff',
          'circle-opacity': 0.85,
          'circle-stroke-color': ['case', ['==', ['get', 'id'], state.farea || ''], '#111827', OUT_COLOR],
          'circle-stroke-width': 2,
        },
      });
    }
  }

  function ensureCommuteSource() {
    if (!state.park) return;
    const src = map.getSource('commute');
    if (src) {
      if (src.url !== commuteUrl()) src.setUrl(commuteUrl());
      return;
    }
    map.addSource('commute', { type: 'vector', url: commuteUrl() });
    const first = map.getLayer('commute-arcs') ? 'commute-arcs' : beforeLayer;
    map.addLayer(
      {
        id: 'commute-fill',
        type: 'fill',
        source: 'commute',
        'source-layer': 'commute',
        filter: ['has', 'count'],
        paint: { 'fill-color': stepExpression(['get', 'count'], v.commute.breaks, VIRIDIS), 'fill-opacity': 0.78 },
      },
      first,
    );
    map.addLayer(
      {
        id: 'commute-suppressed',
        type: 'fill',
        source: 'commute',
        'source-layer': 'commute',
        filter: ['==', ['get', 'suppressed'], true],
        paint: { 'fill-pattern': HATCH, 'fill-opacity': 0.85 },
      },
      first,
    );
  }

  function setVisibility() {
    for (const id of VIEW_IDS) {
      const vis = state.view === id ? 'visible' : 'none';
      for (const l of LAYERS[id]) if (map.getLayer(l)) map.setLayoutProperty(l, 'visibility', vis);
      const li = document.querySelector(`.layer[data-view="${id}"]`);
      if (li) {
        li.classList.toggle('on', state.view === id);
        li.querySelector('input[data-view]').checked = state.view === id;
      }
    }
    map.getCanvas().style.cursor = state.view === 'commute' && v.commute.placing ? 'crosshair' : '';
  }

  // ---------- layer panel ----------
  function fieldOptions() {
    const list = [...ctx.tax.fields.values()];
    const top = v.shortage.fields || [];
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

  function controls(id) {
    if (id === 'shortage') {
      return `<div class="field-row compact"><label for="shortage-field">${esc(t('shortageField'))}</label>
        <select id="shortage-field">${state.sfield ? fieldOptions() : ''}</select></div>
        <div class="field-row compact"><label for="shortage-by">${esc(t('shortageBy'))}</label>
        <select id="shortage-by">${['district', 'park']
          .map((b) => `<option value="${b}"${b === state.sby ? ' selected' : ''}>${esc(t(b === 'park' ? 'parks' : 'districts'))}</option>`)
          .join('')}</select></div>`;
    }
    if (id === 'commute') {
      return `<div class="field-row compact"><label for="commute-park">${esc(t('commutePark'))}</label>
        <select id="commute-park"><option value="">${esc(t('commuteChoosePark'))}</option>${parks
          .map((p) => `<option value="${esc(p.properties.id)}"${p.properties.id === state.park ? ' selected' : ''}>${esc(p.properties.name)}</option>`)
          .join('')}</select></div>`;
    }
    if (id === 'flows') {
      if (v.flows.available === false) return `<p class="legend-note">${esc(t('flowsUnavailable'))}</p>`;
      return `<div class="field-row compact"><label for="flows-area">${esc(t('flowsArea'))}</label>
        <select id="flows-area"><option value="">${esc(t('flowsAllAreas'))}</option>${districts
          .map((p) => `<option value="${esc(p.properties.id)}"${p.properties.id === state.farea ? ' selected' : ''}>${esc(p.properties.name)}</option>`)
          .join('')}</select></div>
        <div class="field-row compact"><label for="flows-month">${esc(t('flowsMonth'))}</label>
        <select id="flows-month">${v.flows.months
          .map((m) => `<option value="${m}"${m === (state.fmonth || v.flows.alerts?.month) ? ' selected' : ''}>${m}</option>`)
          .join('')}</select></div>`;
    }
    return '';
  }

  function legend(id) {
    if (id === 'shortage') {
      const rho = v.shortage.city?.ratio;
      const bounds = [null, ...RATIO_BREAKS];
      const rows = bounds.map((from, i) => {
        const to = RATIO_BREAKS[i] ?? null;
        const rel = from === null ? `< ${fmtDecimal(to)}` : to === null ? `≥ ${fmtDecimal(from)}` : `${fmtDecimal(from)}–${fmtDecimal(to)}`;
        const abs = rho ? ` (${from === null ? `< ${fmtDecimal(to * rho)}` : to === null ? `≥ ${fmtDecimal(from * rho)}` : `${fmtDecimal(from * rho)}–${fmtDecimal(to * rho)}`})` : '';
        return { color: PUOR[i], label: `${rel} × ρ${abs}` };
      });
      rows.push({ cls: 'hatched', label: t('shortageLowData') });
      rows.push({ color: NO_DATA, label: t('noData') });
      return `<ul class="legend-list">${swatchRows(rows)}</ul>
        <p class="legend-note">${esc(t('shortageLegendNote', { rho: rho ? fmtDecimal(rho) : '–' }))}</p>`;
    }
    if (id === 'commute') {
      const rows = cellLegendRows(v.commute.breaks, VIRIDIS, ctx.k);
      rows.push({ cls: 'hatched', label: t('suppressed', { k: ctx.k }) });
      return `<ul class="legend-list">${swatchRows(rows)}
        <li><span class="swatch line" style="background:${ARC_COLOR}"></span><span>${esc(t('commuteArcs'))}</span></li>
        <li><span class="swatch dot ring hollow" style="border-color:${STATION_NEW}"></span><span>${esc(t('scenarioStation'))}</span></li></ul>
        <p class="legend-note">${esc(state.park ? t('commuteHeatNote', { name: areaName(state.park) }) : t('commuteChooseHint'))}</p>`;
    }
    if (id === 'flows') {
      return `<ul class="legend-list">
        <li><span class="swatch line" style="background:${OUT_COLOR}"></span><span>${esc(t('flowsOut'))}</span></li>
        <li><span class="swatch line" style="background:${IN_COLOR}"></span><span>${esc(t('flowsIn'))}</span></li>
        <li><span class="swatch line thin" style="background:${ARC_COLOR}"></span><span>${esc(t('flowsOther'))}</span></li>
        <li><span class="swatch dot big" style="background:#fff;border-color:${OUT_COLOR}"></span><span>${esc(t('flowsCircle'))}</span></li>
        </ul><p class="legend-note">${esc(t('flowsLegendNote', { k: ctx.k }))}</p>`;
    }
    return '';
  }

  function layerItems() {
    return VIEW_IDS.map((id) => {
      const on = state.view === id;
      const cap = id[0].toUpperCase() + id.slice(1);
      return `<li class="layer view${on ? ' on' : ''}" data-view="${id}">
        <label class="toggle">
          <input type="checkbox" id="view-${id}" data-view="${id}"${on ? ' checked' : ''} aria-describedby="view-note-${id}">
          <span class="toggle-track" aria-hidden="true"></span>
          <span class="layer-name">${esc(t(`view${cap}`))}</span>
        </label>
        <p class="layer-note" id="view-note-${id}">${esc(t(`view${cap}Note`))}</p>
        <div class="layer-body"><div class="view-controls">${controls(id)}</div><div class="legend">${legend(id)}</div></div>
      </li>`;
    }).join('');
  }

  function rerenderItem(id) {
    const li = document.querySelector(`.layer[data-view="${id}"]`);
    if (!li) return;
    li.querySelector('.view-controls').innerHTML = controls(id);
    li.querySelector('.legend').innerHTML = legend(id);
  }

  // ---------- shortage ----------
  async function defaultField() {
    // The field with most openings in the city: sum the per-district field lists.
    const lists = await Promise.all(districts.map((d) => getJson(`/api/shortage/fields?area=${encodeURIComponent(d.properties.id)}&limit=1000`)));
    const demand = new Map();
    for (const l of lists) for (const it of l.items) demand.set(it.field, (demand.get(it.field) || 0) + (it.demand || 0));
    const ranked = [...demand.entries()].filter(([, d]) => d > 0).sort((a, b) => b[1] - a[1]);
    v.shortage.fields = ranked.map(([code, d]) => ({ code, demand: d }));
    return ranked[0]?.[0] ?? [...ctx.tax.fields.keys()][0];
  }

  async function loadShortage() {
    const mine = (seq += 1);
    if (!v.shortage.fields) {
      const best = await defaultField();
      if (!state.sfield) state.sfield = best;
    }
    addLayers('shortage');
    const src = map.getSource('shortage');
    if (src.url !== shortageUrl()) src.setUrl(shortageUrl());
    setVisibility();
    writeHash();
    const data = await getJson(`/api/shortage?field=${encodeURIComponent(state.sfield)}&by=${state.sby}&limit=30`);
    if (mine !== seq || state.view !== 'shortage') return;
    v.shortage.city = data.city;
    v.shortage.list = data;
    rerenderItem('shortage');
    renderShortagePanel();
    if (v.shortage.explainArea) explainShortage(v.shortage.explainArea, false);
  }

  function renderShortagePanel() {
    const d = v.shortage.list;
    if (!d) return;
    const rows = d.items
      .map(
        (it, i) => `<tr${it.low_data ? ' class="low-data"' : ''}>
        <td class="num">${i + 1}</td>
        <th scope="row"><button type="button" class="link-btn fly-row" data-fly="${esc(it.id)}" data-lon="${it.lon}" data-lat="${it.lat}" data-explain="${esc(it.id)}">${esc(it.name)}</button></th>
        <td class="num"><strong>${fmtDecimal(it.index)}</strong></td>
        <td class="num">${fmtDecimal(it.low)}–${fmtDecimal(it.high)}</td>
        <td class="num">${fmt(it.demand)}</td>
        <td class="num">${it.supply === null || it.supply === undefined ? esc(it.supply_band ?? '–') : fmt(it.supply)}</td>
        <td>${it.low_data ? `<span class="swatch hatched" title="${esc(t('shortageLowData'))}"></span>` : ''}</td></tr>`,
      )
      .join('');
    openPanel(`
      <header class="details-head">
        <p class="eyebrow">${esc(t('viewShortage'))} · ${esc(state.sfield)}</p>
        <h2 id="details-title">${esc(fieldName(state.sfield))}</h2>
      </header>
      <section>${kv([
        [t('shortageCityRatio'), `<strong>${fmtDecimal(d.city.ratio)}</strong>`],
        [t('openings'), fmt(d.city.demand)],
        [t('seekers'), fmt(d.city.supply)],
        [t('shortageEffRatio'), fmtDecimal(d.city_effective_ratio)],
      ])}</section>
      <section><h3>${esc(t('shortageRanking'))} · ${esc(t(state.sby === 'park' ? 'parks' : 'districts'))}</h3>
      <div class="table-wrap"><table class="rank-table" id="shortage-ranking"><thead><tr>
        <th class="num">#</th><th>${esc(t('area'))}</th><th class="num">${esc(t('shortageIndex'))}</th><th class="num">${esc(t('shortageInterval'))}</th>
        <th class="num">${esc(t('openings'))}</th><th class="num">${esc(t('seekers'))}</th><th></th></tr></thead><tbody>${rows}</tbody></table></div>
      <p class="legend-note">${esc(t('shortageRankNote', { k: ctx.k }))}</p></section>
      <section id="shortage-explain" aria-live="polite">${v.shortage.explain ? explainHtml(v.shortage.explain) : `<p class="hint">${esc(t('shortageExplainHint'))}</p>`}</section>`);
  }

  async function explainShortage(area, scroll = true) {
    v.shortage.explainArea = area;
    const mine = seq;
    const data = await getJson(`/api/shortage/explain?area=${encodeURIComponent(area)}&field=${encodeURIComponent(state.sfield)}`);
    if (mine !== seq || state.view !== 'shortage') return;
    v.shortage.explain = data;
    const el = document.getElementById('shortage-explain');
    if (el) {
      el.innerHTML = explainHtml(data);
      if (scroll) el.scrollIntoView({ block: 'nearest' });
    }
  }

  function explainHtml(d) {
    const n = d.numbers;
    const supply = n.supply === null || n.supply === undefined ? esc(n.supply_band ?? '–') : fmt(n.supply);
    const effSupply = n.effective_supply === null || n.effective_supply === undefined ? esc(n.effective_supply_band ?? '–') : fmtDecimal(n.effective_supply);
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

  // ---------- commute ----------
  async function loadCommuteBase() {
    addLayers('commute');
    setVisibility();
    const mine = seq;
    const [flows, under] = await Promise.all([getJson('/api/commute/flows?level=district'), getJson('/api/commute/underserved?limit=20')]);
    if (mine !== seq || state.view !== 'commute') return;
    const max = Math.max(1, ...flows.features.map((f) => f.properties.count || 0));
    v.commute.flowsMax = max;
    map.getSource('commute-flows').setData({
      type: 'FeatureCollection',
      features: flows.features.map((f) => ({ ...f, geometry: { type: 'LineString', coordinates: arc(f.geometry.coordinates[0], f.geometry.coordinates.at(-1)) } })),
    });
    map.setPaintProperty('commute-arcs', 'line-width', lineWidth(max));
    v.commute.underserved = under;
    await loadCommutePark();
  }

  async function loadCommutePark() {
    const mine = seq;
    if (state.park) {
      ensureCommuteSource();
      setVisibility();
      v.commute.summary = await getJson(`/api/commute/summary?area=${encodeURIComponent(state.park)}`);
      if (mine !== seq || state.view !== 'commute') return;
    } else {
      v.commute.summary = null;
    }
    writeHash();
    rerenderItem('commute');
    renderCommutePanel();
  }

  function commuteSummaryHtml(s) {
    if (!s) return `<p class="hint">${esc(t('commuteChooseHint'))}</p>`;
    const chart = barChart({
      title: t('commuteHistogram'),
      rows: s.histogram.map((b) => ({ label: b.to_km === null ? `≥ ${fmt(b.from_km)} km` : `${fmt(b.from_km)}–${fmt(b.to_km)} km`, values: [b.count] })),
      series: [{ name: t('workers'), color: '#2a788e' }],
    });
    return `<section><h3>${esc(t('commuteIndicators'))} · ${esc(s.name)}</h3>${kv([
      [t('workers'), fmt(s.workers)],
      [t('commuteMean'), km(s.mean_commute_km)],
      [t('commuteMedian'), `<strong>${km(s.median_commute_km)}</strong>`],
      [t('commuteWithin5'), pct(s.share_within_5km)],
      [t('commuteOver20'), pct(s.share_over_20km)],
      [t('commuteHomesRail'), pct(s.share_homes_near_rail)],
      [t('commuteJobsRail'), pct(s.share_jobs_near_rail)],
      [t('commuteJobHousing'), fmtDecimal(s.job_housing_ratio)],
      [t('commuteYoung'), pct(s.young_share)],
    ])}<p class="legend-note">${esc(t('commuteMethodNote', { r: fmt(s.walk_radius_m) }))}</p></section>
    <section class="chart-section">${chart}</section>`;
  }

  function underservedRows(items, scenario) {
    return items
      .map((it) => {
        const name = `<button type="button" class="link-btn fly-row" data-fly="${esc(it.id)}" data-park="${esc(it.id)}">${esc(it.name)}</button>`;
        if (scenario) {
          const moved = it.rank !== it.rank_before || it.score !== it.score_before;
          return `<tr${moved ? ' class="changed"' : ''}><td class="num">${fmt(it.rank_before)} → <strong>${fmt(it.rank)}</strong></td><th scope="row">${name}</th>
            <td class="num">${fmtDecimal(it.score_before)} → <strong>${fmtDecimal(it.score)}</strong></td></tr>`;
        }
        return `<tr><td class="num">${fmt(it.rank)}</td><th scope="row" title="${esc(getLang() === 'zh' ? it.reason : it.reason_en)}">${name}</th>
          <td class="num"><strong>${fmtDecimal(it.score)}</strong></td><td class="num">${km(it.median_commute_km)}</td><td class="num">${km(it.nearest_station_m / 1000)}</td></tr>`;
      })
      .join('');
  }

  function renderCommutePanel() {
    const u = v.commute.underserved;
    const sc = v.commute.scenario;
    const stations = v.commute.stations
      .map(
        (s, i) => `<li>${fmtDecimal(s.lon)}, ${fmtDecimal(s.lat)} · ${fmt(s.radius_m)} m
        <button type="button" class="link-btn" data-remove-station="${i}" aria-label="${esc(t('scenarioRemove'))}">×</button></li>`,
      )
      .join('');
    openPanel(`
      <header class="details-head">
        <p class="eyebrow">${esc(t('viewCommute'))}</p>
        <h2 id="details-title">${esc(state.park ? areaName(state.park) : t('viewCommute'))}</h2>
      </header>
      ${commuteSummaryHtml(v.commute.summary)}
      <section><h3>${esc(t('underservedTitle'))}</h3>
        <div class="table-wrap"><table class="rank-table" id="underserved-list"><thead><tr><th class="num">#</th><th>${esc(t('parks'))}</th>
        <th class="num">${esc(t('underservedScore'))}</th><th class="num">${esc(t('commuteMedian'))}</th><th class="num">${esc(t('nearestStation'))}</th></tr></thead>
        <tbody>${u ? underservedRows(u.items, false) : ''}</tbody></table></div>
        <p class="legend-note formula">${esc(u?.formula ?? '')}</p></section>
      <section id="scenario"><h3>${esc(t('scenarioTitle'))}</h3>
        <p class="hint">${esc(t('scenarioHint'))}</p>
        <div class="scenario-row">
          <button type="button" id="scenario-place" class="btn" aria-pressed="${v.commute.placing}">${esc(t(v.commute.placing ? 'scenarioPlacing' : 'scenarioPlace'))}</button>
          <label for="scenario-radius">${esc(t('scenarioRadius'))}</label>
          <input id="scenario-radius" type="number" min="100" max="5000" step="100" value="${v.commute.radius}">
        </div>
        <ul class="station-list">${stations}</ul>
        <div class="scenario-row">
          <button type="button" id="scenario-run" class="btn primary"${v.commute.stations.length ? '' : ' disabled'}>${esc(t('scenarioRun'))}</button>
          <button type="button" id="scenario-clear" class="link-btn"${v.commute.stations.length ? '' : ' disabled'}>${esc(t('scenarioClear'))}</button>
        </div>
        ${
          sc
            ? `<p class="scenario-summary">${esc(t('scenarioServed', { homes: fmt(sc.newly_served_homes), jobs: fmt(sc.newly_served_jobs) }))}</p>
          <div class="table-wrap"><table class="rank-table" id="scenario-result"><thead><tr><th class="num">${esc(t('scenarioRank'))}</th><th>${esc(t('parks'))}</th>
          <th class="num">${esc(t('underservedScore'))}</th></tr></thead><tbody>${underservedRows(sc.underserved.items, true)}</tbody></table></div>`
            : ''
        }
      </section>`);
  }

  function drawStations() {
    const src = map.getSource('scenario');
    if (!src) return;
    src.setData({
      type: 'FeatureCollection',
      features: v.commute.stations.flatMap((s) => [
        { type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [s.lon, s.lat] } },
        { type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [circle([s.lon, s.lat], s.radius_m)] } },
      ]),
    });
  }

  async function runScenario() {
    const body = { stations: v.commute.stations.map(({ lon, lat, radius_m }) => ({ lon, lat, radius_m })), limit: 20 };
    const res = await fetch('/api/commute/scenario', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`/api/commute/scenario: HTTP ${res.status}`);
    v.commute.scenario = await res.json();
    v.commute.placing = false;
    setVisibility();
    renderCommutePanel();
    document.getElementById('scenario-result')?.scrollIntoView({ block: 'nearest' });
  }

  // ---------- flows ----------
  async function loadFlows() {
    addLayers('flows');
    setVisibility();
    const mine = seq;
    let od;
    try {
      od = await getJson('/api/flows/od?level=district');
    } catch (err) {
      if (!/not_found|no route|HTTP 404/.test(err.message)) throw err;
      v.flows.available = false;
      rerenderItem('flows');
      openPanel(`<p class="hint">${esc(t('flowsUnavailable'))}</p>`);
      return;
    }
    v.flows.available = true;
    if (mine !== seq || state.view !== 'flows') return;
    v.flows.od = od;
    drawFlows();
    await loadAlerts();
    if (state.farea) await loadSeries();
    else renderFlowsPanel();
  }

  function drawFlows() {
    const od = v.flows.od;
    if (!od || !map.getSource('flows-od')) return;
    const sel = state.farea || null;
    const feats = od.features.map((f) => {
      const p = f.properties;
      if (p.kind !== 'flow') return { ...f, properties: { ...p } };
      const dir = !sel ? 'all' : p.from === sel ? 'out' : p.to === sel ? 'in' : 'other';
      const c = f.geometry.coordinates;
      return { ...f, properties: { ...p, dir }, geometry: { type: 'LineString', coordinates: arc(c[0], c.at(-1)) } };
    });
    const max = Math.max(1, ...feats.filter((f) => f.properties.kind === 'flow').map((f) => f.properties.count || 0));
    map.getSource('flows-od').setData({ type: 'FeatureCollection', features: feats });
    map.setPaintProperty('flows-arcs', 'line-width', lineWidth(max));
    map.setPaintProperty('flows-areas', 'circle-stroke-color', ['case', ['==', ['get', 'id'], sel || ''], '#111827', OUT_COLOR]);
  }

  async function loadAlerts() {
    const mine = seq;
    const q = state.fmonth ? `?month=${encodeURIComponent(state.fmonth)}` : '';
    let data;
    try {
      data = await getJson(`/api/flows/alerts${q}`);
    } catch (err) {
      // A month out of range in a shared link: fall back to the latest.
      if (!state.fmonth) throw err;
      state.fmonth = null;
      data = await getJson('/api/flows/alerts');
    }
    if (mine !== seq) return;
    v.flows.alerts = data;
    if (!v.flows.months.length) {
      // The months offered: the 24 before the latest that have 12 months of history, newest first.
      const [y, m] = data.month.split('-').map(Number);
      const months = [];
      for (let i = 0; i < 24; i += 1) {
        const d = new Date(Date.UTC(y, m - 1 - i, 1));
        months.push(`${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`);
      }
      v.flows.months = months;
      v.flows.latest = data.month;
    }
    rerenderItem('flows');
  }

  async function loadSeries() {
    const mine = seq;
    if (!state.farea) {
      v.flows.series = null;
      renderFlowsPanel();
      return;
    }
    const data = await getJson(`/api/flows/series?area=${encodeURIComponent(state.farea)}`);
    if (mine !== seq || state.view !== 'flows') return;
    v.flows.series = data;
    renderFlowsPanel();
  }

  function renderFlowsPanel() {
    const a = v.flows.alerts;
    const s = v.flows.series;
    const alerts = a ? a.areas.slice(0, Math.max(10, a.items.length)) : [];
    const alertRows = alerts
      .map(
        (it) => `<tr${it.alert ? ' class="alert"' : ''}><th scope="row"><button type="button" class="link-btn fly-row" data-fly="${esc(it.area_id)}" data-farea="${esc(it.area_id)}"
        data-lon="${it.centre?.[0] ?? ''}" data-lat="${it.centre?.[1] ?? ''}">${esc(it.name)}</button></th>
        <td class="num">${fmt(it.departures)}</td><td class="num">${fmtDecimal(it.expected)}</td><td class="num"><strong>${fmtDecimal(it.score)}</strong></td>
        <td>${it.alert ? `<span class="badge alert-badge">${esc(t('flowsAlert'))}</span>` : ''}</td></tr>`,
      )
      .join('');
    let seriesHtml = `<p class="hint">${esc(t('flowsChooseHint'))}</p>`;
    if (s) {
      const months = s.months.slice(-24);
      seriesHtml = `<section class="chart-section">${seriesChart({
        title: t('flowsSeriesTitle', { name: s.area.name }),
        months: months.map((m) => m.month),
        series: [
          { name: t('flowsArrivals'), color: IN_COLOR, values: months.map((m) => m.arrivals) },
          { name: t('flowsDepartures'), color: OUT_COLOR, values: months.map((m) => m.departures) },
        ],
        net: months.map((m) => m.net),
        netName: t('flowsNet'),
      })}</section>
      ${kv([
        [t('talents'), fmt(s.talents)],
        [t('flowsNetLast'), `${fmt(months.at(-1)?.net)} (${fmtDecimal(months.at(-1)?.net_rate)}‰)`],
      ])}`;
    }
    openPanel(`
      <header class="details-head">
        <p class="eyebrow">${esc(t('viewFlows'))}${a ? ` · ${esc(a.month)}` : ''}</p>
        <h2 id="details-title">${esc(state.farea ? areaName(state.farea) : t('viewFlows'))}</h2>
      </header>
      <section id="flows-series">${seriesHtml}</section>
      <section><h3>${esc(a && a.items.length ? t('flowsAlertsTitle', { month: a.month }) : t('flowsNoAlerts', { month: a?.month ?? '' }))}</h3>
        <div class="table-wrap"><table class="rank-table" id="flows-alerts"><thead><tr><th>${esc(t('area'))}</th><th class="num">${esc(t('flowsDepartures'))}</th>
        <th class="num">${esc(t('flowsExpected'))}</th><th class="num">${esc(t('flowsScore'))}</th><th></th></tr></thead><tbody>${alertRows}</tbody></table></div>
        <p class="legend-note">${esc(t('flowsMethodNote', { alpha: a?.method?.alpha ?? 0.001 }))}</p></section>`);
  }

  // ---------- shared ----------
  function kv(pairs) {
    return `<dl class="kv">${pairs
      .filter(Boolean)
      .map(([k, val]) => `<dt>${esc(k)}</dt><dd>${val}</dd>`)
      .join('')}</dl>`;
  }

  const report = (err) => {
    console.warn(err);
    openPanel(`<p class="error">${esc(t('loadError', { msg: err.message }))}</p>`);
  };

  function load() {
    seq += 1;
    if (state.view === 'shortage') return loadShortage().catch(report);
    if (state.view === 'commute') return loadCommuteBase().catch(report);
    if (state.view === 'flows') return loadFlows().catch(report);
    return Promise.resolve();
  }

  function setView(id) {
    state.view = VIEW_IDS.includes(id) ? id : null;
    v.commute.placing = false;
    setVisibility();
    writeHash();
    return load();
  }

  // Layer panel controls.
  document.getElementById('layer-list').addEventListener('change', (ev) => {
    const el = ev.target;
    if (el.dataset.view) {
      // The view's colours replace the cell layers' (enterprises stay).
      if (el.checked) onViewOn?.();
      setView(el.checked ? el.dataset.view : null);
      if (!el.checked) document.getElementById('details-close').click();
    } else if (el.id === 'shortage-field') {
      state.sfield = el.value;
      v.shortage.explain = null;
      load();
    } else if (el.id === 'shortage-by') {
      state.sby = el.value;
      load();
    } else if (el.id === 'commute-park') {
      selectPark(el.value || null, true);
    } else if (el.id === 'flows-area') {
      selectFlowArea(el.value || null, true);
    } else if (el.id === 'flows-month') {
      state.fmonth = el.value === v.flows.latest ? null : el.value;
      writeHash();
      loadAlerts()
        .then(renderFlowsPanel)
        .catch(report);
    }
  });

  function selectPark(id, fly) {
    state.park = id;
    v.commute.scenario = null;
    const sel = document.getElementById('commute-park');
    if (sel) sel.value = id || '';
    if (fly && id) flyToArea(id);
    loadCommutePark().catch(report);
  }

  function selectFlowArea(id, fly) {
    state.farea = id;
    const sel = document.getElementById('flows-area');
    if (sel) sel.value = id || '';
    if (fly && id) flyToArea(id);
    drawFlows();
    writeHash();
    loadSeries().catch(report);
  }

  // Panel buttons (rows fly to their area; scenario tool).
  document.getElementById('details').addEventListener('click', (ev) => {
    const row = ev.target.closest('[data-fly]');
    if (row) {
      const lon = Number(row.dataset.lon);
      const lat = Number(row.dataset.lat);
      flyToArea(row.dataset.fly, Number.isFinite(lon) && row.dataset.lon ? [lon, lat] : null);
      if (row.dataset.explain) explainShortage(row.dataset.explain).catch(report);
      if (row.dataset.park && state.view === 'commute') selectPark(row.dataset.park, false);
      if (row.dataset.farea) selectFlowArea(row.dataset.farea, false);
      return;
    }
    const target = ev.target.closest('button');
    if (!target) return;
    if (target.id === 'scenario-place') {
      v.commute.placing = !v.commute.placing;
      setVisibility();
      renderCommutePanel();
      document.getElementById('scenario-place')?.focus();
    } else if (target.id === 'scenario-run') {
      runScenario().catch(report);
    } else if (target.id === 'scenario-clear') {
      v.commute.stations = [];
      v.commute.scenario = null;
      drawStations();
      renderCommutePanel();
    } else if (target.dataset.removeStation !== undefined) {
      v.commute.stations.splice(Number(target.dataset.removeStation), 1);
      drawStations();
      renderCommutePanel();
    }
  });
  document.getElementById('details').addEventListener('change', (ev) => {
    if (ev.target.id === 'scenario-radius') {
      const r = Number(ev.target.value);
      if (r > 0 && r <= 5000) v.commute.radius = r;
    }
  });

  /** Map clicks while a view is on; returns true when handled. */
  function onClick(e) {
    if (state.view === 'commute') {
      if (v.commute.placing) {
        v.commute.stations.push({ lon: Number(e.lngLat.lng.toFixed(6)), lat: Number(e.lngLat.lat.toFixed(6)), radius_m: v.commute.radius });
        drawStations();
        renderCommutePanel();
        return true;
      }
      const park = map.queryRenderedFeatures(e.point, { layers: ['base-parks-fill'] })[0];
      if (park) {
        selectPark(String(park.properties.id), false);
        return true;
      }
      return false;
    }
    if (state.view === 'shortage') {
      const cell = map.queryRenderedFeatures(e.point, { layers: ['shortage-fill'] })[0];
      if (cell && cell.properties.id !== undefined) {
        if (!document.getElementById('shortage-explain')) renderShortagePanel();
        explainShortage(String(cell.properties.id)).catch(report);
        return true;
      }
      return false;
    }
    if (state.view === 'flows' && v.flows.available) {
      const d = map.queryRenderedFeatures(e.point, { layers: ['base-districts-fill'] })[0];
      if (d) {
        selectFlowArea(String(d.properties.id), false);
        return true;
      }
    }
    return false;
  }

  /** Class breaks of the commute heat from the cells loaded now. */
  function onIdle() {
    if (state.view !== 'commute' || !map.getSource('commute')) return;
    const values = map.querySourceFeatures('commute', { sourceLayer: 'commute', filter: ['has', 'count'] }).map((f) => f.properties.count);
    const b = quantileBreaks(values, 6, ctx.k);
    if (b.length && b.join() !== v.commute.breaks.join()) {
      v.commute.breaks = b;
      map.setPaintProperty('commute-fill', 'fill-color', stepExpression(['get', 'count'], b, VIRIDIS));
      rerenderItem('commute');
    }
  }

  /** Re-renders the open view's panel (after a language switch). */
  function rerender() {
    if (state.view === 'shortage') renderShortagePanel();
    else if (state.view === 'commute') renderCommutePanel();
    else if (state.view === 'flows' && v.flows.available) renderFlowsPanel();
  }

  /** A hash edited by hand or back/forward. */
  function applyState(next) {
    const changed = ['view', 'sfield', 'sby', 'park', 'farea', 'fmonth'].some((k) => next[k] !== state[k]);
    if (!changed) return;
    for (const k of ['view', 'sfield', 'sby', 'park', 'farea', 'fmonth']) state[k] = next[k];
    setVisibility();
    load();
  }

  return { layerItems, setView, load, onClick, onIdle, rerender, applyState, setVisibility, state: v };
}
