//! Unit tests of the renderer: presets, determinism, frame sizes, the flight against an independent
//! integration, the club reaching the ball at impact, phone clips, whiffs, still scenes, landings
//! and zips.

use std::io::Cursor;

use analyze::pipeline::kinematics::FlightModel;
use image::RgbImage;

use super::canvas::BBoxF;
use super::layout::GROUND_FRAC;
use super::*;

const PRESETS: [(u32, u32, f64); 4] = [(640, 360, 120.0), (640, 360, 60.0), (1280, 720, 120.0), (1280, 720, 60.0)];

/// A preset cut to a few frames after impact (the big presets are slow in debug builds).
fn short(w: u32, h: u32, fps: f64, after: usize) -> SwingSpec {
    let spec = SwingSpec::preset(w, h, fps);
    SwingSpec { frames: spec.frames.min(spec.impact_frame + 1 + after), ..spec }
}

#[test]
fn presets_are_sensible() {
    for (w, h, fps) in PRESETS {
        let spec = SwingSpec::preset(w, h, fps);
        assert!((12.0..=20.0).contains(&spec.ball_diameter_px), "{w}x{h}: ball {} px", spec.ball_diameter_px);
        let flight = spec.frames - spec.impact_frame - 2;
        assert!(flight >= 8, "{w}x{h}@{fps}: only {flight} flight frames in the picture");
        assert!((spec.m_per_px * spec.ball_diameter_px - BALL_DIAMETER_M).abs() < 1e-12);
    }
}

#[test]
fn same_seed_same_frames_other_seed_other_frames() {
    let spec = short(640, 360, 60.0, 3);
    let (a, ta) = render_swing(&spec);
    let (b, tb) = render_swing(&spec);
    assert_eq!(ta, tb);
    assert!(a.iter().zip(&b).all(|(x, y)| x.as_raw() == y.as_raw()), "same seed rendered differently");
    let (c, tc) = render_swing(&SwingSpec { seed: spec.seed + 1, ..spec.clone() });
    assert_eq!(tc.ball_centres, ta.ball_centres, "the path does not depend on the seed");
    assert!(a.iter().zip(&c).all(|(x, y)| x.as_raw() != y.as_raw()), "another seed rendered the same frame");
}

#[test]
fn frame_count_and_size() {
    for (w, h, fps) in PRESETS {
        let spec = short(w, h, fps, 2);
        let (frames, truth) = render_swing(&spec);
        assert_eq!(frames.len(), spec.frames);
        assert!(frames.iter().all(|f| f.dimensions() == (w, h)));
        assert_eq!(truth.ball_centres.len(), spec.frames);
        assert_eq!(truth.club_centres.len(), spec.frames);
        assert_eq!(truth.club_boxes.len(), spec.frames);
    }
}

/// The flight integrated independently of the renderer (the reference path: Heun's method in
/// steps of a ten-thousandth of a frame): pixel centres `k / fps` after launch for k = 1..=n.
fn physics_path(spec: &SwingSpec, tee: (f64, f64), n: usize) -> Vec<(f64, f64)> {
    let times: Vec<f64> = (1..=n).map(|k| k as f64 / spec.fps).collect();
    let path = FlightModel::default().reference_path(spec.ball_speed_mps, spec.launch_deg, &times, 1e-4 / spec.fps);
    path.into_iter().map(|(x, y)| (tee.0 + x / spec.m_per_px, tee.1 - y / spec.m_per_px)).collect()
}

