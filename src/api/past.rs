//! `month=YYYY-MM` on the talents layer, region statistics and area
//! profiles: the city as of the end of that month
//! ([`crate::snapshot::past`]), built from the store on first use and kept
//! for the two most recently asked months of the current data version.
//!
//! Months from the one before the first month with a move to the last month
//! with a move are accepted; the last month with a move (and any later one)
//! is today's data.

use std::sync::Arc;

use crate::analytics::flows::{month_label, parse_month};
use crate::snapshot::Snapshot;
use crate::snapshot::past::{self, PastError};

use super::commute::CommuteCache;
use super::{ApiError, AppState};

/// A snapshot to answer from and its commute index cache.
#[derive(Clone)]
pub struct View {
    pub snap: Arc<Snapshot>,
    pub commute: Arc<CommuteCache>,
}

/// Past months' views, by `(data version, month)`.
pub struct PastViews {
    views: moka::sync::Cache<(u64, u32), View>,
}

impl Default for PastViews {
    fn default() -> Self {
        let views = moka::sync::Cache::builder()
            .name("past-months")
            .max_capacity(2)
            .eviction_policy(moka::policy::EvictionPolicy::lru())
            .build();
        PastViews { views }
    }
}

/// The month `value` asks for, checked against `snap`'s moves: `None` for
/// no value or a month that is today's data (the last month with a move
/// or later).
pub fn month_param(value: Option<&str>, snap: &Snapshot) -> Result<Option<u32>, ApiError> {
    let Some(text) = value.map(str::trim) else { return Ok(None) };
    let flows = &snap.flows;
    let range = || {
        if flows.months == 0 {
            "no month before today: there are no moves yet".to_string()
        } else {
            let last = flows.first_month + flows.months as u32 - 1;
            format!(
                "a month YYYY-MM from {} to {} (or later: today)",
                month_label(flows.first_month - 1),
                month_label(last)
            )
        }
    };
    let month = parse_month(text)
        .ok_or_else(|| ApiError::param("month", format!("'{text}' is not a month; accepted: {}", range())))?;
    if flows.months == 0 {
        return Ok(None);
    }
    let last = flows.first_month + flows.months as u32 - 1;
    if month >= last {
        return Ok(None);
    }
    if month + 1 < flows.first_month {
        return Err(ApiError::param("month", format!("'{text}' is before the moves begin; accepted: {}", range())));
    }
    Ok(Some(month))
}

impl AppState {
    /// The view to answer from: today's, or the end of `month`'s (see
    /// [`month_param`]), built on a blocking thread on first use.
    pub async fn view(&self, month: Option<u32>) -> Result<View, ApiError> {
        let present = View { snap: self.snapshot(), commute: self.commute.clone() };
        let Some(month) = month else { return Ok(present) };
        let Some(pool) = self.store.clone() else {
            return Err(ApiError::NoStore("a past month needs the store, and this server has none".into()));
        };
        let state = self.clone();
        let built = tokio::task::spawn_blocking(move || {
            for _ in 0..3 {
                let snap = state.snapshot();
                let key = (snap.version, month);
                let result = state.past.views.try_get_with(key, || {
                    let view = pool.with(|store| past::at_month_end(store, &snap, month))?;
                    crate::analytics::cells::talent_pyramid(&view);
                    Ok::<_, PastError>(View { snap: Arc::new(view), commute: Arc::default() })
                });
                match result {
                    Ok(view) => return Ok(view),
                    // The store moved on: follow it, then build again.
                    Err(e) if matches!(*e, PastError::Stale(_)) => {
                        state.refresh().map_err(|e| ApiError::Internal(e.to_string()))?;
                    }
                    Err(e) => return Err(ApiError::Internal(e.to_string())),
                }
            }
            Err(ApiError::Internal("the data kept changing while a past month's view was built".into()))
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
        Ok(built)
    }
}
