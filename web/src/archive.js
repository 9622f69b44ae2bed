// Layers from PMTiles archives (`talentmap export pmtiles`). A page opened
// with `#…&archive=PATH` draws the archive's layer from the file itself —
// HTTP range requests through the pmtiles protocol, from the host that
// serves the page (a static host, a content network or talentmap) —
// instead of the server's tiles for that layer. The
// archive holds one layer rendered for one query, so the filters in the
// panel do not apply to it (the sidebar says so). The pmtiles library
// (./pmtiles.js, the npm package's browser build) is loaded only when an
// archive is asked for.

/** Layers an archive may replace: the record layers of the map. */
export const ARCHIVE_LAYERS = ['talents', 'vacancies', 'enterprises', 'regions', 'stations'];

/** The absolute URL of an `archive=` value, or null when it is not a path
 *  or URL ending in `.pmtiles` on the page's own origin. Only the page's
 *  origin: an archive's metadata (its attribution) is shown as HTML by
 *  MapLibre, so a link must not bring in a file from elsewhere. */
export function archiveUrl(value, pageUrl) {
  if (typeof value !== 'string' || value.length > 512 || !/^[\w.~:/%@-]+\.pmtiles$/.test(value)) return null;
  try {
    const page = new URL(pageUrl);
    const url = new URL(value, page);
    const web = url.protocol === 'http:' || url.protocol === 'https:';
    return web && url.origin === page.origin ? url.href : null;
  } catch {
    return null;
  }
}

let library = null;

/** The pmtiles library, loaded once from ./pmtiles.js (a classic script
 *  that defines `window.pmtiles`). */
function loadLibrary() {
  library ??= new Promise((ok, fail) => {
    if (window.pmtiles) {
      ok(window.pmtiles);
      return;
    }
    const script = document.createElement('script');
    script.src = './pmtiles.js';
    script.onload = () => (window.pmtiles ? ok(window.pmtiles) : fail(new Error('pmtiles.js defined no library')));
    script.onerror = () => fail(new Error('pmtiles.js could not be loaded'));
    document.head.append(script);
  });
  return library;
}

/** Opens the archive at `url` (absolute): registers the `pmtiles://`
 *  protocol with MapLibre and reads the header and metadata. Resolves to
 *  the layer it holds and the vector source that reads it; rejects when
 *  the file is missing or holds no map layer. */
export async function openArchive(maplibregl, url) {
  const lib = await loadLibrary();
  const protocol = new lib.Protocol();
  maplibregl.addProtocol('pmtiles', protocol.tile);
  const archive = new lib.PMTiles(url);
  protocol.add(archive);
  const name = decodeURIComponent(new URL(url).pathname.split('/').pop());
  let header;
  let metadata;
  try {
    [header, metadata] = await Promise.all([archive.getHeader(), archive.getMetadata()]);
  } catch (err) {
    throw new Error(`${name}: ${err?.message || err}`);
  }
  const layer = metadata?.vector_layers?.[0]?.id;
  if (header.tileType !== lib.TileType.Mvt || !ARCHIVE_LAYERS.includes(layer)) {
    throw new Error(`${name} holds no map layer (${layer ?? 'no vector layer'})`);
  }
  return {
    layer,
    url,
    name,
    query: typeof metadata.query === 'string' ? metadata.query : '',
    dataVersion: Number.isInteger(metadata.data_version) ? metadata.data_version : null,
    source: { type: 'vector', url: `pmtiles://${url}` },
  };
}
