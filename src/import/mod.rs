//! Importers: CSV (and GeoJSON for regions) into the store, validated
//! completely, in one transaction.
//!
//! Contract (see docs/import.md): UTF-8, a header row, any column order,
//! optional BOM, LF, CRLF or CR line ends. Every value is checked; one
//! invalid value fails the whole import and leaves the store exactly as it
//! was; errors name the physical line (see `lines.rs`) and the column. A file
//! without data rows changes nothing. Files stream row by row, so a file of
//! millions of rows is never held in memory.
//!
//! Upsert by id: importing the same file twice changes no record (only the
//! data version moves on). `replace` swaps out all records of the kind.
//! Duplicate ids within one file are detected with the `batch` column: a
//! row whose id was already written by this import leaves the upsert with no
//! change, which the importer reports as a duplicate.

mod batch;
mod columns;
mod error;
pub mod held;
mod kinds;
mod lines;
pub mod present;
mod regions;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::str::FromStr;

use crate::store::db::{Bulk, Connection, OptionalExtension, TransactionBehavior, params};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashMap;

use crate::model::{Enterprise, LonLat, Move, Station, Talent, Taxonomy, Vacancy};
use crate::store::{self, Store};

pub use batch::{
    BatchError, BatchSummary, FEED_FILE, FeedContext, Gate, ItemError, ItemWarning, MAX_BATCH, Staged, check_moves,
    import_moves, parse_moves_body, stage_moves, stage_moves_gated, stage_moves_keeping,
};
pub use error::{ImportError, RowError, write_report};
use kinds::*;
pub use regions::to_multipolygon;

/// At most this many value errors are kept; the rest are only counted.
const MAX_KEPT_ERRORS: usize = 100_000;

/// The kinds of import file, in the order they must be imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    Regions,
    Enterprises,
    Stations,
    Vacancies,
    Talents,
    Moves,
}

impl ImportKind {
    pub const ALL: [ImportKind; 6] = [
        ImportKind::Regions,
        ImportKind::Enterprises,
        ImportKind::Stations,
        ImportKind::Vacancies,
        ImportKind::Talents,
        ImportKind::Moves,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ImportKind::Regions => "regions",
            ImportKind::Enterprises => "enterprises",
            ImportKind::Stations => "stations",
            ImportKind::Vacancies => "vacancies",
            ImportKind::Talents => "talents",
            ImportKind::Moves => "moves",
        }
    }

    /// The file name `talentmap generate` writes for this kind.
    pub fn file_name(self) -> &'static str {
        match self {
            ImportKind::Regions => "regions.geojson",
            ImportKind::Enterprises => "enterprises.csv",
            ImportKind::Stations => "stations.csv",
            ImportKind::Vacancies => "vacancies.csv",
            ImportKind::Talents => "talents.csv",
            ImportKind::Moves => "moves.csv",
        }
    }
}

impl FromStr for ImportKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ImportKind::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| {
            format!("unknown kind '{s}'; accepted: regions, enterprises, stations, vacancies, talents, moves")
        })
    }
}

/// How to import.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Delete all records of the kind first (in the same transaction).
    pub replace: bool,
    /// Draw a progress bar on the terminal.
    pub progress: bool,
}

/// What an import did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportSummary {
    pub kind: &'static str,
    pub file: String,
    /// Records in the file.
    pub rows: u64,
    /// Records of this kind in the store afterwards.
    pub total: u64,
    /// The data version afterwards (unchanged when `changed` is false).
    pub version: u64,
    /// Whether the store changed. A file without data rows (or features)
    /// changes nothing and leaves the data version, even with `replace`; a
    /// check ([`check_reader`]) never changes the store.
    pub changed: bool,
    /// One warning per imported point that lies outside every region (the
    /// record gets no district or park), located at the longitude's column;
    /// the first 100,000 are kept.
    pub warnings: Vec<RowError>,
    /// All such points.
    pub total_warnings: u64,
    /// After a regions import: stored points (enterprises, stations, talent
    /// homes and workplaces) that lie outside every region of the new file.
    pub unassigned: u64,
    /// After a moves import: moves of the file that contradict the state
    /// they find (a `leave` while away, a `relocate` or `job_change` after a
    /// `leave` with no `arrive`, an `arrive` while here); each is imported,
    /// resolved by the state rule (`docs/present.md`) and also listed in
    /// `warnings`, at its `event` column.
    pub irregular_moves: u64,
}

