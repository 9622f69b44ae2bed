// The talent flows view (人才流动): arcs of moves between units of one level
// — districts, parks, enterprises (job changes between employers) or
// industries (no place: a ranked table instead of arcs) — from
// `/api/flows/od`. A focus (an area, or an enterprise) narrows the lines to
// those crossing it: where its leavers went and where its joiners came from,
// ranked in the panel with its totals. At the district level the map keeps
// every district arc (out of the focus orange, into it purple), the monthly
// arrivals/departures/net chart and the departure alerts of a month.
// Composed with the other views by `index.js`.

import { fmt, fmtDecimal, placeName, t } from '../i18n.js';
import { esc } from '../legend.js';
import { seriesChart } from '../chart.js';
import { ARC_COLOR, EMPTY_FC, IN_COLOR, OUT_COLOR, arc, kv, lineWidth } from './shared.js';
import { FLOW_LEVELS } from '../state.js';

export { FLOW_LEVELS };

/** Rows of each ranked list in the panel. */
const LIST_ROWS = 15;

/** The `/api/flows/od` URL for a level and a focus (`area` or `enterprise`; the enterprise wins). */
export function odUrl(level, { area = null, enterprise = null } = {}) {
  const q = [`level=${level || 'district'}`];
  if (enterprise) q.push(`enterprise=${encodeURIComponent(enterprise)}`);
  else if (area) q.push(`area=${encodeURIComponent(area)}`);
  return `/api/flows/od?${q.join('&')}`;
}

/** The focus's lines of an answer: `out` (its leavers' destinations) and `in` (its joiners' origins), largest first. */
export function focusLines(od) {
  const id = od?.focus?.id;
  const lines = (od?.features || []).map((f) => f.properties).filter((p) => p.kind === 'flow');
  if (!id) return { out: [], in: [] };
  const rank = (list) => [...list].sort((x, y) => (y.count ?? 0) - (x.count ?? 0));
  return { out: rank(lines.filter((p) => p.from === id)), in: rank(lines.filter((p) => p.to === id)) };
}

