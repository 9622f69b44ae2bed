//! A batch of moves reported as JSON (the daily feed of `POST /api/moves`),
//! validated by exactly the rules of the CSV importer.
//!
//! Each item is a JSON object with the CSV columns as keys (`id`,
//! `talent_id`, `date`, `event`, `from_lon`, `from_lat`, `to_lon`, `to_lat`,
//! `to_enterprise_id`, `destination`); strings and numbers are accepted,
//! `null` or a missing key means empty. The item is turned into a CSV record
//! in the column order of the moves file and parsed by the CSV importer's own
//! row parser, so the two paths cannot drift apart.
//!
//! Contract:
//! - **All or nothing.** Every item is checked; if any is invalid nothing is
//!   stored and every error is returned with the item's index.
//! - **Durable.** Valid batches are written in one transaction committed with
//!   `synchronous = FULL` before the call returns ([`stage_moves`] validates
//!   the batch and replays its talents with the new moves, then hands the
//!   transaction back with the writes still to do, so that the snapshot
//!   patch can run while [`Staged::commit`] writes and commits).
//! - **Idempotent by move id.** An id already stored with identical values
//!   is skipped (a retried batch stores nothing and leaves the data version);
//!   an id already stored with *different* values is an error
//!   (`conflict`): a reported move is an event, the feed does not rewrite
//!   history — corrections go through a CSV import, which upserts.
//! - Two items of one batch with the same id are an error, as two rows of one
//!   file are.

use std::collections::HashMap;

use crate::store::db::{OptionalExtension, TransactionBehavior, params};
use serde_json::Value;

use crate::model::{Move, Taxonomy};
use crate::store::{self, Store};

use super::ImportError;
use super::columns::{Columns, Row};
use super::held::HeldTalents;
use super::kinds::{LocatedMove, MOVE_COLUMNS, MOVE_UPSERT, parse_move, write_located_move};
use super::present;

/// Most items accepted in one batch.
pub const MAX_BATCH: usize = 50_000;

/// One invalid value of a batch.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ItemError {
    /// 0-based position of the item in `moves`.
    pub index: usize,
    /// The key (column) concerned, or `item` for the whole item.
    pub field: String,
    pub value: String,
    /// `invalid`, `duplicate` (same id earlier in the batch) or `conflict`
    /// (id stored with different values).
    pub reason: &'static str,
    /// What is wrong and what is accepted.
    pub message: String,
}

/// Why a batch was not stored. In every case the store is unchanged.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("{} invalid value{} in the batch; nothing was stored", errors.len(), if errors.len() == 1 { "" } else { "s" })]
    Invalid { errors: Vec<ItemError> },
    #[error("a batch holds at most {MAX_BATCH} moves, got {0}")]
    TooLarge(usize),
    /// The `moves` array of a request body has more than `limit` items;
    /// reading stopped at the first one too many.
    #[error("a batch holds at most {limit} moves; the moves array has more (line {line}, column {column}): split it")]
    TooMany { limit: usize, line: usize, column: usize },
    /// The request body is not `{"moves": [ … ]}`.
    #[error("{message} (line {line}, column {column}); the body is {{\"moves\": [ … ]}}")]
    Body { message: String, line: usize, column: usize },
    #[error(transparent)]
    Import(#[from] ImportError),
    /// What the caller writes with the batch (its audit entry) could not be
    /// written; the batch was not stored either.
    #[error("the record kept with the batch could not be written ({0}); nothing was stored")]
    Record(String),
}

impl From<crate::store::StoreError> for BatchError {
    fn from(e: crate::store::StoreError) -> Self {
        BatchError::Import(e.into())
    }
}

impl From<crate::store::db::Error> for BatchError {
    fn from(e: crate::store::db::Error) -> Self {
        BatchError::Import(e.into())
    }
}

/// A stored move that contradicts the state it finds (imported all the
/// same, see `docs/present.md`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ItemWarning {
    /// 0-based position of the item in `moves`.
    pub index: usize,
    /// Always `event`.
    pub field: String,
    /// The move id.
    pub value: String,
    pub message: String,
}

/// What a stored batch did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BatchSummary {
    /// Items in the batch.
    pub received: usize,
    /// New moves written.
    pub stored: usize,
    /// Items whose id was already stored with identical values.
    pub unchanged: usize,
    /// Data version after the batch (unchanged when nothing was stored).
    pub version: u64,
    /// Stored moves whose history is irregular, resolved by the state rule.
    pub warnings: Vec<ItemWarning>,
    /// The touched talents before and after (when the batch stored moves),
    /// for the snapshot to follow without a rebuild.
    #[serde(skip)]
    pub delta: Option<super::present::Delta>,
}

/// The text of a JSON value as it would appear in a CSV cell.
fn cell(v: &Value) -> Result<String, &'static str> {
    match v {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err("expected a string or a number"),
    }
}

/// The import log's file name of a moves batch from the feed.
pub const FEED_FILE: &str = "POST /api/moves";

/// Validates and stores a batch of moves (see the module doc).
pub fn import_moves(store: &mut Store, taxonomy: &Taxonomy, items: &[Value]) -> Result<BatchSummary, BatchError> {
    stage_moves(store, taxonomy, items)?.commit()
}

