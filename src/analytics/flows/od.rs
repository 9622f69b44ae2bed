//! Origin–destination flows between units of one level — districts, parks,
//! enterprises or industry divisions — over a span of months, for the city
//! or focused on one area or one enterprise.
//!
//! # What a line counts
//!
//! | level | a line `a → b` counts |
//! |---|---|
//! | district, park | `job_change` and `relocate` moves whose `from` point lies in `a` and `to` point in `b` |
//! | enterprise | `job_change` moves from employer `a` to employer `b` |
//! | industry | `job_change` moves from an employer of division `a` to one of division `b` |
//!
//! Employers before and after a move follow the state rule
//! (`crate::snapshot::moves`, "Employer before and after a move"); a move
//! whose end has no unit at the level (a point outside every park, no
//! employer) draws no line. Arrivals into the city count at the unit of
//! their `to` (their new employer at the enterprise and industry levels),
//! departures out of it at the unit of their `from` (their employer before
//! leaving), by destination.
//!
//! # Focus
//!
//! With a focus (a district, park or study area; or one enterprise) only the
//! moves that cross its boundary count, and the focus takes the place of
//! the unit on its side: `focus → b` is where its leavers went, `a → focus`
//! where its joiners came from. For an area the boundary is crossed by the
//! move's points (the workplaces of a job change, the homes of a
//! relocation); for an enterprise by the employer changing to or from it.
//! The focus's arrivals and departures are those from and to outside the
//! city.
//!
//! Every line and point is a [`Tally`] of the moves' record keys, published
//! by the caller's disclosure.

use std::collections::HashMap;

use crate::areas::Place;
use crate::model::{MoveEvent, RegionKind};
use crate::snapshot::moves::MoveRec;
use crate::snapshot::{NONE8, NONE16, NONE32, Snapshot};

use super::super::privacy::Tally;
use super::Scope;

/// The unit flows are counted between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OdLevel {
    /// Districts or parks (by position in `Snapshot::regions`).
    Region(RegionKind),
    /// Enterprises (by position in `Snapshot::enterprises`).
    Enterprise,
    /// Industry divisions (by index in the taxonomy).
    Industry,
}

/// Whose flows: the whole city's, or one area's or enterprise's.
#[derive(Debug, Clone, Copy)]
pub enum OdFocus<'a> {
    City,
    Area(Place<'a>),
    /// An enterprise by position.
    Enterprise(u32),
}

/// The unit standing for the focus in [`OdMatrix`] keys.
pub const FOCUS: u32 = u32::MAX - 1;

/// Flows between units over a span of months (see the module doc).
#[derive(Debug, Clone, Default)]
pub struct OdMatrix {
    /// `(from unit, to unit) → (job changes, relocations)`, from ≠ to.
    pub lines: HashMap<(u32, u32), (Tally, Tally)>,
    /// Unit → arrivals from outside the city.
    pub arrivals: HashMap<u32, Tally>,
    /// Unit → departures out of the city, by destination index.
    pub departures: HashMap<u32, HashMap<u16, Tally>>,
}

/// The area position at `level` of a move's `from` and `to`.
pub(super) fn ends(m: &MoveRec, level: RegionKind) -> (u16, u16) {
    match level {
        RegionKind::Park => (m.from_park, m.to_park),
        _ => (m.from_district, m.to_district),
    }
}

/// The units at `level` of a move's two ends, [`NONE32`] where none.
fn units(snap: &Snapshot, m: &MoveRec, level: OdLevel) -> (u32, u32) {
    let wide = |r: u16| if r == NONE16 { NONE32 } else { r as u32 };
    let industry = |e: u32| match snap.enterprises.get(e as usize) {
        Some(rec) if rec.industry != NONE8 => rec.industry as u32,
        _ => NONE32,
    };
    match level {
        OdLevel::Region(kind) => {
            let (a, b) = ends(m, kind);
            (wide(a), wide(b))
        }
        OdLevel::Enterprise => (m.from_enterprise, m.to_enterprise),
        OdLevel::Industry => (industry(m.from_enterprise), industry(m.to_enterprise)),
    }
}

/// Whether a move of `event` can draw a line at `level`: job changes
/// always, relocations between areas only (they keep the employer).
fn draws_line(event: MoveEvent, level: OdLevel) -> bool {
    match event {
        MoveEvent::JobChange => true,
        MoveEvent::Relocate => matches!(level, OdLevel::Region(_)),
        _ => false,
    }
}

