// The analysis views in the layer panel — shortage index (紧缺指数),
// commute and job–housing (通勤与职住), talent flows (人才流动) — composed
// into one object for `app.js`. One view is active at a time; each adds its
// own sources and map layers the first time it is turned on (so nothing is
// requested while it is off) and uses the detail panel for its ranked list,
// indicators and explanations. This module owns what they share: which view
// is on, the request counter that drops answers a newer load made stale, the
// layer-panel items and the panel and map events. The time view's module
// is imported the first time that view is on (`lazyTimeView`).

import { nameOf, placeName, t } from '../i18n.js';
import { esc } from '../legend.js';
import { createCommuteView } from './commute.js';
import { createFlowsView } from './flows.js';
import { createShortageView } from './shortage.js';
import { TIME_KEYS } from '../state.js';

export const VIEW_IDS = ['shortage', 'commute', 'flows', 'time'];

const HASH_KEYS = ['view', 'sfield', 'sby', 'sarea', 'park', 'cside', 'farea', 'fmonth', 'flevel', 'fent', ...TIME_KEYS];

/** The time view as the list sees it before its module is loaded: the
 *  layer ids and hash keys are known, the rest waits for `import()`. */
function lazyTimeView(cx) {
  const s = {};
  let impl = null;
  let loading = null;
  const get = () =>
    (loading ||= import('./time.js').then((m) => {
      impl = m.createTimeView(cx, s);
      return impl;
    }));
  return {
    id: 'time',
    layers: ['time-fill', 'time-line'],
    state: s,
    controls: () => impl?.controls() ?? '',
    legend: () => impl?.legend() ?? `<p class="legend-note">${esc(t('viewTimeNote'))}</p>`,
    load: () => get().then((v) => v.load()),
    rerender: () => impl?.rerender(),
    selectArea: (id) => impl?.selectArea(id),
    onControl: (el) => impl?.onControl(el) ?? false,
    onClick: (e) => impl?.onClick(e) ?? false,
    setOn: (on) => impl?.setOn(on),
    get impl() {
      return impl;
    },
  };
}

