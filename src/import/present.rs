//! The present state of each talent, kept in the store.
//!
//! The talent register row is kept as imported (`reg_home_lon`, …,
//! `reg_enterprise_id`); the columns every reader uses (`home_lon`,
//! `work_lon`, `enterprise_id`, the four region columns) and `here` hold the
//! state as of the latest move: the register row with the talent's moves
//! applied by [`crate::model::state`]. Every write that can change it
//! recomputes it in the same transaction, for the talents it touched: a
//! moves import or feed batch (and the talents a moves file takes a move
//! from), a talents import, a moves replace (all talents), an enterprises
//! import that moves or drops an enterprise (the talents whose workplace
//! a move takes from its position). Readers therefore never replay moves: the snapshot, the people
//! layer and a person's record read the present as stored.

use std::collections::HashMap;

use crate::store::db::{Connection, Kind, OptionalExtension, params};

use crate::model::state::{self, Irregular, Step, TalentState};
use crate::model::{Date, LonLat, Move, MoveEvent};

use super::kinds::Regions;

/// The store's regions, as [`recompute`] assigns them.
pub fn regions(conn: &Connection) -> Result<Regions, super::ImportError> {
    super::regions::load(conn)
}

/// Which talents to recompute.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// Those with a move written by this batch (a whole moves file).
    Moves(u64),
    /// Those written by this batch that have moves.
    Talents(u64),
    /// These (a feed batch's talents, in id order), each read through the
    /// indexes and replayed with `fresh`, the batch's moves, before those
    /// are written — or, when its new moves all come on later days than its
    /// stored ones, resumed from its stored present ([`Continued`]). Nothing
    /// is written: the changed present is in [`Recomputed::pending`] for
    /// [`write_present`], the rows after the batch in [`Recomputed::after`].
    /// Talents in the third field ([`super::held`]) are read from there
    /// instead of the store, and alike.
    Batch(&'a [String], &'a [super::kinds::LocatedMove], Option<&'a super::held::HeldTalents>),
    /// These, as they were before the batch numbered by the second field:
    /// replayed without its moves, written nowhere (each found in
    /// [`Recomputed::stored`]).
    Before(&'a [String], u64),
    /// These, each replayed whole and written where it changed (the
    /// talents an import left with a stale present: a move's id given to
    /// another talent, an enterprise moved or gone).
    These(&'a [String]),
    /// Every talent (with or without moves).
    All,
}

/// What a recomputation found.
#[derive(Debug, Default)]
pub struct Recomputed {
    /// Moves of the flagged batch that contradict the state they find, by
    /// move id, in talent and date order.
    pub irregular: Vec<(String, Irregular)>,
    /// With [`Scope::Batch`]: each talent's present as stored before, by id.
    pub stored: HashMap<String, Stored>,
    /// With [`Scope::Batch`]: the talents' rows and all their moves once the
    /// batch and [`Self::pending`] are written, exactly as [`read_rows`]
    /// would then read them — but for the talents in [`Self::continued`],
    /// whose moves here are the batch's alone.
    pub after: Rows,
    /// With [`Scope::Batch`]: the present that changed, not yet written.
    pub pending: Vec<PresentChange>,
    /// With [`Scope::Batch`]: the talents resumed from their stored present
    /// (every new move on a later day than their stored ones), whose stored
    /// moves are not in [`Self::after`].
    pub continued: std::collections::BTreeMap<String, Continued>,
    /// With [`Scope::Batch`] and held talents: each talent as the batch
    /// leaves it, to be held for the next ([`super::held`]); not those whose
    /// history was not all read.
    pub held: Vec<(String, super::held::Held)>,
}

impl Recomputed {
    /// Adds what a recompute of other talents found, whose ids all come
    /// after this one's (irregular moves and rows stay in talent order).
    pub fn append(&mut self, other: Recomputed) {
        self.irregular.extend(other.irregular);
        self.stored.extend(other.stored);
        self.after.talents.extend(other.after.talents);
        self.after.moves.extend(other.after.moves);
        self.pending.extend(other.pending);
        self.continued.extend(other.continued);
        self.held.extend(other.held);
    }
}

/// A talent whose new moves all come on later days than its stored ones
/// (a feed's usual order): its present is resumed from the stored one with
/// the new moves alone, and a delta carries its new moves without the
/// stored ones. `tail` is what the flows need of those: the attribution of
/// the new moves carries on from the employer and industry the latest
/// stored moves leave (`snapshot::moves::carried`).
#[derive(Debug, Clone, PartialEq)]
pub struct Continued {
    /// The talent's latest stored moves, in the store's order (date, then
    /// id): every move from the earlier of the latest day with a move that
    /// names an enterprise and the latest day with one that sets the
    /// employer (a job change; an arrival at an enterprise) — whole days.
    pub tail: Vec<MoveRow>,
    /// `tail` holds every stored move of the talent: one of those days
    /// was not found, or is the talent's first day with a move.
    pub whole: bool,
}

/// A talent's present that changed, with the regions of what moved.
#[derive(Debug, Clone)]
pub struct PresentChange {
    pub talent: String,
    pub now: TalentState,
    pub before: TalentState,
    /// The home's district and park, when they are written (the home
    /// moved, or every column is written).
    pub home: Option<(Option<String>, Option<String>)>,
    /// The workplace's district and park, when they are written.
    pub work: Option<(Option<String>, Option<String>)>,
}

impl PresentChange {
    /// `row` as the change leaves it.
    fn apply_to(&self, row: &mut TalentRow) {
        row.here = self.now.here;
        if let Some((district, park)) = &self.home {
            row.home = self.now.home;
            row.home_district = district.clone();
            row.home_park = park.clone();
        }
        if let Some((district, park)) = &self.work {
            row.work = self.now.work;
            row.work_district = district.clone();
            row.work_park = park.clone();
        }
        row.enterprise_id = self.now.enterprise.clone();
    }
}

/// Writes the present of [`Recomputed::pending`].
pub fn write_present(conn: &Connection, changes: &[PresentChange]) -> crate::store::db::Result<()> {
    let mut writer = PresentWriter::new(conn)?;
    for change in changes {
        writer.write(change)?;
    }
    writer.finish()
}

/// Writes changed present, on PostgreSQL staged and written by one
/// statement (a round trip per talent would dominate).
struct PresentWriter<'c> {
    conn: &'c Connection,
    staged: Option<crate::store::db::Bulk<'c>>,
}

impl<'c> PresentWriter<'c> {
    fn new(conn: &'c Connection) -> crate::store::db::Result<PresentWriter<'c>> {
        let staged = match conn.kind() {
            Kind::Sqlite => None,
            Kind::Postgres => Some(conn.bulk_update("talents", "id", &PRESENT_COLUMNS)?),
        };
        Ok(PresentWriter { conn, staged })
    }

    fn finish(self) -> crate::store::db::Result<()> {
        match self.staged {
            Some(staged) => staged.finish().map(|_| ()),
            None => Ok(()),
        }
    }

    fn write(&mut self, c: &PresentChange) -> crate::store::db::Result<()> {
        let (s, stored) = (&c.now, &c.before);
        let parts = |r: &Option<(Option<String>, Option<String>)>| match r {
            Some((district, park)) => (district.clone(), park.clone()),
            None => (None, None),
        };
        if let Some(staged) = &mut self.staged {
            let ((home_district, home_park), (work_district, work_park)) = (parts(&c.home), parts(&c.work));
            staged.execute(params![
                c.talent,
                s.here,
                s.home.lon,
                s.home.lat,
                home_district,
                home_park,
                s.work.map(|w| w.lon),
                s.work.map(|w| w.lat),
                work_district,
                work_park,
                s.enterprise
            ])?;
            return Ok(());
        }
        // Only the columns that change are written: an unchanged indexed
        // column (the home position, the employer) costs no index write.
        let mut sets: Vec<&str> = Vec::new();
        let mut values: Vec<crate::store::db::types::Value> = vec![c.talent.clone().into()];
        let mut set = |columns: &'static str, v: Vec<crate::store::db::types::Value>| {
            sets.push(columns);
            values.extend(v);
        };
        use crate::store::db::types::Value as V;
        let opt = |x: Option<f64>| x.map_or(V::Null, V::Real);
        let text = |x: Option<String>| x.map_or(V::Null, V::Text);
        if s.here != stored.here {
            set("here = ?", vec![V::Integer(s.here as i64)]);
        }
        if c.home.is_some() {
            let (district, park) = parts(&c.home);
            let v = vec![V::Real(s.home.lon), V::Real(s.home.lat), text(district), text(park)];
            set("home_lon = ?, home_lat = ?, home_district = ?, home_park = ?", v);
        }
        if c.work.is_some() {
            let (district, park) = parts(&c.work);
            let v = vec![opt(s.work.map(|w| w.lon)), opt(s.work.map(|w| w.lat)), text(district), text(park)];
            set("work_lon = ?, work_lat = ?, work_district = ?, work_park = ?", v);
        }
        if s.enterprise != stored.enterprise {
            set("enterprise_id = ?", vec![text(s.enterprise.clone())]);
        }
        if sets.is_empty() {
            return Ok(());
        }
        // Parameters are numbered in order: the id is ?1, then the values.
        let mut sql = String::from("UPDATE talents SET ");
        for (i, part) in sets.join(", ").split('?').enumerate() {
            if i > 0 {
                sql.push_str(&format!("?{}", i + 1));
            }
            sql.push_str(part);
        }
        sql.push_str(" WHERE id = ?1");
        self.conn.prepare_cached(&sql)?.execute(crate::store::db::params_from_iter(values))?;
        Ok(())
    }
}

/// A talent's present as stored: the state and its regions.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub state: TalentState,
    pub home_district: Option<String>,
    pub home_park: Option<String>,
    pub work_district: Option<String>,
    pub work_park: Option<String>,
}

