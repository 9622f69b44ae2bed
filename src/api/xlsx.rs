//! XLSX exports: tables written as worksheets with rust_xlsxwriter (a bold,
//! frozen header row and columns sized to their text), answered as a
//! download. Every XLSX route is an export (`Access::Export`).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use rust_xlsxwriter::{Format, Workbook, XlsxError};

use super::ApiError;

/// The media type of CSV downloads.
pub const CSV_CONTENT_TYPE: &str = "text/csv; charset=utf-8";

/// The media type of an XLSX workbook.
pub const CONTENT_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    Empty,
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}

impl From<Option<f64>> for Cell {
    fn from(v: Option<f64>) -> Cell {
        v.filter(|x| x.is_finite()).map_or(Cell::Empty, Cell::Number)
    }
}

/// A worksheet: its name (at most 31 characters, as Excel requires), the
/// header row and the rows.
pub struct Sheet {
    pub name: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// The workbook's bytes.
pub fn workbook(sheets: &[Sheet]) -> Result<Vec<u8>, ApiError> {
    let internal = |e: XlsxError| ApiError::Internal(format!("xlsx: {e}"));
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    for sheet in sheets {
        let ws = book.add_worksheet();
        let name: String = sheet.name.chars().take(31).collect();
        ws.set_name(name).map_err(internal)?;
        let mut widths: Vec<usize> = sheet.header.iter().map(|h| display_width(h)).collect();
        for (c, h) in sheet.header.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, h, &bold).map_err(internal)?;
        }
        for (r, row) in sheet.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, cell) in row.iter().enumerate() {
                let col = c as u16;
                let width = match cell {
                    Cell::Text(s) => {
                        ws.write_string(r, col, s).map_err(internal)?;
                        display_width(s)
                    }
                    Cell::Number(x) => {
                        ws.write_number(r, col, *x).map_err(internal)?;
                        format!("{x}").len()
                    }
                    Cell::Empty => 0,
                };
                if widths.len() <= c {
                    widths.resize(c + 1, 0);
                }
                widths[c] = widths[c].max(width);
            }
        }
        for (c, w) in widths.iter().enumerate() {
            ws.set_column_width(c as u16, (*w as f64 + 2.0).clamp(6.0, 80.0)).map_err(internal)?;
        }
        ws.set_freeze_panes(1, 0).map_err(internal)?;
    }
    book.save_to_buffer().map_err(internal)
}

/// Columns a text takes: Han and other wide characters count two.
fn display_width(s: &str) -> usize {
    s.chars().map(|c| if (c as u32) >= 0x2E80 { 2 } else { 1 }).sum()
}

/// A workbook as a download named `filename`.
pub fn response(bytes: Vec<u8>, filename: &str) -> Response {
    download(bytes, CONTENT_TYPE, filename)
}

/// `bytes` of media type `content_type` as a download named `filename`
/// (every export: workbooks, CSV, GeoJSON).
pub fn download(bytes: Vec<u8>, content_type: &'static str, filename: &str) -> Response {
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}
