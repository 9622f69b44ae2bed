//! A talent's state at a date: the register row with the talent's moves up
//! to that date applied in order (`docs/present.md`).
//!
//! | move | in the city | home | workplace and employer |
//! |---|---|---|---|
//! | `arrive` | from its date | `to`, when given | `to_enterprise_id` and its position, when given |
//! | `leave` | not from its date | kept (last known) | kept (last known) |
//! | `relocate` | from its date | `to`, when given | unchanged |
//! | `job_change` | from its date | unchanged | `to` and `to_enterprise_id`; `to` missing: the enterprise's position; both missing: none |
//!
//! A talent whose first move is `arrive` was not in the city before it;
//! anyone else was. Every move other than `leave` means the talent is in the
//! city from its date, so the latest move decides. Moves are applied by
//! date, and moves of one day in the order of their ids.
//!
//! A move that contradicts the state it finds is applied all the same, and
//! reported as [`Irregular`] so that importers can warn about it: a `leave`
//! while already away, a `relocate` or `job_change` while away (the talent
//! evidently came back without a reported `arrive`), an `arrive` while in
//! the city after an earlier move put them there.

use super::{Date, LonLat, MoveEvent};

/// Where a talent is and works.
#[derive(Debug, Clone, PartialEq)]
pub struct TalentState {
    /// In the city.
    pub here: bool,
    pub home: LonLat,
    pub work: Option<LonLat>,
    pub enterprise: Option<String>,
}

/// One move as the state rule reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub id: String,
    pub date: Date,
    pub event: MoveEvent,
    pub to: Option<LonLat>,
    pub to_enterprise: Option<String>,
}

/// A move that contradicts the state it finds (applied all the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Irregular {
    /// `leave` while not in the city.
    LeaveWhileAway,
    /// `relocate` or `job_change` while not in the city, with no `arrive`
    /// since the talent left.
    WhileAway,
    /// `arrive` while in the city after an earlier move.
    ArriveWhileHere,
}

impl Irregular {
    /// What an import warning says about it.
    pub fn message(self) -> &'static str {
        match self {
            Irregular::LeaveWhileAway => {
                "leave while the talent is already away (an earlier leave has no arrive after it): \
                 imported; the talent stays away"
            }
            Irregular::WhileAway => {
                "relocate or job_change while the talent is away (a leave with no arrive after it): \
                 imported; the talent counts as back in the city from this date"
            }
            Irregular::ArriveWhileHere => {
                "arrive while the talent is already in the city (no leave before it): \
                 imported; the talent stays in the city"
            }
        }
    }
}

/// Sorts moves into the order they are applied: by date, then id.
pub fn order(steps: &mut [Step]) {
    steps.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.id.cmp(&b.id)));
}

/// The state after the moves dated up to `until` (all of them when `None`).
/// `steps` must be in [`order`]; `enterprise_at` gives an enterprise's
/// position; `irregular` is told the position in `steps` of each move that
/// contradicts the state it finds.
pub fn replay(
    registered: TalentState,
    steps: &[Step],
    until: Option<Date>,
    enterprise_at: impl FnMut(&str) -> Option<LonLat>,
    irregular: impl FnMut(usize, Irregular),
) -> TalentState {
    let mut state = registered;
    state.here = steps.first().is_none_or(|s| s.event != MoveEvent::Arrive);
    apply(state, steps, true, until, enterprise_at, irregular)
}

/// The state after `steps`, which all come after the moves that left the
/// talent in `state` (by date, then id): as [`replay`] of those moves and
/// `steps` would end, without reading the earlier ones again. `state` must
/// be the state after at least one move.
pub fn resume(
    state: TalentState,
    steps: &[Step],
    enterprise_at: impl FnMut(&str) -> Option<LonLat>,
    irregular: impl FnMut(usize, Irregular),
) -> TalentState {
    apply(state, steps, false, None, enterprise_at, irregular)
}

