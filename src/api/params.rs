//! Parsers of parameter values that several routes share (a bounding box,
//! decimal numbers, area levels). Which parameters a route accepts is its
//! `ApiQuery` type (`api::query`).

use std::collections::BTreeMap;

use crate::spatial::MAX_LATITUDE;

use super::ApiError;

/// `bbox=west,south,east,north` in degrees.
pub fn bbox(query: &BTreeMap<String, String>, required: bool) -> Result<Option<[f64; 4]>, ApiError> {
    match query.get("bbox") {
        Some(v) => parse_bbox("bbox", v).map(Some),
        None if required => Err(ApiError::param("bbox", "required: west,south,east,north in degrees")),
        None => Ok(None),
    }
}

/// A box `west,south,east,north` in degrees given as parameter `name`.
pub fn parse_bbox(name: &str, v: &str) -> Result<[f64; 4], ApiError> {
    let parts: Vec<f64> = v.split(',').map(|p| p.trim().parse::<f64>()).collect::<Result<_, _>>().map_err(|_| {
        ApiError::param(name, format!("'{v}' is not four numbers; accepted: west,south,east,north in degrees"))
    })?;
    let [w, s, e, n] = parts[..] else {
        return Err(ApiError::param(
            name,
            format!("'{v}' has {} numbers; accepted: west,south,east,north", parts.len()),
        ));
    };
    let ok = parts.iter().all(|x| x.is_finite())
        && (-180.0..=180.0).contains(&w)
        && (-180.0..=180.0).contains(&e)
        && (-MAX_LATITUDE..=MAX_LATITUDE).contains(&s)
        && (-MAX_LATITUDE..=MAX_LATITUDE).contains(&n)
        && w <= e
        && s <= n;
    if !ok {
        return Err(ApiError::param(
            name,
            format!(
                "'{v}' is not a box; accepted: west ≤ east in [-180, 180], south ≤ north in [-{MAX_LATITUDE}, {MAX_LATITUDE}]"
            ),
        ));
    }
    Ok([w, s, e, n])
}

/// A decimal number parameter (finite). Its range is checked by the route,
/// which names it in the message.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(transparent)]
pub struct Number(pub f64);

impl Number {
    /// The value, checked against `min..=max` for parameter `name`.
    pub fn within(self, name: &str, min: f64, max: f64) -> Result<f64, ApiError> {
        if (min..=max).contains(&self.0) {
            Ok(self.0)
        } else {
            Err(ApiError::param(name, format!("'{}' is not accepted; accepted: a number in {min}..={max}", self.0)))
        }
    }
}

impl<'de> serde::Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.trim().parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Number(x)),
            _ => Err(serde::de::Error::custom(format!("'{text}' is not accepted; accepted: a decimal number"))),
        }
    }
}

impl utoipa::PartialSchema for Number {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Number)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Double)))
            .into()
    }
}

impl utoipa::ToSchema for Number {}

/// An area level: district or park.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    #[default]
    District,
    Park,
}

impl Level {
    pub fn kind(self) -> crate::model::RegionKind {
        match self {
            Level::District => crate::model::RegionKind::District,
            Level::Park => crate::model::RegionKind::Park,
        }
    }
}
