//! A tile path `z/x/y` given to the tile id parser.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| talentmap_fuzz::check_tile_id(data));