const SELECT: &str = "SELECT t.id, t.reg_home_lon, t.reg_home_lat, t.reg_work_lon, t.reg_work_lat, t.reg_enterprise_id,
        m.id, m.date, m.event, m.to_lon, m.to_lat, m.to_enterprise_id, m.batch,
        t.here, t.home_lon, t.home_lat, t.work_lon, t.work_lat, t.enterprise_id,
        t.home_district, t.home_park, t.work_district, t.work_park";

/// [`SELECT`] and what [`read_rows`] reads beyond it (columns 23 on).
const SELECT_ROWS: &str = ", t.field, t.education, t.title, t.tier, t.birth_year, t.seeking, t.rkey,
        m.from_lon, m.from_lat, m.destination, m.rkey";

/// Recomputes the present state of the talents in `scope`, writing it where
/// it changed. Irregular moves are reported only when they belong to
/// `flag_batch` (so that an import warns about its own rows, not about
/// history it did not write).
pub fn recompute(
    conn: &Connection,
    regions: &Regions,
    scope: Scope,
    flag_batch: Option<u64>,
) -> crate::store::db::Result<Recomputed> {
    let mut replayer = Replayer {
        regions,
        flag_batch,
        firm_position: conn.prepare("SELECT lon, lat FROM enterprises WHERE id = ?1")?,
        writer: match scope {
            Scope::Before(..) | Scope::Batch(..) => None,
            _ => Some(PresentWriter::new(conn)?),
        },
        every_column: conn.kind() == Kind::Postgres,
        firms: HashMap::new(),
        current: None,
        resumes: false,
        row: None,
        keep_stored: matches!(scope, Scope::Batch(..)),
        hold: matches!(scope, Scope::Batch(_, _, Some(_))),
        read_only: matches!(scope, Scope::Before(..)),
        steps: Vec::new(),
        flagged: Vec::new(),
        moves_from: 0,
        whole: true,
        before: None,
        out: Recomputed::default(),
    };
    let order = "ORDER BY t.id, m.date, m.id";
    match scope {
        Scope::Batch(ids, fresh, held) => {
            // Each talent's new moves in the store's order (date, then id,
            // compared as bytes on both stores).
            let mut theirs: HashMap<&str, Vec<(String, &MoveRow)>> = HashMap::new();
            for m in fresh.iter().map(|l| &l.row) {
                theirs.entry(m.stored.talent_id.as_str()).or_default().push((m.stored.date.to_string(), m));
            }
            for list in theirs.values_mut() {
                list.sort_by(|a, b| (&a.0, &a.1.stored.id).cmp(&(&b.0, &b.1.stored.id)));
            }
            let rows_of = |order: &str| {
                format!(
                    "{SELECT}{SELECT_ROWS} FROM talents t LEFT JOIN moves m ON m.talent_id = t.id WHERE t.id = ?1
                     ORDER BY {order}"
                )
            };
            let mut latest_first = conn.prepare(&rows_of(&format!("m.date DESC, m.id DESC LIMIT {TAIL_ROWS}")))?;
            let mut select = conn.prepare(&rows_of("m.date, m.id"))?;
            for id in ids {
                let new = theirs.get(id.as_str()).map_or(&[][..], Vec::as_slice);
                if let Some(h) = held.and_then(|held| held.get(id))
                    && replayer.held(h, new)?
                {
                    continue;
                }
                // The latest stored moves first: a talent without stored
                // moves, or whose new moves all come on later days and
                // whose tail lies within the rows read, is played from
                // these rows on; the others are read again in the store's
                // order and replayed whole (`begin` keeps the talent
                // begun here).
                let mut rows = latest_first.query(params![id])?;
                let Some(r) = rows.next()? else { continue };
                let last: Option<String> = r.get(7)?;
                let resumes = resumes_after(last.as_deref(), new);
                if last.is_none() || resumes {
                    replayer.begin(&r)?;
                    let continued = if resumes {
                        let mut tail = Tail::default();
                        tail.read(&r)?;
                        tail.rest(&mut rows)?
                    } else {
                        None
                    };
                    if last.is_none() || continued.is_some() {
                        replayer.carry_on(id, continued, new);
                        continue;
                    }
                }
                drop(rows);
                let mut new = new.iter().peekable();
                let mut rows = select.query(params![id])?;
                let mut found = false;
                while let Some(r) = rows.next()? {
                    found = true;
                    replayer.begin(&r)?;
                    let at: (Option<String>, Option<String>) = (r.get(7)?, r.get(6)?);
                    if let (Some(date), Some(move_id)) = at {
                        let at = (date.as_str(), move_id.as_str());
                        replayer.fresh_before(&mut new, |(d, m)| (d.as_str(), m.stored.id.as_str()) < at);
                    }
                    replayer.step(&r)?;
                }
                if found {
                    new.for_each(|(_, m)| replayer.fresh(m));
                }
            }
        }
        Scope::Before(ids, batch) => {
            let mut select = conn.prepare(&format!(
                "{SELECT} FROM talents t LEFT JOIN moves m ON m.talent_id = t.id AND m.batch <> ?2 WHERE t.id = ?1
                 ORDER BY m.date, m.id"
            ))?;
            for id in ids {
                let mut rows = select.query(params![id, batch as i64])?;
                while let Some(r) = rows.next()? {
                    replayer.row(&r)?;
                }
            }
        }
        Scope::These(ids) => {
            let mut select = conn.prepare(&format!(
                "{SELECT} FROM talents t LEFT JOIN moves m ON m.talent_id = t.id WHERE t.id = ?1 {order}"
            ))?;
            for id in ids {
                let mut rows = select.query(params![id])?;
                while let Some(r) = rows.next()? {
                    replayer.row(&r)?;
                }
            }
        }
        Scope::Moves(batch) | Scope::Talents(batch) => {
            let filter = match scope {
                Scope::Moves(_) => "t.id IN (SELECT talent_id FROM moves WHERE batch = ?1)",
                _ => "t.batch = ?1",
            };
            let sql = format!("{SELECT} FROM talents t JOIN moves m ON m.talent_id = t.id WHERE {filter} {order}");
            let mut select = conn.prepare(&sql)?;
            let mut rows = select.query(params![batch as i64])?;
            while let Some(r) = rows.next()? {
                replayer.row(&r)?;
            }
        }
        Scope::All => {
            let mut select =
                conn.prepare(&format!("{SELECT} FROM talents t LEFT JOIN moves m ON m.talent_id = t.id {order}"))?;
            let mut rows = select.query([])?;
            while let Some(r) = rows.next()? {
                replayer.row(&r)?;
            }
        }
    }
    replayer.flush()?;
    if let Some(writer) = replayer.writer.take() {
        writer.finish()?;
    }
    Ok(replayer.out)
}

