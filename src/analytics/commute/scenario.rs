//! What-if: the indicators and the underserved ranking recomputed as if
//! hypothetical stations or shuttle stops existed. Nothing is persisted; the
//! snapshot and its [`CommuteIndex`] are only read.
//!
//! A stop serves the homes and workplaces within its service radius (default
//! [`WALK_RADIUS_M`], 800 m, like a rail station) on the ground. Starting from
//! the per-talent "near rail" sets, each stop's catchment is added; every
//! talent that becomes served updates the totals of its home and work areas,
//! so the cost is proportional to the people near the new stops, not to the
//! city. Commute distances do not change (a shuttle changes the trip, not the
//! distance); a park's nearest station becomes the nearest stop when closer.

use crate::analytics::privacy::Tally;
use crate::snapshot::{NONE16, Snapshot};

use super::distance::haversine_km;
use super::indicators::AreaCounts;
use super::underserved::NearestStation;
use super::{CommuteIndex, WALK_RADIUS_M, mark_catchment};

/// Largest accepted service radius of a stop, in metres.
pub const MAX_RADIUS_M: f64 = 5000.0;
/// Most stops in one scenario.
pub const MAX_STOPS: usize = 1000;

/// A hypothetical station or shuttle stop.
#[derive(Debug, Clone, PartialEq)]
pub struct Stop {
    pub lon: f64,
    pub lat: f64,
    /// Service radius in metres, `(0, MAX_RADIUS_M]`.
    pub radius_m: f64,
    pub name: String,
}

impl Stop {
    /// A stop with the default 800 m radius.
    pub fn new(lon: f64, lat: f64, name: impl Into<String>) -> Stop {
        Stop { lon, lat, radius_m: WALK_RADIUS_M, name: name.into() }
    }
}

/// The recomputed totals.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Totals per region, city last (as [`CommuteIndex`] holds them).
    pub areas: Vec<AreaCounts>,
    /// Nearest station of each park, stops included.
    pub park_nearest: Vec<Option<NearestStation>>,
    /// Talents with a workplace whose home became served.
    pub newly_served_homes: Tally,
    /// Talents whose workplace became served.
    pub newly_served_jobs: Tally,
}

/// Applies `stops` to the unfiltered totals of `index`.
pub fn apply(snap: &Snapshot, index: &CommuteIndex, stops: &[Stop]) -> Outcome {
    let mut areas = index.areas.clone();
    let city = areas.len() - 1;
    let (mut home_near, mut work_near) = (index.home_near.clone(), index.work_near.clone());
    let (mut homes, mut jobs) = (Tally::default(), Tally::default());
    for stop in stops {
        mark_catchment(snap, [stop.lon, stop.lat], stop.radius_m, &mut home_near, &mut work_near, |i, is_home| {
            let t = &snap.talents[i];
            if !t.has_work() {
                return;
            }
            let bump = |a: &mut AreaCounts, on_jobs: bool| {
                let side = if on_jobs { &mut a.jobs } else { &mut a.homes };
                if is_home {
                    side.home_near.add(t.rkey);
                } else {
                    side.work_near.add(t.rkey);
                }
            };
            for r in [t.work_district, t.work_park] {
                if r != NONE16 {
                    bump(&mut areas[r as usize], true);
                }
            }
            for r in [t.home_district, t.home_park] {
                if r != NONE16 {
                    bump(&mut areas[r as usize], false);
                }
            }
            bump(&mut areas[city], true);
            bump(&mut areas[city], false);
            if is_home {
                homes.add(t.rkey);
            } else {
                jobs.add(t.rkey);
            }
        });
    }
    let park_nearest = snap
        .regions
        .iter()
        .zip(&index.park_nearest)
        .map(|(r, base)| {
            let best_stop = stops
                .iter()
                .map(|s| (s, haversine_km(r.centre, [s.lon, s.lat]) * 1000.0))
                .min_by(|a, b| a.1.total_cmp(&b.1));
            match (base, best_stop) {
                (_, None) => base.clone(),
                (Some(b), Some((_, m))) if b.metres <= m => base.clone(),
                (None, Some(_)) if r.kind != crate::model::RegionKind::Park => None,
                (_, Some((s, metres))) => {
                    Some(NearestStation { name: s.name.clone(), name_en: String::new(), metres, hypothetical: true })
                }
            }
        })
        .collect();
    Outcome { areas, park_nearest, newly_served_homes: homes, newly_served_jobs: jobs }
}
