//! The privacy rule for talent aggregates (personal data).
//!
//! Until access control exists no endpoint reveals an individual talent:
//! talents leave the server only as aggregates, and an aggregate whose count
//! lies between 1 and k−1 (k = 5 by default, configurable) is suppressed —
//! served without its count or breakdown and marked `suppressed`. Zero is
//! not suppressed: an empty cell reveals nobody.

/// The count as it may be published, or `None` when it must be suppressed.
///
/// # Examples
/// ```
/// use talentmap::analytics::privacy::publishable;
/// assert_eq!(publishable(0, 5), Some(0));
/// assert_eq!(publishable(4, 5), None);
/// assert_eq!(publishable(5, 5), Some(5));
/// ```
pub fn publishable(count: u64, k: u32) -> Option<u64> {
    if count > 0 && count < k as u64 { None } else { Some(count) }
}

/// JSON for a count under the rule: the number, or `null`.
pub fn json_count(count: u64, k: u32) -> serde_json::Value {
    publishable(count, k).map_or(serde_json::Value::Null, serde_json::Value::from)
}
