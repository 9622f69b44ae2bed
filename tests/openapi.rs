//! The router and `/openapi.json` describe the same service: every route the
//! router registers is documented with its method, and every documented
//! path and method is answered by a registered route. A route added without
//! documentation (or documentation without a route) fails here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use talentmap::api::{openapi, routes};

/// Path segments; a `{param}` segment of the router matches any one
/// segment, including a documented `{layer}.json`.
fn segments(path: &str) -> Vec<&str> {
    path.trim_start_matches('/').split('/').collect()
}

fn is_param(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

/// Whether a router path answers a documented path.
fn answers(route: &str, documented: &str) -> bool {
    let (r, d) = (segments(route), segments(documented));
    r.len() == d.len()
        && r.iter().zip(&d).all(|(r, d)| {
            if is_param(r) {
                return true;
            }
            r == d
        })
}

fn document() -> Value {
    serde_json::from_str(openapi::document()).expect("the document is JSON")
}

fn documented_operations(doc: &Value) -> Vec<(String, String)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            ops.push((method.to_uppercase(), path.clone()));
        }
    }
    ops
}

#[test]
fn every_route_is_documented() {
    let doc = document();
    let ops = documented_operations(&doc);
    let table = routes();
    assert!(table.list().len() >= 25, "the route table lists the service's routes");
    for (method, route) in table.list() {
        let documented = ops.iter().any(|(m, p)| m == method && answers(route, p));
        assert!(documented, "{method} {route} is not in /openapi.json");
    }
}

#[test]
fn every_documented_operation_has_a_route() {
    let doc = document();
    let table = routes();
    for (method, path) in documented_operations(&doc) {
        let routed = table.list().iter().any(|(m, r)| *m == method && answers(r, &path));
        assert!(routed, "{method} {path} is documented but no route answers it");
    }
}

#[test]
fn every_operation_documents_its_error_shape() {
    let doc = document();
    let error_ref = "#/components/schemas/ErrorBody";
    for (method, path) in documented_operations(&doc) {
        let op = &doc["paths"][&path][method.to_lowercase()];
        let responses = op["responses"].as_object().expect("responses");
        assert!(responses.keys().any(|k| k.starts_with('2')), "{method} {path} documents a success");
        for (status, response) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                let text = response.to_string();
                assert!(text.contains(error_ref), "{method} {path} {status} uses the error shape: {text}");
            }
        }
    }
}

#[test]
fn matching_rules() {
    assert!(answers("/tiles/{file}", "/tiles/{layer}.json"));
    assert!(answers("/tiles/{file}", "/tiles/shortage.json"));
    assert!(answers("/tiles/{layer}/{z}/{x}/{y}", "/tiles/commute/{z}/{x}/{y}.mvt"));
    assert!(!answers("/api/stats", "/api/stats/extra"));
    assert!(!answers("/api/regions/{id}", "/api/regions"));
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|x| collect_refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

#[test]
fn every_schema_reference_resolves() {
    let doc = document();
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("unexpected reference {r}"));
        assert!(doc["components"]["schemas"][name].is_object(), "dangling reference {r}");
    }
}

#[test]
fn operation_ids_are_unique() {
    let doc = document();
    let mut ids: Vec<String> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(!ids.iter().any(|i| i == id), "operationId '{id}' of {method} {path} is used twice");
            ids.push(id.to_string());
        }
    }
}

/// `/openapi.json` names each schema component after its Rust type, and of
/// two `ToSchema` types with the same name one silently replaces the other
/// there (a profile's `Headline` once stood in for the briefing's). Every
/// `ToSchema` type of the crate has a name of its own.
#[test]
fn schema_component_names_are_unique() {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    let mut seen: std::collections::BTreeMap<String, String> = Default::default();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut derives_schema = false;
        for line in text.lines().map(str::trim) {
            if line.starts_with("#[derive(") && line.contains("ToSchema") {
                derives_schema = true;
                continue;
            }
            if !derives_schema || line.starts_with("#[") || line.starts_with("///") {
                continue;
            }
            derives_schema = false;
            let Some(rest) = line.strip_prefix("pub struct ").or_else(|| line.strip_prefix("pub enum ")) else {
                continue;
            };
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            let at = file.display().to_string();
            if let Some(first) = seen.insert(name.clone(), at.clone()) {
                panic!("two ToSchema types named {name}: {first} and {at}");
            }
        }
    }
    assert!(seen.len() > 50, "found {} schema types", seen.len());
}