#[test]
fn the_ball_flies_under_gravity_drag_and_lift_and_the_truth_is_its_launch_velocity() {
    for (w, h, fps) in PRESETS {
        let spec = if w > 640 { short(w, h, fps, 4) } else { SwingSpec::preset(w, h, fps) };
        let (_, truth) = render_swing(&spec);
        assert_eq!((truth.ball_speed_mps, truth.launch_deg), (spec.ball_speed_mps, spec.launch_deg));
        assert!(truth.launched);
        let rel = |a: f64, b: f64| (a - b).abs() / b;
        assert!(rel(truth.club_speed_mps, spec.club_speed_mps) < 0.01, "{w}x{h}@{fps}: {truth:?}");
        assert_eq!(truth.impact_frame, spec.impact_frame);
        // The ball waits on the tee until impact, then moves every frame.
        let teed = truth.ball_centres[0].expect("teed ball in frame");
        assert_eq!(teed, truth.tee);
        assert!(truth.ball_centres[..=spec.impact_frame].iter().all(|c| *c == Some(teed)));
        assert!(truth.ball_states[..=spec.impact_frame].iter().all(|s| *s == BallState::Teed));
        let first = truth.ball_centres[spec.impact_frame + 1].expect("first flight frame in frame");
        assert!(first.0 > teed.0 && first.1 < teed.1, "flies right and up");
        // Every drawn centre is where the physics puts it.
        let flight: Vec<(f64, f64)> = truth.ball_centres[spec.impact_frame + 1..].iter().map_while(|c| *c).collect();
        for (k, (got, want)) in flight.iter().zip(physics_path(&spec, teed, flight.len())).enumerate() {
            let off = (got.0 - want.0).hypot(got.1 - want.1);
            assert!(off < 1e-3, "{w}x{h}@{fps} flight frame {}: {got:?} vs {want:?}", k + 1);
        }
        // Gravity bends the path: the chord over the first 8 flight frames is flatter than
        // the launch (what a window-mean velocity reads).
        if let (Some(a), Some(b)) = (flight.first(), flight.get(7)) {
            let chord = (a.1 - b.1).atan2(b.0 - a.0).to_degrees();
            assert!(chord < spec.launch_deg - 1.0, "{w}x{h}@{fps}: chord {chord:.2}° vs {}°", spec.launch_deg);
        }
        assert_eq!(ball_path(&spec).centres, truth.ball_centres, "ball_path is what is drawn");
    }
}

#[test]
fn club_reaches_the_ball_at_impact() {
    for (w, h, fps) in PRESETS {
        let spec = short(w, h, fps, 1);
        let (_, truth) = render_swing(&spec);
        let ball = truth.ball_centres[spec.impact_frame].expect("teed ball");
        let r = spec.ball_diameter_px / 2.0;
        let gap = |i: usize| {
            let (_, _, x2, _) = truth.club_boxes[i].expect("head in frame around impact");
            ball.0 - r - x2
        };
        // The pipeline calls boxes within 2 px "touching".
        assert!(gap(spec.impact_frame) <= 2.0, "{w}x{h}@{fps}: gap {} at impact", gap(spec.impact_frame));
        assert!(gap(spec.impact_frame - 1) > 2.0, "{w}x{h}@{fps}: touching a frame early");
    }
}

#[test]
fn ball_is_not_occluded_in_flight() {
    for (w, h, fps) in [(640, 360, 120.0), (640, 360, 60.0)] {
        let spec = SwingSpec::preset(w, h, fps);
        let (frames, truth) = render_swing(&spec);
        let r = spec.ball_diameter_px / 2.0;
        let mut flight = 0;
        for (i, frame) in frames.iter().enumerate().filter(|(i, _)| truth.ball_in_flight(*i, &spec)) {
            flight += 1;
            let (x, y) = truth.ball_centres[i].expect("in flight");
            if let Some((x1, y1, x2, y2)) = truth.club_boxes[i] {
                let apart = x - r > x2 || x + r < x1 || y - r > y2 || y + r < y1;
                assert!(apart, "{w}x{h}@{fps} frame {i}: head box overlaps the ball");
            }
            // The ball's core is bright against the grass.
            let mut sum = 0.0;
            for dy in -1..=1 {
                for dx in -1..=1 {
                    let p = frame.get_pixel((x as i64 + dx) as u32, (y as i64 + dy) as u32);
                    sum += p.0.iter().map(|&v| f64::from(v)).sum::<f64>() / 3.0;
                }
            }
            assert!(sum / 9.0 > 140.0, "{w}x{h}@{fps} frame {i}: ball core is dark ({})", sum / 9.0);
        }
        assert!(flight >= 8);
    }
}

/// Mean absolute difference of two frames, 8-bit levels.
fn mean_abs_diff(a: &RgbImage, b: &RgbImage) -> f64 {
    let sum: u64 = a.as_raw().iter().zip(b.as_raw()).map(|(&x, &y)| u64::from(x.abs_diff(y))).sum();
    sum as f64 / a.as_raw().len() as f64
}

