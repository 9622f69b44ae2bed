// Entry point: loads taxonomy, statistics, region outlines and the session,
// builds the map, and wires the layer panel, filters, search, popups, the
// region and person panels, the analysis views, the account control, the
// language switch and the URL-hash state. `main` runs these as named steps
// that share one object `a` (map, state, and the functions one step offers
// the others).

import * as maplibregl from './maplibre-gl.mjs';
import { fmt, fmtCompact, getLang, nameOf, placeName, setLang, t, translateDom } from './i18n.js';
import { LAYER_IDS, activeFilterCount, formatHash, parseHash, REGION_STATS } from './state.js';
import {
  CLICKABLE,
  HATCH,
  LAYER_GROUPS,
  buildStyle,
  cellBreaks,
  countIcon,
  countImage,
  countText,
  hatchImage,
  labelPoints,
  labelScale,
  PLACE_LABEL_LAYERS,
  pickLabelFonts,
  regionBreaks,
  regionFillColor,
  regionFilters,
  tileJsonUrl,
} from './layers.js';
import { CIVIDIS, VIRIDIS, stepExpression } from './ramps.js';
import { basemapLegend, enterprisesLegend, esc, regionsLegend, talentsLegend, vacanciesLegend } from './legend.js';
import { cellPopup, clusterPopup, enterprisePopup, indexTaxonomy, personPanel, regionPanel } from './panel.js';
import { canKeepAreas, canSeePeople, isRefusedPeopleTile, jurisdictionBounds, mustSignIn } from './access.js';
import { createAccount } from './account.js';
import { PEOPLE_LAYER, PEOPLE_MIN_ZOOM, areaAt, createPeopleLayer, peopleLegend } from './people.js';
import { renderFilters, resetFilters } from './filters.js';
import { setupSearch } from './search.js';
import { createViews } from './views/index.js';
import { archiveUrl, openArchive } from './archive.js';
import { setupPresentation } from './present.js';
import { setupBriefing } from './briefing.js';

const $ = (sel) => document.querySelector(sel);
const origin = window.location.origin;
const CLUSTER_MAX_ZOOM = 13;

// Hooks for the browser tests and for debugging from the console.
const app = (window.__talentmap = { ready: false, firstIdleMs: null, idleCount: 0, errors: [] });

async function getJson(path, pending = null) {
  const res = await (pending || fetch(path));
  if (!res.ok) {
    let msg = `HTTP ${res.status}`;
    try {
      msg = (await res.json()).error?.message || msg;
    } catch {
      /* not JSON */
    }
    const err = new Error(`${path}: ${msg}`);
    err.status = res.status;
    throw err;
  }
  return res.json();
}

function setStatus(text, isError = false) {
  const el = $('#status');
  el.textContent = text;
  el.classList.toggle('error', isError);
  el.hidden = !text;
}

/** Label point of a (multi)polygon: area-weighted centroid of its largest ring. */
function labelPoint(geometry) {
  const polys = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.type === 'MultiPolygon' ? geometry.coordinates : [];
  let best = null;
  for (const poly of polys) {
    const ring = poly[0];
    let a = 0;
    let cx = 0;
    let cy = 0;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
      const f = ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
      a += f;
      cx += (ring[j][0] + ring[i][0]) * f;
      cy += (ring[j][1] + ring[i][1]) * f;
    }
    if (a !== 0 && (!best || Math.abs(a) > best.area)) best = { area: Math.abs(a), point: [cx / (3 * a), cy / (3 * a)] };
  }
  return best?.point ?? null;
}

function bboxOf(fc) {
  let [w, s, e, n] = [Infinity, Infinity, -Infinity, -Infinity];
  const visit = (c) => {
    if (typeof c[0] === 'number') {
      w = Math.min(w, c[0]);
      e = Math.max(e, c[0]);
      s = Math.min(s, c[1]);
      n = Math.max(n, c[1]);
    } else c.forEach(visit);
  };
  for (const f of fc.features) if (f.geometry) visit(f.geometry.coordinates);
  return Number.isFinite(w) ? [[w, s], [e, n]] : [[116.2, 36.0], [117.9, 37.6]];
}

/** Reads the view state from the hash and sets the language. */
function loadState() {
  const state = parseHash(window.location.hash);
  setLang(state.lang || localStorage.getItem('talentmap.lang') || 'zh');
  state.lang = getLang();
  translateDom();
  return state;
}

/** Loads taxonomy, statistics and regions. A 401 (the server serves nobody
 *  anonymous) is thrown on without a message: the sign-in form replaces the map. */
