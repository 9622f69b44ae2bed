//! Command line: `serve`, `import`, `generate`, `stats`, and the access
//! control commands `keys`, `users`, `audit`. Parsing and dispatch only; the
//! work is done by the library modules.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::builder::TypedValueParser;
use clap::{Args, Parser, Subcommand};

use crate::api::{self, AppState, Settings};
use crate::auth::{self, Role, audit::Actor};
use crate::import::{self, ImportError, ImportKind, ImportOptions};
use crate::model::Taxonomy;
use crate::snapshot;
use crate::store::Store;

/// talentmap — industry–talent map service.
#[derive(Debug, Parser)]
#[command(name = "talentmap", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
pub struct DataArg {
    /// Data directory holding the store (created if missing).
    #[arg(long, env = "TALENTMAP_DATA", default_value = "./data", global = true)]
    pub data: PathBuf,
    /// The store's database: `postgres://user@host:port/database` for a
    /// PostgreSQL store shared by several servers; default SQLite in the
    /// data directory (which keeps the local files either way).
    #[arg(long, env = "TALENTMAP_STORE", global = true)]
    pub store: Option<String>,
}

impl DataArg {
    /// Where the store is.
    pub fn location(&self) -> anyhow::Result<crate::store::Location> {
        Ok(crate::store::Location::parse(&self.data, self.store.as_deref())?)
    }

    /// Opens the store.
    pub fn open(&self) -> anyhow::Result<Store> {
        let location = self.location()?;
        location.open().with_context(|| format!("opening the store {}", location.describe()))
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the map and the API. On an empty data directory, loads the
    /// synthetic demo city first.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "TALENTMAP_ADDR", default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Privacy threshold k: talent aggregates with counts 1..k-1 are suppressed.
        #[arg(long, env = "TALENTMAP_K", default_value_t = 5, value_parser = clap::value_parser!(u32).range(2..=100))]
        k: u32,
        /// Seconds between checks for imports made by another process.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=3600))]
        reload_secs: u64,
        /// Base URL clients reach the service at, used for every absolute URL
        /// the API writes (TileJSON). Default: http://ADDR.
        #[arg(long, env = "TALENTMAP_PUBLIC_URL")]
        public_url: Option<String>,
        /// Folder of the built web front end (`npm run build` in web/).
        #[arg(long, env = "TALENTMAP_WEB", default_value = "web/dist")]
        web: PathBuf,
        /// Talents in the demo city loaded into an empty data directory.
        #[arg(long, default_value_t = 100_000)]
        demo_talents: usize,
        /// Neither read nor write the saved snapshot (`snapshot.bin` in the
        /// data directory): build from the store at every start.
        #[arg(long, env = "TALENTMAP_NO_SAVED_SNAPSHOT")]
        no_saved_snapshot: bool,
        /// Font folders or files the map's labels are drawn with
        /// (`/fonts/{fontstack}/{range}.pbf`; comma-separated or repeated).
        #[arg(long = "fonts", env = "TALENTMAP_FONTS", value_delimiter = ',', default_value = Settings::FONT_DIR)]
        fonts: Vec<PathBuf>,
        /// A vector basemap of the city (.pmtiles or .mbtiles, OpenMapTiles
        /// or Protomaps schema) drawn beneath the data (docs/basemap.md).
        #[arg(long, env = "TALENTMAP_BASEMAP")]
        basemap: Option<PathBuf>,
        #[command(flatten)]
        access: AccessArgs,
        #[command(flatten)]
        limits: LimitArgs,
        #[command(flatten)]
        data: DataArg,
    },
    /// Import one file (kinds in order: regions, enterprises, stations,
    /// vacancies, talents, moves).
    Import {
        /// regions | enterprises | stations | vacancies | talents | moves
        kind: ImportKind,
        file: PathBuf,
        /// Replace all records of this kind instead of upserting by id.
        #[arg(long)]
        replace: bool,
        /// Write every validation error to this CSV file.
        #[arg(long)]
        report: Option<PathBuf>,
        #[command(flatten)]
        data: DataArg,
    },
    /// Write the synthetic demo city's import files.
    Generate {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[arg(long, default_value_t = 100_000)]
        talents: usize,
        #[arg(long, default_value_t = 4_000)]
        enterprises: usize,
    },
    /// Print what the store holds, as JSON.
    Stats {
        #[command(flatten)]
        data: DataArg,
    },
    /// API keys for machines and scripts (create, list, revoke).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Accounts of people who sign in on the web page (add, list, remove).
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// The hash-chained audit log (verify, list).
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Files for hosts without talentmap behind them (PMTiles archives).
    Export {
        #[command(subcommand)]
        command: ExportCommand,
    },
}

