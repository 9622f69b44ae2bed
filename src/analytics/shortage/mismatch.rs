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
//! Seeker and workforce counts are [`Tally`]s, and every one that is
//! published — a cell of the field × education table, a row of the by-field,
//! by-education and by-title tables, a total — is the published value of its
//! **own** tally (`Disclosure::count`, `analytics::privacy`): a total is not
//! the sum of its published rows but its own perturbed count, so a total
//! minus its rows is noise, not a person. Shares, the vertical and
//! horizontal measures, the absent fields and the top missing fields are
//! computed from the published values only. A row whose published numbers
//! are all 0 is left out like an empty one.

use serde::Serialize;

use super::basis::{Basis, LEVELS, PER_FIELD, PlaceRows, TITLES, sum_rows, sum_tally_rows};
use super::index::{CityRatio, Smoothing, estimate};
use crate::analytics::privacy::Tally;
use crate::model::{Education, Title};
use crate::snapshot::Snapshot;

/// What a mismatch report covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// A district or park (position in `Snapshot::regions`).
    Region(u16),
    /// An industry chain's division indices.
    Chain(Vec<u8>),
    /// A study area, its rows counted from the records
    /// ([`Basis::place_rows`]).
    Counted(PlaceRows),
}

/// One row of the field × education table.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct FieldEducationRow {
    pub field: String,
    pub education: &'static str,
    pub demand: u64,
    /// Seekers (published value).
    pub supply: u64,
    /// Workforce (published value).
    pub workforce: u64,
}

/// One row of a by-field, by-education or by-title table.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct ShareRow {
    pub code: String,
    pub demand: u64,
    /// Seekers (published value).
    pub supply: u64,
    /// Workforce (published value).
    pub workforce: u64,
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
    /// Seekers (published value).
    pub supply: u64,
    pub index: f64,
    pub city_ratio: f64,
    /// No seekers and no workforce of the field in the scope.
    pub absent: bool,
}

/// The full mismatch report.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Mismatch {
    pub demand_total: u64,
    /// Seekers in the scope: the published value of their own tally.
    pub supply_total: u64,
    /// Workforce in the scope: the published value of its own tally.
    pub workforce_total: u64,
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
fn ladder<T: Copy + Default>(row: &[T], fields: usize, education: bool, add: impl Fn(&mut T, T)) -> Vec<T> {
    let n = if education { LEVELS } else { TITLES };
    let mut out = vec![T::default(); n];
    for f in 0..fields {
        for e in 0..LEVELS {
            for t in 0..TITLES {
                add(&mut out[if education { e } else { t }], row[f * PER_FIELD + e * TITLES + t]);
            }
        }
    }
    out
}

fn add_u64(a: &mut u64, b: u64) {
    *a += b;
}