/// What validating a batch reads from the store besides the talents and
/// moves it names — the regions, the enterprise ids and the pseudonym key
/// (a tenth of a second and more at 200,000 enterprises) — kept between the
/// batches of one connection ([`stage_moves_keeping`]).
///
/// It is used only while the store's data version is the one it describes.
/// A feed batch changes none of it, so a committed batch carries it to the
/// batch's own version; any other write (an import, another server's batch)
/// moves the version past it and the next batch reads the store again.
///
/// On a SQLite store it also keeps a second connection, which replays half
/// of a batch's touched talents while the batch's own replays the other
/// half ([`replay_on_two`]).
#[derive(Default)]
pub struct FeedContext {
    kept: Option<KeptContext>,
    reader: Option<Store>,
    /// The enterprise ids of the served snapshot and its data version
    /// ([`Self::offer_enterprises`]).
    offered: Option<(u64, std::sync::Arc<HashMap<String, u32>>)>,
}

/// Items (for validation's reads) or touched talents (for the replay) from
/// which a batch's reads are split over two connections.
const SPLIT_REPLAY_AT: usize = 64;

struct KeptContext {
    version: u64,
    regions: super::kinds::Regions,
    enterprises: super::kinds::EnterpriseIds,
    pseudonym: crate::auth::PseudonymSecret,
    /// The talents the latest batches touched, as they left them
    /// ([`super::held`]).
    held: HeldTalents,
}

impl FeedContext {
    /// The enterprise ids of a snapshot of data version `version` (every
    /// enterprise of the store at that version): a batch that must read its
    /// context (the first one, or one after another write) takes them from
    /// here instead of the store when the store is still at `version`.
    pub fn offer_enterprises(&mut self, version: u64, ids: std::sync::Arc<HashMap<String, u32>>) {
        self.offered = Some((version, ids));
    }

    /// The kept context when it describes data version `version`.
    fn take_at(&mut self, version: u64) -> Option<KeptContext> {
        self.kept.take().filter(|k| k.version == version)
    }

    /// The validation context as `conn` reads it at data version
    /// `version`, with the enterprise ids offered for that version when
    /// there are (and whether there were).
    fn read_context<'t>(
        &mut self,
        conn: &crate::store::db::Connection,
        taxonomy: &'t Taxonomy,
        version: u64,
    ) -> Result<(super::kinds::Context<'t>, bool), BatchError> {
        let known = self.offered.take().filter(|(offered, _)| *offered == version);
        let offered = known.is_some();
        let known = known.map(|(_, ids)| super::kinds::EnterpriseIds::Indexed(ids));
        Ok((super::context_knowing(conn, taxonomy, super::ImportKind::Moves, known)?, offered))
    }

    /// How many talents are held for the next batch ([`super::held`]):
    /// those the latest batches touched, while the store is at the version
    /// they left.
    pub fn held(&self) -> usize {
        self.kept.as_ref().map_or(0, |k| k.held.len())
    }

    /// On a SQLite store, opens the second connection if it is not open
    /// (before the batch takes the write lock: opening reads the schema
    /// version).
    fn open_reader(&mut self, store: &Store) {
        if self.reader.is_some() || store.location().url.is_some() {
            return;
        }
        match store.location().open() {
            Ok(reader) => self.reader = Some(reader),
            Err(e) => tracing::warn!(error = %e, "no second connection for the moves feed; replays on one"),
        }
    }

    /// Readies `store`, the feed's connection, and this context for a first
    /// batch before one comes, as a committed batch leaves them: the
    /// connection set to commit durably, the second connection opened, and
    /// the validation context read at the store's data version now (in one
    /// read, so the two agree). A batch uses that context only while the
    /// store is still at that version, as it uses the one a batch keeps;
    /// after any other write it reads the store again.
    pub fn ready(&mut self, store: &mut Store, taxonomy: &Taxonomy) -> Result<(), BatchError> {
        feed_connection(store)?;
        self.open_reader(store);
        let read = store.conn_mut().transaction()?;
        let version = store::data_version(&read)?;
        let (ctx, _) = self.read_context(&read, taxonomy, version)?;
        // Committed, not dropped: a store without a pseudonym key has one
        // now, as its first batch would have written it.
        read.commit()?;
        self.kept = Some(KeptContext::of(version, ctx, HeldTalents::default()));
        Ok(())
    }
}

impl KeptContext {
    fn of(version: u64, ctx: super::kinds::Context<'_>, held: HeldTalents) -> KeptContext {
        let super::kinds::Context { regions, enterprises, pseudonym, .. } = ctx;
        KeptContext { version, regions, enterprises, pseudonym, held }
    }
}

/// A validated batch written in a transaction that is not yet committed:
/// the caller may start on [`Staged::take_delta`] (the snapshot patch) while
/// [`Staged::commit`] waits for the disk. Dropped without a commit, it
/// stores nothing.
pub struct Staged<'s> {
    tx: Option<crate::store::db::Transaction<'s>>,
    summary: BatchSummary,
    phases: crate::timing::Phases,
    /// The context to keep once the commit succeeds, and where.
    keep: Option<(&'s mut FeedContext, KeptContext)>,
    /// What the commit writes first.
    writes: Option<Writes>,
    /// The touched talents, and as the batch leaves them, for the kept
    /// context's held talents once the commit succeeds.
    update: Option<HeldUpdate>,
}

