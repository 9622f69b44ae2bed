// What the analysis views share: the colours of arcs and stations, number
// formats for their panels, and the geometry they draw (arcs between areas,
// catchment circles). Kept here so that each view's module only holds what
// is particular to it.

import { fmtDecimal } from '../i18n.js';
import { esc } from '../legend.js';

/** Colour of flow lines: out of the selected area (orange) and into it (purple), PuOr ends. */
export const OUT_COLOR = '#e66101';
export const IN_COLOR = '#5e3c99';
export const ARC_COLOR = '#0f5f8a';
export const STATION_NEW = '#d01c8b';

export const EMPTY_FC = { type: 'FeatureCollection', features: [] };

export const pct = (v) => (v === null || v === undefined ? '–' : `${fmtDecimal(v * 100)}%`);
export const km = (v) => (v === null || v === undefined ? '–' : `${fmtDecimal(v)} km`);

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
export function circle([lon, lat], radiusM, n = 48) {
  const dLat = radiusM / 111_320;
  const dLon = dLat / Math.cos((lat * Math.PI) / 180);
  const ring = [];
  for (let i = 0; i <= n; i += 1) {
    const a = (i / n) * 2 * Math.PI;
    ring.push([lon + dLon * Math.cos(a), lat + dLat * Math.sin(a)]);
  }
  return ring;
}

/** Line width by the `count` property, the widest at `max`. */
export const lineWidth = (max) => ['interpolate', ['linear'], ['get', 'count'], 0, 1, Math.max(2, max), 9];

/** A definition list of [label, HTML value] pairs; labels are escaped, values are not. */
export function kv(pairs) {
  return `<dl class="kv">${pairs
    .filter(Boolean)
    .map(([k, val]) => `<dt>${esc(k)}</dt><dd>${val}</dd>`)
    .join('')}</dl>`;
}