fn add_tally(a: &mut Tally, b: Tally) {
    a.merge(b);
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

/// Builds the mismatch report of a scope. Talent counts are published
/// under `smoothing.disclosure`; `smoothing` also drives the index of the
/// top missing fields (at most 10).
pub fn mismatch(snap: &Snapshot, basis: &Basis, scope: &Scope, smoothing: &Smoothing) -> Mismatch {
    let disclosure = smoothing.disclosure;
    let count = |t: Tally| disclosure.count(t);
    let nf = basis.fields;
    let width = nf * PER_FIELD;
    let (demand, supply, workforce): (Vec<u64>, Vec<Tally>, Vec<Tally>) = match scope {
        Scope::Region(r) => match basis.region_row(*r) {
            Some(row) => (
                basis.demand_by_region.row(row).to_vec(),
                basis.seekers_by_region.tally_row(row),
                basis.workforce_by_region.tally_row(row),
            ),
            None => (vec![0; width], vec![Tally::default(); width], vec![Tally::default(); width]),
        },
        Scope::Chain(divisions) => (
            sum_rows(divisions.iter().map(|&d| basis.demand_by_industry.row(d as usize)), width),
            basis.seekers_city.tally_row(0),
            sum_tally_rows(divisions.iter().map(|&d| basis.workforce_by_industry.tally_row(d as usize)), width),
        ),
        Scope::Counted(rows) => (rows.demand.clone(), rows.seekers.clone(), rows.workforce.clone()),
    };
    let code = |f: usize| snap.taxonomy.fields().get(f).map_or_else(String::new, |e| e.code.clone());
    let field_total = |row: &[u64], f: usize| row[f * PER_FIELD..(f + 1) * PER_FIELD].iter().sum::<u64>();
    let field_tally = |row: &[Tally], f: usize| row[f * PER_FIELD..(f + 1) * PER_FIELD].iter().copied().sum::<Tally>();

    let mut by_field_education = Vec::new();
    for f in 0..nf {
        for (e, level) in Education::ALL.iter().enumerate() {
            let cells = f * PER_FIELD + e * TITLES..f * PER_FIELD + (e + 1) * TITLES;
            let d = demand[cells.clone()].iter().sum::<u64>();
            let s = count(supply[cells.clone()].iter().copied().sum());
            let w = count(workforce[cells].iter().copied().sum());
            if d + s + w > 0 {
                by_field_education.push(FieldEducationRow {
                    field: code(f),
                    education: level.code(),
                    demand: d,
                    supply: s,
                    workforce: w,
                });
            }
        }
    }

    // Rows of published values; shares over the rows shown.
    let share_rows = |codes: Vec<String>, d: &[u64], s: &[u64], w: &[u64], keep_empty: bool| -> Vec<ShareRow> {
        let (td, ts, tw) = (d.iter().sum::<u64>() as f64, s.iter().sum::<u64>() as f64, w.iter().sum::<u64>() as f64);
        let share = |x: u64, t: f64| if t > 0.0 { x as f64 / t } else { 0.0 };
        codes
            .into_iter()
            .enumerate()
            .filter(|(i, _)| keep_empty || d[*i] + s[*i] + w[*i] > 0)
            .map(|(i, code)| ShareRow {
                code,
                demand: d[i],
                supply: s[i],
                workforce: w[i],
                demand_share: share(d[i], td),
                supply_share: share(s[i], ts),
                workforce_share: share(w[i], tw),
            })
            .collect()
    };
    let published = |v: Vec<Tally>| -> Vec<u64> { v.into_iter().map(count).collect() };
    let fd: Vec<u64> = (0..nf).map(|f| field_total(&demand, f)).collect();
    let fs = published((0..nf).map(|f| field_tally(&supply, f)).collect());
    let fw = published((0..nf).map(|f| field_tally(&workforce, f)).collect());
    let mut by_field = share_rows((0..nf).map(code).collect(), &fd, &fs, &fw, false);
    by_field.sort_by(|a, b| b.demand.cmp(&a.demand).then(a.code.cmp(&b.code)));

    let ed = ladder(&demand, nf, true, add_u64);
    let es = published(ladder(&supply, nf, true, add_tally));
    let ew = published(ladder(&workforce, nf, true, add_tally));
    let td_ = ladder(&demand, nf, false, add_u64);
    let ts_ = published(ladder(&supply, nf, false, add_tally));
    let tw_ = published(ladder(&workforce, nf, false, add_tally));
    let by_education = share_rows(Education::ALL.iter().map(|e| e.code().to_string()).collect(), &ed, &es, &ew, true);
    let by_title = share_rows(Title::ALL.iter().map(|t| t.code().to_string()).collect(), &td_, &ts_, &tw_, true);

    let f64s = |v: &[u64]| -> Vec<f64> { v.iter().map(|&n| n as f64).collect() };
    let pair = |d: &[u64], s: &[u64], w: &[u64]| VerticalPair {
        against_supply: vertical(&f64s(d), &f64s(s)),
        against_workforce: vertical(&f64s(d), &f64s(w)),
    };
    let horizontal = Horizontal {
        dissimilarity_supply: dissimilarity(&f64s(&fd), &f64s(&fs)),
        dissimilarity_workforce: dissimilarity(&f64s(&fd), &f64s(&fw)),
        absent_fields: (0..nf).filter(|&f| fd[f] > 0 && fs[f] == 0 && fw[f] == 0).map(code).collect(),
    };

    let mut missing: Vec<MissingField> = (0..nf)
        .filter(|&f| fd[f] > 0)
        .map(|f| {
            let city = CityRatio::new(
                field_total(basis.demand_city.row(0), f) as f64,
                smoothing.city_disclosure.count(basis.seekers_city.field_tally(0, f as u8, |_, _| true)) as f64,
            );
            let e = estimate(fd[f] as f64, fs[f] as f64, &city, smoothing);
            MissingField {
                field: code(f),
                demand: fd[f],
                supply: fs[f],
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
        supply_total: count(supply.iter().copied().sum()),
        workforce_total: count(workforce.iter().copied().sum()),
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