/// The talents a batch touched, and those of them as it leaves them.
type HeldUpdate = (Vec<String>, Vec<(String, super::held::Held)>);

/// A batch's writes, made by [`Staged::commit`] in the batch's
/// transaction.
struct Writes {
    batch: u64,
    /// The new moves (validation refused repeated ids: none is repeated).
    moves: Vec<LocatedMove>,
    present: Vec<present::PresentChange>,
}

impl Writes {
    fn apply(
        &self,
        tx: &crate::store::db::Transaction<'_>,
        phases: &mut crate::timing::Phases,
    ) -> Result<(), BatchError> {
        let mut upsert = tx.bulk(MOVE_UPSERT)?;
        // In the order of the index by talent and date: each insert lands
        // next to the one before it in that index.
        let mut order: Vec<&LocatedMove> = self.moves.iter().collect();
        order.sort_unstable_by(|a, b| {
            let (a, b) = (&a.row.stored, &b.row.stored);
            (a.talent_id.as_str(), a.date).cmp(&(b.talent_id.as_str(), b.date))
        });
        for m in order {
            write_located_move(&mut upsert, m, self.batch)?;
        }
        upsert.finish()?;
        phases.mark("moves written");
        present::write_present(tx, &self.present)?;
        phases.mark("present written");
        Ok(())
    }
}

impl Staged<'_> {
    /// The touched talents before and after, when the batch stores moves
    /// (taken out: the summary that [`Self::commit`] returns has none).
    pub fn take_delta(&mut self) -> Option<super::present::Delta> {
        self.summary.delta.take()
    }

    /// What the batch does once committed (without its delta once taken).
    pub fn summary(&self) -> &BatchSummary {
        &self.summary
    }

    /// Makes the batch durable (`synchronous = FULL`) and returns what it
    /// did.
    pub fn commit(self) -> Result<BatchSummary, BatchError> {
        self.commit_with(|_, _| Ok(())).map(|(summary, _)| summary)
    }

    /// [`Self::commit`], with `record` written in the batch's transaction
    /// after the batch (given what the batch did): the two are stored
    /// together or not at all, with one `fsync`. Whether `record` was
    /// written: not when the batch writes nothing (every move already
    /// stored, or only checked), and the caller then writes its own.
    pub fn commit_with(
        mut self,
        record: impl FnOnce(&crate::store::db::Connection, &BatchSummary) -> Result<(), String>,
    ) -> Result<(BatchSummary, bool), BatchError> {
        let mut recorded = false;
        if let Some(tx) = self.tx.take() {
            if let Some(writes) = self.writes.take() {
                writes.apply(&tx, &mut self.phases)?;
            }
            record(&tx, &self.summary).map_err(BatchError::Record)?;
            recorded = true;
            tx.commit()?;
            self.phases.mark("committed");
            let (moves, phases) = (self.summary.stored, &self.phases);
            tracing::debug!(moves, phases = %phases, "moves batch stored");
        }
        if let Some((slot, mut kept)) = self.keep.take() {
            if let Some((touched, found)) = self.update.take() {
                kept.held.update(kept.version, &touched, found);
            }
            tracing::debug!(talents = kept.held.len(), bytes = kept.held.bytes(), "moves feed: talents held");
            slot.kept = Some(kept);
        }
        Ok((self.summary, recorded))
    }
}

/// Pages a batch may change before SQLite writes changed pages to the
/// write-ahead log while the batch still writes: 128 MiB of 4 KiB pages,
/// twice the connection's cache ([`feed_connection`]).
const FEED_SPILL_PAGES: i64 = 32_768;

/// Sets the feed's connection for batch after batch: each commit durable
/// (`synchronous = FULL`), and a batch's changed pages kept in the page
/// cache until its commit, up to [`FEED_SPILL_PAGES`] (`cache_spill`). At
/// the cache's own size (16,384 pages), a 10,000-move batch at 4 M talents
/// changes more pages than the cache holds, so SQLite wrote changed pages
/// to the log while the batch still wrote, and many of them again as they
/// changed once more: about 32,000 frames a batch, each two `pwrite` calls,
/// against about 21,000 unspilled (measured with `strace`). The threshold,
/// rather than no spilling at all, bounds what a batch of up to
/// [`MAX_BATCH`] moves holds in memory beyond the cache.
fn feed_connection(store: &Store) -> Result<(), BatchError> {
    store.conn().pragma_update(None, "synchronous", "FULL")?;
    store.conn().pragma_update(None, "cache_spill", FEED_SPILL_PAGES)?;
    Ok(())
}

/// Validates and writes a batch as [`import_moves`] does, up to the
/// commit (see [`Staged`]).
pub fn stage_moves<'s>(store: &'s mut Store, taxonomy: &Taxonomy, items: &[Value]) -> Result<Staged<'s>, BatchError> {
    store.conn().pragma_update(None, "synchronous", "FULL")?;
    run(store, taxonomy, items, true, None, None)
}

/// [`stage_moves`] on a connection that takes batch after batch: the
/// context `kept` is used when it still describes the store, and is
/// replaced by this batch's once it commits.
pub fn stage_moves_keeping<'s>(
    store: &'s mut Store,
    taxonomy: &Taxonomy,
    items: &[Value],
    kept: &'s mut FeedContext,
) -> Result<Staged<'s>, BatchError> {
    feed_connection(store)?;
    run(store, taxonomy, items, true, Some(kept), None)
}

