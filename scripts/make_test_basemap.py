"""Writes fixtures/basemap/jinan-test.pmtiles: a small vector basemap in the
OpenMapTiles schema for the tests, made without talentmap's own code (tiles
encoded by `mapbox-vector-tile`, the archive by the `pmtiles` package).

Its content is synthetic except the district boundaries and names (the real
Jinan districts of fixtures/regions): a `water` polygon and a `waterway`
line standing for a river, a ring road and radial roads in `transportation`,
`landuse` around the district label points, `building` blocks at zoom 14 and
`place` points with each district's name. It is a test fixture, not a map of
Jinan: a real basemap is made from OpenStreetMap (docs/basemap.md).

    tests/contract/.venv/bin/python scripts/make_test_basemap.py
"""

import gzip
import json
import math
from pathlib import Path

import mapbox_vector_tile
import numpy as np
import shapely
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import write
from shapely.geometry import LineString, Point, box, shape

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "fixtures" / "basemap" / "jinan-test.pmtiles"
MINZOOM, MAXZOOM = 6, 14
WEST, SOUTH, EAST, NORTH = 116.75, 36.45, 117.35, 36.85  # the city centre


def merc(lon, lat):
    x = (lon + 180.0) / 360.0
    s = math.sin(math.radians(lat))
    y = 0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)
    return x, y


def to_unit(geom):
    def project(c):
        s = np.sin(np.radians(c[:, 1]))
        return np.column_stack(((c[:, 0] + 180.0) / 360.0, 0.5 - np.log((1 + s) / (1 - s)) / (4 * math.pi)))

    return shapely.transform(geom, project)


def features():
    districts = json.loads((ROOT / "fixtures" / "regions" / "jinan_districts.geojson").read_text())
    out = {"water": [], "waterway": [], "transportation": [], "landuse": [], "building": [], "place": [], "boundary": []}
    river = LineString([(116.75, 36.74), (116.9, 36.72), (117.02, 36.73), (117.15, 36.76), (117.35, 36.79)])
    out["waterway"].append((river, {"class": "river", "name": "测试河", "name:zh": "测试河"}, 6))
    out["water"].append((river.buffer(0.004), {"class": "river"}, 6))
    ring = Point(117.02, 36.66).buffer(0.09, quad_segs=16).exterior
    out["transportation"].append((ring, {"class": "motorway"}, 6))
    for angle in range(0, 360, 45):
        a = math.radians(angle)
        road = LineString([(117.02, 36.66), (117.02 + 0.25 * math.cos(a), 36.66 + 0.2 * math.sin(a))])
        out["transportation"].append((road, {"class": "primary"}, 8))
    for f in districts["features"]:
        name = f["properties"]["name"]
        cp = f["properties"].get("cp")
        out["boundary"].append((shape(f["geometry"]).exterior if f["geometry"]["type"] == "Polygon" else shape(f["geometry"]).boundary, {"admin_level": 6}, 6))
        if cp and WEST <= cp[0] <= EAST and SOUTH <= cp[1] <= NORTH:
            p = Point(cp)
            out["place"].append((p, {"class": "suburb", "name": name, "name:zh": name}, 8))
            out["landuse"].append((p.buffer(0.012), {"class": "residential"}, 10))
            for i in range(-2, 3):
                for j in range(-2, 3):
                    x, y = cp[0] + i * 0.0015, cp[1] + j * 0.0012
                    out["building"].append((box(x, y, x + 0.0008, y + 0.0006), {"render_height": 20}, 14))
    return {layer: [(to_unit(g), props, z) for g, props, z in items] for layer, items in out.items()}


def tiles_of(z):
    n = 2**z
    x0, y0 = merc(WEST, NORTH)
    x1, y1 = merc(EAST, SOUTH)
    for x in range(int(x0 * n), int(x1 * n) + 1):
        for y in range(int(y0 * n), int(y1 * n) + 1):
            yield x, y


def encode(layers, z, x, y):
    n = 2**z
    size = 1.0 / n
    minx, miny = x * size, y * size
    pad = size * 64 / 4096
    clip = box(minx - pad, miny - pad, minx + size + pad, miny + size + pad)
    out = []
    for name, items in layers.items():
        feats = []
        for geom, props, minzoom in items:
            if z < minzoom or not geom.intersects(clip):
                continue
            g = geom.intersection(clip)
            if g.is_empty:
                continue
            # Tile coordinates, y down.
            g = shapely.transform(g, lambda c: (c - np.array([minx, miny])) / size * 4096)
            feats.append({"geometry": g.wkt, "properties": props})
        if feats:
            out.append({"name": name, "features": feats})
    if not out:
        return None
    return mapbox_vector_tile.encode(out, default_options={"y_coord_down": True, "extents": 4096})


def main():
    layers = features()
    tiles = []
    for z in range(MINZOOM, MAXZOOM + 1):
        for x, y in tiles_of(z):
            data = encode(layers, z, x, y)
            if data:
                tiles.append((zxy_to_tileid(z, x, y), gzip.compress(data, mtime=0)))
    tiles.sort()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with write(str(OUT)) as w:
        for tid, data in tiles:
            w.write_tile(tid, data)
        e7 = lambda v: int(round(v * 1e7))
        w.finalize(
            {
                "tile_type": TileType.MVT,
                "tile_compression": Compression.GZIP,
                "min_zoom": MINZOOM,
                "max_zoom": MAXZOOM,
                "min_lon_e7": e7(WEST),
                "min_lat_e7": e7(SOUTH),
                "max_lon_e7": e7(EAST),
                "max_lat_e7": e7(NORTH),
                "center_zoom": 10,
                "center_lon_e7": e7((WEST + EAST) / 2),
                "center_lat_e7": e7((SOUTH + NORTH) / 2),
            },
            {
                "name": "jinan-test",
                "attribution": "synthetic test basemap; district boundaries: echarts-china-cities (MIT)",
                "vector_layers": [{"id": name, "fields": {}} for name in layers],
            },
        )
    print(f"{OUT}: {len(tiles)} tiles, {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
