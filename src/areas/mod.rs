//! Study areas: shapes a planner draws on the map or uploads — a polygon, a
//! circle around a point, a corridor around a line — kept in the store under
//! the principal who made them and analysed like a district or a park
//! (`docs/areas.md`).
//!
//! [`parse`] turns a GeoJSON Feature into a checked [`Shape`]: every position
//! a finite longitude/latitude, rings closed and simple (geo's validation),
//! circles and corridors buffered into polygons here, in metres, on a local
//! equirectangular plane around the shape (error under 0.1 % at city
//! scale). [`footprint`] resolves a shape against a snapshot into the grid
//! cells its talent numbers are counted over.

pub mod footprint;
pub mod store;

use geo::{BoundingRect, Buffer, Validation};
use geo::{Coord, LineString, MultiPolygon, Point, Polygon};
use serde::{Deserialize, Serialize};

pub use footprint::Footprint;

use crate::snapshot::moves::cell_code;
use crate::snapshot::{EnterpriseRec, NONE16, TalentRec};

/// Most positions a study area may have, after buffering.
pub const MAX_POSITIONS: usize = 20_000;
/// Circle radius and corridor half-width bounds, metres.
pub const MIN_RADIUS_M: f64 = 50.0;
pub const MAX_RADIUS_M: f64 = 50_000.0;
/// Longest name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Largest study area, km² (a province-sized drawing is a mistake).
pub const MAX_AREA_KM2: f64 = 50_000.0;

/// How a study area was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ShapeKind {
    /// A Polygon or MultiPolygon, drawn or uploaded.
    Polygon,
    /// A Point with `radius_m`.
    Circle,
    /// A LineString with `buffer_m`: everything within that distance of the line.
    Corridor,
}

impl ShapeKind {
    pub fn code(self) -> &'static str {
        match self {
            ShapeKind::Polygon => "polygon",
            ShapeKind::Circle => "circle",
            ShapeKind::Corridor => "corridor",
        }
    }

    pub fn from_code(code: &str) -> Option<ShapeKind> {
        [ShapeKind::Polygon, ShapeKind::Circle, ShapeKind::Corridor].into_iter().find(|k| k.code() == code)
    }
}

/// A checked study-area shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    pub name: String,
    pub kind: ShapeKind,
    /// The area as polygons (circles and corridors already buffered).
    pub geometry: MultiPolygon<f64>,
    /// What was drawn: the centre and radius of a circle, the line and
    /// half-width of a corridor (kept so the page can show and edit it).
    pub drawn: Option<Drawn>,
}

/// The drawn input of a circle or corridor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drawn {
    /// `[lon, lat]` positions: one for a circle, the line for a corridor.
    pub positions: Vec<[f64; 2]>,
    pub distance_m: f64,
}

/// A study area as kept.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyArea {
    /// `sa_` and 32 hex digits: unguessable, so a link to it is the share.
    pub id: String,
    /// The principal who made it (`user:NAME`, `key:ID`).
    pub owner: String,
    pub shape: Shape,
    /// RFC 3339, UTC.
    pub created: String,
}

impl StudyArea {
    /// Area in km² (geodesic).
    pub fn km2(&self) -> f64 {
        km2(&self.shape.geometry)
    }

    /// `[west, south, east, north]`.
    pub fn bbox(&self) -> [f64; 4] {
        bbox(&self.shape.geometry)
    }
}

/// `g` as a GeoJSON geometry.
pub fn geometry_of(g: &MultiPolygon<f64>) -> geojson::Geometry {
    geojson::Geometry::new(geojson::GeometryValue::from(g))
}

/// Geodesic area of `g` in km², whichever way its rings run (the geodesic
/// area of a clockwise shell is the rest of the globe).
pub fn km2(g: &MultiPolygon<f64>) -> f64 {
    use geo::GeodesicArea;
    use geo::orient::{Direction, Orient};
    g.orient(Direction::Default).geodesic_area_unsigned() / 1e6
}

/// `[west, south, east, north]` of `g` (zeros when empty).
pub fn bbox(g: &MultiPolygon<f64>) -> [f64; 4] {
    g.bounding_rect().map_or([0.0; 4], |r| [r.min().x, r.min().y, r.max().x, r.max().y])
}

/// A study area refused: which part of the input and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ShapeError {
    /// Where in the Feature: `geometry.coordinates[0][3]`, `properties.radius_m`.
    pub path: String,
    pub message: String,
}

fn refuse(path: impl Into<String>, message: impl Into<String>) -> ShapeError {
    ShapeError { path: path.into(), message: message.into() }
}

/// The properties a study-area Feature may carry.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShapeProperties {
    /// 1–100 characters.
    pub name: Option<String>,
    /// A circle's radius (with a Point geometry), 50–50,000 m.
    pub radius_m: Option<f64>,
    /// A corridor's half-width (with a LineString geometry), 50–50,000 m.
    pub buffer_m: Option<f64>,
}

