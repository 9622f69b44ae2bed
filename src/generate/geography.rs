//! The ground the demo city stands on: the real Jinan district polygons, a
//! residential density surface over them, and fast exact point-in-district
//! tests.
//!
//! Millions of homes are placed, each of which must lie inside a district
//! polygon (about 8,000 vertices in all). A raster of 0.001° cells (about
//! 90 m × 110 m) classifies every cell as inside one district, outside all,
//! or crossed by a boundary; only points in boundary cells (about 1% of the
//! city) need the exact `geo::Contains` test. A coarser raster of 0.005°
//! cells carries the residential density used to place homes.
//!
//! Coordinates are GCJ-02 degrees like the fixture. Points are kept as whole
//! microdegrees ([`Micro`]) so that what is tested is exactly what is written
//! with six decimals.

use geo::{Contains, Coord, LineString, Point, Polygon};
use serde_json::Value;

use super::GenerateError;
use super::parks::Park;
use super::rng::{Alias, Rng, mix64};

/// The real district boundaries (see `fixtures/regions/README.md`).
pub const JINAN_DISTRICTS: &str = include_str!("../../fixtures/regions/jinan_districts.geojson");

/// Kilometres per degree of latitude (mean, at Jinan's latitude).
pub const KM_PER_DEG_LAT: f64 = 110.95;
/// Kilometres per degree of longitude at the equator.
const KM_PER_DEG_LON_EQUATOR: f64 = 111.32;

/// A point in whole microdegrees: exactly what the files hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Micro {
    pub lon: i32,
    pub lat: i32,
}

impl Micro {
    pub fn from_deg(lon: f64, lat: f64) -> Micro {
        Micro { lon: (lon * 1e6).round() as i32, lat: (lat * 1e6).round() as i32 }
    }

    pub fn lon(self) -> f64 {
        f64::from(self.lon) / 1e6
    }

    pub fn lat(self) -> f64 {
        f64::from(self.lat) / 1e6
    }

    pub fn point(self) -> Point<f64> {
        Point::new(self.lon(), self.lat())
    }
}

/// Kilometres per degree of longitude at latitude `lat`.
pub fn km_per_deg_lon(lat: f64) -> f64 {
    KM_PER_DEG_LON_EQUATOR * lat.to_radians().cos()
}

/// The point `dx` km east and `dy` km north of (lon, lat).
pub fn offset_km(lon: f64, lat: f64, dx: f64, dy: f64) -> (f64, f64) {
    (lon + dx / km_per_deg_lon(lat), lat + dy / KM_PER_DEG_LAT)
}

/// Signed area of a closed ring in square degrees; positive = counter-clockwise.
pub fn signed_area(ring: &[[f64; 2]]) -> f64 {
    ring.windows(2).map(|w| w[0][0] * w[1][1] - w[1][0] * w[0][1]).sum::<f64>() / 2.0
}

/// A real district of the city.
#[derive(Debug, Clone)]
pub struct District {
    /// Administrative code, e.g. `370102`; the region id.
    pub code: String,
    pub name: String,
    /// Rings as in the fixture, grouped by polygon (exterior first).
    pub rings: Vec<Vec<Vec<[f64; 2]>>>,
    pub polygons: Vec<Polygon<f64>>,
    /// min lon, min lat, max lon, max lat
    pub bbox: [f64; 4],
}

impl District {
    pub fn contains(&self, p: Point<f64>) -> bool {
        let [x0, y0, x1, y1] = self.bbox;
        (x0..=x1).contains(&p.x()) && (y0..=y1).contains(&p.y()) && self.polygons.iter().any(|poly| poly.contains(&p))
    }
}

