//! The fit against flights integrated independently, across speeds, angles, frame rates and noise.

use super::*;

/// Exact flight for the tests, integrated independently of the fit (the reference path: Heun's
/// method in 10 µs steps, from the launch): pixel positions at `t` seconds after launch, y down.
fn flight_px(
    speed: f64,
    launch_deg: f64,
    air: &FlightModel,
    tee: (f64, f64),
    m_per_px: f64,
    times: &[f64],
) -> Vec<(f64, f64)> {
    let path = air.reference_path(speed, launch_deg, times, 1e-5);
    path.into_iter().map(|(x, y)| (tee.0 + x / m_per_px, tee.1 - y / m_per_px)).collect()
}

/// Deterministic uniform noise in ±`amp`.
struct Lcg(u64);
impl Lcg {
    fn noise(&mut self, amp: f64) -> f64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) * amp
    }
}

/// A flight launched at frame `impact` from `tee`, seen from frame `first` for `n` frames, with
/// ±`noise` px on every coordinate.
#[allow(clippy::too_many_arguments)]
fn track(
    speed: f64,
    launch_deg: f64,
    fps: f64,
    m_per_px: f64,
    impact: usize,
    first: usize,
    n: usize,
    noise: f64,
    rng: &mut Lcg,
    air: &FlightModel,
) -> Vec<TrackPoint> {
    let tee = (200.0, 600.0);
    let frames: Vec<usize> = (first..first + n).collect();
    let times: Vec<f64> = frames.iter().map(|&f| (f - impact) as f64 / fps).collect();
    flight_px(speed, launch_deg, air, tee, m_per_px, &times)
        .into_iter()
        .zip(frames)
        .map(|((x, y), frame)| TrackPoint {
            frame,
            x: x + rng.noise(noise),
            y: y + rng.noise(noise),
            w: 10.0,
            h: 10.0,
            score: 0.9,
            interpolated: false,
        })
        .collect()
}

/// A 10 px ball: 4.267 mm per pixel.
const MPP: f64 = 0.04267 / 10.0;
const TEE: (f64, f64) = (200.0, 600.0);

fn errors(fit: &LaunchFit, speed: f64, launch_deg: f64) -> (f64, f64) {
    ((fit.velocity.speed() - speed).abs() / speed, (fit.velocity.launch_deg() - launch_deg).abs())
}

#[test]
fn given_frames_a_lifetime_apart_when_propagated_then_the_integration_stays_bounded() {
    // Frame times come from the request (fps) or the container: 1e9 s between two frames
    // would be 1e12 steps of 1 ms.
    let dynamics = Dynamics::new(&FlightModel::default(), 120.0);
    assert_eq!(dynamics.steps(1.0 / 120.0), 9, "a frame gap at 120 fps: steps of at most 1 ms");
    assert_eq!(dynamics.steps(1e9), Dynamics::MAX_RK4_STEPS);
    assert_eq!(dynamics.steps(f64::INFINITY), Dynamics::MAX_RK4_STEPS);
}

#[test]
fn given_exact_physics_tracks_with_half_pixel_noise_when_fitted_then_speed_and_angle_are_within_tolerance() {
    let mut rng = Lcg(42);
    let air = FlightModel::default();
    let mut worst = (0.0f64, 0.0f64);
    for fps in [30.0, 60.0, 120.0, 240.0] {
        for speed in [20.0, 35.0, 50.0, 65.0, 75.0] {
            for angle in [5.0, 15.0, 25.0, 40.0] {
                for n in [6, FIT_POINTS] {
                    for tee in [Some(TEE), None] {
                        let pts = track(speed, angle, fps, MPP, 10, 11, n, 0.5, &mut rng, &air);
                        let tee = tee.map(|(x, y)| (x + rng.noise(0.5), y + rng.noise(0.5)));
                        let fit = fit_launch(&pts, &Clock::constant(fps), MPP, tee).expect("a fit");
                        let (ds, da) = errors(&fit, speed, angle);
                        let case = format!("{fps} fps {speed} m/s {angle}° {n} points tee {tee:?}: {fit:?}");
                        assert!(ds < 0.015 && da < 0.5, "{case}: speed {:.2} %, angle {da:.2}°", ds * 100.0);
                        assert!(fit.rms_residual_px < 1.0, "{case}");
                        assert_eq!(fit.points_used, n);
                        assert!((fit.launch_time_frames - 10.0).abs() < 0.2, "{case}");
                        worst = (worst.0.max(ds), worst.1.max(da));
                    }
                }
            }
        }
    }
    // The worst case over the grid, for the record (cargo test -- --nocapture).
    println!("worst: speed {:.3} %, angle {:.3}°", worst.0 * 100.0, worst.1);
}

