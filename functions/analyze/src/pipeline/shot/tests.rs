//! The shot from scripted detections: verdicts, metrics, and what is not the ball in play.

use super::*;
use models::{BBox, Class};

/// A deterministic ±1 px jitter.
fn jitter(i: usize, salt: usize) -> f32 {
    (((i * 7919 + salt * 104_729) % 17) as f32 / 8.0) - 1.0
}

/// Detections of a simulated swing: the club head sweeps into a teed ball, which then flies at
/// `speed` m/s and `launch` degrees (drag-free over these few frames), filmed side-on at `fps`
/// with `m_per_px`. One flight frame is missed and a static white marking is always present.
fn swing(speed: f64, launch: f64, fps: f64, m_per_px: f64, club_mps: f64) -> (Vec<Vec<Detection>>, usize) {
    let (tee_x, tee_y) = (300.0f64, 520.0f64);
    let impact = 10usize;
    let (vx, vy) = (speed * launch.to_radians().cos(), speed * launch.to_radians().sin());
    let club_px_per_frame = club_mps / m_per_px / fps;
    let frames = (0..26)
        .map(|i| {
            let mut dets = vec![Detection {
                class: Class::GolfBall,
                score: 0.9,
                bbox: BBox::from_center(60.0, 660.0, 12.0, 12.0),
            }];
            let (bx, by) = if i <= impact {
                (tee_x, tee_y)
            } else {
                let t = (i - impact) as f64 / fps;
                (tee_x + vx * t / m_per_px, tee_y - (vy * t - 4.905 * t * t) / m_per_px)
            };
            if i != impact + 4 {
                let (jx, jy) = (jitter(i, 1), jitter(i, 2));
                dets.push(Detection {
                    class: Class::GolfBall,
                    score: 0.75,
                    bbox: BBox::from_center(bx as f32 + jx, by as f32 + jy, 12.0, 12.0),
                });
            }
            if i <= impact + 2 {
                let cx = tee_x - 20.0 - club_px_per_frame * (impact as f64 - i as f64);
                dets.push(Detection {
                    class: Class::ClubHead,
                    score: 0.8,
                    bbox: BBox::from_center(cx as f32, tee_y as f32, 44.0, 30.0),
                });
            }
            dets
        })
        .collect();
    (frames, impact)
}

#[test]
fn recovers_speed_launch_and_impact_of_a_simulated_drive() {
    for (speed, launch, fps, mpp) in
        [(60.0, 12.0, 120.0, 0.005), (45.0, 20.0, 240.0, 0.004), (30.0, 28.0, 120.0, 0.003)]
    {
        let (frames, impact) = swing(speed, launch, fps, mpp, 40.0);
        let m = analyze_shot(
            &frames,
            &ShotParams {
                clock: Clock::constant(fps),
                m_per_px: mpp,
                smoothing_window: 3,
                frame_size: (1280, 720),
                first_frame: 0,
            },
        );
        let got = m.ball_speed_mps.expect("speed");
        assert!((got - speed).abs() / speed < 0.05, "speed {got} vs {speed}");
        let angle = m.launch_deg.expect("launch");
        assert!((angle - launch).abs() < 1.5, "launch {angle} vs {launch}");
        let hit = m.impact_frame.expect("impact") as i64;
        assert!((hit - impact as i64).abs() <= 1, "impact {hit} vs {impact}");
        let club = m.club_speed_mps.expect("club speed");
        assert!((club - 40.0).abs() / 40.0 < 0.05, "club {club}");
        assert!(m.carry_m.is_some_and(|c| c > 0.0));
        assert!((m.ball_speed_mph.expect("mph") - got * MPS_TO_MPH).abs() < 0.02);
        assert_eq!(m.tracking.max_gap, 1, "the missed frame is bridged");
        assert!(m.confidence > 0.5 && m.confidence <= 1.0, "{}", m.confidence);
    }
}

#[test]
fn no_ball_means_no_kinematics_and_zero_confidence() {
    let frames: Vec<Vec<Detection>> = vec![Vec::new(); 10];
    let m = analyze_shot(
        &frames,
        &ShotParams {
            clock: Clock::constant(120.0),
            m_per_px: 0.01,
            smoothing_window: 3,
            frame_size: (1280, 720),
            first_frame: 0,
        },
    );
    assert_eq!((m.ball_speed_mps, m.launch_deg, m.carry_m, m.impact_frame), (None, None, None, None));
    assert_eq!(m.confidence, 0.0);
    assert_eq!(m.tracking.n_frames, 10);
}

fn params() -> ShotParams {
    ShotParams {
        clock: Clock::constant(120.0),
        m_per_px: 0.002,
        smoothing_window: 3,
        frame_size: (1280, 720),
        first_frame: 0,
    }
}

fn at(x: f64, y: f64, score: f32) -> Detection {
    Detection { class: Class::GolfBall, score, bbox: BBox::from_center(x as f32, y as f32, 14.0, 14.0) }
}

