//! Motion candidates on drawn frames (a textured ground, a white ball, a camera that jumps) and the
//! flight points they add to a detector's track.

use super::*;

/// A frame of `w` x `h` with a fixed pseudo-random texture (grass-like: 60-120 grey levels in
/// green) and white balls of diameter `d` at `balls`.
fn frame(w: u32, h: u32, balls: &[(f64, f64)], d: f64, brightness: i32) -> DecodedFrame {
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let n = (x.wrapping_mul(73_856_093) ^ y.wrapping_mul(19_349_663)) % 61;
            let g = (60 + n as i32 + brightness).clamp(0, 255) as u8;
            rgb.extend_from_slice(&[g / 2, g, g / 3]);
        }
    }
    for &(cx, cy) in balls {
        let (x0, x1) = ((cx - d).max(0.0) as u32, ((cx + d) as u32).min(w - 1));
        let (y0, y1) = ((cy - d).max(0.0) as u32, ((cy + d) as u32).min(h - 1));
        for y in y0..=y1 {
            for x in x0..=x1 {
                if (f64::from(x) + 0.5 - cx).hypot(f64::from(y) + 0.5 - cy) <= d / 2.0 {
                    let p = ((y * w + x) * 3) as usize;
                    rgb[p..p + 3].copy_from_slice(&[245, 245, 240]);
                }
            }
        }
    }
    DecodedFrame { name: "drawn".into(), width: w, height: h, rgb }
}

fn field_of(frames: &[DecodedFrame]) -> Vec<Option<Vec<Blob>>> {
    let mut field = MotionField::new(MotionConfig::default());
    for f in frames {
        field.push(f);
    }
    field.finish()
}

#[test]
fn a_moving_ball_is_one_blob_where_it_is_and_a_resting_ball_is_none() {
    // A ball flying right at 12 px a frame beside one at rest.
    let rest = (50.0, 150.0);
    let frames: Vec<DecodedFrame> =
        (0..5).map(|i| frame(320, 180, &[rest, (80.0 + 12.0 * i as f64, 60.0)], 7.0, 0)).collect();
    let field = field_of(&frames);
    assert_eq!(field.len(), 5);
    assert!(field[0].is_none() && field[4].is_none(), "the first and last frame have one neighbour");
    for (i, evidence) in field.iter().enumerate().take(4).skip(1) {
        let blobs = evidence.as_ref().expect("evidence");
        assert_eq!(blobs.len(), 1, "frame {i}: {blobs:?}");
        let b = blobs[0];
        let x = 80.0 + 12.0 * i as f64;
        assert!((b.x - x).abs() <= 1.0 && (b.y - 60.0).abs() <= 1.0, "frame {i}: {b:?}");
        assert!((5.0..=9.0).contains(&b.w.max(b.h)), "frame {i}: {b:?}");
    }
}

#[test]
fn a_ball_slower_than_half_its_size_a_frame_leaves_at_most_specks_on_itself() {
    // 3 px a frame with a 7 px ball: frames one before and one after cover most of it, so only
    // its rim can rise against both; whatever is found lies on the ball.
    let frames: Vec<DecodedFrame> = (0..3).map(|i| frame(200, 120, &[(60.0 + 3.0 * i as f64, 60.0)], 7.0, 0)).collect();
    let field = field_of(&frames);
    let blobs = field[1].as_ref().expect("evidence");
    assert!(blobs.iter().all(|b| (b.x - 63.0).hypot(b.y - 60.0) <= 4.0), "{blobs:?}");
}

#[test]
fn a_frame_where_the_picture_changed_gives_no_evidence_not_a_thousand_candidates() {
    // The exposure steps up by 40 grey levels at frame 1, and down again at frame 2.
    let frames = [frame(200, 120, &[], 7.0, 0), frame(200, 120, &[], 7.0, 40), frame(200, 120, &[], 7.0, 0)];
    assert_eq!(field_of(&frames)[1], None);
    // A still picture gives evidence: no candidates.
    let still = [frame(200, 120, &[], 7.0, 0), frame(200, 120, &[], 7.0, 0), frame(200, 120, &[], 7.0, 0)];
    assert_eq!(field_of(&still)[1], Some(Vec::new()));
}

