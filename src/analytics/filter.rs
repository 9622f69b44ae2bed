//! Record filters from the query string: `industry` (division codes or
//! industry chain ids), `field`, `education`, `title`, `tier`, `min_age`,
//! `max_age`, `seeking`, each a comma-separated list (ages and `seeking` take
//! one value).
//!
//! Which filters apply to which records:
//! - talents: all of them (`industry` = their employer's industry);
//! - vacancies: `industry`, `field`, `education`, `title` (the demand side);
//! - enterprises: `industry`.
//!
//! Filters that do not apply to a layer are accepted and ignored, so one
//! filter state can drive every layer of the map.

use std::collections::BTreeMap;

use crate::model::{Education, ParseEnumError, Taxonomy, Tier, Title};
use crate::snapshot::{EnterpriseRec, TalentRec, VacancyRec};

/// The query parameters that are filters.
pub const FILTER_PARAMS: [&str; 8] =
    ["industry", "field", "education", "title", "tier", "min_age", "max_age", "seeking"];

/// A filter parameter that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub param: &'static str,
    pub message: String,
}

/// A set of small integers (code-table indices).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Bits([u64; 4]);

impl Bits {
    fn insert(&mut self, i: u8) {
        self.0[(i >> 6) as usize] |= 1 << (i & 63);
    }
    #[inline]
    fn contains(&self, i: u8) -> bool {
        self.0[(i >> 6) as usize] & (1 << (i & 63)) != 0
    }
}

/// A parsed filter. `None` members do not restrict.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    industries: Option<Bits>,
    fields: Option<Bits>,
    education: Option<u8>,
    title: Option<u8>,
    tier: Option<u8>,
    /// Inclusive birth-year range from the age bounds.
    birth_years: Option<(u16, u16)>,
    seeking: Option<bool>,
    /// Canonical form, for cache keys and ETags.
    canonical: String,
}

fn enum_mask<T: std::str::FromStr<Err = ParseEnumError>>(
    param: &'static str,
    value: &str,
    index: impl Fn(T) -> u8,
) -> Result<u8, FilterError> {
    let mut mask = 0u8;
    for v in value.split(',').map(str::trim).filter(|v| !v.is_empty()) {
        let parsed = v
            .parse::<T>()
            .map_err(|e| FilterError { param, message: format!("unknown value '{v}'; accepted: {}", e.accepted) })?;
        mask |= 1 << index(parsed);
    }
    if mask == 0 {
        return Err(FilterError { param, message: "empty list".into() });
    }
    Ok(mask)
}

