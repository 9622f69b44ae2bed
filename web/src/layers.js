// The MapLibre style, built in code: an offline basemap (background,
// district and park polygons from /api/regions, stations from tiles) and the
// data layers, each a vector source on the server's TileJSON with the
// current filters in its query string. District and park names are symbol
// layers drawn with glyphs the server makes from its own fonts
// (/fonts/{fontstack}/{range}.pbf); no sprite: the few icons are drawn on a
// canvas at run time.

import { filterQuery } from './state.js';
import { BLUES, CIVIDIS, NO_DATA, PUOR, RATIO_BREAKS, VIRIDIS, quantileBreaks, stepExpression } from './ramps.js';

/** Filters each data source takes (the server ignores the others, but
 *  leaving them out keeps tile URLs, and so the browser cache, stable). */
export const SOURCE_FILTERS = {
  talents: ['industry', 'field', 'education', 'title', 'tier', 'min_age', 'max_age', 'seeking'],
  vacancies: ['industry', 'field', 'education', 'title'],
  enterprises: ['industry'],
  regions: ['industry', 'field', 'education', 'title', 'tier', 'min_age', 'max_age', 'seeking'],
};

/** Map layers drawn for each toggle in the layer panel. */
export const LAYER_GROUPS = {
  talents: ['talents-fill', 'talents-suppressed'],
  vacancies: ['vacancies-fill', 'vacancies-suppressed'],
  enterprises: ['enterprise-clusters', 'enterprise-cluster-count', 'enterprise-points'],
  regions: ['regions-fill', 'regions-suppressed', 'regions-line'],
  // Added only for analysts and admins (people.js).
  people: ['people-points'],
};

/** Layers that answer clicks, topmost first. */
export const CLICKABLE = [
  'people-points',
  'enterprise-points',
  'enterprise-clusters',
  'talents-fill',
  'talents-suppressed',
  'vacancies-fill',
  'vacancies-suppressed',
  'regions-fill',
  'regions-suppressed',
  'base-parks-fill',
  'base-districts-fill',
];

export const ENTERPRISE_COLOR = '#e66101';
export const KEY_ENTERPRISE_COLOR = '#5e3c99';
export const STATION_COLORS = { metro: '#1b6ac9', rail: '#333333', brt: '#0f8a6a', bus: '#8a8a8a' };
export const HATCH = 'hatch';

export function tileJsonUrl(origin, layer, filters) {
  const q = filters ? filterQuery(filters, SOURCE_FILTERS[layer]) : '';
  return `${origin}/tiles/${layer}.json${q ? `?${q}` : ''}`;
}

/** Initial class breaks; replaced from the features on screen once tiles load. */
const INITIAL_BREAKS = { talents: [20, 50, 100, 200, 500], vacancies: [10, 20, 50, 100, 200], regions: [100, 500, 1000, 5000, 10000] };

/** Fonts for labels, most wanted first; the page uses those the server has
 *  (`/fonts.json`). */
export const LABEL_FONTS = { district: ['Noto Sans CJK SC Bold', 'Noto Sans CJK SC Regular'], park: ['Noto Sans CJK SC Regular'] };

/** The label font of each kind the server can draw, or null when it has
 *  none of them (then the page falls back to HTML labels). */
export function pickLabelFonts(available) {
  const have = new Set(available || []);
  const pick = (list) => list.find((f) => have.has(f)) ?? null;
  const district = pick(LABEL_FONTS.district);
  const park = pick(LABEL_FONTS.park) ?? district;
  return district && park ? { district, park } : null;
}

/** Label points of the districts and parks: each region's label point. */
export function labelPoints(base, pointOf) {
  const features = [];
  for (const f of base.features) {
    const p = f.properties;
    const at = pointOf(f);
    if (!at || !p.name) continue;
    const properties = { name: p.name, kind: p.kind, ...(p.name_en ? { name_en: p.name_en } : {}) };
    features.push({ type: 'Feature', geometry: { type: 'Point', coordinates: at }, properties });
  }
  return { type: 'FeatureCollection', features };
}

/** How much larger map text is drawn on a screen `width` CSS pixels wide:
 *  a wall display (4K at device pixel ratio 1) is read from across a room. */
export function labelScale(width) {
  if (width >= 3200) return 2;
  if (width >= 2400) return 1.5;
  return width >= 1800 ? 1.15 : 1;
}

/** Label text of a district, park or station in `lang`: the English name
 *  where the data has one, else the Chinese name. */
