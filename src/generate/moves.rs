//! Two years of flows: arrivals, departures, job changes and relocations.
//!
//! Events are planned per talent while talents are generated (so each
//! talent's history is consistent with its current record: an arrival goes
//! to the first home, the last job change goes to the current employer, a
//! departure leaves from the last home) and kept as compact 32-byte records,
//! then sorted by date and written, so `moves.csv` reads like a registry's
//! chronological log. Seasonality follows the Chinese labour calendar:
//! graduates arrive in July, job changes peak after the Spring Festival
//! (金三银四), people move house in summer.
//!
//! One problem is planted for the monitoring to find: departures from one
//! district climb over the last three months of the window.

use std::path::{Path, PathBuf};

use super::GenerateError;
use super::calendar::{Calendar, MONTHS};
use super::geography::Micro;
use super::rng::{Rng, Weighted};
use super::writer::{CsvOut, Num, id_width};
use crate::model::MoveEvent;

/// The district whose departures rise at the end of the window (槐荫区).
pub const SPIKE_DISTRICT: &str = "370104";
/// Extra chance that a resident of the spike district leaves in the last
/// three months, split 1:2:3 over them.
pub const SPIKE_EXTRA_LEAVE: f64 = 0.03;

/// Relative weights by calendar month (January first).
const GRADUATE_ARRIVALS: [f64; 12] = [0.3, 0.5, 0.6, 0.4, 0.4, 1.5, 8.0, 2.0, 1.0, 0.5, 0.3, 0.3];
const OTHER_ARRIVALS: [f64; 12] = [0.6, 1.0, 1.6, 1.2, 1.0, 1.0, 1.2, 1.1, 1.1, 0.9, 0.9, 0.7];
const JOB_CHANGES: [f64; 12] = [0.7, 1.3, 2.0, 1.4, 1.0, 0.9, 1.0, 0.9, 1.1, 0.9, 0.9, 0.7];
const RELOCATIONS: [f64; 12] = [0.7, 0.8, 1.0, 1.1, 1.1, 1.1, 1.3, 1.4, 1.2, 1.0, 0.9, 0.8];
const DEPARTURES: [f64; 12] = [1.3, 1.4, 1.1, 1.0, 0.9, 1.0, 1.3, 1.0, 0.9, 0.9, 0.9, 1.0];

/// Month samplers over the window for each kind of event.
pub struct Seasons {
    pub graduate_arrival: Weighted,
    pub other_arrival: Weighted,
    pub job_change: Weighted,
    pub relocation: Weighted,
    pub departure: Weighted,
    pub spike: Weighted,
}

impl Seasons {
    pub fn new(cal: &Calendar) -> Result<Seasons, GenerateError> {
        let over = |w: &[f64; 12]| {
            Weighted::new((0..MONTHS).map(|m| w[cal.calendar_month(m) as usize - 1]))
                .ok_or_else(|| GenerateError::Invalid("empty season".into()))
        };
        let spike = Weighted::new((0..MONTHS).map(|m| match MONTHS - m {
            3 => 1.0,
            2 => 2.0,
            1 => 3.0,
            _ => 0.0,
        }))
        .ok_or_else(|| GenerateError::Invalid("empty season".into()))?;
        Ok(Seasons {
            graduate_arrival: over(&GRADUATE_ARRIVALS)?,
            other_arrival: over(&OTHER_ARRIVALS)?,
            job_change: over(&JOB_CHANGES)?,
            relocation: over(&RELOCATIONS)?,
            departure: over(&DEPARTURES)?,
            spike,
        })
    }
}

/// A day of the window drawn from a month sampler.
pub fn sample_day(rng: &mut Rng, cal: &Calendar, months: &Weighted) -> u16 {
    let (start, len) = cal.month_span(months.sample(rng));
    start + rng.below(u64::from(len)) as u16
}

const NO_POINT: Micro = Micro { lon: i32::MIN, lat: i32::MIN };
const NO_FIRM: u32 = u32::MAX;

/// One planned event, compact.
#[derive(Debug, Clone, Copy)]
struct MoveRec {
    /// day << 40 | talent << 8 | sequence within the talent: sort order and identity.
    key: u64,
    from: Micro,
    to: Micro,
    firm: u32,
    event: u8,
    destination: u8,
}

/// The planned events of all talents.
pub struct MoveLog {
    records: Vec<MoveRec>,
}

/// What a talent's event carries besides date and kind.
pub struct Planned {
    pub day: u16,
    pub event: MoveEvent,
    pub from: Option<Micro>,
    pub to: Option<Micro>,
    pub firm: Option<u32>,
    pub destination: Option<u8>,
}

impl MoveLog {
    pub fn with_capacity(n: usize) -> MoveLog {
        MoveLog { records: Vec::with_capacity(n) }
    }

    pub fn push(&mut self, talent: u32, seq: u8, p: &Planned) {
        self.records.push(MoveRec {
            key: u64::from(p.day) << 40 | u64::from(talent) << 8 | u64::from(seq),
            from: p.from.unwrap_or(NO_POINT),
            to: p.to.unwrap_or(NO_POINT),
            firm: p.firm.unwrap_or(NO_FIRM),
            event: p.event.index(),
            destination: p.destination.unwrap_or(u8::MAX),
        });
    }

    /// Sorts by date and writes `moves.csv`.
    pub fn write(
        mut self,
        dir: &Path,
        cal: &Calendar,
        talents: usize,
        firm_id: impl Fn(u32) -> Num,
        destinations: &[&str],
    ) -> Result<(PathBuf, usize), GenerateError> {
        self.records.sort_unstable_by_key(|r| r.key);
        let mut out = CsvOut::create(
            dir,
            "moves.csv",
            &[
                "id",
                "talent_id",
                "date",
                "event",
                "from_lon",
                "from_lat",
                "to_lon",
                "to_lat",
                "to_enterprise_id",
                "destination",
            ],
        )?;
        let (move_width, talent_width) = (id_width(self.records.len(), 7), id_width(talents, 7));
        let point = |m: Micro| (m != NO_POINT).then_some(m);
        for (i, r) in self.records.iter().enumerate() {
            out.field(Num::id("M", i as u64 + 1, move_width).as_bytes())?;
            out.field(Num::id("T", (r.key >> 8 & 0xFFFF_FFFF) + 1, talent_width).as_bytes())?;
            out.field(cal.date((r.key >> 40) as u16))?;
            let event = MoveEvent::from_index(r.event).unwrap_or(MoveEvent::Relocate);
            out.field(event.code().as_bytes())?;
            out.point(point(r.from))?;
            out.point(point(r.to))?;
            if r.firm == NO_FIRM {
                out.field(b"")?;
            } else {
                out.field(firm_id(r.firm).as_bytes())?;
            }
            out.field(destinations.get(r.destination as usize).map_or(&b""[..], |d| d.as_bytes()))?;
            out.end_row()?;
        }
        out.finish()
    }
}