export function createFlowsView(cx) {
  const { map, state, ctx, getJson, openPanel, beforeLayer } = cx;
  const f = { od: null, full: null, series: null, alerts: null, months: [], available: null, flowsMax: 1, studyAreas: null, loading: false };
  let added = false;

  const level = () => (FLOW_LEVELS.includes(state.flevel) ? state.flevel : 'district');
  const placed = () => level() === 'district' || level() === 'park';

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
      filter: ['match', ['get', 'kind'], ['area', 'enterprise'], true, false],
      paint: {
        'circle-radius': ['interpolate', ['linear'], ['sqrt', ['coalesce', ['get', 'departures'], 0]], 0, 3, 40, 14],
        'circle-color': '#ffffff',
        'circle-opacity': 0.85,
        'circle-stroke-color': ['case', ['==', ['get', 'id'], state.farea || ''], '#111827', OUT_COLOR],
        'circle-stroke-width': 2,
      },
    });
  }

  const option = (v, label, sel) => `<option value="${esc(v)}"${sel ? ' selected' : ''}>${esc(label)}</option>`;

  /** The areas the focus select offers at this level (study areas too at the enterprise and industry levels). */
  function areaOptions() {
    const lv = level();
    const regions = (list) => list.map((p) => option(p.properties.id, placeName(p.properties), String(p.properties.id) === state.farea)).join('');
    if (lv === 'district') return regions(cx.districts);
    if (lv === 'park') return regions(cx.parks);
    const study = f.studyAreas || [];
    let extra = '';
    const known = [...cx.districts, ...cx.parks].some((p) => String(p.properties.id) === state.farea) || study.some((s) => s.id === state.farea);
    if (state.farea && !known) extra = option(state.farea, f.od?.focus?.id === state.farea ? f.od.focus.name : state.farea, true);
    return `<optgroup label="${esc(t('districts'))}">${regions(cx.districts)}</optgroup><optgroup label="${esc(t('parks'))}">${regions(cx.parks)}</optgroup>${
      study.length || extra
        ? `<optgroup label="${esc(t('flowsStudyAreas'))}">${study.map((s) => option(s.id, s.name, s.id === state.farea)).join('')}${extra}</optgroup>`
        : ''
    }`;
  }

  function controls() {
    if (f.available === false) return `<p class="legend-note">${esc(t('flowsUnavailable'))}</p>`;
    const lv = level();
    const ents = (f.od?.features || []).filter((x) => x.properties.kind === 'enterprise');
    const rows = [
      `<div class="field-row compact"><label for="flows-level">${esc(t('flowsLevel'))}</label>
        <select id="flows-level">${FLOW_LEVELS.map((l) => option(l, t(`flowsLevel_${l}`), l === lv)).join('')}</select></div>`,
      `<div class="field-row compact"><label for="flows-area">${esc(t(lv === 'park' ? 'flowsPark' : lv === 'district' ? 'flowsArea' : 'flowsFocusArea'))}</label>
        <select id="flows-area">${option('', t(lv === 'park' ? 'flowsAllParks' : lv === 'district' ? 'flowsAllAreas' : 'flowsNoFocus'), !state.farea)}${areaOptions()}</select></div>`,
    ];
    if (!placed()) {
      rows.push(`<div class="field-row compact"><label for="flows-enterprise">${esc(t('flowsEnterprise'))}</label>
        <input id="flows-enterprise" type="search" list="flows-enterprise-list" autocomplete="off" placeholder="${esc(t('flowsEnterprisePlaceholder'))}" value="${esc(
          state.fent ? (ents.find((x) => x.properties.id === state.fent)?.properties.name ?? f.od?.focus?.name ?? state.fent) : '',
        )}">
        <datalist id="flows-enterprise-list">${ents.map((x) => `<option value="${esc(x.properties.name)}"></option>`).join('')}</datalist></div>`);
    }
    if (lv === 'district') {
      rows.push(`<div class="field-row compact"><label for="flows-month">${esc(t('flowsMonth'))}</label>
        <select id="flows-month">${f.months.map((m) => option(m, m, m === (state.fmonth || f.alerts?.month))).join('')}</select></div>`);
    }
    return rows.join('');
  }

  function legend() {
    if (level() === 'industry') return `<p class="legend-note">${esc(t('flowsIndustryNote'))}</p><p class="legend-note">${esc(t('flowsLegendNote', { k: ctx.k }))}</p>`;
    const ent = level() === 'enterprise';
    return `<ul class="legend-list">
        <li><span class="swatch line" style="background:${OUT_COLOR}"></span><span>${esc(t('flowsOut'))}</span></li>
        <li><span class="swatch line" style="background:${IN_COLOR}"></span><span>${esc(t('flowsIn'))}</span></li>
        <li><span class="swatch line thin" style="background:${ARC_COLOR}"></span><span>${esc(t(ent ? 'flowsOtherEnterprises' : 'flowsOther'))}</span></li>
        <li><span class="swatch dot big" style="background:#fff;border-color:${OUT_COLOR}"></span><span>${esc(t('flowsCircle'))}</span></li>
        </ul><p class="legend-note">${esc(t(ent ? 'flowsEnterpriseNote' : 'flowsLegendNote', { k: ctx.k }))}</p>`;
  }

  /** The signed-in user's study areas for the focus select (nothing for the public). */
  async function loadStudyAreas() {
    if (f.studyAreas !== null) return;
    f.studyAreas = [];
    if (!cx.canKeepAreas()) return;
    try {
      const res = await fetch('/api/areas', { headers: { Accept: 'application/json' } });
      if (!res.ok) return;
      const fc = await res.json();
      f.studyAreas = (fc.features || []).map((x) => ({ id: x.id, name: x.properties?.name ?? x.id }));
    } catch {
      /* no list: districts and parks only */
    }
  }

  async function load() {
    addLayers();
    cx.setVisibility();
    const mine = cx.seq.now();
    f.loading = true;
    try {
      await loadOd(mine);
    } finally {
      if (mine === cx.seq.now()) f.loading = false;
    }
  }

  async function loadOd(mine) {
    const lv = level();
    const focus = { area: state.farea, enterprise: placed() ? null : state.fent };
    let od;
    let full = null;
    try {
      // At the district level every district's arcs stay on the map; the focus's own answer gives its lists.
      if (lv === 'district') {
        full = f.full?.level === 'district' ? f.full : await getJson(odUrl('district'));
        od = focus.area ? await getJson(odUrl('district', focus)) : full;
      } else {
        od = await getJson(odUrl(lv, focus));
      }
    } catch (err) {
      // A server without a move table has no flow routes.
      if (!/not_found|no route|HTTP 404/.test(err.message) || /area|enterprise/.test(err.message)) throw err;
      f.available = false;
      cx.rerenderItem('flows');
      openPanel(`<p class="hint">${esc(t('flowsUnavailable'))}</p>`);
      return;
    }
    f.available = true;
    if (mine !== cx.seq.now() || state.view !== 'flows') return;
    f.full = full;
    f.od = od;
    if (!placed()) await loadStudyAreas();
    draw();
    cx.rerenderItem('flows');
    if (lv === 'district') await loadAlerts();
    if (placed() && state.farea) await loadSeries();
    else {
      f.series = null;
      renderPanel();
    }
  }

  function draw() {
    const od = level() === 'district' && f.full ? f.full : f.od;
    if (!od || !map.getSource('flows-od')) return;
    const sel = f.od?.focus?.id ?? state.farea ?? null;
    const feats = od.features
      .filter((x) => x.geometry)
      .map((x) => {
        const p = x.properties;
        if (p.kind !== 'flow') return { ...x, properties: { ...p } };
        const dir = !sel ? 'all' : p.from === sel ? 'out' : p.to === sel ? 'in' : 'other';
        const c = x.geometry.coordinates;
        return { ...x, properties: { ...p, dir }, geometry: { type: 'LineString', coordinates: arc(c[0], c.at(-1)) } };
      });
    const max = Math.max(1, ...feats.filter((x) => x.properties.kind === 'flow').map((x) => x.properties.count || 0));
    map.getSource('flows-od').setData({ type: 'FeatureCollection', features: feats });
    map.setPaintProperty('flows-arcs', 'line-width', lineWidth(max));
    map.setPaintProperty('flows-areas', 'circle-stroke-color', ['case', ['any', ['==', ['get', 'focus'], true], ['==', ['get', 'id'], sel || '']], '#111827', OUT_COLOR]);
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
    if (!state.farea || !placed()) {
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
    if (!s) return `<p class="hint">${esc(t(level() === 'park' ? 'flowsChooseParkHint' : 'flowsChooseHint'))}</p>`;
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

  /** A row naming the other end of a focus's line: enterprises refocus, areas fly to themselves. */
  function endButton(id, name) {
    if (level() === 'enterprise') return `<button type="button" class="link-btn" data-fent="${esc(id)}">${esc(name)}</button>`;
    if (placed()) return `<button type="button" class="link-btn fly-row" data-fly="${esc(id)}">${esc(name)}</button>`;
    return esc(name);
  }

  function rankTable(id, lines, side) {
    if (!lines.length) return `<p class="hint" id="${id}-empty">${esc(t('flowsNone'))}</p>`;
    const total = lines.reduce((s, p) => s + (p.count || 0), 0);
    return `<div class="table-wrap"><table class="rank-table" id="${id}"><thead><tr><th class="num">#</th><th>${esc(t(side === 'out' ? 'flowsTo' : 'flowsFrom'))}</th>
      <th class="num">${esc(t('flowsPeople'))}</th><th class="num">%</th></tr></thead><tbody>${lines
        .slice(0, LIST_ROWS)
        .map((p, i) => {
          const [oid, oname] = side === 'out' ? [p.to, p.to_name] : [p.from, p.from_name];
          return `<tr data-id="${esc(oid)}" data-count="${p.count}"><td class="num">${i + 1}</td><th scope="row">${endButton(oid, oname)}</th>
            <td class="num"><strong>${fmt(p.count)}</strong></td><td class="num">${fmtDecimal(total ? (p.count / total) * 100 : 0)}</td></tr>`;
        })
        .join('')}</tbody></table></div>${lines.length > LIST_ROWS ? `<p class="legend-note">${esc(t('flowsMoreRows', { n: lines.length - LIST_ROWS }))}</p>` : ''}`;
  }

  function focusHtml() {
    const od = f.od;
    const focus = od?.focus;
    if (!focus) return '';
    const { out, in: inn } = focusLines(od);
    return `<section id="flows-focus" data-focus="${esc(focus.id)}" data-kind="${esc(focus.kind)}">
      ${kv([
        [t('flowsLost'), `<strong id="flows-lost">${fmt(focus.lost)}</strong>`],
        [t('flowsGained'), `<strong id="flows-gained">${fmt(focus.gained)}</strong>`],
        [t('flowsNet'), `<span id="flows-net">${fmt((focus.gained ?? 0) - (focus.lost ?? 0))}</span>`],
      ])}
      <h3>${esc(t('flowsLeaversTitle'))}</h3>${rankTable('flows-leavers', out, 'out')}
      <h3>${esc(t('flowsJoinersTitle'))}</h3>${rankTable('flows-joiners', inn, 'in')}
      <p class="legend-note">${esc(t(placed() ? 'flowsFocusNoteArea' : 'flowsFocusNoteJobs'))}</p></section>`;
  }

  /** Every line of the answer as a ranked table (the industry level, which has no map). */
  function linesHtml() {
    const lines = (f.od?.features || []).map((x) => x.properties).filter((p) => p.kind === 'flow');
    const more = f.od?.other_lines ? `<p class="legend-note">${esc(t('flowsOtherLines', { n: fmt(f.od.other_lines) }))}</p>` : '';
    return `<section><h3>${esc(t('flowsIndustryTitle'))}</h3><div class="table-wrap"><table class="rank-table" id="flows-lines"><thead><tr><th class="num">#</th>
      <th>${esc(t('flowsFrom'))}</th><th>${esc(t('flowsTo'))}</th><th class="num">${esc(t('flowsPeople'))}</th></tr></thead><tbody>${lines
        .map(
          (p, i) => `<tr data-from="${esc(p.from)}" data-to="${esc(p.to)}" data-count="${p.count}"><td class="num">${i + 1}</td><td class="wrap">${esc(p.from_name)}</td>
          <td class="wrap">${esc(p.to_name)}</td><td class="num"><strong>${fmt(p.count)}</strong></td></tr>`,
        )
        .join('')}</tbody></table></div>${more}</section>`;
  }

  function renderPanel() {
    const lv = level();
    const a = f.alerts;
    const od = f.od;
    const title = od?.focus ? od.focus.name : state.farea ? cx.areaName(state.farea) : t('viewFlows');
    const span = od ? ` · ${od.from} – ${od.to}` : '';
    const more = od?.other_lines && lv !== 'industry' ? `<p class="legend-note">${esc(t('flowsOtherLines', { n: fmt(od.other_lines) }))}</p>` : '';
    let body = focusHtml();
    if (lv === 'industry' && !od?.focus) body += linesHtml();
    else if (!od?.focus && !placed()) body += `<p class="hint">${esc(t('flowsFocusHint'))}</p>`;
    if (placed()) body += `<section id="flows-series">${seriesHtml(f.series)}</section>`;
    if (lv === 'district') {
      const alerts = a ? a.areas.slice(0, Math.max(10, a.items.length)) : [];
      body += `<section><h3>${esc(a && a.items.length ? t('flowsAlertsTitle', { month: a.month }) : t('flowsNoAlerts', { month: a?.month ?? '' }))}</h3>
        <div class="table-wrap"><table class="rank-table" id="flows-alerts"><thead><tr><th>${esc(t('area'))}</th><th class="num">${esc(t('flowsDepartures'))}</th>
        <th class="num">${esc(t('flowsExpected'))}</th><th class="num">${esc(t('flowsScore'))}</th><th></th></tr></thead><tbody>${alerts.map(alertRow).join('')}</tbody></table></div>
        <p class="legend-note">${esc(t('flowsMethodNote', { alpha: a?.method?.alpha ?? 0.001 }))}</p></section>`;
    }
    openPanel(`
      <header class="details-head" id="flows-panel" data-level="${esc(lv)}">
        <p class="eyebrow">${esc(t('viewFlows'))} · ${esc(t(`flowsLevel_${lv}`))}${esc(span)}${lv === 'district' && a ? ` · ${esc(t('flowsMonth'))} ${esc(a.month)}` : ''}</p>
        <h2 id="details-title">${esc(title)}</h2>
      </header>${more}${body}`);
  }

  function reload() {
    cx.writeHash();
    return cx.load();
  }

  function selectArea(id, fly) {
    state.farea = id || null;
    if (state.farea) state.fent = null;
    const sel = document.getElementById('flows-area');
    if (sel) sel.value = id || '';
    if (fly && id) cx.flyToArea(id);
    draw();
    reload();
  }

  function selectEnterprise(id) {
    state.fent = id || null;
    if (state.fent) state.farea = null;
    if (level() !== 'enterprise' && level() !== 'industry') state.flevel = 'enterprise';
    reload();
  }

  /** The enterprise field: a name of a point on the map, else an id as typed. */
  function enterpriseOf(text) {
    const v = text.trim();
    if (!v) return null;
    const hit = (f.od?.features || []).find((x) => x.properties.kind === 'enterprise' && (x.properties.name === v || x.properties.id === v));
    return hit ? hit.properties.id : v;
  }

  function onControl(el) {
    if (el.id === 'flows-level') {
      const lv = FLOW_LEVELS.includes(el.value) ? el.value : 'district';
      state.flevel = lv === 'district' ? null : lv;
      // A district or park focus is kept where the new level offers it.
      if (lv === 'district' && !cx.districts.some((p) => String(p.properties.id) === state.farea)) state.farea = null;
      if (lv === 'park' && !cx.parks.some((p) => String(p.properties.id) === state.farea)) state.farea = null;
      if (placed()) state.fent = null;
      f.series = null;
      reload();
      return true;
    }
    if (el.id === 'flows-area') {
      selectArea(el.value || null, true);
      return true;
    }
    if (el.id === 'flows-enterprise') {
      selectEnterprise(enterpriseOf(el.value));
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

  /** A click on an enterprise point focuses it; on a district (or park) selects it; true when handled. */
  function onClick(e) {
    if (!f.available) return false;
    const lv = level();
    if (lv === 'enterprise' && map.getLayer('flows-areas')) {
      const p = map.queryRenderedFeatures(e.point, { layers: ['flows-areas'] }).find((x) => x.properties.kind === 'enterprise');
      if (p) {
        selectEnterprise(String(p.properties.id));
        return true;
      }
      return false;
    }
    if (lv === 'industry') return false;
    const layer = lv === 'park' ? 'base-parks-fill' : 'base-districts-fill';
    const d = map.queryRenderedFeatures(e.point, { layers: [layer] })[0];
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
    selectEnterprise,
    onControl,
    onClick,
    onSession: () => {
      f.studyAreas = null;
      if (state.view === 'flows' && !placed() && f.available) loadStudyAreas().then(() => cx.rerenderItem('flows'));
    },
  };
}