export function placeText(lang) {
  return lang === 'en' ? ['coalesce', ['get', 'name_en'], ['get', 'name']] : ['get', 'name'];
}

/** Label text of a basemap place in `lang` (OpenMapTiles and Protomaps
 *  both carry `name:zh`, `name:en` and `name`). */
export function basemapPlaceText(lang) {
  return lang === 'en'
    ? ['coalesce', ['get', 'name:en'], ['get', 'name:latin'], ['get', 'name']]
    : ['coalesce', ['get', 'name:zh'], ['get', 'name']];
}

/** Ids of the symbol layers whose text is a place name, with the
 *  expression that gives it in a language. */
export const PLACE_LABEL_LAYERS = [
  ['station-labels', placeText],
  ['park-labels', placeText],
  ['district-labels', placeText],
  ['basemap-places', basemapPlaceText],
];

/** Symbol layers of the district and park names, in `fonts`: parks from
 *  zoom 11, districts up to zoom 13.5; station names (metro, rail, BRT)
 *  from zoom 13, below their circles. */
function labelLayers(fonts, lang, scale = 1) {
  const label = (kind, zooms, font, size, color) => ({
    id: `${kind}-labels`,
    type: 'symbol',
    source: 'labels',
    ...zooms,
    filter: ['==', ['get', 'kind'], kind],
    layout: { 'text-field': placeText(lang), 'text-font': [font], 'text-size': size * scale, 'text-max-width': 8 },
    paint: { 'text-color': color, 'text-halo-color': '#ffffff', 'text-halo-width': 1.6, 'text-halo-blur': 0.4 },
  });
  const stations = {
    id: 'station-labels',
    type: 'symbol',
    source: 'stations',
    'source-layer': 'stations',
    minzoom: 13,
    filter: ['in', ['get', 'mode'], ['literal', ['metro', 'rail', 'brt']]],
    layout: {
      'text-field': placeText(lang),
      'text-font': [fonts.park],
      'text-size': 11 * scale,
      'text-anchor': 'top',
      'text-offset': [0, 0.9],
      'text-optional': true,
    },
    paint: { 'text-color': '#1b3a63', 'text-halo-color': '#ffffff', 'text-halo-width': 1.4 },
  };
  return [
    stations,
    label('park', { minzoom: 11 }, fonts.park, 11.5, '#2f6b2f'),
    label('district', { maxzoom: 13.5 }, fonts.district, 13, '#2b3440'),
  ];
}

/** Layers of a city basemap (`serve --basemap`, `/basemap.json`) in the
 *  OpenMapTiles or Protomaps schema, drawn above the district fills and
 *  beneath the data; place names only with the server's glyphs (`font`). */
export function basemapLayers(schema, font, lang = 'zh', scale = 1) {
  const omt = schema === 'openmaptiles';
  if (!omt && schema !== 'protomaps') return { below: [], labels: [] };
  const kind = omt ? ['get', 'class'] : ['coalesce', ['get', 'kind'], ['get', 'pmap:kind']];
  const roads = omt ? 'transportation' : 'roads';
  const major = omt ? ['motorway', 'trunk', 'primary'] : ['highway', 'major_road'];
  const isRail = ['==', kind, 'rail'];
  const layer = (id, type, sourceLayer, extra) => ({ id: `basemap-${id}`, type, source: 'basemap', 'source-layer': sourceLayer, ...extra });
  const width = (lo, hi) => ['interpolate', ['exponential', 1.6], ['zoom'], 8, lo, 16, hi];
  const layers = [
    layer('landuse', 'fill', 'landuse', { paint: { 'fill-color': '#ebe7de', 'fill-opacity': 0.6 } }),
    layer('water', 'fill', 'water', { paint: { 'fill-color': '#b7d3ea' } }),
    ...(omt ? [layer('waterway', 'line', 'waterway', { paint: { 'line-color': '#b7d3ea', 'line-width': width(0.6, 4) } })] : []),
    layer('buildings', 'fill', omt ? 'building' : 'buildings', { minzoom: 14, paint: { 'fill-color': '#d8d2c8', 'fill-opacity': 0.8 } }),
    layer('roads-minor', 'line', roads, {
      filter: ['all', ['!', isRail], ['!', ['in', kind, ['literal', major]]]],
      minzoom: 11,
      paint: { 'line-color': '#ffffff', 'line-width': width(0.4, 6) },
    }),
    layer('roads-major', 'line', roads, {
      filter: ['in', kind, ['literal', major]],
      paint: { 'line-color': '#f3cf8f', 'line-width': width(0.8, 10) },
    }),
    layer('rail', 'line', omt ? 'transportation' : 'roads', {
      filter: isRail,
      paint: { 'line-color': '#8d949b', 'line-width': 1.2, 'line-dasharray': [3, 2] },
    }),
  ];
  const labels = font
    ? [
        layer('places', 'symbol', omt ? 'place' : 'places', {
          minzoom: 10,
          layout: {
            'text-field': basemapPlaceText(lang),
            'text-font': [font],
            'text-size': 11 * scale,
          },
          paint: { 'text-color': '#5b6470', 'text-halo-color': '#ffffff', 'text-halo-width': 1.4 },
        }),
      ]
    : [];
  return { below: layers, labels };
}

