//! Map glyphs from local font files: `GET /fonts/{fontstack}/{range}.pbf`
//! (the glyph protobuf MapLibre asks for) and `GET /fonts.json` (the font
//! names). No glyph server outside: the fonts are the machine's own
//! (`serve --fonts DIR`, default `/usr/share/fonts`, where Debian's
//! `fonts-noto-cjk` puts Noto Sans CJK).
//!
//! Every TrueType/OpenType file or collection under the font folders is
//! opened once, on first use, to read the name of each face ("family
//! style", e.g. `Noto Sans CJK SC Regular`). A range is 256 code points
//! from a multiple of 256; its signed distance fields are rendered with
//! FreeType (pbf_font_tools, as Martin does) at 24 px with a 3 px buffer,
//! taking each code point from the first font of the stack that has it,
//! on the compute pool, and cached (glyphs do not change with the data).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use pbf_font_tools::freetype::{Face, Library};
use pbf_font_tools::prost::Message;
use pbf_font_tools::{Fontstack, Glyphs};

use super::error::ErrorBody;
use super::{ApiError, AppState};

/// Font size of the distance fields, in pixels (MapLibre's convention).
const SIZE: usize = 24;
/// Distance field radius and cutoff (the values node-fontnik uses).
const RADIUS: usize = 8;
const CUTOFF: f64 = 0.25;
/// Fonts a stack may name.
const MAX_STACK: usize = 8;
/// Memory budget of the glyph cache.
const CACHE_BYTES: u64 = 64 << 20;
pub const PBF_CONTENT_TYPE: &str = "application/x-protobuf";

/// Where a face is: its file and its index in a collection.
#[derive(Debug, Clone)]
struct FaceRef {
    path: PathBuf,
    index: isize,
}

/// The faces found under the font folders, by name, and the rendered
/// ranges.
pub struct Fonts {
    dirs: Vec<PathBuf>,
    faces: OnceLock<BTreeMap<String, FaceRef>>,
    cache: moka::sync::Cache<(String, u32), Encoded>,
}

/// A rendered range and its gzip form (made once, as for tiles: the
/// compression layer passes an encoded body through).
#[derive(Clone)]
pub struct Encoded {
    pub raw: Bytes,
    pub gzip: Bytes,
}

impl Fonts {
    /// Fonts under `dirs` (folders or files), scanned on first use.
    pub fn new(dirs: Vec<PathBuf>) -> Fonts {
        let cache = moka::sync::Cache::builder()
            .max_capacity(CACHE_BYTES)
            .weigher(|k: &(String, u32), v: &Encoded| {
                (k.0.len() + v.raw.len() + v.gzip.len()).try_into().unwrap_or(u32::MAX)
            })
            .build();
        Fonts { dirs, faces: OnceLock::new(), cache }
    }

    fn faces(&self) -> &BTreeMap<String, FaceRef> {
        self.faces.get_or_init(|| scan(&self.dirs))
    }

    /// The names of every face, sorted.
    pub fn names(&self) -> Vec<String> {
        self.faces().keys().cloned().collect()
    }

    /// The glyph protobuf of the range from `start` (a multiple of 256)
    /// for a stack of font names, from the cache or rendered now.
    pub fn range(&self, stack: &[String], start: u32) -> Result<Encoded, ApiError> {
        let refs = self.resolve(stack)?;
        let name = stack.join(",");
        // Single flight: concurrent requests for one range render it once.
        let make = || {
            let raw = Bytes::from(render(&name, &refs, start)?);
            Ok(Encoded { gzip: super::cache::gzip(&raw), raw })
        };
        self.cache.try_get_with((name.clone(), start), make).map_err(|e: std::sync::Arc<ApiError>| {
            std::sync::Arc::try_unwrap(e).unwrap_or_else(|shared| ApiError::Internal(format!("{shared:?}")))
        })
    }

