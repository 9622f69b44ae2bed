//! The immutable in-memory snapshot every request reads.
//!
//! Built from the store at start and after every import, then swapped in
//! atomically (`arc-swap`), so readers never block and never see half an
//! import. It holds compact records sorted by Morton key (a tile is a
//! contiguous run, found by two binary searches), R-trees over enterprises and
//! stations for point, box and nearest-neighbour queries, the talents'
//! workplace order (their positions sorted by workplace key, so workplaces
//! are runs too; talent homes need no index beyond the records' own order),
//! the regions with their polygons, and per-region totals.

pub mod file;
mod load;
pub mod memo;
pub mod moves;
pub mod past;
pub mod patch;
pub mod records;
mod tables;

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use geo::MultiPolygon;
use rstar::RTree;
use rstar::primitives::GeomWithData;
use serde::Serialize;

use crate::model::{RegionKind, Taxonomy};
use crate::room::Room;
use crate::spatial::{TileId, morton};

pub use load::{SnapshotError, build};
pub use memo::Memo;
pub use moves::{FlowIndex, MoveRec};
pub use records::*;

/// A point in unit Web Mercator coordinates tagged with a record position.
pub type IndexedPoint = GeomWithData<[f64; 2], u32>;

/// A region with its polygon and precomputed totals.
#[derive(Debug, Clone)]
pub struct RegionInfo {
    pub id: String,
    pub name: String,
    /// English name, empty when the store has none.
    pub name_en: String,
    pub kind: RegionKind,
    pub geometry: MultiPolygon<f64>,
    /// `[west, south, east, north]` in degrees.
    pub bbox: [f64; 4],
    /// A representative point inside or near the region (label position).
    pub centre: [f64; 2],
    pub stats: RegionStats,
}

/// Totals per region. Talent counts are aggregates and pass through the
/// privacy rule before they are served.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RegionStats {
    /// Talents living in the region.
    pub talents: u64,
    /// Talents working in the region.
    pub workers: u64,
    /// Resident talents seeking a job.
    pub seekers: u64,
    pub enterprises: u64,
    pub key_enterprises: u64,
    pub employees: u64,
    /// Open (unfilled) positions.
    pub openings: u64,
    /// Cell keys of the talent counts (`analytics::privacy`); never published.
    #[serde(skip)]
    pub keys: RegionKeys,
}

/// Cell keys of a region's talent counts.
#[derive(Debug, Clone, Copy, Default)]
pub struct RegionKeys {
    pub talents: u32,
    pub workers: u32,
    pub seekers: u32,
}

impl RegionStats {
    /// Resident talents as a tally.
    pub fn talents_tally(&self) -> crate::analytics::privacy::Tally {
        crate::analytics::privacy::Tally { n: self.talents, key: self.keys.talents }
    }
    /// Talents working in the region as a tally.
    pub fn workers_tally(&self) -> crate::analytics::privacy::Tally {
        crate::analytics::privacy::Tally { n: self.workers, key: self.keys.workers }
    }
    /// Resident seekers as a tally.
    pub fn seekers_tally(&self) -> crate::analytics::privacy::Tally {
        crate::analytics::privacy::Tally { n: self.seekers, key: self.keys.seekers }
    }
}

/// City-wide totals.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Totals {
    pub enterprises: u64,
    /// Vacancy rows.
    pub vacancies: u64,
    /// Sum of openings over all vacancy rows.
    pub openings: u64,
    /// Sum of openings of vacancies not yet filled.
    pub open_openings: u64,
    /// Talents in the city now (the register with the moves applied, see
    /// `docs/present.md`).
    pub talents: u64,
    /// Rows of the talent register.
    pub registered: u64,
    /// Registered talents not in the city now.
    pub departed: u64,
    /// Job seekers among the talents in the city now.
    pub seekers: u64,
    pub stations: u64,
    pub regions: u64,
    pub moves: u64,
}

/// The city-wide talent counts of [`Totals`] as tallies, so that each is
/// published through disclosure control on its own: `registered −
/// departed` is not the exact `talents`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TotalTallies {
    pub talents: crate::analytics::privacy::Tally,
    pub seekers: crate::analytics::privacy::Tally,
    pub registered: crate::analytics::privacy::Tally,
    pub departed: crate::analytics::privacy::Tally,
}

