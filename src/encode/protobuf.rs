//! Minimal protocol-buffers wire-format writer.
//!
//! The vector-tile encoder needs only a handful of wire primitives (varints,
//! zigzag, length-delimited fields, packed `uint32`, little-endian doubles).
//! Writing them by hand keeps prost and generated code out of the normal
//! dependency tree and lets the tile encoder compute every message length up
//! front, so each message is written once, straight into its final buffer,
//! with no intermediate message structs.

/// Protobuf wire types used by the vector-tile schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum WireType {
    /// `int32`, `int64`, `uint32`, `uint64`, `sint*`, `bool`, `enum`.
    Varint = 0,
    /// `fixed64`, `sfixed64`, `double`.
    I64 = 1,
    /// `string`, `bytes`, embedded messages, packed repeated fields.
    Len = 2,
    /// `fixed32`, `sfixed32`, `float`.
    I32 = 5,
}

/// Field key (tag) of `field` with wire type `wire`: `field << 3 | wire`.
pub fn key(field: u32, wire: WireType) -> u64 {
    (u64::from(field) << 3) | wire as u64
}

/// Number of bytes the varint encoding of `v` takes (1..=10).
#[inline]
pub fn varint_len(v: u64) -> usize {
    // Each byte carries 7 bits; zero still takes one byte.
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Appends `v` as a base-128 varint, least significant group first.
#[inline]
pub fn write_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Zigzag-encodes a 32-bit signed integer (`0, -1, 1, -2, …` → `0, 1, 2, 3, …`).
pub fn zigzag32(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

/// Zigzag-encodes a 64-bit signed integer (the `sint64` encoding).
pub fn zigzag64(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Appends the key of `field` with wire type `wire`.
pub fn write_key(buf: &mut Vec<u8>, field: u32, wire: WireType) {
    write_varint(buf, key(field, wire));
}

/// Appends a varint field (`uint32`, `uint64`, `bool`, `enum`, or an
/// already zigzagged `sint*`).
pub fn write_varint_field(buf: &mut Vec<u8>, field: u32, v: u64) {
    write_key(buf, field, WireType::Varint);
    write_varint(buf, v);
}

/// Appends a `double` field (8 bytes, little-endian).
pub fn write_double_field(buf: &mut Vec<u8>, field: u32, v: f64) {
    write_key(buf, field, WireType::I64);
    buf.extend_from_slice(&v.to_le_bytes());
}

/// Appends the key and length prefix of a length-delimited field whose
/// payload (`len` bytes) the caller writes next.
pub fn write_len_header(buf: &mut Vec<u8>, field: u32, len: usize) {
    write_key(buf, field, WireType::Len);
    write_varint(buf, len as u64);
}

/// Appends a length-delimited field (`string`, `bytes`, or an encoded
/// embedded message).
pub fn write_bytes_field(buf: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    write_len_header(buf, field, bytes.len());
    buf.extend_from_slice(bytes);
}

/// Total size of a length-delimited field with a `len`-byte payload:
/// key + length prefix + payload.
pub fn len_field_size(field: u32, len: usize) -> usize {
    varint_len(key(field, WireType::Len)) + varint_len(len as u64) + len
}

/// Payload size of a packed repeated `uint32` holding `values`.
pub fn packed_len(values: &[u32]) -> usize {
    values.iter().map(|&v| varint_len(u64::from(v))).sum()
}

/// Appends a packed repeated `uint32` field whose payload is `len` bytes
/// ([`packed_len`] of `values`, which the caller has summed already: the
/// encoder needs it for the enclosing message's length first). An empty
/// slice writes nothing (proto2 packed fields with no elements are simply
/// absent).
#[inline]
pub fn write_packed_u32(buf: &mut Vec<u8>, field: u32, values: &[u32], len: usize) {
    debug_assert_eq!(len, packed_len(values));
    if values.is_empty() {
        return;
    }
    write_len_header(buf, field, len);
    for &v in values {
        write_varint(buf, u64::from(v));
    }
}

/// Size of a varint field as written by [`write_varint_field`].
pub fn varint_field_size(field: u32, v: u64) -> usize {
    varint_len(key(field, WireType::Varint)) + varint_len(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_match_the_reference_encoding() {
        for (v, bytes) in [
            (0u64, vec![0x00]),
            (1, vec![0x01]),
            (127, vec![0x7f]),
            (128, vec![0x80, 0x01]),
            (300, vec![0xac, 0x02]),
            (u64::MAX, vec![0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
        ] {
            let mut buf = Vec::new();
            write_varint(&mut buf, v);
            assert_eq!(buf, bytes, "{v}");
            assert_eq!(varint_len(v), bytes.len(), "{v}");
        }
    }

    #[test]
    fn zigzag_interleaves_signs() {
        assert_eq!([0, -1, 1, -2, 2].map(zigzag32), [0, 1, 2, 3, 4]);
        assert_eq!(zigzag32(i32::MAX), u32::MAX - 1);
        assert_eq!(zigzag32(i32::MIN), u32::MAX);
        assert_eq!(zigzag64(-3), 5);
        assert_eq!(zigzag64(i64::MIN), u64::MAX);
    }

    #[test]
    fn fields_and_their_predicted_sizes_agree() {
        // Example from the protobuf encoding guide: field 1 = 150 → 08 96 01.
        let mut buf = Vec::new();
        write_varint_field(&mut buf, 1, 150);
        assert_eq!(buf, [0x08, 0x96, 0x01]);
        assert_eq!(varint_field_size(1, 150), 3);

        // Packed repeated field 4 = [3, 270, 86942] → 22 06 03 8E 02 9E A7 05.
        let mut buf = Vec::new();
        write_packed_u32(&mut buf, 4, &[3, 270, 86942], packed_len(&[3, 270, 86942]));
        assert_eq!(buf, [0x22, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05]);
        assert_eq!(len_field_size(4, packed_len(&[3, 270, 86942])), buf.len());

        let mut buf = Vec::new();
        write_packed_u32(&mut buf, 4, &[], 0);
        assert!(buf.is_empty());

        let mut buf = Vec::new();
        write_bytes_field(&mut buf, 2, b"testing");
        assert_eq!(buf[..2], [0x12, 0x07]);
        assert_eq!(len_field_size(2, 7), buf.len());

        let mut buf = Vec::new();
        write_double_field(&mut buf, 3, 1.5);
        assert_eq!(buf[0], 0x19);
        assert_eq!(buf[1..], 1.5f64.to_le_bytes());
    }
}
