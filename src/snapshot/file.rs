//! The built snapshot kept on disk, so a restart serves in about a second
//! instead of reading every table again.
//!
//! After a snapshot is published the server writes its records to
//! `snapshot.bin` in the data directory (in the background, the newest
//! snapshot only, through a temporary file renamed into place). At start it
//! reads that file instead of building from the store when the file was
//! written
//!
//! - for this store (its instance id) at the store's current data version,
//! - with the same code tables (taxonomy) and reference year,
//! - by a build whose snapshot code is the same (a digest of the sources
//!   that define the records and how they are loaded),
//!
//! and rebuilds from the store otherwise. The file holds what comes from the
//! store (regions with their polygons, enterprises, vacancies, talents,
//! stations, moves, the register's tally and the table totals); the indexes
//! derived from them (R-trees, region totals, flow cubes, resident counts)
//! are rebuilt on read, on two threads, so they can never disagree with the
//! records.
//!
//! Format: a 16-byte magic, then blocks of at most about 1 MiB, each `u32`
//! length, `u64` hash of its bytes, bytes. A section (the header, one table)
//! starts a new block; records never span blocks, so the reader decodes
//! one block at a time and never holds the file in memory. Every block's
//! hash is checked: a truncated or damaged file is reported and the
//! snapshot is built from the store instead. Numbers are little-endian.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use geo::{Coord, LineString, MultiPolygon, Polygon};

use crate::analytics::privacy::Tally;
use crate::model::{RegionKind, StationMode, Taxonomy};

use super::moves::FlowIndex;
use super::*;

/// File name of the saved snapshot inside the data directory.
pub const FILE_NAME: &str = "snapshot.bin";

const MAGIC: &[u8; 16] = b"talentmap-snap\x00\x03";
/// A block is written once its records reach this size.
const BLOCK: usize = 1 << 20;

/// Why a saved snapshot was not used.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("no saved snapshot")]
    Missing,
    #[error("saved snapshot is stale: {0}")]
    Stale(String),
    #[error("saved snapshot is damaged: {0}")]
    Corrupt(String),
    #[error("saved snapshot cannot be read: {0}")]
    Io(#[from] std::io::Error),
}

/// What a saved snapshot must match to be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The store's instance id (`store::instance`).
    pub instance: String,
    /// The store's data version.
    pub version: u64,
    /// Digest of the code tables.
    pub taxonomy: u64,
    /// The year ages are computed against.
    pub reference_year: u16,
    /// Digest of the snapshot code ([`code_digest`]).
    pub code: u64,
}

impl Identity {
    /// The identity a snapshot of `version` of the store `instance` has
    /// when built by this program now.
    pub fn current(instance: &str, version: u64, taxonomy: &Taxonomy) -> Identity {
        Identity {
            instance: instance.to_string(),
            version,
            taxonomy: taxonomy_digest(taxonomy),
            reference_year: crate::import::current_year() as u16,
            code: code_digest(),
        }
    }
}

/// Digest of the sources that define the snapshot's records and how they
/// are derived from the store: a changed loader never reads a file written
/// by another.
pub fn code_digest() -> u64 {
    const SOURCES: &[&str] = &[
        env!("CARGO_PKG_VERSION"),
        include_str!("mod.rs"),
        include_str!("load.rs"),
        include_str!("tables.rs"),
        include_str!("moves.rs"),
        include_str!("records.rs"),
        include_str!("file.rs"),
        include_str!("../model/state.rs"),
    ];
    let mut h = Hasher::new();
    for s in SOURCES {
        h.bytes(s.as_bytes());
    }
    h.finish()
}

/// Digest of the code tables (their codes, names and chains).
pub fn taxonomy_digest(t: &Taxonomy) -> u64 {
    let text = serde_json::json!([t.industries(), t.sections(), t.fields(), t.categories(), t.chains()]).to_string();
    let mut h = Hasher::new();
    h.bytes(text.as_bytes());
    h.finish()
}