/// The present's columns, as a PostgreSQL bulk update writes them.
const PRESENT_COLUMNS: [&str; 10] = [
    "here",
    "home_lon",
    "home_lat",
    "home_district",
    "home_park",
    "work_lon",
    "work_lat",
    "work_district",
    "work_park",
    "enterprise_id",
];

/// Replays talents one after the other from rows ordered by talent, then
/// move date and id.
struct Replayer<'c, 'r> {
    regions: &'r Regions,
    flag_batch: Option<u64>,
    firm_position: crate::store::db::Statement<'c>,
    /// Writes the changed present as it is found; without one, it is kept
    /// in [`Recomputed::pending`].
    writer: Option<PresentWriter<'c>>,
    /// Every present column is written (PostgreSQL), not only those that
    /// change (SQLite).
    every_column: bool,
    firms: HashMap<String, Option<LonLat>>,
    /// The talent being read: id, register row, stored present.
    current: Option<(String, TalentState, TalentState)>,
    /// The talent being read is resumed from its stored present with the
    /// steps ([`state::resume`]), not replayed from its register row.
    resumes: bool,
    /// Its whole row as stored, when `keep_stored` (for [`Recomputed::after`]).
    row: Option<TalentRow>,
    /// Keep each talent's stored present, and its rows after, in the answer.
    keep_stored: bool,
    /// Keep each talent as the batch leaves it in [`Recomputed::held`].
    hold: bool,
    /// Keep each talent's replayed present in the answer, write nothing.
    read_only: bool,
    steps: Vec<Step>,
    flagged: Vec<bool>,
    /// Where the talent read now starts in `out.after.moves`.
    moves_from: usize,
    /// No stored move of the talent read now was unreadable.
    whole: bool,
    /// Of a talent resumed from a tail that is not all its moves, the
    /// stored move just before the tail: with it the talent can be held in
    /// part ([`super::held`]).
    before: Option<MoveRow>,
    out: Recomputed,
}