/// Everything the read side needs, immutable.
pub struct Snapshot {
    pub version: u64,
    /// The data version at which what each record layer reads last
    /// changed (at most `version`).
    pub layers: LayerVersions,
    /// Milliseconds it took to build.
    pub build_ms: u64,
    pub taxonomy: Arc<Taxonomy>,
    /// The year ages are computed against (age = year − birth year).
    pub reference_year: u16,
    pub regions: Vec<RegionInfo>,
    region_index: HashMap<String, u16>,
    /// Sorted by key. Enterprises, vacancies and their indexes are shared
    /// with the snapshots that follow moves batches (which cannot change
    /// them), not copied.
    pub enterprises: Arc<Vec<EnterpriseRec>>,
    enterprise_index: Arc<HashMap<String, u32>>,
    pub enterprise_tree: Arc<RTree<IndexedPoint>>,
    /// Sorted by key (their enterprise's position).
    pub vacancies: Arc<Vec<VacancyRec>>,
    /// Sorted by home key.
    pub talents: Vec<TalentRec>,
    /// Positions in `talents` of the talents with a workplace, sorted by
    /// workplace key, then position: a tile's or a circle's workplaces are
    /// runs of it, as its homes are runs of `talents`.
    pub by_work: Vec<u32>,
    pub stations: Vec<StationRec>,
    pub station_tree: RTree<IndexedPoint>,
    /// Moves sorted by month and per-area monthly flow counts.
    pub flows: FlowIndex,
    /// Assigns move points to districts and parks (built with the moves,
    /// shared by the snapshots that follow moves batches).
    pub locator: Arc<moves::Locator>,
    pub totals: Totals,
    /// City-wide talent counts as tallies (`analytics::privacy`).
    pub totals_tallies: TotalTallies,
    /// Derived indexes and results computed on first use and dropped with
    /// the snapshot (see [`memo`]).
    pub memo: Memo,
    /// For a past month's view ([`past`]): the month (`year * 12 + month -
    /// 1`) whose end its talents describe. `None` for the present.
    pub as_of: Option<u32>,
}

/// Arrays of dropped snapshots, for the next moves batch's snapshot to
/// write into ([`crate::room`]).
pub(crate) struct Rooms {
    /// Talent arrays.
    pub talents: Room<TalentRec>,
    /// Arrays of positions: workplace orders and a patch's renumbering.
    pub positions: Room<u32>,
}

/// The rooms every snapshot leaves its arrays in when dropped.
pub(crate) static ROOMS: Rooms =
    Rooms { talents: Room::new(1, crate::room::KEEP), positions: Room::new(3, crate::room::KEEP) };

impl Drop for Snapshot {
    fn drop(&mut self) {
        ROOMS.talents.put(std::mem::take(&mut self.talents));
        ROOMS.positions.put(std::mem::take(&mut self.by_work));
    }
}

fn key_range<T>(items: &[T], key: impl Fn(&T) -> u64, range: Range<u64>) -> Range<usize> {
    let start = items.partition_point(|t| key(t) < range.start);
    let end = items.partition_point(|t| key(t) < range.end);
    start..end
}

/// The data version at which the records that each record layer reads
/// last changed, from the import log. A tile's cache key and ETag carry its
/// layer's version, so a change to data a layer does not read (a moves
/// batch, for enterprise, vacancy and station tiles) keeps that layer's
/// cached tiles and its clients' ETags valid.
///
/// What reads what: talent records carry their regions and their
/// employer's industry (regions, enterprises, talents, moves); vacancy
/// records sit at their enterprise (regions, enterprises, vacancies);
/// enterprise records carry their open openings (regions, enterprises,
/// vacancies); stations are on their own (regions, stations). A region
/// import, or a version the log does not explain, changes all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LayerVersions {
    pub talents: u64,
    pub vacancies: u64,
    pub enterprises: u64,
    pub stations: u64,
}

impl LayerVersions {
    /// From the latest version of each import kind (`latest`, 0 for a kind
    /// never imported) and the data version.
    pub fn from_log(latest: &HashMap<String, u64>, version: u64) -> LayerVersions {
        use crate::import::ImportKind::{self, Enterprises, Moves, Regions, Stations, Talents, Vacancies};
        let of = |kind: ImportKind| latest.get(kind.name()).copied().unwrap_or(0);
        let logged = latest.values().copied().max().unwrap_or(0);
        let known = |k: &str| ImportKind::ALL.iter().any(|kind| kind.name() == k);
        let unknown = latest.iter().filter(|(k, _)| !known(k)).map(|(_, &v)| v).max();
        // Everything depends on the regions, on kinds this code does not
        // know, and on any change the log does not record.
        let base = of(Regions).max(unknown.unwrap_or(0)).max(if logged < version { version } else { 0 });
        let at_most = |v: u64| v.min(version);
        LayerVersions {
            talents: at_most(base.max(of(Enterprises)).max(of(Talents)).max(of(Moves))),
            vacancies: at_most(base.max(of(Enterprises)).max(of(Vacancies))),
            enterprises: at_most(base.max(of(Enterprises)).max(of(Vacancies))),
            stations: at_most(base.max(of(Stations))),
        }
    }
}

