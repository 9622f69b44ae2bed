//! Importers: CSV (and GeoJSON for regions) into the store, validated
//! completely, in one transaction.
//!
//! Contract (see docs/import.md): UTF-8, a header row, any column order,
//! optional BOM, LF or CRLF. Every value is checked; one invalid value fails
//! the whole import and leaves the store exactly as it was. Files stream row
//! by row, so a file of millions of rows is never held in memory.
//!
//! Upsert by id: importing the same file twice changes no record (only the
//! data version moves on). `replace` swaps out all records of the kind.
//! Duplicate ids within one file are detected with the `batch` column: a
//! row whose id was already written by this import leaves the upsert with no
//! change, which the importer reports as a duplicate.

mod batch;
mod columns;
mod error;
mod kinds;
mod regions;

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::str::FromStr;

use indicatif::{ProgressBar, ProgressStyle};
use rusqlite::{Connection, Statement, TransactionBehavior};

use crate::model::Taxonomy;
use crate::store::{self, Store};

pub use batch::{BatchError, BatchSummary, ItemError, MAX_BATCH, import_moves};
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
    /// The new data version.
    pub version: u64,
}

/// Imports one file. On any error the transaction is rolled back.
pub fn import_file(
    store: &mut Store,
    taxonomy: &Taxonomy,
    kind: ImportKind,
    path: &Path,
    options: ImportOptions,
) -> Result<ImportSummary, ImportError> {
    let file_label = path.display().to_string();
    let tx = store.conn_mut().transaction_with_behavior(TransactionBehavior::Immediate)?;
    let batch = store::data_version(&tx)? + 1;
    if options.replace {
        tx.execute(&format!("DELETE FROM {}", kind.name()), [])?;
    }
    let rows = match kind {
        ImportKind::Regions => regions::import_regions(&tx, path, &file_label, batch)?,
        _ => {
            let ctx = context(&tx, taxonomy, kind)?;
            import_csv(&tx, &ctx, kind, path, &file_label, batch, options.progress)?
        }
    };
    if options.replace {
        check_references(&tx, kind, &file_label)?;
    }
    let version = store::bump_version(&tx, kind.name(), &file_label, rows, options.replace)?;
    let total: i64 = tx.query_row(&format!("SELECT count(*) FROM {}", kind.name()), [], |r| r.get(0))?;
    tx.commit()?;
    Ok(ImportSummary { kind: kind.name(), file: file_label, rows, total: total as u64, version })
}

fn context<'t>(conn: &Connection, taxonomy: &'t Taxonomy, kind: ImportKind) -> Result<Context<'t>, ImportError> {
    let enterprises = match kind {
        ImportKind::Vacancies | ImportKind::Talents | ImportKind::Moves => enterprise_ids(conn)?,
        _ => Default::default(),
    };
    let this_year = current_year() as i64;
    Ok(Context {
        taxonomy,
        regions: regions::load(conn)?,
        enterprises,
        // Nobody in the register is older than 110 or younger than 14.
        birth_years: (this_year - 110, this_year - 14),
    })
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
type Write<T> = fn(&mut Statement, &T, &Context, u64) -> rusqlite::Result<usize>;

fn import_csv(
    conn: &Connection,
    ctx: &Context,
    kind: ImportKind,
    path: &Path,
    file: &str,
    batch: u64,
    progress: bool,
) -> Result<u64, ImportError> {
    match kind {
        ImportKind::Enterprises => run_csv(
            conn,
            ctx,
            path,
            file,
            batch,
            progress,
            ENTERPRISE_COLUMNS,
            ENTERPRISE_UPSERT,
            parse_enterprise as Parse<_>,
            write_enterprise as Write<_>,
        ),
        ImportKind::Stations => run_csv(
            conn,
            ctx,
            path,
            file,
            batch,
            progress,
            STATION_COLUMNS,
            STATION_UPSERT,
            parse_station as Parse<_>,
            write_station as Write<_>,
        ),
        ImportKind::Vacancies => run_csv(
            conn,
            ctx,
            path,
            file,
            batch,
            progress,
            VACANCY_COLUMNS,
            VACANCY_UPSERT,
            parse_vacancy as Parse<_>,
            write_vacancy as Write<_>,
        ),
        ImportKind::Talents => run_csv(
            conn,
            ctx,
            path,
            file,
            batch,
            progress,
            TALENT_COLUMNS,
            TALENT_UPSERT,
            parse_talent as Parse<_>,
            write_talent as Write<_>,
        ),
        ImportKind::Moves => {
            let mut exists = conn.prepare("SELECT 1 FROM talents WHERE id = ?1")?;
            let parse = |row: &mut columns::Row, ctx: &Context| parse_move(row, ctx, &mut exists);
            run_csv(conn, ctx, path, file, batch, progress, MOVE_COLUMNS, MOVE_UPSERT, parse, write_move as Write<_>)
        }
        ImportKind::Regions => Ok(0),
    }
}

