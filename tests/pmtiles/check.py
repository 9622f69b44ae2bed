"""Checks a PMTiles archive written by `talentmap export pmtiles` with readers
that share no code with talentmap: the `pmtiles` package (Protomaps) reads the
header, the metadata and every tile through the directories; the
`mapbox-vector-tile` package decodes each tile. Every tile must be the bytes
the running server answers at /tiles/{layer}/{z}/{x}/{y}.mvt for the same
query, and tiles left out of the archive must be empty (204) there.

    check.py ARCHIVE BASE_URL LAYER QUERY MINZOOM MAXZOOM
    check.py --directories ARCHIVE   (examples/pmtiles_directories.rs: every
        tile, found through leaf directories, holds its own z/x/y)
"""

import gzip
import json
import math
import sys
import urllib.error
import urllib.request

import mapbox_vector_tile
from pmtiles.reader import MmapSource, Reader, all_tiles
from pmtiles.tile import Compression, TileType


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def fetch(url):
    """Status and body of a GET without compression."""
    req = urllib.request.Request(url, headers={"Accept-Encoding": "identity"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def covering(bounds, z):
    """Tiles of zoom z over [w, s, e, n] (the export's own rule, restated)."""
    w, s, e, n = bounds
    count = 2**z

    def col(lon):
        return min(count - 1, max(0, math.floor((lon + 180.0) / 360.0 * count)))

    def row(lat):
        lat = max(-85.0511, min(85.0511, lat))
        r = math.radians(lat)
        y = (1.0 - math.log(math.tan(r) + 1.0 / math.cos(r)) / math.pi) / 2.0
        return min(count - 1, max(0, math.floor(y * count)))

    return [(z, x, y) for x in range(col(w), col(e) + 1) for y in range(row(n), row(s) + 1)]


def directories(path):
    with open(path, "rb") as f:
        reader = Reader(MmapSource(f))
        h = reader.header()
        if h["leaf_directory_length"] == 0:
            fail("the archive has no leaf directories")
        if h["root_offset"] + h["root_length"] > 16384:
            fail("the root directory is not in the first 16 KiB")
        if reader.metadata() != {"name": "directories"}:
            fail(f"metadata {reader.metadata()}")
        n = 0
        for (z, x, y), data in all_tiles(reader.get_bytes):
            raw = gzip.decompress(data)
            expected = b"same" if z == 3 else f"{z}/{x}/{y}".encode()
            if raw != expected:
                fail(f"tile {z}/{x}/{y} holds {raw!r}")
            # A lookup parses the root and a leaf directory: a sample of them.
            if n % 97 == 0 and reader.get(z, x, y) != data:
                fail(f"tile {z}/{x}/{y} is not found by its id")
            n += 1
        if n != h["addressed_tiles_count"] or h["tile_contents_count"] != n - 63:
            fail(f"{n} tiles read; header: {h['addressed_tiles_count']} tiles, {h['tile_contents_count']} contents")
        for x in range(0, 600, 37):
            for y in range(0, 600, 41):
                written = (((x * 2654435761 + y * 40503) & 0xFFFFFFFF) >> 7) % 3 == 0
                if (reader.get(11, x, y) is not None) != written:
                    fail(f"tile 11/{x}/{y} is {'missing' if written else 'found but was not written'}")
        print(f"ok directories: {n} tiles through {h['leaf_directory_length']} bytes of leaf directories")


def main():
    if sys.argv[1] == "--directories":
        directories(sys.argv[2])
        return
    path, base, layer, query, minzoom, maxzoom = sys.argv[1:7]
    minzoom, maxzoom = int(minzoom), int(maxzoom)
    qs = f"?{query}" if query else ""
    with open(path, "rb") as f:
        reader = Reader(MmapSource(f))
        h = reader.header()
        if h["tile_type"] != TileType.MVT:
            fail(f"tile type {h['tile_type']}, not MVT")
        if h["tile_compression"] != Compression.GZIP or h["internal_compression"] != Compression.GZIP:
            fail("tiles and directories must be gzip-compressed")
        if not h["clustered"]:
            fail("the archive is not clustered")
        if (h["min_zoom"], h["max_zoom"]) != (minzoom, maxzoom):
            fail(f"zooms {h['min_zoom']}..{h['max_zoom']}, asked {minzoom}..{maxzoom}")
        if h["root_offset"] + h["root_length"] > 16384:
            fail("the root directory is not in the first 16 KiB")

        meta = reader.metadata()
        ids = [v["id"] for v in meta.get("vector_layers", [])]
        if ids != [layer]:
            fail(f"vector_layers {ids}, expected [{layer}]")
        if "tiles" in meta:
            fail("metadata carries tile URLs")
        status, body = fetch(f"{base}/tiles/{layer}.json{qs}")
        if status != 200:
            fail(f"TileJSON {status}: {body[:200]!r}")
        tilejson = json.loads(body)
        if meta.get("data_version") != tilejson["data_version"]:
            fail(f"data version {meta.get('data_version')} but the server is at {tilejson['data_version']}")
        status, body = fetch(f"{base}/api/stats")
        if meta.get("privacy_k") != json.loads(body)["privacy_k"]:
            fail(f"archive made with k={meta.get('privacy_k')}, the server publishes with {json.loads(body)['privacy_k']}")
        if meta.get("query") != query:
            fail(f"metadata query {meta.get('query')!r}, expected {query!r}")
        bounds = [h["min_lon_e7"] / 1e7, h["min_lat_e7"] / 1e7, h["max_lon_e7"] / 1e7, h["max_lat_e7"] / 1e7]
        if any(abs(a - b) > 1e-6 for a, b in zip(bounds, tilejson["bounds"])):
            fail(f"header bounds {bounds}, TileJSON bounds {tilejson['bounds']}")

        found = {}
        features = 0
        for (z, x, y), data in all_tiles(reader.get_bytes):
            if (z, x, y) in found:
                fail(f"tile {z}/{x}/{y} listed twice")
            raw = gzip.decompress(data)
            found[(z, x, y)] = raw
            decoded = mapbox_vector_tile.decode(raw)
            if list(decoded) != [layer] or not decoded[layer]["features"]:
                fail(f"tile {z}/{x}/{y} decodes to layers {list(decoded)} with no features of {layer}")
            features += len(decoded[layer]["features"])
            if reader.get(z, x, y) != data:
                fail(f"tile {z}/{x}/{y} is not found by its id through the directories")
        if h["addressed_tiles_count"] != len(found):
            fail(f"header says {h['addressed_tiles_count']} tiles, the directories hold {len(found)}")
        if not found:
            fail("the archive holds no tile")

        # Every tile over the bounds: the server's answer is the archive's.
        empty = 0
        for z in range(minzoom, maxzoom + 1):
            for z_, x, y in covering(bounds, z):
                status, body = fetch(f"{base}/tiles/{layer}/{z_}/{x}/{y}.mvt{qs}")
                if (z_, x, y) in found:
                    if status != 200 or body != found[(z_, x, y)]:
                        fail(f"tile {z_}/{x}/{y}: the server answers {status} with other bytes")
                else:
                    if status != 204:
                        fail(f"tile {z_}/{x}/{y} is missing from the archive but the server answers {status}")
                    empty += 1
        # Beyond the zoom range there is nothing, even under a tile the archive has.
        deepest = [t for t in found if t[0] == maxzoom]
        if deepest:
            z, x, y = deepest[0]
            if reader.get(z + 1, 2 * x, 2 * y) is not None:
                fail(f"a tile below {z}/{x}/{y}, beyond the zoom range, is found")
        shallowest = [t for t in found if t[0] == minzoom]
        if minzoom > 0 and shallowest:
            z, x, y = shallowest[0]
            if reader.get(z - 1, x // 2, y // 2) is not None:
                fail(f"a tile above {z}/{x}/{y}, beyond the zoom range, is found")
        print(f"ok {layer}{qs}: {len(found)} tiles, {features} features, {empty} empty tiles left out, "
              f"{h['tile_contents_count']} distinct contents")


if __name__ == "__main__":
    main()