impl Snapshot {
    /// An empty snapshot (no store yet).
    pub fn empty(taxonomy: Arc<Taxonomy>) -> Snapshot {
        Snapshot {
            version: 0,
            layers: LayerVersions::default(),
            build_ms: 0,
            taxonomy,
            reference_year: crate::import::current_year() as u16,
            regions: Vec::new(),
            region_index: HashMap::new(),
            enterprises: Arc::default(),
            enterprise_index: Arc::default(),
            enterprise_tree: Arc::default(),
            vacancies: Arc::default(),
            talents: Vec::new(),
            by_work: Vec::new(),
            stations: Vec::new(),
            station_tree: RTree::new(),
            flows: FlowIndex::default(),
            locator: Arc::new(moves::Locator::new(&[])),
            totals: Totals::default(),
            totals_tallies: Default::default(),
            memo: Memo::default(),
            as_of: None,
        }
    }

    /// Position of a region by id.
    pub fn region(&self, id: &str) -> Option<u16> {
        self.region_index.get(id).copied()
    }

    /// Position of an enterprise by id.
    pub fn enterprise(&self, id: &str) -> Option<u32> {
        self.enterprise_index.get(id).copied()
    }

    /// Every enterprise id with its position in `enterprises` (shared).
    pub fn enterprise_ids(&self) -> Arc<HashMap<String, u32>> {
        self.enterprise_index.clone()
    }

    /// Talents whose home lies in `tile`.
    pub fn talents_in(&self, tile: TileId) -> &[TalentRec] {
        &self.talents[self.talent_range(tile)]
    }

    /// The positions in `talents` of the talents whose home lies in `tile`.
    pub fn talent_range(&self, tile: TileId) -> Range<usize> {
        key_range(&self.talents, |t| t.home, morton::tile_range(tile))
    }

    /// Vacancies whose enterprise lies in `tile`.
    pub fn vacancies_in(&self, tile: TileId) -> &[VacancyRec] {
        &self.vacancies[key_range(&self.vacancies, |v| v.key, morton::tile_range(tile))]
    }

    /// Enterprises in `tile`, with their positions.
    pub fn enterprises_in(&self, tile: TileId) -> Range<usize> {
        key_range(&self.enterprises, |e| e.key, morton::tile_range(tile))
    }

    /// Approximate bytes of talent records and the workplace order.
    pub fn talent_index_bytes(&self) -> usize {
        self.talents.capacity() * std::mem::size_of::<TalentRec>() + self.by_work.capacity() * 4
    }

    /// Lon/lat bounds `[west, south, east, north]` of all regions (or of
    /// the enterprises when there are no regions).
    pub fn bounds(&self) -> Option<[f64; 4]> {
        let boxes = self.regions.iter().filter(|r| r.kind == RegionKind::District).map(|r| r.bbox);
        let merged = boxes.reduce(|a, b| [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])]);
        merged.or_else(|| {
            self.enterprises
                .iter()
                .map(|e| [e.lon, e.lat, e.lon, e.lat])
                .reduce(|a, b| [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])])
        })
    }
}

#[cfg(test)]
mod layer_version_tests {
    use super::LayerVersions;
    use std::collections::HashMap;

    fn log(entries: &[(&str, u64)]) -> HashMap<String, u64> {
        entries.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn each_layer_follows_the_kinds_it_reads() {
        let l = LayerVersions::from_log(
            &log(&[
                ("regions", 1),
                ("enterprises", 2),
                ("stations", 3),
                ("vacancies", 4),
                ("talents", 5),
                ("moves", 6),
            ]),
            6,
        );
        assert_eq!(l, LayerVersions { talents: 6, vacancies: 4, enterprises: 4, stations: 3 });
        // A region import reaches every layer.
        let l = LayerVersions::from_log(&log(&[("regions", 7), ("stations", 3), ("moves", 6)]), 7);
        assert_eq!(l, LayerVersions { talents: 7, vacancies: 7, enterprises: 7, stations: 7 });
        // An enterprise import reaches talents, vacancies and enterprises.
        let l = LayerVersions::from_log(&log(&[("regions", 1), ("stations", 2), ("enterprises", 3)]), 3);
        assert_eq!(l, LayerVersions { talents: 3, vacancies: 3, enterprises: 3, stations: 2 });
    }

    #[test]
    fn what_the_log_does_not_explain_reaches_every_layer() {
        let unknown = LayerVersions::from_log(&log(&[("regions", 1), ("stations", 2), ("something", 3)]), 3);
        assert_eq!(unknown, LayerVersions { talents: 3, vacancies: 3, enterprises: 3, stations: 3 });
        let unlogged = LayerVersions::from_log(&log(&[("regions", 1), ("stations", 2)]), 5);
        assert_eq!(unlogged, LayerVersions { talents: 5, vacancies: 5, enterprises: 5, stations: 5 });
        assert_eq!(LayerVersions::from_log(&HashMap::new(), 0), LayerVersions::default());
    }
}
