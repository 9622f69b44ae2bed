//! The synthetic industrial parks of the demo city.
//!
//! Jinan's real parks have no open boundary data, so the demo city lays out
//! eight parks of the kinds the city really has (software park, pharma
//! valley, materials park, county development zone, airport economic zone,
//! bonded zone, new-energy vehicle park, an AI/innovation valley) at
//! plausible places, each a small convex-ish polygon inside one real
//! district. Centres and sizes are fixed so the story stays the same
//! (e.g. the innovation valley has many young workers and no metro); the
//! outline wobbles with the seed.

use geo::{Contains, Coord, LineString, Point, Polygon};

use super::GenerateError;
use super::geography::{District, Micro, offset_km};
use super::rng::Rng;

/// What a park is for; selects its industry mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParkKind {
    Software,
    InnovationValley,
    Pharma,
    Materials,
    DevelopmentZone,
    Airport,
    Bonded,
    Vehicles,
}

struct ParkDef {
    id: &'static str,
    name: &'static str,
    district: &'static str,
    lon: f64,
    lat: f64,
    area_km2: f64,
    /// Long axis ÷ short axis, and the long axis' angle from east in degrees.
    aspect: f64,
    angle: f64,
    kind: ParkKind,
    /// Multiplier on the typical age above 22 of the park's workers.
    youth: f64,
    /// Share of all park enterprises located here.
    share: f64,
    /// Where the park's worker housing lies, km east and north of the centre.
    housing: (f64, f64),
}

const PARKS: &[ParkDef] = &[
    ParkDef {
        id: "park-qilu-software",
        name: "齐鲁软件园",
        district: "370102",
        lon: 117.121,
        lat: 36.683,
        area_km2: 7.0,
        aspect: 1.25,
        angle: 70.0,
        kind: ParkKind::Software,
        youth: 0.75,
        share: 0.22,
        housing: (1.5, 3.0),
    },
    ParkDef {
        id: "park-innovation-valley",
        name: "济南创新谷",
        district: "370112",
        lon: 117.255,
        lat: 36.712,
        area_km2: 7.0,
        aspect: 1.3,
        angle: -20.0,
        kind: ParkKind::InnovationValley,
        youth: 0.62,
        share: 0.14,
        housing: (0.5, -3.0),
    },
    ParkDef {
        id: "park-jinan-yaogu",
        name: "济南药谷",
        district: "370112",
        lon: 117.205,
        lat: 36.680,
        area_km2: 5.0,
        aspect: 1.2,
        angle: 30.0,
        kind: ParkKind::Pharma,
        youth: 0.9,
        share: 0.12,
        housing: (-1.0, -2.5),
    },
    ParkDef {
        id: "park-new-materials",
        name: "新材料产业园",
        district: "370125",
        lon: 117.100,
        lat: 36.850,
        area_km2: 10.0,
        aspect: 1.6,
        angle: 25.0,
        kind: ParkKind::Materials,
        youth: 1.05,
        share: 0.12,
        housing: (2.5, 3.0),
    },
    ParkDef {
        id: "park-mingshui-edz",
        name: "明水经济开发区",
        district: "370181",
        lon: 117.540,
        lat: 36.720,
        area_km2: 14.0,
        aspect: 1.5,
        angle: 0.0,
        kind: ParkKind::DevelopmentZone,
        youth: 1.0,
        share: 0.14,
        housing: (-2.0, -2.0),
    },
    ParkDef {
        id: "park-airport-economy",
        name: "临空经济区",
        district: "370112",
        lon: 117.245,
        lat: 36.835,
        area_km2: 12.0,
        aspect: 1.4,
        angle: 60.0,
        kind: ParkKind::Airport,
        youth: 0.95,
        share: 0.09,
        housing: (-2.5, 2.0),
    },
    ParkDef {
        id: "park-bonded-zone",
        name: "济南综合保税区",
        district: "370112",
        lon: 117.305,
        lat: 36.680,
        area_km2: 5.0,
        aspect: 1.3,
        angle: -10.0,
        kind: ParkKind::Bonded,
        youth: 0.9,
        share: 0.07,
        housing: (-2.0, 2.0),
    },
    ParkDef {
        id: "park-nev-industry",
        name: "新能源汽车产业园",
        district: "370105",
        lon: 117.020,
        lat: 36.800,
        area_km2: 12.0,
        aspect: 1.5,
        angle: 15.0,
        kind: ParkKind::Vehicles,
        youth: 0.95,
        share: 0.10,
        housing: (-2.5, -2.0),
    },
];