/// `talentmap export …`
#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Every tile of one public layer in a PMTiles v3 archive, as the tile
    /// routes render it for the public role; prints a JSON summary.
    Pmtiles {
        /// talents | vacancies | enterprises | regions | stations | shortage | commute
        #[arg(long)]
        layer: String,
        /// A query parameter of the layer, as in its tile URLs (repeatable):
        /// `--filter field=ai --filter education=master`.
        #[arg(long = "filter", value_name = "NAME=VALUE")]
        filters: Vec<String>,
        /// Lowest zoom in the archive.
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=22))]
        minzoom: Option<u8>,
        /// Deepest zoom in the archive (default: the layer's deepest).
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=22))]
        maxzoom: Option<u8>,
        /// Privacy threshold k, as `serve --k`.
        #[arg(long, env = "TALENTMAP_K", default_value_t = 5, value_parser = clap::value_parser!(u32).range(2..=100))]
        k: u32,
        /// The archive to write (replaced only when the export succeeds).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        data: DataArg,
    },
}

/// `talentmap keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key; prints it once, as the last line of standard output.
    Create {
        /// public | recruiter | analyst | feeder | admin
        #[arg(long)]
        role: Role,
        /// District or park ids of an analyst's jurisdiction (analysts only; required for them).
        #[arg(long = "area", value_delimiter = ',')]
        areas: Vec<String>,
        /// What the key is for (shown by `keys list`).
        #[arg(long, default_value = "")]
        name: String,
        #[command(flatten)]
        data: DataArg,
    },
    /// List keys (id, role, areas, created, revoked, name); never the keys themselves.
    List {
        #[command(flatten)]
        data: DataArg,
    },
    /// Revoke a key by its id: it stops working at once.
    Revoke {
        id: String,
        #[command(flatten)]
        data: DataArg,
    },
}

/// `talentmap users …`
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a user; reads the password (one line, at least 12 characters) from standard input.
    Add {
        name: String,
        /// public | recruiter | analyst | feeder | admin
        #[arg(long)]
        role: Role,
        /// District or park ids of an analyst's jurisdiction (analysts only; required for them).
        #[arg(long = "area", value_delimiter = ',')]
        areas: Vec<String>,
        #[command(flatten)]
        data: DataArg,
    },
    /// List users (name, role, areas, created).
    List {
        #[command(flatten)]
        data: DataArg,
    },
    /// Remove a user and end their sessions.
    Remove {
        name: String,
        #[command(flatten)]
        data: DataArg,
    },
}

/// `talentmap audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain: exit 0 when intact, 1 naming the first bad entry.
    Verify {
        #[command(flatten)]
        data: DataArg,
    },
    /// Print entries as JSON lines, oldest first.
    List {
        /// Entries at or after this time (RFC 3339 UTC, or a date such as 2026-12-01).
        #[arg(long)]
        since: Option<String>,
        /// Entries of one principal: key:ID, user:NAME, anonymous, cli:NAME.
        #[arg(long)]
        principal: Option<String>,
        /// At most this many entries (up to 1000).
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[command(flatten)]
        data: DataArg,
    },
}

/// Whether anonymous access is allowed (`--public on|off`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

/// Access control of `serve` (docs/access.md).
#[derive(Debug, Args, Clone)]
pub struct AccessArgs {
    /// Whether callers without credentials may read the public,
    /// disclosure-controlled data. With `off`, every route but /health, the
    /// sign-in routes and the web page needs a key or a session.
    #[arg(long, env = "TALENTMAP_PUBLIC", value_enum, default_value = "on")]
    pub public: OnOff,
    /// An origin (`https://host[:port]`) whose web pages may read public
    /// routes across origins (CORS, without credentials); repeat for more.
    /// Default: none, same origin only. Never opens writes.
    #[arg(long = "cors-origin", env = "TALENTMAP_CORS_ORIGINS", value_delimiter = ',', value_parser = parse_origin)]
    pub cors_origins: Vec<String>,
    /// Hours a sign-in session lasts.
    #[arg(long, env = "TALENTMAP_SESSION_HOURS", default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=720))]
    pub session_hours: u64,
}

