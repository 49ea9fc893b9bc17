//! How well the project's detectors see the rendered swings of `golfiq_tests::scene`: renders the
//! four presets (640x360 and 1280x720, 120 and 60 fps), runs each variant's detector on every
//! frame and prints, per preset, ball recall in flight and on the tee (a `golf_ball` detection
//! centred within 3 px / 6 px of the truth), club-head recall (IoU ≥ 0.3 with the true head box)
//! and false positives per frame.
//!
//! `cargo run --release -p golfiq-tests --bin scene_recall -- [--variants yolov11,yolov10]
//! [--seeds 7,8] [--presets 640x360@120,1280x720@60] [--score S (default: each variant's calibrated threshold)] [--jpeg] [--verbose]
//! [--dump DIR] [--pipeline] [--models-dir DIR]`: `--models-dir` reads a candidate's weights folder (laid out as
//! `models/weights`) instead of the committed one, `--jpeg` runs the frames through JPEG quality 90 first (as a JPEG zip
//! delivers them), `--verbose` prints every frame's match, `--dump` writes a few frames of each
//! preset as PNG, raw and with the detections drawn, `--pipeline` scores the detections an analysis
//! ends with (`analyze::flow::analyze` on a PNG zip: the full-frame pass plus the native-resolution crops
//! around the ball's track, and its early stop: frames it did not analyse count as empty).

use std::path::PathBuf;

use golfiq_tests::scene::{render_swing, SwingSpec, Truth};
use models::{BBox, Class, Detection, Detector, Frame, ModelRegistry, SessionOptions, Thresholds};

/// Counts for one preset and variant.
#[derive(Default)]
struct Tally {
    flight: usize,
    flight_3: usize,
    flight_6: usize,
    teed: usize,
    teed_3: usize,
    teed_6: usize,
    club: usize,
    club_hit: usize,
    club_pre: usize,
    club_pre_hit: usize,
    frames: usize,
    fp_ball: usize,
    fp_club: usize,
    err_sum: f64,
    err_n: usize,
    score_sum: f64,
}

fn pct(a: usize, b: usize) -> String {
    if b == 0 {
        "   -  ".into()
    } else {
        format!("{:5.1}%", 100.0 * a as f64 / b as f64)
    }
}