/// Path of the saved snapshot of a data directory.
pub fn path_in(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

/// A fast 64-bit hash of bytes (multiply–rotate over 8-byte words): checks
/// blocks against damage, not against an adversary.
pub(crate) struct Hasher(u64);

impl Hasher {
    pub(crate) fn new() -> Hasher {
        Hasher(0x243f_6a88_85a3_08d3)
    }
    fn word(&mut self, w: u64) {
        self.0 = (self.0 ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29);
    }
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        let mut words = b.chunks_exact(8);
        for w in &mut words {
            let mut a = [0u8; 8];
            a.copy_from_slice(w);
            self.word(u64::from_le_bytes(a));
        }
        let mut tail = [0u8; 8];
        tail[..words.remainder().len()].copy_from_slice(words.remainder());
        self.word(u64::from_le_bytes(tail) ^ ((b.len() as u64) << 56));
    }
    pub(crate) fn finish(&self) -> u64 {
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^ (x >> 33)
    }
}

fn block_hash(b: &[u8]) -> u64 {
    let mut h = Hasher::new();
    h.bytes(b);
    h.finish()
}

/// Encoder of one block's bytes.
#[derive(Default)]
pub(crate) struct Enc {
    buf: Vec<u8>,
}

impl Enc {
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn f64(&mut self, v: f64) {
        self.u64(v.to_bits());
    }
    pub fn len(&mut self, n: usize) {
        self.u64(n as u64);
    }
    pub fn str(&mut self, s: &str) {
        self.len(s.len());
        self.buf.extend_from_slice(s.as_bytes());
    }
}

/// Decoder over one block.
pub(crate) struct Dec<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn short() -> FileError {
    FileError::Corrupt("a record runs past its block".into())
}

impl Dec<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], FileError> {
        let end = self.pos.checked_add(N).filter(|&e| e <= self.buf.len()).ok_or_else(short)?;
        let mut a = [0u8; N];
        a.copy_from_slice(&self.buf[self.pos..end]);
        self.pos = end;
        Ok(a)
    }
    pub fn u8(&mut self) -> Result<u8, FileError> {
        Ok(self.take::<1>()?[0])
    }
    pub fn u16(&mut self) -> Result<u16, FileError> {
        Ok(u16::from_le_bytes(self.take()?))
    }
    pub fn u32(&mut self) -> Result<u32, FileError> {
        Ok(u32::from_le_bytes(self.take()?))
    }
    pub fn u64(&mut self) -> Result<u64, FileError> {
        Ok(u64::from_le_bytes(self.take()?))
    }
    pub fn f64(&mut self) -> Result<f64, FileError> {
        Ok(f64::from_bits(self.u64()?))
    }
    /// A length, at most what is left of the block (every element takes at
    /// least a byte).
    pub fn len(&mut self) -> Result<usize, FileError> {
        let n = self.u64()?;
        usize::try_from(n).ok().filter(|&n| n <= self.buf.len() - self.pos).ok_or_else(short)
    }
    pub fn str(&mut self) -> Result<String, FileError> {
        let n = self.len()?;
        let bytes = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        String::from_utf8(bytes.to_vec()).map_err(|_| FileError::Corrupt("a text is not UTF-8".into()))
    }
}

/// `K` bytes of a fixed-size record from offset `from` (constant offsets
/// into an array: the bounds are checked when compiling).
#[inline(always)]
fn at<const N: usize, const K: usize>(a: &[u8; N], from: usize) -> [u8; K] {
    let mut b = [0u8; K];
    b.copy_from_slice(&a[from..from + K]);
    b
}

/// A value with a file encoding.
pub(crate) trait Record: Sized {
    fn put(&self, e: &mut Enc);
    fn get(d: &mut Dec) -> Result<Self, FileError>;
}

/// Writes sections of blocks.
pub(crate) struct Writer<W: Write> {
    out: W,
    enc: Enc,
}

impl<W: Write> Writer<W> {
    fn flush_block(&mut self) -> std::io::Result<()> {
        let b = &self.enc.buf;
        self.out.write_all(&(b.len() as u32).to_le_bytes())?;
        self.out.write_all(&block_hash(b).to_le_bytes())?;
        self.out.write_all(b)?;
        self.enc.buf.clear();
        Ok(())
    }

    /// One value as a section of its own.
    pub fn value<T: Record>(&mut self, v: &T) -> std::io::Result<()> {
        v.put(&mut self.enc);
        self.flush_block()
    }