#[test]
fn a_large_frame_is_averaged_down_and_the_blob_comes_back_in_frame_pixels() {
    // 2560 x 1440: worked at 1280 x 720 (scale 2); a 14 px ball at 24 px a frame.
    let frames: Vec<DecodedFrame> =
        (0..3).map(|i| frame(2560, 1440, &[(600.0 + 24.0 * i as f64, 400.0)], 14.0, 0)).collect();
    let field = field_of(&frames);
    let blobs = field[1].as_ref().expect("evidence");
    assert_eq!(blobs.len(), 1, "{blobs:?}");
    assert!((blobs[0].x - 624.0).abs() <= 2.0 && (blobs[0].y - 400.0).abs() <= 2.0, "{:?}", blobs[0]);
    assert!((10.0..=18.0).contains(&blobs[0].w), "{:?}", blobs[0]);
}

#[test]
fn a_body_sized_mover_is_not_a_candidate() {
    // A 60 px white patch (a shirt, a glove close to the camera) moving in a 180 px frame.
    let frames: Vec<DecodedFrame> =
        (0..3).map(|i| frame(320, 180, &[(100.0 + 40.0 * i as f64, 90.0)], 60.0, 0)).collect();
    assert_eq!(field_of(&frames)[1], Some(Vec::new()));
}

fn ball(x: f64, y: f64, score: f32) -> Detection {
    Detection { class: Class::GolfBall, score, bbox: BBox::from_center(x as f32, y as f32, 8.0, 8.0) }
}

fn blob(x: f64, y: f64) -> Blob {
    Blob { x, y, w: 8.0, h: 8.0, rise: 60.0 }
}

/// A flight from the tee at (100, 400): 18 px a frame right, 10 up, gravity 0.5 px a frame per frame.
fn truth(k: usize) -> (f64, f64) {
    let t = k as f64;
    (100.0 + 18.0 * t, 400.0 - 10.0 * t + 0.25 * t * t)
}

/// Six frames at rest, then the flight; the detector sees the flight's frames in `seen` (counted
/// from launch, 1-based) and the motion field has a blob on the ball in every flight frame, plus
/// a glint at `(300, 450)` in every frame.
fn shot(flight: usize, seen: &[usize]) -> (Vec<Vec<Detection>>, Vec<Option<Vec<Blob>>>) {
    let mut detections = Vec::new();
    let mut motion = Vec::new();
    for i in 0..6 + flight {
        if i < 6 {
            detections.push(vec![ball(100.0, 400.0, 0.9)]);
            motion.push(Some(vec![blob(300.0, 450.0)]));
            continue;
        }
        let k = i - 5;
        let (x, y) = truth(k);
        detections.push(if seen.contains(&k) { vec![ball(x, y, 0.6 + 0.01 * k as f32)] } else { Vec::new() });
        motion.push(Some(vec![blob(x + 0.7, y - 0.4), blob(300.0, 450.0)]));
    }
    (detections, motion)
}

#[test]
fn a_flight_the_detector_lost_is_carried_on_by_the_blobs_on_its_path() {
    let (detections, motion) = shot(20, &[1, 2, 3]);
    let fill = extend_flight(&detections, &motion, (1280, 720));
    assert_eq!(fill.added, 17, "every flight frame after the third");
    for (i, frame) in fill.detections.iter().enumerate().skip(9) {
        let (x, y) = truth(i - 5);
        let balls: Vec<_> = frame.iter().filter(|d| d.class == Class::GolfBall).collect();
        assert_eq!(balls.len(), 1, "frame {i}");
        let (cx, cy) = balls[0].bbox.center();
        assert!((f64::from(cx) - x).hypot(f64::from(cy) - y) < 1.5, "frame {i}: ({cx}, {cy}) vs ({x}, {y})");
        assert_eq!(balls[0].score, 0.61, "the lowest detected flight score");
        assert_eq!(balls[0].bbox.width(), 8.0, "the flight's ball size");
    }
    assert!(fill.detections.iter().flatten().all(|d| d.bbox.center() != (300.0, 450.0)), "the glint stays out");
}