async function loadData(state) {
  let taxonomy;
  let stats;
  let base;
  const boot = window.__talentmapBoot || [];
  try {
    [taxonomy, stats, base] = await Promise.all(
      ['/api/taxonomy', '/api/stats', '/api/regions'].map((path, i) => getJson(path, boot[i])),
    );
  } catch (err) {
    if (err.status !== 401) setStatus(t('loadError', { msg: err.message }), true);
    throw err;
  }
  for (const f of base.features) {
    f.properties = f.properties || {};
    if (f.properties.id === undefined && f.id !== undefined) f.properties.id = f.id;
  }
  // Names are drawn with the server's glyphs when it has a CJK font.
  const fontList = await (boot[4] || fetch('/fonts.json')).then((r) => (r.ok ? r.json() : [])).catch(() => []);
  const fonts = pickLabelFonts(fontList);
  const labels = fonts ? { fonts, points: labelPoints(base, regionLabelPoint), scale: labelScale(window.innerWidth) } : null;
  const tax = indexTaxonomy(taxonomy);
  const k = stats.privacy_k ?? 5;
  return {
    state,
    stats,
    base,
    labels,
    tax,
    k,
    ctx: { tax, k },
    regionsById: new Map(base.features.map((f) => [String(f.properties.id), f])),
    // Class breaks until the features on screen give better ones.
    breaks: {
      talents: [20, 50, 100, 200, 500],
      vacancies: [10, 20, 50, 100, 200],
      regions: [100, 500, 1000, 5000, 10000],
    },
    views: null,
  };
}

/** The map with its style, controls, on-demand images and error log. */
function createMap(a) {
  const { state, base } = a;
  const mapOptions = {
    container: 'map',
    style: buildStyle({
      origin,
      state,
      base,
      labels: a.labels,
      basemap: a.stats.basemap ?? null,
      archives: a.archive ? { [a.archive.layer]: a.archive.source } : {},
    }),
    maxZoom: 18,
    minZoom: 6,
    // Han characters are drawn from the browser's own CJK font (each glyph
    // range of the CJK block is about 200 KB, and a few names touch dozens of
    // ranges); every other character comes from the server's glyphs.
    localIdeographFontFamily: "'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', 'PingFang SC', sans-serif",
    dragRotate: false,
    pitchWithRotate: false,
    attributionControl: { compact: true, customAttribution: 'talentmap' },
  };
  if (state.center) {
    mapOptions.center = state.center;
    mapOptions.zoom = state.zoom;
  } else {
    mapOptions.bounds = bboxOf(base);
    mapOptions.fitBoundsOptions = { padding: 24 };
  }
  const map = new maplibregl.Map(mapOptions);
  app.map = map;
  app.state = state;
  map.touchZoomRotate.disableRotation();
  map.keyboard.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-right');

  // Images drawn on demand: the suppressed-cell hatching and cluster badges.
  map.setMissingStyleImageResolver((id) => {
    if (map.hasImage(id)) return;
    if (id === HATCH) {
      map.addImage(HATCH, hatchImage());
    } else if (id.startsWith('count:')) {
      const n = Number(id.split(':')[2]);
      const { image, pixelRatio } = countImage(n >= 1000 ? fmtCompact(n) : fmt(n));
      map.addImage(id, image, { pixelRatio });
    }
  });
  map.on('error', (e) => {
    // People tiles outside an analyst's jurisdiction answer 403: expected, not an error to show.
    if (isRefusedPeopleTile(e)) {
      app.refusedPeopleTiles = (app.refusedPeopleTiles || 0) + 1;
      if (e.error?.status === 401) a.refreshSession?.();
      return;
    }
    const msg = e.error?.message || String(e.error || e);
    app.errors.push(msg);
    console.warn('map error:', msg);
  });
  return map;
}

/** Where a region's name goes: the server's label point, else the centroid
 *  of its largest ring. */
function regionLabelPoint(f) {
  const p = f.properties;
  return p.centre || p.center || p.cp || (f.geometry && labelPoint(f.geometry));
}

/** HTML labels for district and park names, only when the server has no
 *  font to draw them with (otherwise they are symbol layers, layers.js). */
function addRegionLabels({ map, base, labels }) {
  if (labels) return;
  for (const f of base.features) {
    const p = f.properties;
    const at = regionLabelPoint(f);
    if (!at || !p.name) continue;
    const el = document.createElement('div');
    el.className = `map-label ${p.kind === 'park' ? 'park' : 'district'}`;
    el.dataset.region = p.id;
    el.textContent = placeName(p);
    el.setAttribute('aria-hidden', 'true');
    new maplibregl.Marker({ element: el }).setLngLat(at).addTo(map);
  }
  const updateLabelZoom = () => {
    const z = map.getZoom();
    const c = map.getContainer();
    c.classList.toggle('show-park-labels', z >= 11);
    c.classList.toggle('hide-district-labels', z >= 13.5);
  };
  map.on('zoom', updateLabelZoom);
  updateLabelZoom();
}

