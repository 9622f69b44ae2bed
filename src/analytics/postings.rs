//! Where each field's talents are: for a filter naming fields, the
//! positions of those fields' records inside a tile, read instead of every
//! record of the tile.
//!
//! Records are sorted by Morton key, so a tile is one run of positions and
//! one field's records inside it are a run of that field's ascending
//! positions. A filter naming one of 117 fields matches about one record in
//! a hundred, so a low-zoom tile that would scan a few million records
//! reads a few tens of thousands.
//!
//! Layout: each field's positions as gaps from the one before, in LEB128
//! (seven bits a byte; a field's records are a hundred positions apart on
//! average, so most gaps take one byte), fields one after another, with
//! every [`SKIP`]-th position and where the gaps after it start: a run
//! starts at the last skip before it and decodes at most `SKIP` gaps
//! before its first position. About 1.2 bytes a record in all.

use std::ops::Range;

/// Positions between two skips.
const SKIP: usize = 64;

/// The positions of every field's records in a key-sorted slice.
pub struct FieldPostings {
    /// Gaps, field after field.
    gaps: Vec<u8>,
    /// Field `f`'s gaps start at `gaps_at[f]`.
    gaps_at: Vec<u32>,
    /// Every `SKIP`-th position of a field (the first, the 65th, …) and the
    /// offset in `gaps` of the gap after it; field `f`'s are
    /// `skips[skips_at[f]..skips_at[f + 1]]`.
    skips: Vec<(u32, u32)>,
    skips_at: Vec<u32>,
    /// Records per field.
    counts: Vec<u32>,
}

