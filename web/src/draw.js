// Drawing study areas on the map with MapLibre alone (no drawing library):
// a polygon (click the vertices; double-click, or click the first vertex,
// to close it), a circle (click the centre, move, click to set the radius)
// and a corridor (click the line's vertices, double-click to finish; its
// buffer distance is set afterwards). The shape is drawn while it is made
// from one GeoJSON source. Escape cancels a shape being drawn.
//
// The pure parts (the Feature sent to POST /api/areas, reading an uploaded
// file, distances) are exported for the unit tests.

import { fmt } from './i18n.js';
import { circle } from './views/shared.js';

export const DRAW_KINDS = ['polygon', 'circle', 'corridor'];
export const DEFAULT_BUFFER_M = 500;
export const DRAW_COLOR = '#d01c8b';
const EARTH_M = 6_371_008.8;
/** Metres of the Web Mercator equator per 512-pixel tile at zoom 0. */
const EQUATOR_M = 40_075_016.686;
/** Screen distance (px) within which a click closes the polygon on its first vertex. */
const CLOSE_PX = 10;
/** Consecutive vertices closer than this (px) are one (the two clicks of a double-click). */
const SAME_PX = 5;

const round6 = (v) => Math.round(v * 1e6) / 1e6;
const pos = ([lon, lat]) => [round6(lon), round6(lat)];

/** Great-circle distance in metres between two [lon, lat] positions. */
export function distanceM([lon1, lat1], [lon2, lat2]) {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** A closed ring from vertices (the first position repeated at the end). */
export function closeRing(points) {
  const ring = points.map(pos);
  const [a, b] = [ring[0], ring.at(-1)];
  if (ring.length && (a[0] !== b[0] || a[1] !== b[1])) ring.push([...a]);
  return ring;
}

/** Twice the signed area of a ring in degrees (shoelace): positive when counter-clockwise. */
export function ringArea(ring) {
  let a = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) a += (ring[j][0] - ring[i][0]) * (ring[j][1] + ring[i][1]);
  return a;
}

/** A polygon's rings by the right-hand rule of RFC 7946: the shell counter-clockwise,
 *  holes clockwise (a shell drawn clockwise would otherwise be read as the rest of the world). */
export function rightHand(rings) {
  return rings.map((ring, i) => {
    const ccw = ringArea(ring) > 0;
    return (i === 0) === ccw ? ring : [...ring].reverse();
  });
}

/**
 * The GeoJSON Feature for POST /api/areas from a finished drawing:
 * `{kind: 'polygon', points}` → Polygon; `{kind: 'circle', centre, radius}`
 * → Point with `properties.radius_m`; `{kind: 'corridor', points, buffer}` →
 * LineString with `properties.buffer_m`.
 */
export function drawnFeature(shape, name) {
  const properties = { name };
  let geometry;
  if (shape.kind === 'polygon') {
    geometry = { type: 'Polygon', coordinates: rightHand([closeRing(shape.points)]) };
  } else if (shape.kind === 'circle') {
    geometry = { type: 'Point', coordinates: pos(shape.centre) };
    properties.radius_m = Math.round(shape.radius);
  } else if (shape.kind === 'corridor') {
    geometry = { type: 'LineString', coordinates: shape.points.map(pos) };
    properties.buffer_m = Math.round(shape.buffer);
  } else {
    throw new Error(`unknown shape ${shape.kind}`);
  }
  return { type: 'Feature', geometry, properties };
}

const GEOMETRY_TYPES = ['Polygon', 'MultiPolygon', 'Point', 'LineString'];
const POLYGONS = ['Polygon', 'MultiPolygon'];

/** Drops a third (height) value from every position. */
function flat(coords) {
  if (!Array.isArray(coords)) return coords;
  if (typeof coords[0] === 'number') return coords.slice(0, 2);
  return coords.map(flat);
}

/**
 * Reads an uploaded file's text as the Feature for POST /api/areas: a
 * Feature, a FeatureCollection holding one Polygon or MultiPolygon feature,
 * or a bare geometry. `name` (from the form) wins over the file's
 * `properties.name`, which wins over `fileName` without its extension.
 * Returns `{feature}` or `{error, params}` (an i18n key and its values).
 */