/// Parses the embedded district fixture.
pub fn load_districts() -> Result<Vec<District>, GenerateError> {
    let bad = |m: &str| GenerateError::Fixture(format!("jinan_districts.geojson: {m}"));
    let doc: Value = serde_json::from_str(JINAN_DISTRICTS).map_err(|e| bad(&e.to_string()))?;
    let features = doc["features"].as_array().ok_or_else(|| bad("no features"))?;
    let mut districts = Vec::with_capacity(features.len());
    for f in features {
        let code = match &f["id"] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return Err(bad("feature without id")),
        };
        let name = f["properties"]["name"].as_str().ok_or_else(|| bad("feature without name"))?.to_string();
        let geometry = &f["geometry"];
        let polys: Vec<&Value> = match geometry["type"].as_str() {
            Some("Polygon") => vec![&geometry["coordinates"]],
            Some("MultiPolygon") => geometry["coordinates"].as_array().map(|a| a.iter().collect()).unwrap_or_default(),
            _ => return Err(bad("geometry is not a (multi)polygon")),
        };
        let mut rings = Vec::new();
        for poly in polys {
            let mut poly_rings = Vec::new();
            for ring in poly.as_array().ok_or_else(|| bad("polygon without rings"))? {
                let pts: Vec<[f64; 2]> = ring
                    .as_array()
                    .ok_or_else(|| bad("ring is not an array"))?
                    .iter()
                    .map(|p| match (p[0].as_f64(), p[1].as_f64()) {
                        (Some(x), Some(y)) => Ok([x, y]),
                        _ => Err(bad("coordinate is not a number pair")),
                    })
                    .collect::<Result<_, _>>()?;
                if pts.len() < 4 || pts.first() != pts.last() {
                    return Err(bad("ring is not closed"));
                }
                poly_rings.push(pts);
            }
            if poly_rings.is_empty() {
                return Err(bad("polygon without rings"));
            }
            rings.push(poly_rings);
        }
        let polygons = rings
            .iter()
            .map(|poly| {
                let to_ls =
                    |r: &Vec<[f64; 2]>| LineString::from(r.iter().map(|&[x, y]| Coord { x, y }).collect::<Vec<_>>());
                Polygon::new(to_ls(&poly[0]), poly[1..].iter().map(to_ls).collect())
            })
            .collect();
        let mut bbox = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
        for &[x, y] in rings.iter().flatten().flatten() {
            bbox = [bbox[0].min(x), bbox[1].min(y), bbox[2].max(x), bbox[3].max(y)];
        }
        districts.push(District { code, name, rings, polygons, bbox });
    }
    if districts.is_empty() {
        return Err(bad("no districts"));
    }
    Ok(districts)
}

/// A residential cluster: an anisotropic Gaussian bump of housing density.
struct Cluster {
    lon: f64,
    lat: f64,
    /// Standard deviations east–west and north–south, km.
    sx: f64,
    sy: f64,
    weight: f64,
}

/// Where people live: the old city and its east–west belt between the
/// southern hills and the Yellow River, the new towns east and west, the
/// university town in Changqing and the county seats.
const RESIDENTIAL: &[Cluster] = &[
    Cluster { lon: 117.020, lat: 36.665, sx: 5.0, sy: 3.0, weight: 1.00 }, // old city around Quancheng Square
    Cluster { lon: 117.030, lat: 36.672, sx: 14.0, sy: 4.5, weight: 0.40 }, // east–west urban belt
    Cluster { lon: 116.905, lat: 36.662, sx: 4.0, sy: 3.0, weight: 0.35 }, // Huaiyin / West Station new town
    Cluster { lon: 117.165, lat: 36.680, sx: 5.0, sy: 3.5, weight: 0.35 }, // high-tech zone / Hanyu
    Cluster { lon: 117.115, lat: 36.718, sx: 3.5, sy: 2.5, weight: 0.25 }, // Wangsheren, north Licheng
    Cluster { lon: 116.985, lat: 36.705, sx: 3.0, sy: 2.0, weight: 0.30 }, // Tianqiao north of the station
    Cluster { lon: 116.985, lat: 36.640, sx: 3.5, sy: 2.5, weight: 0.45 }, // Shizhong, Jingsi Road to the hills
    Cluster { lon: 117.005, lat: 36.615, sx: 2.0, sy: 2.0, weight: 0.25 }, // Erqi / Yingxiongshan
    Cluster { lon: 117.260, lat: 36.690, sx: 3.0, sy: 2.5, weight: 0.18 }, // Tangye new town
    Cluster { lon: 117.525, lat: 36.705, sx: 3.5, sy: 3.0, weight: 0.30 }, // Zhangqiu (Mingshui)
    Cluster { lon: 116.755, lat: 36.560, sx: 3.0, sy: 3.0, weight: 0.25 }, // Changqing seat
    Cluster { lon: 116.805, lat: 36.548, sx: 2.5, sy: 2.0, weight: 0.30 }, // university town
    Cluster { lon: 117.170, lat: 36.975, sx: 3.0, sy: 3.0, weight: 0.22 }, // Jiyang seat
    Cluster { lon: 117.150, lat: 37.310, sx: 2.5, sy: 2.5, weight: 0.18 }, // Shanghe seat
    Cluster { lon: 116.450, lat: 36.285, sx: 2.5, sy: 2.5, weight: 0.18 }, // Pingyin seat
    Cluster { lon: 117.010, lat: 36.775, sx: 3.0, sy: 2.5, weight: 0.10 }, // north of the river
    Cluster { lon: 117.220, lat: 36.870, sx: 2.5, sy: 2.5, weight: 0.08 }, // Yaoqiang
];

/// Housing density outside all clusters (villages), relative to the centre.
const RURAL_DENSITY: f64 = 0.012;
/// Residential density inside park polygons relative to outside (industrial land).
const PARK_RESIDENTIAL_FACTOR: f64 = 0.15;