/// A park as laid out for this seed.
#[derive(Debug, Clone)]
pub struct Park {
    pub id: &'static str,
    pub name: &'static str,
    pub kind: ParkKind,
    /// Closed, counter-clockwise ring.
    pub ring: Vec<Micro>,
    pub polygon: Polygon<f64>,
    bbox: [f64; 4],
    pub youth: f64,
    pub share: f64,
    /// Centre of the park's worker housing (lon, lat).
    pub housing: (f64, f64),
}

impl Park {
    pub fn contains(&self, p: Point<f64>) -> bool {
        let [x0, y0, x1, y1] = self.bbox;
        (x0..=x1).contains(&p.x()) && (y0..=y1).contains(&p.y()) && self.polygon.contains(&p)
    }

    /// A uniformly distributed point inside the park.
    pub fn sample(&self, rng: &mut Rng) -> Micro {
        let [x0, y0, x1, y1] = self.bbox;
        loop {
            let m = Micro::from_deg(rng.range(x0, x1), rng.range(y0, y1));
            if self.polygon.contains(&m.point()) {
                return m;
            }
        }
    }
}

/// Lays out the parks; each must fall entirely inside its district.
pub fn build_parks(districts: &[District], rng: &mut Rng) -> Result<Vec<Park>, GenerateError> {
    let mut parks = Vec::with_capacity(PARKS.len());
    for def in PARKS {
        let district = districts.iter().position(|d| d.code == def.district).ok_or_else(|| {
            GenerateError::Fixture(format!("park {} refers to missing district {}", def.id, def.district))
        })?;
        let n = 9 + rng.below(4) as usize;
        let step = std::f64::consts::TAU / n as f64;
        let angles: Vec<f64> = (0..n).map(|k| k as f64 * step + rng.range(-0.25, 0.25) * step).collect();
        let radii: Vec<f64> = (0..n).map(|_| rng.range(0.92, 1.08)).collect();
        let mut scale = 1.0;
        let park = loop {
            let a = (def.area_km2 * def.aspect / std::f64::consts::PI).sqrt() * scale;
            let b = def.area_km2 / (std::f64::consts::PI * a) * scale * scale;
            let rot = def.angle.to_radians();
            let mut ring: Vec<Micro> = angles
                .iter()
                .zip(&radii)
                .map(|(&t, &k)| {
                    let (ex, ey) = (a * t.cos() * k, b * t.sin() * k);
                    let (dx, dy) = (ex * rot.cos() - ey * rot.sin(), ex * rot.sin() + ey * rot.cos());
                    let (lon, lat) = offset_km(def.lon, def.lat, dx, dy);
                    Micro::from_deg(lon, lat)
                })
                .collect();
            ring.push(ring[0]);
            let polygon = Polygon::new(
                LineString::from(ring.iter().map(|m| Coord { x: m.lon(), y: m.lat() }).collect::<Vec<_>>()),
                vec![],
            );
            if districts[district].polygons.iter().any(|p| p.contains(&polygon)) {
                let mut bbox = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
                for m in &ring {
                    bbox = [bbox[0].min(m.lon()), bbox[1].min(m.lat()), bbox[2].max(m.lon()), bbox[3].max(m.lat())];
                }
                let housing = offset_km(def.lon, def.lat, def.housing.0, def.housing.1);
                break Park {
                    id: def.id,
                    name: def.name,
                    kind: def.kind,
                    ring,
                    polygon,
                    bbox,
                    youth: def.youth,
                    share: def.share,
                    housing,
                };
            }
            scale *= 0.9;
            if scale < 0.4 {
                return Err(GenerateError::Fixture(format!(
                    "park {} does not fit inside district {}",
                    def.id, def.district
                )));
            }
        };
        parks.push(park);
    }
    Ok(parks)
}
