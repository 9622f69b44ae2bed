//! What the moves feed keeps of the talents its latest batches touched, so
//! that a batch naming one of them again replays it from memory instead of
//! reading its row and every move of its history from the store.
//!
//! A [`Held`] talent is exactly what [`super::present::recompute`] reads of
//! it for a batch: its register row, its stored present and profile, and
//! every stored move in the store's order (date, then id) — or, of a talent
//! resumed from a tail that is not all its moves, its latest moves from
//! the one before the tail on: the rows the store gives newest first up to
//! where a resumption stops reading. Such a talent is replayed from memory
//! only when the batch resumes it again with a tail that ends within them;
//! otherwise it is read from the store. A batch's replay leaves each
//! touched talent so once the batch commits; the feed keeps those
//! ([`HeldTalents::update`]) with its validation context, under the same
//! rule: they are used only while the store is at the data version they
//! describe. Any other write — an import, another server's batch — moves
//! the version past them, and a batch that fails after its replay leaves
//! no context kept: the next batch reads the store again.
//!
//! Moves are kept packed (about 60 bytes each against about 300 as
//! [`MoveRow`]s), within [`HELD_BYTES`]: past it, the talents touched
//! longest ago are let go. A talent not held is read from the store, as
//! before; holding one changes how fast the batch is, never what it finds.

use std::collections::HashMap;

use crate::model::state::TalentState;
use crate::model::{Date, LonLat, Move, MoveEvent};

use super::present::{MoveRow, TalentRow};

/// Most bytes the held talents take (their packed moves and an estimate
/// of each row): 64 MiB hold about a million moves.
pub const HELD_BYTES: usize = 64 << 20;

/// What a held talent's row and register costs, beside its moves.
const ROW_BYTES: usize = 512;

/// One talent as a batch's replay reads it.
#[derive(Debug, Clone)]
pub struct Held {
    /// The register row's home, workplace and employer.
    pub registered: TalentState,
    /// The row as stored: the present, the profile.
    pub row: TalentRow,
    /// Its stored moves, packed ([`pack`]), in the store's order: every
    /// one, or, when not [`Self::whole`], the latest, from a move before
    /// the tail a resumption reads ([`super::present::Continued`]) on.
    moves: Box<[u8]>,
    /// `moves` holds every stored move of the talent.
    pub whole: bool,
    /// The data version of the batch that left it so (the latest to touch
    /// it).
    stamp: u64,
}

impl Held {
    /// `registered`, `row` and `moves` (the talent's stored moves in the
    /// store's order; `whole`: every one); `None` when a move's text is too
    /// long to pack (then the talent is read from the store).
    pub fn new<'m>(
        registered: TalentState,
        row: TalentRow,
        moves: impl IntoIterator<Item = &'m MoveRow>,
        whole: bool,
    ) -> Option<Held> {
        Some(Held { registered, row, moves: pack(moves)?.into_boxed_slice(), whole, stamp: 0 })
    }

    /// The talent's stored moves, in the store's order.
    pub fn moves(&self) -> Vec<MoveRow> {
        unpack(&self.moves, &self.row.id)
    }

    fn bytes(&self) -> usize {
        self.moves.len() + ROW_BYTES
    }
}

/// The held talents by id, all at one data version.
#[derive(Debug, Default)]
pub struct HeldTalents {
    talents: HashMap<String, Held>,
    bytes: usize,
}

impl HeldTalents {
    pub fn get(&self, id: &str) -> Option<&Held> {
        self.talents.get(id)
    }

    pub fn len(&self) -> usize {
        self.talents.len()
    }

    pub fn is_empty(&self) -> bool {
        self.talents.is_empty()
    }

    /// Bytes held ([`HELD_BYTES`] at most after an update).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// After a batch of data version `version` committed: the talents it
    /// touched (`touched`, each held or not before) as it left them
    /// (`found`; a touched talent missing there is let go), the others as
    /// they were. Past [`HELD_BYTES`], the talents touched longest ago are
    /// let go until a quarter of it is free.
    pub fn update(&mut self, version: u64, touched: &[String], found: Vec<(String, Held)>) {
        for id in touched {
            if let Some(old) = self.talents.remove(id) {
                self.bytes -= old.bytes();
            }
        }
        for (id, mut held) in found {
            held.stamp = version;
            self.bytes += held.bytes();
            if let Some(old) = self.talents.insert(id, held) {
                self.bytes -= old.bytes();
            }
        }
        if self.bytes > HELD_BYTES {
            self.shrink_to(HELD_BYTES / 4 * 3);
        }
    }

