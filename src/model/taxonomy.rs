//! Code tables: GB/T 4754-2017 industry divisions, the degree catalogue's
//! first-level disciplines, and the city's industry chains.
//!
//! The tables ship as CSV in `fixtures/` (see `fixtures/taxonomy/README.md`
//! for their sources) and are compiled into the binary, so the service needs
//! no files to start. Industry chains are configuration: a deployment may
//! replace them with a `chains.csv` of its own in the data directory.
//!
//! In the snapshot, industries and fields are referred to by their position in
//! these tables (`u8`), which keeps per-record memory small.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

const INDUSTRIES: &str = include_str!("../../fixtures/taxonomy/industries.csv");
const SECTIONS: &str = include_str!("../../fixtures/taxonomy/sections.csv");
const FIELDS: &str = include_str!("../../fixtures/taxonomy/fields.csv");
const CATEGORIES: &str = include_str!("../../fixtures/taxonomy/categories.csv");
const CHAINS: &str = include_str!("../../fixtures/chains.csv");

/// A problem in a code table file.
#[derive(Debug, thiserror::Error)]
pub enum TaxonomyError {
    #[error("{file}:{line}: {message}")]
    Invalid { file: String, line: u64, message: String },
    #[error("{file}: {source}")]
    Io { file: String, source: std::io::Error },
}

/// One row of a code table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeEntry {
    pub code: String,
    /// The section letter (industries) or category code (fields).
    pub group: String,
    pub name_zh: String,
    pub name_en: String,
}

/// An industry chain (产业链): a named set of divisions the city promotes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chain {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    pub divisions: Vec<String>,
}

/// All code tables, with lookups from code to compact index.
#[derive(Debug, Clone)]
pub struct Taxonomy {
    industries: Vec<CodeEntry>,
    sections: Vec<CodeEntry>,
    fields: Vec<CodeEntry>,
    categories: Vec<CodeEntry>,
    chains: Vec<Chain>,
    industry_index: HashMap<String, u8>,
    field_index: HashMap<String, u8>,
}

impl Taxonomy {
    /// The tables compiled into the binary, with the example chains.
    pub fn builtin() -> Taxonomy {
        // The embedded tables are checked by the tests below; failing here
        // would mean the binary itself was built from broken fixtures.
        match Self::from_sources(CHAINS, "fixtures/chains.csv") {
            Ok(t) => t,
            Err(e) => panic!("embedded code tables are invalid: {e}"),
        }
    }

    /// The builtin tables with the chains from `path` when that file exists.
    pub fn with_chains_file(path: &Path) -> Result<Taxonomy, TaxonomyError> {
        if !path.exists() {
            return Ok(Self::builtin());
        }
        let text = std::fs::read_to_string(path)
            .map_err(|source| TaxonomyError::Io { file: path.display().to_string(), source })?;
        Self::from_sources(&text, &path.display().to_string())
    }

    fn from_sources(chains_csv: &str, chains_file: &str) -> Result<Taxonomy, TaxonomyError> {
        let industries =
            read_table(INDUSTRIES, "fixtures/taxonomy/industries.csv", &["code", "section", "name_zh", "name_en"])?;
        let sections = read_table(SECTIONS, "fixtures/taxonomy/sections.csv", &["code", "name_zh", "name_en"])?;
        let fields = read_table(FIELDS, "fixtures/taxonomy/fields.csv", &["code", "category", "name_zh", "name_en"])?;
        let categories = read_table(CATEGORIES, "fixtures/taxonomy/categories.csv", &["code", "name_zh", "name_en"])?;
        let industry_index = index_of(&industries, "fixtures/taxonomy/industries.csv")?;
        let field_index = index_of(&fields, "fixtures/taxonomy/fields.csv")?;
        let mut chains = Vec::new();
        for (line, row) in read_rows(chains_csv, chains_file, &["id", "name_zh", "name_en", "divisions"])? {
            let invalid = |message: String| TaxonomyError::Invalid { file: chains_file.to_string(), line, message };
            let divisions: Vec<String> = row[3].split_whitespace().map(str::to_string).collect();
            if divisions.is_empty() {
                return Err(invalid("a chain needs at least one division".into()));
            }
            if let Some(bad) = divisions.iter().find(|d| !industry_index.contains_key(*d)) {
                return Err(invalid(format!("division '{bad}' is not a GB/T 4754-2017 division code")));
            }
            if let Err(e) = super::validate_id(&row[0]) {
                return Err(invalid(e));
            }
            if industry_index.contains_key(&row[0]) {
                return Err(invalid(format!("chain id '{}' collides with a division code", row[0])));
            }
            if chains.iter().any(|c: &Chain| c.id == row[0]) {
                return Err(invalid(format!("duplicate chain id '{}'", row[0])));
            }
            chains.push(Chain { id: row[0].clone(), name_zh: row[1].clone(), name_en: row[2].clone(), divisions });
        }
        Ok(Taxonomy { industries, sections, fields, categories, chains, industry_index, field_index })
    }