#[test]
fn given_a_gravity_bent_flight_when_fitted_then_the_launch_angle_is_not_the_window_mean() {
    // The case: 60 fps, 31 m/s at 14°; the mean velocity of 8 frames reads 12.7°.
    let air = FlightModel::default();
    let pts = track(31.0, 14.0, 60.0, MPP, 10, 11, 8, 0.0, &mut Lcg(1), &air);
    let mean = crate::pipeline::kinematics::robust_velocity(&pts, &Clock::constant(60.0), MPP).expect("velocity");
    // (Gravity alone would read 12.7°; lift holds the ball up a little.)
    assert!(mean.launch_deg() < 13.2, "the window mean is biased: {mean:?}");
    let fit = fit_launch(&pts, &Clock::constant(60.0), MPP, Some(TEE)).expect("a fit");
    let (ds, da) = errors(&fit, 31.0, 14.0);
    assert!(ds < 1e-4 && da < 0.01, "{fit:?}");
    assert!((fit.launch_time_frames - 10.0).abs() < 1e-3, "{fit:?}");
    assert!(fit.tee_miss_px.is_some_and(|m| m < 0.01), "{fit:?}");
}

#[test]
fn given_drag_and_lift_when_fitted_with_gravity_alone_then_a_fast_ball_reads_measurably_wrong() {
    // Why drag and lift are in the model: at 75 m/s they are ~3 g and ~2 g.
    let air = FlightModel::default();
    let vacuum = FlightModel { cd: 0.0, cl: 0.0, ..air };
    let pts = track(75.0, 15.0, 30.0, MPP, 10, 11, 6, 0.0, &mut Lcg(1), &air);
    let full = fit_launch_with(&pts, &Clock::constant(30.0), MPP, None, &air).expect("fit");
    let bare = fit_launch_with(&pts, &Clock::constant(30.0), MPP, None, &vacuum).expect("fit");
    let (ds_full, da_full) = errors(&full, 75.0, 15.0);
    let (ds_bare, da_bare) = errors(&bare, 75.0, 15.0);
    assert!(ds_full < 1e-4 && da_full < 0.01, "{full:?}");
    assert!(ds_bare > 0.02 && da_bare > 0.5, "gravity alone: {:.2} %, {da_bare:.2}°", ds_bare * 100.0);
}

#[test]
fn given_a_ball_with_other_drag_and_lift_than_the_model_when_fitted_then_errors_stay_small() {
    // Spin changes cd and cl from shot to shot; the model's constants are typical, not exact.
    let mut rng = Lcg(9);
    let mut worst = (0.0f64, 0.0f64);
    for air in [
        FlightModel { cd: 0.30, cl: 0.20, ..FlightModel::default() },
        FlightModel { cd: 0.20, cl: 0.12, ..FlightModel::default() },
    ] {
        for fps in [30.0, 60.0, 240.0] {
            for (speed, angle) in [(75.0, 10.0), (50.0, 25.0), (20.0, 40.0)] {
                let pts = track(speed, angle, fps, MPP, 10, 11, 6, 0.5, &mut rng, &air);
                let fit = fit_launch(&pts, &Clock::constant(fps), MPP, Some(TEE))
                    .unwrap_or_else(|| panic!("fit {air:?} {fps} {speed} {angle} {pts:?}"));
                let (ds, da) = errors(&fit, speed, angle);
                assert!(ds < 0.015 && da < 0.5, "{air:?} {fps} {speed} {angle}: {:.2} %, {da:.2}°", ds * 100.0);
                worst = (worst.0.max(ds), worst.1.max(da));
            }
        }
    }
    println!("worst with other drag and lift: speed {:.3} %, angle {:.3}°", worst.0 * 100.0, worst.1);
}