    /// Lets go of the talents touched longest ago, batch by batch, until
    /// at most `bytes` are held.
    fn shrink_to(&mut self, bytes: usize) {
        let mut by_batch: std::collections::BTreeMap<u64, usize> = std::collections::BTreeMap::new();
        for h in self.talents.values() {
            *by_batch.entry(h.stamp).or_default() += h.bytes();
        }
        let mut left = self.bytes;
        let mut cut = None;
        for (stamp, size) in by_batch {
            if left <= bytes {
                break;
            }
            left -= size;
            cut = Some(stamp);
        }
        if let Some(cut) = cut {
            self.talents.retain(|_, h| h.stamp > cut);
            self.bytes = left;
        }
    }
}

/// Longest text packed (a move id, an enterprise id, a destination).
const MAX_TEXT: usize = u16::MAX as usize - 1;
/// The packed length of an absent text.
const NO_TEXT: u16 = u16::MAX;

/// `moves` packed: for each, its id, date, event, `from` and `to` points,
/// `to_enterprise_id`, destination and record key. The talent id is not
/// kept (it is the held talent's). `None` when a text is longer than
/// [`MAX_TEXT`] bytes.
fn pack<'m>(moves: impl IntoIterator<Item = &'m MoveRow>) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let text = |out: &mut Vec<u8>, t: Option<&str>| -> Option<()> {
        match t {
            None => out.extend_from_slice(&NO_TEXT.to_le_bytes()),
            Some(t) if t.len() <= MAX_TEXT => {
                out.extend_from_slice(&(t.len() as u16).to_le_bytes());
                out.extend_from_slice(t.as_bytes());
            }
            Some(_) => return None,
        }
        Some(())
    };
    let point = |out: &mut Vec<u8>, p: Option<LonLat>| match p {
        None => out.push(0),
        Some(p) => {
            out.push(1);
            out.extend_from_slice(&p.lon.to_le_bytes());
            out.extend_from_slice(&p.lat.to_le_bytes());
        }
    };
    for m in moves {
        let s = &m.stored;
        text(&mut out, Some(&s.id))?;
        out.extend_from_slice(&s.date.year.to_le_bytes());
        out.extend_from_slice(&[s.date.month, s.date.day, s.event.index()]);
        point(&mut out, s.from);
        point(&mut out, s.to);
        text(&mut out, s.to_enterprise_id.as_deref())?;
        text(&mut out, s.destination.as_deref())?;
        out.extend_from_slice(&m.rkey.to_le_bytes());
    }
    Some(out)
}