#[test]
fn given_a_resting_ball_with_detector_jitter_then_no_shot_because_it_did_not_move() {
    let frames: Vec<Vec<Detection>> = (0..60)
        .map(|i| vec![at(400.0 + f64::from(jitter(i, 1)) * 2.0, 500.0 + f64::from(jitter(i, 2)) * 2.0, 0.6)])
        .collect();
    let m = analyze_shot(&frames, &params());
    assert_eq!(m.shot, ShotVerdict::none(NoShotReason::BallDidNotMove));
    assert_eq!((m.ball_speed_mps, m.launch_deg, m.carry_m, m.club_speed_mps), (None, None, None, None));
    assert_eq!(m.confidence, 0.0);
}

#[test]
fn given_a_ball_that_leaves_the_frame_within_three_frames_then_no_shot_because_it_left() {
    let mut frames: Vec<Vec<Detection>> = (0..20).map(|_| vec![at(1000.0, 500.0, 0.8)]).collect();
    frames.extend((1..=3).map(|k| vec![at(1000.0 + 90.0 * f64::from(k), 500.0 - 20.0 * f64::from(k), 0.8)]));
    frames.extend((0..10).map(|_| Vec::new()));
    let m = analyze_shot(&frames, &params());
    assert_eq!(m.shot, ShotVerdict::none(NoShotReason::LeftFrameAtLaunch));
    assert_eq!(m.ball_speed_mps, None);
}

#[test]
fn given_no_detections_then_no_shot_because_no_ball() {
    let m = analyze_shot(&vec![Vec::new(); 30], &params());
    assert_eq!(m.shot, ShotVerdict::none(NoShotReason::NoBall));
}

#[test]
fn given_a_flight_faster_than_any_golf_ball_then_no_shot_because_implausible() {
    // 150 px a frame at 120 fps and 6.7 mm a pixel: 120 m/s.
    let mut frames: Vec<Vec<Detection>> = (0..10).map(|_| vec![at(50.0, 600.0, 0.8)]).collect();
    frames.extend((1..=6).map(|k| vec![at(50.0 + 150.0 * f64::from(k), 600.0 - 20.0 * f64::from(k), 0.8)]));
    let m = analyze_shot(&frames, &ShotParams { m_per_px: 0.0067, ..params() });
    assert_eq!(m.shot, ShotVerdict::none(NoShotReason::ImplausibleLaunch));
    assert_eq!(m.ball_speed_mps, None);
}

#[test]
fn impact_frames_count_from_the_first_frame_given() {
    let (frames, impact) = swing(45.0, 20.0, 240.0, 0.004, 40.0);
    let m = analyze_shot(&frames, &ShotParams { first_frame: 1000, ..params() });
    let m0 = analyze_shot(&frames, &params());
    assert_eq!(m0.impact_frame.map(|f| f + 1000), m.impact_frame);
    assert!(m.impact_frame.is_some_and(|f| f.abs_diff(1000 + impact) <= 1));
}

#[test]
fn given_a_flight_whose_path_misses_the_ball_at_rest_then_no_shot_because_implausible() {
    // A ball rests at (100, 600) while a "flight" crosses the sky far from it.
    let mut frames: Vec<Vec<Detection>> = (0..12).map(|_| vec![at(100.0, 600.0, 0.9)]).collect();
    frames.extend((0..10).map(|k| vec![at(600.0 + 20.0 * f64::from(k), 300.0 - 5.0 * f64::from(k), 0.8)]));
    let m = analyze_shot(&frames, &params());
    assert_eq!(m.shot, ShotVerdict::none(NoShotReason::ImplausibleLaunch));
    assert_eq!(m.ball_speed_mps, None);
}

#[test]
fn given_a_club_head_read_as_a_wide_ball_then_it_is_not_taken_for_the_flight() {
    // A 14 px ball rests; a 50 px "ball" (the blurred head) sweeps past it and up.
    let wide = |x: f64, y: f64| Detection {
        class: Class::GolfBall,
        score: 0.7,
        bbox: BBox::from_center(x as f32, y as f32, 50.0, 50.0),
    };
    let frames: Vec<Vec<Detection>> = (0..24)
        .map(|i| {
            let mut d = vec![at(400.0, 500.0, 0.9)];
            if (8..18).contains(&i) {
                d.push(wide(200.0 + 40.0 * f64::from(i - 8), 520.0 - 25.0 * f64::from(i - 8)));
            }
            d
        })
        .collect();
    let m = analyze_shot(&frames, &params());
    assert_eq!(m.shot, ShotVerdict::none(NoShotReason::BallDidNotMove));
}

