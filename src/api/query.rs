//! Typed query strings: [`ApiQuery<T>`] turns `?a=1&b=x` into a `T` that
//! derives `Deserialize` (the values) and utoipa's `IntoParams` (the names,
//! which are also what `/openapi.json` documents), so a route's accepted
//! parameters are written down once.
//!
//! Strict by design, because a silently ignored or half-read parameter
//! shows a user the wrong map:
//! - a parameter the route does not know is a `400` naming it and listing the
//!   accepted ones;
//! - a parameter given twice (`field=9999&field=0812`) is a `400` naming it —
//!   lists are comma-separated, never repeated;
//! - integers are digits only ([`Int`]): `+1`, ` 1`, `1.0` and `0x1` are
//!   refused with the accepted range;
//! - a value the type refuses is a `400` naming the parameter and what it
//!   accepts.
//!
//! The record filters shared by many routes are [`FilterParams`]; a route
//! that takes them and its own parameters uses [`Filtered<T>`].

use std::any::TypeId;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, OnceLock, RwLock};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use crate::analytics::filter::Filter;
use crate::snapshot::Snapshot;

use super::ApiError;

/// A query string parsed into `T`, or a `400` in the API's error shape.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

/// What [`ApiQuery`] needs of a query type: its parameter names and how to
/// build it from decoded `(name, value)` pairs that hold only those names.
pub trait QueryParams: Sized {
    /// The accepted parameter names, in documentation order.
    fn names() -> Vec<String>;
    /// The value from pairs whose names are all in [`QueryParams::names`],
    /// each at most once.
    fn from_pairs(pairs: &[(String, String)]) -> Result<Self, ApiError>;
}

impl<T: DeserializeOwned + IntoParams> QueryParams for T {
    fn names() -> Vec<String> {
        param_names::<T>()
    }

    fn from_pairs(pairs: &[(String, String)]) -> Result<Self, ApiError> {
        deserialize_pairs(pairs)
    }
}

/// The names `T` documents as query parameters.
pub fn param_names<T: IntoParams>() -> Vec<String> {
    T::into_params(|| Some(ParameterIn::Query)).into_iter().map(|p: Parameter| p.name).collect()
}

/// The names `make` gives for type `T`, made once per process: they come
/// from the OpenAPI description, too costly to build for every request.
pub(crate) fn names_of<T: 'static>(make: impl FnOnce() -> Vec<String>) -> Arc<[String]> {
    static NAMES: OnceLock<RwLock<HashMap<TypeId, Arc<[String]>>>> = OnceLock::new();
    let map = NAMES.get_or_init(Default::default);
    let known = map.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&TypeId::of::<T>()).cloned();
    if let Some(names) = known {
        return names;
    }
    let names: Arc<[String]> = make().into();
    map.write().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(TypeId::of::<T>(), names.clone());
    names
}

impl<S: Send + Sync, T: QueryParams + 'static> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse_query::<T>(parts.uri.query().unwrap_or("")).map(ApiQuery)
    }
}

/// Parses a raw query string (without `?`) strictly into `T`.
pub fn parse_query<T: QueryParams + 'static>(raw: &str) -> Result<T, ApiError> {
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(raw.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let names = names_of::<T>(T::names);
    let mut seen = HashSet::new();
    for (key, _) in &pairs {
        if !names.iter().any(|n| n == key) {
            let accepted = if names.is_empty() { "none".to_string() } else { names.join(", ") };
            return Err(ApiError::param(key, format!("unknown parameter; accepted: {accepted}")));
        }
        if !seen.insert(key.as_str()) {
            return Err(ApiError::param(
                key,
                "given more than once; give each parameter once (lists are comma-separated, e.g. field=0812,0835)",
            ));
        }
    }
    T::from_pairs(&pairs)
}

/// Deserializes `T` from pairs, naming the parameter of the first error.
fn deserialize_pairs<T: DeserializeOwned>(pairs: &[(String, String)]) -> Result<T, ApiError> {
    let encoded = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let param = if path.is_empty() || path == "." || path == "?" {
            // Errors about the whole struct (a missing field) name it in backticks.
            message.split('`').nth(1).unwrap_or("query").to_string()
        } else {
            path
        };
        let message = match message.strip_prefix("missing field ") {
            Some(_) => "required".to_string(),
            None => readable(&message),
        };
        ApiError::param(param, message)
    })
}