#[test]
fn gaps_inside_a_flight_take_the_blob_on_the_line_and_not_a_stray() {
    let (detections, mut motion) = shot(10, &[1, 2, 5, 6, 9, 10]);
    // Frame of flight point 7: the ball's blob is missing, a stray sits 40 px off the line.
    let (x, y) = truth(7);
    motion[5 + 7] = Some(vec![blob(x, y + 40.0)]);
    let fill = extend_flight(&detections, &motion, (1280, 720));
    assert_eq!(fill.added, 3, "points 3, 4 and 8");
    assert!(fill.detections[5 + 7].is_empty());
    for k in [3, 4, 8] {
        assert_eq!(fill.detections[5 + k].len(), 1, "flight point {k}");
    }
}

#[test]
fn blobs_never_start_a_flight_without_the_detector() {
    // No ball at rest, no flight: the blobs on a perfect flight path add nothing.
    let (mut detections, motion) = shot(12, &[]);
    for d in &mut detections {
        d.clear();
    }
    let fill = extend_flight(&detections, &motion, (1280, 720));
    assert_eq!(fill.added, 0);
    assert_eq!(fill.detections, detections);
}

#[test]
fn a_ball_seen_at_rest_and_then_lost_is_followed_by_the_blobs_that_leave_it_on_a_line() {
    for seen in [&[][..], &[1][..]] {
        let (detections, motion) = shot(12, seen);
        let fill = extend_flight(&detections, &motion, (1280, 720));
        assert_eq!(fill.added, 12 - seen.len(), "seen {seen:?}");
        for (i, frame) in fill.detections.iter().enumerate().skip(6) {
            let (x, y) = truth(i - 5);
            let (cx, cy) = frame[0].bbox.center();
            assert!((f64::from(cx) - x).hypot(f64::from(cy) - y) < 1.5, "frame {i}");
        }
        let added = fill.detections.iter().skip(6 + seen.len()).map(|f| f[0].score).collect::<Vec<_>>();
        assert!(added.iter().all(|s| *s == 0.9), "the rest's score: {added:?}");
    }
}

#[test]
fn blobs_that_do_not_leave_the_rest_on_a_line_are_not_a_flight() {
    // A glint crossing the picture 200 px above the tee, left to right at 18 px a frame: it moves
    // on a line, but not one that comes from the ball at rest.
    let (detections, _) = shot(12, &[]);
    let motion: Vec<Option<Vec<Blob>>> =
        (0..detections.len()).map(|i| Some(vec![blob(60.0 + 18.0 * i as f64, 200.0)])).collect();
    assert_eq!(extend_flight(&detections, &motion, (1280, 720)).added, 0);
    // Blobs that leave the rest but scatter (a spray of divot, sparks of light) are not either.
    let (detections, _) = shot(12, &[]);
    let scatter = [(130.0, 380.0), (110.0, 340.0), (180.0, 400.0), (90.0, 350.0)];
    let motion: Vec<Option<Vec<Blob>>> =
        (0..detections.len()).map(|i| Some(vec![blob(scatter[i % 4].0, scatter[i % 4].1)])).collect();
    assert_eq!(extend_flight(&detections, &motion, (1280, 720)).added, 0);
}

#[test]
fn a_blob_inside_a_detected_club_head_is_not_the_ball() {
    // The club head follows the ball's first frames (a follow-through along the line): the
    // detector boxes it, so its blobs are not candidates, and with the ball's own blobs gone
    // nothing is added.
    let (mut detections, mut motion) = shot(6, &[]);
    for (k, m) in motion.iter_mut().enumerate().skip(6) {
        let (x, y) = truth(k - 5);
        *m = Some(vec![blob(x, y)]);
        detections[k].push(Detection {
            class: Class::ClubHead,
            score: 0.8,
            bbox: BBox::from_center(x as f32, y as f32, 30.0, 20.0),
        });
    }
    assert_eq!(extend_flight(&detections, &motion, (1280, 720)).added, 0);
}

