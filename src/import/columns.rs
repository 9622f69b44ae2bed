//! Reading one CSV record: header mapping (any column order, unknown or
//! missing columns rejected) and typed field parsers that record a
//! [`RowError`] with line and column for every bad value.

use std::collections::HashMap;

use crate::model::{Date, LonLat, ParseEnumError, validate_id};

use super::error::RowError;

/// Column positions of one file, from its header.
pub struct Columns {
    index: HashMap<&'static str, usize>,
}

/// One thing wrong with a header row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderProblem {
    /// 1-based column number; 0 for a required column that is missing.
    pub column: usize,
    /// The column name as written (for a missing column: the required name).
    pub name: String,
    /// What is wrong and what is accepted.
    pub message: String,
}

impl Columns {
    /// Maps the header. `required` and `optional` list accepted names. Every
    /// problem is returned, not only the first.
    pub fn from_header(
        header: &csv::StringRecord,
        required: &[&'static str],
        optional: &[&'static str],
    ) -> Result<Columns, Vec<HeaderProblem>> {
        let accepted = || required.iter().chain(optional).copied().collect::<Vec<_>>().join(", ");
        let mut index = HashMap::new();
        let mut problems = Vec::new();
        for (i, raw) in header.iter().enumerate() {
            let name = raw.trim().trim_start_matches('\u{feff}');
            let Some(known) = required.iter().chain(optional).find(|k| **k == name) else {
                problems.push(HeaderProblem {
                    column: i + 1,
                    name: name.to_string(),
                    message: format!("unknown column '{name}' (column {}); accepted columns: {}", i + 1, accepted()),
                });
                continue;
            };
            if let Some(first) = index.insert(*known, i) {
                index.insert(*known, first);
                problems.push(HeaderProblem {
                    column: i + 1,
                    name: name.to_string(),
                    message: format!(
                        "column '{name}' appears twice (columns {} and {}); each column may appear once",
                        first + 1,
                        i + 1
                    ),
                });
            }
        }
        for name in required.iter().filter(|r| !index.contains_key(*r)) {
            problems.push(HeaderProblem {
                column: 0,
                name: name.to_string(),
                message: format!("missing required column '{name}'; required columns: {}", required.join(", ")),
            });
        }
        if problems.is_empty() { Ok(Columns { index }) } else { Err(problems) }
    }
}

/// One record being parsed; collects errors instead of stopping at the first.
pub struct Row<'a> {
    pub file: &'a str,
    /// Line of the record (where its first field starts).
    pub line: u64,
    /// Line on which each field starts, when known (a quoted value may hold
    /// line breaks, so later fields can sit on later lines).
    field_lines: &'a [u64],
    record: &'a csv::StringRecord,
    columns: &'a Columns,
    pub errors: Vec<RowError>,
}

impl<'a> Row<'a> {
    pub fn new(file: &'a str, line: u64, record: &'a csv::StringRecord, columns: &'a Columns) -> Row<'a> {
        Row { file, line, field_lines: &[], record, columns, errors: Vec::new() }
    }

    /// A record whose fields start on the given physical lines.
    pub fn with_lines(
        file: &'a str,
        line: u64,
        field_lines: &'a [u64],
        record: &'a csv::StringRecord,
        columns: &'a Columns,
    ) -> Row<'a> {
        Row { file, line, field_lines, record, columns, errors: Vec::new() }
    }

    /// 1-based column number and physical line of a column.
    pub fn locate(&self, name: &str) -> (usize, u64) {
        match self.columns.index.get(name) {
            Some(&i) => (i + 1, self.field_lines.get(i).copied().unwrap_or(self.line)),
            None => (0, self.line),
        }
    }

    /// Raw trimmed text of a column; `None` when the column is absent or empty.
    pub fn text(&self, name: &str) -> Option<&'a str> {
        let i = *self.columns.index.get(name)?;
        let v = self.record.get(i)?.trim();
        (!v.is_empty()).then_some(v)
    }

    /// Records an error against a column.
    pub fn fail(&mut self, name: &str, value: &str, message: impl Into<String>) {
        let (column, line) = self.locate(name);
        self.errors.push(RowError {
            file: self.file.to_string(),
            line,
            column,
            field: name.to_string(),
            value: value.to_string(),
            message: message.into(),
        });
    }