/// serde's messages in the API's words: `unknown variant `x`, expected one
/// of `a`, `b`` becomes `'x' is not accepted; accepted: a, b`.
fn readable(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("unknown variant `")
        && let Some((value, expected)) = rest.split_once("`, expected ")
    {
        let accepted = expected.trim_start_matches("one of ").replace('`', "").replace(" or ", ", ");
        return format!("'{value}' is not accepted; accepted: {accepted}");
    }
    message.to_string()
}

/// An integer parameter in `MIN..=MAX`, written with ASCII digits only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Int<const MIN: u64, const MAX: u64>(pub u64);

impl<const MIN: u64, const MAX: u64> Int<MIN, MAX> {
    pub fn get(self) -> u64 {
        self.0
    }

    /// Parses `value` as the parameter would be parsed.
    pub fn parse(value: &str) -> Result<Self, String> {
        let ok = !value.is_empty() && value.len() <= 20 && value.bytes().all(|b| b.is_ascii_digit());
        match value.parse::<u64>() {
            Ok(n) if ok && (MIN..=MAX).contains(&n) => Ok(Int(n)),
            _ => Err(format!("'{value}' is not accepted; accepted: an integer in {MIN}..={MAX} (digits only)")),
        }
    }
}

impl<'de, const MIN: u64, const MAX: u64> Deserialize<'de> for Int<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<const MIN: u64, const MAX: u64>;
        impl<const MIN: u64, const MAX: u64> serde::de::Visitor<'_> for Visit<MIN, MAX> {
            type Value = Int<MIN, MAX>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "an integer in {MIN}..={MAX}")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Int::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Int::parse(&v.to_string()).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visit::<MIN, MAX>)
    }
}

impl<const MIN: u64, const MAX: u64> PartialSchema for Int<MIN, MAX> {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Integer)
            .minimum(Some(MIN as f64))
            .maximum(Some(MAX as f64))
            .into()
    }
}

impl<const MIN: u64, const MAX: u64> ToSchema for Int<MIN, MAX> {}

/// The record filters (see `analytics::filter`): each a comma-separated
/// list; ages and `seeking` take one value. Filters that do not apply to a
/// layer are accepted and ignored.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FilterParams {
    /// Industry division codes (GB/T 4754-2017, 2 digits) or industry chain ids, comma-separated.
    #[param(example = "39,C")]
    pub industry: Option<String>,
    /// Discipline codes (first-level, 4 digits), comma-separated.
    #[param(example = "0812")]
    pub field: Option<String>,
    /// Education levels: associate, bachelor, master, doctorate (comma-separated).
    pub education: Option<String>,
    /// Professional titles: none, junior, intermediate, associate_senior, senior (comma-separated).
    pub title: Option<String>,
    /// Talent tiers A–E or none (comma-separated).
    pub tier: Option<String>,
    /// Youngest age in years (inclusive).
    pub min_age: Option<String>,
    /// Oldest age in years (inclusive).
    pub max_age: Option<String>,
    /// Only talents who are (true) or are not (false) seeking a job.
    pub seeking: Option<String>,
}

impl FilterParams {
    /// The parameters as the filter parser takes them.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        let entries = [
            ("industry", &self.industry),
            ("field", &self.field),
            ("education", &self.education),
            ("title", &self.title),
            ("tier", &self.tier),
            ("min_age", &self.min_age),
            ("max_age", &self.max_age),
            ("seeking", &self.seeking),
        ];
        entries.into_iter().filter_map(|(k, v)| v.as_ref().map(|v| (k.to_string(), v.clone()))).collect()
    }

    /// The parsed filter, or a `400` naming the parameter.
    pub fn filter(&self, snap: &Snapshot) -> Result<Filter, ApiError> {
        Filter::parse(&self.to_map(), &snap.taxonomy, snap.reference_year)
            .map_err(|e| ApiError::param(e.param, e.message))
    }
}

/// `month=YYYY-MM`: the talents as of the end of that month (see
/// `api::past`).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MonthParams {
    /// `YYYY-MM`: talent numbers as of the end of that month, reconstructed
    /// from the moves (from the month before the first month with a move;
    /// the last month with a move and later are today's). On the tile
    /// routes it draws the `talents` and `regions` layers; the others are
    /// today's.
    #[param(pattern = r"^\d{4}-\d{2}$")]
    pub month: Option<String>,
}