impl Filter {
    /// Parses the filter parameters of a query; other parameters are left to
    /// the caller. `reference_year` turns ages into birth years.
    pub fn parse(
        query: &BTreeMap<String, String>,
        taxonomy: &Taxonomy,
        reference_year: u16,
    ) -> Result<Filter, FilterError> {
        let mut f = Filter::default();
        let mut canonical = Vec::new();
        if let Some(v) = query.get("industry") {
            let mut bits = Bits::default();
            let mut any = false;
            for code in v.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                let found = taxonomy.resolve_industry(code).ok_or_else(|| FilterError {
                    param: "industry",
                    message: format!(
                        "unknown value '{code}'; accepted: GB/T 4754-2017 division codes (01-97) or an industry chain id ({})",
                        taxonomy.chains().iter().map(|c| c.id.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                })?;
                found.into_iter().for_each(|i| bits.insert(i));
                any = true;
            }
            if !any {
                return Err(FilterError { param: "industry", message: "empty list".into() });
            }
            f.industries = Some(bits);
        }
        if let Some(v) = query.get("field") {
            let mut bits = Bits::default();
            let mut any = false;
            for code in v.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                let i = taxonomy.field_index(code).ok_or_else(|| FilterError {
                    param: "field",
                    message: format!("unknown value '{code}'; accepted: 4-digit first-level discipline codes such as 0812 (see /api/taxonomy)"),
                })?;
                bits.insert(i);
                any = true;
            }
            if !any {
                return Err(FilterError { param: "field", message: "empty list".into() });
            }
            f.fields = Some(bits);
        }
        if let Some(v) = query.get("education") {
            f.education = Some(enum_mask::<Education>("education", v, |e| e.index())?);
        }
        if let Some(v) = query.get("title") {
            f.title = Some(enum_mask::<Title>("title", v, |e| e.index())?);
        }
        if let Some(v) = query.get("tier") {
            f.tier = Some(enum_mask::<Tier>("tier", v, |e| e.index())?);
        }
        // Ages go in five-year bands (disclosure control: narrowing a filter
        // by one year would single people out by differencing).
        let age = |param: &'static str, rest: u16| -> Result<Option<u16>, FilterError> {
            query
                .get(param)
                .map(|v| match v.trim().parse::<u16>() {
                    Ok(a) if a <= 124 && a % 5 == rest => Ok(a),
                    _ => Err(FilterError {
                        param,
                        message: format!(
                            "'{v}' is not accepted; ages go in 5-year bands: min_age a multiple of 5 in 0..=120, \
                             max_age one less than a multiple of 5 in 4..=124 (e.g. min_age=25&max_age=34)"
                        ),
                    }),
                })
                .transpose()
        };
        let (min_age, max_age) = (age("min_age", 0)?, age("max_age", 4)?);
        if let (Some(lo), Some(hi)) = (min_age, max_age)
            && lo > hi
        {
            return Err(FilterError {
                param: "min_age",
                message: format!("min_age ({lo}) is greater than max_age ({hi})"),
            });
        }
        if min_age.is_some() || max_age.is_some() {
            // age = reference_year − birth_year
            let oldest = reference_year.saturating_sub(max_age.unwrap_or(200));
            let youngest = reference_year.saturating_sub(min_age.unwrap_or(0));
            f.birth_years = Some((oldest, youngest));
        }
        if let Some(v) = query.get("seeking") {
            f.seeking = Some(match v.trim() {
                "true" => true,
                "false" => false,
                _ => {
                    return Err(FilterError {
                        param: "seeking",
                        message: format!("'{v}' is not accepted; accepted: true, false"),
                    });
                }
            });
        }
        for p in FILTER_PARAMS {
            if let Some(v) = query.get(p) {
                let mut parts: Vec<&str> = v.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
                parts.sort_unstable();
                parts.dedup();
                canonical.push(format!("{p}={}", parts.join(",")));
            }
        }
        f.canonical = canonical.join("&");
        Ok(f)
    }

    /// Canonical text of the filter (sorted parameters and values).
    pub fn canonical(&self) -> &str {
        &self.canonical
    }

    /// Whether the filter names fields (then it admits only theirs).
    pub fn names_fields(&self) -> bool {
        self.fields.is_some()
    }

    /// Whether the filter restricts anything that applies to talents.
    pub fn is_empty(&self) -> bool {
        self.canonical.is_empty()
    }

    #[inline]
    pub fn talent(&self, t: &TalentRec) -> bool {
        self.industries.is_none_or(|b| t.industry != crate::snapshot::NONE8 && b.contains(t.industry))
            && self.fields.is_none_or(|b| b.contains(t.field))
            && self.education.is_none_or(|m| m & (1 << t.education) != 0)
            && self.title.is_none_or(|m| m & (1 << t.title) != 0)
            && self.tier.is_none_or(|m| m & (1 << t.tier) != 0)
            && self.birth_years.is_none_or(|(lo, hi)| (lo..=hi).contains(&t.birth_year))
            && self.seeking.is_none_or(|s| t.seeking() == s)
    }

    /// This filter as a test of packed talent words ([`TalentWord`]) whose
    /// birth years count from `base`.
    pub fn word_test(&self, base: u16) -> WordTest {
        let all = Bits([u64::MAX; 4]);
        let mut industries = self.industries.unwrap_or(all);
        if self.industries.is_some() {
            // A talent without an employer matches no industry filter.
            industries.0[(crate::snapshot::NONE8 >> 6) as usize] &= !(1 << (crate::snapshot::NONE8 & 63));
        }
        let offset = |y: u16| i32::from(y) - i32::from(base);
        let births = self.birth_years.map_or((0, 127), |(lo, hi)| (offset(lo), offset(hi)));
        let masks = [self.education, self.title, self.tier].map(|m| m.unwrap_or(u8::MAX));
        WordTest::new(self.fields.unwrap_or(all), industries, masks, self.seeking, births)
    }

    pub fn vacancy(&self, v: &VacancyRec) -> bool {
        self.industries.is_none_or(|b| b.contains(v.industry))
            && self.fields.is_none_or(|b| b.contains(v.field))
            && self.education.is_none_or(|m| m & (1 << v.education) != 0)
            && self.title.is_none_or(|m| m & (1 << v.title) != 0)
    }

    pub fn enterprise(&self, e: &EnterpriseRec) -> bool {
        self.industries.is_none_or(|b| b.contains(e.industry))
    }
}

/// A talent record's filterable and counted attributes in one `u64`, for
/// scans that read 8 bytes a record instead of the whole record
/// (`analytics::cells`): record key (bits 0–31), field (32–39), industry
/// (40–47), education (48–49), title (50–52), tier (53–55), seeking (56),
/// birth year minus a base year (57–63).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TalentWord(pub u64);

