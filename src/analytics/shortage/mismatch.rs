//! Structural mismatch between demand and supply, per area and per industry
//! chain: demand vs supply tables by field × education and by title,
//! vertical mismatch (levels demanded above or below those supply holds),
//! horizontal mismatch (fields demanded that supply lacks) and the top
//! missing fields.
//!
//! # Scopes
//!
//! - **Area** (district or park): demand = open openings in the area;
//!   supply = seekers living there; workforce = talents working there.
//! - **Chain**: demand = open openings of enterprises in the chain's
//!   divisions; supply = the city's seekers (the pool every chain recruits
//!   from); workforce = talents employed in the chain's divisions.
//!
//! # Measures
//!
//! Shares are taken over the scope's totals. Let `Dₗ` be the share of
//! openings asking for level ≥ `l` and `Sₗ` the share of supply holding
//! level ≥ `l` (education: associate < bachelor < master < doctorate;
//! title: none < junior < intermediate < associate senior < senior).
//!
//! - vertical `above = max(0, maxₗ (Dₗ − Sₗ))`: the largest excess of demand
//!   over supply at some level and up — demand asks for more than supply
//!   holds; `below = max(0, maxₗ (Sₗ − Dₗ))`: supply holds more than demand
//!   asks (over-qualification). Both lie in [0, 1] (a one-sided
//!   Kolmogorov–Smirnov distance between the two level distributions).
//!   `direction` is `above` or `below` when that side exceeds the other by
//!   more than 0.05, else `balanced`. The mean level (0-based rank) of
//!   each side is given beside it.
//! - horizontal: the dissimilarity index `½ Σ_f |d_f − s_f|` of the field
//!   shares (Duncan & Duncan 1955; 0 = same mix, 1 = disjoint), and the
//!   fields with demand but no supply at all.
//! - top missing fields: fields with demand, ranked by their shortage index
//!   in the scope (supply = the scope's seekers, city ratio of the field;
//!   see [`super::index`]).
//!
//! Worked example: openings 60 bachelor, 40 master; seekers 90 bachelor, 10
//! master. `D_master = 0.4`, `S_master = 0.1`: `above = 0.3`, `below = 0`,
//! direction `above`.
//!
//! # Privacy
//!
//! Talent counts in `1..k` appear as `null` in the tables, and every share
//! and measure is computed from the published values (the band value
//! `k / 2` in place of a suppressed count), so no derived number depends on
//! a suppressed count.

use serde::Serialize;

use super::basis::{Basis, LEVELS, PER_FIELD, TITLES, sum_rows};
use super::index::{CityRatio, Smoothing, estimate, published_supply};
use crate::analytics::privacy::publishable;
use crate::model::{Education, Title};
use crate::snapshot::Snapshot;

/// What a mismatch report covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// A district or park (position in `Snapshot::regions`).
    Region(u16),
    /// An industry chain's division indices.
    Chain(Vec<u8>),
}

/// A count that is either personal (talents) or not (openings).
fn published(n: u64, k: u32) -> f64 {
    published_supply(n as f64, k).value
}

/// One row of the field × education table.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct FieldEducationRow {
    pub field: String,
    pub education: &'static str,
    pub demand: u64,
    /// Seekers; `null` when 1..k−1.
    pub supply: Option<u64>,
    /// Workforce; `null` when 1..k−1.
    pub workforce: Option<u64>,
}

/// One row of a by-field, by-education or by-title table.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct ShareRow {
    pub code: String,
    pub demand: u64,
    pub supply: Option<u64>,
    pub workforce: Option<u64>,
    pub demand_share: f64,
    pub supply_share: f64,
    pub workforce_share: f64,
}

/// Vertical mismatch of one ladder (education or title) against one supply.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Vertical {
    pub above: f64,
    pub below: f64,
    pub direction: &'static str,
    pub demand_mean_level: Option<f64>,
    pub supply_mean_level: Option<f64>,
}

