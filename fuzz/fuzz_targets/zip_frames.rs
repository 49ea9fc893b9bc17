//! The frames zip of POST /cv/analyze and the range endpoint (`analyze::frames::ZipFrames`, with
//! the production limits): it opens or is refused, and each frame of an opened zip decodes or is
//! refused, to an RGB buffer of the size it claims. The raw bytes also go to the `.npy` reader,
//! which the zip's CRC check otherwise shields from most mutations.
#![no_main]

use analyze::frames::{decode_npy, DecodedFrame, ZipFrames, ZipLimits};
use libfuzzer_sys::fuzz_target;

/// Frames decoded per input at most (each is a full image decode).
const MAX_DECODED: usize = 8;

fn check(frame: &DecodedFrame) {
    let pixels = frame.width as usize * frame.height as usize;
    assert!(pixels > 0, "{}: empty frame", frame.name);
    assert_eq!(
        frame.rgb.len(),
        pixels * 3,
        "{}: {}x{} with {} bytes",
        frame.name,
        frame.width,
        frame.height,
        frame.rgb.len()
    );
}

fuzz_target!(|data: &[u8]| {
    let limits = ZipLimits::default();
    if let Ok(mut zip) = ZipFrames::open(data, &limits) {
        assert!(zip.len() <= limits.max_entries);
        for i in 0..zip.len().min(MAX_DECODED) {
            if let Ok(frame) = zip.frame(i) {
                check(&frame);
            }
        }
        assert!(zip.frame(zip.len()).is_err(), "a frame past the end");
    }
    if let Ok(frame) = decode_npy("fuzz.npy", data) {
        check(&frame);
    }
});
