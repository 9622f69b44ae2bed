//! Large answers compressed on the compute pool.
//!
//! `tower_http`'s compression layer encodes a body as the connection sends
//! it, on the accept loop that owns the connection. Each loop runs its
//! connections one step at a time (`api::accept`), so a megabyte of JSON
//! compressed there delays every other connection of that loop — a cached
//! tile or `/health` behind an export — by as long.
//!
//! [`on_compute_pool`] sits inside that layer. A successful answer whose
//! whole body is already in memory (JSON and GeoJSON answers, and any other
//! answer written whole) and at least [`POOLED_FROM`] bytes long is
//! compressed here instead, on a compute thread, with the encoding the
//! client prefers of Brotli (at quality [`BROTLI_QUALITY`], the layer's own
//! default) and gzip; the answer then carries `Content-Encoding`, and the
//! outer layer leaves it as it is. Smaller answers, streamed bodies and
//! clients that accept neither encoding go on to the outer layer unchanged.

use axum::body::Body;
use axum::body::HttpBody as _;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;

/// Bytes from which a whole body is compressed on the compute pool: below
/// it, compression takes a few tens of microseconds and the hop to the pool
/// would cost more than it saves.
pub const POOLED_FROM: u64 = 32 << 10;

/// Brotli quality of a pooled answer, as the outer layer compresses: the
/// quality nginx uses for answers compressed on the fly.
pub const BROTLI_QUALITY: u32 = 4;

/// Gzip level of a pooled answer (libdeflate's scale, `encode::gzip`).
const GZIP_LEVEL: u8 = 6;

/// An encoding this module writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Brotli,
    Gzip,
}

impl Coding {
    fn header(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Coding::Brotli => "br",
            Coding::Gzip => "gzip",
        })
    }
}

/// What a request's `Accept-Encoding` gives Brotli, gzip and `*`: the
/// highest q-value of each, in thousandths (0 where not named, or refused
/// with `q=0`), and whether gzip is named at all. An item whose q-value is
/// not one (a number from 0 to 1) is left out.
struct Accepted {
    br: u16,
    gzip: u16,
    any: u16,
    gzip_named: bool,
}

fn accepted(headers: &HeaderMap) -> Accepted {
    let mut a = Accepted { br: 0, gzip: 0, any: 0, gzip_named: false };
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            let q = parts
                .find_map(|p| {
                    let p = p.trim();
                    p.strip_prefix("q=").or_else(|| p.strip_prefix("Q="))
                })
                .map_or(Some(1000), |q| {
                    q.trim()
                        .parse::<f32>()
                        .ok()
                        .filter(|q| (0.0..=1.0).contains(q))
                        .map(|q| (q * 1000.0).round() as u16)
                });
            let Some(q) = q else { continue };
            let slot = if name.eq_ignore_ascii_case("br") {
                &mut a.br
            } else if name.eq_ignore_ascii_case("gzip") {
                a.gzip_named = true;
                &mut a.gzip
            } else if name == "*" {
                &mut a.any
            } else {
                continue;
            };
            *slot = (*slot).max(q);
        }
    }
    a
}

/// The encoding to write for a request's `Accept-Encoding`: Brotli or gzip,
/// whichever has the higher q-value (Brotli on a tie, as the outer layer
/// chooses); `None` when the client accepts neither by name (the outer layer
/// then decides, wildcards included).
pub fn preferred(headers: &HeaderMap) -> Option<Coding> {
    match accepted(headers) {
        Accepted { br: 0, gzip: 0, .. } => None,
        Accepted { br, gzip, .. } if br >= gzip => Some(Coding::Brotli),
        _ => Some(Coding::Gzip),
    }
}

/// Whether a request accepts a gzip body (the tiles, glyphs and basemap
/// answers kept gzipped): `gzip` with a q-value above 0, or, when `gzip` is
/// not named, `*` with one. A `*` stands only for the codings the header
/// does not name (RFC 9110, 12.5.3): `gzip;q=0, *` refuses gzip.
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    let a = accepted(headers);
    if a.gzip_named { a.gzip > 0 } else { a.any > 0 }
}