/// An origin as browsers send it: scheme and host (and port), nothing else.
fn parse_origin(text: &str) -> Result<String, String> {
    let url = api::normalise_public_url(text)?;
    let host = url.split_once("://").map_or("", |(_, rest)| rest);
    if host.contains('/') {
        return Err(format!(
            "'{text}' is not an origin: give scheme and host only, e.g. https://portal.example.gov.cn"
        ));
    }
    Ok(url)
}

impl AccessArgs {
    /// The access settings these flags give; verified credentials are
    /// re-checked every `reload_secs`.
    pub fn settings(&self, reload_secs: u64) -> api::AccessSettings {
        api::AccessSettings {
            public_access: self.public == OnOff::On,
            cors_origins: self.cors_origins.clone(),
            credential_ttl: Duration::from_secs(reload_secs),
            session_ttl: Duration::from_secs(self.session_hours * 3600),
        }
    }
}

/// Limits of `serve` (docs/limits.md): sizes, time, concurrency, rates.
#[derive(Debug, Args, Clone)]
pub struct LimitArgs {
    /// Largest request body in bytes (413 beyond, refused before reading).
    #[arg(long, env = "TALENTMAP_MAX_BODY_BYTES", default_value_t = Settings::MAX_BODY_BYTES,
          value_parser = clap::value_parser!(u64).range(1024..=(1 << 30)).map(|v| v as usize))]
    pub max_body_bytes: usize,
    /// Longest path plus query string in bytes (414 beyond).
    #[arg(long, env = "TALENTMAP_MAX_URI_BYTES", default_value_t = Settings::MAX_URI_BYTES,
          value_parser = clap::value_parser!(u64).range(256..=(1 << 20)).map(|v| v as usize))]
    pub max_uri_bytes: usize,
    /// Time budget of one request in seconds (503 with Retry-After beyond).
    #[arg(long, env = "TALENTMAP_REQUEST_TIMEOUT_SECS", default_value_t = Settings::REQUEST_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout_secs: u64,
    /// Requests handled at once; more get 503 with Retry-After.
    #[arg(long, env = "TALENTMAP_MAX_IN_FLIGHT", default_value_t = Settings::MAX_IN_FLIGHT,
          value_parser = clap::value_parser!(u64).range(1..=100_000).map(|v| v as usize))]
    pub max_in_flight: usize,
    /// Requests per second per client on average (429 beyond); 0 = no limit.
    #[arg(long, env = "TALENTMAP_RATE_LIMIT", default_value_t = Settings::RATE_LIMIT_PER_SEC)]
    pub rate_limit: u32,
    /// Requests a client may make at once after being idle.
    #[arg(long, env = "TALENTMAP_RATE_BURST", default_value_t = Settings::RATE_LIMIT_BURST,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_burst: u32,
    /// Threads of the compute pool for CPU-bound request work (0 = one per core).
    #[arg(long, env = "TALENTMAP_COMPUTE_THREADS", default_value_t = 0)]
    pub compute_threads: usize,
    /// Accept loops: threads that take connections and answer them, each
    /// with a listening socket of its own on the port (0 = one per core;
    /// 1 = one listener served by the runtime's workers).
    #[arg(long, env = "TALENTMAP_ACCEPT_LOOPS", default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=256).map(|v| v as usize))]
    pub accept_loops: usize,
    /// Memory budget of the tile cache in MiB.
    #[arg(long, env = "TALENTMAP_TILE_CACHE_MIB", default_value_t = Settings::TILE_CACHE_BYTES >> 20,
          value_parser = clap::value_parser!(u64).range(1..=(1 << 20)).map(|v| v as usize))]
    pub tile_cache_mib: usize,
}

impl LimitArgs {
    /// The settings these flags give, over `base`.
    pub fn apply(&self, base: Settings) -> Settings {
        Settings {
            max_body_bytes: self.max_body_bytes,
            max_uri_bytes: self.max_uri_bytes,
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            max_in_flight: self.max_in_flight,
            rate_limit_per_sec: self.rate_limit,
            rate_limit_burst: self.rate_burst,
            compute_threads: if self.compute_threads == 0 { base.compute_threads } else { self.compute_threads },
            tile_cache_bytes: self.tile_cache_mib << 20,
            ..base
        }
    }
}