    /// A table: its length, then its records, over as many blocks as needed.
    pub fn records<T: Record>(&mut self, items: &[T]) -> std::io::Result<()> {
        self.records_of(items.len(), items.iter())
    }

    /// [`Self::records`] of the `len` records `items` yields, read as
    /// [`Reader::records`] reads a slice's.
    pub fn records_of<'a, T: Record + 'a>(
        &mut self,
        len: usize,
        items: impl Iterator<Item = &'a T>,
    ) -> std::io::Result<()> {
        self.enc.len(len);
        for item in items {
            item.put(&mut self.enc);
            if self.enc.buf.len() >= BLOCK {
                self.flush_block()?;
            }
        }
        if !self.enc.buf.is_empty() {
            self.flush_block()?;
        }
        Ok(())
    }
}

/// Reads the sections a [`Writer`] wrote, one block at a time.
pub(crate) struct Reader<R: Read> {
    inp: R,
    block: Vec<u8>,
    pos: usize,
    /// Bytes of the file not read yet (bounds the lengths it claims).
    left: u64,
}

impl<R: Read> Reader<R> {
    fn next_block(&mut self) -> Result<(), FileError> {
        let mut head = [0u8; 12];
        self.inp.read_exact(&mut head).map_err(|_| FileError::Corrupt("the file ends early".into()))?;
        let mut len = [0u8; 4];
        len.copy_from_slice(&head[..4]);
        let len = u32::from_le_bytes(len) as u64;
        if len + 12 > self.left {
            return Err(FileError::Corrupt("a block is longer than the rest of the file".into()));
        }
        self.left -= len + 12;
        let mut hash = [0u8; 8];
        hash.copy_from_slice(&head[4..]);
        self.block.resize(len as usize, 0);
        self.inp.read_exact(&mut self.block).map_err(|_| FileError::Corrupt("the file ends early".into()))?;
        if block_hash(&self.block) != u64::from_le_bytes(hash) {
            return Err(FileError::Corrupt("a block does not match its hash".into()));
        }
        self.pos = 0;
        Ok(())
    }

    fn decode<T>(&mut self, f: impl FnOnce(&mut Dec) -> Result<T, FileError>) -> Result<T, FileError> {
        let mut d = Dec { buf: &self.block, pos: self.pos };
        let v = f(&mut d)?;
        self.pos = d.pos;
        Ok(v)
    }

    fn end_of_section(&self) -> Result<(), FileError> {
        if self.pos == self.block.len() {
            Ok(())
        } else {
            Err(FileError::Corrupt("a section has bytes left over".into()))
        }
    }

    /// Checks that nothing follows the last section read.
    pub fn finish(mut self) -> Result<(), FileError> {
        let mut extra = [0u8; 1];
        if self.inp.read(&mut extra)? != 0 {
            return Err(FileError::Corrupt("bytes after the last section".into()));
        }
        Ok(())
    }

    /// A value written by [`Writer::value`].
    pub fn value<T: Record>(&mut self) -> Result<T, FileError> {
        self.next_block()?;
        let v = self.decode(T::get)?;
        self.end_of_section()?;
        Ok(v)
    }

    /// A table written by [`Writer::records`].
    pub fn records<T: Record>(&mut self) -> Result<Vec<T>, FileError> {
        self.next_block()?;
        let n = self.decode(|d| d.u64())?;
        // Every record takes at least a byte of the file.
        let n = usize::try_from(n)
            .ok()
            .filter(|&n| n as u64 <= self.left + self.block.len() as u64)
            .ok_or_else(|| FileError::Corrupt("a table claims more records than the file holds".into()))?;
        let mut items = Vec::with_capacity(n);
        while items.len() < n {
            if self.pos == self.block.len() {
                self.next_block()?;
            }
            items.push(self.decode(T::get)?);
        }
        self.end_of_section()?;
        Ok(items)
    }
}

impl Record for u32 {
    fn put(&self, e: &mut Enc) {
        e.u32(*self);
    }
    fn get(d: &mut Dec) -> Result<Self, FileError> {
        d.u32()
    }
}

impl Record for f32 {
    fn put(&self, e: &mut Enc) {
        e.u32(self.to_bits());
    }
    fn get(d: &mut Dec) -> Result<Self, FileError> {
        Ok(f32::from_bits(d.u32()?))
    }
}

