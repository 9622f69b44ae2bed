// The whole view state lives in the URL hash, so a link reopens the same map:
//   #map=ZOOM/LAT/LNG&layers=talents,enterprises,people&stat=ratio&industry=ngit
//    &field=0812&education=master,doctorate&title=senior&tier=A,B
//    &min_age=25&max_age=34&seeking=true&lang=en
//    &view=shortage&sfield=0812&sby=park&sarea=ID | &view=commute&park=ID[&cside=home]
//    | &view=flows&flevel=enterprise&farea=ID&fent=ID&month=2025-12
//    | &view=time&tlevel=park&tmonth=2025-06&tfield=0812&tchain=ngit&tarea=ID&ttiles=1
//      (before/after: &tmode=change&tdate=2025-06&twin=3&tcalc=end&tby=pct)
//    &archive=exports/talents.pmtiles (a layer drawn from a PMTiles archive, archive.js)
//    &area=sa_… (the profile of a study area, district or park, areas.js) | &compare=A,B[,C,D]
// Lists are comma-separated. Parameters at their default are left out.

// `people` is kept only while the signed-in role may see individuals (app.js).
export const LAYER_IDS = ['talents', 'enterprises', 'vacancies', 'regions', 'people'];
export const DEFAULT_LAYERS = ['talents', 'enterprises'];
export const REGION_STATS = ['talents', 'seekers', 'enterprises', 'openings', 'ratio'];
export const LIST_FILTERS = ['industry', 'field', 'education', 'title', 'tier'];
export const VIEWS = ['shortage', 'commute', 'flows', 'time'];
/** The time view's hash keys (views/time.js). */
export const TIME_KEYS = ['tlevel', 'tmonth', 'tmode', 'tdate', 'twin', 'tcalc', 'tby', 'tarea', 'tfield', 'tchain', 'ttiles'];
/** The flow view's levels (views/flows.js); district is the default. */
export const FLOW_LEVELS = ['district', 'park', 'enterprise', 'industry'];
export const TIME_WINDOWS = [1, 3, 6, 12];
export const SHORTAGE_BY = ['district', 'park'];
/** Areas compared at once (GET /api/compare). */
export const COMPARE_MIN = 2;
export const COMPARE_MAX = 4;
export const FILTER_KEYS = [...LIST_FILTERS, 'min_age', 'max_age', 'seeking'];

export function emptyFilters() {
  return { industry: [], field: [], education: [], title: [], tier: [], min_age: null, max_age: null, seeking: null };
}

export function defaultState() {
  return {
    center: null, // [lng, lat]; null = fit the city
    zoom: null,
    layers: [...DEFAULT_LAYERS],
    stat: 'talents',
    filters: emptyFilters(),
    lang: null, // null = not given in the URL
    view: null, // analysis view: shortage | commute | flows
    sfield: null, // shortage view: field code (null = the field with most openings)
    sby: 'district', // shortage view: ranked list of districts or parks
    sarea: null, // shortage view: the area whose index is explained
    park: null, // commute view: the park (or study area) whose heat is shown
    cside: null, // commute view: 'home' = where the area's residents work (null = where its workers live)
    farea: null, // flow view: the area whose series is shown
    fmonth: null, // flow view: alert month (null = the latest)
    flevel: null, // flow view: park | enterprise | industry (null = districts)
    fent: null, // flow view: the enterprise in focus (enterprise and industry levels)
    tlevel: null, // time view: 'park' (null = districts)
    tmonth: null, // time view: the slider's month (null = the last)
    tmode: null, // time view: 'change' for before/after (null = the slider)
    tdate: null, // time view: the before/after date (null = 12 months before the last)
    twin: null, // time view: months in each window (null = 6)
    tcalc: null, // time view: 'end' = end of the month before vs end of the window (null = means)
    tby: null, // time view: 'pct' = colour by % change (null = by the difference)
    tarea: null, // time view: the area whose monthly stock is shown
    tfield: null, // time view: field code filter
    tchain: null, // time view: industry chain filter
    ttiles: null, // time view: 1 = the talents and regions tiles as of the slider's month
    archive: null, // URL or path of a PMTiles archive that replaces its layer's tiles
    area: null, // the study area, district or park whose profile is open (areas.js)
    compare: null, // 2–4 area ids compared side by side (areas.js)
  };
}

// Ages go in five-year bands: min_age a multiple of 5, max_age one less
// (`rest` 0 or 4); anything else, e.g. from an old link, is dropped.
function parseAge(v, rest) {
  if (v === undefined || v === null || v === '') return null;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 && n <= 124 && n % 5 === rest ? n : null;
}

/** Parses a location hash ('#…' or '…') into a state; unknown or malformed
 *  parts fall back to defaults. */