/// Vertical mismatch against seekers and against the workforce.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct VerticalPair {
    pub against_supply: Option<Vertical>,
    pub against_workforce: Option<Vertical>,
}

/// Horizontal mismatch.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Horizontal {
    pub dissimilarity_supply: Option<f64>,
    pub dissimilarity_workforce: Option<f64>,
    /// Fields with demand and neither seekers nor workforce.
    pub absent_fields: Vec<String>,
}

/// A field the scope is short of.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct MissingField {
    pub field: String,
    pub demand: u64,
    pub supply: Option<u64>,
    pub index: f64,
    pub city_ratio: f64,
    /// No seekers and no workforce of the field in the scope.
    pub absent: bool,
}

/// The full mismatch report.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Mismatch {
    pub demand_total: u64,
    pub supply_total: Option<u64>,
    pub workforce_total: Option<u64>,
    pub by_field_education: Vec<FieldEducationRow>,
    pub by_field: Vec<ShareRow>,
    pub by_education: Vec<ShareRow>,
    pub by_title: Vec<ShareRow>,
    pub vertical_education: VerticalPair,
    pub vertical_title: VerticalPair,
    pub horizontal: Horizontal,
    pub top_missing_fields: Vec<MissingField>,
}

/// Level histogram (`levels` bins) of a table row, summed over fields.
fn ladder(row: &[u64], fields: usize, education: bool) -> Vec<u64> {
    let n = if education { LEVELS } else { TITLES };
    let mut out = vec![0u64; n];
    for f in 0..fields {
        for e in 0..LEVELS {
            for t in 0..TITLES {
                out[if education { e } else { t }] += row[f * PER_FIELD + e * TITLES + t];
            }
        }
    }
    out
}

/// Vertical measure of two level distributions (published values).
///
/// # Examples
/// ```
/// use talentmap::analytics::shortage::mismatch::vertical;
/// let v = vertical(&[0.0, 60.0, 40.0, 0.0], &[0.0, 90.0, 10.0, 0.0]).unwrap();
/// assert!((v.above - 0.3).abs() < 1e-12 && v.below == 0.0 && v.direction == "above");
/// ```
pub fn vertical(demand: &[f64], supply: &[f64]) -> Option<Vertical> {
    let (td, ts) = (demand.iter().sum::<f64>(), supply.iter().sum::<f64>());
    if td <= 0.0 || ts <= 0.0 {
        return None;
    }
    let (mut above, mut below) = (0.0f64, 0.0f64);
    for l in 1..demand.len() {
        let d: f64 = demand[l..].iter().sum::<f64>() / td;
        let s: f64 = supply[l..].iter().sum::<f64>() / ts;
        above = above.max(d - s);
        below = below.max(s - d);
    }
    let mean = |v: &[f64], t: f64| v.iter().enumerate().map(|(i, x)| i as f64 * x).sum::<f64>() / t;
    let direction = if above > below + 0.05 {
        "above"
    } else if below > above + 0.05 {
        "below"
    } else {
        "balanced"
    };
    Some(Vertical {
        above,
        below,
        direction,
        demand_mean_level: Some(mean(demand, td)),
        supply_mean_level: Some(mean(supply, ts)),
    })
}

/// Dissimilarity index `½ Σ |a_i/A − b_i/B|` of two distributions.
///
/// # Examples
/// ```
/// use talentmap::analytics::shortage::mismatch::dissimilarity;
/// assert_eq!(dissimilarity(&[1.0, 1.0], &[1.0, 1.0]), Some(0.0));
/// assert_eq!(dissimilarity(&[1.0, 0.0], &[0.0, 3.0]), Some(1.0));
/// ```
pub fn dissimilarity(a: &[f64], b: &[f64]) -> Option<f64> {
    let (ta, tb) = (a.iter().sum::<f64>(), b.iter().sum::<f64>());
    if ta <= 0.0 || tb <= 0.0 {
        return None;
    }
    Some(0.5 * a.iter().zip(b).map(|(x, y)| (x / ta - y / tb).abs()).sum::<f64>())
}