#[test]
fn given_missed_first_frames_and_the_tee_when_fitted_then_the_launch_time_is_found() {
    // Launched at frame 20 (60 fps); the detector first sees the ball at frame 23.
    let air = FlightModel::default();
    let pts = track(45.0, 20.0, 60.0, MPP, 20, 23, 6, 0.5, &mut Lcg(3), &air);
    let fit = fit_launch(&pts, &Clock::constant(60.0), MPP, Some(TEE)).expect("fit");
    assert!((fit.launch_time_frames - 20.0).abs() < 0.1, "{fit:?}");
    let (ds, da) = errors(&fit, 45.0, 20.0);
    assert!(ds < 0.015 && da < 0.5, "{fit:?}");
    // Without the tee the launch is taken one frame before the first point: too late here,
    // and the speed reads the slower ball of frame 22.
    let blind = fit_launch(&pts, &Clock::constant(60.0), MPP, None).expect("fit");
    assert_eq!(blind.launch_time_frames, 22.0);
    assert!(blind.velocity.speed() < fit.velocity.speed());
    // A "tee" far beyond the allowed gap clamps the launch and says how far off it is.
    let far = fit_launch(&pts, &Clock::constant(60.0), MPP, Some((-2000.0, 1000.0))).expect("fit");
    assert_eq!(far.launch_time_frames, 23.0 - MAX_LAUNCH_BACK_FRAMES);
    assert!(far.tee_miss_px.is_some_and(|m| m > 100.0), "{far:?}");
}

#[test]
fn given_one_wild_point_when_fitted_then_it_is_dropped_and_the_rest_measure_the_launch() {
    let air = FlightModel::default();
    for wild in [0, 3, 7] {
        let mut pts = track(50.0, 18.0, 120.0, MPP, 10, 11, 8, 0.5, &mut Lcg(5), &air);
        pts[wild].y += 15.0;
        pts[wild].x -= 6.0;
        let fit = fit_launch(&pts, &Clock::constant(120.0), MPP, Some(TEE)).expect("fit");
        assert_eq!((fit.dropped_frame, fit.points_used), (Some(11 + wild), 7), "{fit:?}");
        let (ds, da) = errors(&fit, 50.0, 18.0);
        assert!(ds < 0.015 && da < 0.5, "wild point {wild}: {fit:?}");
    }
    // Half-pixel noise alone drops nothing.
    let pts = track(50.0, 18.0, 120.0, MPP, 10, 11, 8, 0.5, &mut Lcg(5), &air);
    assert_eq!(fit_launch(&pts, &Clock::constant(120.0), MPP, Some(TEE)).expect("fit").dropped_frame, None);
}

#[test]
fn given_a_flight_filmed_from_the_other_side_when_fitted_then_the_angle_is_the_same() {
    let air = FlightModel::default();
    let pts = track(40.0, 22.0, 60.0, MPP, 10, 11, 6, 0.0, &mut Lcg(1), &air);
    let mirrored: Vec<TrackPoint> = pts.iter().map(|p| TrackPoint { x: 1000.0 - p.x, ..*p }).collect();
    let a = fit_launch(&pts, &Clock::constant(60.0), MPP, Some(TEE)).expect("fit");
    let b = fit_launch(&mirrored, &Clock::constant(60.0), MPP, Some((1000.0 - TEE.0, TEE.1))).expect("fit");
    assert!(b.velocity.vx < 0.0);
    assert!((a.velocity.launch_deg() - b.velocity.launch_deg()).abs() < 1e-6, "{a:?} {b:?}");
    assert!((a.velocity.speed() - b.velocity.speed()).abs() < 1e-6);
}