impl Replayer<'_, '_> {
    fn row(&mut self, r: &crate::store::db::Row) -> crate::store::db::Result<()> {
        self.begin(r)?;
        self.step(r)
    }

    /// A move of the batch being written, for the talent read now (called
    /// after [`Self::begin`] has started it).
    fn fresh(&mut self, m: &MoveRow) {
        self.take_move(m.clone(), self.flag_batch.is_some());
    }

    /// A move of the talent read now, in the store's order; `flagged`: it
    /// belongs to the flagged batch.
    fn take_move(&mut self, m: MoveRow, flagged: bool) {
        let s = &m.stored;
        let to_enterprise = s.to_enterprise_id.clone();
        self.steps.push(Step { id: s.id.clone(), date: s.date, event: s.event, to: s.to, to_enterprise });
        self.flagged.push(flagged);
        if self.keep_stored {
            self.out.after.moves.push(m);
        }
    }

    /// The talent read now carries on from its stored present with the
    /// batch's moves `new` (after [`Self::begin`]): resumed with the tail of
    /// its stored moves, `continued` (with the move found before it, if
    /// one was), or a talent without stored moves.
    fn carry_on(&mut self, id: &str, continued: Option<(Continued, Option<MoveRow>)>, new: &[(String, &MoveRow)]) {
        if let Some((c, before)) = continued {
            self.resumes = true;
            self.before = before;
            self.out.continued.insert(id.to_string(), c);
        }
        new.iter().for_each(|(_, m)| self.fresh(m));
    }

