//! `regions.geojson`: the real districts and the synthetic parks as one
//! FeatureCollection.
//!
//! District vertices are copied unchanged from the fixture; only the ring
//! orientation is normalised to RFC 7946 (exterior counter-clockwise, holes
//! clockwise), which the fixture does not follow. Parks carry
//! `synthetic: true`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::GenerateError;
use super::geography::{District, signed_area};
use super::parks::Park;
use crate::model::RegionKind;

/// Rings oriented per RFC 7946.
fn oriented(rings: &[Vec<[f64; 2]>]) -> Vec<Vec<[f64; 2]>> {
    rings
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let ccw = signed_area(r) > 0.0;
            let mut r = r.clone();
            if ccw != (i == 0) {
                r.reverse();
            }
            r
        })
        .collect()
}

/// Writes `regions.geojson`; returns its path and feature count.
pub fn write_regions(districts: &[District], parks: &[Park], dir: &Path) -> Result<(PathBuf, usize), GenerateError> {
    let mut features: Vec<Value> = Vec::new();
    for d in districts {
        let polys: Vec<Vec<Vec<[f64; 2]>>> = d.rings.iter().map(|p| oriented(p)).collect();
        let geometry = if polys.len() == 1 {
            json!({"type": "Polygon", "coordinates": polys[0]})
        } else {
            json!({"type": "MultiPolygon", "coordinates": polys})
        };
        features.push(json!({
            "type": "Feature",
            "id": d.code,
            "properties": {"id": d.code, "name": d.name, "name_en": super::english::district(&d.name), "kind": RegionKind::District.code()},
            "geometry": geometry,
        }));
    }
    for p in parks {
        let ring: Vec<[f64; 2]> = p.ring.iter().map(|m| [m.lon(), m.lat()]).collect();
        features.push(json!({
            "type": "Feature",
            "id": p.id,
            "properties": {"id": p.id, "name": p.name, "name_en": super::english::place(p.name), "kind": RegionKind::Park.code(), "synthetic": true},
            "geometry": {"type": "Polygon", "coordinates": oriented(&[ring])},
        }));
    }
    let count = features.len();
    let doc = json!({"type": "FeatureCollection", "features": features});
    let path = dir.join("regions.geojson");
    let io = |source| GenerateError::Io { path: path.clone(), source };
    let mut w = BufWriter::new(File::create(&path).map_err(io)?);
    serde_json::to_writer(&mut w, &doc).map_err(|e| GenerateError::Io { path: path.clone(), source: e.into() })?;
    w.write_all(b"\n").map_err(io)?;
    w.flush().map_err(io)?;
    Ok((path, count))
}
