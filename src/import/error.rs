//! Import errors. Every message says what was wrong, where (file, line,
//! column or JSON path) and what is accepted.

use std::fmt;
use std::path::PathBuf;

use crate::store::StoreError;

/// One invalid value in an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub file: String,
    /// 1-based line of the record (the header is line 1).
    pub line: u64,
    /// 1-based column number; 0 when the problem concerns the whole record.
    pub column: usize,
    /// Column name or JSON path.
    pub field: String,
    pub value: String,
    /// What is wrong and what is accepted.
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.field)?;
        if !self.value.is_empty() {
            write!(f, " = {:?}", truncate(&self.value, 80))?;
        }
        write!(f, ": {}", self.message)
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_string() } else { format!("{}…", s.chars().take(max).collect::<String>()) }
}

/// Why an import did not happen. In every case the store is unchanged.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{file}:1: {message}")]
    Header { file: String, message: String },
    #[error("{} invalid value{} in {file}; nothing was imported", total, if *total == 1 { "" } else { "s" })]
    Invalid { file: String, errors: Vec<RowError>, total: u64 },
    #[error("{file}: {message}; nothing was imported")]
    Integrity { file: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{file}: {source}")]
    Database { file: String, source: rusqlite::Error },
}

impl ImportError {
    /// The individual value errors, if this is a validation failure.
    pub fn row_errors(&self) -> &[RowError] {
        match self {
            ImportError::Invalid { errors, .. } => errors,
            _ => &[],
        }
    }
}

impl From<rusqlite::Error> for ImportError {
    fn from(e: rusqlite::Error) -> Self {
        ImportError::Store(StoreError::Sql(e))
    }
}

/// Writes all value errors as CSV (`file,line,column,field,value,message`).
pub fn write_report(path: &std::path::Path, errors: &[RowError]) -> Result<(), ImportError> {
    let io = |source| ImportError::Io { path: path.to_path_buf(), source };
    let mut w = csv::Writer::from_path(path).map_err(|e| io(e.into()))?;
    w.write_record(["file", "line", "column", "field", "value", "message"]).map_err(|e| io(e.into()))?;
    for e in errors {
        w.write_record([&e.file, &e.line.to_string(), &e.column.to_string(), &e.field, &e.value, &e.message])
            .map_err(|e| io(e.into()))?;
    }
    w.flush().map_err(io)
}