impl Record for u64 {
    fn put(&self, e: &mut Enc) {
        e.u64(*self);
    }
    fn get(d: &mut Dec) -> Result<Self, FileError> {
        d.u64()
    }
}

impl Record for f64 {
    fn put(&self, e: &mut Enc) {
        e.f64(*self);
    }
    fn get(d: &mut Dec) -> Result<Self, FileError> {
        d.f64()
    }
}

impl Record for u8 {
    fn put(&self, e: &mut Enc) {
        e.u8(*self);
    }
    fn get(d: &mut Dec) -> Result<Self, FileError> {
        d.u8()
    }
}

/// A flag byte, then the value when there is one.
impl<T: Record> Record for Option<T> {
    fn put(&self, e: &mut Enc) {
        e.u8(self.is_some() as u8);
        if let Some(v) = self {
            v.put(e);
        }
    }
    fn get(d: &mut Dec) -> Result<Self, FileError> {
        if d.u8()? == 0 { Ok(None) } else { T::get(d).map(Some) }
    }
}

/// A list inside one record: its length, then its items.
impl<T: Record> Record for Vec<T> {
    fn put(&self, e: &mut Enc) {
        e.len(self.len());
        self.iter().for_each(|v| v.put(e));
    }
    fn get(d: &mut Dec) -> Result<Self, FileError> {
        let n = d.len()?;
        (0..n).map(|_| T::get(d)).collect()
    }
}

impl Record for Tally {
    fn put(&self, e: &mut Enc) {
        e.u64(self.n);
        e.u32(self.key);
    }
    fn get(d: &mut Dec) -> Result<Self, FileError> {
        Ok(Tally { n: d.u64()?, key: d.u32()? })
    }
}

impl Record for String {
    fn put(&self, e: &mut Enc) {
        e.str(self);
    }
    fn get(d: &mut Dec) -> Result<Self, FileError> {
        d.str()
    }
}

impl Record for Identity {
    fn put(&self, e: &mut Enc) {
        e.str(&self.instance);
        e.u64(self.version);
        e.u64(self.taxonomy);
        e.u16(self.reference_year);
        e.u64(self.code);
    }
    fn get(d: &mut Dec) -> Result<Self, FileError> {
        Ok(Identity {
            instance: d.str()?,
            version: d.u64()?,
            taxonomy: d.u64()?,
            reference_year: d.u16()?,
            code: d.u64()?,
        })
    }
}

fn ring_put(ring: &LineString<f64>, e: &mut Enc) {
    e.len(ring.0.len());
    for c in &ring.0 {
        e.f64(c.x);
        e.f64(c.y);
    }
}

fn ring_get(d: &mut Dec) -> Result<LineString<f64>, FileError> {
    let n = d.len()?;
    let mut coords = Vec::with_capacity(n);
    for _ in 0..n {
        coords.push(Coord { x: d.f64()?, y: d.f64()? });
    }
    Ok(LineString(coords))
}

impl Record for RegionInfo {
    fn put(&self, e: &mut Enc) {
        e.str(&self.id);
        e.str(&self.name);
        e.str(&self.name_en);
        e.u8(self.kind.index());
        e.len(self.geometry.0.len());
        for p in &self.geometry.0 {
            ring_put(p.exterior(), e);
            e.len(p.interiors().len());
            for r in p.interiors() {
                ring_put(r, e);
            }
        }
        self.bbox.iter().for_each(|v| e.f64(*v));
        self.centre.iter().for_each(|v| e.f64(*v));
    }
    fn get(d: &mut Dec) -> Result<Self, FileError> {
        let id = d.str()?;
        let name = d.str()?;
        let name_en = d.str()?;
        let kind =
            RegionKind::from_index(d.u8()?).ok_or_else(|| FileError::Corrupt(format!("region {id}: unknown kind")))?;
        let n = d.len()?;
        let mut polygons = Vec::with_capacity(n);
        for _ in 0..n {
            let exterior = ring_get(d)?;
            let holes = d.len()?;
            let interiors = (0..holes).map(|_| ring_get(d)).collect::<Result<Vec<_>, _>>()?;
            polygons.push(Polygon::new(exterior, interiors));
        }
        let bbox = [d.f64()?, d.f64()?, d.f64()?, d.f64()?];
        let centre = [d.f64()?, d.f64()?];
        Ok(RegionInfo {
            id,
            name,
            name_en,
            kind,
            geometry: MultiPolygon(polygons),
            bbox,
            centre,
            stats: RegionStats::default(),
        })
    }
}

