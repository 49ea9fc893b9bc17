//! The launch accuracy grid: rendered shots (`golfiq_tests::scene`, real flight physics) over
//! frame rate x ball speed x launch angle, measured (a) by the ballistic fit alone
//! (`analyze::pipeline::launch_fit`) on the rendered truth centres with ±0.5 px of noise, beside
//! what a gravity-only fit, a free quadratic per axis and the old 8-frame mean velocity read on the
//! same points (and a summary of each), and (b) end to
//! end: the frames as a JPEG zip through the real dispatcher in process (`POST /cv/analyze`, the
//! real detector), reading `metrics.ball_speed_mps` and `metrics.launch_deg`, and (c) what the
//! shot tracer cost in those requests (`tracer.ms` against the rest of `inference_timing.total_ms`),
//! by camera.
//!
//! Each case's camera: 1920x1080 at 30 and 60 fps, 1280x720 at 120 and 240 fps (what phones
//! record at those rates), with the field of view chosen so that the ball is as large as possible
//! within 8-20 px while its flight stays in the picture for at least 8 frames (else 8 px, the most
//! frames this camera can give). The clip: impact 0.1 s in (the downswing before it), then the
//! flight until the ball has left the picture (or landed), plus 3 frames.
//!
//! `cargo run --release -p golfiq-tests --bin launch_grid -- [--fps 30,60,120,240]
//! [--speeds 20,35,50,65,75] [--angles 5,15,25,40] [--quick] [--fit-only] [--draws 16]
//! [--variant yolov10] [--seed 7]`: `--quick` is speeds 20,50,75 and angles 5,25,40; `--fit-only`
//! skips (b) (and all drawing); `--draws` is the number of noise draws per case for (a), whose
//! table shows the worst. `launch_grid --render-timing` instead times the renderer per frame on
//! phone-shaped clips.
//!
//! (b) needs ONNX Runtime (`make setup-ort`; found as the tests find it, `ORT_DYLIB_PATH` or
//! `.ort/lib` from the working directory up) and the bundled models.

use std::time::Instant;

use analyze::pipeline::clock::Clock;
use analyze::pipeline::kinematics::{robust_velocity, FlightModel, Velocity, LAUNCH_WINDOW};
use analyze::pipeline::launch_fit::{fit_launch, fit_launch_with, FIT_POINTS};
use analyze::pipeline::tracking::TrackPoint;
use golfiq_tests::scene::{ball_path, frames_zip, render_swing, ImageFormat, SwingSpec};
use reqwest::multipart::{Form, Part};
use serde_json::Value;

type Error = Box<dyn std::error::Error>;

struct Args {
    fps: Vec<f64>,
    speeds: Vec<f64>,
    angles: Vec<f64>,
    fit_only: bool,
    draws: usize,
    variant: Option<String>,
    seed: u64,
}

fn list(v: &str) -> Result<Vec<f64>, Error> {
    Ok(v.split(',').map(str::parse).collect::<Result<_, _>>()?)
}

fn parse() -> Result<Option<Args>, Error> {
    let mut a = Args {
        fps: vec![30.0, 60.0, 120.0, 240.0],
        speeds: vec![20.0, 35.0, 50.0, 65.0, 75.0],
        angles: vec![5.0, 15.0, 25.0, 40.0],
        fit_only: false,
        draws: 16,
        variant: None,
        seed: 7,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--fps" => a.fps = list(&value()?)?,
            "--speeds" => a.speeds = list(&value()?)?,
            "--angles" => a.angles = list(&value()?)?,
            "--quick" => {
                a.speeds = vec![20.0, 50.0, 75.0];
                a.angles = vec![5.0, 25.0, 40.0];
            }
            "--fit-only" => a.fit_only = true,
            "--draws" => a.draws = value()?.parse::<usize>()?.max(1),
            "--variant" => a.variant = Some(value()?),
            "--seed" => a.seed = value()?.parse()?,
            "--render-timing" => {
                render_timing();
                return Ok(None);
            }
            other => return Err(format!("unknown argument {other} (see the module doc)").into()),
        }
    }
    Ok(Some(a))
}

