//! End-to-end tests of the video module: clips from `clipkit` and the ffmpeg fixtures in
//! `tests/data/video/` through [`probe`], [`decode_frames`] and [`decode_range`].

use std::io::Cursor;

use clipkit::encode_mp4;

use super::demux::demux;
use super::*;
use crate::frames::DecodedFrame;

const GREEN: [u8; 3] = [30, 140, 30];

/// Clips made by ffmpeg/x264/x265 (how: tests/data/video/README.md).
fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/video/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Green with a white disc of radius `r` (a 2r px ball) at (cx, cy).
fn disc_frame(w: u32, h: u32, cx: f64, cy: f64, r: f64) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        let d = ((f64::from(x) - cx).powi(2) + (f64::from(y) - cy).powi(2)).sqrt();
        image::Rgb(if d <= r { [255, 255, 255] } else { GREEN })
    })
}

/// Centroid of the bright pixels (all channels > 180), or `None` when there are none.
fn bright_centroid(f: &DecodedFrame) -> Option<(f64, f64)> {
    let (mut sx, mut sy, mut n) = (0.0, 0.0, 0.0);
    for (i, px) in f.rgb.chunks_exact(3).enumerate() {
        if px.iter().all(|&c| c > 180) {
            sx += (i % f.width as usize) as f64;
            sy += (i / f.width as usize) as f64;
            n += 1.0;
        }
    }
    (n > 0.0).then(|| (sx / n, sy / n))
}

fn mean_abs_diff(f: &DecodedFrame, img: &image::RgbImage) -> f64 {
    assert_eq!((f.width, f.height), img.dimensions());
    let total: u64 = f.rgb.iter().zip(img.as_raw()).map(|(&a, &b)| u64::from(a.abs_diff(b))).sum();
    total as f64 / f.rgb.len() as f64
}

fn decode_all(bytes: &[u8]) -> (VideoInfo, Vec<DecodedFrame>) {
    let (info, frames) = decode_frames(bytes, None).expect("opens");
    let frames = frames.collect::<Result<Vec<_>, _>>().expect("decodes");
    (info, frames)
}

fn clip_320x240(n: usize, fps: f64) -> (Vec<image::RgbImage>, Vec<u8>) {
    let src: Vec<_> = (0..n).map(|i| disc_frame(320, 240, 20.0 + 5.0 * i as f64, 120.0, 5.0)).collect();
    let bytes = encode_mp4(&src, fps).expect("encodes");
    (src, bytes)
}

#[test]
fn roundtrip_keeps_count_order_fps_and_pixels() {
    let (src, bytes) = clip_320x240(48, 120.0);
    let info = probe(&bytes).expect("probes");
    assert_eq!(
        info,
        VideoInfo {
            width: 320,
            height: 240,
            fps: Some(120.0),
            frame_count: 48,
            codec: "h264 (avc1)".to_string(),
            duration_s: Some(0.4),
            playback_fps: None,
            orientation: Orientation::UPRIGHT,
            fragmented: false,
            frame_times_s: (0..48).map(|i| f64::from(i) / 120.0).collect(),
        }
    );
    let (_, frames) = decode_all(&bytes);
    assert_eq!(frames.len(), 48);
    for (i, (f, img)) in frames.iter().zip(&src).enumerate() {
        assert_eq!(f.name, format!("frame_{i:06}"));
        assert_eq!((f.width, f.height, f.rgb.len()), (320, 240, 320 * 240 * 3));
        // The 10 px ball is where it was drawn, in every frame: order kept, ball visible.
        let (x, y) = bright_centroid(f).unwrap_or_else(|| panic!("frame {i}: the ball is gone"));
        assert!((x - (20.0 + 5.0 * i as f64)).abs() < 0.75 && (y - 120.0).abs() < 0.75, "frame {i}: ({x}, {y})");
        let mad = mean_abs_diff(f, img);
        assert!(mad < 1.0, "frame {i}: mean abs diff {mad}");
    }
}

#[test]
fn hd_clip_at_60_fps() {
    let src: Vec<_> = (0..4).map(|i| disc_frame(1280, 720, 100.0 + 40.0 * f64::from(i), 360.0, 5.0)).collect();
    let bytes = encode_mp4(src.iter(), 60.0).expect("encodes");
    let (info, frames) = decode_all(&bytes);
    assert_eq!((info.width, info.height, info.fps, info.frame_count), (1280, 720, Some(60.0), 4));
    assert_eq!(frames.len(), 4);
    for (i, (f, img)) in frames.iter().zip(&src).enumerate() {
        let (x, _) = bright_centroid(f).expect("ball visible");
        assert!((x - (100.0 + 40.0 * i as f64)).abs() < 0.75, "frame {i}: x {x}");
        assert!(mean_abs_diff(f, img) < 1.0);
    }
}