#[test]
fn given_a_fast_ball_streaked_diagonally_then_its_wide_boxes_are_its_flight() {
    // A 20 px ball rests at (256, 574), then flies at 115 px a frame at 25 degrees: each frame's
    // streak is a 72x47 box (a 20 px capsule 57 px long), wider than twice the ball on both sides.
    let (c, s) = (25f64.to_radians().cos(), 25f64.to_radians().sin());
    let frames: Vec<Vec<Detection>> = (0..20)
        .map(|i| {
            if i < 10 {
                return vec![Detection {
                    class: Class::GolfBall,
                    score: 0.9,
                    bbox: BBox::from_center(256.0, 574.0, 20.0, 21.0),
                }];
            }
            let k = f64::from(i - 9);
            let (x, y) = (256.0 + 115.0 * k * c, 574.0 - 115.0 * k * s);
            vec![Detection {
                class: Class::GolfBall,
                score: 0.9,
                bbox: BBox::from_center(x as f32, y as f32, 72.0, 47.0),
            }]
        })
        .collect();
    let p = ShotParams { frame_size: (3000, 1000), ..params() };
    let m = analyze_shot(&frames, &p);
    assert!(m.shot.detected, "{:?}", m.shot);
    assert!(m.launch_deg.is_some_and(|a| (a - 25.0).abs() < 2.0), "{:?}", m.launch_deg);
}

#[test]
fn a_streak_box_fits_the_line_from_the_rest_and_a_club_box_does_not() {
    let b = |cx: f32, cy: f32, w: f32, h: f32| BBox::from_center(cx, cy, w, h);
    assert!(rest::streak_of(&b(369.0, 522.0, 78.0, 58.0), (256.0, 574.0), 21.0));
    assert!(rest::streak_of(&b(600.0, 413.0, 72.0, 47.0), (256.0, 574.0), 21.0));
    // Straight up: a tall thin box.
    assert!(rest::streak_of(&b(256.0, 400.0, 22.0, 90.0), (256.0, 574.0), 21.0));
    // A 50 px square head 30 degrees off a 14 px ball's rest; a 288x258 blob of a whole arm.
    assert!(!rest::streak_of(&b(443.0, 475.0, 50.0, 50.0), (400.0, 500.0), 14.0));
    assert!(!rest::streak_of(&b(516.0, 187.0, 288.0, 258.0), (256.0, 574.0), 21.0));
    // A streak across the line from the rest is not its streak.
    assert!(!rest::streak_of(&b(600.0, 413.0, 47.0, 72.0), (256.0, 574.0), 21.0));
}

#[test]
fn a_measured_shot_carries_its_flight_for_the_tracer_in_clip_frames() {
    let (fps, mpp, speed, launch) = (240.0, 0.004, 45.0, 20.0);
    let (frames, impact) = swing(speed, launch, fps, mpp, 40.0);
    let p = ShotParams { first_frame: 100, ..params() };
    let p = ShotParams { clock: Clock::constant(fps), m_per_px: mpp, ..p };
    let m = analyze_shot(&frames, &p);
    assert!(m.shot.detected, "{:?}", m.shot);
    let f = m.flight.as_ref().expect("a flight");
    assert!(f.is_valid());
    // The launch: the tee, at the impact frame (clip numbering).
    assert!((f.launch.x - 300.0).hypot(f.launch.y - 520.0) <= 1.5, "launch {:?}", f.launch);
    assert!((f.launch.frame - (impact + 100) as f64).abs() <= 1.0, "launch at {}", f.launch.frame);
    // Every detected flight point, in clip frames (the missed frame is not made up).
    let flown: Vec<f64> = f.measured.iter().map(|q| q.frame).collect();
    assert_eq!(flown.first(), Some(&((impact + 101) as f64)));
    assert_eq!(flown.last(), Some(&125.0));
    assert!(!flown.contains(&((impact + 104) as f64)));
    // The continuation starts on the last point and follows the ball (drag-free here, so it
    // drifts a little as it goes) until it leaves the 1280x720 picture.
    let last = f.measured.last().expect("points");
    assert_eq!(f.extrapolated.first().map(|q| (q.x, q.y)), Some((last.x, last.y)));
    let (vx, vy) = (speed * launch.to_radians().cos(), speed * launch.to_radians().sin());
    let truth = |frame: f64| {
        let t = (frame - (impact + 100) as f64) / fps;
        (300.0 + vx * t / mpp, 520.0 - (vy * t - 4.905 * t * t) / mpp)
    };
    // (47 px a frame: the ball is out of the picture 7 frames later.)
    let on = f.extrapolated.iter().find(|q| q.frame >= last.frame + 5.0).expect("five frames on");
    let (tx, ty) = truth(on.frame);
    assert!((on.x - tx).hypot(on.y - ty) < 3.0, "{on:?} vs ({tx:.1}, {ty:.1})");
    let end = f.extrapolated.last().expect("an end");
    assert!(end.x > 1280.0 || end.y < 0.0, "the dashes end at the edge: {end:?}");
}