/// What runs between a batch's reads and its write lock
/// ([`stage_moves_gated`]).
pub type Gate<'g> = Box<dyn FnOnce() + 'g>;

/// [`stage_moves_keeping`] with the reads done first, in a read
/// transaction: validation and the replay of the touched talents. Then,
/// with no transaction open on the feed's connections, `gate` runs (the
/// server waits there for a checkpoint of the write-ahead log, which the
/// write that follows needs in order to start the log over), and the write
/// lock is taken. When the store's data version is still the one read, the
/// batch is written as it was checked; when another write came in between,
/// it is checked again under the write lock.
pub fn stage_moves_gated<'s>(
    store: &'s mut Store,
    taxonomy: &Taxonomy,
    items: &[Value],
    kept: &'s mut FeedContext,
    gate: Gate<'_>,
) -> Result<Staged<'s>, BatchError> {
    feed_connection(store)?;
    run(store, taxonomy, items, true, Some(kept), Some(gate))
}

/// Validates a batch exactly as [`import_moves`] does, against the store,
/// and stores nothing: the summary says what would be stored, with the
/// current data version.
pub fn check_moves(store: &mut Store, taxonomy: &Taxonomy, items: &[Value]) -> Result<BatchSummary, BatchError> {
    run(store, taxonomy, items, false, None, None).map(|staged| staged.summary)
}

fn run<'s>(
    store: &'s mut Store,
    taxonomy: &Taxonomy,
    items: &[Value],
    commit: bool,
    kept: Option<&'s mut FeedContext>,
    gate: Option<Gate<'_>>,
) -> Result<Staged<'s>, BatchError> {
    if items.len() > MAX_BATCH {
        return Err(BatchError::TooLarge(items.len()));
    }
    let mut phases = crate::timing::Phases::start();
    let mut kept = kept;
    if let Some(slot) = kept.as_deref_mut() {
        slot.open_reader(store);
    }
    let (tx, mut checked) = match gate {
        Some(gate) if commit => {
            // Read and replayed in a read transaction; the gate runs with
            // none open, then the write lock is taken. The work is kept
            // when no write came in between, and done again in the write
            // transaction when one did.
            let read = store.conn_mut().transaction()?;
            let checked = check(&read, taxonomy, items, kept, true, &mut phases)?;
            drop(read);
            if checked.replayed.is_none() {
                return Ok(checked.unwritten(phases));
            }
            gate();
            phases.mark("gate passed");
            let tx = store.conn_mut().transaction_with_behavior(TransactionBehavior::Immediate)?;
            if store::data_version(&tx)? == checked.base {
                (tx, checked)
            } else {
                tracing::debug!(
                    base = checked.base,
                    "moves batch: the store changed before the write lock; checked again"
                );
                let again = check(&tx, taxonomy, items, checked.slot, true, &mut phases)?;
                (tx, again)
            }
        }
        _ => {
            let tx = store.conn_mut().transaction_with_behavior(TransactionBehavior::Immediate)?;
            let checked = check(&tx, taxonomy, items, kept, commit, &mut phases)?;
            (tx, checked)
        }
    };
    match checked.replayed.take().filter(|_| commit) {
        Some(replayed) => checked.written(tx, replayed, phases),
        None => {
            drop(tx);
            Ok(checked.unwritten(phases))
        }
    }
}

/// What a batch's reads found, before anything is written ([`check`]).
struct Checked<'s, 't> {
    /// The data version read.
    base: u64,
    ctx: super::kinds::Context<'t>,
    slot: Option<&'s mut FeedContext>,
    /// Each item's index by move id.
    seen: HashMap<String, usize>,
    received: usize,
    unchanged: usize,
    /// New moves in the batch.
    stored: usize,
    /// The held talents at the version read (none when the context was
    /// read from the store).
    held: HeldTalents,
    /// The new moves and their talents replayed with them; `None` when the
    /// batch has no new move, or was only checked.
    replayed: Option<Replayed>,
}

struct Replayed {
    located: Vec<LocatedMove>,
    found: present::Recomputed,
    before: present::Rows,
    /// The talents the new moves name, sorted.
    touched: Vec<String>,
}