/// `bytes` compressed with `coding`.
pub fn compress(bytes: &[u8], coding: Coding) -> Vec<u8> {
    match coding {
        Coding::Gzip => crate::encode::gzip(bytes, GZIP_LEVEL),
        Coding::Brotli => {
            use std::io::Write;
            let mut writer =
                brotli::CompressorWriter::new(Vec::with_capacity(bytes.len() / 4), 64 << 10, BROTLI_QUALITY, 22);
            // Writing to memory cannot fail.
            let _ = writer.write_all(bytes);
            writer.into_inner()
        }
    }
}

/// Whether a response may be compressed here: a success with a whole body
/// of at least [`POOLED_FROM`] bytes, not yet encoded, of a type that
/// compresses (not an image, not a stream of events).
fn poolable(response: &Response) -> bool {
    let headers = response.headers();
    let kind = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let compresses = !kind.is_empty()
        && !kind.starts_with("text/event-stream")
        && (!kind.starts_with("image/") || kind.starts_with("image/svg+xml"));
    response.status().is_success()
        && compresses
        && !headers.contains_key(header::CONTENT_ENCODING)
        && !headers.contains_key(header::CONTENT_RANGE)
        && response.body().size_hint().exact().is_some_and(|n| n >= POOLED_FROM)
}

/// The middleware (see the module doc).
pub async fn on_compute_pool(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let coding = preferred(request.headers());
    let response = next.run(request).await;
    let Some(coding) = coding else { return response };
    if !poolable(&response) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // The body is whole (its exact size is known): collecting it only
    // takes the bytes out.
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(e) => {
            use axum::response::IntoResponse as _;
            return super::ApiError::Internal(format!("an answer's body could not be read for compression: {e}"))
                .into_response();
        }
    };
    let raw = bytes.clone();
    let packed = match state.compute.run(move || compress(&raw, coding)).await {
        Ok(packed) => packed,
        // The pool failed the task: the outer layer compresses instead.
        Err(_) => return Response::from_parts(parts, Body::from(bytes)),
    };
    parts.headers.insert(header::CONTENT_ENCODING, coding.header());
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::ACCEPT_RANGES);
    let varies = parts
        .headers
        .get_all(header::VARY)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.split(',').any(|n| n.trim().eq_ignore_ascii_case("accept-encoding"))));
    if !varies {
        parts.headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    Response::from_parts(parts, Body::from(packed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn accept(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn the_preferred_coding_follows_q_values() {
        assert_eq!(preferred(&accept("gzip, deflate, br, zstd")), Some(Coding::Brotli));
        assert_eq!(preferred(&accept("gzip")), Some(Coding::Gzip));
        assert_eq!(preferred(&accept("br;q=0.5, gzip;q=0.8")), Some(Coding::Gzip));
        assert_eq!(preferred(&accept("br;q=0, gzip")), Some(Coding::Gzip));
        assert_eq!(preferred(&accept("br, gzip;q=0")), Some(Coding::Brotli));
        assert_eq!(preferred(&accept("identity")), None);
        assert_eq!(preferred(&accept("*")), None);
        assert_eq!(preferred(&accept("gzip;q=2")), None, "a q-value over 1 is not one");
        assert_eq!(preferred(&HeaderMap::new()), None);
    }

    #[test]
    fn gzip_is_accepted_by_name_or_wildcard_unless_refused() {
        for yes in ["gzip", "br;q=1.0, gzip;q=0.8, *;q=0.1", "*", "br;q=0, *", "deflate, GZIP", "gzip;q=0.5, *;q=0"] {
            assert!(accepts_gzip(&accept(yes)), "{yes}");
        }
        // A wildcard does not stand for a coding the header names.
        for no in ["gzip;q=0", "identity", "gzip; q=0.0, identity", "br", "*;q=0", "gzip;q=0, *", "*, GZIP;Q=0"] {
            assert!(!accepts_gzip(&accept(no)), "{no}");
        }
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn both_codings_decode_to_the_input() {
        let input: Vec<u8> = (0..200_000u32).flat_map(|i| format!("{{\"n\":{}}},", i % 977).into_bytes()).collect();
        let gz = compress(&input, Coding::Gzip);
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut out).unwrap();
        assert_eq!(out, input);
        let br = compress(&input, Coding::Brotli);
        assert!(br.len() < input.len() / 4, "{} of {}", br.len(), input.len());
        let mut out = Vec::new();
        brotli::Decompressor::new(&br[..], 4096).read_to_end(&mut out).unwrap();
        assert_eq!(out, input);
    }
}