/** The style; `archives` maps a layer to a vector source that replaces
 *  the server's tiles for it (a PMTiles archive, archive.js); `labels`
 *  (label points and fonts) adds district and park names as symbol layers. */
export function buildStyle({ origin, state, base, archives = {}, labels = null, basemap = null }) {
  const vis = (id) => (state.layers.includes(id) ? 'visible' : 'none');
  const regionPaint = regionFillColor(state.stat, INITIAL_BREAKS.regions);
  const style = {
    version: 8,
    name: 'talentmap',
    sources: {
      base: { type: 'geojson', data: base },
      stations: archives.stations ?? { type: 'vector', url: tileJsonUrl(origin, 'stations', null) },
      regions: archives.regions ?? { type: 'vector', url: tileJsonUrl(origin, 'regions', state.filters) },
      talents: archives.talents ?? { type: 'vector', url: tileJsonUrl(origin, 'talents', state.filters) },
      vacancies: archives.vacancies ?? { type: 'vector', url: tileJsonUrl(origin, 'vacancies', state.filters) },
      enterprises: archives.enterprises ?? { type: 'vector', url: tileJsonUrl(origin, 'enterprises', state.filters) },
    },
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': '#e9ecef' } },
      {
        id: 'base-districts-fill',
        type: 'fill',
        source: 'base',
        filter: ['==', ['get', 'kind'], 'district'],
        paint: { 'fill-color': '#fbfaf7' },
      },
      {
        id: 'base-parks-fill',
        type: 'fill',
        source: 'base',
        filter: ['==', ['get', 'kind'], 'park'],
        paint: { 'fill-color': '#dcebd6' },
      },
      {
        id: 'regions-fill',
        type: 'fill',
        source: 'regions',
        'source-layer': 'regions',
        filter: regionFilters(state.stat).fill,
        layout: { visibility: vis('regions') },
        paint: { 'fill-color': regionPaint, 'fill-opacity': 0.7 },
      },
      {
        id: 'regions-suppressed',
        type: 'fill',
        source: 'regions',
        'source-layer': 'regions',
        filter: regionFilters(state.stat).hatch,
        layout: { visibility: vis('regions') },
        paint: { 'fill-pattern': HATCH },
      },
      {
        id: 'talents-fill',
        type: 'fill',
        source: 'talents',
        'source-layer': 'talents',
        filter: ['has', 'count'],
        layout: { visibility: vis('talents') },
        paint: {
          'fill-color': stepExpression(['get', 'count'], INITIAL_BREAKS.talents, VIRIDIS),
          'fill-opacity': 0.78,
        },
      },
      {
        id: 'talents-suppressed',
        type: 'fill',
        source: 'talents',
        'source-layer': 'talents',
        filter: ['==', ['get', 'suppressed'], true],
        layout: { visibility: vis('talents') },
        paint: { 'fill-pattern': HATCH, 'fill-opacity': 0.85 },
      },
      {
        id: 'vacancies-fill',
        type: 'fill',
        source: 'vacancies',
        'source-layer': 'vacancies',
        filter: ['has', 'count'],
        layout: { visibility: vis('vacancies') },
        paint: {
          'fill-color': stepExpression(['get', 'count'], INITIAL_BREAKS.vacancies, CIVIDIS),
          'fill-opacity': 0.78,
        },
      },
      {
        id: 'vacancies-suppressed',
        type: 'fill',
        source: 'vacancies',
        'source-layer': 'vacancies',
        filter: ['==', ['get', 'suppressed'], true],
        layout: { visibility: vis('vacancies') },
        paint: { 'fill-pattern': HATCH, 'fill-opacity': 0.85 },
      },
      {
        id: 'base-parks-line',
        type: 'line',
        source: 'base',
        filter: ['==', ['get', 'kind'], 'park'],
        paint: { 'line-color': '#4f8a4f', 'line-width': 1.2, 'line-dasharray': [3, 2] },
      },
      {
        id: 'base-districts-line',
        type: 'line',
        source: 'base',
        filter: ['==', ['get', 'kind'], 'district'],
        paint: {
          'line-color': '#6b7280',
          'line-width': ['interpolate', ['linear'], ['zoom'], 7, 0.8, 12, 2],
        },
      },
      {
        id: 'regions-line',
        type: 'line',
        source: 'regions',
        'source-layer': 'regions',
        layout: { visibility: vis('regions') },
        paint: { 'line-color': '#1f2937', 'line-width': 0.6, 'line-opacity': 0.5 },
      },
      {
        id: 'base-selected',
        type: 'line',
        source: 'base',
        filter: ['==', ['get', 'id'], '__none__'],
        paint: { 'line-color': '#111827', 'line-width': 3 },
      },
      {
        id: 'stations-rail',
        type: 'circle',
        source: 'stations',
        'source-layer': 'stations',
        minzoom: 9,
        filter: ['in', ['get', 'mode'], ['literal', ['metro', 'rail', 'brt']]],
        paint: {
          'circle-radius': ['interpolate', ['linear'], ['zoom'], 9, 2, 14, 5],
          'circle-color': '#ffffff',
          'circle-stroke-color': ['match', ['get', 'mode'], 'metro', STATION_COLORS.metro, 'brt', STATION_COLORS.brt, STATION_COLORS.rail],
          'circle-stroke-width': ['interpolate', ['linear'], ['zoom'], 9, 1.2, 14, 2.5],
        },
      },
      {
        id: 'stations-bus',
        type: 'circle',
        source: 'stations',
        'source-layer': 'stations',
        minzoom: 13,
        filter: ['==', ['get', 'mode'], 'bus'],
        paint: { 'circle-radius': 2.5, 'circle-color': STATION_COLORS.bus, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1 },
      },
      {
        id: 'enterprise-clusters',
        type: 'circle',
        source: 'enterprises',
        'source-layer': 'enterprises',
        filter: ['==', ['get', 'cluster'], true],
        layout: { visibility: vis('enterprises') },
        paint: {
          'circle-color': ENTERPRISE_COLOR,
          'circle-opacity': 0.88,
          'circle-radius': ['interpolate', ['linear'], ['sqrt', ['get', 'count']], 1, 7, 10, 15, 40, 30],
          'circle-stroke-color': ['case', ['>', ['coalesce', ['get', 'key_count'], 0], 0], KEY_ENTERPRISE_COLOR, '#ffffff'],
          'circle-stroke-width': ['case', ['>', ['coalesce', ['get', 'key_count'], 0], 0], 3, 1.5],
        },
      },
      {
        // Count badges: text in the server's glyphs, or, on a server with no
        // font, canvas-drawn images named `count:LANG:N` (see countImage).
        id: 'enterprise-cluster-count',
        type: 'symbol',
        source: 'enterprises',
        'source-layer': 'enterprises',
        filter: ['==', ['get', 'cluster'], true],
        layout: {
          visibility: vis('enterprises'),
          ...(labels
            ? {
                'text-field': countText(state.lang),
                'text-font': [labels.fonts.park],
                'text-size': 11.5 * (labels.scale ?? 1),
                'text-allow-overlap': true,
                'text-ignore-placement': true,
              }
            : { 'icon-image': countIcon(state.lang), 'icon-allow-overlap': true, 'icon-ignore-placement': true }),
        },
        paint: labels ? { 'text-color': '#ffffff', 'text-halo-color': 'rgba(60,30,0,0.85)', 'text-halo-width': 1.4 } : {},
      },
      {
        id: 'enterprise-points',
        type: 'circle',
        source: 'enterprises',
        'source-layer': 'enterprises',
        filter: ['!=', ['get', 'cluster'], true],
        layout: { visibility: vis('enterprises'), 'circle-sort-key': ['case', ['==', ['get', 'key'], true], 1, 0] },
        paint: {
          'circle-color': ['case', ['==', ['get', 'key'], true], KEY_ENTERPRISE_COLOR, ENTERPRISE_COLOR],
          'circle-radius': [
            'interpolate',
            ['linear'],
            ['zoom'],
            13,
            ['case', ['==', ['get', 'key'], true], 7, 4],
            17,
            ['case', ['==', ['get', 'key'], true], 10, 7],
          ],
          'circle-stroke-color': '#ffffff',
          'circle-stroke-width': ['case', ['==', ['get', 'key'], true], 2.5, 1.2],
        },
      },
    ],
  };
  const city = basemap ? basemapLayers(basemap, labels?.fonts.park, state.lang, labels?.scale) : null;
  if (city && city.below.length) {
    style.sources.basemap = { type: 'vector', url: `${origin}/basemap.json` };
    const at = style.layers.findIndex((l) => l.id === 'base-parks-fill') + 1;
    style.layers.splice(at, 0, ...city.below);
  }
  if (labels) {
    style.glyphs = `${origin}/fonts/{fontstack}/{range}.pbf`;
    if (city && city.below.length) style.layers.push(...city.labels);
    style.sources.labels = { type: 'geojson', data: labels.points };
    style.layers.push(...labelLayers(labels.fonts, state.lang, labels.scale));
  }
  return style;
}