export function parseHash(hash) {
  const state = defaultState();
  const text = (hash || '').replace(/^#/, '');
  if (!text) return state;
  const params = new Map();
  for (const part of text.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const key = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' '));
    params.set(key, value);
  }
  const map = params.get('map');
  if (map) {
    const [z, lat, lng] = map.split('/').map(Number);
    if ([z, lat, lng].every(Number.isFinite) && z >= 0 && z <= 22 && Math.abs(lat) <= 85 && Math.abs(lng) <= 180) {
      state.zoom = z;
      state.center = [lng, lat];
    }
  }
  if (params.has('layers')) {
    state.layers = params.get('layers').split(',').filter((id) => LAYER_IDS.includes(id));
  }
  const stat = params.get('stat');
  if (REGION_STATS.includes(stat)) state.stat = stat;
  for (const key of LIST_FILTERS) {
    const v = params.get(key);
    if (v) state.filters[key] = v.split(',').map((s) => s.trim()).filter(Boolean);
  }
  state.filters.min_age = parseAge(params.get('min_age'), 0);
  state.filters.max_age = parseAge(params.get('max_age'), 4);
  const seeking = params.get('seeking');
  if (seeking === 'true' || seeking === 'false') state.filters.seeking = seeking === 'true';
  const lang = params.get('lang');
  if (lang === 'zh' || lang === 'en') state.lang = lang;
  const view = params.get('view');
  if (VIEWS.includes(view)) state.view = view;
  const id = (v) => (v && /^[\w.-]{1,64}$/.test(v) ? v : null);
  state.sfield = id(params.get('sfield'));
  if (SHORTAGE_BY.includes(params.get('sby'))) state.sby = params.get('sby');
  state.sarea = id(params.get('sarea'));
  state.park = id(params.get('park'));
  state.farea = id(params.get('farea'));
  if (FLOW_LEVELS.includes(params.get('flevel')) && params.get('flevel') !== 'district') state.flevel = params.get('flevel');
  state.fent = id(params.get('fent'));
  if (params.get('cside') === 'home') state.cside = 'home';
  const month = params.get('month');
  const isMonth = (v) => Boolean(v) && /^\d{4}-(0[1-9]|1[0-2])$/.test(v);
  if (isMonth(month)) state.fmonth = month;
  if (params.get('tlevel') === 'park') state.tlevel = 'park';
  if (isMonth(params.get('tmonth'))) state.tmonth = params.get('tmonth');
  if (params.get('tmode') === 'change') state.tmode = 'change';
  if (isMonth(params.get('tdate'))) state.tdate = params.get('tdate');
  const twin = Number(params.get('twin'));
  if (TIME_WINDOWS.includes(twin) && twin !== 6) state.twin = twin;
  if (params.get('tcalc') === 'end') state.tcalc = 'end';
  if (params.get('tby') === 'pct') state.tby = 'pct';
  state.tarea = id(params.get('tarea'));
  state.tfield = id(params.get('tfield'));
  state.tchain = id(params.get('tchain'));
  if (params.get('ttiles') === '1') state.ttiles = 1;
  state.area = id(params.get('area'));
  const compare = (params.get('compare') || '').split(',').map((s) => id(s.trim()));
  if (compare.length >= COMPARE_MIN && compare.length <= COMPARE_MAX && compare.every(Boolean) && new Set(compare).size === compare.length) {
    state.compare = compare;
  }
  if (state.compare) state.area = null;
  const archive = params.get('archive');
  if (archive && archive.length <= 512 && /^[\w.~:/%@-]+\.pmtiles$/.test(archive)) state.archive = archive;
  return state;
}

const keep = (s) => encodeURIComponent(s).replace(/%2C/gi, ',').replace(/%2F/gi, '/');

/** Serializes a state into a hash string starting with '#'. */
export function formatHash(state) {
  const parts = [];
  if (state.center && state.zoom !== null) {
    const [lng, lat] = state.center;
    parts.push(`map=${state.zoom.toFixed(2)}/${lat.toFixed(5)}/${lng.toFixed(5)}`);
  }
  parts.push(`layers=${keep(state.layers.join(','))}`);
  if (state.stat !== 'talents') parts.push(`stat=${keep(state.stat)}`);
  const q = filterQuery(state.filters);
  if (q) parts.push(q);
  if (state.lang) parts.push(`lang=${state.lang}`);
  if (state.view) {
    parts.push(`view=${state.view}`);
    if (state.view === 'shortage') {
      if (state.sfield) parts.push(`sfield=${keep(state.sfield)}`);
      if (state.sby !== 'district') parts.push(`sby=${state.sby}`);
      if (state.sarea) parts.push(`sarea=${keep(state.sarea)}`);
    } else if (state.view === 'commute' && state.park) {
      parts.push(`park=${keep(state.park)}`);
      if (state.cside === 'home') parts.push('cside=home');
    } else if (state.view === 'flows') {
      if (state.flevel) parts.push(`flevel=${state.flevel}`);
      if (state.farea) parts.push(`farea=${keep(state.farea)}`);
      if (state.fent) parts.push(`fent=${keep(state.fent)}`);
      if (state.fmonth) parts.push(`month=${state.fmonth}`);
    } else if (state.view === 'time') {
      for (const key of TIME_KEYS) if (state[key] !== null && state[key] !== undefined) parts.push(`${key}=${keep(String(state[key]))}`);
    }
  }
  if (state.compare) parts.push(`compare=${keep(state.compare.join(','))}`);
  else if (state.area) parts.push(`area=${keep(state.area)}`);
  if (state.archive) parts.push(`archive=${keep(state.archive)}`);
  return `#${parts.join('&')}`;
}

/** The filter part of a query string for the tile and API endpoints
 *  (no leading '?'); `keys` limits it to the filters a layer uses. */
export function filterQuery(filters, keys = FILTER_KEYS) {
  const parts = [];
  for (const key of keys) {
    const v = filters[key];
    if (Array.isArray(v)) {
      if (v.length) parts.push(`${key}=${keep(v.join(','))}`);
    } else if (v !== null && v !== undefined) {
      parts.push(`${key}=${keep(String(v))}`);
    }
  }
  return parts.join('&');
}

/** Number of filters that restrict something (an age band counts once). */
export function activeFilterCount(filters) {
  let n = LIST_FILTERS.filter((k) => filters[k].length).length;
  if (filters.min_age !== null || filters.max_age !== null) n += 1;
  if (filters.seeking !== null) n += 1;
  return n;
}
