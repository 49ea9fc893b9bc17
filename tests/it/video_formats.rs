//! The formats phones record, written by Debian's ffmpeg (libx264, libx265) the way phones write
//! them, read by `analyze::video` and posted to `/cv/analyze/video`: every codec x container x
//! display matrix, audio and timecode tracks, jittering timestamps, 10-bit HDR HEVC, slow-motion
//! edit lists, files over the limits, truncated and corrupt files; our decode against ffmpeg's
//! own (PSNR); and a portrait iPhone-style HEVC .mov against its H.264 landscape twin.

use analyze::video::{decode_frames, probe, VideoError};
use clipkit::phone::{ffmpeg_decode_rgb, jittered_time, Codec, Container, PhoneClip};
use golfiq_tests::scene::{render_swing, SwingSpec};
use golfiq_tests::{spawn_app, TestApp};
use image::{Rgb, RgbImage};
use serde_json::Value;

const KEY: &str = "video-formats-key";
const UPRIGHT: [i8; 4] = [1, 0, 0, 1];
/// A phone held upright: stored sideways, shown a quarter turn clockwise.
const PORTRAIT: [i8; 4] = [0, 1, -1, 0];

/// 96x160 (portrait) frames as a viewer sees them: blue with a red block at the top-left and a
/// white disc moving right 8 px a frame along y = 120.
fn marker_frames(n: usize) -> Vec<RgbImage> {
    (0..n)
        .map(|i| {
            RgbImage::from_fn(96, 160, |x, y| {
                let (dx, dy) = (f64::from(x) - (16.0 + 8.0 * i as f64), f64::from(y) - 120.0);
                if dx.hypot(dy) < 6.0 {
                    Rgb([250, 250, 250])
                } else if x < 24 && y < 24 {
                    Rgb([220, 30, 30])
                } else {
                    Rgb([30, 40, 200])
                }
            })
        })
        .collect()
}

fn pixel(rgb: &[u8], width: u32, x: u32, y: u32) -> [u8; 3] {
    let i = ((y * width + x) * 3) as usize;
    [rgb[i], rgb[i + 1], rgb[i + 2]]
}

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let mse = a.iter().zip(b).map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2)).sum::<f64>() / a.len() as f64;
    10.0 * (255.0 * 255.0 / mse.max(1e-10)).log10()
}

