// The map through time (人才存量变化): talents living in each district (or
// park) at the end of each month, from `/api/stock`. Two modes:
//  - slider: a month slider with playback at the bottom of the map; the
//    areas are coloured by their stock at the end of that month, on a scale
//    fixed over the whole span so that colours compare across months;
//  - before/after: a chosen month (e.g. a policy's start) and a window; the
//    change per area (after − before, or in %) on a diverging ramp, and an
//    area's monthly stock as a line chart with the month marked.
// Loaded on demand (`index.js` imports it the first time the view is on),
// so the first render neither loads this code nor asks for the stock.

import { fmt, fmtDecimal, nameOf, t } from '../i18n.js';
import { esc, swatchRows } from '../legend.js';
import { BLUES, NO_DATA, legendClasses, quantileBreaks, stepExpression } from '../ramps.js';
import { lineChart } from '../chart.js';
import { EMPTY_FC, kv } from './shared.js';
import { TIME_WINDOWS } from '../state.js';

/** ColorBrewer BrBG, 7 steps (diverging, colour-blind safe): brown = fewer talents, teal = more. */
export const BRBG = ['#8c510a', '#d8b365', '#f6e8c3', '#f5f5f5', '#c7eae5', '#5ab4ac', '#01665e'];
export const TIME_LEVELS = ['district', 'park'];
/** Milliseconds per month while playing. */
export const PLAY_STEP_MS = 1000;
const SOURCE = 'time-areas';
const FILL = 'time-fill';
const LINE = 'time-line';

