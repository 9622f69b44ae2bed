//! Import errors. Every message says what was wrong, where (file, line,
//! column or JSON path) and what is accepted.

use std::fmt;
use std::path::PathBuf;

use crate::store::StoreError;

/// One invalid value in an input file (or, in an import summary, one
/// warning about a value that was imported).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    pub file: String,
    /// 1-based physical line of the file on which the value starts (LF, CRLF
    /// and CR line ends all count); 0 for GeoJSON errors located by path.
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
    #[error("{}: invalid header row ({} problem{}); nothing was imported{}", file, errors.len(), if errors.len() == 1 { "" } else { "s" }, errors.first().map(|e| format!(": {}", e.message)).unwrap_or_default())]
    Header { file: String, errors: Vec<RowError> },
    #[error("{} invalid value{} in {file}; nothing was imported", total, if *total == 1 { "" } else { "s" })]
    Invalid { file: String, errors: Vec<RowError>, total: u64 },
    #[error("{file}: {message}; nothing was imported")]
    Integrity { file: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{file}: {source}")]
    Database { file: String, source: crate::store::db::Error },
}

impl ImportError {
    /// The individual value errors, if this is a validation failure.
    pub fn row_errors(&self) -> &[RowError] {
        match self {
            ImportError::Invalid { errors, .. } | ImportError::Header { errors, .. } => errors,
            _ => &[],
        }
    }

    /// Whether the file itself is at fault (invalid data: a header, a value or
    /// a reference), as opposed to the system (a file that cannot be read, a
    /// database that cannot be written).
    pub fn is_invalid_data(&self) -> bool {
        matches!(self, ImportError::Header { .. } | ImportError::Invalid { .. } | ImportError::Integrity { .. })
    }

    /// The process exit status for this error: 1 for invalid data, 2 for
    /// usage or system errors.
    pub fn exit_code(&self) -> i32 {
        if self.is_invalid_data() { 1 } else { 2 }
    }
}

impl From<crate::store::db::Error> for ImportError {
    fn from(e: crate::store::db::Error) -> Self {
        ImportError::Store(StoreError::Sql(e))
    }
}

/// Writes errors and warnings as CSV
/// (`file,line,column,field,value,message,level`, level `error` or `warning`).
pub fn write_report(path: &std::path::Path, errors: &[RowError], warnings: &[RowError]) -> Result<(), ImportError> {
    let io = |source| ImportError::Io { path: path.to_path_buf(), source };
    let mut w = csv::Writer::from_path(path).map_err(|e| io(e.into()))?;
    w.write_record(["file", "line", "column", "field", "value", "message", "level"]).map_err(|e| io(e.into()))?;
    let tagged = errors.iter().map(|e| (e, "error")).chain(warnings.iter().map(|e| (e, "warning")));
    for (e, level) in tagged {
        w.write_record([&e.file, &e.line.to_string(), &e.column.to_string(), &e.field, &e.value, &e.message, level])
            .map_err(|e| io(e.into()))?;
    }
    w.flush().map_err(io)
}