    /// Replays a held talent with the batch's moves `new`, as the store's
    /// rows of it would be replayed (the same steps, the same resumption).
    /// `false` (nothing done) when the talent is held with its latest moves
    /// only and the batch needs more of them: then it is read from the
    /// store.
    fn held(&mut self, h: &super::held::Held, new: &[(String, &MoveRow)]) -> crate::store::db::Result<bool> {
        let moves = h.moves();
        let last = moves.last().map(|m| m.stored.date.to_string());
        let resumes = resumes_after(last.as_deref(), new);
        let continued = if resumes { Tail::of_moves(&moves) } else { None };
        // Of a talent held in part, the moves held reach before its tail:
        // they are the rows the store would give up to the tail's end.
        if !h.whole && !matches!(&continued, Some((c, Some(_))) if !c.whole) {
            return Ok(false);
        }
        self.flush()?;
        let id = h.row.id.clone();
        self.start(id.clone(), h.registered.clone(), h.row.stored(), Some(h.row.clone()));
        if last.is_none() || continued.is_some() {
            self.carry_on(&id, continued, new);
            return Ok(true);
        }
        let mut new = new.iter().peekable();
        for m in moves {
            // A date's order is its text's (`YYYY-MM-DD`), so the held
            // move's date is compared as it is, not written out.
            let at = (m.stored.date, m.stored.id.as_str());
            self.fresh_before(&mut new, |(_, f)| (f.stored.date, f.stored.id.as_str()) < at);
            self.take_move(m, false);
        }
        new.for_each(|(_, f)| self.fresh(f));
        Ok(true)
    }

    /// The batch's moves of the talent read now that come before a stored
    /// move in the store's order (date, then id, as bytes): those of `new`
    /// for which `before` holds.
    fn fresh_before(
        &mut self,
        new: &mut std::iter::Peekable<std::slice::Iter<'_, (String, &MoveRow)>>,
        before: impl Fn(&(String, &MoveRow)) -> bool,
    ) {
        while let Some((_, m)) = new.next_if(|n| before(n)) {
            self.fresh(m);
        }
    }

    /// Starts the row's talent unless it is the one read now.
    fn begin(&mut self, r: &crate::store::db::Row) -> crate::store::db::Result<()> {
        let id = r.get_ref(0)?.as_str().unwrap_or("");
        if self.current.as_ref().is_some_and(|c| c.0 != id) {
            self.flush()?;
        }
        if self.current.is_none() {
            let home = point(r.get(1)?, r.get(2)?).unwrap_or(LonLat::new(0.0, 0.0));
            let registered = TalentState { here: true, home, work: point(r.get(3)?, r.get(4)?), enterprise: r.get(5)? };
            let stored = Stored {
                state: TalentState {
                    here: r.get(13)?,
                    home: point(r.get(14)?, r.get(15)?).unwrap_or(LonLat::new(0.0, 0.0)),
                    work: point(r.get(16)?, r.get(17)?),
                    enterprise: r.get(18)?,
                },
                home_district: r.get(19)?,
                home_park: r.get(20)?,
                work_district: r.get(21)?,
                work_park: r.get(22)?,
            };
            let row = if self.keep_stored {
                Some(TalentRow {
                    id: id.to_string(),
                    here: stored.state.here,
                    home: stored.state.home,
                    work: stored.state.work,
                    enterprise_id: stored.state.enterprise.clone(),
                    reg_enterprise_id: r.get(5)?,
                    field: r.get(23)?,
                    education: r.get(24)?,
                    title: r.get(25)?,
                    tier: r.get(26)?,
                    birth_year: r.get(27)?,
                    seeking: r.get(28)?,
                    home_district: stored.home_district.clone(),
                    home_park: stored.home_park.clone(),
                    work_district: stored.work_district.clone(),
                    work_park: stored.work_park.clone(),
                    rkey: r.get::<_, Option<i64>>(29)?.unwrap_or(0) as u32,
                })
            } else {
                None
            };
            self.start(id.to_string(), registered, stored, row);
        }
        Ok(())
    }

    /// Starts talent `id`: its register row, its present as stored and,
    /// when kept, its whole row.
    fn start(&mut self, id: String, registered: TalentState, stored: Stored, row: Option<TalentRow>) {
        let state = stored.state.clone();
        if self.keep_stored {
            self.row = row;
            self.out.stored.insert(id.clone(), stored);
        }
        self.moves_from = self.out.after.moves.len();
        self.whole = true;
        self.before = None;
        self.current = Some((id, registered, state));
    }

    /// The row's move, if it has one.
    fn step(&mut self, r: &crate::store::db::Row) -> crate::store::db::Result<()> {
        let Some(move_id) = r.get::<_, Option<String>>(6)? else { return Ok(()) };
        let date = r.get_ref(7)?.as_str().ok().and_then(Date::parse);
        let event = r.get_ref(8)?.as_str().ok().and_then(|e| e.parse::<MoveEvent>().ok());
        let (Some(date), Some(event)) = (date, event) else {
            self.whole = false;
            return Ok(());
        };
        if self.keep_stored {
            self.out.after.moves.push(move_row(r, move_id.clone(), date, event)?);
        }
        self.steps.push(Step { id: move_id, date, event, to: point(r.get(9)?, r.get(10)?), to_enterprise: r.get(11)? });
        self.flagged.push(self.flag_batch.is_some_and(|b| r.get::<_, i64>(12).ok() == Some(b as i64)));
        Ok(())
    }

