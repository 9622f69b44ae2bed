//! Decoding tiles with geozero's MVT reader: an implementation independent
//! of the encoder under test.
#![allow(dead_code)]

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use geozero::mvt::{Message, Tile, tile};
use geozero::{GeomProcessor, GeozeroGeometry};

/// A decoded property value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Str(String),
    UInt(u64),
    Int(i64),
    Double(f64),
    Bool(bool),
}

impl Val {
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Val::UInt(u) => Some(*u),
            Val::Int(i) if *i >= 0 => Some(*i as u64),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Feature {
    pub id: Option<u64>,
    pub geom_type: i32,
    pub props: BTreeMap<String, Val>,
    /// Every vertex, in tile coordinates.
    pub vertices: Vec<(f64, f64)>,
}

#[derive(Debug, Clone)]
pub struct Layer {
    pub name: String,
    pub version: u32,
    pub extent: u32,
    pub features: Vec<Feature>,
}

#[derive(Default)]
struct Vertices(Vec<(f64, f64)>);

impl GeomProcessor for Vertices {
    fn xy(&mut self, x: f64, y: f64, _idx: usize) -> geozero::error::Result<()> {
        self.0.push((x, y));
        Ok(())
    }
}

/// Decodes a tile; panics on malformed bytes.
pub fn decode(bytes: &[u8]) -> Vec<Layer> {
    let tile = Tile::decode(bytes).expect("tile decodes");
    tile.layers
        .iter()
        .map(|l: &tile::Layer| Layer {
            name: l.name.clone(),
            version: l.version,
            extent: l.extent.unwrap_or(4096),
            features: l
                .features
                .iter()
                .map(|f| {
                    let mut props = BTreeMap::new();
                    for kv in f.tags.chunks(2) {
                        let key = l.keys[kv[0] as usize].clone();
                        let v = &l.values[kv[1] as usize];
                        let val = if let Some(s) = &v.string_value {
                            Val::Str(s.clone())
                        } else if let Some(u) = v.uint_value {
                            Val::UInt(u)
                        } else if let Some(i) = v.sint_value {
                            Val::Int(i)
                        } else if let Some(i) = v.int_value {
                            Val::Int(i)
                        } else if let Some(d) = v.double_value {
                            Val::Double(d)
                        } else if let Some(d) = v.float_value {
                            Val::Double(d as f64)
                        } else if let Some(b) = v.bool_value {
                            Val::Bool(b)
                        } else {
                            panic!("value with no field set")
                        };
                        assert!(props.insert(key, val).is_none(), "duplicate key in a feature");
                    }
                    let mut vs = Vertices::default();
                    f.process_geom(&mut vs).expect("geometry decodes");
                    Feature { id: f.id, geom_type: f.r#type.unwrap_or(0), props, vertices: vs.0 }
                })
                .collect(),
        })
        .collect()
}