#[test]
fn a_phone_clip_holds_a_whole_swing_around_the_shot() {
    let spec = SwingSpec::phone(640, 360, 120.0, 4.0, 3.0);
    assert_eq!((spec.frames, spec.impact_frame, spec.swing), (480, 360, Swing::Full));
    let (frames, truth) = render_swing(&spec);
    assert_eq!(frames.len(), 480);
    let i0 = spec.impact_frame;
    assert!(truth.ball_states[..=i0].iter().all(|s| *s == BallState::Teed));
    assert_eq!(truth.ball_states[i0 + 1], BallState::Flying);
    assert!(truth.flight_frames(&spec) >= 8);
    assert_eq!(truth.flight_frames(&spec), spec.visible_flight_frames());
    // At address for seconds: the head held still, a ball's width or so behind the ball.
    let r = spec.ball_diameter_px / 2.0;
    let address = truth.club_boxes[0].expect("head in frame at address");
    assert!(truth.club_boxes[..120].iter().all(|b| *b == Some(address)), "the club is held still at address");
    assert!(address.2 < truth.tee.0 - r && address.2 > truth.tee.0 - r - 4.0 * spec.ball_diameter_px);
    // Held frames repeat their picture with fresh noise.
    let d = mean_abs_diff(&frames[10], &frames[11]);
    assert!(d > 1.0 && d < 6.0, "consecutive held frames differ by {d:.2} levels");
    // The backswing lifts the head (out of the picture at the top), the finish is held.
    let top = truth.club_boxes[i0 - (0.35 * spec.fps) as usize];
    assert!(top.is_none_or(|b| b.3 < address.1), "at the top the head is above address: {top:?}");
    let finish = truth.club_boxes[479];
    assert!(truth.club_boxes[440..].iter().all(|b| *b == finish), "the finish is held");
    // It reaches the ball at impact, not a frame earlier, at the spec's speed.
    let gap = |i: usize| truth.club_boxes[i].map_or(f64::INFINITY, |b| truth.tee.0 - r - b.2);
    assert!(gap(i0) <= 2.0 && gap(i0 - 1) > 2.0, "gaps {} {}", gap(i0 - 1), gap(i0));
    assert!((truth.club_speed_mps - spec.club_speed_mps).abs() / spec.club_speed_mps < 0.01);
}

#[test]
fn a_whiff_leaves_the_ball_on_the_tee_under_the_passing_head() {
    let spec = SwingSpec { ball: Ball::Unstruck, ..SwingSpec::phone(640, 360, 120.0, 0.4, 0.2) };
    let (frames, truth) = render_swing(&spec);
    assert!(!truth.launched && truth.ball_speed_mps == 0.0);
    assert!(truth.ball_states.iter().all(|s| *s == BallState::Teed));
    assert!(truth.ball_centres.iter().all(|c| *c == Some(truth.tee)));
    // The head never touches the ball, and it passes right over it.
    let r = spec.ball_diameter_px / 2.0;
    let (x, y) = truth.tee;
    let apart = |b: &BBoxF| b.2 < x - r || b.0 > x + r || b.3 < y - r || b.1 > y + r;
    assert!(truth.club_boxes.iter().flatten().all(apart), "{:?}", truth.club_boxes);
    let over = truth.club_boxes[spec.impact_frame..].iter().flatten().any(|b| b.0 < x && b.2 > x && b.3 < y - r);
    assert!(over, "{:?}", &truth.club_boxes[spec.impact_frame..]);
    // The ball is drawn: bright on the grass in every frame.
    let (x, y) = truth.tee;
    assert!(frames.iter().all(|f| f.get_pixel(x as u32, y as u32).0.iter().all(|&v| v > 150)));
}