/** Keeps the URL hash in step with the view. */
function wireHash(a) {
  const { map, state } = a;
  // The hash as the page last wrote or read it. Another hash in the address
  // bar is a navigation whose `hashchange` has not run yet (a link pasted in,
  // back/forward): writing the view over it then would lose it, so the write
  // waits for that handler (`watchHash`), which takes the new hash in.
  a.knownHash = window.location.hash;
  a.writeHash = () => {
    if (window.location.hash !== a.knownHash) return;
    const c = map.getCenter();
    state.center = [c.lng, c.lat];
    state.zoom = map.getZoom();
    const hash = formatHash(state);
    if (hash !== window.location.hash) window.history.replaceState(null, '', hash);
    a.knownHash = window.location.hash;
  };
  map.on('moveend', a.writeHash);
}

/** The people layer and the session it depends on: shown to analysts and
 *  admins only, its tiles limited to an analyst's jurisdiction. */
function setupPeople(a) {
  const { map, state, regionsById } = a;
  const people = createPeopleLayer(map, origin);
  a.peopleAllowed = () => canSeePeople(a.account.session);
  a.syncPeople = () => {
    const allowed = a.peopleAllowed();
    if (!allowed && state.layers.includes('people')) state.layers = state.layers.filter((l) => l !== 'people');
    // Sources can be added once the style has loaded; `main` calls this again then.
    if (!a.styleLoaded) return;
    const bounds = jurisdictionBounds(a.account.session, regionsById);
    people.sync({ allowed, on: state.layers.includes('people'), bounds });
  };
  /** After a sign-in or sign-out: the layer panel, the layer, any open record and the study areas. */
  a.applySession = () => {
    if (!a.peopleAllowed() && a.openPersonId) a.closeDetails();
    a.renderLayerPanel();
    a.setLayerVisibility();
    a.writeHash();
    a.areas?.onSession();
    a.views?.onSession();
  };
  // A people tile answered 401: the session ended; ask once what the server says now.
  let refreshing = null;
  a.refreshSession = () => {
    refreshing ||= a.account
      .load()
      .then(() => {
        a.account.render();
        a.applySession();
      })
      .finally(() => {
        refreshing = null;
      });
  };
}

/** The data layers' toggles, legends and region statistic in the layer panel. */
function setupLayerPanel(a) {
  const { map, state, breaks, k } = a;
  const LAYERS = [
    { id: 'talents', name: 'layerTalents', note: 'layerTalentsNote', legend: () => talentsLegend(breaks.talents, k) },
    { id: 'vacancies', name: 'layerVacancies', note: 'layerVacanciesNote', legend: () => vacanciesLegend(breaks.vacancies, k) },
    { id: 'enterprises', name: 'layerEnterprises', note: 'layerEnterprisesNote', legend: () => enterprisesLegend() },
    { id: 'regions', name: 'layerRegions', note: 'layerRegionsNote', legend: () => regionsLegend(state.stat, breaks.regions, k) },
    // Individuals: only for analysts and admins, and only from zoom 15.
    { id: 'people', name: 'layerPeople', note: 'layerPeopleNote', legend: () => peopleLegend(a.tax), allowed: () => a.peopleAllowed() },
  ];
  const shown = () => LAYERS.filter((l) => !l.allowed || l.allowed());
  const peopleZoomOk = () => map.getZoom() >= PEOPLE_MIN_ZOOM - 1e-6;

  a.renderLegend = (id) => {
    const li = document.querySelector(`.layer[data-layer="${id}"] .legend`);
    if (li) li.innerHTML = LAYERS.find((l) => l.id === id).legend();
  };

  a.renderLayerPanel = () => {
    $('#layer-list').innerHTML = shown().map((l) => {
      const on = state.layers.includes(l.id);
      const people = l.id === 'people';
      const disabled = people && !peopleZoomOk();
      const hint = people
        ? `<p class="layer-hint" id="people-zoom-hint"${disabled ? '' : ' hidden'}>${esc(t('peopleZoomHint'))}</p>`
        : '';
      const statSelect =
        l.id === 'regions'
          ? `<div class="field-row compact"><label for="region-stat">${esc(t('regionStat'))}</label>
             <select id="region-stat">${REGION_STATS.map(
               (s) => `<option value="${s}"${s === state.stat ? ' selected' : ''}>${esc(t(`stat${s[0].toUpperCase()}${s.slice(1)}`))}</option>`,
             ).join('')}</select></div>`
          : '';
      return `<li class="layer${on ? ' on' : ''}" data-layer="${l.id}">
        <label class="toggle">
          <input type="checkbox" id="layer-${l.id}" data-layer="${l.id}"${on ? ' checked' : ''}${disabled ? ' disabled' : ''} aria-describedby="layer-note-${l.id}${people ? ' people-zoom-hint' : ''}">
          <span class="toggle-track" aria-hidden="true"></span>
          <span class="layer-name">${esc(t(l.name))}</span>
        </label>
        <p class="layer-note" id="layer-note-${l.id}">${esc(t(l.note))}</p>${hint}
        <div class="layer-body">${statSelect}<div class="legend">${l.legend()}</div></div>
      </li>`;
    }).join('') + (a.views ? a.views.layerItems() : '');
    $('#basemap-legend').innerHTML = basemapLegend();
  };

  // The people toggle follows the zoom: enabled from 15, with a hint below.
  a.updatePeopleZoom = () => {
    const input = document.getElementById('layer-people');
    if (!input) return;
    const ok = peopleZoomOk();
    input.disabled = !ok;
    document.getElementById('people-zoom-hint').hidden = ok;
  };
  map.on('zoom', a.updatePeopleZoom);

  a.setLayerVisibility = () => {
    a.syncPeople();
    for (const [id, mapLayers] of Object.entries(LAYER_GROUPS)) {
      const v = state.layers.includes(id) ? 'visible' : 'none';
      for (const ml of mapLayers) if (map.getLayer(ml)) map.setLayoutProperty(ml, 'visibility', v);
      const li = document.querySelector(`.layer[data-layer="${id}"]`);
      if (li) {
        li.classList.toggle('on', state.layers.includes(id));
        li.querySelector('input').checked = state.layers.includes(id);
      }
    }
  };

  $('#layer-list').addEventListener('change', (ev) => {
    const el = ev.target;
    if (el.dataset.layer) {
      const id = el.dataset.layer;
      const set = new Set(state.layers);
      if (el.checked) set.add(id);
      else set.delete(id);
      state.layers = LAYERS.map((l) => l.id).filter((l) => set.has(l));
      a.setLayerVisibility();
      a.writeHash();
    } else if (el.id === 'region-stat') {
      state.stat = el.value;
      a.applyRegionPaint(true);
      a.writeHash();
    }
  });
}

