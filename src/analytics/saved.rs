//! The derived indexes that take seconds to build, kept on disk beside the
//! saved snapshot (`snapshot::file`), so a restart has every one of them
//! warm within a few hundred milliseconds of reading the snapshot instead
//! of rebuilding them for several seconds.
//!
//! `derived.bin` in the data directory holds the commute index and the
//! commuting catchments of the start screen's briefing (one per field). It is written in the background after the
//! snapshot file, for the same snapshot, and used at start only when
//!
//! - it was written for the snapshot just read from `snapshot.bin` (the same
//!   [`Identity`]: store, data version, code tables, reference year and
//!   snapshot code),
//! - by a build whose derived-index code is the same ([`code_digest`]),
//! - and every length and position in it fits that snapshot.
//!
//! Otherwise the indexes are built as before. The other derived indexes
//! (shortage basis, talent pyramid) take well under a second at four
//! million talents and are rebuilt. Format: the block
//! format of `snapshot::file` under its own magic.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::commute::CommuteIndex;
use super::privacy::Tally;
use super::shortage::basis::{Basis, Narrow};
use super::shortage::catchment::Decay;
use super::shortage::effective::{self, CatchmentParams, FieldCatchment, Site};
use crate::snapshot::file::{self, Dec, Enc, FileError, Hasher, Identity, Record};
use crate::snapshot::{NONE16, Snapshot};

/// File name of the saved derived indexes inside the data directory.
pub const FILE_NAME: &str = "derived.bin";

const MAGIC: &[u8; 16] = b"talentmap-drvd\x00\x01";

