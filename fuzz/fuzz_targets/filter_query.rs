//! A query string (`a=b&c=d`) given to the filter parser.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| talentmap_fuzz::check_filter(data));