impl<'s> Checked<'s, '_> {
    /// The batch as it stands when nothing is written: every item already
    /// stored, or only checked.
    fn unwritten(self, phases: crate::timing::Phases) -> Staged<'s> {
        let (received, stored, unchanged, version) = (self.received, self.stored, self.unchanged, self.base);
        let summary = BatchSummary { received, stored, unchanged, version, warnings: Vec::new(), delta: None };
        let keep = self.slot.map(|slot| (slot, KeptContext::of(self.base, self.ctx, self.held)));
        Staged { tx: None, summary, phases, keep, writes: None, update: None }
    }

    /// The batch staged in `tx`, the write transaction, at the version
    /// read, with its new moves and their talents `replayed`: the data
    /// version bumped, the writes left for the commit.
    fn written(
        self,
        tx: crate::store::db::Transaction<'s>,
        replayed: Replayed,
        phases: crate::timing::Phases,
    ) -> Result<Staged<'s>, BatchError> {
        let Checked { base, ctx, slot, seen, received, unchanged, held, .. } = self;
        let Replayed { located, mut found, before, touched } = replayed;
        let batch = base + 1;
        let version = store::bump_version(&tx, "moves", FEED_FILE, located.len() as u64, false)?;
        let mut warnings: Vec<ItemWarning> = std::mem::take(&mut found.irregular)
            .into_iter()
            .filter_map(|(id, kind)| {
                let index = *seen.get(&id)?;
                Some(ItemWarning { index, field: "event".into(), value: id, message: kind.message().to_string() })
            })
            .collect();
        warnings.sort_by_key(|w| w.index);
        let summary = BatchSummary {
            received,
            stored: located.len(),
            unchanged,
            version,
            warnings,
            delta: Some(present::Delta {
                base_version: base,
                version,
                before,
                after: std::mem::take(&mut found.after),
                continued: std::mem::take(&mut found.continued),
            }),
        };
        // The batch writes moves and the talents' present only: once it
        // commits, the context describes the store at its version, and the
        // touched talents are as it left them.
        let keep = slot.map(|slot| (slot, KeptContext::of(version, ctx, held)));
        let update = Some((touched, std::mem::take(&mut found.held)));
        let writes = Writes { batch, moves: located, present: std::mem::take(&mut found.pending) };
        Ok(Staged { tx: Some(tx), summary, phases, keep, writes: Some(writes), update })
    }
}