impl TalentWord {
    /// The word of `t` with birth years from `base`, or `None` when an
    /// attribute does not fit its bits.
    pub fn of(t: &TalentRec, base: u16) -> Option<TalentWord> {
        let birth = t.birth_year.checked_sub(base).filter(|&b| b < 128)?;
        if t.education > 3 || t.title > 7 || t.tier > 7 {
            return None;
        }
        Some(TalentWord(
            u64::from(t.rkey)
                | u64::from(t.field) << 32
                | u64::from(t.industry) << 40
                | u64::from(t.education) << 48
                | u64::from(t.title) << 50
                | u64::from(t.tier) << 53
                | u64::from(t.seeking()) << 56
                | u64::from(birth) << 57,
        ))
    }
    #[inline]
    pub fn rkey(self) -> u32 {
        self.0 as u32
    }
    #[inline]
    pub fn field(self) -> u8 {
        (self.0 >> 32) as u8
    }
    #[inline]
    fn industry(self) -> u8 {
        (self.0 >> 40) as u8
    }
    #[inline]
    pub fn education(self) -> u8 {
        (self.0 >> 48) as u8 & 3
    }
    #[inline]
    pub fn seeking(self) -> bool {
        self.0 >> 56 & 1 != 0
    }
    /// Birth year minus the base year.
    #[inline]
    pub fn birth(self) -> i32 {
        (self.0 >> 57) as i32
    }
}

/// A [`Filter`] compiled for [`TalentWord`]s (see [`Filter::word_test`]):
/// the field through [`WordTest::admits_field`] (words are grouped by
/// field, `analytics::field_words`), the rest in one table lookup (and the
/// industry's), without a branch.
#[derive(Debug, Clone)]
pub struct WordTest {
    fields: Bits,
    industries: Bits,
    /// Admitted values of a word's top 16 bits (education, title, tier,
    /// seeking and birth offset), one bit each of the 65,536: 8 KiB, in
    /// the first-level cache through a pass over millions of words.
    admitted: Box<[u64; 1024]>,
}

impl WordTest {
    fn new(fields: Bits, industries: Bits, masks: [u8; 3], seeking: Option<bool>, births: (i32, i32)) -> WordTest {
        let [education, title, tier] = masks;
        // The admitted combinations of the low 9 of the 16 bits: education
        // (bits 0–1), title (2–4), tier (5–7), seeking (8). A table word
        // holds 64 combinations: the admitted (education, title) pairs,
        // once for each tier of the word's two.
        let mut pairs = 0u64;
        for j in 0..32 {
            if education >> (j & 3) & 1 != 0 && title >> (j >> 2) & 1 != 0 {
                pairs |= 1 << j;
            }
        }
        let mut flags = [0u64; 8];
        for (k, word) in flags.iter_mut().enumerate() {
            if seeking.is_some_and(|s| s != (k >> 2 == 1)) {
                continue;
            }
            let even = 2 * (k & 3);
            let with = |t: usize, bits: u64| if tier >> t & 1 != 0 { bits } else { 0 };
            *word = with(even, pairs) | with(even + 1, pairs << 32);
        }
        // Each birth offset (the high 7 bits) admits those combinations
        // or none: 8 table words an offset.
        let (lo, hi) = births;
        let mut admitted = Box::new([0u64; 1024]);
        for birth in lo.max(0)..=hi.min(127) {
            let at = birth as usize * 8;
            admitted[at..at + 8].copy_from_slice(&flags);
        }
        WordTest { fields, industries, admitted }
    }

    /// Whether the filter admits field `f`.
    #[inline]
    pub fn admits_field(&self, f: u8) -> bool {
        self.fields.contains(f)
    }

    /// Whether the filter names no industry: then
    /// [`Self::matches_attributes`] answers as
    /// [`Self::matches_attributes_and_industry`] does.
    pub fn any_industry(&self) -> bool {
        self.industries == Bits([u64::MAX; 4])
    }

    /// Whether the talent of word `w` matches, as [`Filter::talent`] would
    /// answer for its record, but for the field: every test is evaluated
    /// (no branch), so a scan over records that match at random
    /// mispredicts nothing.
    #[inline]
    pub fn matches_attributes_and_industry(&self, w: TalentWord) -> bool {
        self.industries.contains(w.industry()) & self.matches_attributes(w)
    }

