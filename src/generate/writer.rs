//! Output plumbing: CSV files in the import contract's dialect (UTF-8,
//! header row, LF, comma, RFC 4180 quoting by the `csv` crate), streamed
//! row by row, and allocation-free formatting of the numbers that fill
//! millions of rows (coordinates with six decimals, zero-padded ids).

use std::fs::File;
use std::path::{Path, PathBuf};

use super::GenerateError;

/// A CSV file being written, one row at a time.
pub struct CsvOut {
    writer: csv::Writer<File>,
    path: PathBuf,
    rows: usize,
}

impl CsvOut {
    pub fn create(dir: &Path, name: &str, header: &[&str]) -> Result<CsvOut, GenerateError> {
        let path = dir.join(name);
        let file = File::create(&path).map_err(|source| GenerateError::Io { path: path.clone(), source })?;
        let writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .buffer_capacity(1 << 18)
            .from_writer(file);
        let mut out = CsvOut { writer, path, rows: 0 };
        for h in header {
            out.field(h.as_bytes())?;
        }
        out.writer.write_record(None::<&[u8]>).map_err(|e| out.error(e))?;
        Ok(out)
    }

    fn error(&self, source: csv::Error) -> GenerateError {
        GenerateError::Csv { path: self.path.clone(), source }
    }

    pub fn field(&mut self, value: &[u8]) -> Result<(), GenerateError> {
        self.writer.write_field(value).map_err(|e| self.error(e))
    }

    /// Writes an optional coordinate pair as two fields (empty when absent).
    pub fn point(&mut self, p: Option<super::geography::Micro>) -> Result<(), GenerateError> {
        match p {
            Some(m) => {
                self.field(Num::micro(m.lon).as_bytes())?;
                self.field(Num::micro(m.lat).as_bytes())
            }
            None => {
                self.field(b"")?;
                self.field(b"")
            }
        }
    }

    pub fn end_row(&mut self) -> Result<(), GenerateError> {
        self.rows += 1;
        self.writer.write_record(None::<&[u8]>).map_err(|e| self.error(e))
    }

    /// Flushes the file; returns its path and number of data rows.
    pub fn finish(mut self) -> Result<(PathBuf, usize), GenerateError> {
        self.writer.flush().map_err(|source| GenerateError::Io { path: self.path.clone(), source })?;
        Ok((self.path, self.rows))
    }
}

/// A short ASCII number or id formatted on the stack.
pub struct Num {
    buf: [u8; 32],
    len: usize,
}

impl Num {
    fn new() -> Num {
        Num { buf: [0; 32], len: 0 }
    }

    fn push(&mut self, b: u8) {
        if self.len < self.buf.len() {
            self.buf[self.len] = b;
            self.len += 1;
        }
    }

    fn push_digits(&mut self, mut n: u64, min_width: usize) {
        let mut digits = [0u8; 20];
        let mut k = 0;
        loop {
            digits[k] = b'0' + (n % 10) as u8;
            n /= 10;
            k += 1;
            if n == 0 {
                break;
            }
        }
        for _ in k..min_width {
            self.push(b'0');
        }
        for i in (0..k).rev() {
            self.push(digits[i]);
        }
    }

    /// Microdegrees as decimal degrees with six decimals, e.g. `117.020000`.
    pub fn micro(v: i32) -> Num {
        let mut n = Num::new();
        if v < 0 {
            n.push(b'-');
        }
        let a = u64::from(v.unsigned_abs());
        n.push_digits(a / 1_000_000, 1);
        n.push(b'.');
        n.push_digits(a % 1_000_000, 6);
        n
    }

    /// An unsigned integer.
    pub fn uint(v: u64) -> Num {
        let mut n = Num::new();
        n.push_digits(v, 1);
        n
    }

    /// An id: prefix and a 1-based number zero-padded to `width` digits.
    pub fn id(prefix: &str, v: u64, width: usize) -> Num {
        let mut n = Num::new();
        for &b in prefix.as_bytes() {
            n.push(b);
        }
        n.push_digits(v, width);
        n
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Digits needed for ids up to `count`, at least `min`.
pub fn id_width(count: usize, min: usize) -> usize {
    count.max(1).to_string().len().max(min)
}

pub fn bool_field(b: bool) -> &'static [u8] {
    if b { b"true" } else { b"false" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(Num::micro(117_020_000).as_bytes(), b"117.020000");
        assert_eq!(Num::micro(-5).as_bytes(), b"-0.000005");
        assert_eq!(Num::micro(36_000_123).as_bytes(), b"36.000123");
        assert_eq!(Num::id("T", 42, 7).as_bytes(), b"T0000042");
        assert_eq!(Num::id("E", 12_345_678, 6).as_bytes(), b"E12345678");
        assert_eq!(Num::uint(0).as_bytes(), b"0");
        assert_eq!(id_width(4_000_000, 7), 7);
        assert_eq!(id_width(40_000_000, 7), 8);
    }
}