/// Imports one file. On any error the transaction is rolled back.
pub fn import_file(
    store: &mut Store,
    taxonomy: &Taxonomy,
    kind: ImportKind,
    path: &Path,
    options: ImportOptions,
) -> Result<ImportSummary, ImportError> {
    let io = |source| ImportError::Io { path: path.to_path_buf(), source };
    let handle = File::open(path).map_err(io)?;
    let size = handle.metadata().map_err(io)?.len();
    let source = Source { label: path.display().to_string(), path: path.to_path_buf(), size };
    run(store, taxonomy, kind, &source, BufReader::with_capacity(1 << 20, handle), options, true)
}

/// Imports from any reader, exactly as [`import_file`] does; `label` names
/// the source in messages (`label:line:column`).
pub fn import_reader(
    store: &mut Store,
    taxonomy: &Taxonomy,
    kind: ImportKind,
    label: &str,
    reader: impl Read,
    options: ImportOptions,
) -> Result<ImportSummary, ImportError> {
    let source = Source { label: label.to_string(), path: label.into(), size: 0 };
    run(store, taxonomy, kind, &source, reader, options, true)
}

/// Validates input as [`import_reader`] would import it (every rule, the
/// references against the store, the warnings) and then rolls back: the
/// store never changes and the summary says `changed: false`.
pub fn check_reader(
    store: &mut Store,
    taxonomy: &Taxonomy,
    kind: ImportKind,
    label: &str,
    reader: impl Read,
    options: ImportOptions,
) -> Result<ImportSummary, ImportError> {
    let source = Source { label: label.to_string(), path: label.into(), size: 0 };
    run(store, taxonomy, kind, &source, reader, options, false)
}

/// Where input comes from.
struct Source {
    /// Name in messages.
    label: String,
    /// Path in I/O errors.
    path: std::path::PathBuf,
    /// Bytes, for the progress bar (0 when unknown).
    size: u64,
}

impl Source {
    fn io(&self, source: std::io::Error) -> ImportError {
        ImportError::Io { path: self.path.clone(), source }
    }
}

/// What reading the records of a file found.
#[derive(Default)]
struct Outcome {
    rows: u64,
    warnings: Vec<RowError>,
    total_warnings: u64,
    unassigned: u64,
    irregular_moves: u64,
}

fn run(
    store: &mut Store,
    taxonomy: &Taxonomy,
    kind: ImportKind,
    source: &Source,
    reader: impl Read,
    options: ImportOptions,
    commit: bool,
) -> Result<ImportSummary, ImportError> {
    let file = source.label.as_str();
    let tx = store.conn_mut().transaction_with_behavior(TransactionBehavior::Immediate)?;
    let before = store::data_version(&tx)?;
    let batch = before + 1;
    // Where the enterprises were: a talent whose workplace is an
    // enterprise's position follows it when it moves.
    let firms_before = match kind {
        ImportKind::Enterprises => Some(enterprise_positions(&tx)?),
        _ => None,
    };
    if options.replace {
        tx.execute(&format!("DELETE FROM {}", kind.name()), [])?;
    }
    let outcome = match kind {
        ImportKind::Regions => {
            let mut bytes = Vec::new();
            let mut reader = reader;
            reader.read_to_end(&mut bytes).map_err(|e| source.io(e))?;
            regions::import_regions(&tx, &bytes, file, batch)?
        }
        _ => {
            let ctx = context(&tx, taxonomy, kind)?;
            import_csv(&tx, &ctx, kind, source, reader, batch, options)?
        }
    };
    if options.replace && outcome.rows > 0 {
        check_references(&tx, kind, file)?;
    }
    if let Some(before) = firms_before
        && outcome.rows > 0
    {
        follow_moved_enterprises(&tx, &before)?;
    }
    if outcome.rows == 0 {
        // No data rows: nothing changes, not even with `replace`.
        drop(tx);
        let total = count(store.conn(), kind)?;
        return Ok(summary(kind, file, outcome, total, before, false));
    }
    let version =
        if commit { store::bump_version(&tx, kind.name(), file, outcome.rows, options.replace)? } else { before };
    let total = count(&tx, kind)?;
    if commit {
        tx.commit()?;
    }
    Ok(summary(kind, file, outcome, total, version, commit))
}