/// The moves [`pack`] packed, of talent `talent`.
fn unpack(mut bytes: &[u8], talent: &str) -> Vec<MoveRow> {
    // Reads what `pack` wrote; the bytes never leave the process, so a
    // short read can only be a bug, and ends the list.
    fn take<'b>(bytes: &mut &'b [u8], n: usize) -> Option<&'b [u8]> {
        let (head, tail) = bytes.split_at_checked(n)?;
        *bytes = tail;
        Some(head)
    }
    fn text(bytes: &mut &[u8]) -> Option<Option<String>> {
        let len = u16::from_le_bytes(take(bytes, 2)?.try_into().ok()?);
        if len == NO_TEXT {
            return Some(None);
        }
        Some(Some(String::from_utf8_lossy(take(bytes, len as usize)?).into_owned()))
    }
    fn point(bytes: &mut &[u8]) -> Option<Option<LonLat>> {
        if take(bytes, 1)?[0] == 0 {
            return Some(None);
        }
        let lon = f64::from_le_bytes(take(bytes, 8)?.try_into().ok()?);
        let lat = f64::from_le_bytes(take(bytes, 8)?.try_into().ok()?);
        Some(Some(LonLat::new(lon, lat)))
    }
    fn one(bytes: &mut &[u8], talent: &str) -> Option<MoveRow> {
        let id = text(bytes)??;
        let year = u16::from_le_bytes(take(bytes, 2)?.try_into().ok()?);
        let [month, day, event] = take(bytes, 3)?.try_into().ok()?;
        let stored = Move {
            id,
            talent_id: talent.to_string(),
            date: Date { year, month, day },
            event: MoveEvent::from_index(event)?,
            from: point(bytes)?,
            to: point(bytes)?,
            to_enterprise_id: text(bytes)?,
            destination: text(bytes)?,
        };
        let rkey = u32::from_le_bytes(take(bytes, 4)?.try_into().ok()?);
        Some(MoveRow { stored, rkey })
    }
    let mut out = Vec::new();
    while !bytes.is_empty() {
        match one(&mut bytes, talent) {
            Some(m) => out.push(m),
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str) -> TalentRow {
        TalentRow {
            id: id.into(),
            here: true,
            home: LonLat::new(117.0, 36.6),
            work: None,
            enterprise_id: None,
            reg_enterprise_id: None,
            field: "software".into(),
            education: "master".into(),
            title: "senior".into(),
            tier: "A".into(),
            birth_year: 1990,
            seeking: false,
            home_district: None,
            home_park: None,
            work_district: None,
            work_park: None,
            rkey: 7,
        }
    }

    fn moves(talent: &str) -> Vec<MoveRow> {
        let date = |d| Date { year: 2026, month: 11, day: d };
        vec![
            MoveRow {
                stored: Move {
                    id: "m-1".into(),
                    talent_id: talent.into(),
                    date: date(3),
                    event: MoveEvent::Arrive,
                    from: None,
                    to: Some(LonLat::new(117.01, 36.65)),
                    to_enterprise_id: Some("E0001".into()),
                    destination: None,
                },
                rkey: 11,
            },
            MoveRow {
                stored: Move {
                    id: "移-2".into(),
                    talent_id: talent.into(),
                    date: date(30),
                    event: MoveEvent::Leave,
                    from: Some(LonLat::new(-0.5, 51.25)),
                    to: None,
                    to_enterprise_id: None,
                    destination: Some(String::new()),
                },
                rkey: u32::MAX,
            },
        ]
    }

    #[test]
    fn moves_come_back_as_packed() {
        let here = TalentState { here: true, home: LonLat::new(117.0, 36.6), work: None, enterprise: None };
        let held = Held::new(here, row("T1"), &moves("T1"), true).unwrap();
        assert_eq!(held.moves(), moves("T1"));
        assert!(held.moves.len() < 2 * 64, "{} bytes", held.moves.len());
        let mut long = moves("T1");
        long[0].stored.destination = Some("x".repeat(MAX_TEXT + 1));
        assert!(Held::new(held.registered.clone(), row("T1"), &long, true).is_none());
    }

    #[test]
    fn the_talents_touched_longest_ago_go_first() {
        let here = TalentState { here: true, home: LonLat::new(117.0, 36.6), work: None, enterprise: None };
        let held = |id: &str| (id.to_string(), Held::new(here.clone(), row(id), &moves(id), true).unwrap());
        let mut all = HeldTalents::default();
        all.update(1, &[], vec![held("a"), held("b")]);
        all.update(2, &["b".into(), "c".into()], vec![held("b")]);
        assert!(all.get("a").is_some() && all.get("b").is_some() && all.get("c").is_none());
        let one = all.get("a").unwrap().bytes();
        assert_eq!(all.bytes(), 2 * one);
        // Touched and not found again: let go.
        all.update(3, &["a".into()], Vec::new());
        assert!(all.get("a").is_none());
        assert_eq!(all.bytes(), one);
        all.update(4, &[], vec![held("d"), held("e")]);
        all.shrink_to(2 * one);
        assert!(all.get("b").is_none(), "b was touched longest ago");
        assert_eq!(all.len(), 2);
        assert_eq!(all.bytes(), 2 * one);
        // Talents of one batch go together.
        all.shrink_to(one);
        assert!(all.is_empty() && all.bytes() == 0);
    }
}