/** Region layer filters: suppression (talent count 1..k−1) hides only the
 *  talent statistics, so the other statistics still colour those regions. */
export function regionFilters(stat) {
  const privateStat = stat === 'talents' || stat === 'seekers';
  return {
    fill: privateStat ? ['!=', ['get', 'suppressed'], true] : ['boolean', true],
    hatch: privateStat ? ['==', ['get', 'suppressed'], true] : ['boolean', false],
  };
}

export function regionFillColor(stat, breaks) {
  if (stat === 'ratio') {
    return ['case', ['has', 'ratio'], stepExpression(['get', 'ratio'], RATIO_BREAKS, PUOR), NO_DATA];
  }
  return ['case', ['has', stat], stepExpression(['get', stat], breaks, BLUES), NO_DATA];
}

/** Diagonal grey hatching for suppressed cells, as raw RGBA for addImage. */
export function hatchImage(size = 8) {
  const data = new Uint8Array(size * size * 4);
  for (let y = 0; y < size; y += 1) {
    for (let x = 0; x < size; x += 1) {
      const i = (y * size + x) * 4;
      const line = (x + y) % size < 2;
      const [r, g, b, a] = line ? [110, 110, 110, 230] : [215, 215, 215, 150];
      data.set([r, g, b, a], i);
    }
  }
  return { width: size, height: size, data };
}