#[test]
fn nobody_swinging_and_no_ball_are_still_scenes() {
    let still = SwingSpec { swing: Swing::Address, ball: Ball::Unstruck, ..SwingSpec::phone(640, 360, 60.0, 0.5, 0.3) };
    let (frames, truth) = render_swing(&still);
    assert!(truth.club_boxes.iter().all(|b| *b == truth.club_boxes[0] && b.is_some()));
    assert!(truth.ball_centres.iter().all(|c| *c == Some(truth.tee)));
    assert!(frames.windows(2).all(|f| f[0].as_raw() != f[1].as_raw()), "fresh noise every frame");
    // Without noise, a still scene is the same picture every frame.
    let (quiet, _) = render_swing(&SwingSpec { noise_sigma: 0.0, frames: 3, ..still.clone() });
    assert!(quiet.windows(2).all(|f| f[0].as_raw() == f[1].as_raw()));
    // No ball: nothing at the tee, in any frame, while the club still swings over it.
    let empty = SwingSpec { ball: Ball::Absent, ..SwingSpec::phone(640, 360, 60.0, 0.5, 0.3) };
    let (frames, truth) = render_swing(&empty);
    assert!(truth.ball_centres.iter().all(Option::is_none));
    assert!(truth.ball_states.iter().all(|s| *s == BallState::Absent));
    assert!(truth.club_boxes[empty.impact_frame].is_some());
    let (x, y) = truth.tee;
    let luma = |f: &RgbImage| f.get_pixel(x as u32, y as u32).0.iter().map(|&v| f64::from(v)).sum::<f64>() / 3.0;
    assert!(frames.iter().all(|f| luma(f) < 140.0), "no white ball on the tee");
}

#[test]
fn a_quick_exit_is_out_of_the_picture_by_the_third_frame_after_launch() {
    for fps in [30.0, 60.0, 120.0, 240.0] {
        let spec = SwingSpec::phone_quick_exit(640, 360, fps, 1.0, 0.5);
        let path = ball_path(&spec);
        assert_eq!(path.states[spec.impact_frame + 3], BallState::Flying);
        assert!(path.centres[spec.impact_frame + 3..].iter().all(Option::is_none), "{fps} fps: {spec:?}");
        assert!(path.centres[spec.impact_frame] == Some(path.tee));
        assert!(spec.visible_flight_frames() <= 2, "{fps} fps");
        assert!(spec.ball_diameter_px >= 12.0 && spec.ball_diameter_px <= 40.0, "{fps} fps: {spec:?}");
    }
}

#[test]
fn a_ball_that_comes_down_in_the_picture_stays_where_it_landed() {
    // 6 m/s at 20°: lands ~2.4 m out, inside a 640 px wide view of an 8 px ball (~2.7 m).
    let spec = SwingSpec { ball_speed_mps: 6.0, launch_deg: 20.0, ..SwingSpec::phone(640, 360, 60.0, 1.0, 0.1) }
        .with_ball_px(8.0);
    let path = ball_path(&spec);
    let landed = path.states.iter().position(|s| *s == BallState::Landed).expect("it lands in the clip");
    assert!(path.states[landed..].iter().all(|s| *s == BallState::Landed));
    let rest = path.centres[landed].expect("in the picture");
    assert!(path.centres[landed..].iter().all(|c| *c == Some(rest)));
    let ground_y = f64::from(spec.height) * GROUND_FRAC;
    assert!((rest.1 - (ground_y - 4.0)).abs() < 1e-9, "on the ground: {rest:?}");
    assert!(rest.0 > path.tee.0 + 300.0);
    let (_, truth) = render_swing(&SwingSpec { frames: landed + 2, ..spec.clone() });
    assert!(!truth.ball_in_flight(landed, &spec) && truth.ball_in_flight(landed - 5, &spec));
}

#[test]
fn zip_holds_the_frames_in_time_order() {
    let spec = short(640, 360, 60.0, 1);
    let (frames, _) = render_swing(&spec);
    for (format, ext) in [(ImageFormat::Png, "png"), (ImageFormat::Jpeg, "jpg")] {
        let bytes = frames_zip(&frames, format);
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip");
        assert_eq!(zip.len(), frames.len());
        let mut names: Vec<String> =
            (0..zip.len()).map(|i| zip.by_index(i).expect("entry").name().expect("utf-8 name").to_string()).collect();
        names.sort();
        for (i, name) in names.iter().enumerate() {
            assert_eq!(name, &format!("frame_{i:04}.{ext}"));
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut zip.by_name(name).expect("entry"), &mut data).expect("read");
            let img = image::load_from_memory(&data).expect("decodes").to_rgb8();
            assert_eq!(img.dimensions(), (640, 360));
            if format == ImageFormat::Png {
                assert_eq!(img.as_raw(), frames[i].as_raw(), "PNG is lossless");
            }
        }
    }
}
