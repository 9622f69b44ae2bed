// The monthly briefing (GET /api/briefing, docs/briefing.md): the page opens
// on it when its address has no state, the Briefing button brings it back,
// and wall mode (`#wall`, `?wall=1` or `?wall=SECONDS`) cycles through its
// findings full screen for a data centre's display, refreshing itself when
// the data version changes. A card click flies the map to the finding and
// opens the one view that shows it (the card's link is the page's hash).

import { fmt, fmtDecimal, getLang, t } from './i18n.js';
import { esc } from './legend.js';
import { canExport } from './access.js';

/** Kinds in the order the briefing shows them. */
export const KINDS = ['shortage', 'loss_alert', 'outflow', 'inflow', 'underserved', 'hiring_difficulty'];

/** Headline numbers in the order shown, with how each is formatted. */
const HEADLINE = [
  ['talents', fmt],
  ['seekers', fmt],
  ['openings', fmt],
  ['ratio', fmtDecimal],
  ['net_flow', fmt],
];

/** Seconds between findings on a wall display unless the address says. */
const WALL_SECONDS = 20;
/** Seconds between data-version checks on a wall display. */
const WALL_POLL_SECONDS = 30;

/** Wall mode from the address: `?wall=1`, `?wall=N` (seconds, at least 3) or `#wall`. */
export function wallSettings(location) {
  const query = new URLSearchParams(location.search).get('wall');
  const inHash = /(^#|&)wall(=(\d+))?(&|$)/.exec(location.hash);
  if (query === null && !inHash) return null;
  const n = Number(query ?? inHash?.[3] ?? NaN);
  return { seconds: Number.isFinite(n) && n >= 3 ? n : WALL_SECONDS };
}

/** A signed change, e.g. "+1,220" or "−19"; an en dash when unknown. */
export function signed(v, format = fmt) {
  if (v === null || v === undefined) return '–';
  if (v === 0) return '±0';
  return `${v > 0 ? '+' : '−'}${format(Math.abs(v))}`;
}

function headlineHtml(h) {
  const rows = HEADLINE.map(([key, format]) => {
    const n = h[key] || {};
    const dir = (v) => (v > 0 ? 'up' : v < 0 ? 'down' : 'flat');
    return `<div class="brief-number" data-key="${key}">
      <dt>${esc(t(`brief_${key}`))}</dt>
      <dd><strong>${n.value === null || n.value === undefined ? '–' : esc(format(n.value))}</strong>
        <span class="brief-change ${dir(n.change_month)}" title="${esc(t('briefVsMonth'))}">${esc(signed(n.change_month, format))}</span>
        <span class="brief-change year ${dir(n.change_year)}" title="${esc(t('briefVsYear'))}">${esc(t('briefYearShort'))} ${esc(signed(n.change_year, format))}</span></dd>
    </div>`;
  }).join('');
  return `<dl class="brief-headline">${rows}</dl>`;
}

function cardHtml(it) {
  return `<li><button type="button" class="brief-card" data-kind="${esc(it.kind)}" data-link="${esc(it.link)}" data-area="${esc(it.area_id)}">
      <span class="brief-rank">${it.rank}</span>
      <span class="brief-text"><strong>${esc(it.title)}</strong><span>${esc(it.detail)}</span></span>
    </button></li>`;
}

/** The briefing panel's HTML; `exports` adds the workbook download. */
export function briefingHtml(b, { exports = false } = {}) {
  const sections = KINDS.map((kind) => {
    const items = b.items.filter((it) => it.kind === kind);
    if (!items.length) return '';
    return `<section class="brief-kind" data-kind="${kind}"><h3>${esc(t(`brief_kind_${kind}`))}</h3><ol class="brief-cards">${items.map(cardHtml).join('')}</ol></section>`;
  }).join('');
  return `
    <header class="details-head">
      <p class="eyebrow">${esc(t('briefEyebrow', { month: b.month, v: b.data_version }))}</p>
      <h2 id="details-title">${esc(t('briefTitle'))}</h2>
      <p class="brief-actions">
        <button type="button" class="btn" id="brief-print">${esc(t('briefPrint'))}</button>
        ${exports ? `<a class="btn" id="brief-xlsx" href="/api/briefing?format=xlsx&amp;lang=${esc(getLang())}&amp;month=${esc(b.month)}" download>${esc(t('briefXlsx'))}</a>` : ''}
      </p>
    </header>
    <section>${headlineHtml(b.headline)}
      <p class="legend-note">${esc(t(b.exact_counts ? 'briefExact' : 'briefPerturbed', { k: b.privacy_k }))}</p></section>
    ${sections || `<p class="hint">${esc(t('briefNothing'))}</p>`}`;
}

/** Wires the briefing: `a.showBriefing()`, the Briefing button, card
 *  clicks, the start screen and wall mode. */
export function setupBriefing(a, { fresh }) {
  const { map } = a;
  a.briefing = null;
  a.briefingOpen = false;

  // The briefing in the current language, kept as `a.briefing`.
  const load = async () => {
    const b = await a.getJson(`/api/briefing?lang=${getLang()}`);
    a.briefing = b;
    return b;
  };
  a.loadBriefing = load;

  a.showBriefing = async () => {
    a.openPanel(`<p class="hint">${esc(t('loading'))}</p>`);
    a.briefingOpen = true;
    try {
      const b = await load();
      if (a.briefingOpen) a.openPanel(briefingHtml(b, { exports: canExport(a.account.session) }), { keepBriefing: true });
    } catch (err) {
      if (a.briefingOpen) a.openPanel(`<p class="error">${esc(t('loadError', { msg: err.message }))}</p>`, { keepBriefing: true });
    }
  };

  /** Shows a finding: fly there and apply the rest of its link (view, layers). */
  a.goToFinding = (link) => {
    a.flyNextHash = true;
    if (window.location.hash === link) window.dispatchEvent(new HashChangeEvent('hashchange'));
    else window.location.hash = link;
  };

  document.getElementById('details').addEventListener('click', (ev) => {
    const card = ev.target.closest('.brief-card');
    if (card) a.goToFinding(card.dataset.link);
    // The monthly brief on paper: the map with its frame, then the briefing (style.css, @media print).
    if (ev.target.closest('#brief-print')) {
      document.body.classList.add('brief-print');
      window.print();
    }
  });
  window.addEventListener('afterprint', () => document.body.classList.remove('brief-print'));
  document.getElementById('brief').addEventListener('click', () => a.showBriefing());

  const wall = wallSettings(window.location);
  if (wall) setupWall(a, wall);
  else if (fresh) map.once('load', () => a.showBriefing());
}

/** Wall mode: full screen, one finding after another, the headline above. */
function setupWall(a, { seconds }) {
  const body = document.body;
  body.classList.add('presenting', 'wall');
  const frame = document.getElementById('frame');
  frame.hidden = false;
  const card = document.getElementById('wall-card');
  card.hidden = false;
  let items = [];
  let at = -1;
  let version = null;
  let lang = null;
  const app = window.__talentmap;
  app.wall = { seconds, shown: 0, refreshed: 0 };

  const show = () => {
    if (!items.length || !a.briefing) return;
    at = (at + 1) % items.length;
    const it = items[at];
    card.innerHTML = `
      <div class="wall-head"><span>${esc(t('briefTitle'))} · ${esc(a.briefing.month)}</span>${headlineHtml(a.briefing.headline)}</div>
      <div class="wall-finding" data-kind="${esc(it.kind)}">
        <p class="wall-kind">${esc(t(`brief_kind_${it.kind}`))} · ${it.rank} <span class="wall-count">${at + 1} / ${items.length}</span></p>
        <h2>${esc(it.title)}</h2>
        <p>${esc(it.detail)}</p>
      </div>`;
    a.goToFinding(it.link);
    a.renderFrame();
    app.wall.shown += 1;
    app.wall.current = `${it.kind}:${it.area_id}:${it.rank}`;
  };

  const refresh = async () => {
    lang = getLang();
    const b = await a.loadBriefing();
    version = b.data_version;
    items = KINDS.flatMap((kind) => b.items.filter((it) => it.kind === kind));
    at = -1;
    app.wall.refreshed += 1;
    app.wall.version = version;
    show();
  };

  // A new data version (an import or a feed batch) brings a new briefing; the page is not reloaded.
  const poll = async () => {
    try {
      const h = await a.getJson('/health');
      if (version !== null && h.version !== version) await refresh();
    } catch {
      /* the next poll tries again */
    }
  };

  a.map.once('load', () => {
    refresh().catch(() => {});
    setInterval(show, seconds * 1000);
    setInterval(poll, Math.min(seconds, WALL_POLL_SECONDS) * 1000);
  });
  // Texts are redrawn after every finding's hash change; only a new language needs a new briefing.
  a.rerenderWall = () => {
    if (lang !== null && lang !== getLang()) refresh().catch(() => {});
  };
}