/// Checks a Feature's geometry and properties and builds the shape.
/// `city` is the city's `[west, south, east, north]`: an area must overlap it.
pub fn parse(
    geometry: &geojson::Geometry,
    props: &ShapeProperties,
    city: Option<[f64; 4]>,
) -> Result<Shape, ShapeError> {
    let name = props.name.as_deref().map(str::trim).unwrap_or_default().to_string();
    if name.is_empty() {
        return Err(refuse("properties.name", "required: 1–100 characters"));
    }
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(refuse("properties.name", "1–100 characters, no control characters"));
    }
    let distance = |field: &str, v: Option<f64>| -> Result<f64, ShapeError> {
        let path = format!("properties.{field}");
        let v =
            v.ok_or_else(|| refuse(&path, format!("required with this geometry: {MIN_RADIUS_M}–{MAX_RADIUS_M} m")))?;
        if !(MIN_RADIUS_M..=MAX_RADIUS_M).contains(&v) {
            return Err(refuse(&path, format!("{v} is outside {MIN_RADIUS_M}–{MAX_RADIUS_M} m")));
        }
        Ok(v)
    };
    let unexpected = |field: &str, v: Option<f64>, kind: &str| match v {
        Some(_) => Err(refuse(format!("properties.{field}"), format!("not taken with a {kind} geometry"))),
        None => Ok(()),
    };
    use geojson::GeometryValue as V;
    let (kind, geometry, drawn) = match &geometry.value {
        V::Polygon { coordinates: rings } => {
            unexpected("radius_m", props.radius_m, "Polygon")?;
            unexpected("buffer_m", props.buffer_m, "Polygon")?;
            (ShapeKind::Polygon, MultiPolygon(vec![polygon(rings, "geometry.coordinates")?]), None)
        }
        V::MultiPolygon { coordinates: polys } => {
            unexpected("radius_m", props.radius_m, "MultiPolygon")?;
            unexpected("buffer_m", props.buffer_m, "MultiPolygon")?;
            if polys.is_empty() {
                return Err(refuse("geometry.coordinates", "a MultiPolygon needs at least one polygon"));
            }
            let polys = polys
                .iter()
                .enumerate()
                .map(|(i, rings)| polygon(rings, &format!("geometry.coordinates[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            (ShapeKind::Polygon, MultiPolygon(polys), None)
        }
        V::Point { coordinates: p } => {
            unexpected("buffer_m", props.buffer_m, "Point")?;
            let r = distance("radius_m", props.radius_m)?;
            let c = position(p, "geometry.coordinates")?;
            let drawn = Drawn { positions: vec![[c.x, c.y]], distance_m: r };
            (ShapeKind::Circle, buffered(&geo::Geometry::Point(Point(c)), c, r), Some(drawn))
        }
        V::LineString { coordinates: line } => {
            unexpected("radius_m", props.radius_m, "LineString")?;
            let r = distance("buffer_m", props.buffer_m)?;
            if line.len() < 2 {
                return Err(refuse("geometry.coordinates", "a LineString needs at least two positions"));
            }
            let coords = line
                .iter()
                .enumerate()
                .map(|(i, p)| position(p, &format!("geometry.coordinates[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            let centre = mean(&coords);
            let drawn = Drawn { positions: coords.iter().map(|c| [c.x, c.y]).collect(), distance_m: r };
            (ShapeKind::Corridor, buffered(&geo::Geometry::LineString(LineString(coords)), centre, r), Some(drawn))
        }
        _ => {
            return Err(refuse(
                "geometry.type",
                "accepted: Polygon, MultiPolygon, Point (with properties.radius_m), LineString (with properties.buffer_m)",
            ));
        }
    };
    // RFC 7946's winding (shells counter-clockwise, holes clockwise),
    // whichever way the rings were drawn.
    let geometry = {
        use geo::orient::{Direction, Orient};
        geometry.orient(Direction::Default)
    };
    let positions: usize =
        geometry.0.iter().map(|p| p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>()).sum();
    if positions > MAX_POSITIONS {
        return Err(refuse("geometry", format!("{positions} positions; at most {MAX_POSITIONS} (simplify the shape)")));
    }
    if kind == ShapeKind::Polygon
        && let Some(problem) = geometry.validation_errors().first()
    {
        return Err(refuse("geometry", format!("not a valid polygon: {problem}")));
    }
    let size = km2(&geometry);
    if size <= 0.0 {
        return Err(refuse("geometry", "the area is empty"));
    }
    if size > MAX_AREA_KM2 {
        return Err(refuse("geometry", format!("{size:.0} km²; at most {MAX_AREA_KM2:.0} km²")));
    }
    if let Some(city) = city {
        let b = bbox(&geometry);
        if b[2] < city[0] || b[0] > city[2] || b[3] < city[1] || b[1] > city[3] {
            return Err(refuse(
                "geometry",
                format!(
                    "the area lies outside the city (longitude {:.4}–{:.4}, latitude {:.4}–{:.4})",
                    city[0], city[2], city[1], city[3]
                ),
            ));
        }
    }
    Ok(Shape { name, kind, geometry, drawn })
}

/// A checked position.
fn position(p: &geojson::Position, path: &str) -> Result<Coord<f64>, ShapeError> {
    let p = p.as_slice();
    if p.len() < 2 || p.len() > 3 {
        return Err(refuse(path, format!("a position is [longitude, latitude]; found {} numbers", p.len())));
    }
    let (lon, lat) = (p[0], p[1]);
    if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
        return Err(refuse(path, format!("longitude {lon} is outside −180…180")));
    }
    if !lat.is_finite() || !(-85.0..=85.0).contains(&lat) {
        return Err(refuse(path, format!("latitude {lat} is outside −85…85 (Web Mercator)")));
    }
    Ok(Coord { x: lon, y: lat })
}

/// A checked polygon: closed rings of at least four positions.
fn polygon(rings: &[Vec<geojson::Position>], path: &str) -> Result<Polygon<f64>, ShapeError> {
    if rings.is_empty() {
        return Err(refuse(path, "a polygon needs an exterior ring"));
    }
    let mut out = Vec::with_capacity(rings.len());
    for (r, ring) in rings.iter().enumerate() {
        let rpath = format!("{path}[{r}]");
        if ring.len() < 4 {
            return Err(refuse(&rpath, format!("a ring needs at least 4 positions (closed); found {}", ring.len())));
        }
        let coords = ring
            .iter()
            .enumerate()
            .map(|(i, p)| position(p, &format!("{rpath}[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        if coords.first() != coords.last() {
            return Err(refuse(&rpath, "the ring is not closed: its last position must repeat the first"));
        }
        out.push(LineString(coords));
    }
    let exterior = out.remove(0);
    Ok(Polygon::new(exterior, out))
}

fn mean(c: &[Coord<f64>]) -> Coord<f64> {
    let n = c.len().max(1) as f64;
    Coord { x: c.iter().map(|p| p.x).sum::<f64>() / n, y: c.iter().map(|p| p.y).sum::<f64>() / n }
}

/// Metres per degree of longitude and latitude at latitude `lat`.
fn metres_per_degree(lat: f64) -> (f64, f64) {
    let r = 6_371_008.8_f64;
    let per_deg = r * std::f64::consts::PI / 180.0;
    (per_deg * lat.to_radians().cos(), per_deg)
}

/// `g` buffered by `metres` (round caps and joins), on a local plane
/// around `centre`.
fn buffered(g: &geo::Geometry<f64>, centre: Coord<f64>, metres: f64) -> MultiPolygon<f64> {
    use geo::MapCoords;
    let (mx, my) = metres_per_degree(centre.y);
    let local = g.map_coords(|c| Coord { x: (c.x - centre.x) * mx, y: (c.y - centre.y) * my });
    local.buffer(metres).map_coords(|c| Coord { x: centre.x + c.x / mx, y: centre.y + c.y / my })
}

/// An area analyses are about: a district or park, or a study area.
#[derive(Debug, Clone, Copy)]
pub enum Place<'a> {
    /// A district or park, by position in `Snapshot::regions`.
    Region(u16),
    /// A study area.
    Study(&'a Footprint),
}

impl Place<'_> {
    /// Whether the talent's home is in the area.
    pub fn lives(&self, t: &TalentRec) -> bool {
        match *self {
            Place::Region(r) => t.home_district == r || t.home_park == r,
            Place::Study(f) => f.holds_key(t.home),
        }
    }

    /// Whether the talent works in the area.
    pub fn works(&self, t: &TalentRec) -> bool {
        t.has_work()
            && match *self {
                Place::Region(r) => t.work_district == r || t.work_park == r,
                Place::Study(f) => f.holds_key(t.work),
            }
    }

    /// Whether a move's end (its district, park and [`local_cell`]) is in
    /// the area.
    pub fn holds_end(&self, origin: (u32, u32), district: u16, park: u16, cell: u32) -> bool {
        match *self {
            Place::Region(r) => r != NONE16 && (district == r || park == r),
            Place::Study(f) => cell_code(origin, cell).is_some_and(|c| f.holds_cell(c)),
        }
    }

    /// Whether the enterprise is in the area.
    pub fn hosts(&self, e: &EnterpriseRec) -> bool {
        match *self {
            Place::Region(r) => r != NONE16 && (e.district == r || e.park == r),
            Place::Study(f) => f.holds_point(e.lon, e.lat),
        }
    }
}
