//! Physical line numbers of CSV records and fields.
//!
//! The csv crate counts lines by `\n` only and notes a record's line before
//! it has skipped the `\n` of the previous record's CRLF, so with CRLF line
//! ends every record was reported one line too early, a CR-only file was one
//! long line, and a field after a quoted value holding a newline was reported
//! on the line where its record starts. Here the raw bytes the csv reader
//! consumes pass through [`TrackedReader`], and [`LineTracker::record`]
//! re-scans each record's bytes with the csv reader's own quoting rules
//! (RFC 4180: `"` opens a quoted field only at the field's start, `""` inside
//! it is a quote) to find the physical line on which every field starts.
//! A line ends at `\n`, `\r\n` or a lone `\r`.
//!
//! Only the bytes of the record being read and the csv reader's read-ahead
//! are kept, so memory does not grow with the file.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read};
use std::rc::Rc;

/// The raw bytes not yet located, and where they start.
#[derive(Debug)]
struct Window {
    bytes: VecDeque<u8>,
    /// File offset of `bytes[0]`.
    offset: u64,
    /// Physical line (1-based) of `bytes[0]`.
    line: u64,
    /// The byte before `bytes[0]` was a `\r` (so a `\n` there ends no line).
    after_cr: bool,
}

impl Window {
    /// Moves the window's start to `to`, counting the line ends passed.
    fn advance(&mut self, to: u64) {
        while self.offset < to {
            let Some(b) = self.bytes.pop_front() else {
                // The csv reader never reports a position it has not read.
                self.offset = to;
                return;
            };
            step(b, &mut self.line, &mut self.after_cr);
            self.offset += 1;
        }
    }
}

/// Counts a line end at `b`: `\r` ends a line, `\n` ends one unless it
/// completes a `\r\n`.
fn step(b: u8, line: &mut u64, after_cr: &mut bool) {
    match b {
        b'\r' => {
            *line += 1;
            *after_cr = true;
        }
        b'\n' => {
            if !*after_cr {
                *line += 1;
            }
            *after_cr = false;
        }
        _ => *after_cr = false,
    }
}

/// A reader that keeps a copy of what passes through for [`LineTracker`].
pub struct TrackedReader<R> {
    inner: R,
    window: Rc<RefCell<Window>>,
}

impl<R: Read> Read for TrackedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.window.borrow_mut().bytes.extend(&buf[..n]);
        Ok(n)
    }
}

/// Locates records read through the paired [`TrackedReader`].
pub struct LineTracker {
    window: Rc<RefCell<Window>>,
}

/// Wraps `inner`; give the reader to the csv reader and keep the tracker.
pub fn track<R: Read>(inner: R) -> (TrackedReader<R>, LineTracker) {
    let window = Rc::new(RefCell::new(Window { bytes: VecDeque::new(), offset: 0, line: 1, after_cr: false }));
    (TrackedReader { inner, window: window.clone() }, LineTracker { window })
}

/// The physical lines of one record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordLines {
    /// Line on which the record's first field starts.
    pub first: u64,
    /// Line on which each field starts.
    pub fields: Vec<u64>,
}

impl RecordLines {
    /// Line of field `i` (0-based); the record's line when unknown.
    pub fn field(&self, i: usize) -> u64 {
        self.fields.get(i).copied().unwrap_or(self.first)
    }
}

impl LineTracker {
    /// Locates the record the csv reader has just read: it started at byte
    /// `start` (the record's `position().byte()`), the reader now stands at
    /// `end`, and the record has `fields` fields. Bytes before `end` are then
    /// forgotten, so records must be located in order.
    pub fn record(&self, start: u64, end: u64, fields: usize) -> RecordLines {
        let mut w = self.window.borrow_mut();
        w.advance(start);
        let out = locate(&w, end, fields);
        w.advance(end);
        out
    }
}