    /// The faces of a stack; a name not found is a 404 listing some names.
    fn resolve(&self, stack: &[String]) -> Result<Vec<FaceRef>, ApiError> {
        let faces = self.faces();
        stack
            .iter()
            .map(|name| {
                faces.get(name).cloned().ok_or_else(|| {
                    let known: Vec<&str> = faces.keys().take(20).map(String::as_str).collect();
                    let more = if faces.len() > known.len() { ", …" } else { "" };
                    ApiError::NotFound(if known.is_empty() {
                        format!("no font '{name}': no font files were found on this server (serve --fonts DIR)")
                    } else {
                        format!("no font '{name}'; fonts (GET /fonts.json): {}{more}", known.join(", "))
                    })
                })
            })
            .collect()
    }
}

/// Every face of every font file under `dirs`, by "family style"; the first
/// file found with a name keeps it.
fn scan(dirs: &[PathBuf]) -> BTreeMap<String, FaceRef> {
    let mut files = Vec::new();
    for dir in dirs {
        collect_files(dir, 0, &mut files);
    }
    files.sort();
    let mut faces = BTreeMap::new();
    let Ok(lib) = Library::init() else {
        tracing::warn!("FreeType could not be initialised: no glyphs");
        return faces;
    };
    for path in files {
        let Ok(first) = lib.new_face(&path, 0) else { continue };
        let count = first.num_faces().max(1) as isize;
        drop(first);
        for index in 0..count {
            let Ok(face) = lib.new_face(&path, index) else { continue };
            if let Some(name) = face_name(&face) {
                faces.entry(name).or_insert_with(|| FaceRef { path: path.clone(), index });
            }
        }
    }
    tracing::info!(fonts = faces.len(), "font faces found");
    faces
}

/// Font files under `path` (a file or a folder, four levels deep at most).
fn collect_files(path: &Path, depth: u8, out: &mut Vec<PathBuf>) {
    if path.is_file() {
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        if matches!(ext.as_deref(), Some("ttf" | "otf" | "ttc" | "otc")) {
            out.push(path.to_path_buf());
        }
        return;
    }
    if depth > 4 {
        return;
    }
    if let Ok(entries) = std::fs::read_dir(path) {
        for entry in entries.flatten() {
            collect_files(&entry.path(), depth + 1, out);
        }
    }
}

fn face_name(face: &Face) -> Option<String> {
    let family = face.family_name()?;
    Some(match face.style_name() {
        Some(style) => format!("{family} {style}"),
        None => family,
    })
}

/// Renders one range of a stack: each code point from the first face that
/// has it.
fn render(name: &str, refs: &[FaceRef], start: u32) -> Result<Vec<u8>, ApiError> {
    let end = start + 255;
    let lib = Library::init().map_err(|e| ApiError::Internal(format!("FreeType: {e}")))?;
    let mut stack = Fontstack { name: name.to_string(), range: format!("{start}-{end}"), glyphs: Vec::new() };
    let mut covered = std::collections::HashSet::new();
    for r in refs {
        let face = lib
            .new_face(&r.path, r.index)
            .map_err(|e| ApiError::Internal(format!("font {}: {e}", r.path.display())))?;
        let part = pbf_font_tools::glyph_range_for_face(&face, start, end, SIZE, RADIUS, CUTOFF)
            .map_err(|e| ApiError::Internal(format!("glyphs {start}-{end} of {}: {e:?}", r.path.display())))?;
        stack.glyphs.extend(part.glyphs.into_iter().filter(|g| covered.insert(g.id)));
    }
    stack.glyphs.sort_by_key(|g| g.id);
    Ok(Glyphs { stacks: vec![stack] }.encode_to_vec())
}

/// Parses `{range}.pbf`: `N-M.pbf` with N a multiple of 256 up to 65280
/// and M = N + 255.
fn parse_range(text: &str) -> Result<u32, ApiError> {
    let bad = || {
        ApiError::param(
            "range",
            format!(
                "must be START-END.pbf with START a multiple of 256 in 0..=65280 and END = START + 255 \
                 (e.g. 0-255.pbf, 19968-20223.pbf), got '{text}'"
            ),
        )
    };
    let body = text.strip_suffix(".pbf").ok_or_else(bad)?;
    let (a, b) = body.split_once('-').ok_or_else(bad)?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 5 && s.bytes().all(|c| c.is_ascii_digit());
    if !digits(a) || !digits(b) || (a.len() > 1 && a.starts_with('0')) {
        return Err(bad());
    }
    let (start, end): (u32, u32) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
    if start % 256 != 0 || start > 65280 || end != start + 255 {
        return Err(bad());
    }
    Ok(start)
}