/// Path of the saved derived indexes of a data directory.
pub fn path_in(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

/// Digest of the sources that define the saved indexes and how they are
/// built: a changed build never reads indexes another one made.
pub fn code_digest() -> u64 {
    const SOURCES: &[&str] = &[
        include_str!("saved.rs"),
        include_str!("commute/mod.rs"),
        include_str!("commute/saved.rs"),
        include_str!("commute/distance.rs"),
        include_str!("commute/flows.rs"),
        include_str!("commute/indicators.rs"),
        include_str!("commute/stations.rs"),
        include_str!("commute/underserved.rs"),
        include_str!("shortage/basis.rs"),
        include_str!("shortage/catchment.rs"),
        include_str!("shortage/effective.rs"),
        include_str!("filter.rs"),
        include_str!("privacy.rs"),
    ];
    let mut h = Hasher::new();
    h.bytes(&file::code_digest().to_le_bytes());
    for s in SOURCES {
        h.bytes(s.as_bytes());
    }
    h.finish()
}

/// The saved indexes of one snapshot.
pub struct Derived {
    pub commute: Arc<CommuteIndex>,
    /// Catchments with the query each answers.
    pub catchments: Vec<(u8, Narrow, CatchmentParams, Arc<FieldCatchment>)>,
}

impl Derived {
    /// The indexes of `snap` with the catchments of `queries` (field,
    /// narrowing, parameters): those already built are taken as they are,
    /// the others built now.
    pub fn of(snap: &Snapshot, commute: Arc<CommuteIndex>, queries: &[(u8, Narrow, CatchmentParams)]) -> Derived {
        let basis = Basis::of(snap);
        let catchments = queries
            .iter()
            .copied()
            .map(|(field, narrow, p)| (field, narrow, p, effective::of(snap, &basis, field, narrow, p)))
            .collect();
        Derived { commute, catchments }
    }

    /// Puts the catchments into `snap`'s memo, where requests and the
    /// briefing look for them, and hands back the commute index.
    pub fn install(self, snap: &Snapshot) -> Arc<CommuteIndex> {
        for (field, narrow, p, c) in self.catchments {
            snap.memo.insert(&effective::memo_key(field, narrow, p), c);
        }
        self.commute
    }
}

/// Writes the indexes of the snapshot `identity` names to `path` (through
/// a temporary file renamed into place). Returns the bytes written.
pub fn save(path: &Path, identity: &Identity, derived: &Derived) -> std::io::Result<u64> {
    file::write_sections(path, MAGIC, |w| {
        w.value(identity)?;
        w.value(&code_digest())?;
        derived.commute.save(w)?;
        let catchments: Vec<Saved> =
            derived.catchments.iter().map(|(f, n, p, c)| Saved(*f, *n, *p, c.clone())).collect();
        w.records(&catchments)
    })
}

/// What a file at `path` was written for: the snapshot's identity and the
/// code digest.
pub fn identity_of(path: &Path) -> Result<(Identity, u64), FileError> {
    let mut r = file::open_sections(path, MAGIC, "derived index")?;
    Ok((r.value()?, r.value()?))
}

/// Reads the indexes saved at `path` for `snap` (whose identity is
/// `expected`), or says why they cannot be used.
pub fn load(path: &Path, expected: &Identity, snap: &Snapshot) -> Result<Derived, FileError> {
    let mut r = match file::open_sections(path, MAGIC, "derived index") {
        Err(FileError::Missing) => return Err(FileError::Stale("none saved".into())),
        other => other?,
    };
    let found: Identity = r.value()?;
    if found != *expected {
        return Err(FileError::Stale(format!("written for data version {} of its store", found.version)));
    }
    if r.value::<u64>()? != code_digest() {
        return Err(FileError::Stale("written by another build".into()));
    }
    let commute = CommuteIndex::load(&mut r, snap)?;
    let saved: Vec<Saved> = r.records()?;
    r.finish()?;
    let (regions, enterprises) = (snap.regions.len(), snap.enterprises.len());
    let region = |r: u16| r == NONE16 || (r as usize) < regions;
    for Saved(_, _, _, c) in &saved {
        let fits = c.by_region.len() == regions
            && c.region_reach.len() == regions
            && c.sites.windows(2).all(|w| w[0].key <= w[1].key)
            && c.sites.iter().all(|s| (s.enterprise as usize) < enterprises && region(s.district) && region(s.park));
        if !fits {
            return Err(FileError::Corrupt("a catchment does not fit the snapshot".into()));
        }
    }
    Ok(Derived {
        commute: Arc::new(commute),
        catchments: saved.into_iter().map(|Saved(f, n, p, c)| (f, n, p, c)).collect(),
    })
}

impl Record for Site {
    fn put(&self, e: &mut Enc) {
        e.u64(self.key);
        e.u32(self.enterprise);
        e.f64(self.openings);
        e.f64(self.access);
        e.u16(self.district);
        e.u16(self.park);
        self.reach.put(e);
    }
    fn get(d: &mut Dec) -> Result<Self, FileError> {
        Ok(Site {
            key: d.u64()?,
            enterprise: d.u32()?,
            openings: d.f64()?,
            access: d.f64()?,
            district: d.u16()?,
            park: d.u16()?,
            reach: Tally::get(d)?,
        })
    }
}

/// One saved catchment: field, narrowing, parameters, result.
struct Saved(u8, Narrow, CatchmentParams, Arc<FieldCatchment>);

impl Record for Saved {
    fn put(&self, e: &mut Enc) {
        let Saved(field, narrow, p, c) = self;
        e.u8(*field);
        narrow.education.put(e);
        narrow.title.put(e);
        e.f64(p.radius_m);
        e.u8(Decay::ALL.iter().position(|&d| d == p.decay).unwrap_or(0) as u8);
        c.sites.put(e);
        c.by_region.put(e);
        for v in [c.demand, c.allocated, c.unreached] {
            e.f64(v);
        }
        e.u64(c.seeker_points as u64);
        c.reached_tally.put(e);
        c.unreached_tally.put(e);
        c.region_reach.put(e);
    }
    fn get(d: &mut Dec) -> Result<Self, FileError> {
        let field = d.u8()?;
        let narrow = Narrow { education: Option::get(d)?, title: Option::get(d)? };
        let radius_m = d.f64()?;
        let decay = *Decay::ALL
            .get(d.u8()? as usize)
            .ok_or_else(|| FileError::Corrupt("a catchment has an unknown decay".into()))?;
        let c = FieldCatchment {
            sites: Vec::get(d)?,
            by_region: Vec::get(d)?,
            demand: d.f64()?,
            allocated: d.f64()?,
            unreached: d.f64()?,
            seeker_points: d.u64()? as usize,
            reached_tally: Tally::get(d)?,
            unreached_tally: Tally::get(d)?,
            region_reach: Vec::get(d)?,
            base: None,
        };
        Ok(Saved(field, narrow, CatchmentParams { radius_m, decay }, Arc::new(c)))
    }
}