/// Applies `steps` to `state`; `first` says whether `steps[0]` is the
/// talent's first move.
fn apply(
    mut state: TalentState,
    steps: &[Step],
    first: bool,
    until: Option<Date>,
    mut enterprise_at: impl FnMut(&str) -> Option<LonLat>,
    mut irregular: impl FnMut(usize, Irregular),
) -> TalentState {
    for (i, step) in steps.iter().enumerate() {
        if until.is_some_and(|d| step.date > d) {
            break;
        }
        match step.event {
            MoveEvent::Leave => {
                if !state.here {
                    irregular(i, Irregular::LeaveWhileAway);
                }
                state.here = false;
            }
            MoveEvent::Arrive => {
                if state.here && (i > 0 || !first) {
                    irregular(i, Irregular::ArriveWhileHere);
                }
                state.here = true;
                if let Some(to) = step.to {
                    state.home = to;
                }
                if let Some(e) = &step.to_enterprise {
                    state.work = enterprise_at(e).or(state.work);
                    state.enterprise = Some(e.clone());
                }
            }
            MoveEvent::Relocate => {
                if !state.here {
                    irregular(i, Irregular::WhileAway);
                }
                state.here = true;
                if let Some(to) = step.to {
                    state.home = to;
                }
            }
            MoveEvent::JobChange => {
                if !state.here {
                    irregular(i, Irregular::WhileAway);
                }
                state.here = true;
                state.enterprise = step.to_enterprise.clone();
                state.work = step.to.or_else(|| step.to_enterprise.as_deref().and_then(&mut enterprise_at));
            }
        }
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(id: &str, date: &str, event: MoveEvent, to: Option<(f64, f64)>, firm: Option<&str>) -> Step {
        Step {
            id: id.into(),
            date: Date::parse(date).unwrap(),
            event,
            to: to.map(|(x, y)| LonLat::new(x, y)),
            to_enterprise: firm.map(String::from),
        }
    }

    fn registered() -> TalentState {
        TalentState { here: true, home: LonLat::new(117.0, 36.6), work: None, enterprise: None }
    }

    fn run(steps: &[Step], until: Option<&str>) -> (TalentState, Vec<(usize, Irregular)>) {
        let mut found = Vec::new();
        let firm = |id: &str| (id == "E1").then_some(LonLat::new(117.1, 36.7));
        let s = replay(registered(), steps, until.and_then(Date::parse), firm, |i, k| found.push((i, k)));
        (s, found)
    }

    #[test]
    fn the_latest_move_decides() {
        let steps = [
            step("a", "2025-01-01", MoveEvent::Relocate, Some((117.2, 36.5)), None),
            step("b", "2025-03-01", MoveEvent::Leave, None, None),
            step("c", "2025-06-01", MoveEvent::Arrive, Some((117.3, 36.4)), Some("E1")),
        ];
        let (s, irregular) = run(&steps, None);
        assert!(s.here && irregular.is_empty());
        assert_eq!(s.home, LonLat::new(117.3, 36.4));
        assert_eq!((s.work, s.enterprise.as_deref()), (Some(LonLat::new(117.1, 36.7)), Some("E1")));
        let (s, _) = run(&steps, Some("2025-05-31"));
        assert!(!s.here, "away between the leave and the arrival");
        assert_eq!(s.home, LonLat::new(117.2, 36.5), "the last known home is kept");
        let (s, _) = run(&steps, Some("2024-12-31"));
        assert_eq!(s, registered());
    }

    #[test]
    fn a_first_arrival_means_not_here_before() {
        let steps = [step("a", "2025-02-01", MoveEvent::Arrive, None, None)];
        assert!(!run(&steps, Some("2025-01-31")).0.here);
        let (s, irregular) = run(&steps, None);
        assert!(s.here && irregular.is_empty());
        assert_eq!(s.home, registered().home, "an arrival without a point keeps the registered home");
    }

    #[test]
    fn job_changes_set_workplace_and_employer() {
        let (s, _) = run(&[step("a", "2025-01-01", MoveEvent::JobChange, None, Some("E1"))], None);
        assert_eq!((s.work, s.enterprise.as_deref()), (Some(LonLat::new(117.1, 36.7)), Some("E1")));
        let (s, _) = run(&[step("a", "2025-01-01", MoveEvent::JobChange, Some((117.5, 36.5)), None)], None);
        assert_eq!((s.work, s.enterprise), (Some(LonLat::new(117.5, 36.5)), None));
        let steps = [
            step("a", "2025-01-01", MoveEvent::JobChange, None, Some("E1")),
            step("b", "2025-02-01", MoveEvent::JobChange, None, None),
        ];
        let (s, _) = run(&steps, None);
        assert_eq!((s.work, s.enterprise), (None, None), "a job change to nowhere leaves no job");
    }

    #[test]
    fn messy_histories_are_resolved_and_reported() {
        let steps = [
            step("a", "2025-01-01", MoveEvent::Leave, None, None),
            step("b", "2025-02-01", MoveEvent::Leave, None, None),
            step("c", "2025-03-01", MoveEvent::JobChange, Some((117.5, 36.5)), None),
            step("d", "2025-04-01", MoveEvent::Arrive, None, None),
        ];
        let (s, irregular) = run(&steps, None);
        assert!(s.here);
        assert_eq!(
            irregular,
            vec![(1, Irregular::LeaveWhileAway), (2, Irregular::WhileAway), (3, Irregular::ArriveWhileHere)]
        );
    }

    #[test]
    fn resuming_after_some_moves_ends_as_replaying_them_all() {
        let steps = [
            step("a", "2025-01-01", MoveEvent::Arrive, Some((117.2, 36.5)), None),
            step("b", "2025-02-01", MoveEvent::JobChange, None, Some("E1")),
            step("c", "2025-03-01", MoveEvent::Leave, None, None),
            step("d", "2025-04-01", MoveEvent::Leave, None, None),
            step("e", "2025-05-01", MoveEvent::Arrive, Some((117.3, 36.4)), None),
            step("f", "2025-06-01", MoveEvent::Arrive, None, Some("E1")),
            step("g", "2025-07-01", MoveEvent::JobChange, Some((117.5, 36.5)), None),
        ];
        let firm = |id: &str| (id == "E1").then_some(LonLat::new(117.1, 36.7));
        let (whole, irregular) = run(&steps, None);
        for split in 1..steps.len() {
            let (before, _) = run(&steps[..split], None);
            let mut found = Vec::new();
            let s = resume(before, &steps[split..], firm, |i, k| found.push((i + split, k)));
            assert_eq!(s, whole, "resumed after {split} moves");
            let later: Vec<_> = irregular.iter().copied().filter(|(i, _)| *i >= split).collect();
            assert_eq!(found, later, "the same moves reported after {split}");
        }
        // An arrival is irregular when it comes after a move that put the
        // talent here, whichever call applies it.
        assert_eq!(irregular, vec![(3, Irregular::LeaveWhileAway), (5, Irregular::ArriveWhileHere)]);
    }

    #[test]
    fn same_day_moves_apply_in_id_order() {
        let mut steps = vec![
            step("m2", "2025-01-01", MoveEvent::Arrive, None, None),
            step("m1", "2025-01-01", MoveEvent::Leave, None, None),
        ];
        order(&mut steps);
        assert_eq!(steps[0].id, "m1");
        let (s, irregular) = run(&steps, None);
        assert!(s.here && irregular.is_empty());
    }
}