/// Splits a font stack: comma-separated names, each trimmed, 1..=8 of them.
fn parse_stack(text: &str) -> Result<Vec<String>, ApiError> {
    let names: Vec<String> = text.split(',').map(|s| s.trim().to_string()).collect();
    if names.iter().any(String::is_empty) || names.len() > MAX_STACK || text.len() > 512 {
        return Err(ApiError::param(
            "fontstack",
            format!("must be 1 to {MAX_STACK} comma-separated font names (GET /fonts.json lists them), got '{text}'"),
        ));
    }
    Ok(names)
}

/// `GET /fonts/{fontstack}/{range}.pbf`
#[utoipa::path(get, path = "/fonts/{fontstack}/{range}", tag = "tiles",
    params(
        ("fontstack" = String, Path, description = "Comma-separated font names from `/fonts.json` (the first font \
            that has a code point draws it), e.g. `Noto Sans CJK SC Regular`"),
        ("range" = String, Path, description = "`START-END.pbf`: 256 code points from a multiple of 256, e.g. \
            `0-255.pbf` or `19968-20223.pbf`"),
    ),
    responses(
        (status = 200, description = "Signed distance field glyphs of the range (MapLibre glyph protobuf); code \
            points no font of the stack has are left out", body = GlyphsBody, content_type = "application/x-protobuf"),
        (status = 400, description = "The range or the font stack is malformed", body = ErrorBody),
        (status = 404, description = "A font of the stack is not on this server (the message lists fonts)",
            body = ErrorBody),
    ))]
pub async fn glyphs(
    State(state): State<AppState>,
    UrlPath((fontstack, range)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let start = parse_range(&range)?;
    let stack = parse_stack(&fontstack)?;
    let fonts = state.fonts.clone();
    let encoded = state.compute.run(move || fonts.range(&stack, start)).await??;
    let gzip = super::compress::accepts_gzip(&headers);
    let mut resp = Response::new(axum::body::Body::from(if gzip { encoded.gzip } else { encoded.raw }));
    let h = resp.headers_mut();
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(PBF_CONTENT_TYPE));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    Ok(resp)
}

/// `GET /fonts.json`
#[utoipa::path(get, path = "/fonts.json", tag = "tiles",
    responses((status = 200, description = "The names of the fonts `/fonts/{fontstack}/{range}` can draw with, \
        sorted", body = Vec<String>, content_type = "application/json")))]
pub async fn font_list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let fonts = state.fonts.clone();
    let names = state.compute.run(move || fonts.names()).await?;
    Ok(axum::Json(names).into_response())
}

/// The 200 body of a glyph range, for the OpenAPI document.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct GlyphsBody(#[allow(dead_code)] Vec<u8>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_256_code_points_from_a_multiple_of_256() {
        assert_eq!(parse_range("0-255.pbf").unwrap(), 0);
        assert_eq!(parse_range("19968-20223.pbf").unwrap(), 19968);
        assert_eq!(parse_range("65280-65535.pbf").unwrap(), 65280);
        for bad in
            ["0-256.pbf", "1-256.pbf", "65536-65791.pbf", "00-255.pbf", "0-255", "-255.pbf", "a-b.pbf", "+0-255.pbf"]
        {
            let err = parse_range(bad).unwrap_err().to_string();
            assert!(err.starts_with("range:"), "{bad}: {err}");
        }
    }

    #[test]
    fn stacks_are_one_to_eight_names() {
        assert_eq!(parse_stack("A Regular, B Bold").unwrap(), vec!["A Regular", "B Bold"]);
        assert!(parse_stack("").is_err());
        assert!(parse_stack("A,,B").is_err());
        assert!(parse_stack(&["A"; 9].join(",")).is_err());
    }

    #[test]
    fn an_unknown_font_is_named_in_the_404() {
        let fonts = Fonts::new(vec![PathBuf::from("/nonexistent")]);
        let err = fonts.range(&["Nope Regular".into()], 0).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("no font 'Nope Regular'"), "{err}");
    }
}
