//! Writes the analyze benchmark's clip: a rendered swing (`golfiq_tests::scene`, the 1280x720
//! 120 fps preset with seed 7) as a 1280x720, 120 fps, 360-frame (3 s) H.264 MP4, made with
//! `clipkit::encode_mp4` (an IDR every 120 frames). The swing is the preset's (impact 0.1 s in);
//! the frames after the ball has left the picture show the follow-through and the empty tee.
//! Deterministic: the same bytes every time.
//!
//! `make_clip OUT.mp4 --phone SECONDS IMPACT_S [--from-frame K]` writes a phone-shaped clip instead
//! (`SwingSpec::phone`: a whole swing, the shot IMPACT_S into a SECONDS-long clip), from frame K on
//! (the same shot with its lead-in trimmed; frame numbers in the JSON are the full clip's).
//!
//! `make_clip OUT.mp4 [--frames N]` (default 360). Prints one JSON line on stdout: the path, its
//! size, the frame count and rate, the impact frame and the reference length (the ball: metres and
//! pixels) to hand the analyze endpoint as `ref_len_m` / `ref_len_px`.
//!
//! `make_clip --time-stages CLIP.mp4 [--frames N] [--variant yolov10] [--detect-frames 30]`
//! instead times the analyze endpoint's per-frame stages one after another on one thread, for the
//! benchmark's breakdown of where the time goes: decoding every frame
//! (`analyze::video::decode_frames`: demux, libavcodec, YUV to RGB), the capture-quality estimates
//! each worker computes (`mean_luma`, `laplacian_variance`, sampled as the endpoint samples them),
//! and on `--detect-frames` frames spread over the clip the detector's own stage timings
//! (`detect_timed`: letterbox, `session.run`, decode/NMS/map back) with one session of one intra-op
//! thread. One JSON line with the mean milliseconds per frame of each.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use analyze::pipeline::quality::{laplacian_variance, mean_luma};
use golfiq_tests::scene::{render_swing, SwingSpec, BALL_DIAMETER_M};
use models::{Frame, ModelRegistry, SessionOptions, StageTimings, Thresholds};
use serde_json::json;

/// Frame size and rate of the clip.
const WIDTH: u32 = 1280;
/// Frame height.
const HEIGHT: u32 = 720;
/// Frames per second.
const FPS: f64 = 120.0;
/// Frames in the clip unless `--frames` says otherwise: 3 s at 120 fps.
const DEFAULT_FRAMES: usize = 360;

fn usage() -> ExitCode {
    eprintln!(
        "usage: make_clip OUT.mp4 [--frames N]\n       make_clip OUT.mp4 --phone SECONDS IMPACT_S [--from-frame K]\n       make_clip --time-stages CLIP.mp4 [--frames N] [--variant V] [--detect-frames K]"
    );
    ExitCode::from(2)
}

/// Mean milliseconds per item, to the microsecond.
fn ms(d: Duration, n: usize) -> f64 {
    (d.as_secs_f64() * 1000.0 / n.max(1) as f64 * 1000.0).round() / 1000.0
}