/// Runs a parsed command; returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Serve {
            addr,
            k,
            reload_secs,
            public_url,
            web,
            demo_talents,
            no_saved_snapshot,
            fonts,
            basemap,
            access,
            limits,
            data,
        } => {
            let basemap = basemap
                .map(|path| crate::basemap::Basemap::open(&path).map(Arc::new))
                .transpose()
                .map_err(|e| anyhow::anyhow!("--basemap: {e}"))?;
            let public_url = match public_url {
                Some(url) => api::normalise_public_url(&url).map_err(|e| anyhow::anyhow!("--public-url: {e}"))?,
                None => format!("http://{addr}"),
            };
            let base = Settings {
                k,
                public_url,
                access: access.settings(reload_secs),
                font_dirs: fonts,
                basemap,
                ..Settings::default()
            };
            let start = Start { reload_secs, demo_talents, saved_snapshot: !no_saved_snapshot };
            serve(&data, addr, base, &web, start, &limits)
        }
        Command::Import { kind, file, replace, report, data } => {
            import_one(&data, kind, &file, replace, report.as_deref())
        }
        Command::Generate { out, seed, talents, enterprises } => {
            let opts = crate::generate::GenerateOptions { seed, talents, enterprises };
            let summary =
                crate::generate::generate(&opts, &out).with_context(|| format!("generating into {}", out.display()))?;
            for (kind, path, n) in &summary.files {
                println!("{kind:<12} {n:>9}  {}", path.display());
            }
            println!(
                "synthetic demo city written to {} (import order: regions, enterprises, stations, vacancies, talents, moves)",
                out.display()
            );
            Ok(0)
        }
        Command::Stats { data } => {
            let mut store = data.open()?;
            let taxonomy = load_taxonomy(&data.data)?;
            let snap = snapshot::build(&mut store, taxonomy)?;
            let state = AppState::new(snap, None, Settings::default());
            let rt = tokio::runtime::Builder::new_current_thread().build()?;
            let axum::Json(body) = rt.block_on(api_stats(state));
            // A closed pipe (`talentmap stats | head`) is not an error.
            let _ = writeln!(std::io::stdout().lock(), "{}", serde_json::to_string_pretty(&body)?);
            Ok(0)
        }
        Command::Keys { command } => keys_command(command),
        Command::Users { command } => users_command(command),
        Command::Audit { command } => audit_command(command),
        Command::Export { command } => export_command(command),
    }
}

/// `talentmap export …`: exits 0 on success, 1 when the layer refuses the
/// request (nothing written), 2 on system errors.
fn export_command(command: ExportCommand) -> anyhow::Result<i32> {
    let ExportCommand::Pmtiles { layer, filters, minzoom, maxzoom, k, out, data } = command;
    let mut query = form_urlencoded::Serializer::new(String::new());
    for f in &filters {
        let Some((name, value)) = f.split_once('=') else {
            eprintln!("error: --filter must be NAME=VALUE (a query parameter of the layer), got '{f}'");
            return Ok(1);
        };
        query.append_pair(name, value);
    }
    let mut store = data.open()?;
    let taxonomy = load_taxonomy(&data.data)?;
    let snap = snapshot::build(&mut store, taxonomy)?;
    drop(store);
    let state = AppState::new(snap, None, Settings { k, ..Settings::default() });
    let req = api::export::PmtilesRequest { layer, query: query.finish(), minzoom, maxzoom };
    match api::export::write_pmtiles(&state, &req, &out) {
        Ok(summary) => {
            let _ = writeln!(std::io::stdout().lock(), "{}", serde_json::to_string_pretty(&summary)?);
            Ok(0)
        }
        Err(api::export::ExportError::Request(message)) => {
            eprintln!("error: {message}");
            Ok(1)
        }
        Err(e) => Err(e.into()),
    }
}

async fn api_stats(state: AppState) -> axum::Json<serde_json::Value> {
    crate::api::stats_handler(axum::extract::State(state)).await
}

/// The code tables, with the data directory's `chains.csv` if it has one.
pub fn load_taxonomy(data: &Path) -> anyhow::Result<Arc<Taxonomy>> {
    Ok(Arc::new(Taxonomy::with_chains_file(&data.join("chains.csv"))?))
}

