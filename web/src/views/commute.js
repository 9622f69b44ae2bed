// The commute and job–housing view (通勤与职住): homes of one park's
// workers as heat cells, district commute arcs, the park's indicators and
// distance histogram, the underserved-park ranking, and the station
// scenario tool (place hypothetical stations, rank the parks again).
// Composed with the other views by `index.js`.

import { fmt, fmtDecimal, getLang, placeName, t } from '../i18n.js';
import { HATCH } from '../layers.js';
import { VIRIDIS, quantileBreaks, stepExpression } from '../ramps.js';
import { cellLegendRows, esc, swatchRows } from '../legend.js';
import { barChart } from '../chart.js';
import { ARC_COLOR, EMPTY_FC, STATION_NEW, arc, circle, km, kv, lineWidth, pct } from './shared.js';

export function createCommuteView(cx) {
  const { map, state, ctx, getJson, openPanel, beforeLayer } = cx;
  const c = { breaks: [20, 50, 100, 200, 500], summary: null, underserved: null, flowsMax: 1, stations: [], placing: false, scenario: null, radius: 800 };
  let added = false;

  // `work_area`: homes of the area's workers; `home_area` (cside=home): workplaces of its residents.
  const side = () => (state.cside === 'home' ? 'home' : 'work');
  const tileUrl = () => `${cx.origin}/tiles/commute.json?${side()}_area=${encodeURIComponent(state.park)}`;
  const isStudy = (id) => /^sa_/.test(id || '');
  /** The area's name: a park's or district's, else the one given with a study area. */
  const label = () => (state.park && c.label?.id === state.park ? c.label.name : cx.areaName(state.park));

  // The heat source is added when a park is chosen (its URL needs one).
  function addLayers() {
    if (added) return;
    added = true;
    map.addSource('commute-flows', { type: 'geojson', data: EMPTY_FC });
    map.addSource('scenario', { type: 'geojson', data: EMPTY_FC });
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
  }

  function ensureHeatSource() {
    if (!state.park) return;
    const src = map.getSource('commute');
    if (src) {
      if (src.url !== tileUrl()) src.setUrl(tileUrl());
      return;
    }
    map.addSource('commute', { type: 'vector', url: tileUrl() });
    const first = map.getLayer('commute-arcs') ? 'commute-arcs' : beforeLayer;
    const layer = { source: 'commute', 'source-layer': 'commute' };
    map.addLayer(
      {
        id: 'commute-fill',
        type: 'fill',
        ...layer,
        filter: ['has', 'count'],
        paint: { 'fill-color': stepExpression(['get', 'count'], c.breaks, VIRIDIS), 'fill-opacity': 0.78 },
      },
      first,
    );
    map.addLayer(
      { id: 'commute-suppressed', type: 'fill', ...layer, filter: ['==', ['get', 'suppressed'], true], paint: { 'fill-pattern': HATCH, 'fill-opacity': 0.85 } },
      first,
    );
  }

  function controls() {
    const other = state.park && !cx.parks.some((p) => p.properties.id === state.park) ? `<option value="${esc(state.park)}" selected>${esc(label())}</option>` : '';
    return `<div class="field-row compact"><label for="commute-park">${esc(t('commutePark'))}</label>
        <select id="commute-park"><option value="">${esc(t('commuteChoosePark'))}</option>${cx.parks
          .map((p) => `<option value="${esc(p.properties.id)}"${p.properties.id === state.park ? ' selected' : ''}>${esc(placeName(p.properties))}</option>`)
          .join('')}${other}</select></div>
        <div class="field-row compact"><label for="commute-side">${esc(t('commuteSide'))}</label>
        <select id="commute-side"><option value="work"${side() === 'work' ? ' selected' : ''}>${esc(t('commuteSideWork'))}</option>
        <option value="home"${side() === 'home' ? ' selected' : ''}>${esc(t('commuteSideHome'))}</option></select></div>`;
  }

  function legend() {
    const rows = cellLegendRows(c.breaks, VIRIDIS, ctx.k);
    return `<ul class="legend-list">${swatchRows(rows)}
        <li><span class="swatch line" style="background:${ARC_COLOR}"></span><span>${esc(t('commuteArcs'))}</span></li>
        <li><span class="swatch dot ring hollow" style="border-color:${STATION_NEW}"></span><span>${esc(t('scenarioStation'))}</span></li></ul>
        <p class="legend-note" id="commute-heat-note">${esc(state.park ? t(side() === 'home' ? 'commuteHeatHomeNote' : 'commuteHeatNote', { name: label() }) : t('commuteChooseHint'))}</p>
        <p class="legend-note">${esc(t('perturbedNote', { k: ctx.k }))}</p>`;
  }

  async function load() {
    addLayers();
    cx.setVisibility();
    const mine = cx.seq.now();
    const [flows, under] = await Promise.all([getJson('/api/commute/flows?level=district'), getJson('/api/commute/underserved?limit=20')]);
    if (mine !== cx.seq.now() || state.view !== 'commute') return;
    const max = Math.max(1, ...flows.features.map((f) => f.properties.count || 0));
    c.flowsMax = max;
    map.getSource('commute-flows').setData({
      type: 'FeatureCollection',
      features: flows.features.map((f) => ({ ...f, geometry: { type: 'LineString', coordinates: arc(f.geometry.coordinates[0], f.geometry.coordinates.at(-1)) } })),
    });
    map.setPaintProperty('commute-arcs', 'line-width', lineWidth(max));
    c.underserved = under;
    await loadPark();
  }

  async function loadPark() {
    const mine = cx.seq.now();
    if (state.park) {
      ensureHeatSource();
      cx.setVisibility();
      // A study area's indicators are in its profile; the heat is drawn for it all the same.
      c.summary = isStudy(state.park) ? null : await getJson(`/api/commute/summary?area=${encodeURIComponent(state.park)}`);
      if (mine !== cx.seq.now() || state.view !== 'commute') return;
    } else {
      c.summary = null;
    }
    cx.writeHash();
    cx.rerenderItem('commute');
    renderPanel();
  }

  function summaryHtml(s) {
    if (!s && state.park) return `<p class="hint" id="commute-heat-hint">${esc(t(side() === 'home' ? 'commuteHeatHomeNote' : 'commuteHeatNote', { name: label() }))}</p>`;
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

  function scenarioHtml() {
    const sc = c.scenario;
    const stations = c.stations
      .map(
        (s, i) => `<li>${fmtDecimal(s.lon)}, ${fmtDecimal(s.lat)} · ${fmt(s.radius_m)} m
        <button type="button" class="link-btn" data-remove-station="${i}" aria-label="${esc(t('scenarioRemove'))}">×</button></li>`,
      )
      .join('');
    return `<section id="scenario"><h3>${esc(t('scenarioTitle'))}</h3>
        <p class="hint">${esc(t('scenarioHint'))}</p>
        <div class="scenario-row">
          <button type="button" id="scenario-place" class="btn" aria-pressed="${c.placing}">${esc(t(c.placing ? 'scenarioPlacing' : 'scenarioPlace'))}</button>
          <label for="scenario-radius">${esc(t('scenarioRadius'))}</label>
          <input id="scenario-radius" type="number" min="100" max="5000" step="100" value="${c.radius}">
        </div>
        <ul class="station-list">${stations}</ul>
        <div class="scenario-row">
          <button type="button" id="scenario-run" class="btn primary"${c.stations.length ? '' : ' disabled'}>${esc(t('scenarioRun'))}</button>
          <button type="button" id="scenario-clear" class="link-btn"${c.stations.length ? '' : ' disabled'}>${esc(t('scenarioClear'))}</button>
        </div>
        ${
          sc
            ? `<p class="scenario-summary">${esc(t('scenarioServed', { homes: fmt(sc.newly_served_homes), jobs: fmt(sc.newly_served_jobs) }))}</p>
          <div class="table-wrap"><table class="rank-table" id="scenario-result"><thead><tr><th class="num">${esc(t('scenarioRank'))}</th><th>${esc(t('parks'))}</th>
          <th class="num">${esc(t('underservedScore'))}</th></tr></thead><tbody>${underservedRows(sc.underserved.items, true)}</tbody></table></div>`
            : ''
        }
      </section>`;
  }

  function renderPanel() {
    const u = c.underserved;
    openPanel(`
      <header class="details-head">
        <p class="eyebrow">${esc(t('viewCommute'))}</p>
        <h2 id="details-title">${esc(state.park ? label() : t('viewCommute'))}</h2>
      </header>
      ${summaryHtml(c.summary)}
      <section><h3>${esc(t('underservedTitle'))}</h3>
        <div class="table-wrap"><table class="rank-table" id="underserved-list"><thead><tr><th class="num">#</th><th>${esc(t('parks'))}</th>
        <th class="num">${esc(t('underservedScore'))}</th><th class="num">${esc(t('commuteMedian'))}</th><th class="num">${esc(t('nearestStation'))}</th></tr></thead>
        <tbody>${u ? underservedRows(u.items, false) : ''}</tbody></table></div>
        <p class="legend-note formula">${esc(u?.formula ?? '')}</p></section>
      ${scenarioHtml()}`);
  }

  function drawStations() {
    const src = map.getSource('scenario');
    if (!src) return;
    src.setData({
      type: 'FeatureCollection',
      features: c.stations.flatMap((s) => [
        { type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [s.lon, s.lat] } },
        { type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [circle([s.lon, s.lat], s.radius_m)] } },
      ]),
    });
  }

  async function runScenario() {
    const body = { stations: c.stations.map(({ lon, lat, radius_m }) => ({ lon, lat, radius_m })), limit: 20 };
    const res = await fetch('/api/commute/scenario', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`/api/commute/scenario: HTTP ${res.status}`);
    c.scenario = await res.json();
    c.placing = false;
    cx.setVisibility();
    renderPanel();
    document.getElementById('scenario-result')?.scrollIntoView({ block: 'nearest' });
  }

  function selectPark(id, fly) {
    state.park = id;
    c.scenario = null;
    const sel = document.getElementById('commute-park');
    if (sel) sel.value = id || '';
    if (fly && id) cx.flyToArea(id);
    loadPark().catch(cx.report);
  }

  function onControl(el) {
    if (el.id === 'commute-side') {
      state.cside = el.value === 'home' ? 'home' : null;
      c.scenario = null;
      loadPark().catch(cx.report);
      return true;
    }
    if (el.id !== 'commute-park') return false;
    selectPark(el.value || null, true);
    return true;
  }

  /** An area (a study area too) and which side of its commutes to draw, before the view loads. */
  function setArea(id, which, name) {
    state.park = id || null;
    state.cside = which === 'home' ? 'home' : null;
    c.label = id ? { id, name: name || id } : null;
    c.scenario = null;
  }

  /** The scenario tool's buttons in the detail panel. */
  function onPanelButton(target) {
    if (target.id === 'scenario-place') {
      c.placing = !c.placing;
      cx.setVisibility();
      renderPanel();
      document.getElementById('scenario-place')?.focus();
    } else if (target.id === 'scenario-run') {
      runScenario().catch(cx.report);
    } else if (target.id === 'scenario-clear') {
      c.stations = [];
      c.scenario = null;
      drawStations();
      renderPanel();
    } else if (target.dataset.removeStation !== undefined) {
      c.stations.splice(Number(target.dataset.removeStation), 1);
      drawStations();
      renderPanel();
    }
  }

  function onPanelChange(target) {
    if (target.id === 'scenario-radius') {
      const r = Number(target.value);
      if (r > 0 && r <= 5000) c.radius = r;
    }
  }

  /** A click places a station (when placing) or selects a park; true when handled. */
  function onClick(e) {
    if (c.placing) {
      c.stations.push({ lon: Number(e.lngLat.lng.toFixed(6)), lat: Number(e.lngLat.lat.toFixed(6)), radius_m: c.radius });
      drawStations();
      renderPanel();
      return true;
    }
    const park = map.queryRenderedFeatures(e.point, { layers: ['base-parks-fill'] })[0];
    if (park) {
      selectPark(String(park.properties.id), false);
      return true;
    }
    return false;
  }

  /** Class breaks of the heat from the cells loaded now. */
  function onIdle() {
    if (state.view !== 'commute' || !map.getSource('commute')) return;
    const values = map.querySourceFeatures('commute', { sourceLayer: 'commute', filter: ['has', 'count'] }).map((f) => f.properties.count);
    const b = quantileBreaks(values, 6, ctx.k);
    if (b.length && b.join() !== c.breaks.join()) {
      c.breaks = b;
      map.setPaintProperty('commute-fill', 'fill-color', stepExpression(['get', 'count'], b, VIRIDIS));
      cx.rerenderItem('commute');
    }
  }

  return {
    id: 'commute',
    layers: ['commute-fill', 'commute-suppressed', 'commute-arcs', 'scenario-radius', 'scenario-stations'],
    state: c,
    controls,
    legend,
    load,
    rerender: renderPanel,
    selectPark,
    setArea,
    onControl,
    onPanelButton,
    onPanelChange,
    onClick,
    onIdle,
    cursor: () => (c.placing ? 'crosshair' : ''),
    stopPlacing: () => {
      c.placing = false;
    },
  };
}