/// Appends `v` in LEB128.
fn put(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The LEB128 number at `*at`, moving `*at` past it.
#[inline]
fn get(gaps: &[u8], at: &mut usize) -> u32 {
    let (mut v, mut shift) = (0u32, 0);
    while let Some(&b) = gaps.get(*at) {
        *at += 1;
        v |= u32::from(b & 0x7f) << shift;
        if b < 0x80 {
            break;
        }
        shift += 7;
    }
    v
}

impl FieldPostings {
    /// The postings of `fields` (one field index per record, in record
    /// order).
    pub fn build(fields: impl ExactSizeIterator<Item = u8> + Clone) -> FieldPostings {
        // Positions grouped by field (a counting sort), then encoded.
        let mut counts = vec![0u32; 256];
        for f in fields.clone() {
            counts[f as usize] += 1;
        }
        let mut next: Vec<usize> = counts
            .iter()
            .scan(0usize, |sum, &c| {
                let at = *sum;
                *sum += c as usize;
                Some(at)
            })
            .collect();
        // Room kept from a snapshot before, when there is some (a moves
        // batch builds these for millions of records). Not kept after: what
        // a start builds is not held for a batch that may never come.
        let mut grouped = crate::snapshot::ROOMS.positions.take(fields.len());
        grouped.resize(fields.len(), 0);
        for (i, f) in fields.enumerate() {
            grouped[next[f as usize]] = i as u32;
            next[f as usize] += 1;
        }
        let (mut gaps, mut gaps_at, mut skips, mut skips_at) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut from = 0;
        for &count in &counts {
            gaps_at.push(gaps.len() as u32);
            skips_at.push(skips.len() as u32);
            let mut previous = 0;
            for (i, &p) in grouped[from..from + count as usize].iter().enumerate() {
                put(&mut gaps, p - previous);
                previous = p;
                if i % SKIP == 0 {
                    skips.push((p, gaps.len() as u32));
                }
            }
            from += count as usize;
        }
        gaps_at.push(gaps.len() as u32);
        skips_at.push(skips.len() as u32);
        gaps.shrink_to_fit();
        skips.shrink_to_fit();
        FieldPostings { gaps, gaps_at, skips, skips_at, counts }
    }

    fn skips_of(&self, f: u8) -> &[(u32, u32)] {
        let f = f as usize;
        &self.skips[self.skips_at[f] as usize..self.skips_at[f + 1] as usize]
    }

    /// About how many records of `fields` lie inside `range`: the skips
    /// inside it times [`SKIP`], within `SKIP` of the count per field.
    pub fn estimate(&self, fields: &[u8], range: Range<usize>) -> usize {
        let (lo, hi) = (range.start as u64, range.end as u64);
        let inside = |f: u8| {
            let skips = self.skips_of(f);
            skips.partition_point(|s| u64::from(s.0) < hi) - skips.partition_point(|s| u64::from(s.0) < lo)
        };
        fields.iter().map(|&f| inside(f) * SKIP).sum()
    }

    /// Appends the positions of field `f` inside `range` to `out`,
    /// ascending.
    fn append(&self, f: u8, range: Range<usize>, out: &mut Vec<u32>) {
        let (lo, hi) = (range.start as u64, range.end as u64);
        let skips = self.skips_of(f);
        let count = self.counts[f as usize] as usize;
        // The last skip before the range, or the field's first gap.
        let k = skips.partition_point(|s| u64::from(s.0) < lo);
        let (mut at, mut previous, mut i) = match k.checked_sub(1).and_then(|k| skips.get(k).map(|s| (k, s))) {
            Some((k, &(p, after))) => (after as usize, p, k * SKIP + 1),
            None => (self.gaps_at[f as usize] as usize, 0, 0),
        };
        while i < count {
            let p = previous + get(&self.gaps, &mut at);
            if u64::from(p) >= hi {
                break;
            }
            if u64::from(p) >= lo {
                out.push(p);
            }
            previous = p;
            i += 1;
        }
    }

    /// The positions of the records of `fields` inside `range`, ascending.
    pub fn positions(&self, fields: &[u8], range: Range<usize>) -> Vec<u32> {
        let mut out = Vec::new();
        for &f in fields {
            self.append(f, range.clone(), &mut out);
        }
        if fields.len() > 1 {
            out.sort_unstable();
        }
        out
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.gaps.capacity()
            + self.skips.capacity() * 8
            + (self.gaps_at.capacity() + self.skips_at.capacity()) * 4
            + self.counts.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_of_fields_in_a_range_equal_a_scan() {
        let mut rng = crate::generate::rng::Rng::new(3, 0);
        // Skewed fields, one field absent, one rare (gaps over 2^14).
        let mut fields: Vec<u8> = (0..200_000).map(|_| ((rng.f64() * rng.f64()) * 9.0) as u8 * 2).collect();
        for i in [3, 20_000, 150_000, 199_999] {
            fields[i] = 31;
        }
        let postings = FieldPostings::build(fields.iter().copied());
        assert!(postings.bytes() < 200_000 * 3 / 2, "{} bytes", postings.bytes());
        let scan = |fs: &[u8], r: Range<usize>| -> Vec<u32> {
            r.filter(|&i| fs.contains(&fields[i])).map(|i| i as u32).collect()
        };
        let ranges = [0..200_000, 0..0, 5..6, 3..4, 65_535..65_537, 65_536..131_072, 1_000..190_000, 131_071..250_000];
        for fs in [&[0u8][..], &[2], &[16], &[1], &[31], &[4, 0], &[16, 2, 8], &[31, 16]] {
            for r in ranges.clone() {
                let expected = scan(fs, r.start..r.end.min(fields.len()));
                assert_eq!(postings.positions(fs, r.clone()), expected, "{fs:?} in {r:?}");
                let estimate = postings.estimate(fs, r.clone());
                assert!(estimate.abs_diff(expected.len()) <= SKIP * fs.len(), "{fs:?} in {r:?}: {estimate}");
            }
        }
        assert!(postings.positions(&[1], 0..200_000).is_empty(), "no record of field 1");
        let empty = FieldPostings::build(std::iter::empty::<u8>());
        assert!(empty.positions(&[0], 0..10).is_empty());
        assert_eq!(empty.estimate(&[0], 0..10), 0);
    }

    #[test]
    fn numbers_round_trip_in_leb128() {
        let mut out = Vec::new();
        let values = [0, 1, 127, 128, 16_383, 16_384, u32::MAX];
        for v in values {
            put(&mut out, v);
        }
        assert_eq!(out.len(), 1 + 1 + 1 + 2 + 2 + 3 + 5);
        let mut at = 0;
        for v in values {
            assert_eq!(get(&out, &mut at), v);
        }
        assert_eq!(at, out.len());
    }
}
