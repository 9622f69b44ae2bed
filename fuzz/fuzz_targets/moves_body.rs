//! A `POST /api/moves` body: the streaming body reader, then the validation
//! of every item against the tiny city (nothing is stored).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| talentmap_fuzz::check_moves_body(data));