#[test]
fn given_too_little_or_bad_input_when_fitted_then_there_is_no_fit() {
    let air = FlightModel::default();
    let pts = track(40.0, 22.0, 60.0, MPP, 10, 11, 6, 0.0, &mut Lcg(1), &air);
    assert!(fit_launch(&pts[..2], &Clock::constant(60.0), MPP, None).is_none(), "two points");
    assert!(fit_launch(&pts[..3], &Clock::constant(60.0), MPP, None).is_some(), "three points");
    assert!(fit_launch(&pts, &Clock::constant(0.0), MPP, None).is_none());
    assert!(fit_launch(&pts, &Clock::constant(60.0), f64::NAN, None).is_none());
    // Interpolated points do not count.
    let mut gap = pts.clone();
    for p in &mut gap[1..5] {
        p.interpolated = true;
    }
    assert!(fit_launch(&gap, &Clock::constant(60.0), MPP, None).is_none());
    // Two points in one frame, a NaN, a ball at rest.
    let mut dup = pts.clone();
    dup[1].frame = dup[0].frame;
    assert!(fit_launch(&dup, &Clock::constant(60.0), MPP, None).is_none());
    let mut nan = pts.clone();
    nan[2].x = f64::NAN;
    assert!(fit_launch(&nan, &Clock::constant(60.0), MPP, None).is_none());
    let still: Vec<TrackPoint> = pts.iter().map(|p| TrackPoint { x: 300.0, y: 400.0, ..*p }).collect();
    assert!(fit_launch(&still, &Clock::constant(60.0), MPP, None).is_none());
}

#[test]
fn jittering_frame_times_are_measured_not_assumed() {
    // A "120 fps" phone clip whose frames are stamped up to 1.5 ms off the grid: the points lie
    // where the ball was at the true times. Fitting them on those times recovers the launch;
    // assuming 1/120 s steps does not.
    let (speed, angle, fps, impact) = (30.0, 15.0, 120.0, 10usize);
    let stamp = |f: usize| f as f64 / fps + 0.0015 * (2.399963 * f as f64).sin();
    let frames: Vec<usize> = (impact + 1..impact + 11).collect();
    let times: Vec<f64> = frames.iter().map(|&f| stamp(f) - stamp(impact)).collect();
    let air = FlightModel::default();
    let pts: Vec<TrackPoint> = flight_px(speed, angle, &air, TEE, MPP, &times)
        .into_iter()
        .zip(&frames)
        .map(|((x, y), &frame)| TrackPoint { frame, x, y, w: 10.0, h: 10.0, score: 0.9, interpolated: false })
        .collect();
    let clock = Clock::from_times((0..40).map(stamp).collect(), fps);
    let measured = fit_launch(&pts, &clock, MPP, Some(TEE)).expect("fit");
    let assumed = fit_launch(&pts, &Clock::constant(fps), MPP, Some(TEE)).expect("fit");
    let (ds, da) = errors(&measured, speed, angle);
    assert!(ds < 0.005 && da < 0.2, "measured times: {:.2} %, {da:.2}°", ds * 100.0);
    let (ds_assumed, da_assumed) = errors(&assumed, speed, angle);
    eprintln!("measured: {:.3} % {da:.3}°; assumed: {:.3} % {da_assumed:.3}°", ds * 100.0, ds_assumed * 100.0);
    assert!(ds_assumed > 3.0 * ds.max(0.001), "assumed 1/120 s: {:.2} % vs {:.2} %", ds_assumed * 100.0, ds * 100.0);
}