/// Builds the mismatch report of a scope. Talent counts follow the
/// privacy rule with threshold `k`; `smoothing` drives the index of the
/// top missing fields (at most 10).
pub fn mismatch(snap: &Snapshot, basis: &Basis, scope: &Scope, smoothing: &Smoothing) -> Mismatch {
    let k = smoothing.k;
    let nf = basis.fields;
    let width = nf * PER_FIELD;
    let (demand, supply, workforce): (Vec<u64>, Vec<u64>, Vec<u64>) = match scope {
        Scope::Region(r) => match basis.region_row(*r) {
            Some(row) => (
                basis.demand_by_region.row(row).to_vec(),
                basis.seekers_by_region.row(row).to_vec(),
                basis.workforce_by_region.row(row).to_vec(),
            ),
            None => (vec![0; width], vec![0; width], vec![0; width]),
        },
        Scope::Chain(divisions) => (
            sum_rows(divisions.iter().map(|&d| basis.demand_by_industry.row(d as usize)), width),
            basis.seekers_city.row(0).to_vec(),
            sum_rows(divisions.iter().map(|&d| basis.workforce_by_industry.row(d as usize)), width),
        ),
    };
    let code = |f: usize| snap.taxonomy.fields().get(f).map_or_else(String::new, |e| e.code.clone());
    let field_total = |row: &[u64], f: usize| row[f * PER_FIELD..(f + 1) * PER_FIELD].iter().sum::<u64>();

    let mut by_field_education = Vec::new();
    for f in 0..nf {
        for (e, level) in Education::ALL.iter().enumerate() {
            let cell =
                |row: &[u64]| row[f * PER_FIELD + e * TITLES..f * PER_FIELD + (e + 1) * TITLES].iter().sum::<u64>();
            let (d, s, w) = (cell(&demand), cell(&supply), cell(&workforce));
            if d + s + w > 0 {
                by_field_education.push(FieldEducationRow {
                    field: code(f),
                    education: level.code(),
                    demand: d,
                    supply: publishable(s, k),
                    workforce: publishable(w, k),
                });
            }
        }
    }

    let share_rows = |codes: Vec<String>, d: &[u64], s: &[u64], w: &[u64], keep_empty: bool| -> Vec<ShareRow> {
        let pub_s: Vec<f64> = s.iter().map(|&n| published(n, k)).collect();
        let pub_w: Vec<f64> = w.iter().map(|&n| published(n, k)).collect();
        let (td, ts, tw) = (d.iter().sum::<u64>() as f64, pub_s.iter().sum::<f64>(), pub_w.iter().sum::<f64>());
        let share = |x: f64, t: f64| if t > 0.0 { x / t } else { 0.0 };
        codes
            .into_iter()
            .enumerate()
            .filter(|(i, _)| keep_empty || d[*i] + s[*i] + w[*i] > 0)
            .map(|(i, code)| ShareRow {
                code,
                demand: d[i],
                supply: publishable(s[i], k),
                workforce: publishable(w[i], k),
                demand_share: share(d[i] as f64, td),
                supply_share: share(pub_s[i], ts),
                workforce_share: share(pub_w[i], tw),
            })
            .collect()
    };
    let fd: Vec<u64> = (0..nf).map(|f| field_total(&demand, f)).collect();
    let fs: Vec<u64> = (0..nf).map(|f| field_total(&supply, f)).collect();
    let fw: Vec<u64> = (0..nf).map(|f| field_total(&workforce, f)).collect();
    let mut by_field = share_rows((0..nf).map(code).collect(), &fd, &fs, &fw, false);
    by_field.sort_by(|a, b| b.demand.cmp(&a.demand).then(a.code.cmp(&b.code)));

    let (ed, es, ew) = (ladder(&demand, nf, true), ladder(&supply, nf, true), ladder(&workforce, nf, true));
    let (td_, ts_, tw_) = (ladder(&demand, nf, false), ladder(&supply, nf, false), ladder(&workforce, nf, false));
    let by_education = share_rows(Education::ALL.iter().map(|e| e.code().to_string()).collect(), &ed, &es, &ew, true);
    let by_title = share_rows(Title::ALL.iter().map(|t| t.code().to_string()).collect(), &td_, &ts_, &tw_, true);

    let f64s = |v: &[u64], personal: bool| -> Vec<f64> {
        v.iter().map(|&n| if personal { published(n, k) } else { n as f64 }).collect()
    };
    let pair = |d: &[u64], s: &[u64], w: &[u64]| VerticalPair {
        against_supply: vertical(&f64s(d, false), &f64s(s, true)),
        against_workforce: vertical(&f64s(d, false), &f64s(w, true)),
    };
    let horizontal = Horizontal {
        dissimilarity_supply: dissimilarity(&f64s(&fd, false), &f64s(&fs, true)),
        dissimilarity_workforce: dissimilarity(&f64s(&fd, false), &f64s(&fw, true)),
        absent_fields: (0..nf).filter(|&f| fd[f] > 0 && fs[f] == 0 && fw[f] == 0).map(code).collect(),
    };

    let mut missing: Vec<MissingField> = (0..nf)
        .filter(|&f| fd[f] > 0)
        .map(|f| {
            let city = CityRatio::new(
                field_total(basis.demand_city.row(0), f) as f64,
                field_total(basis.seekers_city.row(0), f) as f64,
                k,
            );
            let e = estimate(fd[f] as f64, fs[f] as f64, &city, smoothing);
            MissingField {
                field: code(f),
                demand: fd[f],
                supply: publishable(fs[f], k),
                index: e.index,
                city_ratio: city.ratio,
                absent: fs[f] == 0 && fw[f] == 0,
            }
        })
        .collect();
    missing.sort_by(|a, b| b.index.total_cmp(&a.index).then(b.demand.cmp(&a.demand)).then(a.field.cmp(&b.field)));
    missing.truncate(10);

    Mismatch {
        demand_total: fd.iter().sum(),
        supply_total: publishable(fs.iter().sum(), k),
        workforce_total: publishable(fw.iter().sum(), k),
        by_field_education,
        by_field,
        by_education,
        by_title,
        vertical_education: pair(&ed, &es, &ew),
        vertical_title: pair(&td_, &ts_, &tw_),
        horizontal,
        top_missing_fields: missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vertical_by_hand() {
        // Worked example from the module docs.
        let v = vertical(&[0.0, 60.0, 40.0, 0.0], &[0.0, 90.0, 10.0, 0.0]).unwrap();
        assert!((v.above - 0.3).abs() < 1e-12);
        assert_eq!(v.below, 0.0);
        assert_eq!(v.direction, "above");
        assert!((v.demand_mean_level.unwrap() - 1.4).abs() < 1e-12);
        assert!((v.supply_mean_level.unwrap() - 1.1).abs() < 1e-12);
        // Over-qualified supply.
        let w = vertical(&[50.0, 50.0, 0.0, 0.0], &[0.0, 20.0, 60.0, 20.0]).unwrap();
        assert_eq!(w.direction, "below");
        assert!((w.below - 0.8).abs() < 1e-12, "{}", w.below); // ≥ master: 0 vs 0.8
        assert!(vertical(&[0.0; 4], &[1.0; 4]).is_none());
    }

    #[test]
    fn dissimilarity_by_hand() {
        // Demand 50/50 over two fields, supply 100 % in the first: ½(0.5 + 0.5) = 0.5.
        assert_eq!(dissimilarity(&[5.0, 5.0], &[8.0, 0.0]), Some(0.5));
    }
}