#[test]
fn sizes_off_the_macroblock_grid_and_fractional_fps() {
    // 330 is neither a multiple of 16 (cropped in the SPS) nor of 8 (scalar YUV->RGB path).
    let src: Vec<_> = (0..3).map(|i| disc_frame(330, 186, 50.0 + 30.0 * f64::from(i), 93.0, 6.0)).collect();
    let bytes = encode_mp4(&src, 29.97).expect("encodes");
    let (info, frames) = decode_all(&bytes);
    assert_eq!((info.width, info.height), (330, 186));
    assert!(info.fps.is_some_and(|f| (f - 29.97).abs() < 1e-9), "{:?}", info.fps);
    for (f, img) in frames.iter().zip(&src) {
        assert_eq!((f.width, f.height), (330, 186));
        // The encoder's RGB to YUV (OpenH264's, widths not a multiple of 8) rounds 1-2 levels
        // off in red and blue.
        assert!(mean_abs_diff(f, img) < 2.0);
    }
}

#[test]
fn frames_can_move_to_a_worker_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<VideoFrames<'static>>();
}

#[test]
fn max_frames_stops_early() {
    let (_, bytes) = clip_320x240(12, 120.0);
    let (info, frames) = decode_frames(&bytes, Some(5)).expect("opens");
    assert_eq!(info.frame_count, 12);
    let frames: Vec<_> = frames.collect::<Result<_, _>>().expect("decodes");
    assert_eq!(frames.len(), 5);
    assert_eq!(frames[4].name, "frame_000004");
    let (_, mut none) = decode_frames(&bytes, Some(0)).expect("opens");
    assert!(none.next().is_none());
}

#[test]
fn b_frames_come_out_in_presentation_order() {
    // x264 High profile with 3 B-frames and a B-pyramid: decode order I P B B B P ...
    let (info, frames) = decode_all(&fixture("bframes_high_120fps.mp4"));
    assert_eq!((info.width, info.height, info.frame_count, info.fps), (320, 240, 24, Some(120.0)));
    assert_eq!(frames.len(), 24, "every frame, the ones held for reordering included");
    for (i, f) in frames.iter().enumerate() {
        let (x, y) = bright_centroid(f).expect("disc visible");
        assert!((x - (20.0 + 10.0 * i as f64)).abs() < 1.0 && (y - 120.0).abs() < 1.0, "frame {i}: ({x}, {y})");
    }
}

#[test]
fn quicktime_with_audio_and_avc3() {
    let (info, frames) = decode_all(&fixture("h264_aac.mov"));
    assert_eq!((info.frame_count, info.fps, frames.len()), (24, Some(120.0), 24));
    // avc3: parameter sets in-band.
    let (info, frames) = decode_all(&fixture("avc3_main_60fps.mp4"));
    assert_eq!((info.codec.as_str(), info.fps, frames.len()), ("h264 (avc3)", Some(60.0), 12));
    for (i, f) in frames.iter().enumerate() {
        let (x, _) = bright_centroid(f).expect("disc visible");
        assert!((x - (20.0 + 10.0 * i as f64)).abs() < 1.0, "frame {i}: x {x}");
    }
    // Seeking in both (one IDR each) gives the same frames as decoding from the start.
    for name in ["h264_aac.mov", "avc3_main_60fps.mp4"] {
        let bytes = fixture(name);
        let (_, full) = decode_all(&bytes);
        for first in [1, 7, full.len() - 1] {
            let (_, frames) = decode_range(&bytes, first, None).expect("opens");
            let got: Vec<_> = frames.collect::<Result<_, _>>().expect("decodes");
            assert_eq!(got, full[first..], "{name} from {first}");
        }
    }
}