/** Class breaks recomputed from the features on screen whenever the map is idle. */
function setupBreaks(a) {
  const { map, state, breaks, k } = a;
  const sameBreaks = (x, y) => x.length === y.length && x.every((v, i) => v === y[i]);
  a.applyRegionPaint = (force) => {
    if (state.stat !== 'ratio') {
      const b = regionBreaks(map, state.stat);
      if (b.length && !sameBreaks(b, breaks.regions)) {
        breaks.regions = b;
        force = true;
      }
    }
    if (force) {
      const filters = regionFilters(state.stat);
      map.setFilter('regions-fill', filters.fill);
      map.setFilter('regions-suppressed', filters.hatch);
      map.setPaintProperty('regions-fill', 'fill-color', regionFillColor(state.stat, breaks.regions));
      a.renderLegend('regions');
    }
  };
  const updateBreaks = () => {
    for (const [layer, ramp] of [
      ['talents', VIRIDIS],
      ['vacancies', CIVIDIS],
    ]) {
      if (!state.layers.includes(layer)) continue;
      const b = cellBreaks(map, layer, k);
      if (b.length && !sameBreaks(b, breaks[layer])) {
        breaks[layer] = b;
        map.setPaintProperty(`${layer}-fill`, 'fill-color', stepExpression(['get', 'count'], b, ramp));
        a.renderLegend(layer);
      }
    }
    if (state.layers.includes('regions')) a.applyRegionPaint(false);
    a.views?.onIdle();
  };
  map.on('idle', () => {
    updateBreaks();
    app.idleCount += 1;
  });
}

/** The filter form: its changes go into the tile URLs and the hash. */
function setupFilters(a) {
  const { map, state, tax } = a;
  a.updateFilterBadge = () => {
    const n = activeFilterCount(state.filters);
    const badge = $('#filter-count');
    badge.hidden = n === 0;
    badge.textContent = t('filtersActive', { n });
    $('#reset-filters').disabled = n === 0;
  };
  // The month the talents and regions tiles describe (the time view's option; null = today).
  a.tileMonth = null;
  const layerUrl = (layer) => {
    const url = tileJsonUrl(origin, layer, state.filters);
    if (!a.tileMonth || (layer !== 'talents' && layer !== 'regions')) return url;
    return `${url}${url.includes('?') ? '&' : '?'}month=${encodeURIComponent(a.tileMonth)}`;
  };
  const updateSources = (layers) => {
    for (const layer of layers) {
      // An archive's layer was rendered for one query; filters leave it alone.
      if (layer === a.archive?.layer) continue;
      const src = map.getSource(layer);
      const url = layerUrl(layer);
      if (src && src.url !== url) src.setUrl(url);
    }
  };
  a.applyFilters = () => {
    updateSources(['talents', 'vacancies', 'enterprises', 'regions']);
    a.updateFilterBadge();
    a.writeHash();
  };
  /** The talents and regions tiles as of `month` (YYYY-MM; null = today). */
  a.setTileMonth = (month) => {
    a.tileMonth = month || null;
    app.tileMonth = a.tileMonth;
    updateSources(['talents', 'regions']);
  };
  a.renderFilterForm = () => renderFilters($('#filters'), tax, state, a.applyFilters);
  $('#filters').addEventListener('submit', (ev) => ev.preventDefault());
  $('#reset-filters').addEventListener('click', () => {
    resetFilters(state);
    a.renderFilterForm();
    a.applyFilters();
  });
}