/// Collects the flows at `level` for month offsets `from..=to` of the
/// snapshot's move table (a scan of those months' moves), within `scope`,
/// for `focus`.
pub fn od(snap: &Snapshot, level: OdLevel, focus: OdFocus<'_>, scope: &Scope, from: u16, to: u16) -> OdMatrix {
    let origin = snap.flows.origin;
    let mut out = OdMatrix::default();
    for m in snap.flows.range_moves(from, to) {
        if !scope.matches(m.field, m.industry) {
            continue;
        }
        let Some(event) = MoveEvent::from_index(m.event) else { continue };
        let (mut a, mut b) = units(snap, m, level);
        match focus {
            OdFocus::City => {}
            OdFocus::Area(place) => {
                let inside_from = place.holds_end(origin, m.from_district, m.from_park, m.from_cell);
                let inside_to = place.holds_end(origin, m.to_district, m.to_park, m.to_cell);
                match event {
                    MoveEvent::Arrive if inside_to => b = FOCUS,
                    MoveEvent::Leave if inside_from => a = FOCUS,
                    _ if inside_from && !inside_to => a = FOCUS,
                    _ if inside_to && !inside_from => b = FOCUS,
                    _ => continue,
                }
            }
            OdFocus::Enterprise(e) => {
                let (left, joined) = (m.from_enterprise == e, m.to_enterprise == e);
                match event {
                    MoveEvent::Arrive if joined => b = FOCUS,
                    MoveEvent::Leave if left => a = FOCUS,
                    MoveEvent::JobChange if left && !joined => a = FOCUS,
                    MoveEvent::JobChange if joined && !left => b = FOCUS,
                    _ => continue,
                }
            }
        }
        match event {
            MoveEvent::Arrive if b != NONE32 => out.arrivals.entry(b).or_default().add(m.rkey),
            MoveEvent::Leave if a != NONE32 => {
                out.departures.entry(a).or_default().entry(m.destination).or_default().add(m.rkey)
            }
            e if draws_line(e, level) && a != NONE32 && b != NONE32 && a != b => {
                let line = out.lines.entry((a, b)).or_default();
                if e == MoveEvent::JobChange {
                    line.0.add(m.rkey);
                } else {
                    line.1.add(m.rkey);
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mv(event: MoveEvent, from: (u16, u32), to: (u16, u32), rkey: u32) -> MoveRec {
        MoveRec {
            month: 0,
            event: event.index(),
            field: NONE8,
            industry: NONE8,
            from_district: from.0,
            from_park: NONE16,
            to_district: to.0,
            to_park: NONE16,
            destination: 0,
            rkey,
            from_cell: NONE32,
            to_cell: NONE32,
            from_enterprise: from.1,
            to_enterprise: to.1,
        }
    }

    #[test]
    fn lines_by_level_and_focus() {
        let moves = [
            mv(MoveEvent::JobChange, (0, 10), (1, 11), 1),
            mv(MoveEvent::JobChange, (0, 10), (0, 12), 2),
            mv(MoveEvent::Relocate, (0, 10), (1, 10), 3),
            mv(MoveEvent::Leave, (1, 11), (NONE16, 11), 4),
            mv(MoveEvent::Arrive, (NONE16, NONE32), (1, 10), 5),
        ];
        let mut snap = Snapshot::empty(std::sync::Arc::new(crate::model::Taxonomy::builtin()));
        snap.flows.moves = moves.to_vec().into();
        snap.flows.months = 1;
        let collect = |level, focus| od(&snap, level, focus, &Scope::default(), 0, 0);
        let districts = collect(OdLevel::Region(RegionKind::District), OdFocus::City);
        let line = districts.lines.get(&(0, 1)).copied().unwrap_or_default();
        assert_eq!((line.0.n, line.1.n), (1, 1), "one job change and one relocation from district 0 to 1");
        assert_eq!(districts.lines.len(), 1, "a job change within district 0 draws no line");
        let firms = collect(OdLevel::Enterprise, OdFocus::City);
        assert_eq!(firms.lines.len(), 2, "10 → 11 and 10 → 12; the relocation keeps its employer");
        assert_eq!(firms.departures.get(&11).map(|d| d.values().map(|t| t.n).sum::<u64>()), Some(1));
        assert_eq!(firms.arrivals.get(&10).map(|t| t.n), Some(1));
        let lost = collect(OdLevel::Enterprise, OdFocus::Enterprise(10));
        let mut keys: Vec<_> = lost.lines.keys().copied().collect();
        keys.sort_unstable();
        assert_eq!(keys, vec![(FOCUS, 11), (FOCUS, 12)], "enterprise 10 loses to 11 and 12");
        assert_eq!(lost.arrivals.get(&FOCUS).map(|t| t.n), Some(1), "the arrival joins enterprise 10");
        let area = collect(OdLevel::Enterprise, OdFocus::Area(Place::Region(0)));
        let mut keys: Vec<_> = area.lines.keys().copied().collect();
        keys.sort_unstable();
        assert_eq!(keys, vec![(FOCUS, 11)], "one job change leaves district 0; the other stays inside");
    }
}