/// Scans one record from the window's start (see the module doc).
fn locate(w: &Window, end: u64, fields: usize) -> RecordLines {
    #[derive(PartialEq)]
    enum State {
        /// Before the first field: skipping blank lines and the `\n` of a CRLF.
        Lead,
        FieldStart,
        Unquoted,
        Quoted,
        /// Just after a `"` inside a quoted field: `""` or the closing quote.
        QuoteInQuoted,
    }
    let (mut line, mut after_cr) = (w.line, w.after_cr);
    let mut out = RecordLines { first: line, fields: Vec::with_capacity(fields) };
    let mut state = State::Lead;
    let len = usize::try_from(end.saturating_sub(w.offset)).unwrap_or(usize::MAX).min(w.bytes.len());
    // csv strips a byte-order mark at the start of the file.
    let skip = if w.offset == 0 && w.bytes.range(..3.min(w.bytes.len())).eq(b"\xef\xbb\xbf".iter()) { 3 } else { 0 };
    for &b in w.bytes.range(skip.min(len)..len) {
        if state == State::Lead {
            if b == b'\r' || b == b'\n' {
                step(b, &mut line, &mut after_cr);
                continue;
            }
            out.first = line;
            state = State::FieldStart;
        }
        if state == State::FieldStart {
            if out.fields.len() == fields {
                break;
            }
            out.fields.push(line);
            state = State::Unquoted;
            if b == b'"' {
                state = State::Quoted;
                step(b, &mut line, &mut after_cr);
                continue;
            }
        }
        let terminator = b == b'\r' || b == b'\n';
        match state {
            State::Quoted => {
                if b == b'"' {
                    state = State::QuoteInQuoted;
                }
            }
            State::QuoteInQuoted if b == b'"' => state = State::Quoted,
            State::Unquoted | State::QuoteInQuoted => {
                if b == b',' {
                    state = State::FieldStart;
                } else if terminator {
                    break;
                } else {
                    state = State::Unquoted;
                }
            }
            State::Lead | State::FieldStart => {}
        }
        step(b, &mut line, &mut after_cr);
    }
    // An empty last field (`a,` at the end of the file) starts where the
    // scan stopped.
    if state == State::FieldStart && out.fields.len() < fields {
        out.fields.push(line);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// (record line, field lines) of every record of `text`, as the importer
    /// reads it.
    fn lines_of(text: &[u8]) -> Vec<(u64, Vec<u64>)> {
        let (reader, tracker) = track(text);
        let mut csv =
            csv::ReaderBuilder::new().has_headers(false).flexible(true).buffer_capacity(7).from_reader(reader);
        let mut record = csv::ByteRecord::new();
        let mut out = Vec::new();
        while csv.read_byte_record(&mut record).unwrap() {
            let start = record.position().unwrap().byte();
            let located = tracker.record(start, csv.position().byte(), record.len());
            out.push((located.first, (0..record.len()).map(|i| located.field(i)).collect()));
        }
        out
    }

    #[test]
    fn lf_crlf_and_cr_give_the_same_lines() {
        for eol in ["\n", "\r\n", "\r"] {
            let text = ["a,b", "1,2", "3,4", ""].join(eol);
            assert_eq!(
                lines_of(text.as_bytes()),
                vec![(1, vec![1, 1]), (2, vec![2, 2]), (3, vec![3, 3])],
                "line end {eol:?}"
            );
        }
    }

    #[test]
    fn quoted_newlines_move_the_following_fields() {
        for eol in ["\n", "\r\n", "\r"] {
            let text = format!("a,b,c{eol}\"x{eol}y\",\"p\"\"{eol}{eol}q\",z{eol}1,2,3{eol}");
            assert_eq!(
                lines_of(text.as_bytes()),
                vec![(1, vec![1, 1, 1]), (2, vec![2, 3, 5]), (6, vec![6, 6, 6])],
                "line end {eol:?}"
            );
        }
    }

    #[test]
    fn blank_lines_bom_and_empty_last_field() {
        let text = "\u{feff}\"a\",b\n\n\r\n1,\n2,\"\"";
        assert_eq!(lines_of(text.as_bytes()), vec![(1, vec![1, 1]), (4, vec![4, 4]), (5, vec![5, 5])]);
    }

    #[test]
    fn a_quote_inside_an_unquoted_field_is_a_character() {
        let text = "a,b\nx\"y,\"z\nw\"\n";
        // csv reads `x"y` and a quoted field running over the line end.
        assert_eq!(lines_of(text.as_bytes()), vec![(1, vec![1, 1]), (2, vec![2, 2])]);
    }

    /// Random files built from known records, with line ends mixed at
    /// random (LF, CRLF, CR), quoted fields holding delimiters, quotes and
    /// line ends, and blank lines between records: every field's line must
    /// be the number of physical line ends before its first byte, plus one.
    #[test]
    fn random_files_agree_with_a_count_of_line_ends() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        for _ in 0..3000 {
            let mut bytes: Vec<u8> = Vec::new();
            let mut expected: Vec<(u64, Vec<u64>)> = Vec::new();
            let line_at = |bytes: &[u8]| -> u64 {
                let (mut line, mut after_cr) = (1, false);
                bytes.iter().for_each(|&b| step(b, &mut line, &mut after_cr));
                line
            };
            for _ in 0..1 + next(6) {
                let mut fields = Vec::new();
                for f in 0..1 + next(4) {
                    if f > 0 {
                        bytes.push(b',');
                    }
                    fields.push(line_at(&bytes));
                    if next(2) == 0 {
                        // Unquoted, never empty as the first field (an empty
                        // record is a blank line, which csv skips).
                        for _ in 0..u64::from(f == 0) + next(4) {
                            bytes.push(b"ab9 "[next(4) as usize]);
                        }
                    } else {
                        bytes.push(b'"');
                        for _ in 0..next(6) {
                            let piece: &[u8] = [&b"x"[..], b",", b"\"\"", b"\n", b"\r\n", b"\r"][next(6) as usize];
                            bytes.extend_from_slice(piece);
                        }
                        bytes.push(b'"');
                    }
                }
                expected.push((fields[0], fields));
                for _ in 0..1 + next(2) {
                    bytes.extend_from_slice([&b"\n"[..], b"\r\n", b"\r"][next(3) as usize]);
                }
            }
            assert_eq!(lines_of(&bytes), expected, "{:?}", String::from_utf8_lossy(&bytes));
        }
    }
}