export function createViews({ map, state, ctx, base, regionsById, origin, getJson, writeHash, flyToArea, openPanel, beforeLayer, onViewOn, setTileMonth, showLayer, canKeepAreas }) {
  let seq = 0;
  const report = (err) => {
    console.warn(err);
    openPanel(`<p class="error">${esc(t('loadError', { msg: err.message }))}</p>`);
  };
  const cx = {
    map,
    state,
    ctx,
    origin,
    getJson,
    writeHash,
    flyToArea,
    openPanel,
    beforeLayer,
    parks: base.features.filter((f) => f.properties.kind === 'park'),
    districts: base.features.filter((f) => f.properties.kind === 'district'),
    fieldName: (code) => nameOf(ctx.tax.fields.get(String(code)), String(code)),
    areaName: (id) => placeName(regionsById.get(String(id))?.properties, String(id)),
    // Each load takes a number; an answer that arrives after a newer load started is dropped.
    seq: { next: () => (seq += 1), now: () => seq },
    setVisibility,
    rerenderItem,
    report,
    load,
    // The talents and regions tiles as of a month (null = today), and a cell layer shown or hidden (the time view).
    setTileMonth: (month) => setTileMonth?.(month),
    showLayer: (id, on) => showLayer?.(id, on),
    // Whether the session keeps study areas (the flow view offers them as a focus).
    canKeepAreas: () => Boolean(canKeepAreas?.()),
  };
  const shortage = createShortageView(cx);
  const commute = createCommuteView(cx);
  const flows = createFlowsView(cx);
  const time = lazyTimeView(cx);
  const views = [shortage, commute, flows, time];
  const byId = new Map(views.map((view) => [view.id, view]));

  function setVisibility() {
    for (const view of views) {
      const on = state.view === view.id;
      const vis = on ? 'visible' : 'none';
      for (const l of view.layers) if (map.getLayer(l)) map.setLayoutProperty(l, 'visibility', vis);
      view.setOn?.(on);
      const li = document.querySelector(`.layer[data-view="${view.id}"]`);
      if (li) {
        li.classList.toggle('on', on);
        li.querySelector('input[data-view]').checked = on;
      }
    }
    map.getCanvas().style.cursor = byId.get(state.view)?.cursor?.() ?? '';
  }

  function layerItems() {
    return views
      .map(({ id, controls, legend }) => {
        const on = state.view === id;
        const cap = id[0].toUpperCase() + id.slice(1);
        return `<li class="layer view${on ? ' on' : ''}" data-view="${id}">
        <label class="toggle">
          <input type="checkbox" id="view-${id}" data-view="${id}"${on ? ' checked' : ''} aria-describedby="view-note-${id}">
          <span class="toggle-track" aria-hidden="true"></span>
          <span class="layer-name">${esc(t(`view${cap}`))}</span>
        </label>
        <p class="layer-note" id="view-note-${id}">${esc(t(`view${cap}Note`))}</p>
        <div class="layer-body"><div class="view-controls">${controls()}</div><div class="legend">${legend()}</div></div>
      </li>`;
      })
      .join('');
  }

  function rerenderItem(id) {
    const li = document.querySelector(`.layer[data-view="${id}"]`);
    if (!li) return;
    li.querySelector('.view-controls').innerHTML = byId.get(id).controls();
    li.querySelector('.legend').innerHTML = byId.get(id).legend();
  }

  function load() {
    seq += 1;
    const view = byId.get(state.view);
    return view ? view.load().catch(report) : Promise.resolve();
  }

  function setView(id) {
    state.view = VIEW_IDS.includes(id) ? id : null;
    commute.stopPlacing();
    setVisibility();
    writeHash();
    return load();
  }

  function onLayerPanelChange(ev) {
    const el = ev.target;
    if (el.dataset.view) {
      // The view's colours replace the cell layers' (enterprises stay).
      if (el.checked) onViewOn?.();
      setView(el.checked ? el.dataset.view : null);
      if (!el.checked) document.getElementById('details-close').click();
      return;
    }
    for (const view of views) if (view.onControl(el)) return;
  }

  // Rows fly to their area (and explain it, select the park or the flow area); the rest is the scenario tool.
  function onPanelClick(ev) {
    const ent = ev.target.closest('[data-fent]');
    if (ent && state.view === 'flows') {
      flows.selectEnterprise(ent.dataset.fent);
      return;
    }
    const row = ev.target.closest('[data-fly]');
    if (row) {
      const lon = Number(row.dataset.lon);
      const lat = Number(row.dataset.lat);
      flyToArea(row.dataset.fly, Number.isFinite(lon) && row.dataset.lon ? [lon, lat] : null);
      if (row.dataset.explain) shortage.explain(row.dataset.explain).catch(report);
      if (row.dataset.park && state.view === 'commute') commute.selectPark(row.dataset.park, false);
      if (row.dataset.farea) flows.selectArea(row.dataset.farea, false);
      if (row.dataset.tarea) time.selectArea(row.dataset.tarea);
      return;
    }
    const target = ev.target.closest('button');
    if (target) commute.onPanelButton(target);
  }

  document.getElementById('layer-list').addEventListener('change', onLayerPanelChange);
  document.getElementById('details').addEventListener('click', onPanelClick);
  document.getElementById('details').addEventListener('change', (ev) => commute.onPanelChange(ev.target));

  /** The commute view on an area's heat: where its workers live (`side` 'work') or where its residents work ('home'). */
  function openCommute(id, side, name) {
    onViewOn?.();
    commute.setArea(id, side, name);
    return setView('commute');
  }

  /** The flow view focused on an area (a study area too), at the enterprise level unless `level` says otherwise. */
  function openFlows(id, level = 'enterprise') {
    onViewOn?.();
    state.flevel = level === 'district' ? null : level;
    state.farea = id;
    state.fent = null;
    return setView('flows');
  }

  /** Map clicks while a view is on; returns true when handled. */
  function onClick(e) {
    return byId.get(state.view)?.onClick(e) ?? false;
  }

  /** Re-renders the open view's panel (after a language switch). */
  function rerender() {
    byId.get(state.view)?.rerender();
  }

  /** A hash edited by hand or back/forward. */
  function applyState(next) {
    if (!HASH_KEYS.some((k) => next[k] !== state[k])) return;
    for (const k of HASH_KEYS) state[k] = next[k];
    setVisibility();
    load();
  }

  return {
    layerItems,
    setView,
    load,
    onClick,
    onIdle: commute.onIdle,
    rerender,
    applyState,
    setVisibility,
    openCommute,
    openFlows,
    /** After a sign-in or sign-out: the study areas offered are asked for again. */
    onSession: () => flows.onSession(),
    state: { shortage: shortage.state, commute: commute.state, flows: flows.state, time: time.state },
    time,
  };
}