#[test]
fn rotation_matrix_is_applied_like_ffmpeg_does() {
    // 160x96 with a red block at the top-left; where ffmpeg's autorotate puts it.
    for (name, deg, (w, h), (bx, by)) in [
        ("rot_cw90.mp4", 90, (96, 160), (80, 16)),
        ("rot_cw180.mp4", 180, (160, 96), (144, 80)),
        ("rot_cw270.mp4", 270, (96, 160), (16, 144)),
    ] {
        let (info, frames) = decode_all(&fixture(name));
        assert_eq!((info.orientation.rotation_deg(), info.width, info.height), (deg, w, h), "{name}");
        let f = &frames[0];
        assert_eq!((f.width, f.height), (w, h), "{name}");
        let at = |x: u32, y: u32| {
            let i = ((y * f.width + x) * 3) as usize;
            [f.rgb[i], f.rgb[i + 1], f.rgb[i + 2]]
        };
        let red = at(bx, by);
        assert!(red[0] > 180 && red[2] < 90, "{name}: {red:?} at ({bx}, {by})");
        let opposite = at(w - 1 - bx, h - 1 - by);
        assert!(opposite[2] > 180, "{name}: {opposite:?}");
    }
}

#[test]
fn inputs_that_are_not_decodable_videos_are_errors() {
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(disc_frame(8, 8, 4.0, 4.0, 2.0))
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("png");
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let (_, clip) = clip_320x240(6, 30.0);
    let vp9 = vp9_clip();
    let ftyp_only = clip[..32].to_vec();
    // clipkit writes the movie header last, so a cut-short upload has none.
    let truncated = clip[..clip.len() * 2 / 3].to_vec();
    type Expected = fn(&VideoError) -> bool;
    let cases: Vec<(&str, Vec<u8>, Expected)> = vec![
        ("empty", vec![], |e| matches!(e, VideoError::NotMp4(m) if m.contains("empty"))),
        ("png", png, |e| matches!(e, VideoError::NotMp4(m) if m.contains("PNG"))),
        ("random", random, |e| matches!(e, VideoError::NotMp4(_))),
        ("ftyp only", ftyp_only, |e| matches!(e, VideoError::Corrupt(_))),
        ("truncated", truncated, |e| matches!(e, VideoError::Corrupt(_))),
        ("audio only", fixture("audio_only.m4a"), |e| matches!(e, VideoError::NoVideoTrack)),
        ("vp9", vp9, |e| matches!(e, VideoError::UnsupportedCodec(m) if m == "VP9 (vp09)")),
    ];
    for (name, bytes, expected) in cases {
        let err = probe(&bytes).expect_err(name);
        assert!(expected(&err), "{name}: {err:?}");
        let code = if name == "vp9" { "VIDEO_UNSUPPORTED" } else { "VIDEO_DECODE_FAILED" };
        assert_eq!(err.code().as_str(), code, "{name}");
        assert!(decode_frames(&bytes, None).is_err(), "{name}");
    }
    let vp9 = probe(&vp9_clip()).expect_err("vp9").to_string();
    assert!(vp9.contains("VP9") && vp9.contains("H.264 (AVC) and HEVC"), "{vp9}");
}

/// A small H.264 clip whose sample entry claims VP9.
fn vp9_clip() -> Vec<u8> {
    let (_, mut clip) = clip_320x240(2, 30.0);
    let at = clip.windows(4).rposition(|w| w == b"avc1").expect("an avc1 entry");
    clip[at..at + 4].copy_from_slice(b"vp09");
    clip
}

