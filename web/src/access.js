// Access control as the page sees it: the session from /api/session, who may
// see the people layer, the jurisdiction's bounding box and the error message
// of a refused request. No DOM here (the header control is account.js).

import { placeName } from './i18n.js';

/** Roles that may see individuals (within their jurisdiction for an analyst). */
export const PEOPLE_ROLES = ['analyst', 'admin'];
export const ROLES = ['public', 'recruiter', 'analyst', 'feeder', 'admin'];

/** The session of a visitor without credentials on a server with public access. */
export function anonymousSession(publicAccess = true) {
  return {
    authenticated: false,
    public_access: publicAccess,
    principal: { kind: 'anonymous', id: null, role: 'public', jurisdiction: [] },
    expires: null,
  };
}

/** A /api/session body with missing or odd parts made safe to read. */
export function normaliseSession(body) {
  const base = anonymousSession(body?.public_access !== false);
  if (!body || typeof body !== 'object') return base;
  const p = body.principal && typeof body.principal === 'object' ? body.principal : {};
  return {
    authenticated: body.authenticated === true,
    public_access: body.public_access !== false,
    principal: {
      kind: typeof p.kind === 'string' ? p.kind : 'anonymous',
      id: p.id === undefined || p.id === null ? null : String(p.id),
      role: ROLES.includes(p.role) ? p.role : 'public',
      jurisdiction: Array.isArray(p.jurisdiction) ? p.jurisdiction.map(String) : [],
    },
    expires: body.expires ?? null,
  };
}

/** Roles that may download exports (CSV, XLSX): docs/access.md. */
export const EXPORT_ROLES = ['recruiter', 'analyst', 'admin'];

/** True when the session's principal may download exports. */
export function canExport(session) {
  return EXPORT_ROLES.includes(session?.principal?.role);
}

/** Roles that may keep study areas (POST/GET/DELETE /api/areas, each their own): docs/areas.md. */
export const AREA_ROLES = ['recruiter', 'analyst', 'admin'];

/** True when the session's principal may draw, upload, list and delete study areas. */
export function canKeepAreas(session) {
  return Boolean(session?.authenticated !== false && AREA_ROLES.includes(session?.principal?.role));
}

/** True when the session's principal may turn the people layer on. */
export function canSeePeople(session) {
  return Boolean(session && PEOPLE_ROLES.includes(session.principal?.role));
}

/** True when the visitor must sign in before the page can load anything. */
export function mustSignIn(session) {
  return Boolean(session && !session.authenticated && session.public_access === false);
}

/** [west, south, east, north] around every coordinate of a GeoJSON geometry, or null. */
export function geometryBounds(geometry) {
  if (!geometry) return null;
  let [w, s, e, n] = [Infinity, Infinity, -Infinity, -Infinity];
  const visit = (c) => {
    if (typeof c[0] === 'number') {
      w = Math.min(w, c[0]);
      e = Math.max(e, c[0]);
      s = Math.min(s, c[1]);
      n = Math.max(n, c[1]);
    } else c.forEach(visit);
  };
  visit(geometry.coordinates || []);
  return Number.isFinite(w) ? [w, s, e, n] : null;
}

/** The box around an analyst's jurisdiction (the union of its regions' boxes,
 *  `regionsById` from /api/regions), or null when there is none to draw a box
 *  around: an admin, or ids this page does not know (then every tile is asked
 *  for and the server refuses those outside). */
export function jurisdictionBounds(session, regionsById) {
  if (!session || session.principal.role !== 'analyst') return null;
  let box = null;
  for (const id of session.principal.jurisdiction) {
    const f = regionsById.get(String(id));
    const b = f && (f.properties?.bbox || geometryBounds(f.geometry));
    if (!b) return null;
    box = box ? [Math.min(box[0], b[0]), Math.min(box[1], b[1]), Math.max(box[2], b[2]), Math.max(box[3], b[3])] : [...b];
  }
  return box;
}

/** True when two [w, s, e, n] boxes overlap. */
export function boxesIntersect(a, b) {
  return a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3];
}

/** The message of an error body `{"error": {"message": …}}`, or `fallback`. */
export function errorMessage(body, fallback) {
  const m = body && typeof body === 'object' ? body.error?.message : null;
  return typeof m === 'string' && m ? m : fallback;
}

/** The names of the jurisdiction's districts and parks (ids this page does not know stay ids). */
export function jurisdictionNames(session, regionsById) {
  return (session?.principal.jurisdiction || []).map((id) => placeName(regionsById.get(String(id))?.properties, String(id)));
}

/** True when a MapLibre error event is a people tile the server refused (403:
 *  outside the jurisdiction, 401: the session ended). Those are expected
 *  while panning and are not reported. */
export function isRefusedPeopleTile(ev) {
  const err = ev?.error;
  const url = String(err?.url || '');
  return (err?.status === 403 || err?.status === 401) && (ev.sourceId === 'people' || url.includes('/tiles/people/'));
}