#[test]
fn every_codec_container_and_display_matrix_decodes_upright() {
    let shown = marker_frames(6);
    let matrices: [(&str, [i8; 4], u32, bool); 5] = [
        ("upright", UPRIGHT, 0, false),
        ("portrait", PORTRAIT, 90, false),
        ("upside down", [-1, 0, 0, -1], 180, false),
        ("counter-clockwise", [0, -1, 1, 0], 270, false),
        ("mirrored selfie", [-1, 0, 0, 1], 0, true),
    ];
    let mut failures = Vec::new();
    for codec in [Codec::H264, Codec::Hevc, Codec::HevcHev1, Codec::Hevc10Hdr] {
        for container in [Container::Mp4, Container::Mov, Container::FragmentedMp4] {
            for (name, display, rotation, mirrored) in matrices {
                let case = format!("{codec:?} {container:?} {name}");
                let clip = PhoneClip {
                    display,
                    audio: container == Container::Mov,
                    keyint: 3,
                    ..PhoneClip::new(codec, container, 30.0)
                };
                let bytes = clip.encode(&shown).unwrap_or_else(|e| panic!("{case}: {e}"));
                let (info, frames) = match decode_frames(&bytes, None) {
                    Ok(v) => v,
                    Err(e) => {
                        failures.push(format!("{case}: {e}"));
                        continue;
                    }
                };
                let frames: Vec<_> = match frames.collect::<Result<_, _>>() {
                    Ok(f) => f,
                    Err(e) => {
                        failures.push(format!("{case}: {e}"));
                        continue;
                    }
                };
                let o = info.orientation;
                if (info.width, info.height, o.rotation_deg(), o.mirrored(), frames.len())
                    != (96, 160, rotation, mirrored, 6)
                {
                    failures.push(format!("{case}: {info:?}, {} frames", frames.len()));
                    continue;
                }
                for (i, f) in frames.iter().enumerate() {
                    let red = pixel(&f.rgb, f.width, 8, 8);
                    let disc = pixel(&f.rgb, f.width, 16 + 8 * i as u32, 120);
                    let blue = pixel(&f.rgb, f.width, 80, 40);
                    if !(red[0] > 160 && red[2] < 90 && disc.iter().all(|&c| c > 200) && blue[2] > 150 && blue[0] < 90)
                    {
                        failures.push(format!("{case} frame {i}: red {red:?} disc {disc:?} blue {blue:?}"));
                        break;
                    }
                }
                if container == Container::FragmentedMp4 && !info.fragmented {
                    failures.push(format!("{case}: not read as fragmented"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn decoded_frames_match_ffmpegs_own_decode() {
    // A textured 320x240 scene in motion, so the comparison covers real residuals.
    let shown: Vec<RgbImage> = (0..12)
        .map(|i| {
            RgbImage::from_fn(320, 240, |x, y| {
                let v = (((x + 3 * i) * 7) ^ (y * 13)) % 160;
                Rgb([(40 + v / 2) as u8, (60 + v) as u8, (30 + (x + y) % 60) as u8])
            })
        })
        .collect();
    for (codec, container, display) in [
        (Codec::H264, Container::Mp4, UPRIGHT),
        (Codec::Hevc, Container::Mov, PORTRAIT),
        (Codec::Hevc10Hdr, Container::Mov, UPRIGHT),
    ] {
        let clip = PhoneClip { display, keyint: 5, ..PhoneClip::new(codec, container, 60.0) };
        let bytes = clip.encode(&shown).expect("encodes");
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join(format!("clip.{}", clip.extension()));
        std::fs::write(&file, &bytes).expect("write");
        let (info, frames) = decode_frames(&bytes, None).expect("opens");
        let ours: Vec<_> = frames.collect::<Result<_, _>>().expect("decodes");
        let theirs = ffmpeg_decode_rgb(&file, info.width, info.height, ours.len()).expect("ffmpeg decodes");
        assert_eq!(theirs.len(), ours.len(), "{codec:?}");
        let mut worst = f64::INFINITY;
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate().step_by(4) {
            let db = psnr(&a.rgb, b);
            assert!(db >= 40.0, "{codec:?} {container:?} frame {i}: {db:.1} dB against ffmpeg");
            worst = worst.min(db);
        }
        eprintln!("{codec:?} {container:?} {display:?}: worst PSNR against ffmpeg {worst:.1} dB");
    }
}

#[test]
fn sample_timestamps_edit_lists_and_other_tracks() {
    let shown = marker_frames(12);
    // A "120 fps" phone clip whose stamps jitter by up to 1.5 ms.
    let clip = PhoneClip {
        jitter_s: 0.0015,
        audio: true,
        timecode: true,
        ..PhoneClip::new(Codec::Hevc, Container::Mov, 120.0)
    };
    let info = probe(&clip.encode(&shown).expect("encodes")).expect("probes");
    assert_eq!(info.frame_times_s.len(), 12);
    for (i, t) in info.frame_times_s.iter().enumerate() {
        let want = jittered_time(i, 120.0, 0.0015) - jittered_time(0, 120.0, 0.0015);
        assert!((t - want).abs() < 2e-5, "frame {i}: {t} s, stamped {want} s");
    }
    assert!((info.fps.expect("fps") - 120.0).abs() < 3.0, "{:?}", info.fps);
    // iPhone slow motion: 240 fps samples that the edit list plays 8 times slower.
    let slow = PhoneClip { slow_motion: Some(8), ..PhoneClip::new(Codec::Hevc, Container::Mov, 240.0) };
    let info = probe(&slow.encode(&shown).expect("encodes")).expect("probes");
    assert_eq!(info.fps, Some(240.0));
    assert_eq!(info.playback_fps, Some(30.0));
}

#[test]
fn broken_and_oversized_files_get_their_codes() {
    let shown = marker_frames(30);
    let mov =
        PhoneClip { keyint: 10, ..PhoneClip::new(Codec::Hevc, Container::Mp4, 30.0) }.encode(&shown).expect("encodes");
    // Cut in the middle of the frame data (the movie header is first): the frames that arrived
    // decode, then the stream ends with an error.
    let mdat = mov.windows(4).position(|w| w == b"mdat").expect("mdat");
    let cut = &mov[..mdat + (mov.len() - mdat) / 2];
    let (_, frames) = decode_frames(cut, None).expect("the header arrived");
    let items: Vec<_> = frames.collect();
    let last = items.last().expect("items");
    assert!(matches!(last, Err(VideoError::Corrupt(_) | VideoError::Decode(_))), "{last:?}");
    assert_eq!(last.as_ref().expect_err("error").code().as_str(), "VIDEO_DECODE_FAILED");
    // Garbage over the frame data: an error or concealed pictures, never a panic or a stall.
    let mut garbled = mov.clone();
    for (i, b) in garbled[mdat + 200..].iter_mut().enumerate().step_by(7) {
        *b ^= (i * 31) as u8;
    }
    if let Ok((_, frames)) = decode_frames(&garbled, None) {
        assert!(frames.count() <= 30);
    }
    // Above 4K: refused from the header, naming the limit.
    let big = vec![RgbImage::from_pixel(4352, 2448, Rgb([90, 120, 60]))];
    let bytes = PhoneClip::new(Codec::H264, Container::Mp4, 30.0).encode(&big).expect("encodes");
    let err = probe(&bytes).expect_err("over 4K");
    assert_eq!(err.code().as_str(), "VIDEO_TOO_LARGE");
    assert!(err.to_string().contains("4096x2304"), "{err}");
}

async fn app() -> TestApp {
    spawn_app(&[("REQUIRE_API_KEY", "1"), ("API_KEY", KEY)]).await
}

async fn analyse(app: &TestApp, clip: Vec<u8>, spec: &SwingSpec) -> Value {
    let ref_len_m = format!("{}", spec.m_per_px * 100.0);
    let fields = [("ref_len_m", ref_len_m.as_str()), ("ref_len_px", "100"), ("model_variant", "yolov11")];
    let (status, body) = golfiq_tests::post_video(app, KEY, clip, &fields).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn a_portrait_hevc_mov_answers_as_its_h264_landscape_twin() {
    let app = app().await;
    for fps in [60.0, 240.0] {
        // The swing as the viewer sees it: a portrait frame, the ball launched steeply enough to
        // stay in the narrow picture for a dozen frames or more.
        let secs = if fps > 100.0 { 1.2 } else { 2.0 };
        let spec = SwingSpec {
            ball_speed_mps: 9.0,
            launch_deg: 35.0,
            club_speed_mps: 7.0,
            ..SwingSpec::phone(360, 640, fps, secs, secs / 2.0)
        };
        let (shown, truth) = render_swing(&spec);
        let iphone = PhoneClip { display: PORTRAIT, audio: true, ..PhoneClip::new(Codec::Hevc, Container::Mov, fps) };
        let twin = PhoneClip::new(Codec::H264, Container::Mp4, fps);
        let a = analyse(&app, iphone.encode(&shown).expect("hevc"), &spec).await;
        let b = analyse(&app, twin.encode(&shown).expect("h264"), &spec).await;
        let case = format!("{fps} fps");
        assert_eq!(a["video"]["codec"], "hevc (hvc1)", "{case}: {}", a["video"]);
        assert_eq!(
            (a["video"]["rotation_deg"].as_u64(), a["video"]["width"].as_u64()),
            (Some(90), Some(360)),
            "{case}"
        );
        assert_eq!(a["shot"]["detected"], true, "{case}: {}", a["shot"]);
        assert_eq!(b["shot"]["detected"], true, "{case}: {}", b["shot"]);
        let (ma, mb) = (&a["metrics"], &b["metrics"]);
        let get = |m: &Value, k: &str| m[k].as_f64().unwrap_or_else(|| panic!("{case}: no {k} in {m}"));
        let (sa, sb) = (get(ma, "ball_speed_mps"), get(mb, "ball_speed_mps"));
        assert!((sa - sb).abs() / sb < 0.01, "{case}: speed {sa} (HEVC portrait) vs {sb} (H.264)");
        let (la, lb) = (get(ma, "launch_deg"), get(mb, "launch_deg"));
        assert!((la - lb).abs() < 0.3, "{case}: launch {la} vs {lb}");
        let (ia, ib) = (ma["impact_frame"].as_u64(), mb["impact_frame"].as_u64());
        assert!(ia.zip(ib).is_some_and(|(a, b)| a.abs_diff(b) <= 1), "{case}: impact {ia:?} vs {ib:?}");
        assert!(
            (sa - truth.ball_speed_mps).abs() / truth.ball_speed_mps < 0.03,
            "{case}: {sa} vs truth {}",
            truth.ball_speed_mps
        );
        assert!((la - truth.launch_deg).abs() < 1.0, "{case}: {la} vs truth {}", truth.launch_deg);
    }
}

#[tokio::test]
async fn a_jittering_phone_clip_is_measured_over_its_true_intervals() {
    let app = app().await;
    let jitter = 0.0015;
    let spec = SwingSpec { frame_jitter_s: jitter, ..SwingSpec::phone(640, 360, 120.0, 2.0, 1.0) };
    let (shown, truth) = render_swing(&spec);
    let clip = PhoneClip { jitter_s: jitter, ..PhoneClip::new(Codec::Hevc, Container::Mp4, 120.0) };
    let body = analyse(&app, clip.encode(&shown).expect("encodes"), &spec).await;
    let video = &body["video"];
    assert_eq!(video["fps_source"], "sample_timestamps", "{video}");
    let (min, max) = (video["frame_interval_ms"]["min"].as_f64(), video["frame_interval_ms"]["max"].as_f64());
    assert!(min < Some(6.5) && max > Some(10.0), "the jitter is seen: {video}");
    let m = &body["metrics"];
    let speed = m["ball_speed_mps"].as_f64().unwrap_or_else(|| panic!("no speed: {body}"));
    let launch = m["launch_deg"].as_f64().expect("launch");
    assert!((speed - truth.ball_speed_mps).abs() / truth.ball_speed_mps < 0.03, "{speed} vs {}", truth.ball_speed_mps);
    assert!((launch - truth.launch_deg).abs() < 1.0, "{launch} vs {}", truth.launch_deg);
}

#[tokio::test]
async fn unsupported_and_oversized_videos_are_clear_4xx_and_the_run_fails() {
    let app = app().await;
    // VP9 is named as unsupported (the sample entry of an H.264 clip renamed).
    let mut vp9 = PhoneClip::new(Codec::H264, Container::Mp4, 30.0).encode(&marker_frames(3)).expect("encodes");
    let at = vp9.windows(4).rposition(|w| w == b"avc1").expect("avc1 entry");
    vp9[at..at + 4].copy_from_slice(b"vp09");
    let (status, body) = golfiq_tests::post_video(&app, KEY, vp9, &[]).await;
    assert_eq!((status, body["error_code"].as_str()), (415, Some("VIDEO_UNSUPPORTED")), "{body}");
    assert!(body["message"].as_str().is_some_and(|m| m.contains("VP9")), "{body}");
    let run = golfiq_tests::get_run(&app, KEY, body["run_id"].as_str().expect("the run is named")).await;
    assert_eq!(
        (run["status"].as_str(), run["error_code"].as_str()),
        (Some("failed"), Some("VIDEO_UNSUPPORTED")),
        "{run}"
    );
    // A truncated HEVC clip: decode failed, 400.
    let clip = PhoneClip::new(Codec::Hevc, Container::Mov, 30.0).encode(&marker_frames(20)).expect("encodes");
    let (status, body) = golfiq_tests::post_video(&app, KEY, clip[..clip.len() / 2].to_vec(), &[]).await;
    assert_eq!((status, body["error_code"].as_str()), (400, Some("VIDEO_DECODE_FAILED")), "{body}");
}