/// Validates a batch against the store as `conn` reads it and replays the
/// talents its new moves touch, writing nothing.
fn check<'s, 't>(
    conn: &crate::store::db::Connection,
    taxonomy: &'t Taxonomy,
    items: &[Value],
    kept: Option<&'s mut FeedContext>,
    replay: bool,
    phases: &mut crate::timing::Phases,
) -> Result<Checked<'s, 't>, BatchError> {
    let (required, optional) = MOVE_COLUMNS;
    let names: Vec<&'static str> = required.iter().chain(optional).copied().collect();
    let header = csv::StringRecord::from(names.clone());
    let columns = Columns::from_header(&header, required, optional).map_err(|problems| ImportError::Header {
        file: "batch".into(),
        errors: problems
            .into_iter()
            .map(|p| super::RowError {
                file: "batch".into(),
                line: 0,
                column: p.column,
                field: p.name,
                value: String::new(),
                message: p.message,
            })
            .collect(),
    })?;

    let base = store::data_version(conn)?;
    let ctx = match kept.map(|slot| (slot.take_at(base), slot)) {
        Some((Some(k), slot)) => {
            phases.mark("context kept");
            (super::kinds::Context::of(taxonomy, k.regions, k.enterprises, k.pseudonym), Some(slot), k.held)
        }
        Some((None, slot)) => {
            let (ctx, offered) = slot.read_context(conn, taxonomy, base)?;
            phases.mark(if offered { "context read (enterprise ids offered)" } else { "context read" });
            (ctx, Some(slot), HeldTalents::default())
        }
        None => (super::context(conn, taxonomy, super::ImportKind::Moves)?, None, HeldTalents::default()),
    };
    let (ctx, mut slot, held) = ctx;
    // The talents the batch names, as their cells will read.
    let named: Vec<String> = items.iter().filter_map(|i| cell(i.get("talent_id")?).ok()).collect();
    let named: Vec<&str> = named.iter().map(|t| t.trim()).collect();
    let mut stored_move = conn.prepare(STORED_MOVE)?;
    // On SQLite with the feed's second connection, a batch's reads are split:
    // the talents it names there, the moves with its ids here.
    let reader = slot.as_mut().and_then(|s| s.reader.as_mut()).filter(|_| items.len() >= SPLIT_REPLAY_AT);
    let ids: Vec<String> = match reader {
        Some(_) => items.iter().filter_map(|i| cell(i.get("id")?).ok()).collect(),
        None => Vec::new(),
    };
    let ids: Vec<&str> = ids.iter().map(|id| id.trim()).collect();
    let (mut exists, mut prefetched) = match reader {
        Some(reader) => {
            // A held talent is in the register: the held talents describe
            // the store at the version read. Only the others are looked up.
            let (known, unheld): (Vec<&str>, Vec<&str>) = named.iter().partition(|t| held.get(t).is_some());
            std::thread::scope(|s| -> Result<_, BatchError> {
                let other = s.spawn(|| -> crate::store::db::Result<std::collections::HashSet<String>> {
                    let read = reader.conn_mut().transaction()?;
                    super::kinds::TalentIds::read_among(&read, &unheld)
                });
                let moves = stored_moves(&mut stored_move, &ids);
                let mut talents = other.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
                talents.extend(known.into_iter().map(str::to_string));
                Ok((super::kinds::TalentIds::Known(talents), Some(moves?)))
            })?
        }
        None => (super::kinds::TalentIds::among(conn, &named)?, None),
    };
    // A small batch on SQLite looks its ids up as the items are parsed:
    // they count in `validated` (PostgreSQL reads them here).
    phases.mark("named read");
    let mut errors: Vec<ItemError> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(items.len());
    let mut fresh: Vec<Move> = Vec::with_capacity(items.len());
    let mut unchanged = 0usize;
    for (index, item) in items.iter().enumerate() {
        let fail = |field: &str, value: String, reason: &'static str, message: String| ItemError {
            index,
            field: field.to_string(),
            value,
            reason,
            message,
        };
        let Some(object) = item.as_object() else {
            errors.push(fail("item", String::new(), "invalid", "expected a JSON object".into()));
            continue;
        };
        let mut record = vec![String::new(); names.len()];
        let mut bad = false;
        for (key, value) in object {
            let Some(position) = names.iter().position(|n| n == key) else {
                errors.push(fail(
                    key,
                    String::new(),
                    "invalid",
                    format!("unknown field; accepted: {}", names.join(", ")),
                ));
                bad = true;
                continue;
            };
            match cell(value) {
                Ok(text) => record[position] = text,
                Err(message) => {
                    errors.push(fail(key, value.to_string(), "invalid", message.into()));
                    bad = true;
                }
            }
        }
        if bad {
            continue;
        }
        let record = csv::StringRecord::from(record);
        let mut row = Row::new("batch", index as u64, &record, &columns);
        let parsed = parse_move(&mut row, &ctx, &mut exists);
        let row_errors = std::mem::take(&mut row.errors);
        errors.extend(row_errors.into_iter().map(|e| fail(&e.field, e.value, "invalid", e.message)));
        let Some(m) = parsed else { continue };
        if let Some(earlier) = seen.insert(m.id.clone(), index) {
            errors.push(fail(
                "id",
                m.id.clone(),
                "duplicate",
                format!("duplicate id: item {earlier} of this batch has the same id"),
            ));
            continue;
        }
        let stored = match prefetched.as_mut().and_then(|p| p.remove(m.id.as_str())) {
            Some(stored) => stored,
            None => stored_move.query_row(params![m.id], read_stored).optional()?,
        };
        match stored {
            None => fresh.push(m),
            Some(old) if same(&old, &m) => unchanged += 1,
            // The message does not say which values differ: the feed must not
            // tell a caller what is stored, field by field.
            Some(_) => errors.push(fail(
                "id",
                m.id.clone(),
                "conflict",
                format!(
                    "move {} is already stored with other values; the feed does not change reported moves — correct them with a CSV import",
                    m.id
                ),
            )),
        }
    }
    drop((exists, stored_move));
    if !errors.is_empty() {
        return Err(BatchError::Invalid { errors });
    }
    let stored = fresh.len();
    if fresh.is_empty() || !replay {
        return Ok(Checked { base, ctx, slot, seen, received: items.len(), unchanged, stored, held, replayed: None });
    }
    phases.mark("validated");
    let mut touched: Vec<String> = fresh.iter().map(|m| m.talent_id.clone()).collect();
    touched.sort_unstable();
    touched.dedup();
    // The touched talents are replayed with the new moves before anything
    // is written: the delta is complete here, and the writes of the moves
    // and the present go with the commit (the snapshot patch runs
    // meanwhile).
    let batch = base + 1;
    let located: Vec<LocatedMove> = fresh.into_iter().map(|m| LocatedMove::of(m, &ctx)).collect();
    phases.mark("moves located");
    // Talents are held only for a feed that keeps its context.
    let scope = present::Scope::Batch(&touched, &located, slot.is_some().then_some(&held));
    let reader = slot.as_mut().and_then(|s| s.reader.as_mut()).filter(|_| touched.len() >= SPLIT_REPLAY_AT);
    let found = match reader {
        Some(reader) => replay_on_two(conn, reader, &ctx.regions, scope, batch)?,
        None => present::recompute(conn, &ctx.regions, scope, Some(batch))?,
    };
    phases.mark("present replayed");
    let fresh_ids: std::collections::HashSet<&str> = located.iter().map(|l| l.row.stored.id.as_str()).collect();
    let before = present::rows_before(&found.after, &found.stored, &fresh_ids);
    let replayed = Some(Replayed { located, found, before, touched });
    Ok(Checked { base, ctx, slot, seen, received: items.len(), unchanged, stored, held, replayed })
}

/// [`present::recompute`] of a batch's touched talents (sorted ids) on two
/// connections at once: the first half in the batch's transaction `conn`,
/// the second in a read transaction of `reader`. Holding the write lock,
/// with nothing written yet, `reader` sees what `conn` sees; in a read
/// transaction, a write that comes in between moves the data version and
/// [`run`] checks the batch again.
fn replay_on_two(
    conn: &crate::store::db::Connection,
    reader: &mut Store,
    regions: &super::kinds::Regions,
    scope: present::Scope<'_>,
    batch: u64,
) -> Result<present::Recomputed, BatchError> {
    let present::Scope::Batch(touched, located, held) = scope else {
        return Ok(present::recompute(conn, regions, scope, Some(batch))?);
    };
    let (first, second) = touched.split_at(touched.len() / 2);
    std::thread::scope(|s| {
        let other = s.spawn(|| -> crate::store::db::Result<present::Recomputed> {
            let read = reader.conn_mut().transaction()?;
            present::recompute(&read, regions, present::Scope::Batch(second, located, held), Some(batch))
        });
        let found = present::recompute(conn, regions, present::Scope::Batch(first, located, held), Some(batch));
        let rest = other.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let mut found = found?;
        found.append(rest?);
        Ok(found)
    })
}

