// The talent flows view (人才流动): arcs of job changes and relocations
// between districts (out of the selected one orange, into it purple), its
// monthly arrivals/departures/net chart and the departure alerts of a
// month. Composed with the other views by `index.js`.

import { fmt, fmtDecimal, placeName, t } from '../i18n.js';
import { esc } from '../legend.js';
import { seriesChart } from '../chart.js';
import { ARC_COLOR, EMPTY_FC, IN_COLOR, OUT_COLOR, arc, kv, lineWidth } from './shared.js';

export function createFlowsView(cx) {
  const { map, state, ctx, getJson, openPanel, beforeLayer } = cx;
  const f = { od: null, series: null, alerts: null, months: [], available: null, flowsMax: 1 };
  let added = false;

  function addLayers() {
    if (added) return;
    added = true;
    map.addSource('flows-od', { type: 'geojson', data: EMPTY_FC });
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

  function controls() {
    if (f.available === false) return `<p class="legend-note">${esc(t('flowsUnavailable'))}</p>`;
    return `<div class="field-row compact"><label for="flows-area">${esc(t('flowsArea'))}</label>
        <select id="flows-area"><option value="">${esc(t('flowsAllAreas'))}</option>${cx.districts
          .map((p) => `<option value="${esc(p.properties.id)}"${p.properties.id === state.farea ? ' selected' : ''}>${esc(placeName(p.properties))}</option>`)
          .join('')}</select></div>
        <div class="field-row compact"><label for="flows-month">${esc(t('flowsMonth'))}</label>
        <select id="flows-month">${f.months
          .map((m) => `<option value="${m}"${m === (state.fmonth || f.alerts?.month) ? ' selected' : ''}>${m}</option>`)
          .join('')}</select></div>`;
  }

  function legend() {
    return `<ul class="legend-list">
        <li><span class="swatch line" style="background:${OUT_COLOR}"></span><span>${esc(t('flowsOut'))}</span></li>
        <li><span class="swatch line" style="background:${IN_COLOR}"></span><span>${esc(t('flowsIn'))}</span></li>
        <li><span class="swatch line thin" style="background:${ARC_COLOR}"></span><span>${esc(t('flowsOther'))}</span></li>
        <li><span class="swatch dot big" style="background:#fff;border-color:${OUT_COLOR}"></span><span>${esc(t('flowsCircle'))}</span></li>
        </ul><p class="legend-note">${esc(t('flowsLegendNote', { k: ctx.k }))}</p>`;
  }

  async function load() {
    addLayers();
    cx.setVisibility();
    const mine = cx.seq.now();
    let od;
    try {
      od = await getJson('/api/flows/od?level=district');
    } catch (err) {
      // A server without a move table has no flow routes.
      if (!/not_found|no route|HTTP 404/.test(err.message)) throw err;
      f.available = false;
      cx.rerenderItem('flows');
      openPanel(`<p class="hint">${esc(t('flowsUnavailable'))}</p>`);
      return;
    }
    f.available = true;
    if (mine !== cx.seq.now() || state.view !== 'flows') return;
    f.od = od;
    draw();
    await loadAlerts();
    if (state.farea) await loadSeries();
    else renderPanel();
  }

  function draw() {
    const od = f.od;
    if (!od || !map.getSource('flows-od')) return;
    const sel = state.farea || null;
    const feats = od.features.map((x) => {
      const p = x.properties;
      if (p.kind !== 'flow') return { ...x, properties: { ...p } };
      const dir = !sel ? 'all' : p.from === sel ? 'out' : p.to === sel ? 'in' : 'other';
      const c = x.geometry.coordinates;
      return { ...x, properties: { ...p, dir }, geometry: { type: 'LineString', coordinates: arc(c[0], c.at(-1)) } };
    });
    const max = Math.max(1, ...feats.filter((x) => x.properties.kind === 'flow').map((x) => x.properties.count || 0));
    map.getSource('flows-od').setData({ type: 'FeatureCollection', features: feats });
    map.setPaintProperty('flows-arcs', 'line-width', lineWidth(max));
    map.setPaintProperty('flows-areas', 'circle-stroke-color', ['case', ['==', ['get', 'id'], sel || ''], '#111827', OUT_COLOR]);
  }

  /** The 24 months before the latest that have 12 months of history, newest first. */
  function monthsBefore(latest) {
    const [y, m] = latest.split('-').map(Number);
    const months = [];
    for (let i = 0; i < 24; i += 1) {
      const d = new Date(Date.UTC(y, m - 1 - i, 1));
      months.push(`${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`);
    }
    return months;
  }

  async function loadAlerts() {
    const mine = cx.seq.now();
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
    if (mine !== cx.seq.now()) return;
    f.alerts = data;
    if (!f.months.length) {
      f.months = monthsBefore(data.month);
      f.latest = data.month;
    }
    cx.rerenderItem('flows');
  }

  async function loadSeries() {
    const mine = cx.seq.now();
    if (!state.farea) {
      f.series = null;
      renderPanel();
      return;
    }
    const data = await getJson(`/api/flows/series?area=${encodeURIComponent(state.farea)}`);
    if (mine !== cx.seq.now() || state.view !== 'flows') return;
    f.series = data;
    renderPanel();
  }

  function alertRow(it) {
    return `<tr${it.alert ? ' class="alert"' : ''}><th scope="row"><button type="button" class="link-btn fly-row" data-fly="${esc(it.area_id)}" data-farea="${esc(it.area_id)}"
        data-lon="${it.centre?.[0] ?? ''}" data-lat="${it.centre?.[1] ?? ''}">${esc(it.name)}</button></th>
        <td class="num">${fmt(it.departures)}</td><td class="num">${fmtDecimal(it.expected)}</td><td class="num"><strong>${fmtDecimal(it.score)}</strong></td>
        <td>${it.alert ? `<span class="badge alert-badge">${esc(t('flowsAlert'))}</span>` : ''}</td></tr>`;
  }

  function seriesHtml(s) {
    if (!s) return `<p class="hint">${esc(t('flowsChooseHint'))}</p>`;
    const months = s.months.slice(-24);
    return `<section class="chart-section">${seriesChart({
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

  function renderPanel() {
    const a = f.alerts;
    const alerts = a ? a.areas.slice(0, Math.max(10, a.items.length)) : [];
    openPanel(`
      <header class="details-head">
        <p class="eyebrow">${esc(t('viewFlows'))}${a ? ` · ${esc(a.month)}` : ''}</p>
        <h2 id="details-title">${esc(state.farea ? cx.areaName(state.farea) : t('viewFlows'))}</h2>
      </header>
      <section id="flows-series">${seriesHtml(f.series)}</section>
      <section><h3>${esc(a && a.items.length ? t('flowsAlertsTitle', { month: a.month }) : t('flowsNoAlerts', { month: a?.month ?? '' }))}</h3>
        <div class="table-wrap"><table class="rank-table" id="flows-alerts"><thead><tr><th>${esc(t('area'))}</th><th class="num">${esc(t('flowsDepartures'))}</th>
        <th class="num">${esc(t('flowsExpected'))}</th><th class="num">${esc(t('flowsScore'))}</th><th></th></tr></thead><tbody>${alerts.map(alertRow).join('')}</tbody></table></div>
        <p class="legend-note">${esc(t('flowsMethodNote', { alpha: a?.method?.alpha ?? 0.001 }))}</p></section>`);
  }

  function selectArea(id, fly) {
    state.farea = id;
    const sel = document.getElementById('flows-area');
    if (sel) sel.value = id || '';
    if (fly && id) cx.flyToArea(id);
    draw();
    cx.writeHash();
    loadSeries().catch(cx.report);
  }

  function onControl(el) {
    if (el.id === 'flows-area') {
      selectArea(el.value || null, true);
      return true;
    }
    if (el.id === 'flows-month') {
      state.fmonth = el.value === f.latest ? null : el.value;
      cx.writeHash();
      loadAlerts()
        .then(renderPanel)
        .catch(cx.report);
      return true;
    }
    return false;
  }

  /** A click on a district selects it; true when handled. */
  function onClick(e) {
    if (!f.available) return false;
    const d = map.queryRenderedFeatures(e.point, { layers: ['base-districts-fill'] })[0];
    if (d) {
      selectArea(String(d.properties.id), false);
      return true;
    }
    return false;
  }

  return {
    id: 'flows',
    layers: ['flows-arcs', 'flows-areas'],
    state: f,
    controls,
    legend,
    load,
    rerender: () => {
      if (f.available) renderPanel();
    },
    selectArea,
    onControl,
    onClick,
  };
}
