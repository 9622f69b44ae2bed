//! Where each field's talents are: for a filter naming fields, the
//! positions of those fields' records inside a tile, read instead of every
//! record of the tile.
//!
//! Records are sorted by Morton key, so a tile is one run of positions and
//! one field's records inside it are a run of that field's ascending
//! positions: two binary searches per field find them. A filter naming one
//! of 117 fields matches about one record in a hundred, so a low-zoom tile
//! that would scan a few million records reads a few tens of thousands.
//!
//! Layout: positions grouped by field, then by block of 2¹⁶ positions,
//! each kept as its low 16 bits (2 bytes a record). Field `f`'s positions
//! in block `b` are `(b << 16) | low[i]` for `i` in
//! `offsets[f * blocks + b]..offsets[f * blocks + b + 1]`, ascending.

use std::ops::Range;

/// Positions per block (the low bits kept per position).
const BLOCK_BITS: u32 = 16;

/// The positions of every field's records in a key-sorted slice.
pub struct FieldPostings {
    low: Vec<u16>,
    offsets: Vec<u32>,
    blocks: usize,
    len: usize,
}

impl FieldPostings {
    /// The postings of `fields` (one field index per record, in record
    /// order).
    pub fn build(fields: impl ExactSizeIterator<Item = u8> + Clone) -> FieldPostings {
        let len = fields.len();
        let blocks = len.div_ceil(1 << BLOCK_BITS).max(1);
        // Counts per (field, block), then their running sums: the offsets.
        let mut offsets = vec![0u32; 256 * blocks + 1];
        for (i, f) in fields.clone().enumerate() {
            offsets[f as usize * blocks + (i >> BLOCK_BITS) + 1] += 1;
        }
        for i in 1..offsets.len() {
            offsets[i] += offsets[i - 1];
        }
        let mut next = offsets.clone();
        let mut low = vec![0u16; len];
        for (i, f) in fields.enumerate() {
            let at = &mut next[f as usize * blocks + (i >> BLOCK_BITS)];
            low[*at as usize] = i as u16;
            *at += 1;
        }
        FieldPostings { low, offsets, blocks, len }
    }

    /// The runs of field `f`'s positions inside `range`, block by block:
    /// each with the block's first position and the low bits.
    fn spans(&self, f: u8, range: Range<usize>) -> impl Iterator<Item = (usize, &[u16])> + '_ {
        let (lo, hi) = (range.start, range.end.min(self.len));
        let blocks = if hi > lo { (lo >> BLOCK_BITS)..((hi - 1) >> BLOCK_BITS) + 1 } else { 0..0 };
        blocks.map(move |b| {
            let at = f as usize * self.blocks + b;
            let all = &self.low[self.offsets[at] as usize..self.offsets[at + 1] as usize];
            let base = b << BLOCK_BITS;
            let from = all.partition_point(|&l| base + (l as usize) < lo);
            let to = all.partition_point(|&l| base + (l as usize) < hi);
            (base, &all[from..to])
        })
    }

    /// How many records of `fields` lie inside `range`.
    pub fn count(&self, fields: &[u8], range: Range<usize>) -> usize {
        fields.iter().map(|&f| self.spans(f, range.clone()).map(|(_, s)| s.len()).sum::<usize>()).sum()
    }

    /// The positions of the records of `fields` inside `range`, ascending.
    pub fn positions(&self, fields: &[u8], range: Range<usize>) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.count(fields, range.clone()));
        for &f in fields {
            for (base, low) in self.spans(f, range.clone()) {
                out.extend(low.iter().map(|&l| (base | l as usize) as u32));
            }
        }
        if fields.len() > 1 {
            out.sort_unstable();
        }
        out
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.low.capacity() * 2 + self.offsets.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_of_fields_in_a_range_equal_a_scan() {
        let mut rng = crate::generate::rng::Rng::new(3, 0);
        // Three blocks and a bit, skewed fields, one field absent.
        let fields: Vec<u8> = (0..200_000).map(|_| ((rng.f64() * rng.f64()) * 9.0) as u8 * 2).collect();
        let postings = FieldPostings::build(fields.iter().copied());
        assert_eq!(postings.bytes(), 200_000 * 2 + (256 * 4 + 1) * 4);
        let scan = |fs: &[u8], r: Range<usize>| -> Vec<u32> {
            r.filter(|&i| fs.contains(&fields[i])).map(|i| i as u32).collect()
        };
        let ranges = [0..200_000, 0..0, 5..6, 65_535..65_537, 65_536..131_072, 1_000..190_000, 131_071..250_000];
        for fs in [&[0u8][..], &[2], &[16], &[1], &[4, 0], &[16, 2, 8]] {
            for r in ranges.clone() {
                let expected = scan(fs, r.start..r.end.min(fields.len()));
                assert_eq!(postings.positions(fs, r.clone()), expected, "{fs:?} in {r:?}");
                assert_eq!(postings.count(fs, r.clone()), expected.len());
            }
        }
        assert!(postings.positions(&[1], 0..200_000).is_empty(), "no record of field 1");
        let empty = FieldPostings::build(std::iter::empty::<u8>());
        assert!(empty.positions(&[0], 0..10).is_empty());
    }
}