/// How many errors or warnings are printed; `--report` writes all of them.
const PRINTED: usize = 20;

/// `talentmap import`: exits 0 on success (warnings included), 1 when the
/// file is invalid (nothing imported), 2 on usage or system errors.
fn import_one(
    data: &DataArg,
    kind: ImportKind,
    file: &Path,
    replace: bool,
    report: Option<&Path>,
) -> anyhow::Result<i32> {
    let mut store = data.open()?;
    let taxonomy = load_taxonomy(&data.data)?;
    let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    match import::import_file(&mut store, &taxonomy, kind, file, ImportOptions { replace, progress }) {
        Ok(s) => {
            if s.changed {
                println!(
                    "imported {} {} from {} ({} in store, data version {})",
                    s.rows, s.kind, s.file, s.total, s.version
                );
            } else {
                println!(
                    "no data rows in {}: nothing was imported, the store is unchanged ({} {} in store, data version stays {})",
                    s.file, s.total, s.kind, s.version
                );
            }
            let outside = s.total_warnings - s.irregular_moves;
            if outside > 0 {
                eprintln!(
                    "warning: {} point{} outside every region (imported without a district or park)",
                    outside,
                    if outside == 1 { " lies" } else { "s lie" }
                );
            }
            if s.irregular_moves > 0 {
                eprintln!(
                    "warning: {} move{} contradict{} the talent's history (imported and resolved by the state rule, docs/present.md)",
                    s.irregular_moves,
                    plural(s.irregular_moves as usize),
                    if s.irregular_moves == 1 { "s" } else { "" }
                );
            }
            if s.total_warnings > 0 {
                print_rows(&s.warnings, s.total_warnings, report.is_some());
            }
            if s.unassigned > 0 {
                eprintln!(
                    "warning: {} stored point{} (enterprises, stations, talent homes and workplaces) outside every region of {}",
                    s.unassigned,
                    if s.unassigned == 1 { " lies" } else { "s lie" },
                    s.file
                );
            }
            if let Some(path) = report {
                import::write_report(path, &[], &s.warnings)?;
                eprintln!("{} warning{} written to {}", s.warnings.len(), plural(s.warnings.len()), path.display());
            }
            Ok(0)
        }
        Err(e) => {
            eprintln!("error: {e}");
            let errors = e.row_errors();
            let total = match &e {
                ImportError::Invalid { total, .. } => *total,
                _ => errors.len() as u64,
            };
            print_rows(errors, total, report.is_some());
            if let Some(path) = report
                && !errors.is_empty()
            {
                import::write_report(path, errors, &[])?;
                eprintln!("{} error{} written to {}", errors.len(), plural(errors.len()), path.display());
            }
            Ok(e.exit_code())
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Prints the first [`PRINTED`] errors or warnings of `total`.
fn print_rows(rows: &[import::RowError], total: u64, reported: bool) {
    for row in rows.iter().take(PRINTED) {
        eprintln!("  {row}");
    }
    if total > PRINTED as u64 {
        eprintln!("  … and {} more", total - PRINTED as u64);
        if !reported {
            eprintln!("use --report FILE to get all of them");
        }
    }
}

/// Imports every file of a generated city, in order.
pub fn import_city(store: &mut Store, taxonomy: &Taxonomy, dir: &Path) -> anyhow::Result<()> {
    for kind in ImportKind::ALL {
        let path = dir.join(kind.file_name());
        import::import_file(store, taxonomy, kind, &path, ImportOptions::default())
            .with_context(|| format!("importing {}", path.display()))?;
    }
    Ok(())
}

/// How `serve` starts.
struct Start {
    reload_secs: u64,
    demo_talents: usize,
    /// Read and write the saved snapshot (`snapshot::file`).
    saved_snapshot: bool,
}

fn serve(
    data_arg: &DataArg,
    addr: SocketAddr,
    base: Settings,
    web: &Path,
    start: Start,
    limits: &LimitArgs,
) -> anyhow::Result<i32> {
    let Start { reload_secs, demo_talents, saved_snapshot } = start;
    let data = data_arg.data.as_path();
    let location = data_arg.location()?;
    let taxonomy = load_taxonomy(data)?;
    let mut store = data_arg.open()?;
    tracing::info!(store = %location.describe(), "store open");
    if store.data_version()? == 0 {
        let source = data.join("demo-city");
        tracing::info!(dir = %source.display(), talents = demo_talents, "empty data directory: loading the synthetic demo city");
        let enterprises = (demo_talents / 25).max(200);
        let opts = crate::generate::GenerateOptions { seed: 42, talents: demo_talents, enterprises };
        crate::generate::generate(&opts, &source)?;
        import_city(&mut store, &taxonomy, &source)?;
        tracing::info!("demo city loaded (synthetic data on real Jinan district boundaries)");
    }
    let started = std::time::Instant::now();
    let instance = store.instance()?;
    let (snap, origin) = if saved_snapshot {
        snapshot::file::open(&mut store, taxonomy, data)?
    } else {
        (snapshot::build(&mut store, taxonomy)?, snapshot::file::Origin::Built("not kept (--no-saved-snapshot)".into()))
    };
    drop(store);
    let read_ms = started.elapsed().as_millis() as u64;
    // The slow derived indexes saved with the snapshot are read beside the
    // talent pyramid's build (`analytics::saved`).
    let derived = std::thread::scope(|s| {
        let read = s.spawn(|| {
            (origin == snapshot::file::Origin::Saved).then(|| {
                let started = std::time::Instant::now();
                let identity = snapshot::file::Identity::current(&instance, snap.version, &snap.taxonomy);
                let derived = crate::analytics::saved::load(&crate::analytics::saved::path_in(data), &identity, &snap);
                tracing::debug!(ms = started.elapsed().as_millis() as u64, "saved derived indexes read");
                derived
            })
        });
        let mib = crate::analytics::cells::talent_pyramid(&snap).mib();
        tracing::debug!(ms = started.elapsed().as_millis() as u64 - read_ms, mib, "talent pyramid built");
        read.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    let derived = match derived {
        Some(Ok(derived)) => {
            tracing::info!(
                catchments = derived.catchments.len(),
                "commute index and catchments read from the saved derived indexes"
            );
            Some(derived)
        }
        Some(Err(e)) => {
            let why = match e {
                snapshot::file::FileError::Stale(why) => why,
                other => other.to_string(),
            };
            tracing::info!(why, "saved derived indexes not used; building them");
            None
        }
        None => None,
    };
    let from = match &origin {
        snapshot::file::Origin::Saved => "read from the saved snapshot".to_string(),
        snapshot::file::Origin::Built(why) => format!("built from the store ({why})"),
    };
    tracing::info!(
        version = snap.version,
        talents = snap.totals.talents,
        enterprises = snap.totals.enterprises,
        ms = started.elapsed().as_millis() as u64,
        read_ms,
        from,
        "snapshot ready"
    );
    let web_dir = if web.join("index.html").exists() {
        Some(web.to_path_buf())
    } else {
        tracing::warn!(dir = %web.display(), "web front end not built (run `npm ci && npm run build` in web/); serving the API only");
        None
    };
    let settings = limits.apply(Settings { web_dir, ..base });
    tracing::info!(
        max_body_bytes = settings.max_body_bytes,
        max_uri_bytes = settings.max_uri_bytes,
        request_timeout_s = settings.request_timeout.as_secs(),
        max_in_flight = settings.max_in_flight,
        rate_limit = settings.rate_limit_per_sec,
        rate_burst = settings.rate_limit_burst,
        compute_threads = settings.compute_threads,
        tile_cache_mib = settings.tile_cache_bytes >> 20,
        "limits"
    );
    tracing::info!(
        public = settings.access.public_access,
        cors_origins = ?settings.access.cors_origins,
        session_hours = settings.access.session_ttl.as_secs() / 3600,
        "access control (docs/access.md)"
    );
    let mut state = AppState::on_store(snap, Some(location.clone()), settings);
    if let Some(derived) = derived {
        state.install_derived(derived);
    }
    state = state.with_background_warming();
    if saved_snapshot {
        state = state.keep_saved_snapshot(instance);
    }
    // The moves feed readied beside the first requests, not by the first
    // batch.
    let feed = state.clone();
    if let Err(e) = std::thread::Builder::new().name("ready-feed".into()).spawn(move || feed.ready_feed()) {
        tracing::warn!(error = %e, "cannot start the thread that readies the moves feed; its first batch opens it");
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        api::spawn_reloader(state.clone(), Duration::from_secs(reload_secs));
        if location.url.is_some() {
            api::spawn_listener(state.clone(), location.clone());
        }
        api::serve(state, addr, limits.accept_loops).await
    })?;
    Ok(0)
}

/// Areas as listed: `D1,P3`, or `-` for none.
fn areas_text(areas: &std::collections::BTreeSet<String>) -> String {
    if areas.is_empty() { "-".to_string() } else { areas.iter().cloned().collect::<Vec<_>>().join(",") }
}

fn keys_command(command: KeysCommand) -> anyhow::Result<i32> {
    let mut out = std::io::stdout().lock();
    match command {
        KeysCommand::Create { role, areas, name, data } => {
            let store = data.open()?;
            let new = auth::keys::create(&store, role, &areas, &name, &Actor::cli())?;
            writeln!(out, "created key {} (role {}, areas {})", new.info.id, role, areas_text(&new.info.areas))?;
            writeln!(out, "the key is shown only now and is stored only as a hash; keep it safe:")?;
            writeln!(out, "{}", new.key)?;
        }
        KeysCommand::List { data } => {
            let store = data.open()?;
            writeln!(out, "{:<16}  {:<9}  {:<20}  {:<20}  {:<20}  name", "id", "role", "areas", "created", "revoked")?;
            for k in auth::keys::list(&store)? {
                let revoked = k.revoked.as_deref().unwrap_or("-");
                let areas = areas_text(&k.areas);
                writeln!(
                    out,
                    "{:<16}  {:<9}  {areas:<20}  {:<20}  {revoked:<20}  {}",
                    k.id, k.role, k.created, k.name
                )?;
            }
        }
        KeysCommand::Revoke { id, data } => {
            let store = data.open()?;
            auth::keys::revoke(&store, &id, &Actor::cli())?;
            writeln!(out, "revoked key {id}")?;
        }
    }
    Ok(0)
}

fn users_command(command: UsersCommand) -> anyhow::Result<i32> {
    let mut out = std::io::stdout().lock();
    match command {
        UsersCommand::Add { name, role, areas, data } => {
            let store = data.open()?;
            let stdin = std::io::stdin();
            if std::io::IsTerminal::is_terminal(&stdin) {
                eprintln!(
                    "password for {name} (one line, at least {} characters; it is echoed):",
                    auth::password::MIN_PASSWORD_CHARS
                );
            }
            let password = auth::password::read_line(&mut stdin.lock())?;
            let user = auth::users::add(&store, &name, role, &areas, &password, &Actor::cli())?;
            writeln!(out, "added user {} (role {}, areas {})", user.name, user.role, areas_text(&user.areas))?;
        }
        UsersCommand::List { data } => {
            let store = data.open()?;
            writeln!(out, "{:<24}  {:<9}  {:<20}  created", "name", "role", "areas")?;
            for u in auth::users::list(&store)? {
                writeln!(out, "{:<24}  {:<9}  {:<20}  {}", u.name, u.role, areas_text(&u.areas), u.created)?;
            }
        }
        UsersCommand::Remove { name, data } => {
            let store = data.open()?;
            auth::users::remove(&store, &name, &Actor::cli())?;
            writeln!(out, "removed user {name} and ended their sessions")?;
        }
    }
    Ok(0)
}

fn audit_command(command: AuditCommand) -> anyhow::Result<i32> {
    match command {
        AuditCommand::Verify { data } => {
            let store = data.open()?;
            match auth::audit::verify(&store) {
                Ok(head) => {
                    println!("audit log intact: {} entries, head {}", head.seq, head.hash);
                    Ok(0)
                }
                Err(auth::audit::VerifyError::Broken(bad)) => {
                    eprintln!("audit log broken: {bad}");
                    Ok(1)
                }
                Err(auth::audit::VerifyError::Store(e)) => Err(e.into()),
            }
        }
        AuditCommand::List { since, principal, limit, data } => {
            let store = data.open()?;
            let mut out = std::io::stdout().lock();
            for entry in auth::audit::list(&store, since.as_deref(), principal.as_deref(), limit)? {
                writeln!(out, "{}", serde_json::to_string(&entry)?)?;
            }
            Ok(0)
        }
    }
}