/** The detail panel: a region's tables, or whatever an analysis view puts there. */
function setupDetails(a) {
  const { map, ctx, regionsById } = a;
  const details = $('#details');
  a.details = details;
  a.openRegionId = null;
  // Each opening takes a number, so a slow region answer cannot replace a newer panel.
  let regionSeq = 0;
  const clearSelection = () => map.setFilter('base-selected', ['==', ['get', 'id'], '__none__']);
  // A record opened from the map or a list takes the keyboard focus; closing
  // it gives the focus back to where it was (or to the map).
  let returnFocus = null;
  const showFocused = () => {
    if (!details.hidden) return;
    returnFocus = document.activeElement;
    details.hidden = false;
    details.focus({ preventScroll: true });
  };
  const closeDetails = () => {
    a.briefingOpen = false;
    a.leaveAreaPanel?.();
    const focusWasInside = details.contains(document.activeElement);
    details.hidden = true;
    if (focusWasInside) {
      const back = returnFocus && returnFocus.isConnected && returnFocus !== document.body ? returnFocus : map.getCanvas();
      back.focus({ preventScroll: true });
    }
    returnFocus = null;
    a.openRegionId = null;
    a.openPersonId = null;
    a.personData = null;
    $('#details-body').innerHTML = '';
    clearSelection();
    document.body.classList.remove('details-open');
  };
  a.closeDetails = closeDetails;
  $('#details-close').addEventListener('click', closeDetails);
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && !details.hidden && !ev.target.closest('.search')) closeDetails();
  });

  a.showRegion = async (id) => {
    a.briefingOpen = false;
    a.leaveAreaPanel?.();
    a.openRegionId = String(id);
    a.openPersonId = null;
    a.personData = null;
    const mine = (regionSeq += 1);
    showFocused();
    document.body.classList.add('details-open');
    map.setFilter('base-selected', ['==', ['to-string', ['get', 'id']], String(id)]);
    const body = $('#details-body');
    body.innerHTML = `<p class="hint">${esc(t('loading'))}</p>`;
    try {
      // Region tables are totals for the region (the endpoint takes no filters).
      const data = await getJson(`/api/regions/${encodeURIComponent(id)}`);
      if (mine !== regionSeq) return;
      body.innerHTML = regionPanel(data, ctx);
    } catch (err) {
      if (mine === regionSeq) body.innerHTML = `<p class="error">${esc(t('loadError', { msg: err.message }))}</p>`;
    }
  };
  app.showRegion = a.showRegion;

  // A person's record. Every read is written to the server's audit log, so a
  // language switch redraws the record already here instead of asking again.
  const personOptions = {
    areaName: (id) => placeName(regionsById.get(String(id))?.properties, String(id)),
    areaAtPoint: (pt) => areaAt(a.base.features, pt)?.properties.id ?? null,
  };
  a.renderPerson = () => {
    if (a.personData) $('#details-body').innerHTML = personPanel(a.personData, ctx, personOptions);
  };
  a.showPerson = async (pid) => {
    a.briefingOpen = false;
    a.leaveAreaPanel?.();
    const mine = (regionSeq += 1);
    a.openRegionId = null;
    a.openPersonId = String(pid);
    a.personData = null;
    clearSelection();
    showFocused();
    document.body.classList.add('details-open');
    const body = $('#details-body');
    body.innerHTML = `<p class="hint">${esc(t('loading'))}</p>`;
    try {
      const data = await getJson(`/api/people/${encodeURIComponent(pid)}`);
      if (mine !== regionSeq) return;
      a.personData = data;
      a.renderPerson();
    } catch (err) {
      if (mine === regionSeq) body.innerHTML = `<p class="error">${esc(t('loadError', { msg: err.message }))}</p>`;
    }
  };
  app.showPerson = a.showPerson;

  a.openPanel = (html, { keepBriefing = false, keepArea = false } = {}) => {
    if (!keepBriefing) a.briefingOpen = false;
    if (!keepArea) a.leaveAreaPanel?.();
    regionSeq += 1;
    a.openRegionId = null;
    a.openPersonId = null;
    a.personData = null;
    clearSelection();
    details.hidden = false;
    document.body.classList.add('details-open');
    $('#details-body').innerHTML = html;
  };
  a.flyToArea = (id, at = null) => {
    const f = regionsById.get(String(id));
    if (f) {
      map.setFilter('base-selected', ['==', ['to-string', ['get', 'id']], String(id)]);
      map.fitBounds(bboxOf({ features: [f] }), { padding: 60, maxZoom: 13, duration: 900 });
    } else if (at) {
      map.flyTo({ center: at, zoom: Math.max(map.getZoom(), 12), duration: 900 });
    }
  };
}