export function uploadedFeature(text, { name = '', fileName = '' } = {}) {
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    return { error: 'uploadNotJson' };
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) return { error: 'uploadNotGeojson' };
  let feature = null;
  if (json.type === 'FeatureCollection') {
    const features = Array.isArray(json.features) ? json.features.filter((f) => f && f.geometry) : [];
    const polygons = features.filter((f) => POLYGONS.includes(f.geometry.type));
    if (features.length === 1) feature = features[0];
    else if (polygons.length === 1) feature = polygons[0];
    else if (!polygons.length) return { error: 'uploadNoPolygon' };
    else return { error: 'uploadManyPolygons', params: { n: polygons.length } };
  } else if (json.type === 'Feature') {
    feature = json;
  } else if (GEOMETRY_TYPES.includes(json.type) || json.type === 'GeometryCollection' || json.type?.startsWith?.('Multi')) {
    feature = { type: 'Feature', geometry: json, properties: {} };
  } else {
    return { error: 'uploadNotGeojson' };
  }
  const g = feature.geometry;
  if (!g || !GEOMETRY_TYPES.includes(g.type)) return { error: 'uploadBadGeometry', params: { type: g?.type ?? '–' } };
  const props = feature.properties && typeof feature.properties === 'object' ? feature.properties : {};
  const stem = String(fileName).replace(/\.(geo)?json$/i, '').trim();
  const chosen = String(name || '').trim() || (typeof props.name === 'string' ? props.name.trim() : '') || stem;
  const properties = { name: chosen.slice(0, 100) };
  if (g.type === 'Point' && props.radius_m !== undefined) properties.radius_m = Number(props.radius_m);
  if (g.type === 'LineString' && props.buffer_m !== undefined) properties.buffer_m = Number(props.buffer_m);
  if (g.type === 'Point' && properties.radius_m === undefined) return { error: 'uploadPointRadius' };
  if (g.type === 'LineString' && properties.buffer_m === undefined) return { error: 'uploadLineBuffer' };
  let coordinates = flat(g.coordinates);
  if (g.type === 'Polygon' && Array.isArray(coordinates)) coordinates = rightHand(coordinates);
  if (g.type === 'MultiPolygon' && Array.isArray(coordinates)) coordinates = coordinates.map(rightHand);
  return { feature: { type: 'Feature', geometry: { type: g.type, coordinates }, properties } };
}

/** Line width (px) by zoom that covers `bufferM` either side of a line at latitude `lat`
 *  (MapLibre's tiles are 512 px: metres per pixel halve with each zoom level). */
export function bufferWidth(bufferM, lat) {
  const perPixel0 = (EQUATOR_M * Math.cos((lat * Math.PI) / 180)) / 512;
  const w0 = (2 * bufferM) / perPixel0;
  return ['interpolate', ['exponential', 2], ['zoom'], 0, w0, 24, w0 * 2 ** 24];
}

const EMPTY = { type: 'FeatureCollection', features: [] };
const SOURCE = 'area-draw';
export const DRAW_LAYERS = ['area-draw-corridor', 'area-draw-fill', 'area-draw-line', 'area-draw-rubber', 'area-draw-vertex'];

/**
 * The drawing tool on `map`. `onChange(tool)` runs whenever what is drawn
 * changes (a vertex, the pointer's radius, finishing, cancelling).
 */