impl Record for EnterpriseRec {
    fn put(&self, e: &mut Enc) {
        e.str(&self.id);
        e.str(&self.name);
        e.f64(self.lon);
        e.f64(self.lat);
        e.u64(self.key);
        e.u8(self.industry);
        e.u8(self.is_key as u8);
        e.u32(self.employees);
        e.u16(self.district);
        e.u16(self.park);
        e.u32(self.openings);
    }
    fn get(d: &mut Dec) -> Result<Self, FileError> {
        Ok(EnterpriseRec {
            id: d.str()?,
            name: d.str()?,
            lon: d.f64()?,
            lat: d.f64()?,
            key: d.u64()?,
            industry: d.u8()?,
            is_key: d.u8()? != 0,
            employees: d.u32()?,
            district: d.u16()?,
            park: d.u16()?,
            openings: d.u32()?,
        })
    }
}

impl Record for VacancyRec {
    fn put(&self, e: &mut Enc) {
        e.u64(self.key);
        e.u32(self.enterprise);
        e.u32(self.openings);
        e.u8(self.field);
        e.u8(self.education);
        e.u8(self.title);
        e.u8(self.industry);
        e.u8(self.open as u8);
        e.u32(self.posted as u32);
        e.u32(self.filled as u32);
        e.u16(self.district);
        e.u16(self.park);
    }
    fn get(d: &mut Dec) -> Result<Self, FileError> {
        Ok(VacancyRec {
            key: d.u64()?,
            enterprise: d.u32()?,
            openings: d.u32()?,
            field: d.u8()?,
            education: d.u8()?,
            title: d.u8()?,
            industry: d.u8()?,
            open: d.u8()? != 0,
            posted: d.u32()? as i32,
            filled: d.u32()? as i32,
            district: d.u16()?,
            park: d.u16()?,
        })
    }
}

impl Record for TalentRec {
    fn put(&self, e: &mut Enc) {
        e.u64(self.home);
        e.u64(self.work);
        e.u32(self.enterprise);
        e.u16(self.birth_year);
        for v in [self.field, self.education, self.title, self.tier, self.industry, self.flags] {
            e.u8(v);
        }
        for v in [self.home_district, self.home_park, self.work_district, self.work_park] {
            e.u16(v);
        }
        e.u32(self.rkey);
    }
    fn get(d: &mut Dec) -> Result<Self, FileError> {
        // Fixed size: one bounds check, then fields at constant offsets.
        let a: [u8; 40] = d.take()?;
        Ok(TalentRec {
            home: u64::from_le_bytes(at(&a, 0)),
            work: u64::from_le_bytes(at(&a, 8)),
            enterprise: u32::from_le_bytes(at(&a, 16)),
            birth_year: u16::from_le_bytes(at(&a, 20)),
            field: a[22],
            education: a[23],
            title: a[24],
            tier: a[25],
            industry: a[26],
            flags: a[27],
            home_district: u16::from_le_bytes(at(&a, 28)),
            home_park: u16::from_le_bytes(at(&a, 30)),
            work_district: u16::from_le_bytes(at(&a, 32)),
            work_park: u16::from_le_bytes(at(&a, 34)),
            rkey: u32::from_le_bytes(at(&a, 36)),
        })
    }
}

impl Record for StationRec {
    fn put(&self, e: &mut Enc) {
        e.str(&self.id);
        e.str(&self.name);
        e.str(&self.name_en);
        e.f64(self.lon);
        e.f64(self.lat);
        e.u64(self.key);
        e.u8(self.mode.index());
        e.u16(self.district);
        e.u16(self.park);
    }
    fn get(d: &mut Dec) -> Result<Self, FileError> {
        let id = d.str()?;
        Ok(StationRec {
            name: d.str()?,
            name_en: d.str()?,
            lon: d.f64()?,
            lat: d.f64()?,
            key: d.u64()?,
            mode: StationMode::from_index(d.u8()?)
                .ok_or_else(|| FileError::Corrupt(format!("station {id}: unknown mode")))?,
            district: d.u16()?,
            park: d.u16()?,
            id,
        })
    }
}