    /// [`Self::matches_attributes_and_industry`] without the industry
    /// test, for filters that name no industry ([`Self::any_industry`]).
    #[inline]
    pub fn matches_attributes(&self, w: TalentWord) -> bool {
        let top = (w.0 >> 48) as usize;
        self.admitted[top >> 6] >> (top & 63) & 1 != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn word_test_answers_as_the_record_test() {
        // Every combination of the word's 16 top bits that records can
        // take, against filters whose age bands lie inside, across and
        // outside the 128 birth offsets a word holds.
        let t = Taxonomy::builtin();
        let base = 1950;
        let filters = [
            vec![("min_age", "25"), ("max_age", "39")],
            vec![("min_age", "60")],
            vec![("max_age", "34")],
            vec![("min_age", "0"), ("max_age", "124")],
            vec![("min_age", "100")],
            vec![("seeking", "true"), ("education", "master,doctorate")],
            vec![("tier", "E,A"), ("title", "senior"), ("min_age", "30"), ("max_age", "44")],
            vec![("seeking", "false"), ("max_age", "19")],
        ];
        for pairs in filters {
            let f = Filter::parse(&q(&pairs), &t, 2026).unwrap();
            let test = f.word_test(base);
            let mut admitted = 0;
            for birth in base..base + 128 {
                for (education, title, tier, seeking) in (0..4u8).flat_map(|e| {
                    (0..8u8).flat_map(move |ti| (0..8u8).flat_map(move |tr| [(e, ti, tr, 0), (e, ti, tr, 1)]))
                }) {
                    let mut r = TalentRec::blank(0);
                    (r.birth_year, r.education, r.title, r.tier, r.flags) = (birth, education, title, tier, seeking);
                    let w = TalentWord::of(&r, base).unwrap();
                    assert_eq!(test.matches_attributes(w), f.talent(&r), "{pairs:?}: {r:?}");
                    admitted += usize::from(f.talent(&r));
                }
            }
            let none = pairs.contains(&("min_age", "100"));
            assert_eq!(admitted == 0, none, "{pairs:?} admits {admitted}");
        }
    }

    #[test]
    fn parses_and_canonicalises() {
        let t = Taxonomy::builtin();
        let f = Filter::parse(&q(&[("field", "0812,0701"), ("education", "master")]), &t, 2026).unwrap();
        assert_eq!(f.canonical(), "field=0701,0812&education=master");
        let g = Filter::parse(&q(&[("education", "master"), ("field", "0701,0812,0812")]), &t, 2026).unwrap();
        assert_eq!(f.canonical(), g.canonical());
    }

    #[test]
    fn errors_name_parameter_and_accepted_values() {
        let t = Taxonomy::builtin();
        let e = Filter::parse(&q(&[("education", "phd")]), &t, 2026).unwrap_err();
        assert_eq!(e.param, "education");
        assert!(e.message.contains("associate, bachelor, master, doctorate"), "{}", e.message);
        assert_eq!(Filter::parse(&q(&[("field", "9999")]), &t, 2026).unwrap_err().param, "field");
        assert_eq!(Filter::parse(&q(&[("industry", "zz")]), &t, 2026).unwrap_err().param, "industry");
        assert_eq!(Filter::parse(&q(&[("min_age", "x")]), &t, 2026).unwrap_err().param, "min_age");
        assert_eq!(Filter::parse(&q(&[("min_age", "40"), ("max_age", "34")]), &t, 2026).unwrap_err().param, "min_age");
        // Five-year bands only.
        for (param, v) in [("min_age", "26"), ("max_age", "35"), ("min_age", "125"), ("max_age", "129")] {
            let e = Filter::parse(&q(&[(param, v)]), &t, 2026).unwrap_err();
            assert_eq!(e.param, param);
            assert!(e.message.contains("5-year bands"), "{}", e.message);
        }
        assert!(Filter::parse(&q(&[("min_age", "25"), ("max_age", "34")]), &t, 2026).is_ok());
        assert!(Filter::parse(&q(&[("min_age", "0"), ("max_age", "124")]), &t, 2026).is_ok());
        assert_eq!(Filter::parse(&q(&[("seeking", "yes")]), &t, 2026).unwrap_err().param, "seeking");
        assert_eq!(Filter::parse(&q(&[("tier", "a")]), &t, 2026).unwrap_err().param, "tier");
    }

    #[test]
    fn ages_become_birth_years() {
        let t = Taxonomy::builtin();
        let f = Filter::parse(&q(&[("max_age", "34")]), &t, 2026).unwrap();
        let mut rec = TalentRec {
            birth_year: 1991,
            education: 1,
            home_district: 0,
            home_park: 0,
            work_district: 0,
            work_park: 0,
            rkey: 7,
            ..TalentRec::blank(0)
        };
        rec.birth_year = 1992;
        assert!(f.talent(&rec), "34 years old");
        rec.birth_year = 1991;
        assert!(!f.talent(&rec), "35 years old");
    }
}