fn count(conn: &Connection, kind: ImportKind) -> crate::store::db::Result<u64> {
    conn.query_row(&format!("SELECT count(*) FROM {}", kind.name()), [], |r| r.get::<_, i64>(0)).map(|n| n as u64)
}

fn summary(kind: ImportKind, file: &str, o: Outcome, total: u64, version: u64, changed: bool) -> ImportSummary {
    ImportSummary {
        kind: kind.name(),
        file: file.to_string(),
        rows: o.rows,
        total,
        version,
        changed,
        warnings: o.warnings,
        total_warnings: o.total_warnings,
        unassigned: o.unassigned,
        irregular_moves: o.irregular_moves,
    }
}

fn context<'t>(conn: &Connection, taxonomy: &'t Taxonomy, kind: ImportKind) -> Result<Context<'t>, ImportError> {
    context_knowing(conn, taxonomy, kind, None)
}

/// [`context`] with the enterprise ids `known` (of the store's data
/// version) instead of reading them.
fn context_knowing<'t>(
    conn: &Connection,
    taxonomy: &'t Taxonomy,
    kind: ImportKind,
    known: Option<kinds::EnterpriseIds>,
) -> Result<Context<'t>, ImportError> {
    let enterprises = match (kind, known) {
        (ImportKind::Vacancies | ImportKind::Talents | ImportKind::Moves, Some(known)) => known,
        (ImportKind::Vacancies | ImportKind::Talents | ImportKind::Moves, None) => {
            kinds::EnterpriseIds::Read(enterprise_ids(conn)?)
        }
        _ => Default::default(),
    };
    let regions = regions::load(conn)?;
    Ok(Context::of(taxonomy, regions, enterprises, crate::auth::PseudonymSecret::load_or_create_in(conn)?))
}

impl<'t> Context<'t> {
    /// A context of what was read from the store; birth years accepted as of
    /// the system clock's year.
    fn of(
        taxonomy: &'t Taxonomy,
        regions: Regions,
        enterprises: kinds::EnterpriseIds,
        pseudonym: crate::auth::PseudonymSecret,
    ) -> Context<'t> {
        let this_year = current_year() as i64;
        Context {
            taxonomy,
            regions,
            enterprises,
            // Nobody in the register is older than 110 or younger than 14.
            birth_years: (this_year - 110, this_year - 14),
            pseudonym,
        }
    }
}

/// Year of the system clock (UTC), by the civil-from-days algorithm.
pub fn current_year() -> i32 {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64 + 719_468;
    let era = days.div_euclid(146_097);
    let doe = days - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2)) as i32
}

type Parse<T> = fn(&mut columns::Row, &Context) -> Option<T>;
type Write<T> = fn(&mut Bulk, &T, &Context, u64) -> crate::store::db::Result<usize>;