impl Record for MoveRec {
    fn put(&self, e: &mut Enc) {
        e.u16(self.month);
        e.u8(self.event);
        e.u8(self.field);
        e.u8(self.industry);
        for v in [self.from_district, self.from_park, self.to_district, self.to_park, self.destination] {
            e.u16(v);
        }
        e.u32(self.rkey);
        e.u32(self.from_cell);
        e.u32(self.to_cell);
        e.u32(self.from_enterprise);
        e.u32(self.to_enterprise);
    }
    fn get(d: &mut Dec) -> Result<Self, FileError> {
        let a: [u8; 35] = d.take()?;
        Ok(MoveRec {
            month: u16::from_le_bytes(at(&a, 0)),
            event: a[2],
            field: a[3],
            industry: a[4],
            from_district: u16::from_le_bytes(at(&a, 5)),
            from_park: u16::from_le_bytes(at(&a, 7)),
            to_district: u16::from_le_bytes(at(&a, 9)),
            to_park: u16::from_le_bytes(at(&a, 11)),
            destination: u16::from_le_bytes(at(&a, 13)),
            rkey: u32::from_le_bytes(at(&a, 15)),
            from_cell: u32::from_le_bytes(at(&a, 19)),
            to_cell: u32::from_le_bytes(at(&a, 23)),
            from_enterprise: u32::from_le_bytes(at(&a, 27)),
            to_enterprise: u32::from_le_bytes(at(&a, 31)),
        })
    }
}

/// The snapshot's values that are neither records nor derived.
struct Scalars {
    build_ms: u64,
    layers: LayerVersions,
    totals: Totals,
    registered: Tally,
    first_month: u32,
    months: u16,
}

impl Record for Scalars {
    fn put(&self, e: &mut Enc) {
        e.u64(self.build_ms);
        let l = &self.layers;
        for v in [l.talents, l.vacancies, l.enterprises, l.stations] {
            e.u64(v);
        }
        let t = &self.totals;
        for v in [t.enterprises, t.vacancies, t.openings, t.open_openings, t.stations, t.regions, t.moves] {
            e.u64(v);
        }
        self.registered.put(e);
        e.u32(self.first_month);
        e.u16(self.months);
    }
    fn get(d: &mut Dec) -> Result<Self, FileError> {
        let build_ms = d.u64()?;
        let layers =
            LayerVersions { talents: d.u64()?, vacancies: d.u64()?, enterprises: d.u64()?, stations: d.u64()? };
        let totals = Totals {
            enterprises: d.u64()?,
            vacancies: d.u64()?,
            openings: d.u64()?,
            open_openings: d.u64()?,
            stations: d.u64()?,
            regions: d.u64()?,
            moves: d.u64()?,
            ..Totals::default()
        };
        Ok(Scalars { build_ms, layers, totals, registered: Tally::get(d)?, first_month: d.u32()?, months: d.u16()? })
    }
}

/// Writes `snap` (of the store identified by `identity`) to `path`:
/// through a temporary file beside it, synced and renamed into place, so a
/// reader sees the old file or the new one. Returns the bytes written.
pub fn save(snap: &Snapshot, identity: &Identity, path: &Path) -> std::io::Result<u64> {
    write_sections(path, MAGIC, |w| {
        w.value(identity)?;
        w.value(&Scalars {
            build_ms: snap.build_ms,
            layers: snap.layers,
            totals: snap.totals.clone(),
            registered: snap.totals_tallies.registered,
            first_month: snap.flows.first_month,
            months: snap.flows.months,
        })?;
        w.records(&snap.regions)?;
        w.records(&snap.enterprises)?;
        w.records(&snap.vacancies)?;
        w.records(&snap.talents)?;
        w.records(&snap.stations)?;
        w.records(&snap.flows.destinations)?;
        w.records_of(snap.flows.moves.len(), snap.flows.moves.iter())
    })
}

