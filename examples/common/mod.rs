//! Helpers shared by the scale examples: their command line, percentiles
//! and resident memory.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

/// `--talents N --enterprises N --out DIR --keep` plus example-specific
/// `--name value` flags listed by the caller.
pub struct ScaleArgs {
    pub talents: usize,
    pub enterprises: usize,
    pub out: PathBuf,
    pub keep: bool,
    pub extra: BTreeMap<String, String>,
}

impl ScaleArgs {
    /// Parses the process arguments; `default_dir` names the work folder
    /// under the system temporary directory.
    pub fn parse(default_dir: &str, extra_flags: &[&str]) -> ScaleArgs {
        let mut args = std::env::args().skip(1);
        let mut parsed = ScaleArgs {
            talents: 1_000_000,
            enterprises: 200_000,
            out: std::env::temp_dir().join(default_dir),
            keep: false,
            extra: BTreeMap::new(),
        };
        while let Some(a) = args.next() {
            match a.as_str() {
                "--talents" => parsed.talents = args.next().unwrap().parse().unwrap(),
                "--enterprises" => parsed.enterprises = args.next().unwrap().parse().unwrap(),
                "--out" => parsed.out = PathBuf::from(args.next().unwrap()),
                "--keep" => parsed.keep = true,
                flag if extra_flags.contains(&flag.trim_start_matches("--")) => {
                    parsed.extra.insert(flag.trim_start_matches("--").to_string(), args.next().unwrap());
                }
                other => panic!("unknown argument {other}"),
            }
        }
        parsed
    }

    /// An example-specific numeric flag, or its default.
    pub fn extra_usize(&self, name: &str, default: usize) -> usize {
        self.extra.get(name).map_or(default, |v| v.parse().unwrap())
    }
}

/// The `p` quantile (0–1) of sorted values, nearest rank.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Resident memory of this process in MiB (Linux `/proc/self/status`).
pub fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