trait HasId {
    fn id(&self) -> &str;
}
macro_rules! has_id {
    ($($t:ty),*) => { $(impl HasId for $t { fn id(&self) -> &str { &self.id } })* };
}
has_id!(
    crate::model::Enterprise,
    crate::model::Vacancy,
    crate::model::Talent,
    crate::model::Station,
    crate::model::Move
);

#[allow(clippy::too_many_arguments)]
fn run_csv<T: HasId>(
    conn: &Connection,
    ctx: &Context,
    path: &Path,
    file: &str,
    batch: u64,
    progress: bool,
    (required, optional): (&[&'static str], &[&'static str]),
    upsert: &str,
    mut parse: impl FnMut(&mut columns::Row, &Context) -> Option<T>,
    write: Write<T>,
) -> Result<u64, ImportError> {
    let io = |source| ImportError::Io { path: path.to_path_buf(), source };
    let handle = File::open(path).map_err(io)?;
    let size = handle.metadata().map_err(io)?.len();
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(BufReader::with_capacity(1 << 20, handle));
    let header =
        reader.headers().map_err(|e| ImportError::Header { file: file.to_string(), message: e.to_string() })?.clone();
    let cols = columns::Columns::from_header(&header, required, optional)
        .map_err(|message| ImportError::Header { file: file.to_string(), message })?;
    let width = header.len();
    let bar = progress_bar(progress, size);
    let mut stmt = conn.prepare(upsert)?;
    let mut errors: Vec<RowError> = Vec::new();
    let mut total_errors = 0u64;
    let mut rows = 0u64;
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                // Malformed CSV (bad quoting, invalid UTF-8): the reader
                // cannot resynchronise reliably, so stop here.
                let line = e.position().map_or(rows + 2, |p| p.line());
                total_errors += 1;
                errors.push(RowError {
                    file: file.to_string(),
                    line,
                    column: 0,
                    field: "record".into(),
                    value: String::new(),
                    message: format!("unreadable CSV record: {e}"),
                });
                break;
            }
        }
        rows += 1;
        let line = record.position().map_or(rows + 1, |p| p.line());
        if record.len() != width {
            total_errors += 1;
            if errors.len() < MAX_KEPT_ERRORS {
                errors.push(RowError {
                    file: file.to_string(),
                    line,
                    column: 0,
                    field: "record".into(),
                    value: String::new(),
                    message: format!("has {} fields but the header has {width}", record.len()),
                });
            }
            continue;
        }
        let mut row = columns::Row::new(file, line, &record, &cols);
        let parsed = parse(&mut row, ctx);
        if let (Some(value), true, 0) = (parsed, row.errors.is_empty(), total_errors) {
            let changed = write(&mut stmt, &value, ctx, batch)
                .map_err(|source| ImportError::Database { file: file.to_string(), source })?;
            if changed == 0 {
                row.fail("id", value.id(), "duplicate id: an earlier row of this file has the same id");
            }
        }
        total_errors += row.errors.len() as u64;
        let room = MAX_KEPT_ERRORS.saturating_sub(errors.len());
        errors.extend(row.errors.into_iter().take(room));
        if rows.is_multiple_of(8192) {
            bar.set_position(reader.position().byte());
        }
    }
    bar.finish_and_clear();
    if total_errors > 0 {
        return Err(ImportError::Invalid { file: file.to_string(), errors, total: total_errors });
    }
    Ok(rows)
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

/// After a replace, records of other kinds must still find what they
/// reference. Moves are history and may name talents no longer registered.
fn check_references(conn: &Connection, kind: ImportKind, file: &str) -> Result<(), ImportError> {
    if kind != ImportKind::Enterprises {
        return Ok(());
    }
    for (table, column) in [("vacancies", "enterprise_id"), ("talents", "enterprise_id")] {
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
                    "the replacement drops enterprises that {table} still reference (e.g. {}); replace or update those {table} first",
                    examples.join(", ")
                ),
            });
        }
    }
    Ok(())
}