/// Writes a file of sections (`magic`, then what `body` writes) to `path`
/// through a temporary file beside it, synced and renamed into place, so a
/// reader sees the old file or the new one; readable by the server's user
/// only (the files hold secret record keys). Returns the bytes written.
pub(crate) fn write_sections(
    path: &Path,
    magic: &[u8; 16],
    body: impl FnOnce(&mut Writer<BufWriter<File>>) -> std::io::Result<()>,
) -> std::io::Result<u64> {
    let tmp = path.with_extension("bin.tmp");
    let write = || -> std::io::Result<u64> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&tmp)?;
        let mut w = Writer { out: BufWriter::with_capacity(BLOCK, file), enc: Enc::default() };
        w.out.write_all(magic)?;
        body(&mut w)?;
        let file = w.out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        let bytes = file.metadata()?.len();
        std::fs::rename(&tmp, path)?;
        Ok(bytes)
    };
    let result = write();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The identity a saved snapshot was written with, reading only its header.
pub fn identity_of(path: &Path) -> Result<Identity, FileError> {
    let mut r = open_file(path)?;
    r.value::<Identity>()
}

fn open_file(path: &Path) -> Result<Reader<BufReader<File>>, FileError> {
    open_sections(path, MAGIC, "snapshot")
}

/// Opens a file [`write_sections`] wrote with `magic` (a file of `what`).
pub(crate) fn open_sections(path: &Path, magic: &[u8; 16], what: &str) -> Result<Reader<BufReader<File>>, FileError> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(FileError::Missing),
        Err(e) => return Err(e.into()),
    };
    let len = file.metadata()?.len();
    let mut found = [0u8; 16];
    if file.read_exact(&mut found).is_err() || &found != magic {
        return Err(FileError::Stale(format!("not a {what} file of this format")));
    }
    let left = len - magic.len() as u64;
    Ok(Reader { inp: BufReader::with_capacity(BLOCK + 12, file), block: Vec::new(), pos: 0, left })
}

/// Reads the snapshot saved at `path` if it was written with `expected`
/// (see the module doc), rebuilding its derived indexes.
pub fn load(path: &Path, expected: &Identity, taxonomy: Arc<Taxonomy>) -> Result<Snapshot, FileError> {
    let mut phases = crate::timing::Phases::start();
    let mut r = open_file(path)?;
    let found: Identity = r.value()?;
    if found != *expected {
        let why = if found.instance != expected.instance {
            "written for another store".to_string()
        } else if found.version != expected.version {
            format!("data version {} (the store is at {})", found.version, expected.version)
        } else if found.code != expected.code {
            "written by another build".to_string()
        } else if found.taxonomy != expected.taxonomy {
            "the code tables changed".to_string()
        } else {
            format!("reference year {} (now {})", found.reference_year, expected.reference_year)
        };
        return Err(FileError::Stale(why));
    }
    let scalars: Scalars = r.value()?;
    let regions: Vec<RegionInfo> = r.records()?;
    let enterprises: Vec<EnterpriseRec> = r.records()?;
    let vacancies: Vec<VacancyRec> = r.records()?;
    let talents: Vec<TalentRec> = r.records()?;
    phases.mark("regions, enterprises, vacancies, talents decoded");
    // The enterprises' R-tree and the talents' workplace order need nothing else:
    // built on a second thread while the rest is read and indexed here.
    // (Positions are checked below before the snapshot is assembled; a
    // damaged file only costs the indexes' time.)
    let (rest, side) = std::thread::scope(|s| {
        let side = s.spawn(|| (super::load::enterprise_index(&enterprises), super::load::workplace_order(&talents)));
        let rest = (|| -> Result<_, FileError> {
            let stations: Vec<StationRec> = r.records()?;
            let destinations: Vec<String> = r.records()?;
            let moves: Vec<MoveRec> = r.records()?;
            r.finish()?;
            phases.mark("stations and moves decoded");
            check_references(
                &regions,
                &enterprises,
                &vacancies,
                &talents,
                &stations,
                (&moves, scalars.months),
                &destinations,
            )?;
            let flows = FlowIndex::from_moves(
                &regions,
                destinations,
                taxonomy.fields().len(),
                taxonomy.industries().len(),
                (scalars.first_month, scalars.months),
                moves,
            );
            phases.mark("references checked, flow index");
            Ok((stations, flows))
        })();
        (rest, side.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    });
    let (stations, flows) = rest?;
    let (enterprise_tree, by_work) = side;
    phases.mark("waited for the enterprise tree and the workplace order");

    let mut snap = Snapshot::empty(taxonomy.clone());
    snap.version = found.version;
    let l = &scalars.layers;
    if [l.talents, l.vacancies, l.enterprises, l.stations].iter().any(|&v| v > found.version) {
        return Err(FileError::Corrupt("a layer version is past the data version".into()));
    }
    snap.build_ms = scalars.build_ms;
    snap.layers = scalars.layers;
    snap.reference_year = found.reference_year;
    snap.region_index = regions.iter().enumerate().map(|(i, r)| (r.id.clone(), i as u16)).collect();
    snap.regions = regions;
    if scalars.totals.moves > 0 {
        snap.locator = Arc::new(moves::Locator::new(&snap.regions));
    }
    snap.flows = flows;
    snap.enterprise_index = enterprises
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id.clone(), i as u32))
        .collect::<std::collections::HashMap<_, _>>()
        .into();
    snap.enterprise_tree = Arc::new(enterprise_tree);
    snap.station_tree = super::load::station_index(&stations);
    snap.totals = scalars.totals;
    snap.enterprises = Arc::new(enterprises);
    snap.vacancies = Arc::new(vacancies);
    snap.stations = stations;
    super::load::settle_ordered_talents(&mut snap, talents, scalars.registered, by_work);
    phases.mark("totals");
    tracing::debug!(%phases, "saved snapshot read");
    Ok(snap)
}