fn import_csv(
    conn: &Connection,
    ctx: &Context,
    kind: ImportKind,
    source: &Source,
    reader: impl Read,
    batch: u64,
    options: ImportOptions,
) -> Result<Outcome, ImportError> {
    let csv = Csv { conn, ctx, source, batch, progress: options.progress };
    match kind {
        ImportKind::Enterprises => csv.run(
            reader,
            ENTERPRISE_COLUMNS,
            ENTERPRISE_UPSERT,
            parse_enterprise as Parse<_>,
            write_enterprise as Write<_>,
        ),
        ImportKind::Stations => {
            csv.run(reader, STATION_COLUMNS, STATION_UPSERT, parse_station as Parse<_>, write_station as Write<_>)
        }
        ImportKind::Vacancies => {
            csv.run(reader, VACANCY_COLUMNS, VACANCY_UPSERT, parse_vacancy as Parse<_>, write_vacancy as Write<_>)
        }
        ImportKind::Talents => {
            // Into an empty table (a first import, or `replace` after its
            // delete) the people layer's indexes are built once after the
            // rows, by sorting, instead of by millions of random inserts. In
            // the import's transaction: a failed import keeps them.
            let empty: bool = conn.query_row("SELECT NOT EXISTS (SELECT 1 FROM talents)", [], |r| r.get(0))?;
            if empty {
                conn.execute_batch("DROP INDEX IF EXISTS talents_pid; DROP INDEX IF EXISTS talents_home;")?;
            }
            let outcome =
                csv.run(reader, TALENT_COLUMNS, TALENT_UPSERT, parse_talent as Parse<_>, write_talent as Write<_>)?;
            if empty {
                conn.execute_batch(
                    "CREATE INDEX IF NOT EXISTS talents_pid ON talents(pid);
                     CREATE INDEX IF NOT EXISTS talents_home ON talents(home_lon, home_lat);",
                )?;
            }
            // A register row replaces the present; the moves put it back.
            present::recompute(conn, &ctx.regions, present::Scope::Talents(batch), None)?;
            Ok(outcome)
        }
        ImportKind::Moves => {
            let mut exists = kinds::TalentIds::all(conn)?;
            // Where each move's event is, for warnings about its history.
            let mut events: Vec<(u64, u64, usize)> = Vec::new();
            // A stored move given to another talent leaves its talent with
            // a present to replay as well (not looked up into an empty table).
            let mut owner = match conn.query_row("SELECT EXISTS (SELECT 1 FROM moves)", [], |r| r.get::<_, bool>(0))? {
                true => Some(conn.prepare("SELECT talent_id FROM moves WHERE id = ?1")?),
                false => None,
            };
            let mut left: Vec<String> = Vec::new();
            let mut lookup_failed = None;
            let parse = |row: &mut columns::Row, ctx: &Context| {
                let parsed = parse_move(row, ctx, &mut exists);
                if let Some(m) = &parsed {
                    let (column, line) = row.locate("event");
                    events.push((crate::snapshot::moves::id_key(&m.id), line, column));
                    if let Some(owner) = owner.as_mut() {
                        match owner.query_row(params![m.id], |r| r.get::<_, String>(0)).optional() {
                            Ok(Some(t)) if t != m.talent_id => left.push(t),
                            Ok(_) => {}
                            Err(e) => lookup_failed = Some(e),
                        }
                    }
                }
                parsed
            };
            let mut outcome = csv.run(reader, MOVE_COLUMNS, MOVE_UPSERT, parse, write_move as Write<_>)?;
            if let Some(e) = lookup_failed {
                return Err(e.into());
            }
            let scope = if options.replace { present::Scope::All } else { present::Scope::Moves(batch) };
            let found = present::recompute(conn, &ctx.regions, scope, Some(batch))?;
            if !options.replace && !left.is_empty() {
                left.sort_unstable();
                left.dedup();
                present::recompute(conn, &ctx.regions, present::Scope::These(&left), None)?;
            }
            events.sort_unstable();
            let file = source.label.as_str();
            let mut warnings: Vec<RowError> = found
                .irregular
                .iter()
                .map(|(id, kind)| {
                    let key = crate::snapshot::moves::id_key(id);
                    let at = events.partition_point(|e| e.0 < key);
                    let (line, column) = events.get(at).filter(|e| e.0 == key).map_or((0, 0), |e| (e.1, e.2));
                    RowError {
                        file: file.to_string(),
                        line,
                        column,
                        field: "event".into(),
                        value: id.clone(),
                        message: kind.message().to_string(),
                    }
                })
                .collect();
            warnings.sort_by_key(|w| (w.line, w.column));
            outcome.irregular_moves = warnings.len() as u64;
            outcome.total_warnings += warnings.len() as u64;
            let room = MAX_KEPT_ERRORS.saturating_sub(outcome.warnings.len());
            outcome.warnings.extend(warnings.into_iter().take(room));
            outcome.warnings.sort_by_key(|w| (w.line, w.column));
            Ok(outcome)
        }
        ImportKind::Regions => Ok(Outcome::default()),
    }
}