/// A stored move by its id.
const STORED_MOVE: &str =
    "SELECT talent_id, date, event, from_lon, from_lat, to_lon, to_lat, to_enterprise_id, destination
     FROM moves WHERE id = ?1";

/// The stored move of each id in `ids` (`None`: no move has that id), by
/// [`STORED_MOVE`].
fn stored_moves<'i>(
    stmt: &mut crate::store::db::Statement<'_>,
    ids: &[&'i str],
) -> crate::store::db::Result<HashMap<&'i str, Option<Stored>>> {
    let mut found = HashMap::with_capacity(ids.len());
    for &id in ids {
        if !found.contains_key(id) {
            found.insert(id, stmt.query_row(params![id], read_stored).optional()?);
        }
    }
    Ok(found)
}

/// A stored move's values, as [`Move`] fields.
struct Stored {
    talent_id: String,
    date: String,
    event: String,
    from: (Option<f64>, Option<f64>),
    to: (Option<f64>, Option<f64>),
    to_enterprise_id: Option<String>,
    destination: Option<String>,
}

fn read_stored(r: &crate::store::db::Row<'_>) -> crate::store::db::Result<Stored> {
    Ok(Stored {
        talent_id: r.get(0)?,
        date: r.get(1)?,
        event: r.get(2)?,
        from: (r.get(3)?, r.get(4)?),
        to: (r.get(5)?, r.get(6)?),
        to_enterprise_id: r.get(7)?,
        destination: r.get(8)?,
    })
}

fn differences(old: &Stored, m: &Move) -> Vec<&'static str> {
    let point = |p: Option<crate::model::LonLat>| (p.map(|p| p.lon), p.map(|p| p.lat));
    let mut out = Vec::new();
    if old.talent_id != m.talent_id {
        out.push("talent_id");
    }
    if old.date != m.date.to_string() {
        out.push("date");
    }
    if old.event != m.event.code() {
        out.push("event");
    }
    if old.from != point(m.from) {
        out.push("from");
    }
    if old.to != point(m.to) {
        out.push("to");
    }
    if old.to_enterprise_id != m.to_enterprise_id {
        out.push("to_enterprise_id");
    }
    if old.destination != m.destination {
        out.push("destination");
    }
    out
}

fn same(old: &Stored, m: &Move) -> bool {
    differences(old, m).is_empty()
}

/// Reads a request body `{"moves": [ … ]}` into its items, keeping at most
/// `max_moves` of them.
///
/// The body is deserialized as a stream: the items are materialised one by
/// one and reading stops with [`BatchError::TooMany`] as soon as the array
/// shows item `max_moves + 1`, before that item (or anything after it) is
/// parsed. Any other problem is [`BatchError::Body`] with what was expected
/// and where: not JSON, not an object, an unknown or repeated key, no
/// `moves` key, `moves` not an array, or text after the object. The items
/// themselves are not checked here; [`import_moves`] does that.
pub fn parse_moves_body(body: &[u8], max_moves: usize) -> Result<Vec<Value>, BatchError> {
    use serde::de::DeserializeSeed;

    let too_many = std::cell::Cell::new(false);
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = body_reader::Body { max: max_moves, too_many: &too_many }.deserialize(&mut de).and_then(|items| {
        de.end()?;
        Ok(items)
    });
    parsed.map_err(|e| {
        let (line, column) = (e.line(), e.column());
        if too_many.get() {
            return BatchError::TooMany { limit: max_moves, line, column };
        }
        let text = e.to_string();
        let message = text.strip_suffix(&format!(" at line {line} column {column}")).unwrap_or(&text);
        let message = match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                format!("the body is not valid JSON: {message}")
            }
            _ => message.to_string(),
        };
        BatchError::Body { message, line, column }
    })
}

/// The serde visitors of [`parse_moves_body`].
mod body_reader {
    use std::cell::Cell;
    use std::fmt;

    use serde::de::{DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use serde_json::Value;

    /// The whole body: an object whose one key is `moves`.
    pub struct Body<'a> {
        pub max: usize,
        pub too_many: &'a Cell<bool>,
    }