/// `--time-stages`: the endpoint's per-frame stages, timed on one thread with one single-threaded
/// session (the endpoint's session options, one session instead of one per core).
fn time_stages(clip: &Path, max_frames: usize, variant: models::ModelVariant, detect_frames: usize) -> ExitCode {
    let bytes = match std::fs::read(clip) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("make_clip: cannot read {}: {e}", clip.display());
            return ExitCode::FAILURE;
        }
    };
    let options = SessionOptions { sessions: 1, intra_threads: 1, spinning: false };
    let registry = ModelRegistry::new(models::default_root(), options, Thresholds::default());
    let loading = Instant::now();
    let detector = match registry.get(variant) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("make_clip: {e}");
            return ExitCode::FAILURE;
        }
    };
    let load = loading.elapsed();
    let started = Instant::now();
    let mut frames = match analyze::video::decode_frames(&bytes, Some(max_frames)) {
        Ok((_, frames)) => frames,
        Err(e) => {
            eprintln!("make_clip: {}: {e}", clip.display());
            return ExitCode::FAILURE;
        }
    };
    let open = started.elapsed();
    let mut decode = Duration::ZERO;
    let mut quality = Duration::ZERO;
    let mut stages = StageTimings::default();
    let (mut n, mut detected) = (0, 0);
    loop {
        let t = Instant::now();
        let Some(frame) = frames.next() else { break };
        decode += t.elapsed();
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                eprintln!("make_clip: frame {n}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let t = Instant::now();
        let (w, h) = (frame.width as usize, frame.height as usize);
        let step = (w.max(h) / 320).max(1);
        std::hint::black_box(mean_luma(&frame.rgb, w, h, step) + laplacian_variance(&frame.rgb, w, h, step));
        quality += t.elapsed();
        // Spread over the clip: the swing and the still frames after it.
        if detected < detect_frames && n % (max_frames / detect_frames.max(1)).max(1) == 0 {
            let view = Frame { width: frame.width, height: frame.height, rgb: &frame.rgb };
            match detector.detect_timed(&view) {
                Ok((_, t)) => {
                    stages.preprocess += t.preprocess;
                    stages.inference += t.inference;
                    stages.postprocess += t.postprocess;
                    detected += 1;
                }
                Err(e) => {
                    eprintln!("make_clip: frame {n}: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        n += 1;
    }
    println!(
        "{}",
        json!({
            "clip": clip.display().to_string(),
            "variant": variant,
            "frames": n,
            "model_load_ms": ms(load, 1),
            "open_ms": ms(open, 1),
            "decode_ms": ms(decode, n),
            "quality_ms": ms(quality, n),
            "detected_frames": detected,
            "letterbox_ms": ms(stages.preprocess, detected),
            "run_ms": ms(stages.inference, detected),
            "post_ms": ms(stages.postprocess, detected),
        })
    );
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut out: Option<PathBuf> = None;
    let mut frames = DEFAULT_FRAMES;
    let mut stages = false;
    let mut variant = models::ModelVariant::Yolov10;
    let mut detect_frames = 30;
    let mut phone: Option<(f64, f64)> = None;
    let mut from_frame = 0usize;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--phone" => {
                let secs = args.next().and_then(|v| v.parse::<f64>().ok());
                let impact = args.next().and_then(|v| v.parse::<f64>().ok());
                match (secs, impact) {
                    (Some(s), Some(i)) if s > 0.0 && (0.0..s).contains(&i) => phone = Some((s, i)),
                    _ => return usage(),
                }
            }
            "--from-frame" => match args.next().and_then(|v| v.parse::<usize>().ok()) {
                Some(k) => from_frame = k,
                None => return usage(),
            },
            "--frames" => match args.next().and_then(|v| v.parse::<usize>().ok()) {
                Some(n) if n >= 2 => frames = n,
                _ => return usage(),
            },
            "--detect-frames" => match args.next().and_then(|v| v.parse::<usize>().ok()) {
                Some(n) => detect_frames = n,
                None => return usage(),
            },
            "--variant" => match args.next().and_then(|v| v.parse().ok()) {
                Some(v) => variant = v,
                None => return usage(),
            },
            "--time-stages" => stages = true,
            _ if out.is_none() && !arg.starts_with('-') => out = Some(PathBuf::from(arg)),
            _ => return usage(),
        }
    }
    let Some(out) = out else { return usage() };
    if stages {
        return time_stages(&out, frames, variant, detect_frames);
    }

    let mut spec = SwingSpec::preset(WIDTH, HEIGHT, FPS);
    let swing_frames = spec.frames;
    if let Some((secs, impact_s)) = phone {
        spec = SwingSpec::phone(WIDTH, HEIGHT, FPS, secs, impact_s);
    } else if frames < spec.impact_frame + 2 {
        eprintln!("make_clip: {frames} frames would cut the swing before impact (frame {})", spec.impact_frame);
        return ExitCode::from(2);
    } else {
        spec.frames = frames;
    }
    if from_frame + 2 > spec.frames {
        eprintln!("make_clip: --from-frame {from_frame} leaves fewer than 2 of {} frames", spec.frames);
        return ExitCode::from(2);
    }
    let frames = spec.frames - from_frame;
    let started = Instant::now();
    let (mut images, truth) = render_swing(&spec);
    images.drain(..from_frame);
    let render_s = started.elapsed().as_secs_f64();
    let encoded = Instant::now();
    let mp4 = match clipkit::encode_mp4(&images, FPS) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("make_clip: encoding failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let encode_s = encoded.elapsed().as_secs_f64();
    drop(images);
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("make_clip: cannot create {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
    }
    if let Err(e) = std::fs::write(&out, &mp4) {
        eprintln!("make_clip: cannot write {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    println!(
        "{}",
        json!({
            "path": out.display().to_string(),
            "bytes": mp4.len(),
            "width": WIDTH,
            "height": HEIGHT,
            "fps": FPS,
            "frames": frames,
            "swing_frames": swing_frames,
            "impact_frame": spec.impact_frame,
            "from_frame": from_frame,
            "ball_speed_mps": truth.ball_speed_mps,
            "launch_deg": truth.launch_deg,
            "ref_len_m": BALL_DIAMETER_M,
            "ref_len_px": spec.ball_diameter_px,
            "render_s": (render_s * 100.0).round() / 100.0,
            "encode_s": (encode_s * 100.0).round() / 100.0,
        })
    );
    ExitCode::SUCCESS
}