/// A record kind as the CSV importer sees it.
trait Record {
    fn id(&self) -> &str;
    /// The points that are assigned a district and park, each with the
    /// column of its longitude. Moves have none: their points may lie in
    /// other cities (arrivals from and departures to elsewhere).
    fn points(&self) -> [Option<(&'static str, LonLat)>; 2] {
        [None, None]
    }
}

impl Record for Enterprise {
    fn id(&self) -> &str {
        &self.id
    }
    fn points(&self) -> [Option<(&'static str, LonLat)>; 2] {
        [Some(("lon", self.location)), None]
    }
}

impl Record for Station {
    fn id(&self) -> &str {
        &self.id
    }
    fn points(&self) -> [Option<(&'static str, LonLat)>; 2] {
        [Some(("lon", self.location)), None]
    }
}

impl Record for Talent {
    fn id(&self) -> &str {
        &self.id
    }
    fn points(&self) -> [Option<(&'static str, LonLat)>; 2] {
        [Some(("home_lon", self.home)), self.work.map(|w| ("work_lon", w))]
    }
}

impl Record for Vacancy {
    fn id(&self) -> &str {
        &self.id
    }
}

impl Record for Move {
    fn id(&self) -> &str {
        &self.id
    }
}

/// One CSV import: where it writes and what it consults.
struct Csv<'a, 't> {
    conn: &'a Connection,
    ctx: &'a Context<'t>,
    source: &'a Source,
    batch: u64,
    progress: bool,
}

/// Errors and warnings of one file, with the first [`MAX_KEPT_ERRORS`] kept.
#[derive(Default)]
struct Findings {
    errors: Vec<RowError>,
    total_errors: u64,
    warnings: Vec<RowError>,
    total_warnings: u64,
}

impl Findings {
    fn error(&mut self, e: RowError) {
        self.total_errors += 1;
        if self.errors.len() < MAX_KEPT_ERRORS {
            self.errors.push(e);
        }
    }
    fn warning(&mut self, e: RowError) {
        self.total_warnings += 1;
        if self.warnings.len() < MAX_KEPT_ERRORS {
            self.warnings.push(e);
        }
    }
}

impl Csv<'_, '_> {
    fn run<T: Record, R: Read>(
        &self,
        reader: R,
        (required, optional): (&[&'static str], &[&'static str]),
        upsert: &str,
        mut parse: impl FnMut(&mut columns::Row, &Context) -> Option<T>,
        write: Write<T>,
    ) -> Result<Outcome, ImportError> {
        let file = self.source.label.as_str();
        let (tracked, tracker) = lines::track(reader);
        let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(tracked);
        let mut raw = csv::ByteRecord::new();
        let (header, cols) = self.header(&mut reader, &tracker, &mut raw, required, optional)?;
        let width = header.len();
        let bar = progress_bar(self.progress, self.source.size);
        let mut stmt = self.conn.bulk(upsert)?;
        let db_error = |source| ImportError::Database { file: file.to_string(), source };
        // Where each written row's id is, for repeated ids found when a
        // PostgreSQL bulk upsert finishes (SQLite finds them row by row).
        let staged = self.conn.kind() == crate::store::db::Kind::Postgres;
        let mut id_at: Vec<(u64, u32)> = Vec::new();
        let mut found = Findings::default();
        let mut rows = 0u64;
        while let Some(located) = self.next(&mut reader, &tracker, &mut raw)? {
            rows += 1;
            let record = match csv::StringRecord::from_byte_record(std::mem::take(&mut raw)) {
                Ok(record) => record,
                Err(e) => {
                    let (column, valid) = (e.utf8_error().field(), e.utf8_error().valid_up_to());
                    raw = e.into_byte_record();
                    found.error(RowError {
                        file: file.to_string(),
                        line: located.field(column),
                        column: column + 1,
                        field: header.get(column).unwrap_or("record").to_string(),
                        value: String::from_utf8_lossy(raw.get(column).unwrap_or_default()).into_owned(),
                        message: format!(
                            "not valid UTF-8 after byte {valid} of the value: the file must be UTF-8 encoded"
                        ),
                    });
                    continue;
                }
            };
            if record.len() != width {
                found.error(RowError {
                    file: file.to_string(),
                    line: located.first,
                    column: 0,
                    field: "record".into(),
                    value: String::new(),
                    message: format!("has {} fields but the header has {width}", record.len()),
                });
                raw = record.into_byte_record();
                continue;
            }
            let mut row = columns::Row::with_lines(file, located.first, &located.fields, &record, &cols);
            let parsed = parse(&mut row, self.ctx);
            if let (Some(value), true) = (&parsed, row.errors.is_empty()) {
                self.check_regions(&row, value, &mut found);
                if found.total_errors == 0 {
                    let changed = write(&mut stmt, value, self.ctx, self.batch).map_err(db_error)?;
                    if staged {
                        let (column, line) = row.locate("id");
                        id_at.push((line, column as u32));
                    }
                    if changed == 0 {
                        row.fail("id", value.id(), "duplicate id: an earlier row of this file has the same id");
                    }
                }
            }
            for e in std::mem::take(&mut row.errors) {
                found.error(e);
            }
            drop(row);
            raw = record.into_byte_record();
            if rows.is_multiple_of(8192) {
                bar.set_position(reader.position().byte());
            }
        }
        bar.finish_and_clear();
        if found.total_errors == 0 {
            for (n, id) in stmt.finish().map_err(db_error)? {
                let (line, column) = id_at.get(n as usize).copied().unwrap_or((0, 0));
                found.error(RowError {
                    file: file.to_string(),
                    line,
                    column: column as usize,
                    field: "id".into(),
                    value: id,
                    message: "duplicate id: an earlier row of this file has the same id".into(),
                });
            }
        }
        if found.total_errors > 0 {
            return Err(ImportError::Invalid {
                file: file.to_string(),
                errors: found.errors,
                total: found.total_errors,
            });
        }
        Ok(Outcome { rows, warnings: found.warnings, total_warnings: found.total_warnings, ..Outcome::default() })
    }