    pub fn industries(&self) -> &[CodeEntry] {
        &self.industries
    }
    pub fn sections(&self) -> &[CodeEntry] {
        &self.sections
    }
    pub fn fields(&self) -> &[CodeEntry] {
        &self.fields
    }
    pub fn categories(&self) -> &[CodeEntry] {
        &self.categories
    }
    pub fn chains(&self) -> &[Chain] {
        &self.chains
    }

    /// Compact index of a division code such as `"39"`.
    pub fn industry_index(&self, code: &str) -> Option<u8> {
        self.industry_index.get(code).copied()
    }

    /// Compact index of a discipline code such as `"0812"`.
    pub fn field_index(&self, code: &str) -> Option<u8> {
        self.field_index.get(code).copied()
    }

    pub fn industry(&self, index: u8) -> Option<&CodeEntry> {
        self.industries.get(index as usize)
    }

    pub fn field(&self, index: u8) -> Option<&CodeEntry> {
        self.fields.get(index as usize)
    }

    pub fn chain(&self, id: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.id == id)
    }

    /// Division indices of an industry filter value: a division code or a
    /// chain id.
    pub fn resolve_industry(&self, value: &str) -> Option<Vec<u8>> {
        if let Some(i) = self.industry_index(value) {
            return Some(vec![i]);
        }
        let chain = self.chain(value)?;
        Some(chain.divisions.iter().filter_map(|d| self.industry_index(d)).collect())
    }
}

fn index_of(entries: &[CodeEntry], file: &str) -> Result<HashMap<String, u8>, TaxonomyError> {
    if entries.len() > u8::MAX as usize {
        return Err(TaxonomyError::Invalid { file: file.into(), line: 0, message: "more than 255 codes".into() });
    }
    let mut map = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        if map.insert(e.code.clone(), i as u8).is_some() {
            return Err(TaxonomyError::Invalid {
                file: file.into(),
                line: i as u64 + 2,
                message: format!("duplicate code '{}'", e.code),
            });
        }
    }
    Ok(map)
}

fn read_table(text: &str, file: &str, header: &[&str]) -> Result<Vec<CodeEntry>, TaxonomyError> {
    let grouped = header.len() == 4;
    Ok(read_rows(text, file, header)?
        .into_iter()
        .map(|(_, r)| {
            let (group, zh, en) = if grouped {
                (r[1].clone(), r[2].clone(), r[3].clone())
            } else {
                (String::new(), r[1].clone(), r[2].clone())
            };
            CodeEntry { code: r[0].clone(), group, name_zh: zh, name_en: en }
        })
        .collect())
}

fn read_rows(text: &str, file: &str, header: &[&str]) -> Result<Vec<(u64, Vec<String>)>, TaxonomyError> {
    let mut reader = csv::ReaderBuilder::new().from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let invalid = |line: u64, message: String| TaxonomyError::Invalid { file: file.to_string(), line, message };
    let found = reader.headers().map_err(|e| invalid(1, e.to_string()))?.clone();
    let positions: Vec<usize> = header
        .iter()
        .map(|h| found.iter().position(|f| f == *h).ok_or_else(|| invalid(1, format!("missing column '{h}'"))))
        .collect::<Result<_, _>>()?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| invalid(e.position().map_or(0, |p| p.line()), e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        rows.push((line, positions.iter().map(|&i| record.get(i).unwrap_or("").trim().to_string()).collect()));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_tables_are_complete() {
        let t = Taxonomy::builtin();
        assert_eq!(t.industries().len(), 97, "GB/T 4754-2017 has 97 divisions");
        assert_eq!(t.sections().len(), 20);
        assert_eq!(t.categories().len(), 14);
        assert!(t.fields().len() > 100);
        assert_eq!(t.field(t.field_index("0812").unwrap()).unwrap().name_zh, "计算机科学与技术");
        assert!(t.field_index("1401").is_some(), "interdisciplinary category 14 is present");
        assert_eq!(t.industry(t.industry_index("65").unwrap()).unwrap().group, "I");
        for f in t.fields() {
            assert!(t.categories().iter().any(|c| c.code == f.group), "field {} has a known category", f.code);
        }
        for i in t.industries() {
            assert!(t.sections().iter().any(|s| s.code == i.group), "division {} has a known section", i.code);
        }
        assert!(!t.chains().is_empty());
    }

    #[test]
    fn industry_filter_resolves_codes_and_chains() {
        let t = Taxonomy::builtin();
        assert_eq!(t.resolve_industry("39"), Some(vec![t.industry_index("39").unwrap()]));
        let chain = &t.chains()[0];
        assert_eq!(t.resolve_industry(&chain.id).unwrap().len(), chain.divisions.len());
        assert_eq!(t.resolve_industry("nope"), None);
    }

    #[test]
    fn chain_file_errors_name_the_line() {
        let err =
            Taxonomy::from_sources("id,name_zh,name_en,divisions\nok,好,Good,39\nbad,坏,Bad,39 00\n", "chains.csv")
                .unwrap_err();
        assert_eq!(err.to_string(), "chains.csv:3: division '00' is not a GB/T 4754-2017 division code");
    }
}
