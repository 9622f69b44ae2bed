// The people layer (analysts and admins only): one point per person from
// /tiles/people/{z}/{x}/{y}.mvt, from zoom 15, coloured by tier. The source is
// added when the layer is first turned on by someone allowed to see it and
// removed when they sign out, so nothing is requested otherwise.

import { nameOf, t } from './i18n.js';
import { esc } from './legend.js';

export const PEOPLE_SOURCE = 'people';
export const PEOPLE_LAYER = 'people-points';
export const PEOPLE_MIN_ZOOM = 15;
export const PEOPLE_MAX_ZOOM = 22;

/** Tier colours, A (top) dark to E light; unclassified grey. */
export const TIER_COLORS = { A: '#4a0c6b', B: '#a52c60', C: '#ed6925', D: '#f7b32b', E: '#b5de2b', none: '#9aa3ad' };
export const TIER_ORDER = ['A', 'B', 'C', 'D', 'E', 'none'];

export function peopleTileUrl(origin) {
  return `${origin}/tiles/people/{z}/{x}/{y}.mvt`;
}

/** The vector source: tile URLs, not TileJSON. With `bounds` (an analyst's
 *  jurisdiction) MapLibre asks only for tiles that touch that box. */
export function peopleSource(origin, bounds = null) {
  const src = { type: 'vector', tiles: [peopleTileUrl(origin)], minzoom: PEOPLE_MIN_ZOOM, maxzoom: PEOPLE_MAX_ZOOM };
  if (bounds) src.bounds = bounds;
  return src;
}

export function peopleLayer(visible) {
  return {
    id: PEOPLE_LAYER,
    type: 'circle',
    source: PEOPLE_SOURCE,
    'source-layer': 'people',
    minzoom: PEOPLE_MIN_ZOOM,
    layout: { visibility: visible ? 'visible' : 'none' },
    paint: {
      'circle-radius': ['interpolate', ['linear'], ['zoom'], 15, 3, 18, 5.5],
      'circle-color': ['match', ['get', 'tier'], ...TIER_ORDER.slice(0, -1).flatMap((k) => [k, TIER_COLORS[k]]), TIER_COLORS.none],
      'circle-stroke-color': '#ffffff',
      'circle-stroke-width': 0.8,
      'circle-opacity': 0.92,
    },
  };
}

export function peopleLegend(tax) {
  const rows = TIER_ORDER.map((code) => {
    const label = nameOf(tax?.tiers.get(code), code === 'none' ? t('tierNone') : code);
    return `<li><span class="swatch dot" style="background:${TIER_COLORS[code]}"></span><span>${esc(label)}</span></li>`;
  }).join('');
  return `<ul class="legend-list">${rows}</ul><p class="legend-note">${esc(t('peopleLegendNote'))}</p>`;
}

/** The people source and layer on `map`. `sync` adds, re-scopes or removes
 *  them: present while `allowed`, drawn while `on`, tiles limited to `bounds`
 *  when given. Nothing is added until the layer is first on. */
export function createPeopleLayer(map, origin) {
  let scope = null; // the bounds the present source was added with
  const remove = () => {
    if (map.getLayer(PEOPLE_LAYER)) map.removeLayer(PEOPLE_LAYER);
    if (map.getSource(PEOPLE_SOURCE)) map.removeSource(PEOPLE_SOURCE);
  };
  return {
    sync({ allowed, on, bounds }) {
      const key = JSON.stringify(bounds || null);
      if (map.getSource(PEOPLE_SOURCE) && (!allowed || scope !== key)) remove();
      if (!allowed || (!on && !map.getSource(PEOPLE_SOURCE))) return;
      if (!map.getSource(PEOPLE_SOURCE)) {
        map.addSource(PEOPLE_SOURCE, peopleSource(origin, bounds));
        map.addLayer(peopleLayer(on));
        scope = key;
      } else {
        map.setLayoutProperty(PEOPLE_LAYER, 'visibility', on ? 'visible' : 'none');
      }
    },
    remove,
  };
}

/** True when [x, y] lies inside a polygon given as rings (the first outer, the rest holes). */
function inPolygon(rings, [x, y]) {
  let inside = false;
  for (const ring of rings) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
      const [xi, yi] = ring[i];
      const [xj, yj] = ring[j];
      if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
  }
  return inside;
}

/** The park, else the district, of /api/regions features that contains `point`. */
export function areaAt(features, point) {
  if (!point) return null;
  const hit = (kind) =>
    features.find((f) => {
      const g = f.geometry;
      if (f.properties?.kind !== kind || !g) return false;
      const polys = g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : [];
      return polys.some((rings) => inPolygon(rings, point));
    });
  return hit('park') || hit('district') || null;
}