    /// Replays the talent read so far and writes its present if it changed.
    fn flush(&mut self) -> crate::store::db::Result<()> {
        let Some((talent, registered, stored)) = self.current.take() else { return Ok(()) };
        let (firms, firm_position) = (&mut self.firms, &mut self.firm_position);
        let lookup = |e: &str| -> Option<LonLat> {
            if let Some(p) = firms.get(e) {
                return *p;
            }
            let p = firm_position
                .query_row(params![e], |r| Ok(LonLat::new(r.get(0)?, r.get(1)?)))
                .optional()
                .ok()
                .flatten();
            firms.insert(e.to_string(), p);
            p
        };
        let mut found = Vec::new();
        let flagged = &self.flagged;
        let report = |i, k| {
            if flagged[i] {
                found.push((i, k));
            }
        };
        let resumed = std::mem::take(&mut self.resumes);
        let held = (self.hold && self.whole).then(|| registered.clone());
        let s = if resumed {
            state::resume(stored.clone(), &self.steps, lookup, report)
        } else {
            state::replay(registered, &self.steps, None, lookup, report)
        };
        for (i, k) in found {
            self.out.irregular.push((self.steps[i].id.clone(), k));
        }
        self.steps.clear();
        self.flagged.clear();
        if self.read_only {
            let (home_district, home_park) = self.regions.assign(s.home);
            let (work_district, work_park) = s.work.map(|w| self.regions.assign(w)).unwrap_or((None, None));
            let kept = Stored {
                state: s,
                home_district: home_district.map(str::to_string),
                home_park: home_park.map(str::to_string),
                work_district: work_district.map(str::to_string),
                work_park: work_park.map(str::to_string),
            };
            self.out.stored.insert(talent, kept);
            return Ok(());
        }
        let owned =
            |(district, park): (Option<&str>, Option<&str>)| (district.map(str::to_string), park.map(str::to_string));
        // PostgreSQL's bulk update writes every present column, SQLite only
        // those that change.
        let every = self.every_column;
        let change = (s != stored).then(|| PresentChange {
            home: (every || s.home != stored.home).then(|| owned(self.regions.assign(s.home))),
            work: (every || s.work != stored.work)
                .then(|| s.work.map_or((None, None), |w| owned(self.regions.assign(w)))),
            talent,
            now: s,
            before: stored,
        });
        if let Some(mut row) = self.row.take() {
            if let Some(change) = &change {
                change.apply_to(&mut row);
            }
            // As the batch leaves the talent: its stored moves are those
            // taken since it was started, after the tail it was resumed
            // from — all of them when the tail holds them all, else its
            // latest, from the move before the tail on.
            let before = self.before.take();
            let (earlier, whole) = match self.out.continued.get(&row.id).filter(|_| resumed) {
                None => (Some(&[][..]), true),
                Some(c) if c.whole => (Some(&c.tail[..]), true),
                Some(c) => (before.is_some().then_some(&c.tail[..]), false),
            };
            if let (Some(registered), Some(earlier)) = (held, earlier) {
                let moves = before.iter().chain(earlier).chain(&self.out.after.moves[self.moves_from..]);
                if let Some(h) = super::held::Held::new(registered, row.clone(), moves, whole) {
                    self.out.held.push((row.id.clone(), h));
                }
            }
            self.out.after.talents.push(row);
        }
        let Some(change) = change else { return Ok(()) };
        match &mut self.writer {
            Some(writer) => writer.write(&change),
            None => {
                self.out.pending.push(change);
                Ok(())
            }
        }
    }
}

/// Whether a talent whose latest stored move is on day `last` resumes
/// from its stored present with the batch's moves `new` (in the store's
/// order): every new move comes on a later day.
fn resumes_after(last: Option<&str>, new: &[(String, &MoveRow)]) -> bool {
    last.is_some_and(|l| new.first().is_some_and(|(d, _)| l < d.as_str()))
}

/// A stored move from a row of [`SELECT`] and [`SELECT_ROWS`] (its id,
/// date and event read already).
fn move_row(r: &crate::store::db::Row, id: String, date: Date, event: MoveEvent) -> crate::store::db::Result<MoveRow> {
    let stored = Move {
        id,
        talent_id: r.get(0)?,
        date,
        event,
        from: point(r.get(30)?, r.get(31)?),
        to: point(r.get(9)?, r.get(10)?),
        to_enterprise_id: r.get(11)?,
        destination: r.get(32)?,
    };
    Ok(MoveRow { stored, rkey: r.get::<_, Option<i64>>(33)?.unwrap_or(0) as u32 })
}

/// How many of a talent's latest stored moves a feed batch reads, newest
/// first, to find its [`Continued::tail`]; a talent whose tail may reach
/// further back is replayed whole.
pub const TAIL_ROWS: usize = 64;

/// A talent's latest stored moves read newest first, up to the day
/// [`Continued::tail`] starts on.
#[derive(Default)]
struct Tail {
    moves: Vec<MoveRow>,
    /// The newest day with a move naming an enterprise.
    names: Option<String>,
    /// The newest day with a move that sets the employer.
    sets: Option<String>,
    /// A row read could not be (its date or event).
    unreadable: bool,
    /// The first move read before the tail's first day.
    before: Option<MoveRow>,
}