export function createDrawTool(map, { onChange = () => {} } = {}) {
  // phase: null (idle), 'drawing', 'done'.
  const d = { kind: null, phase: null, points: [], hover: null, centre: null, radius: 0, buffer: DEFAULT_BUFFER_M };
  let added = false;
  // The circle's radius beside the pointer while it is set.
  const tip = document.createElement('div');
  tip.className = 'draw-tip';
  tip.hidden = true;
  tip.setAttribute('aria-hidden', 'true');
  map.getContainer().appendChild(tip);
  const hideTip = () => {
    tip.hidden = true;
  };

  function addLayers() {
    if (added) return;
    added = true;
    map.addSource(SOURCE, { type: 'geojson', data: EMPTY });
    map.addLayer({
      id: 'area-draw-corridor',
      type: 'line',
      source: SOURCE,
      filter: ['==', ['get', 'role'], 'corridor'],
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': DRAW_COLOR, 'line-opacity': 0.16, 'line-width': bufferWidth(d.buffer, 36.6) },
    });
    map.addLayer({
      id: 'area-draw-fill',
      type: 'fill',
      source: SOURCE,
      filter: ['==', ['geometry-type'], 'Polygon'],
      paint: { 'fill-color': DRAW_COLOR, 'fill-opacity': 0.14 },
    });
    map.addLayer({
      id: 'area-draw-line',
      type: 'line',
      source: SOURCE,
      filter: ['all', ['!=', ['get', 'role'], 'corridor'], ['!=', ['get', 'role'], 'rubber'], ['!=', ['geometry-type'], 'Point']],
      layout: { 'line-join': 'round' },
      paint: { 'line-color': DRAW_COLOR, 'line-width': 2.2 },
    });
    map.addLayer({
      id: 'area-draw-rubber',
      type: 'line',
      source: SOURCE,
      filter: ['==', ['get', 'role'], 'rubber'],
      paint: { 'line-color': DRAW_COLOR, 'line-width': 1.6, 'line-dasharray': [2, 2] },
    });
    map.addLayer({
      id: 'area-draw-vertex',
      type: 'circle',
      source: SOURCE,
      filter: ['==', ['geometry-type'], 'Point'],
      paint: {
        'circle-radius': ['case', ['==', ['get', 'role'], 'first'], 6, 4.5],
        'circle-color': '#ffffff',
        'circle-stroke-color': DRAW_COLOR,
        'circle-stroke-width': 2.5,
      },
    });
  }

  const feature = (geometry, role = 'shape') => ({ type: 'Feature', properties: { role }, geometry });
  const line = (coords, role) => feature({ type: 'LineString', coordinates: coords }, role);

  function render() {
    if (!added) return;
    const out = [];
    const pts = d.points;
    if (d.kind === 'polygon') {
      const live = d.phase === 'drawing' && d.hover ? [...pts, d.hover] : pts;
      if (live.length >= 3) out.push(feature({ type: 'Polygon', coordinates: [closeRing(live)] }));
      else if (live.length === 2) out.push(line(live, 'rubber'));
      if (d.phase === 'drawing' && pts.length && d.hover && live.length >= 3) out.push(line([pts.at(-1), d.hover, pts[0]], 'rubber'));
      pts.forEach((p, i) => out.push(feature({ type: 'Point', coordinates: p }, i === 0 && d.phase === 'drawing' ? 'first' : 'vertex')));
    } else if (d.kind === 'circle' && d.centre) {
      if (d.radius > 0) out.push(feature({ type: 'Polygon', coordinates: [circle(d.centre, d.radius, 72)] }));
      if (d.phase === 'drawing' && d.hover) out.push(line([d.centre, d.hover], 'rubber'));
      out.push(feature({ type: 'Point', coordinates: d.centre }, 'vertex'));
    } else if (d.kind === 'corridor') {
      const live = d.phase === 'drawing' && d.hover ? [...pts, d.hover] : pts;
      if (live.length >= 2) {
        out.push(line(live, 'corridor'));
        out.push(line(pts.length >= 2 ? pts : live, d.phase === 'drawing' && pts.length < 2 ? 'rubber' : 'shape'));
        if (d.phase === 'drawing' && d.hover && pts.length >= 2) out.push(line([pts.at(-1), d.hover], 'rubber'));
      }
      pts.forEach((p) => out.push(feature({ type: 'Point', coordinates: p }, 'vertex')));
    }
    map.getSource(SOURCE).setData({ type: 'FeatureCollection', features: out });
    if (d.kind === 'corridor') {
      const lat = pts.length ? pts.reduce((s, p) => s + p[1], 0) / pts.length : map.getCenter().lat;
      map.setPaintProperty('area-draw-corridor', 'line-width', bufferWidth(d.buffer, lat));
    }
  }

  const changed = () => {
    render();
    onChange(api);
  };

  const screen = (p) => map.project(p);
  const near = (p, q, px) => {
    const a = screen(p);
    const b = screen(q);
    return Math.hypot(a.x - b.x, a.y - b.y) <= px;
  };
  /** Vertices with the repeats of a double-click taken out. */
  const dedupe = (pts) => pts.filter((p, i) => i === 0 || !near(p, pts[i - 1], SAME_PX));

  function setDrawingMode(on) {
    if (!on) hideTip();
    // Back on only after the event that finished the shape (a double-click) has been handled.
    if (on) map.doubleClickZoom.disable();
    else setTimeout(() => d.phase !== 'drawing' && map.doubleClickZoom.enable(), 0);
    map.getCanvas().style.cursor = on ? 'crosshair' : '';
  }

  function start(kind) {
    if (!DRAW_KINDS.includes(kind)) return;
    addLayers();
    Object.assign(d, { kind, phase: 'drawing', points: [], hover: null, centre: null, radius: 0 });
    setDrawingMode(true);
    changed();
  }

  function finish() {
    d.points = dedupe(d.points);
    const min = d.kind === 'polygon' ? 3 : 2;
    if (d.points.length < min) return false;
    d.phase = 'done';
    d.hover = null;
    setDrawingMode(false);
    changed();
    return true;
  }

  /** Cancels the shape being drawn, or clears a finished one. */
  function clear() {
    const was = d.phase;
    Object.assign(d, { kind: null, phase: null, points: [], hover: null, centre: null, radius: 0 });
    setDrawingMode(false);
    if (added) map.getSource(SOURCE).setData(EMPTY);
    if (was) onChange(api);
  }

  /** A map click while drawing; true when it was the tool's. */
  function onClick(e) {
    if (d.phase !== 'drawing') return false;
    const p = [e.lngLat.lng, e.lngLat.lat];
    if (d.kind === 'polygon') {
      if (d.points.length >= 3 && near(p, d.points[0], CLOSE_PX)) {
        finish();
        return true;
      }
      d.points.push(p);
    } else if (d.kind === 'circle') {
      if (!d.centre) {
        d.centre = p;
        d.radius = 0;
      } else {
        d.radius = distanceM(d.centre, p);
        if (d.radius > 0 && !near(p, d.centre, SAME_PX)) {
          d.phase = 'done';
          d.hover = null;
          setDrawingMode(false);
        }
      }
    } else {
      d.points.push(p);
    }
    changed();
    return true;
  }

  map.on('dblclick', (e) => {
    if (d.phase !== 'drawing' || d.kind === 'circle') return;
    e.preventDefault();
    finish();
  });
  map.on('mousemove', (e) => {
    if (d.phase !== 'drawing') return;
    d.hover = [e.lngLat.lng, e.lngLat.lat];
    if (d.kind === 'circle' && d.centre) {
      d.radius = distanceM(d.centre, d.hover);
      tip.textContent = `${fmt(Math.round(d.radius))} m`;
      tip.style.transform = `translate(${Math.round(e.point.x + 14)}px, ${Math.round(e.point.y - 28)}px)`;
      tip.hidden = false;
    }
    map.getCanvas().style.cursor = 'crosshair';
    changed();
  });

  const api = {
    start,
    finish,
    clear,
    onClick,
    get kind() {
      return d.kind;
    },
    get phase() {
      return d.phase;
    },
    get drawing() {
      return d.phase === 'drawing';
    },
    get vertices() {
      return d.kind === 'circle' ? (d.centre ? 1 : 0) : d.points.length;
    },
    get radius() {
      return d.radius;
    },
    get buffer() {
      return d.buffer;
    },
    setBuffer(m) {
      if (Number.isFinite(m) && m > 0) {
        d.buffer = m;
        render();
      }
    },
    /** The finished shape for drawnFeature, or null. */
    shape() {
      if (d.phase !== 'done') return null;
      if (d.kind === 'circle') return { kind: 'circle', centre: d.centre, radius: d.radius };
      if (d.kind === 'corridor') return { kind: 'corridor', points: d.points, buffer: d.buffer };
      return { kind: 'polygon', points: d.points };
    },
  };
  return api;
}