fn nearest_ball(dets: &[Detection], c: (f64, f64)) -> Option<(f64, f32)> {
    dets.iter()
        .filter(|d| d.class == Class::GolfBall)
        .map(|d| {
            let (x, y) = d.bbox.center();
            ((f64::from(x) - c.0).hypot(f64::from(y) - c.1), d.score)
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
}

fn score(tally: &mut Tally, spec: &SwingSpec, truth: &Truth, i: usize, dets: &[Detection]) {
    tally.frames += 1;
    let ball = truth.ball_centres[i];
    if let Some(c) = ball {
        let near = nearest_ball(dets, c);
        let hit = |r: f64| near.is_some_and(|(d, _)| d <= r);
        if let Some((d, s)) = near.filter(|(d, _)| *d <= 6.0) {
            tally.err_sum += d;
            tally.err_n += 1;
            tally.score_sum += f64::from(s);
        }
        if truth.ball_in_flight(i, spec) {
            tally.flight += 1;
            tally.flight_3 += usize::from(hit(3.0));
            tally.flight_6 += usize::from(hit(6.0));
        } else if i <= truth.impact_frame {
            tally.teed += 1;
            tally.teed_3 += usize::from(hit(3.0));
            tally.teed_6 += usize::from(hit(6.0));
        }
    }
    let head = truth.club_boxes[i].map(|(x1, y1, x2, y2)| BBox::new(x1 as f32, y1 as f32, x2 as f32, y2 as f32));
    if let Some(hb) = head {
        let hit = usize::from(dets.iter().any(|d| d.class == Class::ClubHead && d.bbox.iou(&hb) >= 0.3));
        tally.club += 1;
        tally.club_hit += hit;
        // The frames the club speed and the impact frame are measured on.
        if i <= truth.impact_frame && i + 5 >= truth.impact_frame {
            tally.club_pre += 1;
            tally.club_pre_hit += hit;
        }
    }
    for d in dets {
        match d.class {
            Class::GolfBall => {
                let (x, y) = d.bbox.center();
                let ok = ball.is_some_and(|c| (f64::from(x) - c.0).hypot(f64::from(y) - c.1) <= 6.0);
                tally.fp_ball += usize::from(!ok);
            }
            Class::ClubHead => {
                let ok = head.is_some_and(|hb| d.bbox.iou(&hb) >= 0.3);
                tally.fp_club += usize::from(!ok);
            }
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut variants = vec![models::ModelVariant::Yolov11, models::ModelVariant::Yolov10];
    let mut seeds = vec![7u64];
    let mut dump: Option<PathBuf> = None;
    let mut verbose = false;
    let mut jpeg = false;
    let mut pipeline = false;
    let mut models_dir = models::default_root();
    let mut thresholds = Thresholds::default();
    let mut presets: Vec<(u32, u32, f64)> =
        vec![(640, 360, 120.0), (640, 360, 60.0), (1280, 720, 120.0), (1280, 720, 60.0)];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--variants" => variants = value()?.split(',').map(str::parse).collect::<Result<_, _>>()?,
            "--seeds" => seeds = value()?.split(',').map(str::parse).collect::<Result<_, _>>()?,
            "--dump" => dump = Some(PathBuf::from(value()?)),
            "--verbose" => verbose = true,
            "--jpeg" => jpeg = true,
            "--pipeline" => pipeline = true,
            "--models-dir" => models_dir = PathBuf::from(value()?),
            "--score" => thresholds.score = Some(value()?.parse()?),
            "--presets" => {
                presets = value()?
                    .split(',')
                    .map(|p| {
                        let (size, fps) = p.split_once('@').ok_or("preset is WxH@FPS")?;
                        let (w, h) = size.split_once('x').ok_or("preset is WxH@FPS")?;
                        Ok::<_, Box<dyn std::error::Error>>((w.parse()?, h.parse()?, fps.parse()?))
                    })
                    .collect::<Result<_, _>>()?
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let registry = ModelRegistry::new(models_dir, SessionOptions::default(), thresholds);
    let mut rendered = Vec::new();
    for &(w, h, fps) in &presets {
        for &seed in &seeds {
            let spec = SwingSpec { seed, ..SwingSpec::preset(w, h, fps) };
            let t0 = std::time::Instant::now();
            let (mut frames, truth) = render_swing(&spec);
            if jpeg {
                // As a JPEG zip delivers them (quality 90).
                for f in &mut frames {
                    let mut bytes = Vec::new();
                    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 90).encode_image(&*f)?;
                    *f = image::load_from_memory(&bytes)?.to_rgb8();
                }
            }
            eprintln!(
                "rendered {w}x{h}@{fps} seed {seed}: {} frames in {:.2}s (ball {} px, {:.2} m/s, {:.2}°, impact {})",
                frames.len(),
                t0.elapsed().as_secs_f64(),
                spec.ball_diameter_px,
                truth.ball_speed_mps,
                truth.launch_deg,
                truth.impact_frame
            );
            rendered.push((spec, frames, truth));
        }
    }
    for &variant in &variants {
        let det = registry.get(variant)?;
        let how = if pipeline { ", analysis pipeline with native crops" } else { "" };
        println!("\n## {variant} (score >= {}{how})", det.thresholds().describe());
        println!(concat!(
            "| preset | seeds | flight ≤3px | flight ≤6px | teed ≤3px | teed ≤6px | club IoU≥.3 ",
            "| club, impact-5..impact | FP ball/frame | FP club/frame | ball err px | ball score |"
        ));
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
        for &(w, h, fps) in &presets {
            let mut tally = Tally::default();
            for (spec, frames, truth) in rendered.iter().filter(|r| r.0.width == w && r.0.fps == fps) {
                let analysed = if pipeline { Some(analyse(&det, frames, fps)?) } else { None };
                for (i, img) in frames.iter().enumerate() {
                    let dets = match &analysed {
                        Some(per_frame) => per_frame.get(i).cloned().unwrap_or_default(),
                        None => det.detect(&Frame::from_image(img))?,
                    };
                    score(&mut tally, spec, truth, i, &dets);
                    if verbose {
                        let ball = truth.ball_centres[i].and_then(|c| nearest_ball(&dets, c));
                        let head = truth.club_boxes[i]
                            .map(|(x1, y1, x2, y2)| BBox::new(x1 as f32, y1 as f32, x2 as f32, y2 as f32));
                        let club = head.and_then(|hb| {
                            dets.iter()
                                .filter(|d| d.class == Class::ClubHead)
                                .map(|d| (d.bbox.iou(&hb), d.score))
                                .max_by(|a, b| a.0.total_cmp(&b.0))
                        });
                        eprintln!(
                            "{w}x{h}@{fps} s{} f{i:03} ball {:?} near {:?} | head {:?} best {:?} | dets {}",
                            spec.seed,
                            truth.ball_centres[i].map(|(x, y)| (x.round(), y.round())),
                            ball.map(|(d, s)| ((d * 10.0).round() / 10.0, (s * 100.0).round() / 100.0)),
                            head.map(|b| (b.x1 as i32, b.y1 as i32, b.width() as i32, b.height() as i32)),
                            club.map(|(iou, s)| ((iou * 100.0).round() / 100.0, (s * 100.0).round() / 100.0)),
                            dets.len()
                        );
                    }
                    if let Some(dir) = &dump {
                        let imp = truth.impact_frame;
                        if spec.seed == seeds[0] && [imp.saturating_sub(2), imp, imp + 2, imp + 5].contains(&i) {
                            std::fs::create_dir_all(dir)?;
                            let stem = format!("{w}x{h}_{fps}fps_f{i:03}");
                            img.save(dir.join(format!("{stem}.png")))?;
                            let mut ann = img.clone();
                            models::annotate::draw_detections(&mut ann, &dets);
                            ann.save(dir.join(format!("{stem}_{variant}.png")))?;
                        }
                    }
                }
            }
            let n = tally.frames.max(1) as f64;
            println!(
                concat!(
                    "| {}x{}@{} | {} | {} ({}/{}) | {} | {} ({}/{}) | {} | {} ({}/{}) | {} ",
                    "| {:.2} | {:.2} | {:.2} | {:.2} |"
                ),
                w,
                h,
                fps,
                seeds.len(),
                pct(tally.flight_3, tally.flight),
                tally.flight_3,
                tally.flight,
                pct(tally.flight_6, tally.flight),
                pct(tally.teed_3, tally.teed),
                tally.teed_3,
                tally.teed,
                pct(tally.teed_6, tally.teed),
                pct(tally.club_hit, tally.club),
                tally.club_hit,
                tally.club,
                pct(tally.club_pre_hit, tally.club_pre),
                tally.fp_ball as f64 / n,
                tally.fp_club as f64 / n,
                tally.err_sum / tally.err_n.max(1) as f64,
                tally.score_sum / tally.err_n.max(1) as f64,
            );
        }
    }
    Ok(())
}

/// The per-frame detections `analyze::flow::analyze` ends with for these frames as a PNG zip: the
/// dense window's (full-frame pass plus native-resolution crops); frames outside it, which the
/// pipeline never runs the detector on, come back empty.
fn analyse(
    detector: &models::YoloDetector,
    frames: &[image::RgbImage],
    fps: f64,
) -> Result<Vec<Vec<Detection>>, Box<dyn std::error::Error>> {
    let zip = golfiq_tests::scene::frames_zip(frames, golfiq_tests::scene::ImageFormat::Png);
    let params = analyze::flow::AnalysisParams {
        clock: analyze::pipeline::clock::Clock::constant(fps),
        m_per_px: 0.01,
        smoothing_window: 3,
        frame_size: None,
        units: analyze::tracer::Units::Metric,
    };
    // Noisy 720p PNG zips pass the server's 50 MiB default; the limit is not what is measured.
    let limits = analyze::frames::ZipLimits { max_zip_bytes: usize::MAX, ..analyze::frames::ZipLimits::default() };
    let zip = analyze::frames::ZipFrames::open(&zip, &limits).map_err(|e| e.to_string())?;
    let mut source = analyze::source::ZipSource(zip);
    let budget = analyze::flow::Limits { max_detector_calls: usize::MAX };
    let analysis = analyze::flow::analyze(detector, &mut source, &params, &budget)
        .map_err(|e| format!("{}: {}", e.code.as_str(), e.message))?;
    let mut out = vec![Vec::new(); frames.len()];
    for (i, dets) in analysis.frames.into_iter().zip(analysis.detections) {
        if let Some(slot) = out.get_mut(i) {
            *slot = dets;
        }
    }
    Ok(out)
}