/// The case's clip, as described in the module doc.
fn case_spec(fps: f64, speed: f64, angle: f64, seed: u64) -> SwingSpec {
    let (w, h) = if fps <= 60.0 { (1920, 1080) } else { (1280, 720) };
    let impact_s = (0.1 * fps).round().max(4.0) / fps;
    let base = SwingSpec {
        ball_speed_mps: speed,
        launch_deg: angle,
        club_speed_mps: speed / 1.4,
        seed,
        ..SwingSpec::phone(w, h, fps, impact_s + 1.5, impact_s)
    };
    let sized = |d: f64| base.clone().with_ball_px(d);
    let d = (8..=20).rev().map(f64::from).find(|&d| sized(d).visible_flight_frames() >= 8).unwrap_or(8.0);
    let spec = sized(d);
    let path = ball_path(&spec);
    let last_flight = (0..spec.frames)
        .filter(|&i| path.states[i] == golfiq_tests::scene::BallState::Flying && path.centres[i].is_some())
        .max()
        .unwrap_or(spec.impact_frame);
    SwingSpec { frames: (last_flight + 4).min(spec.frames), ..spec }
}

/// Deterministic uniform noise in ±`amp` (SplitMix64).
struct Noise(u64);

impl Noise {
    fn next(&mut self, amp: f64) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) * amp
    }
}

/// Speed error (fraction) and angle error (degrees) of a measurement, signed.
fn err(v: Velocity, speed: f64, angle: f64) -> (f64, f64) {
    ((v.speed() - speed) / speed, v.launch_deg() - angle)
}

/// Worst absolute errors over the draws, keeping the sign of the worst.
#[derive(Default, Clone, Copy)]
struct Worst {
    speed: Option<f64>,
    angle: Option<f64>,
    misses: usize,
}

impl Worst {
    fn add(&mut self, e: Option<(f64, f64)>) {
        let Some((s, a)) = e else {
            self.misses += 1;
            return;
        };
        if self.speed.is_none_or(|w| s.abs() > w.abs()) {
            self.speed = Some(s);
        }
        if self.angle.is_none_or(|w| a.abs() > w.abs()) {
            self.angle = Some(a);
        }
    }

    fn cells(&self) -> String {
        match (self.speed, self.angle) {
            (Some(s), Some(a)) if self.misses == 0 => format!("{:+.2} | {:+.2}", s * 100.0, a),
            (Some(s), Some(a)) => format!("{:+.2}* | {:+.2}*", s * 100.0, a),
            _ => "- | -".into(),
        }
    }
}

/// A free constant acceleration per axis: x = x0 + vx t + ax t²/2 (likewise y) by least squares
/// over the first [`FIT_POINTS`] points, t from the launch at `launch_frame`; the velocity at launch.
fn free_quadratic(pts: &[TrackPoint], fps: f64, m_per_px: f64, launch_frame: f64) -> Option<Velocity> {
    let pts = &pts[..pts.len().min(FIT_POINTS)];
    if pts.len() < 3 {
        return None;
    }
    // Normal equations of [1, t, t²] for both axes at once.
    let mut a = [[0.0f64; 3]; 3];
    let (mut bx, mut by) = ([0.0f64; 3], [0.0f64; 3]);
    for p in pts {
        let t = (p.frame as f64 - launch_frame) / fps;
        let row = [1.0, t, t * t];
        for r in 0..3 {
            for c in 0..3 {
                a[r][c] += row[r] * row[c];
            }
            bx[r] += row[r] * p.x;
            by[r] += row[r] * p.y;
        }
    }
    let solve = |b: [f64; 3]| -> Option<f64> {
        // Cramer's rule for the middle unknown (the velocity at t = 0).
        let det = |m: [[f64; 3]; 3]| {
            m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
                + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
        };
        let d = det(a);
        let mut m = a;
        for r in 0..3 {
            m[r][1] = b[r];
        }
        (d.abs() > 1e-18).then(|| det(m) / d)
    };
    Some(Velocity { vx: solve(bx)? * m_per_px, vy: -solve(by)? * m_per_px })
}