impl Tail {
    /// Takes the row's move, or says (`false`) that it comes before the
    /// tail's first day (and keeps it as [`Self::before`]).
    fn read(&mut self, r: &crate::store::db::Row) -> crate::store::db::Result<bool> {
        let Some(id) = r.get::<_, Option<String>>(6)? else { return Ok(true) };
        let day: String = r.get(7)?;
        let event = r.get_ref(8)?.as_str().ok().and_then(|e| e.parse::<MoveEvent>().ok());
        let Some((date, event)) = Date::parse(&day).zip(event) else {
            if self.ends_before(&day) {
                return Ok(false);
            }
            self.unreadable = true;
            return Ok(true);
        };
        if self.ends_before(&day) {
            self.before = Some(move_row(r, id, date, event)?);
            return Ok(false);
        }
        self.take(day, move_row(r, id, date, event)?);
        Ok(true)
    }

    /// Whether a move on `day` (newest first) comes before the tail's
    /// first day.
    fn ends_before(&self, day: &str) -> bool {
        matches!((&self.names, &self.sets), (Some(names), Some(sets)) if day < names.min(sets).as_str())
    }

    /// Takes move `m`, on `day`, into the tail.
    fn take(&mut self, day: String, m: MoveRow) {
        let firm = m.stored.to_enterprise_id.is_some();
        if firm && self.names.is_none() {
            self.names = Some(day.clone());
        }
        let event = m.stored.event;
        let sets = event == MoveEvent::JobChange || (event == MoveEvent::Arrive && firm);
        if sets && self.sets.is_none() {
            self.sets = Some(day);
        }
        self.moves.push(m);
    }

    /// Reads on from the first row, already read, through `rows`: the
    /// talent's [`Continued`] and the move before it, or `None` when all
    /// [`TAIL_ROWS`] rows were read without the tail ending (it may reach
    /// further back).
    fn rest(
        mut self,
        rows: &mut crate::store::db::Rows,
    ) -> crate::store::db::Result<Option<(Continued, Option<MoveRow>)>> {
        let (mut read, mut whole) = (1, true);
        while let Some(r) = rows.next()? {
            read += 1;
            if !self.read(&r)? {
                whole = false;
                break;
            }
        }
        Ok(self.end(read, whole))
    }

    /// What [`Self::rest`] finds in the rows of `moves`, a talent's latest
    /// stored moves (or all of them) in the store's order.
    fn of_moves(moves: &[MoveRow]) -> Option<(Continued, Option<MoveRow>)> {
        let mut tail = Tail::default();
        let (mut read, mut whole) = (0, true);
        for m in moves.iter().rev().take(TAIL_ROWS) {
            read += 1;
            let day = m.stored.date.to_string();
            if tail.ends_before(&day) {
                tail.before = Some(m.clone());
                whole = false;
                break;
            }
            tail.take(day, m.clone());
        }
        tail.end(read, whole)
    }

    /// The tail after `read` rows; `whole`: none was left before its
    /// first day. An unreadable row leaves it not whole (its moves then
    /// say what they carry on from, or the snapshot is built again), with
    /// no move before it.
    fn end(mut self, read: usize, whole: bool) -> Option<(Continued, Option<MoveRow>)> {
        (!whole || read < TAIL_ROWS).then(|| {
            self.moves.reverse();
            let before = self.before.filter(|_| !self.unreadable);
            (Continued { tail: self.moves, whole: whole && !self.unreadable }, before)
        })
    }
}

/// A talent row as stored: the present columns and the profile.
#[derive(Debug, Clone, PartialEq)]
pub struct TalentRow {
    pub id: String,
    pub here: bool,
    pub home: LonLat,
    pub work: Option<LonLat>,
    pub enterprise_id: Option<String>,
    pub reg_enterprise_id: Option<String>,
    pub field: String,
    pub education: String,
    pub title: String,
    pub tier: String,
    pub birth_year: i64,
    pub seeking: bool,
    pub home_district: Option<String>,
    pub home_park: Option<String>,
    pub work_district: Option<String>,
    pub work_park: Option<String>,
    pub rkey: u32,
}

impl TalentRow {
    /// The present the row holds, with its regions.
    fn stored(&self) -> Stored {
        Stored {
            state: TalentState {
                here: self.here,
                home: self.home,
                work: self.work,
                enterprise: self.enterprise_id.clone(),
            },
            home_district: self.home_district.clone(),
            home_park: self.home_park.clone(),
            work_district: self.work_district.clone(),
            work_park: self.work_park.clone(),
        }
    }
}

/// A move as stored, with its record key.
#[derive(Debug, Clone, PartialEq)]
pub struct MoveRow {
    pub stored: Move,
    pub rkey: u32,
}

/// Some talents' rows and all their moves, as stored at one moment.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    pub talents: Vec<TalentRow>,
    pub moves: Vec<MoveRow>,
}

/// What a moves batch changed, for a snapshot to follow it without a
/// rebuild: the touched talents and their moves before and after.
#[derive(Debug, Clone, Default)]
pub struct Delta {
    /// The data version the batch was written on top of.
    pub base_version: u64,
    /// The data version the batch committed.
    pub version: u64,
    /// The touched talents' rows and moves before the batch; of a talent
    /// in [`Self::continued`], no moves.
    pub before: Rows,
    /// Their rows and moves after it; of a talent in [`Self::continued`],
    /// its new moves only.
    pub after: Rows,
    /// The talents whose new moves all come after their stored ones, with
    /// the latest of those.
    pub continued: std::collections::BTreeMap<String, Continued>,
}

