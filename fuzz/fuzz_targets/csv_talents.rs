//! A talents CSV file, validated against the tiny city (nothing is stored).
#![no_main]

use libfuzzer_sys::fuzz_target;
use talentmap::import::ImportKind;

fuzz_target!(|data: &[u8]| talentmap_fuzz::check_file(ImportKind::Talents, data));
