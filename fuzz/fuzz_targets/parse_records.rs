//! Records files from other databases: every line is parsed and
//! validated on its own; nothing may panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provenance::records::io::{parse_csv, parse_jsonl};

fuzz_target!(|data: &[u8]| {
    for line in parse_jsonl(data) {
        if let Ok(r) = line.result {
            r.validate().expect("a parsed record is valid");
        }
    }
    if let Ok(lines) = parse_csv(data) {
        for line in lines {
            if let Ok(r) = line.result {
                r.validate().expect("a parsed record is valid");
            }
        }
    }
});