/// Side of a density cell in degrees (about 450 m × 550 m).
const CELL: f64 = 0.005;
/// Membership cells per density cell side: membership is classified on a
/// finer raster (0.001°, about 90 m × 110 m) so that few points need the
/// exact polygon test.
const FINE: usize = 5;
const BOUNDARY: u8 = 254;
const OUTSIDE: u8 = 255;

/// Rasters of district membership and residential density.
pub struct Grid {
    lon0: f64,
    lat0: f64,
    /// Density cells east–west and north–south.
    nx: usize,
    ny: usize,
    /// Membership per fine cell (`nx * FINE` × `ny * FINE`): a district
    /// index, `BOUNDARY` or `OUTSIDE`.
    class: Vec<u8>,
    density: Vec<f32>,
    cells: Alias,
}

impl Grid {
    /// Rasterises the districts and computes the residential surface. Parks
    /// lower housing density inside them and add worker housing next to them.
    pub fn build(districts: &[District], parks: &[Park], seed: u64) -> Result<Grid, GenerateError> {
        if districts.len() >= BOUNDARY as usize {
            return Err(GenerateError::Fixture("too many districts".into()));
        }
        let mut bbox = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
        for d in districts {
            bbox = [bbox[0].min(d.bbox[0]), bbox[1].min(d.bbox[1]), bbox[2].max(d.bbox[2]), bbox[3].max(d.bbox[3])];
        }
        let lon0 = ((bbox[0] / CELL).floor() - 2.0) * CELL;
        let lat0 = ((bbox[1] / CELL).floor() - 2.0) * CELL;
        let nx = ((bbox[2] - lon0) / CELL).ceil() as usize + 2;
        let ny = ((bbox[3] - lat0) / CELL).ceil() as usize + 2;
        let class = classify(districts, lon0, lat0, nx * FINE, ny * FINE);

        let fnx = nx * FINE;
        let mut density = vec![0f32; nx * ny];
        for j in 0..ny {
            let lat = lat0 + (j as f64 + 0.5) * CELL;
            for i in 0..nx {
                let inside =
                    (0..FINE).any(|fj| (0..FINE).any(|fi| class[(j * FINE + fj) * fnx + i * FINE + fi] != OUTSIDE));
                if inside {
                    let lon = lon0 + (i as f64 + 0.5) * CELL;
                    density[j * nx + i] = residential_density(lon, lat, parks, seed) as f32;
                }
            }
        }
        let cells = Alias::new(&density.iter().map(|&v| f64::from(v)).collect::<Vec<_>>())
            .ok_or_else(|| GenerateError::Fixture("districts cover no grid cell".into()))?;
        Ok(Grid { lon0, lat0, nx, ny, class, density, cells })
    }

    /// Index of the cell of side `size` degrees containing `m`, in a raster
    /// of `w` × `h` such cells.
    fn index(&self, m: Micro, size: f64, w: usize, h: usize) -> Option<usize> {
        let i = ((m.lon() - self.lon0) / size).floor();
        let j = ((m.lat() - self.lat0) / size).floor();
        if i < 0.0 || j < 0.0 || i >= w as f64 || j >= h as f64 {
            return None;
        }
        Some(j as usize * w + i as usize)
    }

    /// Residential density at a point, relative; 0 outside the city.
    pub fn density_at(&self, m: Micro) -> f64 {
        self.index(m, CELL, self.nx, self.ny).map_or(0.0, |c| f64::from(self.density[c]))
    }

    /// The district containing the point (exact, `geo::Contains`), if any.
    pub fn district_of(&self, districts: &[District], m: Micro) -> Option<usize> {
        let c = self.index(m, CELL / FINE as f64, self.nx * FINE, self.ny * FINE)?;
        match self.class[c] {
            OUTSIDE => None,
            BOUNDARY => {
                let p = m.point();
                districts.iter().position(|d| d.contains(p))
            }
            d => Some(d as usize),
        }
    }

    /// A home anywhere in the city, drawn from the residential density.
    pub fn sample_home(&self, rng: &mut Rng, districts: &[District]) -> (Micro, usize) {
        loop {
            let c = self.cells.sample(rng);
            let (i, j) = (c % self.nx, c / self.nx);
            let lon = self.lon0 + (i as f64 + rng.f64()) * CELL;
            let lat = self.lat0 + (j as f64 + rng.f64()) * CELL;
            let m = Micro::from_deg(lon, lat);
            if let Some(d) = self.district_of(districts, m) {
                return (m, d);
            }
        }
    }
}

