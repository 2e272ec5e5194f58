//! Any bytes an officer's phone or a hostile client can send: decoding
//! must return pixels or an error, never panic, hang or exhaust memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provenance::imaging::decode::decode_bytes;
use provenance::imaging::limits::DecodeLimits;

fuzz_target!(|data: &[u8]| {
    // Smaller limits than the server's, so that a file which declares a
    // huge picture is refused quickly instead of timing the fuzzer out.
    let limits = DecodeLimits {
        max_file_bytes: 1 << 20,
        max_side: 4096,
        max_pixels: 4_000_000,
        max_alloc: 64 << 20,
    };
    if let Ok(img) = decode_bytes(data, "fuzz", &limits) {
        assert!(img.width() > 0 && img.height() > 0);
        assert!(u64::from(img.width()) * u64::from(img.height()) <= limits.max_pixels);
    }
});