/** The analysis views (shortage, commute, flows). */
function setupViews(a) {
  const { map, state } = a;
  a.views = createViews({
    map,
    state,
    ctx: a.ctx,
    base: a.base,
    regionsById: a.regionsById,
    origin,
    getJson,
    writeHash: a.writeHash,
    flyToArea: a.flyToArea,
    openPanel: a.openPanel,
    beforeLayer: 'base-parks-line',
    onViewOn: () => {
      state.layers = state.layers.filter((l) => l === 'enterprises' || l === 'people');
      a.setLayerVisibility();
    },
    setTileMonth: (month) => a.setTileMonth(month),
    canKeepAreas: () => canKeepAreas(a.account?.session),
    showLayer: (id, on) => {
      const set = new Set(state.layers);
      if (on) set.add(id);
      else set.delete(id);
      state.layers = LAYER_IDS.filter((l) => set.has(l));
      a.setLayerVisibility();
      a.writeHash();
    },
  });
  app.views = a.views;
}

/** The region under a point: a park before its district. */
function regionAt(map, point) {
  const feats = map.queryRenderedFeatures(point, { layers: ['base-parks-fill', 'base-districts-fill'] });
  const park = feats.find((f) => f.properties.kind === 'park');
  return park || feats[0] || null;
}

const regionLink = (f) =>
  f ? `<p class="popup-region"><button type="button" class="link-btn" data-region="${esc(f.properties.id)}">${esc(placeName(f.properties))} →</button></p>` : '';

/** Map clicks: the active view first, then enterprises, clusters, cells and regions. */
function setupClicks(a) {
  const { map, ctx } = a;
  const popup = new maplibregl.Popup({ closeButton: true, maxWidth: '300px', focusAfterOpen: false });
  a.popup = popup;
  map.on('click', (e) => {
    if (document.body.classList.contains('sidebar-open')) {
      document.body.classList.remove('sidebar-open');
      $('#toggle-sidebar').setAttribute('aria-expanded', 'false');
    }
    // A shape being drawn takes the clicks (areas.js), then the active view.
    if (a.areas?.onClick(e) || a.views.onClick(e)) {
      popup.remove();
      return;
    }
    const layers = CLICKABLE.filter((id) => map.getLayer(id) && map.getLayoutProperty(id, 'visibility') !== 'none');
    const feats = map.queryRenderedFeatures(e.point, { layers });
    const rank = (f) => CLICKABLE.indexOf(f.layer.id);
    feats.sort((x, y) => rank(x) - rank(y));
    const top = feats[0];
    if (!top) return;
    const id = top.layer.id;
    if (id === PEOPLE_LAYER) {
      popup.remove();
      a.showPerson(String(top.properties.pid));
    } else if (id === 'enterprise-points') {
      popup.setLngLat(top.geometry.coordinates).setHTML(enterprisePopup(top.properties, ctx)).addTo(map);
    } else if (id === 'enterprise-clusters') {
      const center = top.geometry.coordinates;
      popup.setLngLat(center).setHTML(clusterPopup(top.properties, ctx)).addTo(map);
      map.easeTo({ center, zoom: Math.min(Math.max(map.getZoom() + 2, 0), CLUSTER_MAX_ZOOM + 0.5), duration: 600 });
    } else if (id.startsWith('talents') || id.startsWith('vacancies')) {
      const talent = feats.find((f) => f.layer.id.startsWith('talents'));
      const vacancy = feats.find((f) => f.layer.id.startsWith('vacancies'));
      const html = [talent && cellPopup(talent.properties, 'talents', ctx), vacancy && cellPopup(vacancy.properties, 'vacancies', ctx)]
        .filter(Boolean)
        .join('<hr>');
      popup.setLngLat(e.lngLat).setHTML(html + regionLink(regionAt(map, e.point))).addTo(map);
    } else {
      popup.remove();
      const region = id.startsWith('regions') ? top : regionAt(map, e.point);
      if (region) a.showRegion(region.properties.id);
    }
  });
  document.addEventListener('click', (ev) => {
    const btn = ev.target.closest('[data-region]');
    if (btn) {
      popup.remove();
      a.showRegion(btn.dataset.region);
    }
  });
  for (const id of CLICKABLE) {
    map.on('mouseenter', id, () => (map.getCanvas().style.cursor = 'pointer'));
    map.on('mouseleave', id, () => (map.getCanvas().style.cursor = ''));
  }
}