/// District membership of a `w` × `h` raster of cells of side
/// `CELL / FINE` from (lon0, lat0). A cell no edge can touch takes the
/// district of its centre (found by scanline); any other is `BOUNDARY`.
fn classify(districts: &[District], lon0: f64, lat0: f64, w: usize, h: usize) -> Vec<u8> {
    let size = CELL / FINE as f64;
    let mut class = vec![OUTSIDE; w * h];
    let mut xs: Vec<f64> = Vec::new();
    for (di, d) in districts.iter().enumerate() {
        for poly in &d.rings {
            let edges: Vec<[f64; 4]> =
                poly.iter().flat_map(|r| r.windows(2).map(|w| [w[0][0], w[0][1], w[1][0], w[1][1]])).collect();
            let j0 = ((d.bbox[1] - lat0) / size).floor().max(0.0) as usize;
            let j1 = (((d.bbox[3] - lat0) / size).ceil() as usize).min(h - 1);
            for j in j0..=j1 {
                let y = lat0 + (j as f64 + 0.5) * size;
                xs.clear();
                for &[x1, y1, x2, y2] in &edges {
                    if (y1 > y) != (y2 > y) {
                        xs.push(x1 + (y - y1) * (x2 - x1) / (y2 - y1));
                    }
                }
                xs.sort_by(f64::total_cmp);
                for pair in xs.chunks_exact(2) {
                    let i0 = ((pair[0] - lon0) / size - 0.5).ceil().max(0.0) as usize;
                    let i1 = ((pair[1] - lon0) / size - 0.5).floor();
                    if i1 < 0.0 {
                        continue;
                    }
                    let i1 = (i1 as usize).min(w - 1);
                    if i0 <= i1 {
                        class[j * w + i0..=j * w + i1].fill(di as u8);
                    }
                }
            }
        }
    }
    // Any cell an edge may touch is a boundary cell (conservatively).
    const EPS: f64 = 1e-7;
    let clamp = |v: f64, n: usize| (v.floor().max(0.0) as usize).min(n - 1);
    for ring in districts.iter().flat_map(|d| d.rings.iter().flatten()) {
        for e in ring.windows(2) {
            let (ax, bx) = (e[0][0].min(e[1][0]) - EPS, e[0][0].max(e[1][0]) + EPS);
            let (ay, by) = (e[0][1].min(e[1][1]) - EPS, e[0][1].max(e[1][1]) + EPS);
            for j in clamp((ay - lat0) / size, h)..=clamp((by - lat0) / size, h) {
                for i in clamp((ax - lon0) / size, w)..=clamp((bx - lon0) / size, w) {
                    class[j * w + i] = BOUNDARY;
                }
            }
        }
    }
    class
}

/// Relative housing density at a point (before the inside/outside mask).
fn residential_density(lon: f64, lat: f64, parks: &[Park], seed: u64) -> f64 {
    let kx = km_per_deg_lon(lat);
    let bump = |clon: f64, clat: f64, sx: f64, sy: f64| {
        let dx = (lon - clon) * kx / sx;
        let dy = (lat - clat) * KM_PER_DEG_LAT / sy;
        (-0.5 * (dx * dx + dy * dy)).exp()
    };
    let mut r = RURAL_DENSITY;
    for c in RESIDENTIAL {
        r += c.weight * bump(c.lon, c.lat, c.sx, c.sy);
    }
    for p in parks {
        // Worker housing (人才公寓, new estates) a couple of km from each park.
        r += 0.12 * bump(p.housing.0, p.housing.1, 1.8, 1.8);
    }
    // Texture: neighbourhoods, green space, water and hills make housing
    // patchy at the 1–2 km scale.
    r *= (0.35 + 1.3 * value_noise(seed, lon / 0.02, lat / 0.02))
        * (0.6 + 0.8 * value_noise(seed ^ 0x5EED, lon / 0.007, lat / 0.007));
    let pt = Point::new(lon, lat);
    if parks.iter().any(|p| p.contains(pt)) {
        r *= PARK_RESIDENTIAL_FACTOR;
    }
    r
}

/// Smooth 2-D value noise in [0, 1] on an integer lattice.
fn value_noise(seed: u64, x: f64, y: f64) -> f64 {
    let (fx, fy) = (x.floor(), y.floor());
    let (tx, ty) = (x - fx, y - fy);
    let (sx, sy) = (tx * tx * (3.0 - 2.0 * tx), ty * ty * (3.0 - 2.0 * ty));
    let (ix, iy) = (fx as i64, fy as i64);
    let h = |i: i64, j: i64| {
        let s = mix64(
            seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (j as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F),
        );
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let top = h(ix, iy) * (1.0 - sx) + h(ix + 1, iy) * sx;
    let bottom = h(ix, iy + 1) * (1.0 - sx) + h(ix + 1, iy + 1) * sx;
    top * (1.0 - sy) + bottom * sy
}