/** Text of a cluster badge: the count with the locale's digit grouping. */
export function countText(lang) {
  return ['number-format', ['get', 'count'], { locale: lang === 'en' ? 'en' : 'zh-CN' }];
}

/** Image name of a cluster badge: `count:LANG:N` (the text depends on the locale). */
export function countIcon(lang) {
  return ['concat', `count:${lang}:`, ['to-string', ['get', 'count']]];
}

/** A cluster badge: the count drawn with the system font on a canvas. */
export function countImage(text, pixelRatio = 2) {
  const font = `600 ${11 * pixelRatio}px system-ui, "Noto Sans CJK SC", sans-serif`;
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d');
  ctx.font = font;
  const w = Math.ceil(ctx.measureText(text).width) + 6 * pixelRatio;
  const h = 16 * pixelRatio;
  canvas.width = w;
  canvas.height = h;
  ctx.font = font;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.lineWidth = 3 * pixelRatio;
  ctx.strokeStyle = 'rgba(60,30,0,0.85)';
  ctx.strokeText(text, w / 2, h / 2 + pixelRatio);
  ctx.fillStyle = '#ffffff';
  ctx.fillText(text, w / 2, h / 2 + pixelRatio);
  const img = ctx.getImageData(0, 0, w, h);
  return { image: { width: w, height: h, data: new Uint8Array(img.data.buffer) }, pixelRatio };
}

/** Breaks for a cell layer from the features loaded now (values ≥ k). */
export function cellBreaks(map, layer, k) {
  const values = map.querySourceFeatures(layer, { sourceLayer: layer, filter: ['has', 'count'] }).map((f) => f.properties.count);
  return quantileBreaks(values, 6, k);
}

export function regionBreaks(map, stat) {
  const values = map
    .querySourceFeatures('regions', { sourceLayer: 'regions', filter: ['has', stat] })
    .map((f) => f.properties[stat]);
  return quantileBreaks(values, 5, 0);
}
