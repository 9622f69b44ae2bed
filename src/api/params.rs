//! Query-string helpers: every handler states which parameters it accepts,
//! so a misspelt parameter is a 400 naming it instead of a silently ignored
//! filter.

use std::collections::BTreeMap;

use crate::analytics::filter::{FILTER_PARAMS, Filter};
use crate::snapshot::Snapshot;

use super::ApiError;

/// Rejects parameters outside `FILTER_PARAMS` and `extra`.
pub fn check_known(query: &BTreeMap<String, String>, filters: bool, extra: &[&str]) -> Result<(), ApiError> {
    for key in query.keys() {
        let known = extra.contains(&key.as_str()) || (filters && FILTER_PARAMS.contains(&key.as_str()));
        if !known {
            let mut accepted: Vec<&str> = extra.to_vec();
            if filters {
                accepted.extend(FILTER_PARAMS);
            }
            return Err(ApiError::param(key, format!("unknown parameter; accepted: {}", accepted.join(", "))));
        }
    }
    Ok(())
}

/// The filter of a query.
pub fn filter(query: &BTreeMap<String, String>, snap: &Snapshot) -> Result<Filter, ApiError> {
    Filter::parse(query, &snap.taxonomy, snap.reference_year).map_err(|e| ApiError::param(e.param, e.message))
}

/// `bbox=west,south,east,north` in degrees.
pub fn bbox(query: &BTreeMap<String, String>, required: bool) -> Result<Option<[f64; 4]>, ApiError> {
    let Some(v) = query.get("bbox") else {
        return if required {
            Err(ApiError::param("bbox", "required: west,south,east,north in degrees"))
        } else {
            Ok(None)
        };
    };
    let parts: Vec<f64> = v.split(',').map(|p| p.trim().parse::<f64>()).collect::<Result<_, _>>().map_err(|_| {
        ApiError::param("bbox", format!("'{v}' is not four numbers; accepted: west,south,east,north in degrees"))
    })?;
    let [w, s, e, n] = parts[..] else {
        return Err(ApiError::param(
            "bbox",
            format!("'{v}' has {} numbers; accepted: west,south,east,north", parts.len()),
        ));
    };
    let ok = parts.iter().all(|x| x.is_finite())
        && (-180.0..=180.0).contains(&w)
        && (-180.0..=180.0).contains(&e)
        && (-85.0511..=85.0511).contains(&s)
        && (-85.0511..=85.0511).contains(&n)
        && w <= e
        && s <= n;
    if !ok {
        return Err(ApiError::param(
            "bbox",
            format!("'{v}' is not a box; accepted: west ≤ east in [-180, 180], south ≤ north in [-85.0511, 85.0511]"),
        ));
    }
    Ok(Some([w, s, e, n]))
}

/// An integer parameter in `min..=max`, or `default`.
pub fn int(query: &BTreeMap<String, String>, name: &str, min: u64, max: u64, default: u64) -> Result<u64, ApiError> {
    match query.get(name) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::param(name, format!("'{v}' is not accepted; accepted: an integer in {min}..={max}"))),
        },
    }
}
