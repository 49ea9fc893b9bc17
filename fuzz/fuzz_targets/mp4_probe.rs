//! The MP4/MOV demuxer of POST /cv/analyze/video (`analyze::video::probe`, and `decode_range` up
//! to where it would start libavcodec): an upload's container facts come back within their
//! documented bounds, or a typed `VideoError`.
//!
//! `analyze::video` runs the third-party `mp4` crate's box parsers under `catch_unwind` on
//! purpose (its module docs: "a second line"). libfuzzer-sys aborts on every panic, caught or
//! not, so this target lets a panic through to that guard only when it comes from inside the
//! `mp4` crate, and says so on stderr once per place; every other panic (the project's own demuxer
//! included) is a crash. `FUZZ_STRICT_PANICS=1` makes the `mp4` crate's panics crashes too.
//! libavcodec is never loaded (FFMPEG_LIB_DIR points nowhere): fuzzing FFmpeg is not this
//! project's job, and a run must not depend on whether `make setup-ffmpeg` ran.
#![no_main]

use std::collections::HashSet;
use std::sync::{Mutex, Once};

use analyze::video::{decode_range, probe, VideoError, VideoInfo, MAX_LONG_SIDE, MAX_SHORT_SIDE};
use libfuzzer_sys::fuzz_target;

static INIT: Once = Once::new();
static TOLERATED: Mutex<Option<HashSet<String>>> = Mutex::new(None);

fn from_mp4_crate(info: &std::panic::PanicHookInfo<'_>) -> bool {
    let file = info.location().map(|l| l.file()).unwrap_or_default();
    if file.contains("/mp4-0.") {
        return true;
    }
    // A panic inside std (an allocation, an index through a generic helper) on the mp4 crate's behalf.
    let in_std = file.starts_with("/rustc/") || file.contains("/library/");
    in_std && std::backtrace::Backtrace::force_capture().to_string().contains(" mp4::")
}

fn init() {
    std::env::set_var("FFMPEG_LIB_DIR", "/nonexistent/golfiq-fuzz-no-ffmpeg");
    if std::env::var_os("FUZZ_STRICT_PANICS").is_some_and(|v| v == "1") {
        return;
    }
    let aborting = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if from_mp4_crate(info) {
            let place = info.location().map(|l| l.to_string()).unwrap_or_default();
            let mut seen = TOLERATED.lock().unwrap_or_else(|e| e.into_inner());
            if seen.get_or_insert_with(HashSet::new).insert(place.clone()) {
                eprintln!("mp4_probe: tolerated a panic in the mp4 crate (analyze::video catches it): {info}");
            }
            return;
        }
        aborting(info);
    }));
}

fn check(info: &VideoInfo) {
    let (long, short) = (info.width.max(info.height), info.width.min(info.height));
    assert!(short > 0 && long <= MAX_LONG_SIDE && short <= MAX_SHORT_SIDE, "size {}x{}", info.width, info.height);
    assert!(info.frame_count > 0, "a video without frames");
    if let Some(fps) = info.fps {
        assert!(fps.is_finite() && fps > 0.0 && fps <= 10_000.0, "fps {fps}");
    }
    if let Some(p) = info.playback_fps {
        assert!(p.is_finite() && p > 0.0 && info.fps.is_some_and(|f| p < f), "playback fps {p} of {:?}", info.fps);
    }
    if let Some(d) = info.duration_s {
        assert!(d.is_finite() && d > 0.0, "duration {d}");
    }
    let times = &info.frame_times_s;
    assert!(
        times.is_empty() || times.len() as u64 == info.frame_count,
        "{} times, {} frames",
        times.len(),
        info.frame_count
    );
    assert!(times.iter().all(|t| t.is_finite() && *t >= 0.0), "times {times:?}");
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "times out of order");
}

fuzz_target!(|data: &[u8]| {
    INIT.call_once(init);
    let Ok(info) = probe(data) else { return };
    check(&info);
    // Plan a seek into the middle (the demux again, then the random-access search); the decoder
    // then fails to load, which is the only error the same bytes may give now.
    let first = usize::try_from(info.frame_count / 2).unwrap_or(0);
    match decode_range(data, first, Some(1)) {
        Err(VideoError::DecoderUnavailable(_)) => {}
        Ok((again, _)) => panic!("decoded without a decoder: {again:?}"),
        Err(e) => panic!("probe accepted what decode_range refuses: {e}"),
    }
});
