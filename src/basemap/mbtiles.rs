//! Reading MBTiles (1.3): a SQLite file with a `metadata` table of name and
//! value and a `tiles` table addressed by zoom, column and TMS row (rows
//! from the south). Opened read-only.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::{BasemapError, BasemapInfo, Schema, StoredTile, is_gzip, layer_names};

pub struct MbtilesFile {
    path: PathBuf,
    conn: Mutex<Connection>,
    pub info: BasemapInfo,
}

impl MbtilesFile {
    pub fn open(path: &Path) -> Result<MbtilesFile, BasemapError> {
        let sql = |source| BasemapError::Sql { path: path.to_path_buf(), source };
        let invalid = |message: String| BasemapError::Invalid { path: path.to_path_buf(), message };
        if !path.is_file() {
            return Err(BasemapError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            });
        }
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                .map_err(sql)?;
        let meta = |name: &str| -> Result<Option<String>, BasemapError> {
            conn.query_row("SELECT value FROM metadata WHERE name = ?1", params![name], |r| r.get(0))
                .optional()
                .map_err(|e| invalid(format!("no metadata table ({e}); not an MBTiles file")))
        };
        let format = meta("format")?.unwrap_or_default();
        if format != "pbf" {
            return Err(invalid(format!("holds tiles of format '{format}', not vector tiles ('pbf')")));
        }
        let json: serde_json::Value = match meta("json")? {
            Some(text) => {
                serde_json::from_str(&text).map_err(|e| invalid(format!("metadata 'json' is not JSON: {e}")))?
            }
            None => serde_json::Value::Null,
        };
        let vector_layers = json.get("vector_layers").cloned().unwrap_or(serde_json::Value::Array(Vec::new()));
        let zoom = |name: &str, default: u8| -> Result<u8, BasemapError> {
            Ok(meta(name)?.and_then(|v| v.trim().parse().ok()).unwrap_or(default))
        };
        let bounds = meta("bounds")?.and_then(|b| {
            let v: Vec<f64> = b.split(',').filter_map(|s| s.trim().parse().ok()).collect();
            (v.len() == 4 && v[0] < v[2] && v[1] < v[3]).then(|| [v[0], v[1], v[2], v[3]])
        });
        let info = BasemapInfo {
            schema: Schema::of(&layer_names(&vector_layers)),
            minzoom: zoom("minzoom", 0)?,
            maxzoom: zoom("maxzoom", 14)?,
            bounds,
            attribution: meta("attribution")?,
            vector_layers,
        };
        Ok(MbtilesFile { path: path.to_path_buf(), conn: Mutex::new(conn), info })
    }

    pub fn tile(&self, z: u8, x: u32, y: u32) -> Result<Option<StoredTile>, BasemapError> {
        let tms = (1u64 << z) - 1 - u64::from(y);
        let conn = self.conn.lock().map_err(|_| BasemapError::Invalid {
            path: self.path.clone(),
            message: "the connection was poisoned by a panic".into(),
        })?;
        let bytes: Option<Vec<u8>> = conn
            .query_row(
                "SELECT tile_data FROM tiles WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3",
                params![z, x, tms as i64],
                |r| r.get(0),
            )
            .optional()
            .map_err(|source| BasemapError::Sql { path: self.path.clone(), source })?;
        Ok(bytes.map(|bytes| StoredTile { gzip: is_gzip(&bytes), bytes }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_are_found_by_xyz_rows_and_the_schema_from_the_layers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.mbtiles");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE metadata (name TEXT, value TEXT);
             CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);
             INSERT INTO metadata VALUES ('format', 'pbf'), ('minzoom', '2'), ('maxzoom', '12'),
               ('bounds', '116.2,36.0,117.9,37.6'), ('attribution', '© OpenStreetMap'),
               ('json', '{\"vector_layers\":[{\"id\":\"earth\"},{\"id\":\"roads\"}]}');
             INSERT INTO tiles VALUES (3, 6, 4, x'1f8b0800');",
        )
        .unwrap();
        drop(conn);
        let f = MbtilesFile::open(&path).unwrap();
        assert_eq!(f.info.schema, Schema::Protomaps);
        assert_eq!((f.info.minzoom, f.info.maxzoom), (2, 12));
        assert_eq!(f.info.bounds, Some([116.2, 36.0, 117.9, 37.6]));
        // TMS row 4 at zoom 3 is XYZ row 3.
        let t = f.tile(3, 6, 3).unwrap().unwrap();
        assert!(t.gzip);
        assert!(f.tile(3, 6, 4).unwrap().is_none());
    }

    #[test]
    fn raster_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.mbtiles");
        Connection::open(&path)
            .unwrap()
            .execute_batch(
                "CREATE TABLE metadata (name TEXT, value TEXT); INSERT INTO metadata VALUES ('format', 'png');",
            )
            .unwrap();
        let err = MbtilesFile::open(&path).err().unwrap().to_string();
        assert!(err.contains("not vector tiles"), "{err}");
    }
}
