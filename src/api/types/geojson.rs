//! GeoJSON (RFC 7946) building blocks shared by the GeoJSON answers:
//! the `"type"` tags and a geometry that serializes as
//! `{"type": …, "coordinates": …}`. Coordinates are rounded to 1e-6 degrees.

use geo::{CoordsIter, MultiPolygon, Winding};
use serde::Serialize;
use utoipa::ToSchema;

use crate::spatial::round6;

/// The `"type": "Feature"` tag.
#[derive(Debug, Clone, Copy, Default, Serialize, ToSchema)]
pub enum FeatureTag {
    #[default]
    Feature,
}

/// The `"type": "FeatureCollection"` tag.
#[derive(Debug, Clone, Copy, Default, Serialize, ToSchema)]
pub enum CollectionTag {
    #[default]
    FeatureCollection,
}

/// A longitude, latitude pair in degrees.
pub type Position = [f64; 2];

/// A GeoJSON geometry.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "type", content = "coordinates")]
pub enum Geometry {
    Point([f64; 2]),
    LineString(Vec<[f64; 2]>),
    Polygon(Vec<Vec<[f64; 2]>>),
    MultiPolygon(Vec<Vec<Vec<[f64; 2]>>>),
}

impl Geometry {
    /// A point, rounded.
    pub fn point(lon: f64, lat: f64) -> Geometry {
        Geometry::Point([round6(lon), round6(lat)])
    }

    /// A line between two points, rounded.
    pub fn line(a: [f64; 2], b: [f64; 2]) -> Geometry {
        Geometry::LineString(vec![a.map(round6), b.map(round6)])
    }

    /// A rectangle `west, south, east, north`, rounded, counter-clockwise.
    pub fn rectangle(w: f64, s: f64, e: f64, n: f64) -> Geometry {
        let (w, s, e, n) = (round6(w), round6(s), round6(e), round6(n));
        Geometry::Polygon(vec![vec![[w, s], [e, s], [e, n], [w, n], [w, s]]])
    }

    /// RFC 7946 polygon coordinates: exterior counter-clockwise, holes
    /// clockwise, rings closed; a `Polygon` when there is one part.
    pub fn multipolygon(mp: &MultiPolygon<f64>) -> Geometry {
        let mut polys: Vec<Vec<Vec<[f64; 2]>>> = mp
            .iter()
            .map(|p| {
                let mut p = p.clone();
                p.exterior_mut(|r| r.make_ccw_winding());
                p.interiors_mut(|rs| rs.iter_mut().for_each(|r| r.make_cw_winding()));
                let ring = |r: &geo::LineString<f64>| -> Vec<Position> {
                    r.coords_iter().map(|c| [round6(c.x), round6(c.y)]).collect()
                };
                let mut rings = vec![ring(p.exterior())];
                rings.extend(p.interiors().iter().map(ring));
                rings
            })
            .collect();
        match polys.len() {
            1 => Geometry::Polygon(polys.remove(0)),
            _ => Geometry::MultiPolygon(polys),
        }
    }
}

/// A GeoJSON answer: `T` as JSON with the content type
/// `application/geo+json` (RFC 7946 §12).
#[derive(Debug)]
pub struct GeoJson<T>(pub T);

/// The content type of a GeoJSON answer.
const CONTENT_TYPE: (axum::http::HeaderName, &str) = (axum::http::header::CONTENT_TYPE, "application/geo+json");

impl<T: Serialize> axum::response::IntoResponse for GeoJson<T> {
    fn into_response(self) -> axum::response::Response {
        ([CONTENT_TYPE], axum::Json(self.0)).into_response()
    }
}

impl<T: Serialize> GeoJson<T> {
    /// The answer written as JSON now: a large answer is written on the
    /// compute pool, where it was computed, so that the connection's accept
    /// loop only sends the bytes (and `api::compress` compresses them on the
    /// pool too).
    pub fn written(self) -> Result<GeoJsonBytes, crate::api::ApiError> {
        serde_json::to_vec(&self.0)
            .map(GeoJsonBytes)
            .map_err(|e| crate::api::ApiError::Internal(format!("the answer could not be written as JSON: {e}")))
    }
}

/// A GeoJSON answer already written as JSON ([`GeoJson::written`]).
#[derive(Debug)]
pub struct GeoJsonBytes(pub Vec<u8>);

impl axum::response::IntoResponse for GeoJsonBytes {
    fn into_response(self) -> axum::response::Response {
        ([CONTENT_TYPE], self.0).into_response()
    }
}