    /// A required value parsed by `parse`, or an error recorded.
    pub fn required<T>(&mut self, name: &str, parse: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
        match self.text(name) {
            None => {
                self.fail(name, "", "a value is required");
                None
            }
            Some(v) => self.parsed(name, v, parse),
        }
    }

    /// An optional value: `Ok(None)` when empty, `Err(())` when invalid.
    pub fn optional<T>(&mut self, name: &str, parse: impl FnOnce(&str) -> Result<T, String>) -> Result<Option<T>, ()> {
        match self.text(name) {
            None => Ok(None),
            Some(v) => self.parsed(name, v, parse).map(Some).ok_or(()),
        }
    }

    fn parsed<T>(&mut self, name: &str, v: &str, parse: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
        match parse(v) {
            Ok(t) => Some(t),
            Err(message) => {
                self.fail(name, v, message);
                None
            }
        }
    }

    /// Optional lon/lat pair given as two columns: both or neither.
    pub fn optional_point(&mut self, lon: &str, lat: &str) -> Result<Option<LonLat>, ()> {
        match (self.text(lon), self.text(lat)) {
            (None, None) => Ok(None),
            (Some(_), Some(_)) => self.point(lon, lat).map(Some).ok_or(()),
            (Some(v), None) => {
                self.fail(lat, "", format!("{lat} is required when {lon} is given ({v}): give both or neither"));
                Err(())
            }
            (None, Some(v)) => {
                self.fail(lon, "", format!("{lon} is required when {lat} is given ({v}): give both or neither"));
                Err(())
            }
        }
    }

    /// Required lon/lat pair.
    pub fn point(&mut self, lon: &str, lat: &str) -> Option<LonLat> {
        let x = self.required(lon, parse_lon);
        let y = self.required(lat, parse_lat);
        Some(LonLat::new(x?, y?))
    }
}

pub fn parse_id(v: &str) -> Result<String, String> {
    validate_id(v).map(|_| v.to_string())
}

pub fn parse_lon(v: &str) -> Result<f64, String> {
    parse_range(v, -180.0, 180.0, "longitude in decimal degrees")
}

pub fn parse_lat(v: &str) -> Result<f64, String> {
    parse_range(v, -LonLat::MAX_LAT, LonLat::MAX_LAT, "latitude in decimal degrees")
}

fn parse_range(v: &str, min: f64, max: f64, what: &str) -> Result<f64, String> {
    match v.parse::<f64>() {
        Ok(x) if x.is_finite() && (min..=max).contains(&x) => Ok(x),
        Ok(_) => Err(format!("out of range: expected a {what} in [{min}, {max}]")),
        Err(_) => Err(format!("not a number: expected a {what} in [{min}, {max}]")),
    }
}

/// An integer in `min..=max`.
pub fn parse_int(min: i64, max: i64) -> impl Fn(&str) -> Result<i64, String> {
    move |v| match v.parse::<i64>() {
        Ok(x) if (min..=max).contains(&x) => Ok(x),
        Ok(_) => Err(format!("out of range: expected an integer in {min}..={max}")),
        Err(_) => Err(format!("not an integer: expected an integer in {min}..={max}")),
    }
}

pub fn parse_bool(v: &str) -> Result<bool, String> {
    match v {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

pub fn parse_date(v: &str) -> Result<Date, String> {
    Date::parse(v).ok_or_else(|| "expected a calendar date as YYYY-MM-DD".to_string())
}

/// Parser for a closed vocabulary (education, title, …).
pub fn parse_enum<T: std::str::FromStr<Err = ParseEnumError>>(v: &str) -> Result<T, String> {
    v.parse::<T>().map_err(|e| format!("accepted values: {}", e.accepted))
}

/// A free-text value of at most `max` characters.
pub fn parse_text(max: usize) -> impl Fn(&str) -> Result<String, String> {
    move |v| {
        if v.chars().count() > max {
            Err(format!("too long: at most {max} characters"))
        } else if v.chars().any(char::is_control) {
            Err("control characters are not allowed".into())
        } else {
            Ok(v.to_string())
        }
    }
}