#[test]
fn broken_frame_data_ends_the_stream_with_an_error_after_the_good_frames() {
    let (_, mut bytes) = clip_320x240(10, 30.0);
    let (_, frames) = decode_frames(&bytes, None).expect("opens");
    drop(frames);
    let track = demux(&bytes).expect("demuxes");
    // Make sample 6's first NAL length claim more than the sample holds.
    let at = track.samples[6].offset as usize;
    bytes[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
    let (_, frames) = decode_frames(&bytes, None).expect("opens");
    let items: Vec<_> = frames.collect();
    assert_eq!(items.len(), 7);
    assert!(items[..6].iter().all(Result::is_ok));
    assert!(matches!(&items[6], Err(VideoError::Decode(m)) if m.contains("frame data 7")), "{:?}", items[6]);
}

#[test]
fn mangled_uploads_never_panic() {
    // Not through the catch_unwind guards: a panic here fails the test.
    // Keyframes at 0 and 2, so seeks start past the first sample.
    let src: Vec<_> = (0..4).map(|i| disc_frame(320, 240, 20.0 + 5.0 * f64::from(i), 120.0, 5.0)).collect();
    let clip = clipkit::encode_mp4_keyint(&src, 30.0, 2).expect("encodes");
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let run = |bytes: &[u8]| {
        let Ok(track) = demux(bytes) else { return };
        assert!(track.samples.len() < 100);
        assert!(track.seek_start(bytes, 3).is_none_or(|start| start <= 3));
        for first in [0, 3] {
            let (_, mut frames) = decode_range(bytes, first, None).expect("demuxed once, demuxes again");
            while let Some(Ok(_)) = frames.next() {}
        }
    };
    for cut in (0..clip.len()).step_by(97) {
        run(&clip[..cut]);
    }
    for _ in 0..300 {
        let mut bytes = clip.clone();
        for _ in 0..1 + next() % 4 {
            let i = (next() % bytes.len() as u64) as usize;
            bytes[i] = next() as u8;
        }
        run(&bytes);
    }
}

// ---------------------------------------------------------------------------------------------
// Random access

/// Grey level of frame `i` of [`grey_clip`].
fn grey_of(i: usize) -> f64 {
    20.0 + 5.0 * i as f64
}

/// 40 frames of distinct flat greys at 30 fps with an IDR every 10 frames.
fn grey_clip() -> Vec<u8> {
    let src: Vec<_> = (0..40).map(|i| image::RgbImage::from_pixel(64, 48, image::Rgb([grey_of(i) as u8; 3]))).collect();
    clipkit::encode_mp4_keyint(&src, 30.0, 10).expect("encodes")
}

fn mean_level(f: &DecodedFrame) -> f64 {
    f.rgb.iter().map(|&c| f64::from(c)).sum::<f64>() / f.rgb.len() as f64
}

#[test]
fn decode_range_starts_at_the_keyframe_before_and_yields_from_the_frame_asked_for() {
    let bytes = grey_clip();
    let track = demux(&bytes).expect("demuxes");
    assert_eq!(track.timing.sync, Some(vec![1, 11, 21, 31]), "an IDR every 10 frames, in stss");
    for first in [0, 9, 10, 23, 39] {
        let (info, mut frames) = decode_range(&bytes, first, None).expect("opens");
        assert_eq!(info.frame_count, 40);
        let head = frames.next().expect("a frame").expect("decodes");
        // Decoded to get there: from the IDR at or before `first`, never a whole GOP.
        let before = frames.decoded_count() - 1;
        assert_eq!(before, first % 10, "first {first}");
        assert!(before < 10);
        assert_eq!(frames.last_index(), Some(first));
        let pts = frames.last_pts_s().expect("timed");
        assert!((pts - first as f64 / 30.0).abs() < 1e-9, "first {first}: pts {pts}");
        let rest: Vec<_> = frames.collect::<Result<_, _>>().expect("decodes");
        let all: Vec<_> = std::iter::once(head).chain(rest).collect();
        assert_eq!(all.len(), 40 - first, "first {first}");
        for (k, f) in (first..).zip(&all) {
            assert_eq!(f.name, format!("frame_{k:06}"));
            let level = mean_level(f);
            assert!((level - grey_of(k)).abs() < 2.0, "first {first}, frame {k}: level {level}");
        }
    }
    for past_the_end in [40, 41, usize::MAX] {
        let (_, mut frames) = decode_range(&bytes, past_the_end, None).expect("opens");
        assert!(frames.next().is_none());
        assert_eq!((frames.decoded_count(), frames.last_index(), frames.last_pts_s()), (0, None, None));
    }
    // max_frames counts from `first`.
    let (_, frames) = decode_range(&bytes, 23, Some(3)).expect("opens");
    let names: Vec<_> = frames.map(|f| f.expect("decodes").name).collect();
    assert_eq!(names, ["frame_000023", "frame_000024", "frame_000025"]);
}

#[test]
fn decode_range_on_b_frames_matches_the_full_decode() {
    let bytes = fixture("bframes_high_120fps.mp4");
    let track = demux(&bytes).expect("demuxes");
    // x264 with keyint 48 on 24 frames: one IDR, and presentation order differs from decode order.
    assert_eq!(track.timing.sync, Some(vec![1]));
    assert_ne!(track.timing.rank, (0..24).collect::<Vec<_>>());
    let (_, full) = decode_all(&bytes);
    for first in 0..=24 {
        let (_, frames) = decode_range(&bytes, first, None).expect("opens");
        let got: Vec<_> = frames.collect::<Result<_, _>>().expect("decodes");
        assert_eq!(got, full[first..], "first {first}");
    }
    // Presentation times step 1/120 s from frame 0, whatever the composition offsets were.
    let (_, mut frames) = decode_frames(&bytes, None).expect("opens");
    let mut k = 0;
    while let Some(frame) = frames.next() {
        frame.expect("decodes");
        let pts = frames.last_pts_s().expect("timed");
        assert!((pts - k as f64 / 120.0).abs() < 1e-9, "frame {k}: pts {pts}");
        k += 1;
    }
    assert_eq!(k, 24);
}

/// The B-frame fixture's 24 samples twice over (IDRs at samples 0 and 24), remuxed with clipkit:
/// two closed GOPs with B-frames, so seeks past frame 24 start at the second IDR.
fn two_b_frame_gops() -> Vec<u8> {
    let src = fixture("bframes_high_120fps.mp4");
    let mut reader = mp4::Mp4Reader::read_header(Cursor::new(&src), src.len() as u64).expect("reads");
    let (&id, t) =
        reader.tracks().iter().find(|(_, t)| t.track_type().ok() == Some(mp4::TrackType::Video)).expect("video");
    let track = clipkit::AvcTrack {
        width: t.width(),
        height: t.height(),
        timescale: t.timescale(),
        sps: t.sequence_parameter_set().expect("sps").to_vec(),
        pps: t.picture_parameter_set().expect("pps").to_vec(),
    };
    let count = reader.sample_count(id).expect("samples");
    let samples: Vec<_> = (1..=count)
        .map(|n| {
            let s = reader.read_sample(id, n).expect("sample").expect("present");
            let composition_offset = u32::try_from(s.rendering_offset).expect("non-negative offset");
            clipkit::Sample { data: s.bytes.to_vec(), duration: s.duration, composition_offset, sync: s.is_sync }
        })
        .collect();
    clipkit::write_mp4(&track, samples.iter().chain(&samples).cloned()).expect("muxes")
}

#[test]
fn decode_range_starts_at_a_later_idr_in_a_b_frame_stream() {
    let bytes = two_b_frame_gops();
    let track = demux(&bytes).expect("demuxes");
    assert_eq!(track.timing.sync, Some(vec![1, 25]));
    let (info, full) = decode_all(&bytes);
    assert_eq!((info.frame_count, full.len()), (48, 48));
    for (i, f) in full.iter().enumerate() {
        let (x, _) = bright_centroid(f).expect("disc visible");
        assert!((x - (20.0 + 10.0 * (i % 24) as f64)).abs() < 1.0, "frame {i}: x {x}");
    }
    for first in [0, 5, 23, 24, 25, 30, 47, 48] {
        let (_, mut frames) = decode_range(&bytes, first, None).expect("opens");
        let mut got = Vec::new();
        if let Some(head) = frames.next() {
            got.push(head.expect("decodes"));
            if first >= 24 {
                // From the second IDR on (the frames up to `first` and the B-frame reorder delay),
                // not from the start of the clip.
                assert!(frames.decoded_count() <= first - 24 + 4, "first {first}: {}", frames.decoded_count());
            }
        }
        got.extend(frames.map(|f| f.expect("decodes")));
        assert_eq!(got, full[first.min(48)..], "first {first}");
    }
}

#[test]
fn fragmented_mp4_and_hevc_decode() {
    // moof/traf/trun fragments after an empty moov.
    let (info, frames) = decode_all(&fixture("fragmented.mp4"));
    assert!(info.fragmented);
    assert_eq!((info.frame_count, info.fps, frames.len()), (6, Some(30.0), 6));
    for (i, f) in frames.iter().enumerate() {
        let (x, y) = bright_centroid(f).expect("disc visible");
        assert!((x - (20.0 + 10.0 * i as f64)).abs() < 1.0 && (y - 120.0).abs() < 1.0, "frame {i}: ({x}, {y})");
    }
    let bytes = fixture("fragmented.mp4");
    let (_, full) = decode_all(&bytes);
    let (_, from_3) = decode_range(&bytes, 3, None).expect("opens");
    assert_eq!(from_3.collect::<Result<Vec<_>, _>>().expect("decodes"), full[3..]);
    // HEVC tagged hvc1: three flat green frames.
    let (info, frames) = decode_all(&fixture("hevc_hvc1.mp4"));
    assert_eq!((info.codec.as_str(), info.width, info.height, frames.len()), ("hevc (hvc1)", 64, 64, 3));
    let px = &frames[2].rgb[..3];
    assert!(px[1] > 100 && px[0] < 40 && px[2] < 40, "green: {px:?}");
}
