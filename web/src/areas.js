// Study areas, area profiles and comparisons (docs/areas.md), loaded the
// first time they are asked for (the Areas button, a Profile button, or a
// link with `#area=` or `#compare=`): the drawing tools and the upload, the
// signed-in user's list (GET /api/areas), an area's profile with its
// exports and print report, and the comparison of two to four areas. Uses
// the right-hand panel; `a` is the page's shared object (app.js).

import { fmt, fmtDecimal, getLang, placeName, t } from './i18n.js';
import { esc } from './legend.js';
import { canExport, canKeepAreas, errorMessage } from './access.js';
import { COMPARE_MAX, COMPARE_MIN } from './state.js';
import { DEFAULT_BUFFER_M, DRAW_KINDS, createDrawTool, drawnFeature, uploadedFeature } from './draw.js';
import { areaKindLabel, compareHtml, compareUrl, mismatchHtml, mismatchUrl, profileHtml, profileUrl } from './profile.js';

/** Largest file the upload reads (the server has its own body limit). */
const MAX_UPLOAD_MB = 8;
const SHOWN = 'areas-shown';
const EMPTY = { type: 'FeatureCollection', features: [] };
const $ = (sel) => document.querySelector(sel);

export function createAreas(a) {
  const { map, state } = a;
  const details = document.getElementById('details');
  const s = {
    list: null, // the caller's areas (FeatureCollection features), newest first
    limit: 500,
    listError: null,
    picked: [], // [{id, name}] to compare
    profile: null,
    profileMonth: null, // the month the open profile describes (null = today)
    mismatch: null,
    comparison: null,
    message: '',
    name: '',
    buffer: DEFAULT_BUFFER_M,
    share: null, // {id, url, copied}
    seq: 0,
  };
  const app = window.__talentmap;
  const member = () => canKeepAreas(a.account?.session);
  const exportsAllowed = () => canExport(a.account?.session);

  // ---- map: the drawing and the outline of the area shown ----

  const draw = createDrawTool(map, { onChange: onDrawChange });
  let shownAdded = false;
  function ensureShownLayers() {
    if (shownAdded) return;
    shownAdded = true;
    map.addSource(SHOWN, { type: 'geojson', data: EMPTY });
    map.addLayer({ id: 'areas-shown-fill', type: 'fill', source: SHOWN, paint: { 'fill-color': '#1a6fb0', 'fill-opacity': 0.1 } });
    map.addLayer({
      id: 'areas-shown-line',
      type: 'line',
      source: SHOWN,
      layout: { 'line-join': 'round' },
      paint: { 'line-color': '#14324f', 'line-width': 2.6 },
    });
  }

  /** Outlines a study area (a Feature) and, with `fit`, brings it into view. */
  function showOnMap(feature, fit = true) {
    ensureShownLayers();
    map.getSource(SHOWN).setData({ type: 'FeatureCollection', features: feature ? [{ ...feature, properties: { id: feature.id } }] : [] });
    app.shownArea = feature?.id ?? null;
    const b = feature?.properties?.bbox;
    if (fit && b) map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 60, maxZoom: 15, duration: 700 });
  }

  function clearShown() {
    if (shownAdded) map.getSource(SHOWN).setData(EMPTY);
    app.shownArea = null;
  }

  // ---- requests ----

  /** A write (or a read) whose refusal's `error.message` is thrown as the error's message. */
  async function send(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    let json = null;
    if (res.status !== 204) {
      try {
        json = await res.json();
      } catch {
        /* no JSON body */
      }
    }
    if (!res.ok) {
      const err = new Error(errorMessage(json, t('areaRequestFailed', { status: res.status })));
      err.status = res.status;
      throw err;
    }
    return json;
  }

  async function loadList() {
    s.listError = null;
    if (!member()) {
      s.list = null;
      return;
    }
    try {
      const fc = await send('GET', '/api/areas');
      s.list = fc.features || [];
      if (Number.isFinite(fc.limit)) s.limit = fc.limit;
    } catch (err) {
      s.list = [];
      s.listError = err.message;
    }
  }

  const listed = (id) => s.list?.find((f) => f.id === id) ?? null;

  // ---- which panel is open ----

  /** Marks the area panel open as `mode` and puts its area or comparison in the hash. */
  function setMode(mode, { area = null, compare = null } = {}) {
    a.areaPanel = mode;
    state.area = area;
    state.compare = compare;
    a.writeHash();
  }

  function open(html, mode, hash) {
    a.openPanel(html, { keepArea: true });
    setMode(mode, hash);
  }

  // ---- the tool: drawing, upload, list, comparison picker ----

  function drawHint() {
    if (!draw.phase) return t('drawHint_idle');
    const n = draw.vertices;
    const r = fmt(Math.round(draw.radius));
    if (draw.phase === 'drawing') {
      if (draw.kind === 'circle') return n ? t('drawHint_circle_radius', { r }) : t('drawHint_circle_centre');
      return t(`drawHint_${draw.kind}`, { n });
    }
    return t(`drawDone_${draw.kind}`, { n, r });
  }

  function drawSection() {
    if (!member()) return '';
    const done = draw.phase === 'done';
    return `<section id="area-draw-section"><h3>${esc(t('areasDraw'))}</h3>
      <div class="area-tools" role="group" aria-label="${esc(t('areasDraw'))}">${DRAW_KINDS.map(
        (k) => `<button type="button" class="btn" data-draw="${k}" aria-pressed="${draw.kind === k && draw.phase === 'drawing'}">${esc(t(`draw_${k}`))}</button>`,
      ).join('')}</div>
      <p id="area-draw-hint" class="hint" aria-live="polite">${esc(drawHint())}</p>
      <form id="area-form" class="area-form" novalidate>
        <div class="field-row" id="area-buffer-row"${draw.kind === 'corridor' ? '' : ' hidden'}>
          <label for="area-buffer">${esc(t('areaBuffer'))}</label>
          <input id="area-buffer" type="number" min="50" max="50000" step="50" value="${esc(String(s.buffer))}">
        </div>
        <div class="field-row">
          <label for="area-name">${esc(t('areaName'))}</label>
          <input id="area-name" type="text" maxlength="100" autocomplete="off" placeholder="${esc(t('areaNamePlaceholder'))}" value="${esc(s.name)}">
        </div>
        <div class="area-form-actions">
          <button type="submit" id="area-save" class="btn primary"${done ? '' : ' disabled'}>${esc(t('areaSave'))}</button>
          <button type="button" id="area-discard" class="link-btn"${draw.phase ? '' : ' hidden'}>${esc(t('areaDiscard'))}</button>
        </div>
        <p id="area-error" class="error area-error" role="alert" hidden></p>
      </form>
      <div class="field-row area-upload">
        <label for="area-file">${esc(t('areaUpload'))}</label>
        <input id="area-file" type="file" accept=".geojson,.json,application/geo+json,application/json">
        <p class="legend-note">${esc(t('areaUploadNote'))}</p>
      </div>
      <p id="area-upload-error" class="error area-error" role="alert" hidden></p>
    </section>`;
  }

  function listItem(f) {
    const p = f.properties;
    const name = p.name;
    const picked = s.picked.some((x) => x.id === f.id);
    const share =
      s.share?.id === f.id
        ? `<p class="area-share"><label for="area-share-url">${esc(t(s.share.copied ? 'areaLinkCopied' : 'areaLinkCopy'))}</label>
           <input id="area-share-url" class="area-share-url" type="text" readonly value="${esc(s.share.url)}"></p>`
        : '';
    return `<li class="area-item" data-id="${esc(f.id)}">
      <div class="area-item-head">
        <label class="area-pick" title="${esc(t('comparePick'))}"><input type="checkbox" data-pick="${esc(f.id)}" data-pick-name="${esc(name)}"${picked ? ' checked' : ''} aria-label="${esc(`${t('comparePick')}: ${name}`)}"></label>
        <span class="area-name">${esc(name)}</span>
        <span class="area-meta">${esc(t('km2', { v: fmtDecimal(p.km2) }))} · ${esc(t(`shape_${p.kind}`))}</span>
      </div>
      <div class="area-item-actions">
        <button type="button" class="link-btn" data-area-show="${esc(f.id)}" aria-label="${esc(t('areaShowLabel', { name }))}">${esc(t('areaShow'))}</button>
        <button type="button" class="link-btn" data-area-profile="${esc(f.id)}">${esc(t('areaProfile'))}</button>
        <button type="button" class="link-btn" data-area-share="${esc(f.id)}" aria-label="${esc(t('areaShareLabel', { name }))}">${esc(t('areaShare'))}</button>
        ${p.mine === false ? '' : `<button type="button" class="link-btn danger" data-area-delete="${esc(f.id)}">${esc(t('areaDelete'))}</button>`}
      </div>${share}
    </li>`;
  }

  function listSection() {
    if (!member()) return `<section id="area-list-section"><p class="hint area-signin-hint">${esc(t('areasSignIn'))}</p></section>`;
    const body = s.list === null
      ? `<p class="hint">${esc(t('loading'))}</p>`
      : s.listError
        ? `<p class="error">${esc(t('loadError', { msg: s.listError }))}</p>`
        : s.list.length
          ? `<ul id="area-list" class="area-list">${s.list.map(listItem).join('')}</ul>`
          : `<p class="hint" id="area-list-empty">${esc(t('areasNone'))}</p>`;
    return `<section id="area-list-section"><h3>${esc(t('areasMine'))} <span class="count-badge">${esc(
      t('areasCount', { n: fmt(s.list?.length ?? 0), limit: fmt(s.limit) }),
    )}</span></h3>${body}</section>`;
  }

  function compareSection() {
    const regions = (kind) =>
      a.base.features
        .filter((f) => f.properties.kind === kind)
        .map((f) => ({ id: String(f.properties.id), name: placeName(f.properties) }))
        .sort((x, y) => x.name.localeCompare(y.name, getLang() === 'zh' ? 'zh-CN' : 'en'));
    const option = (r) => `<option value="${esc(r.id)}"${s.picked.some((x) => x.id === r.id) ? ' disabled' : ''}>${esc(r.name)}</option>`;
    const full = s.picked.length >= COMPARE_MAX;
    const chips = s.picked.length
      ? `<ul class="pick-list" id="pick-list">${s.picked
          .map(
            (p) => `<li><span>${esc(p.name)}</span><button type="button" class="link-btn" data-pick-remove="${esc(p.id)}" aria-label="${esc(`${t('compareRemove')}: ${p.name}`)}">×</button></li>`,
          )
          .join('')}</ul>`
      : `<p class="hint">${esc(t('compareNone'))}</p>`;
    return `<section id="area-compare"><h3>${esc(t('compareSection'))}</h3>
      <p class="hint">${esc(t('compareHint'))}</p>
      ${chips}
      <div class="field-row compact"><label for="compare-region" class="visually-hidden">${esc(t('compareAddRegion'))}</label>
        <select id="compare-region"${full ? ' disabled' : ''}><option value="">${esc(t('compareAddRegion'))}</option>
          <optgroup label="${esc(t('districts'))}">${regions('district').map(option).join('')}</optgroup>
          <optgroup label="${esc(t('parks'))}">${regions('park').map(option).join('')}</optgroup>
        </select></div>
      ${full ? `<p class="hint">${esc(t('compareFull'))}</p>` : ''}
      <button type="button" id="compare-run" class="btn primary"${s.picked.length >= COMPARE_MIN ? '' : ' disabled'}>${esc(t('compareRun'))}</button>
    </section>`;
  }

  function toolHtml() {
    return `
      <header class="details-head">
        <p class="eyebrow">${esc(t('areasEyebrow'))}</p>
        <h2 id="details-title">${esc(t('areasTitle'))}</h2>
      </header>
      <p id="area-message" class="area-message" role="status"${s.message ? '' : ' hidden'}>${esc(s.message)}</p>
      ${drawSection()}
      ${listSection()}
      ${compareSection()}`;
  }

  function renderTool() {
    if (a.areaPanel !== 'tool') return;
    const scroll = details.scrollTop;
    $('#details-body').innerHTML = toolHtml();
    details.scrollTop = scroll;
  }

  async function openTool() {
    s.share = null;
    open(toolHtml(), 'tool');
    await loadList();
    renderTool();
  }

  /** Updates the drawing hint, the buttons and the form without redrawing the panel (keeps the focus). */
  function onDrawChange() {
    app.draw = { kind: draw.kind, phase: draw.phase, vertices: draw.vertices, radius: Math.round(draw.radius) };
    if (a.areaPanel !== 'tool') return;
    const hint = $('#area-draw-hint');
    if (!hint) return;
    hint.textContent = drawHint();
    for (const b of document.querySelectorAll('[data-draw]')) b.setAttribute('aria-pressed', String(b.dataset.draw === draw.kind && draw.phase === 'drawing'));
    $('#area-buffer-row').hidden = draw.kind !== 'corridor';
    $('#area-save').disabled = draw.phase !== 'done';
    $('#area-discard').hidden = !draw.phase;
    if (draw.phase === 'done' && document.activeElement !== $('#area-name')) $('#area-name').focus({ preventScroll: true });
  }

  function showError(sel, text) {
    const el = $(sel);
    if (!el) return;
    el.textContent = text || '';
    el.hidden = !text;
  }

  async function save(ev) {
    ev.preventDefault();
    const shape = draw.shape();
    if (!shape) return;
    const name = ($('#area-name')?.value ?? '').trim();
    if (!name || name.length > 100) {
      showError('#area-error', t('areaNameMissing'));
      $('#area-name')?.focus();
      return;
    }
    const btn = $('#area-save');
    btn.disabled = true;
    btn.textContent = t('areaSaving');
    showError('#area-error', '');
    try {
      const out = await send('POST', '/api/areas', drawnFeature(shape, name));
      draw.clear();
      s.name = '';
      s.message = t('areaSaved', { name: out.properties?.name ?? name });
      await loadList();
      renderTool();
      showOnMap(out, false);
    } catch (err) {
      // The server names what is wrong (`geometry: not a valid polygon: …`, `properties.radius_m: …`).
      showError('#area-error', err.message);
      btn.disabled = false;
      btn.textContent = t('areaSave');
    }
  }

  async function upload(input) {
    const file = input.files?.[0];
    if (!file) return;
    showError('#area-upload-error', '');
    try {
      if (file.size > MAX_UPLOAD_MB * 1024 * 1024) {
        showError('#area-upload-error', t('uploadTooLarge', { mb: fmtDecimal(file.size / 1024 / 1024), max: MAX_UPLOAD_MB }));
        return;
      }
      const read = uploadedFeature(await file.text(), { name: $('#area-name')?.value ?? s.name, fileName: file.name });
      if (read.error) {
        showError('#area-upload-error', t(read.error, read.params));
        return;
      }
      const out = await send('POST', '/api/areas', read.feature);
      s.name = '';
      s.message = t('areaSaved', { name: out.properties?.name ?? read.feature.properties.name });
      await loadList();
      renderTool();
      showOnMap(out, true);
    } catch (err) {
      showError('#area-upload-error', err.message);
    } finally {
      if (input.isConnected) input.value = '';
    }
  }

  async function remove(id) {
    const f = listed(id);
    const name = f?.properties.name ?? id;
    if (!window.confirm(t('areaDeleteConfirm', { name }))) return;
    try {
      await send('DELETE', `/api/areas/${encodeURIComponent(id)}`);
      s.picked = s.picked.filter((p) => p.id !== id);
      if (app.shownArea === id) clearShown();
      if (s.share?.id === id) s.share = null;
      s.message = t('areaDeleted', { name });
    } catch (err) {
      s.message = err.message;
    }
    await loadList();
    renderTool();
  }

  /** The address that opens an area's profile for anyone holding it. */
  const shareUrl = (id) => `${window.location.origin}${window.location.pathname}#area=${encodeURIComponent(id)}`;

  async function share(id) {
    const url = shareUrl(id);
    let copied = false;
    try {
      await navigator.clipboard.writeText(url);
      copied = true;
    } catch {
      /* no clipboard: the link is shown to copy by hand */
    }
    s.share = { id, url, copied };
    renderTool();
    const input = $('#area-share-url');
    if (input) {
      input.focus();
      input.select();
    }
  }

  function pick(id, name, on = true) {
    const has = s.picked.some((p) => p.id === id);
    if (on && !has) {
      if (s.picked.length >= COMPARE_MAX) return false;
      s.picked.push({ id, name });
    } else if (!on && has) {
      s.picked = s.picked.filter((p) => p.id !== id);
    }
    app.picked = s.picked.map((p) => p.id);
    return true;
  }

  // ---- profile ----

  function renderProfile() {
    if (a.areaPanel !== 'profile' || !s.profile) return;
    $('#details-body').innerHTML = profileHtml(s.profile, {
      ctx: a.ctx,
      exports: exportsAllowed(),
      picked: s.picked.some((p) => p.id === s.profile.area.id),
    });
  }

  /** The area's outline on the map: a study area from /api/areas/{id}, a district or park from the region layer. */
  async function outline(area) {
    if (area.kind === 'study') {
      try {
        const f = listed(area.id) ?? (await a.getJson(`/api/areas/${encodeURIComponent(area.id)}`));
        if (state.area === area.id) showOnMap(f, true);
      } catch {
        const b = area.bbox;
        if (b) map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 60, maxZoom: 15, duration: 700 });
      }
    } else {
      clearShown();
      a.flyToArea(area.id);
    }
  }

  async function showProfile(id, { fit = true, month = null } = {}) {
    const mine = (s.seq += 1);
    draw.clear();
    s.profile = null;
    s.profileMonth = month;
    open(`<p class="hint">${esc(t('loading'))}</p>`, 'profile', { area: id });
    details.focus({ preventScroll: true });
    try {
      const p = await a.getJson(profileUrl(id, null, month));
      if (mine !== s.seq) return;
      s.profile = p;
      renderProfile();
      app.profile = { id: p.area.id, residents: p.headline?.residents ?? null, exact: p.exact_counts, month: p.month ?? null };
      if (fit) await outline(p.area);
    } catch (err) {
      if (mine === s.seq) $('#details-body').innerHTML = `<p class="error">${esc(t('loadError', { msg: err.message }))}</p>`;
    }
  }

  /** The profile as of another month, redrawn in place; a refused month leaves the numbers and shows why. */
  async function profileAt(month) {
    const p0 = s.profile;
    if (!p0) return;
    const mine = (s.seq += 1);
    const note = $('#profile-month-note');
    if (note) note.textContent = t('loading');
    try {
      const p = await send('GET', profileUrl(p0.area.id, null, month));
      if (mine !== s.seq || a.areaPanel !== 'profile') return;
      s.profile = p;
      s.profileMonth = p.month ?? null;
      const scroll = details.scrollTop;
      renderProfile();
      details.scrollTop = scroll;
      app.profile = { id: p.area.id, residents: p.headline?.residents ?? null, exact: p.exact_counts, month: p.month ?? null };
    } catch (err) {
      if (mine !== s.seq) return;
      if (note) note.textContent = p0.month ? t('profileAsOf', { month: p0.month }) : t('profileAsOfToday');
      showError('#profile-month-error', err.message);
    }
  }

  // ---- mismatch ----

  function renderMismatch() {
    if (a.areaPanel !== 'mismatch' || !s.mismatch) return;
    $('#details-body').innerHTML = mismatchHtml(s.mismatch, { ctx: a.ctx });
  }

  /** The mismatch tables of an area (a study area too), with a way back to its profile. */
  async function showMismatch(id) {
    const mine = (s.seq += 1);
    s.mismatch = null;
    open(`<p class="hint">${esc(t('loading'))}</p>`, 'mismatch', { area: id });
    try {
      const m = await a.getJson(mismatchUrl(id));
      if (mine !== s.seq) return;
      s.mismatch = m;
      renderMismatch();
    } catch (err) {
      if (mine === s.seq) $('#details-body').innerHTML = `<p class="error">${esc(t('loadError', { msg: err.message }))}</p>
        <p><button type="button" class="link-btn" data-area-profile="${esc(id)}">${esc(t('mismatchBack'))}</button></p>`;
    }
  }

  /** A picture of the map as it is drawn now (taken in a render, while the frame is still there). */
  async function mapImage() {
    if (map.isMoving() || !map.loaded()) await new Promise((r) => map.once('idle', r));
    return new Promise((resolve) => {
      map.once('render', () => {
        try {
          resolve(map.getCanvas().toDataURL('image/png'));
        } catch {
          resolve('');
        }
      });
      map.triggerRepaint();
    });
  }

  /** The report on paper: the map picture with its legend, then the profile (style.css, @media print). */
  async function printReport() {
    const fig = $('.area-print-map');
    if (!fig || !s.profile) return;
    const area = s.profile.area;
    fig.querySelector('img').src = await mapImage();
    const date = new Intl.DateTimeFormat(getLang() === 'zh' ? 'zh-CN' : 'en-GB', { dateStyle: 'long' }).format(new Date());
    const swatch = area.kind === 'study' ? 'area-outline' : area.kind === 'park' ? 'park' : 'district';
    fig.querySelector('figcaption').innerHTML = `<span class="swatch ${swatch}"></span> ${esc(t('printOutline'))}: ${esc(placeName(area, area.id))} (${esc(
      areaKindLabel(area),
    )}) · ${esc(t('frameSource', { v: s.profile.data_version ?? '–', date }))}`;
    for (const el of details.querySelectorAll('details')) el.open = true;
    document.body.classList.add('area-print');
    window.print();
  }
  window.addEventListener('afterprint', () => document.body.classList.remove('area-print'));

  // ---- comparison ----

  function renderCompare() {
    if (a.areaPanel !== 'compare' || !s.comparison) return;
    $('#details-body').innerHTML = compareHtml(s.comparison, { exports: exportsAllowed() });
  }

  async function showCompare(ids) {
    const mine = (s.seq += 1);
    draw.clear();
    s.comparison = null;
    open(`<p class="hint">${esc(t('loading'))}</p>`, 'compare', { compare: [...ids] });
    try {
      const c = await a.getJson(compareUrl(ids));
      if (mine !== s.seq) return;
      s.comparison = c;
      // What is compared becomes the pick list, so the tool shows it.
      s.picked = c.areas.map((x) => ({ id: x.id, name: placeName(x, x.id) }));
      app.picked = s.picked.map((p) => p.id);
      renderCompare();
      const boxes = c.areas.map((x) => x.bbox).filter(Boolean);
      if (boxes.length) {
        const box = [Math.min(...boxes.map((b) => b[0])), Math.min(...boxes.map((b) => b[1])), Math.max(...boxes.map((b) => b[2])), Math.max(...boxes.map((b) => b[3]))];
        clearShown();
        map.fitBounds([[box[0], box[1]], [box[2], box[3]]], { padding: 60, maxZoom: 14, duration: 700 });
      }
    } catch (err) {
      if (mine === s.seq) $('#details-body').innerHTML = `<p class="error">${esc(t('loadError', { msg: err.message }))}</p>
        <p><button type="button" class="link-btn" id="area-back">${esc(t('areasBack'))}</button></p>`;
    }
  }

  // ---- events in the panel ----

  details.addEventListener('click', (ev) => {
    if (!a.areaPanel) return;
    const el = ev.target.closest('button, a');
    if (!el) return;
    const ds = el.dataset;
    if (ds.draw) {
      if (draw.kind === ds.draw && draw.phase === 'drawing') draw.clear();
      else {
        s.message = '';
        showError('#area-error', '');
        const msg = $('#area-message');
        if (msg) msg.hidden = true;
        draw.start(ds.draw);
        if (ds.draw === 'corridor') draw.setBuffer(s.buffer);
      }
    } else if (el.id === 'area-discard') {
      draw.clear();
      showError('#area-error', '');
    } else if (ds.areaShow) {
      const f = listed(ds.areaShow);
      if (f) showOnMap(f, true);
    } else if (ds.areaShare) {
      share(ds.areaShare);
    } else if (ds.areaDelete) {
      remove(ds.areaDelete);
    } else if (ds.pickAdd) {
      const on = el.getAttribute('aria-pressed') !== 'true';
      if (pick(ds.pickAdd, ds.pickName, on)) el.setAttribute('aria-pressed', String(on));
    } else if (ds.pickRemove) {
      pick(ds.pickRemove, '', false);
      renderTool();
    } else if (el.id === 'compare-run') {
      if (s.picked.length >= COMPARE_MIN) showCompare(s.picked.map((p) => p.id));
    } else if (el.id === 'area-back') {
      openTool();
    } else if (el.id === 'area-print') {
      printReport();
    } else if (el.id === 'profile-today') {
      profileAt(null);
    } else if (ds.commuteArea) {
      a.views.openCommute(ds.commuteArea, ds.commuteSide, ds.areaName);
    } else if (ds.mismatchArea) {
      showMismatch(ds.mismatchArea);
    } else if (ds.flowsArea) {
      a.views.openFlows(ds.flowsArea, 'enterprise');
    } else if (ds.entAt) {
      const [lon, lat] = ds.entAt.split(',').map(Number);
      if (Number.isFinite(lon) && Number.isFinite(lat)) map.flyTo({ center: [lon, lat], zoom: Math.max(map.getZoom(), 15), duration: 900 });
    }
  });

  details.addEventListener('change', (ev) => {
    if (a.areaPanel === 'profile' && ev.target.id === 'profile-month') {
      showError('#profile-month-error', '');
      profileAt(ev.target.value || null);
      return;
    }
    if (a.areaPanel !== 'tool') return;
    const el = ev.target;
    if (el.dataset.pick) {
      if (!pick(el.dataset.pick, el.dataset.pickName, el.checked)) el.checked = false;
      renderTool();
    } else if (el.id === 'compare-region' && el.value) {
      const f = a.regionsById.get(el.value);
      pick(el.value, placeName(f?.properties, el.value), true);
      renderTool();
      $('#compare-region')?.focus();
    } else if (el.id === 'area-file') {
      upload(el);
    }
  });

  details.addEventListener('input', (ev) => {
    if (a.areaPanel !== 'tool') return;
    const el = ev.target;
    if (el.id === 'area-name') s.name = el.value;
    else if (el.id === 'area-buffer') {
      const m = Number(el.value);
      if (Number.isFinite(m) && m > 0) {
        s.buffer = m;
        draw.setBuffer(m);
      }
    }
  });

  details.addEventListener('submit', (ev) => {
    if (ev.target.id === 'area-form') save(ev);
  });

  // Escape while drawing cancels the shape (and leaves the panel open).
  window.addEventListener(
    'keydown',
    (ev) => {
      if (ev.key !== 'Escape' || !draw.drawing) return;
      ev.preventDefault();
      ev.stopPropagation();
      draw.clear();
      if (a.areaPanel === 'tool') {
        const hint = $('#area-draw-hint');
        if (hint) hint.textContent = t('drawCancelled');
      }
    },
    true,
  );

  return {
    openTool,
    showProfile,
    showMismatch,
    showCompare,
    /** A map click: the drawing tool's while it draws. */
    onClick: (e) => draw.onClick(e),
    /** After a language switch. */
    rerender() {
      if (a.areaPanel === 'tool') renderTool();
      else if (a.areaPanel === 'profile') renderProfile();
      else if (a.areaPanel === 'compare') renderCompare();
      else if (a.areaPanel === 'mismatch') renderMismatch();
    },
    /** After a sign-in or sign-out: the list, the tools and the export buttons follow the role. */
    onSession() {
      if (!member()) draw.clear();
      if (a.areaPanel === 'tool') openTool();
      else this.rerender();
    },
    /** Another panel took over, or the panel closed. */
    onLeave() {
      s.seq += 1;
      draw.clear();
      clearShown();
      s.share = null;
      document.body.classList.remove('area-print');
    },
  };
}
