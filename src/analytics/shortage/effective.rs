//! The commuting catchment of one query (field, narrowing, radius, decay),
//! computed from the per-field lists of the [`Basis`] and memoised with the
//! snapshot, so a ranking or tile request never recomputes it and never
//! scans the city.
//!
//! Seekers of the field are binned to grid cells of level
//! [`SEEKER_CELL_LEVEL`] (about 1 km) at their centroid; vacancy rows are
//! merged into sites, one per enterprise position. [`two_step`] then gives
//! every site its accessible seekers per opening `A_j`, and the site's
//! effective supply `O_j · A_j` is summed into its district and park.

use std::sync::Arc;

use super::basis::{Basis, Narrow};
use super::catchment::{Decay, SEEKER_CELL_LEVEL, WeightedPoint, two_step};
use crate::snapshot::{NONE16, Snapshot, key_to_unit};
use crate::spatial::morton;

/// One vacancy site: the openings of a field at one position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Site {
    pub key: u64,
    /// First enterprise at the position.
    pub enterprise: u32,
    pub openings: f64,
    /// `A_j`: accessible seekers per opening.
    pub access: f64,
    pub district: u16,
    pub park: u16,
}

impl Site {
    /// Effective supply `O_j · A_j`.
    pub fn effective_supply(&self) -> f64 {
        self.openings * self.access
    }
}

/// The catchment result of one query.
#[derive(Debug, Clone)]
pub struct FieldCatchment {
    /// Sites sorted by key.
    pub sites: Vec<Site>,
    /// Effective supply per region index (districts and parks).
    pub by_region: Vec<f64>,
    /// Openings over all sites.
    pub demand: f64,
    /// Seekers allocated to some opening (`Σ_j O_j A_j`).
    pub allocated: f64,
    /// Seekers with no opening in reach.
    pub unreached: f64,
    /// Seeker points (grid cells) used.
    pub seeker_points: usize,
}

impl FieldCatchment {
    /// Sites whose key lies in a range (a tile or a cell).
    pub fn sites_in(&self, keys: std::ops::Range<u64>) -> &[Site] {
        let a = self.sites.partition_point(|s| s.key < keys.start);
        let b = self.sites.partition_point(|s| s.key < keys.end);
        &self.sites[a..b]
    }
}

/// The catchment parameters, part of the memo key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CatchmentParams {
    pub radius_m: f64,
    pub decay: Decay,
}

/// Computes the catchment of `field` under `narrow`.
pub fn compute(snap: &Snapshot, basis: &Basis, field: u8, narrow: Narrow, p: CatchmentParams) -> FieldCatchment {
    // Seeker points: seekers binned to ~1 km cells at their centroid. The
    // list is sorted by key, so each cell is one run.
    let mut points: Vec<WeightedPoint> = Vec::new();
    let mut current = u64::MAX;
    let (mut n, mut sx, mut sy) = (0.0f64, 0.0f64, 0.0f64);
    let seekers = basis.seekers.get(field as usize).map_or(&[][..], |v| v.as_slice());
    for s in seekers.iter().filter(|s| narrow.supply(s.education, s.title)) {
        let cell = morton::cell_id(s.key, SEEKER_CELL_LEVEL);
        if cell != current {
            if n > 0.0 {
                points.push(WeightedPoint { x: sx / n, y: sy / n, weight: n });
            }
            (current, n, sx, sy) = (cell, 0.0, 0.0, 0.0);
        }
        let [x, y] = key_to_unit(s.key);
        n += 1.0;
        sx += x;
        sy += y;
    }
    if n > 0.0 {
        points.push(WeightedPoint { x: sx / n, y: sy / n, weight: n });
    }
    // Sites: open rows merged per position.
    let mut sites: Vec<Site> = Vec::new();
    let rows = basis.demand.get(field as usize).map_or(&[][..], |v| v.as_slice());
    for r in rows.iter().filter(|r| narrow.demand(r.education, r.title)) {
        match sites.last_mut() {
            Some(last) if last.key == r.key => last.openings += r.openings as f64,
            _ => sites.push(Site {
                key: r.key,
                enterprise: r.enterprise,
                openings: r.openings as f64,
                access: 0.0,
                district: r.district,
                park: r.park,
            }),
        }
    }
    let site_points: Vec<WeightedPoint> = sites
        .iter()
        .map(|s| {
            let [x, y] = key_to_unit(s.key);
            WeightedPoint { x, y, weight: s.openings }
        })
        .collect();
    let access = two_step(&points, &site_points, p.radius_m, p.decay);
    let mut by_region = vec![0.0f64; snap.regions.len()];
    let mut allocated = 0.0;
    let mut demand = 0.0;
    for (s, a) in sites.iter_mut().zip(access.per_opening) {
        s.access = a;
        let eff = s.effective_supply();
        allocated += eff;
        demand += s.openings;
        for r in [s.district, s.park] {
            if r != NONE16
                && let Some(slot) = by_region.get_mut(r as usize)
            {
                *slot += eff;
            }
        }
    }
    FieldCatchment { sites, by_region, demand, allocated, unreached: access.unreached, seeker_points: points.len() }
}

/// The catchment of a query, memoised with the snapshot.
pub fn of(snap: &Snapshot, basis: &Basis, field: u8, narrow: Narrow, p: CatchmentParams) -> Arc<FieldCatchment> {
    let key = format!(
        "shortage/catchment/{field}/{:?}/{:?}/{}/{}",
        narrow.education,
        narrow.title,
        p.radius_m.to_bits(),
        p.decay.code()
    );
    snap.memo.get_or_compute(&key, || compute(snap, basis, field, narrow, p))
}