/// A route's own parameters `T` plus the record filters.
#[derive(Debug, Clone)]
pub struct Filtered<T> {
    pub filter: FilterParams,
    pub query: T,
}

impl<T: QueryParams> QueryParams for Filtered<T> {
    fn names() -> Vec<String> {
        let mut names = T::names();
        names.extend(param_names::<FilterParams>());
        names
    }

    fn from_pairs(pairs: &[(String, String)]) -> Result<Self, ApiError> {
        let filter_names = names_of::<FilterParams>(param_names::<FilterParams>);
        let (filter, own): (Vec<_>, Vec<_>) = pairs.iter().cloned().partition(|(k, _)| filter_names.contains(k));
        Ok(Filtered { filter: deserialize_pairs(&filter)?, query: T::from_pairs(&own)? })
    }
}

/// The parameters of a route that takes none: any parameter is a `400`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NoParams {}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, IntoParams)]
    #[into_params(parameter_in = Query)]
    #[allow(dead_code)]
    struct Sample {
        /// A zoom.
        zoom: Int<0, 22>,
        by: Option<By>,
        q: Option<String>,
    }

    #[derive(Debug, Deserialize, ToSchema, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum By {
        District,
        Park,
    }

    fn param_of(r: Result<impl fmt::Debug, ApiError>) -> (String, String) {
        match r {
            Err(ApiError::BadParam { param, message }) => (param, message),
            other => panic!("expected a parameter error, got {other:?}"),
        }
    }

    #[test]
    fn parses_typed_values() {
        let s: Sample = parse_query("zoom=12&by=park&q=%E6%B5%8E%E5%8D%97").expect("valid");
        assert_eq!(s.zoom.get(), 12);
        assert_eq!(s.by, Some(By::Park));
        assert_eq!(s.q.as_deref(), Some("济南"));
    }

    #[test]
    fn a_repeated_parameter_is_named() {
        let (param, message) = param_of(parse_query::<Sample>("zoom=1&zoom=2"));
        assert_eq!(param, "zoom");
        assert!(message.contains("more than once"), "{message}");
    }

    #[test]
    fn an_unknown_parameter_lists_the_accepted_ones() {
        let (param, message) = param_of(parse_query::<Sample>("zoom=1&zom=2"));
        assert_eq!(param, "zom");
        assert!(message.contains("zoom, by, q"), "{message}");
    }

    #[test]
    fn integers_are_digits_only_and_in_range() {
        for bad in ["%2B1", "+1", "-1", "1.0", "0x1", "23", "", "%201"] {
            let (param, message) = param_of(parse_query::<Sample>(&format!("zoom={bad}")));
            assert_eq!(param, "zoom", "{bad}");
            assert!(message.contains("0..=22"), "{bad}: {message}");
        }
    }

    #[test]
    fn a_missing_required_parameter_is_named() {
        let (param, message) = param_of(parse_query::<Sample>("by=park"));
        assert_eq!((param.as_str(), message.as_str()), ("zoom", "required"));
    }

    #[test]
    fn an_unknown_enum_value_lists_the_accepted_ones() {
        let (param, message) = param_of(parse_query::<Sample>("zoom=3&by=city"));
        assert_eq!(param, "by");
        assert_eq!(message, "'city' is not accepted; accepted: district, park");
    }

    #[test]
    fn filtered_splits_filters_from_own_parameters() {
        let f: Filtered<Sample> = parse_query("zoom=3&field=0812&tier=A").expect("valid");
        assert_eq!(f.query.zoom.get(), 3);
        assert_eq!(f.filter.field.as_deref(), Some("0812"));
        assert_eq!(f.filter.to_map().len(), 2);
        let (param, _) = param_of(parse_query::<Filtered<Sample>>("zoom=3&field=0812&field=0835"));
        assert_eq!(param, "field");
        let (param, message) = param_of(parse_query::<Filtered<Sample>>("zoom=3&colour=red"));
        assert_eq!(param, "colour");
        assert!(message.contains("seeking"), "filters are listed as accepted: {message}");
    }

    #[test]
    fn no_params_refuses_any() {
        assert!(parse_query::<NoParams>("").is_ok());
        assert_eq!(param_of(parse_query::<NoParams>("x=1")).0, "x");
    }
}