/** `month` (YYYY-MM) moved by `n` months. */
export function addMonths(month, n) {
  const [y, m] = month.split('-').map(Number);
  const d = new Date(Date.UTC(y, m - 1 + n, 1));
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** Months from `a` to `b`, both included. */
export function monthRange(a, b) {
  const out = [];
  for (let m = a; m <= b && out.length < 600; m = addMonths(m, 1)) out.push(m);
  return out;
}

/**
 * Before and after values of one area's months around `date` with a window
 * of `win` months: `mean` compares the mean stock of the `win` months before
 * `date` with that of the `win` months from `date` on; `end` compares the end
 * of the month before `date` with the end of month `date + win − 1`.
 * Null when a month needed is missing or suppressed.
 */
export function beforeAfter(months, date, win, calc = 'mean') {
  const by = new Map(months.map((m) => [m.month, m.talents]));
  const get = (m) => (Number.isFinite(by.get(m)) ? by.get(m) : null);
  let before;
  let after;
  if (calc === 'end') {
    before = get(addMonths(date, -1));
    after = get(addMonths(date, win - 1));
  } else {
    const sum = (list) => (list.some((v) => v === null) ? null : list.reduce((s, v) => s + v, 0));
    const b = sum(Array.from({ length: win }, (_, i) => get(addMonths(date, i - win))));
    const a = sum(Array.from({ length: win }, (_, i) => get(addMonths(date, i))));
    before = b === null ? null : b / win;
    after = a === null ? null : a / win;
    // The difference of the sums over the window (fewer rounding errors than the difference of the means).
    const change = b === null || a === null ? null : (a - b) / win;
    return { before, after, change, pct: change === null || !b ? null : ((a - b) / b) * 100 };
  }
  const change = before === null || after === null ? null : after - before;
  const pct = change === null || !before ? null : (change / before) * 100;
  return { before, after, change, pct };
}

/** A round step at least `v` (1, 2, 2.5, 5 × 10ⁿ). */
function niceCeil(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** Six breaks symmetric around 0 for the 7-step diverging ramp: ±z (about no change), ±u, ±2u. */
export function divergingBreaks(values) {
  const m = Math.max(0, ...values.filter(Number.isFinite).map(Math.abs));
  const u = niceCeil(m / 3 || 1);
  const z = u / 4;
  return [-2 * u, -u, -z, z, u, 2 * u];
}

/** The colour a value takes on a step ramp (as MapLibre's `step` draws it). */
export function stepColor(value, breaks, colors) {
  if (!Number.isFinite(value)) return NO_DATA;
  let i = 0;
  while (i < breaks.length && value >= breaks[i]) i += 1;
  return colors[i];
}

export function createTimeView(cx, s) {
  const { map, state, ctx, getJson, openPanel, beforeLayer } = cx;
  Object.assign(s, { until: null, data: null, months: [], breaks: [], colors: [], values: null, playing: false, error: null, tilesMonth: null, tilesBusy: false });
  const cache = new Map();
  let added = false;
  let timer = null;
  let bar = null;
  let tilesSeq = 0;
  let talentsShown = false;

  const level = () => state.tlevel || 'district';
  const mode = () => state.tmode || 'slider';
  const win = () => state.twin || 6;
  const calc = () => state.tcalc || 'mean';
  const by = () => state.tby || 'abs';
  const areaName = (id) => cx.areaName(id);

  function addLayers() {
    if (added) return;
    added = true;
    map.addSource(SOURCE, { type: 'geojson', data: EMPTY_FC, promoteId: 'id' });
    map.addLayer({ id: FILL, type: 'fill', source: SOURCE, paint: { 'fill-color': NO_DATA, 'fill-opacity': 0.82 } }, beforeLayer);
    map.addLayer(
      {
        id: LINE,
        type: 'line',
        source: SOURCE,
        paint: {
          'line-color': ['case', ['boolean', ['feature-state', 'selected'], false], '#111827', '#ffffff'],
          'line-width': ['case', ['boolean', ['feature-state', 'selected'], false], 3, 0.8],
        },
      },
      beforeLayer,
    );
  }

  function addBar() {
    if (bar) return;
    bar = document.createElement('div');
    bar.className = 'time-bar';
    bar.id = 'time-bar';
    bar.hidden = true;
    bar.innerHTML = `<button type="button" id="time-play" class="time-play"></button>
      <output id="time-month" class="time-month" aria-live="polite"></output>
      <input type="range" id="time-slider" min="0" max="0" step="1" value="0">
      <span id="time-range" class="time-range"></span>
      <span id="time-busy" class="time-busy" role="status" hidden></span>`;
    map.getContainer().parentElement.appendChild(bar);
    bar.querySelector('#time-play').addEventListener('click', () => (s.playing ? pause() : play()));
    bar.querySelector('#time-slider').addEventListener('input', (ev) => {
      pause();
      setMonth(s.months[Number(ev.target.value)]);
    });
    // The month's tiles are asked for when the slider is let go, not on every step of a drag.
    bar.querySelector('#time-slider').addEventListener('change', () => applyTiles());
  }

  function renderBar() {
    if (!bar) return;
    const on = state.view === 'time' && mode() === 'slider' && s.months.length > 0;
    bar.hidden = !on;
    if (!on) return;
    const i = Math.max(0, s.months.indexOf(currentMonth()));
    const slider = bar.querySelector('#time-slider');
    slider.max = String(s.months.length - 1);
    slider.value = String(i);
    slider.setAttribute('aria-label', t('timeSlider'));
    slider.setAttribute('aria-valuetext', s.months[i]);
    bar.querySelector('#time-month').textContent = s.months[i];
    bar.querySelector('#time-range').textContent = `${s.months[0]} – ${s.months.at(-1)}`;
    const btn = bar.querySelector('#time-play');
    btn.textContent = s.playing ? '❚❚' : '▶';
    btn.setAttribute('aria-label', t(s.playing ? 'timePause' : 'timePlay'));
    btn.title = t(s.playing ? 'timePause' : 'timePlay');
    btn.setAttribute('aria-pressed', String(s.playing));
  }

  /** The month shown: the hash's, else the last of the span. */
  const currentMonth = () => (state.tmonth && s.months.includes(state.tmonth) ? state.tmonth : s.months.at(-1));
  /** The chosen date: the hash's when the window fits the data, else 12 months before the end. */
  function currentDate() {
    const until = s.until;
    if (!until) return state.tdate;
    const latest = addMonths(until, 1 - win());
    if (state.tdate && state.tdate <= latest) return state.tdate;
    return addMonths(until, -11) <= latest ? addMonths(until, -11) : latest;
  }

  function stockUrl() {
    const q = [`level=${level()}`];
    if (mode() === 'change') {
      // Enough months before the date for the window, and at least two years for the chart.
      const date = currentDate();
      if (date) {
        let from = addMonths(date, -Math.max(win(), 12));
        if (s.until && addMonths(s.until, -23) < from) from = addMonths(s.until, -23);
        // The default span is the 24 months up to the data's last month.
        if (!s.until || from !== addMonths(s.until, -23)) q.push(`from=${from}`);
      }
    }
    if (state.tfield) q.push(`field=${encodeURIComponent(state.tfield)}`);
    if (state.tchain) q.push(`chain=${encodeURIComponent(state.tchain)}`);
    return `/api/stock?${q.join('&')}`;
  }

  async function fetchStock(url) {
    if (!cache.has(url)) {
      const p = getJson(url);
      cache.set(url, p);
      p.catch(() => cache.delete(url));
    }
    return cache.get(url);
  }

  async function load() {
    s.loading = true;
    try {
      await loadStock();
    } finally {
      s.loading = false;
    }
  }

  async function loadStock() {
    addLayers();
    addBar();
    cx.setVisibility();
    const mine = cx.seq.now();
    let data;
    try {
      const url = stockUrl();
      data = await fetchStock(url);
      s.until = data.data_until;
      // The first answer tells the data's last month; the date may need other months.
      const next = stockUrl();
      if (next !== url) data = await fetchStock(next);
    } catch (err) {
      if (/not_found|no route|HTTP 404/.test(err.message) && !/region/.test(err.message)) {
        s.error = t('timeUnavailable');
        cx.rerenderItem('time');
        openPanel(`<p class="hint">${esc(s.error)}</p>`);
        return;
      }
      throw err;
    }
    if (mine !== cx.seq.now() || state.view !== 'time') return;
    s.error = null;
    s.data = data;
    s.months = monthRange(data.from, data.to);
    const feats = (level() === 'park' ? cx.parks : cx.districts).map((f) => ({
      type: 'Feature',
      geometry: f.geometry,
      properties: { id: String(f.properties.id), name: f.properties.name, kind: f.properties.kind },
    }));
    map.removeFeatureState({ source: SOURCE });
    map.getSource(SOURCE).setData({ type: 'FeatureCollection', features: feats });
    s.ids = feats.map((f) => f.properties.id);
    if (mode() === 'slider') {
      // One scale for the whole span: quantiles of every area's every month.
      const all = data.areas.flatMap((a) => a.months.map((m) => m.talents)).filter(Number.isFinite);
      s.breaks = quantileBreaks(all, BLUES.length, 0);
      s.colors = legendClasses(s.breaks, BLUES, 0).map((c) => c.color);
    } else {
      computeChange();
    }
    paint();
    cx.rerenderItem('time');
    renderBar();
    renderPanel();
    applyTiles();
  }

  function computeChange() {
    const date = currentDate();
    s.date = date;
    s.change = new Map(s.data.areas.map((a) => [String(a.id), beforeAfter(a.months, date, win(), calc())]));
    const vals = [...s.change.values()].map((c) => (by() === 'pct' ? c.pct : c.change));
    s.breaks = divergingBreaks(vals);
    s.colors = BRBG.slice();
  }

  /** The value an area is coloured by now. */
  function valueOf(id) {
    if (mode() === 'change') {
      const c = s.change?.get(String(id));
      return c ? (by() === 'pct' ? c.pct : c.change) : null;
    }
    const a = s.data?.areas.find((x) => String(x.id) === String(id));
    const m = a?.months.find((x) => x.month === currentMonth());
    return Number.isFinite(m?.talents) ? m.talents : null;
  }

  function paint() {
    if (!s.data || !map.getLayer(FILL)) return;
    s.values = {};
    for (const id of s.ids) {
      const v = valueOf(id);
      s.values[id] = v;
      map.setFeatureState({ source: SOURCE, id }, { v, selected: id === state.tarea });
    }
    const colour = stepExpression(['to-number', ['feature-state', 'v'], 0], s.breaks, s.colors);
    // Areas without a value (suppressed, or missing) are drawn grey.
    map.setPaintProperty(FILL, 'fill-color', ['case', ['==', ['typeof', ['feature-state', 'v']], 'number'], colour, NO_DATA]);
    s.month = mode() === 'slider' ? currentMonth() : null;
  }

  function setMonth(month) {
    state.tmonth = month === s.months.at(-1) ? null : month;
    paint();
    renderBar();
    cx.writeHash();
    renderPanel();
  }

  function play() {
    if (!s.months.length) return;
    if (currentMonth() === s.months.at(-1)) setMonth(s.months[0]);
    s.playing = true;
    renderBar();
    clearInterval(timer);
    timer = setInterval(() => {
      const i = s.months.indexOf(currentMonth());
      if (i < 0 || i >= s.months.length - 1 || state.view !== 'time' || mode() !== 'slider') {
        pause();
        return;
      }
      setMonth(s.months[i + 1]);
      if (i + 1 >= s.months.length - 1) pause();
    }, PLAY_STEP_MS);
  }

  function pause() {
    clearInterval(timer);
    timer = null;
    if (!s.playing) return;
    s.playing = false;
    renderBar();
    applyTiles();
  }

  /** Whether the talents and regions tiles follow the slider's month. */
  const tilesOn = () => state.ttiles === 1 && state.view === 'time' && mode() === 'slider' && !s.error;

  function showBusy(text) {
    const el = bar?.querySelector('#time-busy');
    if (!el) return;
    el.textContent = text || '';
    el.hidden = !text;
  }

  /**
   * The talents and regions tiles as of the slider's month while the option
   * is on (today's otherwise). Not during playback, which keeps the stock
   * colouring only: the tiles follow once it stops.
   */
  function applyTiles() {
    if (s.playing) return;
    const on = tilesOn() && s.months.length > 0;
    const month = on ? currentMonth() : null;
    if (on && !talentsShown) {
      talentsShown = true;
      cx.showLayer('talents', true);
      // The cells drawn over the stock fill, which fades beneath them.
      for (const l of ['talents-fill', 'talents-suppressed']) if (map.getLayer(l)) map.moveLayer(l, 'base-parks-line');
      if (map.getLayer(FILL)) map.setPaintProperty(FILL, 'fill-opacity', 0.45);
    } else if (!on && talentsShown) {
      talentsShown = false;
      cx.showLayer('talents', false);
      for (const l of ['talents-suppressed', 'talents-fill']) if (map.getLayer(l) && map.getLayer('vacancies-fill')) map.moveLayer(l, 'vacancies-fill');
      if (map.getLayer(FILL)) map.setPaintProperty(FILL, 'fill-opacity', 0.82);
    }
    if (month === s.tilesMonth) return;
    s.tilesMonth = month;
    cx.setTileMonth(month);
    cx.rerenderItem('time');
    if (!month) {
      s.tilesBusy = false;
      showBusy('');
      return;
    }
    // The first tiles of a month take a while (the server builds that month's view).
    const mine = (tilesSeq += 1);
    s.tilesBusy = true;
    showBusy(t('timeTilesLoading', { month }));
    const done = () => {
      if (mine !== tilesSeq) return;
      s.tilesBusy = false;
      showBusy('');
    };
    map.once('idle', done);
  }

  const option = (v, label, sel) => `<option value="${esc(v)}"${sel ? ' selected' : ''}>${esc(label)}</option>`;

  function controls() {
    if (s.error) return `<p class="legend-note">${esc(s.error)}</p>`;
    const tax = ctx.tax;
    const fields = [...tax.fields.values()].map((f) => option(f.code, `${f.code} ${nameOf(f, f.code)}`, f.code === state.tfield)).join('');
    const chains = (tax.raw?.chains || []).map((c) => option(c.id, nameOf(c, c.id), c.id === state.tchain)).join('');
    const rows = [
      `<div class="field-row compact"><label for="time-mode">${esc(t('timeMode'))}</label>
        <select id="time-mode">${option('slider', t('timeModeSlider'), mode() === 'slider')}${option('change', t('timeModeChange'), mode() === 'change')}</select></div>`,
      `<div class="field-row compact"><label for="time-level">${esc(t('timeLevel'))}</label>
        <select id="time-level">${TIME_LEVELS.map((l) => option(l, t(l === 'park' ? 'parks' : 'districts'), l === level())).join('')}</select></div>`,
      `<div class="field-row compact"><label for="time-field">${esc(t('timeField'))}</label>
        <select id="time-field">${option('', t('timeAll'), !state.tfield)}${fields}</select></div>`,
      `<div class="field-row compact"><label for="time-chain">${esc(t('timeChain'))}</label>
        <select id="time-chain">${option('', t('timeAll'), !state.tchain)}${chains}</select></div>`,
    ];
    if (mode() === 'slider') {
      rows.push(`<div class="field-row compact check-row"><label for="time-tiles"><input type="checkbox" id="time-tiles"${state.ttiles === 1 ? ' checked' : ''}>
        ${esc(t('timeTiles'))}</label></div>`);
    }
    if (mode() === 'change' && s.data) {
      const until = s.data.data_until;
      const dates = monthRange(addMonths(until, -59), addMonths(until, 1 - win()));
      const date = currentDate();
      rows.push(
        `<div class="field-row compact"><label for="time-date">${esc(t('timeDate'))}</label>
          <select id="time-date">${dates.map((m) => option(m, m, m === date)).join('')}</select></div>`,
        `<div class="field-row compact"><label for="time-window">${esc(t('timeWindow'))}</label>
          <select id="time-window">${TIME_WINDOWS.map((w) => option(w, t('timeMonths', { n: w }), w === win())).join('')}</select></div>`,
        `<div class="field-row compact"><label for="time-calc">${esc(t('timeCalc'))}</label>
          <select id="time-calc">${option('mean', t('timeCalcMean'), calc() === 'mean')}${option('end', t('timeCalcEnd'), calc() === 'end')}</select></div>`,
        `<div class="field-row compact"><label for="time-by">${esc(t('timeBy'))}</label>
          <select id="time-by">${option('abs', t('timeByAbs'), by() === 'abs')}${option('pct', t('timeByPct'), by() === 'pct')}</select></div>`,
      );
    }
    return rows.join('');
  }

  function perturbedNote() {
    return s.data && !s.data.exact_counts ? `<p class="legend-note">${esc(t('perturbedNote', { k: s.data.k ?? ctx.k }))}</p>` : '';
  }

  function legend() {
    if (!s.data || s.error) return `<p class="legend-note">${esc(t('viewTimeNote'))}</p>`;
    let rows;
    if (mode() === 'slider') {
      rows = legendClasses(s.breaks, BLUES, 0).map((c) => ({
        color: c.color,
        label: c.to === null ? `≥ ${fmt(c.from)}` : c.to - 1 <= c.from ? fmt(c.from) : `${fmt(c.from)}–${fmt(c.to - 1)}`,
      }));
    } else {
      const b = s.breaks;
      const f = (v) => (by() === 'pct' ? `${fmtDecimal(v)}%` : fmt(v));
      const signed = (v) => (v > 0 ? `+${f(v)}` : f(v));
      rows = [
        `< ${signed(b[0])}`,
        `${signed(b[0])} – ${signed(b[1])}`,
        `${signed(b[1])} – ${signed(b[2])}`,
        `${signed(b[2])} – ${signed(b[3])}`,
        `${signed(b[3])} – ${signed(b[4])}`,
        `${signed(b[4])} – ${signed(b[5])}`,
        `≥ ${signed(b[5])}`,
      ].map((label, i) => ({ color: BRBG[i], label }));
    }
    rows.push({ color: NO_DATA, label: t('noData') });
    const title = mode() === 'slider' ? t('timeLegendStock', { from: s.months[0], to: s.months.at(-1) }) : t(by() === 'pct' ? 'timeLegendPct' : 'timeLegendAbs');
    const tiles = mode() === 'slider' && state.ttiles === 1 && s.tilesMonth
      ? `<p class="legend-note" id="time-tiles-note">${esc(t('timeTilesNote', { month: s.tilesMonth }))}</p>`
      : '';
    return `<p class="legend-title">${esc(title)}</p><ul class="legend-list" id="time-legend">${swatchRows(rows)}</ul>${tiles}${perturbedNote()}`;
  }

  const areaRows = () => (s.data ? s.data.areas : []);

  function chartHtml() {
    const id = state.tarea;
    const a = id && s.data?.areas.find((x) => String(x.id) === String(id));
    if (!a) return `<p class="hint">${esc(t('timeChooseHint'))}</p>`;
    const mark = mode() === 'change' ? s.date : currentMonth();
    const bands =
      mode() === 'change'
        ? calc() === 'end'
          ? [
              { from: addMonths(s.date, -1), to: addMonths(s.date, -1), cls: 'before' },
              { from: addMonths(s.date, win() - 1), to: addMonths(s.date, win() - 1), cls: 'after' },
            ]
          : [
              { from: addMonths(s.date, -win()), to: addMonths(s.date, -1), cls: 'before' },
              { from: s.date, to: addMonths(s.date, win() - 1), cls: 'after' },
            ]
        : [];
    const c = mode() === 'change' ? s.change.get(String(a.id)) : null;
    return `<section class="chart-section" id="time-chart">${lineChart({
      title: t('timeChartTitle', { name: areaName(a.id) }),
      months: a.months.map((m) => m.month),
      values: a.months.map((m) => m.talents),
      mark,
      markLabel: mark,
      bands,
    })}</section>${
      c
        ? kv([
            [t('timeBefore'), fmtDecimal(c.before)],
            [t('timeAfter'), fmtDecimal(c.after)],
            [t('timeChange'), signedNum(c.change)],
            [t('timeChangePct'), pctText(c.pct)],
          ])
        : ''
    }`;
  }

  const signedNum = (v) => (v === null || v === undefined ? '–' : `${v > 0 ? '+' : ''}${fmtDecimal(v)}`);
  const pctText = (v) => (v === null || v === undefined ? '–' : `${v > 0 ? '+' : ''}${fmtDecimal(v)}%`);

  function tableHtml() {
    if (mode() === 'change') {
      const rows = areaRows()
        .map((a) => ({ a, c: s.change.get(String(a.id)) }))
        .sort((x, y) => (y.c.change ?? -Infinity) - (x.c.change ?? -Infinity));
      return `<div class="table-wrap"><table class="rank-table" id="time-table"><thead><tr><th>${esc(t('area'))}</th>
        <th class="num">${esc(t('timeBefore'))}</th><th class="num">${esc(t('timeAfter'))}</th><th class="num">${esc(t('timeChange'))}</th><th class="num">%</th></tr></thead><tbody>${rows
          .map(
            ({ a, c }) => `<tr data-area="${esc(a.id)}" data-before="${c.before ?? ''}" data-after="${c.after ?? ''}" data-change="${c.change ?? ''}" data-pct="${c.pct ?? ''}"${String(a.id) === state.tarea ? ' class="selected"' : ''}>
            <th scope="row"><button type="button" class="link-btn fly-row" data-fly="${esc(a.id)}" data-tarea="${esc(a.id)}">${esc(areaName(a.id))}</button></th>
            <td class="num">${fmtDecimal(c.before)}</td><td class="num">${fmtDecimal(c.after)}</td><td class="num"><strong>${signedNum(c.change)}</strong></td><td class="num">${pctText(c.pct)}</td></tr>`,
          )
          .join('')}</tbody></table></div>`;
    }
    const month = currentMonth();
    const first = s.months[0];
    const rows = areaRows()
      .map((a) => {
        const at = (m) => a.months.find((x) => x.month === m)?.talents ?? null;
        const v = at(month);
        const v0 = at(first);
        return { a, v, d: v === null || v0 === null ? null : v - v0 };
      })
      .sort((x, y) => (y.v ?? -1) - (x.v ?? -1));
    return `<div class="table-wrap"><table class="rank-table" id="time-table"><thead><tr><th>${esc(t('area'))}</th>
      <th class="num">${esc(t('timeTalentsAt', { month }))}</th><th class="num">${esc(t('timeSinceStart', { month: first }))}</th></tr></thead><tbody>${rows
        .map(
          ({ a, v, d }) => `<tr data-area="${esc(a.id)}" data-talents="${v ?? ''}"${String(a.id) === state.tarea ? ' class="selected"' : ''}>
          <th scope="row"><button type="button" class="link-btn fly-row" data-fly="${esc(a.id)}" data-tarea="${esc(a.id)}">${esc(areaName(a.id))}</button></th>
          <td class="num">${fmt(v)}</td><td class="num">${signedNum(d)}</td></tr>`,
        )
        .join('')}</tbody></table></div>`;
  }

  function renderPanel() {
    if (!s.data || state.view !== 'time') return;
    const change = mode() === 'change';
    const head = change
      ? t('timeChangeHead', { date: s.date, win: win(), calc: t(calc() === 'end' ? 'timeCalcEnd' : 'timeCalcMean') })
      : t('timeStockHead', { month: currentMonth() });
    const filters = [state.tfield && cx.fieldName(state.tfield), state.tchain && nameOf(ctx.tax.chains?.get(state.tchain), state.tchain)].filter(Boolean);
    const keep = document.getElementById('time-panel');
    const html = `
      <header class="details-head" id="time-panel">
        <p class="eyebrow">${esc(t('viewTime'))} · ${esc(t(level() === 'park' ? 'parks' : 'districts'))}${filters.length ? ` · ${esc(filters.join(' · '))}` : ''}</p>
        <h2 id="details-title">${esc(state.tarea ? areaName(state.tarea) : head)}</h2>
        ${state.tarea ? `<p class="hint">${esc(head)}</p>` : ''}
      </header>
      <section id="time-area">${chartHtml()}</section>
      <section><h3>${esc(change ? t('timeChangeTitle') : t('timeStockTitle'))}</h3>${tableHtml()}${perturbedNote()}
      ${change ? `<p class="legend-note">${esc(t('timeMethodNote'))}</p>` : ''}</section>`;
    // While playing, the panel is redrawn in place (no focus or scroll jump).
    const body = keep?.closest('#details-body');
    if (body && !document.getElementById('details').hidden) body.innerHTML = html;
    else openPanel(html);
  }

  function selectArea(id) {
    state.tarea = id ? String(id) : null;
    paint();
    cx.writeHash();
    renderPanel();
  }

  function reload() {
    pause();
    cx.writeHash();
    return cx.load();
  }

  function onControl(el) {
    if (el.id === 'time-tiles') {
      state.ttiles = el.checked ? 1 : null;
      cx.writeHash();
      applyTiles();
      return true;
    }
    const v = el.value || null;
    switch (el.id) {
      case 'time-mode':
        state.tmode = v === 'change' ? 'change' : null;
        break;
      case 'time-level':
        state.tlevel = v === 'park' ? 'park' : null;
        state.tarea = null;
        break;
      case 'time-field':
        state.tfield = v;
        break;
      case 'time-chain':
        state.tchain = v;
        break;
      case 'time-date':
        state.tdate = v;
        break;
      case 'time-window':
        state.twin = Number(v) === 6 ? null : Number(v);
        break;
      case 'time-calc':
        state.tcalc = v === 'end' ? 'end' : null;
        break;
      case 'time-by':
        state.tby = v === 'pct' ? 'pct' : null;
        break;
      default:
        return false;
    }
    reload().catch(cx.report);
    return true;
  }

  /** A click on an area shows its monthly stock; true when handled. */
  function onClick(e) {
    if (!s.data || !map.getLayer(FILL)) return false;
    const f = map.queryRenderedFeatures(e.point, { layers: [FILL] })[0];
    if (!f) return false;
    selectArea(f.properties.id);
    return true;
  }

  /** The view turned on or off: the bar follows, playback stops when off. */
  function setOn(on) {
    if (!on) {
      pause();
      // Today's tiles again once the view is off.
      if (s.tilesMonth || talentsShown) applyTiles();
    }
    renderBar();
  }

  return {
    controls,
    legend,
    load,
    rerender: () => {
      renderBar();
      if (s.data) renderPanel();
    },
    selectArea,
    onControl,
    onClick,
    setOn,
    play,
    pause,
  };
}