    /// Reads and maps the header row.
    fn header<R: Read>(
        &self,
        reader: &mut csv::Reader<lines::TrackedReader<R>>,
        tracker: &lines::LineTracker,
        raw: &mut csv::ByteRecord,
        required: &[&'static str],
        optional: &[&'static str],
    ) -> Result<(csv::StringRecord, columns::Columns), ImportError> {
        let file = self.source.label.as_str();
        let header_error = |line: u64, column: usize, field: &str, message: String| ImportError::Header {
            file: file.to_string(),
            errors: vec![RowError {
                file: file.to_string(),
                line,
                column,
                field: field.to_string(),
                value: String::new(),
                message,
            }],
        };
        let Some(located) = self.next(reader, tracker, raw)? else {
            return Err(header_error(
                1,
                0,
                "header",
                format!(
                    "the file is empty: expected a header row naming the columns (required: {})",
                    required.join(", ")
                ),
            ));
        };
        let header = csv::StringRecord::from_byte_record(std::mem::take(raw)).map_err(|e| {
            let column = e.utf8_error().field();
            header_error(
                located.field(column),
                column + 1,
                "header",
                "the column name is not valid UTF-8: the file must be UTF-8 encoded".into(),
            )
        })?;
        let cols = columns::Columns::from_header(&header, required, optional).map_err(|problems| {
            let errors = problems
                .into_iter()
                .map(|p| RowError {
                    file: file.to_string(),
                    line: if p.column == 0 { located.first } else { located.field(p.column - 1) },
                    column: p.column,
                    field: p.name,
                    value: String::new(),
                    message: p.message,
                })
                .collect();
            ImportError::Header { file: file.to_string(), errors }
        })?;
        Ok((header, cols))
    }

    /// Reads the next record into `raw` and locates it; `None` at the end.
    fn next<R: Read>(
        &self,
        reader: &mut csv::Reader<lines::TrackedReader<R>>,
        tracker: &lines::LineTracker,
        raw: &mut csv::ByteRecord,
    ) -> Result<Option<lines::RecordLines>, ImportError> {
        match reader.read_byte_record(raw) {
            Ok(false) => Ok(None),
            Ok(true) => {
                let start = raw.position().map_or(0, |p| p.byte());
                Ok(Some(tracker.record(start, reader.position().byte(), raw.len())))
            }
            Err(e) => Err(self.source.io(match e.into_kind() {
                csv::ErrorKind::Io(io) => io,
                // Byte records of a flexible reader fail only on I/O.
                other => std::io::Error::other(format!("{other:?}")),
            })),
        }
    }

    /// Warns about points outside every region: they are imported, but get
    /// no district or park.
    fn check_regions<T: Record>(&self, row: &columns::Row, value: &T, found: &mut Findings) {
        for (column, p) in value.points().into_iter().flatten() {
            if !self.ctx.regions.outside(p) {
                continue;
            }
            let (number, line) = row.locate(column);
            let message = if self.ctx.regions.ids.is_empty() {
                "no regions are imported yet, so the point gets no district or park; import regions first"
            } else {
                "outside every region (district, street or park): imported without a district or park"
            };
            found.warning(RowError {
                file: row.file.to_string(),
                line,
                column: number,
                field: column.to_string(),
                value: format!("{}, {}", p.lon, p.lat),
                message: message.to_string(),
            });
        }
    }
}

fn progress_bar(enabled: bool, size: u64) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(size);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({eta})")
    {
        bar.set_style(style);
    }
    bar
}

/// Each enterprise's position, by id.
fn enterprise_positions(conn: &Connection) -> crate::store::db::Result<HashMap<String, (f64, f64)>> {
    let mut stmt = conn.prepare("SELECT id, lon, lat FROM enterprises")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, (r.get::<_, f64>(1)?, r.get::<_, f64>(2)?))))?;
    rows.collect()
}

/// Replays the present of every talent with a move that takes its
/// workplace from the position of an enterprise that moved or is gone
/// since `before` (an `arrive` at an enterprise; a `job_change` naming one
/// and no point), so that the stored present stays the rule's answer.
fn follow_moved_enterprises(conn: &Connection, before: &HashMap<String, (f64, f64)>) -> Result<(), ImportError> {
    let now = enterprise_positions(conn)?;
    let moved: std::collections::HashSet<&str> =
        before.iter().filter(|(id, p)| now.get(*id) != Some(*p)).map(|(id, _)| id.as_str()).collect();
    if moved.is_empty() {
        return Ok(());
    }
    let mut stmt = conn.prepare(
        "SELECT talent_id, to_enterprise_id FROM moves
         WHERE to_enterprise_id IS NOT NULL AND (event = 'arrive' OR to_lon IS NULL)",
    )?;
    let mut talents = Vec::new();
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        if r.get_ref(1)?.as_str().is_ok_and(|e| moved.contains(e)) {
            talents.push(r.get::<_, String>(0)?);
        }
    }
    talents.sort_unstable();
    talents.dedup();
    let regions = present::regions(conn)?;
    present::recompute(conn, &regions, present::Scope::These(&talents), None)?;
    Ok(())
}

/// After a replace, records of other kinds must still find what they
/// reference. Moves are history and may name talents no longer registered.
fn check_references(conn: &Connection, kind: ImportKind, file: &str) -> Result<(), ImportError> {
    if kind != ImportKind::Enterprises {
        return Ok(());
    }
    // A talent's registered employer counts too: the present is replayed
    // from the register whenever the moves are imported again.
    for (table, column, what) in [
        ("vacancies", "enterprise_id", "vacancies"),
        ("talents", "enterprise_id", "talents"),
        ("talents", "reg_enterprise_id", "talents (as registered employers)"),
    ] {
        let sql = format!(
            "SELECT t.id, t.{column} FROM {table} t LEFT JOIN enterprises e ON e.id = t.{column}
             WHERE t.{column} IS NOT NULL AND e.id IS NULL LIMIT 3"
        );
        let mut stmt = conn.prepare(&sql)?;
        let dangling: Vec<(String, String)> =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
        if !dangling.is_empty() {
            let examples: Vec<String> = dangling.iter().map(|(id, e)| format!("{id} → {e}")).collect();
            return Err(ImportError::Integrity {
                file: file.to_string(),
                message: format!(
                    "the replacement drops enterprises that {what} still reference (e.g. {}); replace or update those {table} first",
                    examples.join(", ")
                ),
            });
        }
    }
    Ok(())
}