/** Enterprise search: a pick flies there, marks it and opens its popup. */
function setupEnterpriseSearch({ map, tax, ctx, popup }) {
  const searchMarkerEl = document.createElement('div');
  searchMarkerEl.className = 'search-marker';
  const searchMarker = new maplibregl.Marker({ element: searchMarkerEl });
  setupSearch({
    input: $('#search'),
    list: $('#search-results'),
    tax,
    onPick: (f) => {
      const at = f.geometry.coordinates;
      searchMarker.setLngLat(at).addTo(map);
      map.flyTo({ center: at, zoom: Math.max(map.getZoom(), 15), speed: 1.6 });
      map.once('moveend', () => popup.setLngLat(at).setHTML(enterprisePopup(f.properties, ctx)).addTo(map));
    },
  });
}

/** The language switch, and the texts it redraws. */
function setupLanguage(a) {
  const { map, state, k, stats, popup } = a;
  // Cluster badges follow the locale (text, or images keyed by locale and count).
  const redrawBadges = () => {
    if (!map.getLayer('enterprise-cluster-count')) return;
    if (a.labels) map.setLayoutProperty('enterprise-cluster-count', 'text-field', countText(getLang()));
    else map.setLayoutProperty('enterprise-cluster-count', 'icon-image', countIcon(getLang()));
  };
  // Place names follow the language too (English where the data has it).
  const redrawPlaceLabels = () => {
    for (const [id, text] of PLACE_LABEL_LAYERS) {
      if (map.getLayer(id)) map.setLayoutProperty(id, 'text-field', text(getLang()));
    }
    for (const el of document.querySelectorAll('.map-label[data-region]')) {
      el.textContent = placeName(a.regionsById.get(el.dataset.region)?.properties, el.textContent);
    }
  };
  a.renderTexts = () => {
    translateDom();
    a.renderLayerPanel();
    a.renderFilterForm();
    a.updateFilterBadge();
    $('#privacy-note').textContent = t('privacyNote', { k });
    $('#data-version').textContent = t('dataVersion', { v: stats.version ?? '–' });
    renderArchiveNote(a);
    if (document.body.classList.contains('presenting')) a.renderFrame();
    map.getCanvas().setAttribute('aria-label', t('title'));
    a.account.render();
    if (a.openRegionId) a.showRegion(a.openRegionId);
    else if (a.openPersonId) a.renderPerson();
    else if (a.areaPanel) a.areas?.rerender();
    else if (a.briefingOpen) a.showBriefing();
    else if (!a.details.hidden) a.views.rerender();
    if (popup.isOpen()) popup.remove();
    redrawBadges();
    redrawPlaceLabels();
    if (a.rerenderWall) a.rerenderWall();
  };
  $('#lang').addEventListener('click', () => {
    setLang(getLang() === 'zh' ? 'en' : 'zh');
    state.lang = getLang();
    localStorage.setItem('talentmap.lang', state.lang);
    a.renderTexts();
    a.writeHash();
  });
}

/** The language switch while the sign-in form stands in for the map. */
function gateLanguage() {
  $('#lang').addEventListener('click', () => {
    setLang(getLang() === 'zh' ? 'en' : 'zh');
    localStorage.setItem('talentmap.lang', getLang());
    translateDom();
  });
}

/** Narrow screens: the sidebar is a drawer. */
function setupDrawer() {
  $('#toggle-sidebar').addEventListener('click', () => {
    const open = !document.body.classList.contains('sidebar-open');
    document.body.classList.toggle('sidebar-open', open);
    $('#toggle-sidebar').setAttribute('aria-expanded', String(open));
    if (open) $('#sidebar').focus();
  });
}

/** A hash edited by hand, or back/forward. */
function watchHash(a) {
  const { map, state } = a;
  window.addEventListener('hashchange', () => {
    a.knownHash = window.location.hash;
    const next = parseHash(window.location.hash);
    // A briefing card flies there; a hand-edited hash jumps.
    if (next.center && a.flyNextHash) map.flyTo({ center: next.center, zoom: next.zoom, essential: true });
    else if (next.center) map.jumpTo({ center: next.center, zoom: next.zoom });
    a.flyNextHash = false;
    state.layers = next.layers;
    const statChanged = next.stat !== state.stat;
    state.stat = next.stat;
    state.filters = next.filters;
    if (next.lang && next.lang !== getLang()) {
      setLang(next.lang);
      state.lang = next.lang;
    }
    a.renderTexts();
    a.setLayerVisibility();
    if (statChanged) a.applyRegionPaint(true);
    a.applyFilters();
    a.views.applyState(next);
    // An area's profile or a comparison named by the hash (a shared link pasted in, back/forward).
    const compare = next.compare?.join(',') ?? null;
    if (compare && compare !== (state.compare?.join(',') ?? null)) a.loadAreas().then((m) => m.showCompare(next.compare), a.reportAreas);
    else if (!compare && next.area && next.area !== state.area) a.loadAreas().then((m) => m.showProfile(next.area), a.reportAreas);
    else if (!compare && !next.area && (state.area || state.compare)) a.closeDetails();
  });
}