#[test]
fn the_flight_stops_at_the_frame_edge_and_after_the_blobs_stop() {
    // The blobs end after flight point 8 (the ball left a lit area); nothing is invented past it.
    let (detections, mut motion) = shot(20, &[1, 2, 3]);
    for m in motion.iter_mut().skip(5 + 9) {
        *m = Some(vec![blob(300.0, 450.0)]);
    }
    assert_eq!(extend_flight(&detections, &motion, (1280, 720)).added, 5, "points 4 to 8");
    // A frame 300 px wide ends the flight at x = 300 (point 11 is at 298, 12 at 316).
    let (detections, motion) = shot(20, &[1, 2, 3]);
    let fill = extend_flight(&detections, &motion, (300, 720));
    assert_eq!(fill.added, 8, "points 4 to 11");
}

#[test]
fn a_blob_much_larger_than_the_ball_on_the_path_is_not_the_ball() {
    // After the third flight point the only blob on the path is a 40 px glove.
    let (detections, mut motion) = shot(8, &[1, 2, 3]);
    for (k, m) in motion.iter_mut().enumerate().skip(9) {
        let (x, y) = truth(k - 5);
        *m = Some(vec![Blob { x, y, w: 40.0, h: 40.0, rise: 80.0 }]);
    }
    assert_eq!(extend_flight(&detections, &motion, (1280, 720)).added, 0);
}

#[test]
fn a_mover_that_started_while_the_ball_sat_is_not_the_flight_motion_extends() {
    // Hands read as a "ball" (0.3) move 30 px a frame from frame 2, while the ball rests until
    // frame 5; the detector then sees the flight twice and loses it; blobs show the flight and
    // the hands throughout.
    let (mut detections, mut motion) = shot(12, &[1, 2]);
    for (i, (d, m)) in detections.iter_mut().zip(motion.iter_mut()).enumerate().skip(2) {
        let hands = (40.0 + 30.0 * i as f64, 250.0 - 5.0 * i as f64);
        d.push(ball(hands.0, hands.1, 0.3));
        if let Some(blobs) = m.as_mut() {
            blobs.push(blob(hands.0, hands.1));
        }
    }
    let fill = extend_flight(&detections, &motion, (1280, 720));
    assert_eq!(fill.added, 10, "flight points 3 to 12");
    for k in 3..=12 {
        let (x, y) = truth(k);
        let near = fill.detections[5 + k].iter().filter(|d| {
            let (cx, cy) = d.bbox.center();
            (f64::from(cx) - x).hypot(f64::from(cy) - y) < 1.5
        });
        assert_eq!(near.count(), 1, "flight point {k}");
    }
}

#[test]
fn a_grainy_picture_gives_no_evidence_and_single_pixels_are_not_candidates() {
    // Temporal grain: each frame has 200 bright 2x2 specks of its own.
    let grain = |seed: u64| {
        let mut f = frame(320, 180, &[], 7.0, 0);
        let mut state = seed;
        for _ in 0..200 {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let (x, y) = ((state >> 33) as usize % 318, (state >> 13) as usize % 178);
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let p = ((y + dy) * 320 + x + dx) * 3;
                f.rgb[p..p + 3].copy_from_slice(&[230, 230, 230]);
            }
        }
        f
    };
    assert_eq!(field_of(&[grain(1), grain(2), grain(3)])[1], None, "200 specks a frame");
    // A few isolated pixels are not candidates either, and not too many to judge the frame.
    let mut specks = frame(320, 180, &[], 7.0, 0);
    for p in [1000usize, 20_000, 40_000] {
        specks.rgb[p * 3..p * 3 + 3].copy_from_slice(&[250, 250, 250]);
    }
    let still = frame(320, 180, &[], 7.0, 0);
    assert_eq!(field_of(&[still.clone(), specks, still])[1], Some(Vec::new()));
}
