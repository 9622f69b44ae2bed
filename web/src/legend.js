// Legends for the layer panel. Each reflects the classes actually drawn
// (breaks are recomputed from the features on screen), and shows suppressed
// cells as their own hatched class.

import { fmt, fmtDecimal, t } from './i18n.js';
import { BLUES, CIVIDIS, NO_DATA, PUOR, RATIO_BREAKS, VIRIDIS, legendClasses } from './ramps.js';
import { ENTERPRISE_COLOR, KEY_ENTERPRISE_COLOR, STATION_COLORS } from './layers.js';

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

function rangeLabel({ from, to }) {
  if (to === null) return `≥ ${fmt(from)}`;
  if (to - 1 <= from) return fmt(from);
  return `${fmt(from)}–${fmt(to - 1)}`;
}

export function swatchRows(rows) {
  return rows
    .map(
      (r) =>
        `<li><span class="swatch${r.cls ? ` ${r.cls}` : ''}" style="${r.color ? `background:${r.color}` : ''}"></span><span>${esc(r.label)}</span></li>`,
    )
    .join('');
}

/** Legend rows of a cell count ramp (classes from `k` up). */
export function cellLegendRows(breaks, ramp, k) {
  return legendClasses(breaks, ramp, k).map((c) => ({ color: c.color, label: rangeLabel(c) }));
}

function cellLegend(breaks, ramp, k, perturbed) {
  const rows = cellLegendRows(breaks, ramp, k);
  if (!perturbed) rows.push({ cls: 'hatched', label: t('suppressed', { k }) });
  const note = perturbed ? `<p class="legend-note">${esc(t('perturbedNote', { k }))}</p>` : '';
  return `<ul class="legend-list">${swatchRows(rows)}</ul>${note}`;
}

/** Talent counts are perturbed (never 1..k−1), not suppressed. */
export function talentsLegend(breaks, k) {
  return cellLegend(breaks, VIRIDIS, k, true);
}

export function vacanciesLegend(breaks, k) {
  return cellLegend(breaks, CIVIDIS, k, false);
}

export function regionsLegend(stat, breaks, k) {
  let rows;
  if (stat === 'ratio') {
    const bounds = [null, ...RATIO_BREAKS];
    rows = bounds.map((from, i) => {
      const to = RATIO_BREAKS[i] ?? null;
      const label = from === null ? `< ${fmtDecimal(to)}` : to === null ? `≥ ${fmtDecimal(from)}` : `${fmtDecimal(from)}–${fmtDecimal(to)}`;
      return { color: PUOR[i], label };
    });
  } else {
    rows = legendClasses(breaks, BLUES, 0).map((c) => ({ color: c.color, label: rangeLabel(c) }));
  }
  rows.push({ color: NO_DATA, label: t('noData') });
  const notes = [];
  if (stat === 'ratio') notes.push(t('statRatioNote'));
  if (stat === 'talents' || stat === 'seekers' || stat === 'ratio') notes.push(t('perturbedNote', { k }));
  const note = notes.map((n) => `<p class="legend-note">${esc(n)}</p>`).join('');
  return `<ul class="legend-list">${swatchRows(rows)}</ul>${note}`;
}

export function enterprisesLegend() {
  return `<ul class="legend-list">
    <li><span class="swatch dot big" style="background:${ENTERPRISE_COLOR}"></span><span>${esc(t('cluster'))}</span></li>
    <li><span class="swatch dot big ring" style="background:${ENTERPRISE_COLOR};border-color:${KEY_ENTERPRISE_COLOR}"></span><span>${esc(t('clusterHasKey'))}</span></li>
    <li><span class="swatch dot" style="background:${ENTERPRISE_COLOR}"></span><span>${esc(t('enterprise'))}</span></li>
    <li><span class="swatch dot key" style="background:${KEY_ENTERPRISE_COLOR}"></span><span>${esc(t('keyEnterprise'))}</span></li>
  </ul><p class="legend-note">${esc(t('zoomForEnterprises'))}</p>`;
}

export function basemapLegend() {
  return `<ul class="legend-list legend-inline">
    <li><span class="swatch district"></span><span>${esc(t('districts'))}</span></li>
    <li><span class="swatch park"></span><span>${esc(t('parks'))}</span></li>
    <li><span class="swatch dot ring hollow" style="border-color:${STATION_COLORS.metro}"></span><span>${esc(t('stations'))}</span></li>
  </ul>`;
}

export { esc };