/// Every position a record holds points into its table (a file written by
/// this code always passes; this keeps a damaged one that slipped past the
/// hashes from reaching the request paths).
fn check_references(
    regions: &[RegionInfo],
    enterprises: &[EnterpriseRec],
    vacancies: &[VacancyRec],
    talents: &[TalentRec],
    stations: &[StationRec],
    (moves, months): (&[MoveRec], u16),
    destinations: &[String],
) -> Result<(), FileError> {
    let region = |r: u16| r == NONE16 || (r as usize) < regions.len();
    let enterprise = |e: u32| e == NONE32 || (e as usize) < enterprises.len();
    let bad = |what: &str| Err(FileError::Corrupt(format!("a {what} refers past its table")));
    if !enterprises.iter().all(|e| region(e.district) && region(e.park)) {
        return bad("enterprise");
    }
    if !vacancies.iter().all(|v| (v.enterprise as usize) < enterprises.len() && region(v.district) && region(v.park)) {
        return bad("vacancy");
    }
    let talent_ok = |t: &TalentRec| {
        enterprise(t.enterprise) && [t.home_district, t.home_park, t.work_district, t.work_park].into_iter().all(region)
    };
    if !talents.iter().all(talent_ok) {
        return bad("talent");
    }
    if !stations.iter().all(|s| region(s.district) && region(s.park)) {
        return bad("station");
    }
    let move_ok = |m: &MoveRec| {
        (m.month < months || months == 0)
            && (m.event as usize) < crate::model::MoveEvent::ALL.len()
            && [m.from_district, m.from_park, m.to_district, m.to_park].into_iter().all(region)
            && (m.destination == NONE16 || (m.destination as usize) < destinations.len())
    };
    if !moves.iter().all(move_ok) {
        return bad("move");
    }
    Ok(())
}

/// Where the snapshot [`open`] returned came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Read from the saved file.
    Saved,
    /// Built from the store, for the reason given.
    Built(String),
}

/// The snapshot of the store's current data: the saved one in `dir` when
/// it matches the store (see the module doc), otherwise built from the
/// store.
pub fn open(
    store: &mut crate::store::Store,
    taxonomy: Arc<Taxonomy>,
    dir: &Path,
) -> Result<(Snapshot, Origin), super::SnapshotError> {
    let expected = Identity::current(&store.instance()?, store.data_version()?, &taxonomy);
    let why = match load(&path_in(dir), &expected, taxonomy.clone()) {
        Ok(snap) => return Ok((snap, Origin::Saved)),
        Err(e) => e.to_string(),
    };
    let snap = super::build(store, taxonomy)?;
    Ok((snap, Origin::Built(why)))
}