/** Opens the archive the hash names, if any (archive.js); on failure the
 *  server's tiles stay and the sidebar says why. */
async function loadArchive(a) {
  a.archive = null;
  a.archiveError = null;
  if (!a.state.archive) return;
  try {
    const url = archiveUrl(a.state.archive, window.location.href);
    if (!url) throw new Error(a.state.archive);
    a.archive = await openArchive(maplibregl, url);
    app.archive = { layer: a.archive.layer, url: a.archive.url };
  } catch (err) {
    a.archiveError = String(err?.message || err);
    app.archiveError = a.archiveError;
  }
}

/** The sidebar line about the archive: where a layer comes from, or why not. */
function renderArchiveNote(a) {
  const el = $('#archive-note');
  const { archive, archiveError } = a;
  el.hidden = !archive && !archiveError;
  el.classList.toggle('error', Boolean(archiveError));
  if (archive) {
    const layer = t(`layer${archive.layer[0].toUpperCase()}${archive.layer.slice(1)}`);
    const query = archive.query ? t('archiveQuery', { q: archive.query }) : '';
    el.textContent = t('archiveNote', { layer, name: archive.name, v: archive.dataVersion ?? '–', query });
  } else if (archiveError) {
    el.textContent = t('archiveError', { msg: archiveError });
  }
}

/** Study areas, profiles and comparisons (areas.js): loaded the first time
 *  they are asked for, so the first render does not wait for them. */
function setupAreas(a) {
  const { state } = a;
  let loading = null;
  a.areas = null;
  a.areaPanel = null; // 'tool' | 'profile' | 'mismatch' | 'compare' while areas.js has the panel
  a.loadAreas = () =>
    (loading ||= import('./areas.js').then((m) => {
      a.areas = m.createAreas(a);
      app.areas = a.areas;
      return a.areas;
    }));
  /** Another panel takes over (or the panel closes): the drawing, the outline and the hash's area go. */
  a.leaveAreaPanel = () => {
    if (!a.areaPanel && !state.area && !state.compare) return;
    a.areaPanel = null;
    a.areas?.onLeave();
    if (state.area || state.compare) {
      state.area = null;
      state.compare = null;
      a.writeHash();
    }
  };
  const report = (err) => {
    console.warn(err);
    app.errors.push(String(err?.message || err));
  };
  a.reportAreas = report;
  $('#areas-open').addEventListener('click', () => a.loadAreas().then((m) => m.openTool()).catch(report));
  // "Profile" buttons: the region panel's, the area list's, the comparison's column heads.
  document.addEventListener('click', (ev) => {
    const btn = ev.target.closest('[data-area-profile]');
    if (btn) a.loadAreas().then((m) => m.showProfile(btn.dataset.areaProfile)).catch(report);
  });
  /** The hash names an area or a comparison: open it once the map is there. */
  a.openAreaFromHash = () => {
    if (state.compare) a.loadAreas().then((m) => m.showCompare(state.compare)).catch(report);
    else if (state.area) a.loadAreas().then((m) => m.showProfile(state.area)).catch(report);
  };
}

async function main() {
  // Start the map's web workers while the API answers.
  maplibregl.prewarm();
  // An address without state opens on the briefing (briefing.js).
  const fresh = !window.location.hash;
  const state = loadState();
  let a = null;
  const account = createAccount({ onChange: () => a?.applySession() });
  app.account = account;
  const boot = window.__talentmapBoot || [];
  // A server that serves nobody anonymous: the sign-in form instead of an empty map.
  if (mustSignIn(await account.load(boot[3]))) {
    account.gate();
    gateLanguage();
    return;
  }
  account.render();
  try {
    a = await loadData(state);
  } catch (err) {
    if (err.status === 401) {
      account.gate();
      gateLanguage();
      return;
    }
    throw err;
  }
  a.account = account;
  account.setRegions(a.regionsById);
  await loadArchive(a);
  a.map = createMap(a);
  addRegionLabels(a);
  wireHash(a);
  setupPeople(a);
  setupLayerPanel(a);
  setupBreaks(a);
  setupFilters(a);
  setupDetails(a);
  setupViews(a);
  setupClicks(a);
  setupEnterpriseSearch(a);
  setupLanguage(a);
  setupDrawer();
  setupPresentation(a);
  a.getJson = getJson;
  setupAreas(a);
  setupBriefing(a, { fresh });
  watchHash(a);

  a.renderTexts();
  a.setLayerVisibility();
  const { map } = a;
  map.once('idle', () => {
    app.firstIdleMs = performance.now();
    app.firstIdleEpoch = Date.now();
    a.writeHash();
  });
  map.once('load', () => {
    a.styleLoaded = true;
    a.syncPeople();
    app.ready = true;
    setStatus('');
    if (state.view) a.views.load();
    a.openAreaFromHash();
  });
}

main().catch((err) => {
  console.error(err);
  app.errors.push(String(err?.message || err));
});