    impl<'de> DeserializeSeed<'de> for Body<'_> {
        type Value = Vec<Value>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Body<'_> {
        type Value = Vec<Value>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object {\"moves\": [ … ]}")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut moves = None;
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if key != "moves" {
                    return Err(A::Error::custom(format!("unknown key '{key}'; the only key is \"moves\"")));
                }
                if moves.is_some() {
                    return Err(A::Error::custom("the key \"moves\" appears twice"));
                }
                moves = Some(map.next_value_seed(Moves { max: self.max, too_many: self.too_many })?);
            }
            moves
                .ok_or_else(|| A::Error::custom("no \"moves\" key: expected {\"moves\": [ … ]} with an array of moves"))
        }
    }

    /// The `moves` array, cut off after `max` items.
    struct Moves<'a> {
        max: usize,
        too_many: &'a Cell<bool>,
    }

    impl<'de> DeserializeSeed<'de> for Moves<'_> {
        type Value = Vec<Value>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_seq(self)
        }
    }

    impl<'de> Visitor<'de> for Moves<'_> {
        type Value = Vec<Value>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "\"moves\" to be an array of at most {} move objects", self.max)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(self.max).min(4096));
            while items.len() < self.max {
                match seq.next_element::<Value>()? {
                    Some(item) => items.push(item),
                    None => return Ok(items),
                }
            }
            match seq.next_element_seed(OneTooMany(self.too_many))? {
                None => Ok(items),
                // Not reached: `OneTooMany` always fails.
                Some(_) => Err(A::Error::custom("too many moves")),
            }
        }
    }

    /// Fails on the item past the limit without reading it, and says so.
    struct OneTooMany<'a>(&'a Cell<bool>);

    impl<'de> DeserializeSeed<'de> for OneTooMany<'_> {
        type Value = IgnoredAny;
        fn deserialize<D: Deserializer<'de>>(self, _d: D) -> Result<Self::Value, D::Error> {
            self.0.set(true);
            Err(D::Error::custom("too many moves"))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn body_error(body: &str, max: usize) -> (String, usize, usize) {
        match parse_moves_body(body.as_bytes(), max) {
            Err(BatchError::Body { message, line, column }) => (message, line, column),
            other => panic!("expected a body error for {body:?}, got {other:?}"),
        }
    }

    #[test]
    fn reads_the_moves_array() {
        let items = parse_moves_body(br#" {"moves": [{"id": "M1"}, 3, null, "x"]} "#, 4).unwrap();
        assert_eq!(items, vec![serde_json::json!({"id": "M1"}), serde_json::json!(3), Value::Null, "x".into()]);
        assert!(parse_moves_body(br#"{"moves": []}"#, 0).unwrap().is_empty());
    }

    #[test]
    fn stops_at_the_first_move_over_the_limit() {
        let err = parse_moves_body(br#"{"moves": [{"id": "M1"}, {"id": "M2"}, {"id": "M3"}]}"#, 2).unwrap_err();
        let BatchError::TooMany { limit, line, column } = err else { panic!("{err:?}") };
        assert_eq!((limit, line), (2, 1));
        assert!(column <= 40, "stopped at the third item, not at the end: column {column}");
        // What follows the item over the limit is never read: not even its syntax.
        let err = parse_moves_body(b"{\"moves\": [1, 2, 3, this is not json", 2).unwrap_err();
        assert!(matches!(err, BatchError::TooMany { limit: 2, .. }), "{err:?}");
        assert!(err.to_string().contains("at most 2 moves"), "{err}");
        let err = parse_moves_body(b"{\"moves\": [1]}", 0).unwrap_err();
        assert!(matches!(err, BatchError::TooMany { limit: 0, .. }), "{err:?}");
        // A syntax error before the limit is a body error, not "too many".
        let (message, ..) = body_error("{\"moves\": [1, 2,", 2);
        assert!(message.contains("not valid JSON"), "{message}");
    }

    #[test]
    fn says_what_was_expected() {
        let (message, ..) = body_error("[1, 2]", 10);
        assert!(message.contains(r#"expected a JSON object {"moves": [ … ]}"#), "{message}");
        let (message, ..) = body_error("{}", 10);
        assert!(message.contains("no \"moves\" key"), "{message}");
        let (message, ..) = body_error(r#"{"moves": {"id": 1}}"#, 10);
        assert!(message.contains("an array of at most 10 move objects"), "{message}");
        let (message, line, column) = body_error("{\n  \"moves\": [],\n  \"extra\": 1}", 10);
        assert!(message.contains("unknown key 'extra'"), "{message}");
        assert_eq!((line, column > 0), (3, true));
        let (message, ..) = body_error(r#"{"moves": [], "moves": []}"#, 10);
        assert!(message.contains("appears twice"), "{message}");
        let (message, ..) = body_error(r#"{"moves": []} {}"#, 10);
        assert!(message.contains("trailing characters"), "{message}");
        let (message, ..) = body_error("", 10);
        assert!(message.contains("not valid JSON"), "{message}");
        let err = parse_moves_body(b"{\"moves\": 7}", 10).unwrap_err();
        assert!(err.to_string().ends_with(r#"(line 1, column 11); the body is {"moves": [ … ]}"#), "{err}");
    }

    #[test]
    fn escaped_keys_are_read() {
        assert_eq!(parse_moves_body(br#"{"mo\u0076es": [1]}"#, 1).unwrap().len(), 1);
    }

    /// The feed's connection commits durably and keeps a batch's changed
    /// pages in its cache up to twice its size; a store opened for anything
    /// else keeps SQLite's default, spilling at the cache's size.
    #[test]
    fn the_feed_connection_keeps_a_batchs_pages_until_its_commit() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let pragma = |store: &Store, name: &str| -> i64 {
            store.conn().query_row(&format!("PRAGMA {name}"), [], |r| r.get(0)).unwrap()
        };
        assert!((1..FEED_SPILL_PAGES).contains(&pragma(&store, "cache_spill")));
        let mut feed = FeedContext::default();
        let staged = stage_moves_keeping(&mut store, &Taxonomy::builtin(), &[], &mut feed).unwrap();
        drop(staged);
        assert_eq!((pragma(&store, "cache_spill"), pragma(&store, "synchronous")), (FEED_SPILL_PAGES, 2));
        let mut other = Store::open(dir.path()).unwrap();
        feed.ready(&mut other, &Taxonomy::builtin()).unwrap();
        assert_eq!(pragma(&other, "cache_spill"), FEED_SPILL_PAGES);
    }
}
