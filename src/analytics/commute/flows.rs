//! Origin–destination commute flows between areas, for an arc or flow layer.
//!
//! A flow counts the talents who live in one area and work in another:
//! - `district` level: home district → work district;
//! - `park` level: home district → work park (where each park's workers come
//!   from; parks are small, so a park-to-park matrix would be mostly empty).
//!
//! Talents without a workplace, or whose home or work area is unknown, are
//! not counted. Each flow is a [`Tally`] of its talents' record keys, so it
//! is published through the request's disclosure on its own (perturbed per
//! flow: a district's workers minus its published inflows is noisy).

use std::collections::HashMap;
use std::str::FromStr;

use crate::analytics::filter::Filter;
use crate::analytics::privacy::Tally;
use crate::snapshot::{NONE16, Snapshot, TalentRec};

/// Which areas the flows join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowLevel {
    District,
    Park,
}

impl FlowLevel {
    pub const ACCEPTED: &'static str = "district, park";

    pub fn name(self) -> &'static str {
        match self {
            FlowLevel::District => "district",
            FlowLevel::Park => "park",
        }
    }

    /// Origin and destination region of a talent at this level.
    fn ends(self, t: &TalentRec) -> (u16, u16) {
        match self {
            FlowLevel::District => (t.home_district, t.work_district),
            FlowLevel::Park => (t.home_district, t.work_park),
        }
    }
}

impl FromStr for FlowLevel {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "district" => Ok(FlowLevel::District),
            "park" => Ok(FlowLevel::Park),
            _ => Err(()),
        }
    }
}

/// Talents living in region `from` and working in region `to` (positions in
/// `Snapshot::regions`). `from == to` is the area's internal commuting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    pub from: u16,
    pub to: u16,
    pub count: Tally,
}

/// All non-empty flows at `level` among talents matching `filter`, by
/// origin, then destination (region positions; served answers order by the
/// published counts). One pass over the talents.
/// The unfiltered flows of `level` ([`od`]) after the talents `gone` were
/// taken out and `came` put in, from `before`: the same flows as counting
/// every talent again.
pub(crate) fn od_patched<'a>(
    before: &[Flow],
    level: FlowLevel,
    gone: impl Iterator<Item = &'a crate::snapshot::TalentRec>,
    came: impl Iterator<Item = &'a crate::snapshot::TalentRec>,
) -> Vec<Flow> {
    let mut counts: std::collections::BTreeMap<(u16, u16), Tally> =
        before.iter().map(|f| ((f.from, f.to), f.count)).collect();
    let ends = |t: &crate::snapshot::TalentRec| {
        let (from, to) = level.ends(t);
        (t.has_work() && from != NONE16 && to != NONE16).then_some((from, to))
    };
    for t in gone {
        if let Some(count) = ends(t).and_then(|k| counts.get_mut(&k)) {
            *count = count.minus(Tally::one(t.rkey));
        }
    }
    for t in came {
        if let Some(k) = ends(t) {
            counts.entry(k).or_default().add(t.rkey);
        }
    }
    counts.into_iter().filter(|(_, c)| c.n > 0).map(|((from, to), count)| Flow { from, to, count }).collect()
}

pub fn od(snap: &Snapshot, level: FlowLevel, filter: &Filter) -> Vec<Flow> {
    let all = filter.is_empty();
    let mut counts: HashMap<(u16, u16), Tally> = HashMap::new();
    for t in &snap.talents {
        if !t.has_work() || (!all && !filter.talent(t)) {
            continue;
        }
        let (from, to) = level.ends(t);
        if from != NONE16 && to != NONE16 {
            counts.entry((from, to)).or_default().add(t.rkey);
        }
    }
    let mut flows: Vec<Flow> = counts.into_iter().map(|((from, to), count)| Flow { from, to, count }).collect();
    flows.sort_unstable_by_key(|f| (f.from, f.to));
    flows
}