/// (a): the fit on the truth centres with noise; beside it a gravity-only fit, a free quadratic
/// per axis and the mean velocity of the first 8 points (what the pipeline measured before).
fn fit_alone(spec: &SwingSpec, draws: usize, seed: u64) -> (usize, [Worst; 4]) {
    let path = ball_path(spec);
    let r = spec.ball_diameter_px / 2.0;
    let (w, h) = (f64::from(spec.width), f64::from(spec.height));
    let truth: Vec<(usize, (f64, f64))> = (0..spec.frames)
        .filter(|&i| path.states[i] == golfiq_tests::scene::BallState::Flying)
        .filter_map(|i| path.centres[i].map(|c| (i, c)))
        .filter(|(_, (x, y))| x - r >= 0.0 && y - r >= 0.0 && x + r <= w && y + r <= h)
        .collect();
    let mut worst = [Worst::default(); 4];
    let vacuum = FlightModel { cd: 0.0, cl: 0.0, ..FlightModel::default() };
    let mut noise =
        Noise(seed ^ ((spec.fps as u64) << 32) ^ ((spec.ball_speed_mps as u64) << 16) ^ (spec.launch_deg as u64));
    for _ in 0..draws {
        let pts: Vec<TrackPoint> = truth
            .iter()
            .map(|&(frame, (x, y))| TrackPoint {
                frame,
                x: x + noise.next(0.5),
                y: y + noise.next(0.5),
                w: spec.ball_diameter_px,
                h: spec.ball_diameter_px,
                score: 0.9,
                interpolated: false,
            })
            .collect();
        let tee = (path.tee.0 + noise.next(0.5), path.tee.1 + noise.next(0.5));
        let (s, a) = (spec.ball_speed_mps, spec.launch_deg);
        worst[0]
            .add(fit_launch(&pts, &Clock::constant(spec.fps), spec.m_per_px, Some(tee)).map(|f| err(f.velocity, s, a)));
        worst[1].add(
            fit_launch_with(&pts, &Clock::constant(spec.fps), spec.m_per_px, Some(tee), &vacuum)
                .map(|f| err(f.velocity, s, a)),
        );
        // Given the true launch time: the free quadratic's best case.
        let launch = spec.impact_frame as f64;
        worst[2].add(free_quadratic(&pts, spec.fps, spec.m_per_px, launch).map(|v| err(v, s, a)));
        let window: Vec<TrackPoint> = pts.iter().take(LAUNCH_WINDOW).copied().collect();
        worst[3].add(robust_velocity(&window, &Clock::constant(spec.fps), spec.m_per_px).map(|v| err(v, s, a)));
    }
    (truth.len(), worst)
}

/// A measured shot of (b): its confidence and |speed error| %, |angle error| °.
type Measured = Option<(f64, f64, f64)>;

/// (c): a traced shot's camera (`WxH@fps`), its tracer's share of the rest of the analysis and the
/// tracer's frames.
type Traced = Option<(String, f64, u64)>;

/// (b): the rendered frames through the dispatcher.
async fn end_to_end(
    app: &golfiq_tests::TestApp,
    spec: &SwingSpec,
    variant: Option<&str>,
) -> Result<(String, Measured, Traced), Error> {
    let t0 = Instant::now();
    let (frames, truth) = render_swing(spec);
    let render_s = t0.elapsed().as_secs_f64();
    let zip = frames_zip(&frames, ImageFormat::Jpeg);
    drop(frames);
    let query = format!("?fps={}&ref_len_m={}&ref_len_px=100", spec.fps, spec.m_per_px * 100.0);
    let form = Form::new().part("frames_zip", Part::bytes(zip).file_name("frames.zip"));
    let mut req = app.client.post(app.url(&format!("/cv/analyze{query}"))).multipart(form);
    if let Some(v) = variant {
        req = req.header("x-model-variant", v);
    }
    let t1 = Instant::now();
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let analyse_s = t1.elapsed().as_secs_f64();
    if status != 200 {
        return Ok((format!("HTTP {status} {} | - | render {render_s:.1} s", body["error_code"]), None, None));
    }
    let m = &body["metrics"];
    let confidence = m["confidence"].as_f64().unwrap_or(0.0);
    let (cells, measured) = match (m["ball_speed_mps"].as_f64(), m["launch_deg"].as_f64()) {
        (Some(s), Some(a)) => {
            let (se, ae) = ((s - truth.ball_speed_mps) / truth.ball_speed_mps * 100.0, a - truth.launch_deg);
            (format!("{se:+.2} | {ae:+.2}"), Some((confidence, se.abs(), ae.abs())))
        }
        _ => ("- | -".into(), None),
    };
    let shot = match body.get("shot") {
        Some(s) if !s.is_null() => format!(" shot {s}"),
        _ => String::new(),
    };
    let tracer = &body["tracer"];
    let traced = match (tracer["ms"].as_f64(), body["inference_timing"]["total_ms"].as_f64()) {
        (Some(ms), Some(total)) if total > ms => {
            let frames = tracer["frames"][1].as_u64().unwrap_or(0) + 1 - tracer["frames"][0].as_u64().unwrap_or(0);
            Some((format!("{}x{}@{}", spec.width, spec.height, spec.fps), ms / (total - ms), frames))
        }
        _ => None,
    };
    let tracer_note =
        traced.as_ref().map(|(_, share, n)| format!(", tracer {share:.2}x ({n} frames)")).unwrap_or_default();
    Ok((
        format!(
            "{cells} | confidence {confidence:.3}, impact {} (truth {}), render {render_s:.1} s, analyse {analyse_s:.1} s{tracer_note}{shot}",
            m["impact_frame"], truth.impact_frame
        ),
        measured,
        traced,
    ))
}

