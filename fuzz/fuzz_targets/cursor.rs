//! `?cursor=` of GET /runs/v1/runs: `common::run_store::Cursor` parses or refuses, and a parsed
//! cursor prints to a string that parses back to it (the next page's `next_cursor`).
#![no_main]

use common::run_store::Cursor;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    if let Ok(c) = s.parse::<Cursor>() {
        let printed = c.to_string();
        assert_eq!(printed.parse::<Cursor>(), Ok(c), "{s:?} parsed, but its print {printed:?} does not parse back");
        // Printing is canonical: the reparsed cursor prints the same.
        assert_eq!(printed.parse::<Cursor>().map(|c| c.to_string()), Ok(printed.clone()));
        let _ = c.sort_key();
    }
});
