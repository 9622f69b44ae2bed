//! Map glyphs over HTTP: `/fonts.json` lists the server's fonts and
//! `/fonts/{fontstack}/{range}.pbf` answers signed distance field glyphs,
//! read here by a protobuf reader written for this test (not the encoder's
//! types). Needs Debian's `fonts-noto-cjk` (installed by `.ci/run`) and
//! `fonts-dejavu-core`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use talentmap::api::{AppState, Settings, router};
use talentmap::model::Taxonomy;
use talentmap::snapshot::Snapshot;
use tower::ServiceExt;

const CJK: &str = "Noto Sans CJK SC Regular";

fn state() -> AppState {
    let settings = Settings { font_dirs: vec![PathBuf::from("/usr/share/fonts")], ..Settings::default() };
    AppState::new(Snapshot::empty(std::sync::Arc::new(Taxonomy::builtin())), None, settings)
}

async fn get(state: &AppState, uri: &str) -> (StatusCode, Option<String>, Vec<u8>) {
    let resp = router(state.clone()).oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    let ct = resp.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string());
    (status, ct, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
}

/// A protobuf field: number and value (varint or bytes).
enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn fields(mut buf: &[u8]) -> Vec<(u32, Field<'_>)> {
    fn varint(buf: &mut &[u8]) -> u64 {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = buf[0];
            *buf = &buf[1..];
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                break;
            }
        }
        v
    }
    let mut out = Vec::new();
    while !buf.is_empty() {
        let key = varint(&mut buf);
        let (number, wire) = ((key >> 3) as u32, key & 7);
        match wire {
            0 => out.push((number, Field::Varint(varint(&mut buf)))),
            2 => {
                let len = varint(&mut buf) as usize;
                out.push((number, Field::Bytes(&buf[..len])));
                buf = &buf[len..];
            }
            other => panic!("unexpected wire type {other}"),
        }
    }
    out
}

/// One glyph: id, bitmap length, width, height, advance.
#[derive(Debug, Default)]
struct Glyph {
    id: u32,
    bitmap: usize,
    width: u32,
    height: u32,
    advance: u32,
}

/// `Glyphs { stacks: [Fontstack { name, range, glyphs }] }` (glyphs.proto).
fn decode(pbf: &[u8]) -> (String, String, Vec<Glyph>) {
    let stacks: Vec<_> = fields(pbf).into_iter().filter(|(n, _)| *n == 1).collect();
    assert_eq!(stacks.len(), 1, "one font stack");
    let Field::Bytes(stack) = stacks[0].1 else { panic!("stack is not a message") };
    let (mut name, mut range, mut glyphs) = (String::new(), String::new(), Vec::new());
    for (n, f) in fields(stack) {
        match (n, f) {
            (1, Field::Bytes(b)) => name = String::from_utf8(b.to_vec()).unwrap(),
            (2, Field::Bytes(b)) => range = String::from_utf8(b.to_vec()).unwrap(),
            (3, Field::Bytes(b)) => {
                let mut g = Glyph::default();
                for (n, f) in fields(b) {
                    match (n, f) {
                        (1, Field::Varint(v)) => g.id = v as u32,
                        (2, Field::Bytes(b)) => g.bitmap = b.len(),
                        (3, Field::Varint(v)) => g.width = v as u32,
                        (4, Field::Varint(v)) => g.height = v as u32,
                        (7, Field::Varint(v)) => g.advance = v as u32,
                        _ => {}
                    }
                }
                glyphs.push(g);
            }
            _ => {}
        }
    }
    (name, range, glyphs)
}

#[tokio::test]
async fn the_fonts_of_the_machine_are_listed() {
    let (status, ct, body) = get(&state(), "/fonts.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct.as_deref(), Some("application/json"));
    let names: Vec<String> = serde_json::from_slice(&body).unwrap();
    assert!(names.iter().any(|n| n == CJK), "{names:?}");
    assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
}

#[tokio::test]
async fn a_cjk_range_has_every_glyph_with_its_distance_field() {
    let state = state();
    let (status, ct, body) = get(&state, "/fonts/Noto%20Sans%20CJK%20SC%20Regular/19968-20223.pbf").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(ct.as_deref(), Some("application/x-protobuf"));
    let (name, range, glyphs) = decode(&body);
    assert_eq!(name, CJK);
    assert_eq!(range, "19968-20223");
    assert_eq!(glyphs.len(), 256, "the CJK block is complete in Noto Sans CJK SC");
    assert!(glyphs.iter().all(|g| (19968..=20223).contains(&g.id)));
    // 中 (U+4E2D): a full-width glyph whose field has a 3-pixel border.
    let zhong = glyphs.iter().find(|g| g.id == 0x4E2D).unwrap();
    assert!(zhong.width > 10 && zhong.height > 10 && zhong.advance >= 20, "{zhong:?}");
    assert_eq!(zhong.bitmap, ((zhong.width + 6) * (zhong.height + 6)) as usize);
    // The second answer is the cached bytes; a browser gets the stored gzip form of the same bytes.
    assert_eq!(get(&state, "/fonts/Noto%20Sans%20CJK%20SC%20Regular/19968-20223.pbf").await.2, body);
    let req = Request::get("/fonts/Noto%20Sans%20CJK%20SC%20Regular/19968-20223.pbf")
        .header(header::ACCEPT_ENCODING, "gzip, deflate, br")
        .body(Body::empty())
        .unwrap();
    let resp = router(state.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.headers().get(header::CONTENT_ENCODING).unwrap(), "gzip");
    assert_eq!(resp.headers().get(header::VARY).unwrap(), "accept-encoding");
    let gz = resp.into_body().collect().await.unwrap().to_bytes();
    assert!(gz.len() < body.len() / 2, "{} of {}", gz.len(), body.len());
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut raw).unwrap();
    assert_eq!(raw, body);
}

#[tokio::test]
async fn a_stack_takes_each_character_from_its_first_font_that_has_it() {
    let (status, _, body) =
        get(&state(), "/fonts/DejaVu%20Sans%20Book,Noto%20Sans%20CJK%20SC%20Regular/0-255.pbf").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let (name, range, glyphs) = decode(&body);
    assert_eq!((name.as_str(), range.as_str()), ("DejaVu Sans Book,Noto Sans CJK SC Regular", "0-255"));
    let ids: Vec<u32> = glyphs.iter().map(|g| g.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "each code point once, in order");
    for c in ['0', '9', 'A', 'z', '%'] {
        assert!(ids.contains(&(c as u32)), "{c}");
    }
}

#[tokio::test]
async fn malformed_ranges_and_unknown_fonts_are_named() {
    let state = state();
    for uri in
        ["/fonts/Noto%20Sans%20CJK%20SC%20Regular/0-256.pbf", "/fonts/Noto%20Sans%20CJK%20SC%20Regular/1-256.pbf"]
    {
        let (status, _, body) = get(&state, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(String::from_utf8_lossy(&body).contains("\"parameter\":\"range\""), "{uri}");
    }
    let (status, _, body) = get(&state, "/fonts/Comic%20Nope/0-255.pbf").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("no font 'Comic Nope'") && text.contains("/fonts.json"), "{text}");
    let (status, _, _) = get(&state, "/fonts/A,,B/0-255.pbf").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