/// Per-frame render times: phone-shaped clips (a whole swing in seconds of footage), the same
/// clip with nobody swinging (every frame after the first repeats its picture: the cost of a frame
/// where nothing moves) and the presets (every frame moves).
fn render_timing() {
    use golfiq_tests::scene::{Ball, Swing};
    println!("| clip | frames | total s | ms/frame |");
    println!("|---|---:|---:|---:|");
    let phone = |w, h, fps, dur, impact| SwingSpec::phone(w, h, fps, dur, impact);
    let still = |w, h, fps, dur, impact| SwingSpec {
        swing: Swing::Address,
        ball: Ball::Unstruck,
        ..phone(w, h, fps, dur, impact)
    };
    let cases: Vec<(String, SwingSpec)> = vec![
        ("phone 640x360 @ 120 fps, 4 s, impact at 3 s".into(), phone(640, 360, 120.0, 4.0, 3.0)),
        ("phone 640x360 @ 240 fps, 3 s, impact at 2 s".into(), phone(640, 360, 240.0, 3.0, 2.0)),
        ("phone 1280x720 @ 120 fps, 4 s, impact at 3 s".into(), phone(1280, 720, 120.0, 4.0, 3.0)),
        ("phone 1920x1080 @ 60 fps, 4 s, impact at 3 s".into(), phone(1920, 1080, 60.0, 4.0, 3.0)),
        ("nothing moves 640x360 @ 120 fps, 4 s".into(), still(640, 360, 120.0, 4.0, 3.0)),
        ("nothing moves 1280x720 @ 120 fps, 4 s".into(), still(1280, 720, 120.0, 4.0, 3.0)),
        ("nothing moves 1280x720, 1 frame (the per-clip set-up)".into(), still(1280, 720, 120.0, 1.0 / 120.0, 3.0)),
        ("preset 640x360 @ 120 fps (all frames move)".into(), SwingSpec::preset(640, 360, 120.0)),
        ("preset 1280x720 @ 120 fps (all frames move)".into(), SwingSpec::preset(1280, 720, 120.0)),
    ];
    for (name, spec) in cases {
        let t0 = Instant::now();
        let (frames, _) = render_swing(&spec);
        let total = t0.elapsed().as_secs_f64();
        println!("| {name} | {} | {total:.2} | {:.2} |", frames.len(), total * 1000.0 / frames.len() as f64);
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let Some(args) = parse()? else { return Ok(()) };
    let app =
        if args.fit_only { None } else { Some(golfiq_tests::spawn_app(&[("ANALYZE_MAX_VIDEO_FRAMES", "5000")]).await) };
    let started = Instant::now();
    println!(
        "(a): worst of {} draws of ±0.5 px noise on the truth centres (and the tee), first {FIT_POINTS} points for \
         the fits, {LAUNCH_WINDOW} for the mean; * = some draws gave no fit. (b): end to end{}.",
        args.draws,
        args.variant.as_deref().map(|v| format!(", {v}")).unwrap_or_default()
    );
    println!(
        "\n| fps | speed m/s | launch ° | frame | ball px | flight frames | (a) fit speed % | (a) fit angle ° \
         | gravity-only speed % | gravity-only angle ° | free quadratic speed % | free quadratic angle ° \
         | 8-frame mean speed % | 8-frame mean angle ° | (b) speed % | (b) angle ° | (b) notes |"
    );
    println!("|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    let mut summary: [Vec<(f64, f64)>; 4] = Default::default();
    let mut measured: Vec<(f64, f64, f64)> = Vec::new();
    let mut traced: Vec<(String, f64, u64)> = Vec::new();
    for &fps in &args.fps {
        for &speed in &args.speeds {
            for &angle in &args.angles {
                let spec = case_spec(fps, speed, angle, args.seed);
                let (visible, results) = fit_alone(&spec, args.draws, args.seed);
                let [fit, grav, quad, mean] = results;
                for (all, w) in summary.iter_mut().zip(results) {
                    if let (Some(s), Some(a)) = (w.speed, w.angle) {
                        all.push((s.abs() * 100.0, a.abs()));
                    }
                }
                let b = match &app {
                    Some(app) => match end_to_end(app, &spec, args.variant.as_deref()).await {
                        Ok((cells, m, t)) => {
                            measured.extend(m);
                            traced.extend(t);
                            cells
                        }
                        Err(e) => format!("- | - | error: {e}"),
                    },
                    None => "| |".into(),
                };
                println!(
                    "| {fps} | {speed} | {angle} | {}x{} | {} | {visible} | {} | {} | {} | {} | {b} |",
                    spec.width,
                    spec.height,
                    spec.ball_diameter_px,
                    fit.cells(),
                    grav.cells(),
                    quad.cells(),
                    mean.cells()
                );
            }
        }
    }
    println!("\n(a) over the cases with a result, |speed error| % and |angle error| °, worst draw per case:\n");
    println!("| method | cases | max speed % | median speed % | max angle ° | median angle ° |");
    println!("|---|---:|---:|---:|---:|---:|");
    let names = ["ballistic fit (launch_fit)", "gravity only", "free quadratic, true launch time", "8-frame mean"];
    for (name, mut all) in names.into_iter().zip(summary) {
        if all.is_empty() {
            continue;
        }
        let n = all.len();
        all.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (max_s, med_s) = (all[n - 1].0, all[n / 2].0);
        all.sort_by(|a, b| a.1.total_cmp(&b.1));
        let (max_a, med_a) = (all[n - 1].1, all[n / 2].1);
        println!("| {name} | {n} | {max_s:.2} | {med_s:.2} | {max_a:.2} | {med_a:.2} |");
    }
    if !measured.is_empty() {
        confidence_table(&mut measured);
    }
    if !traced.is_empty() {
        tracer_table(&traced);
    }
    eprintln!("grid done in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// (c): the tracer's share of the rest of each analysis, by camera (median and worst).
fn tracer_table(traced: &[(String, f64, u64)]) {
    println!("\n(c) the shot tracer's time against the rest of the analysis, by camera:\n");
    println!("| camera | traced shots | median share | max share | median tracer frames |");
    println!("|---|---:|---:|---:|---:|");
    let mut cameras: Vec<&str> = traced.iter().map(|t| t.0.as_str()).collect();
    cameras.dedup();
    for camera in cameras {
        let mut shares: Vec<f64> = traced.iter().filter(|t| t.0 == camera).map(|t| t.1).collect();
        let mut frames: Vec<u64> = traced.iter().filter(|t| t.0 == camera).map(|t| t.2).collect();
        shares.sort_by(f64::total_cmp);
        frames.sort_unstable();
        let n = shares.len();
        println!("| {camera} | {n} | {:.2} | {:.2} | {} |", shares[n / 2], shares[n - 1], frames[n / 2]);
    }
}

/// (b)'s measured shots in three bands of confidence (lowest third, middle, highest): whether a
/// higher confidence means a smaller error.
fn confidence_table(measured: &mut [(f64, f64, f64)]) {
    measured.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = measured.len();
    println!("\n(b) by confidence, over the {n} measured shots (thirds by confidence):\n");
    println!("| confidence | shots | median speed % | max speed % | median angle ° | max angle ° |");
    println!("|---|---:|---:|---:|---:|---:|");
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    for k in 0..3 {
        let part = &measured[k * n / 3..(k + 1) * n / 3];
        if part.is_empty() {
            continue;
        }
        let (lo, hi) = (part[0].0, part[part.len() - 1].0);
        let max = |f: fn(&(f64, f64, f64)) -> f64| part.iter().map(f).fold(0.0, f64::max);
        println!(
            "| {lo:.3}-{hi:.3} | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
            part.len(),
            median(part.iter().map(|m| m.1).collect()),
            max(|m| m.1),
            median(part.iter().map(|m| m.2).collect()),
            max(|m| m.2)
        );
    }
}