fn point(lon: Option<f64>, lat: Option<f64>) -> Option<LonLat> {
    lon.zip(lat).map(|(x, y)| LonLat::new(x, y))
}

/// The delta of the moves batch that committed data version `version`,
/// read back from the store (for a server that did not take the batch): the
/// touched talents' rows now, and before — replayed by the state rule
/// without the batch's moves, which are all new (the feed refuses to change
/// a stored move). Call inside a transaction at `version`.
pub fn delta_of_batch(conn: &Connection, regions: &Regions, version: u64) -> crate::store::db::Result<Delta> {
    let mut stmt = conn.prepare("SELECT id, talent_id FROM moves WHERE batch = ?1")?;
    let written: Vec<(String, String)> =
        stmt.query_map(params![version as i64], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
    let mut touched: Vec<String> = written.iter().map(|(_, t)| t.clone()).collect();
    touched.sort_unstable();
    touched.dedup();
    let after = read_rows(conn, &touched)?;
    let before_state = recompute(conn, regions, Scope::Before(&touched, version), None)?;
    let fresh: std::collections::HashSet<&str> = written.iter().map(|(id, _)| id.as_str()).collect();
    let before = rows_before(&after, &before_state.stored, &fresh);
    Ok(Delta { base_version: version.saturating_sub(1), version, before, after, continued: Default::default() })
}

/// The rows as they were before a batch, from the rows after it: the
/// batch's moves (`fresh`) taken out and each talent's present as
/// [`recompute`] found it stored.
pub fn rows_before(after: &Rows, stored: &HashMap<String, Stored>, fresh: &std::collections::HashSet<&str>) -> Rows {
    let talents = after
        .talents
        .iter()
        .map(|t| match stored.get(&t.id) {
            Some(s) => TalentRow {
                here: s.state.here,
                home: s.state.home,
                work: s.state.work,
                enterprise_id: s.state.enterprise.clone(),
                home_district: s.home_district.clone(),
                home_park: s.home_park.clone(),
                work_district: s.work_district.clone(),
                work_park: s.work_park.clone(),
                ..t.clone()
            },
            None => t.clone(),
        })
        .collect();
    let moves = after.moves.iter().filter(|m| !fresh.contains(m.stored.id.as_str())).cloned().collect();
    Rows { talents, moves }
}

/// Reads the rows of the talents `ids` (those still registered) and all
/// their moves.
pub fn read_rows(conn: &Connection, ids: &[String]) -> crate::store::db::Result<Rows> {
    let mut talent = conn.prepare_cached(
        "SELECT id, here, home_lon, home_lat, work_lon, work_lat, enterprise_id, reg_enterprise_id, field, education,
                title, tier, birth_year, seeking, home_district, home_park, work_district, work_park, rkey
         FROM talents WHERE id = ?1",
    )?;
    let mut moves = conn.prepare_cached(
        "SELECT talent_id, date, event, from_lon, from_lat, to_lon, to_lat, to_enterprise_id, destination, rkey, id
         FROM moves WHERE talent_id = ?1 ORDER BY date, id",
    )?;
    let mut out = Rows::default();
    for id in ids {
        let row = talent
            .query_row(params![id], |r| {
                Ok(TalentRow {
                    id: r.get(0)?,
                    here: r.get(1)?,
                    home: point(r.get(2)?, r.get(3)?).unwrap_or(LonLat::new(0.0, 0.0)),
                    work: point(r.get(4)?, r.get(5)?),
                    enterprise_id: r.get(6)?,
                    reg_enterprise_id: r.get(7)?,
                    field: r.get(8)?,
                    education: r.get(9)?,
                    title: r.get(10)?,
                    tier: r.get(11)?,
                    birth_year: r.get(12)?,
                    seeking: r.get(13)?,
                    home_district: r.get(14)?,
                    home_park: r.get(15)?,
                    work_district: r.get(16)?,
                    work_park: r.get(17)?,
                    rkey: r.get::<_, Option<i64>>(18)?.unwrap_or(0) as u32,
                })
            })
            .optional()?;
        let Some(row) = row else { continue };
        out.talents.push(row);
        let mut rows = moves.query(params![id])?;
        while let Some(r) = rows.next()? {
            let date = r.get_ref(1)?.as_str().ok().and_then(Date::parse);
            let event = r.get_ref(2)?.as_str().ok().and_then(|e| e.parse::<MoveEvent>().ok());
            let (Some(date), Some(event)) = (date, event) else { continue };
            let stored = Move {
                id: r.get(10)?,
                talent_id: r.get(0)?,
                date,
                event,
                from: point(r.get(3)?, r.get(4)?),
                to: point(r.get(5)?, r.get(6)?),
                to_enterprise_id: r.get(7)?,
                destination: r.get(8)?,
            };
            out.moves.push(MoveRow { stored, rkey: r.get::<_, Option<i64>>(9)?.unwrap_or(0) as u32 });
        }
    }
    Ok(out)
}
