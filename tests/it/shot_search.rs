//! Phone-shaped clips through `/cv/analyze/video` on the dispatcher with the real detector: the
//! shot at the start, the middle and the end of a clip at 60, 120 and 240 fps, measured against the
//! rendered truth (a ball under gravity, drag and lift), and the clips that hold no shot (a ball
//! that never moves, no ball, a ball gone within three frames) answered with their reason.

use golfiq_tests::scene::{render_swing, Ball, Swing, SwingSpec, Truth};
use golfiq_tests::{spawn_app, TestApp};
use serde_json::Value;

const KEY: &str = "shot-search-key";

async fn app() -> TestApp {
    spawn_app(&[("REQUIRE_API_KEY", "1"), ("API_KEY", KEY)]).await
}

/// Renders `spec`, encodes it as an H.264 MP4 (a keyframe a second, as phones do) and posts it.
async fn analyse(app: &TestApp, spec: &SwingSpec, variant: &str) -> (Value, Truth) {
    let (frames, truth) = render_swing(spec);
    let mp4 = clipkit::encode_mp4(&frames, spec.fps).expect("encodes");
    let ref_len_m = format!("{}", spec.m_per_px * 100.0);
    let fields = [("ref_len_m", ref_len_m.as_str()), ("ref_len_px", "100"), ("model_variant", variant)];
    let (status, body) = golfiq_tests::post_video(app, KEY, mp4, &fields).await;
    assert_eq!(status, 200, "{body}");
    (body, truth)
}

/// A shot: speed, launch and impact against the truth, and the detector's work bounded.
fn check_shot(case: &str, body: &Value, truth: &Truth) -> Result<(), String> {
    let m = &body["metrics"];
    if body["shot"]["detected"] != true {
        return Err(format!("{case}: no shot: {} (scan {})", body["shot"], body["scan"]));
    }
    let speed = m["ball_speed_mps"].as_f64().ok_or(format!("{case}: no speed"))?;
    let launch = m["launch_deg"].as_f64().ok_or(format!("{case}: no launch"))?;
    let impact = m["impact_frame"].as_u64().ok_or(format!("{case}: no impact"))? as usize;
    let mut problems = Vec::new();
    let speed_err = (speed - truth.ball_speed_mps).abs() / truth.ball_speed_mps;
    if speed_err > 0.03 {
        problems.push(format!("speed {speed:.2} vs {:.2} m/s", truth.ball_speed_mps));
    }
    if (launch - truth.launch_deg).abs() > 1.0 {
        problems.push(format!("launch {launch:.2} vs {:.2} deg", truth.launch_deg));
    }
    if impact.abs_diff(truth.impact_frame) > 1 {
        problems.push(format!("impact {impact} vs {}", truth.impact_frame));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{case}: {} (scan {}, tracking {})", problems.join("; "), body["scan"], m["tracking"]))
    }
}

#[tokio::test]
async fn the_shot_is_measured_wherever_it_happens_in_the_clip_at_60_120_and_240_fps() {
    let app = app().await;
    let mut failures = Vec::new();
    // (fps, clip length s, impact s, speed m/s, launch deg): start, middle, end of the clip.
    let cases = [
        (60.0, 3.0, 0.3, 15.0, 25.0),
        (120.0, 4.0, 2.0, 20.0, 14.0),
        (240.0, 3.0, 2.7, 24.0, 10.0),
        (120.0, 4.0, 3.0, 12.0, 30.0),
    ];
    for (fps, secs, impact_s, speed, launch) in cases {
        let spec = SwingSpec {
            ball_speed_mps: speed,
            launch_deg: launch,
            club_speed_mps: speed / 1.3,
            ..SwingSpec::phone(640, 360, fps, secs, impact_s)
        };
        let case = format!("{fps} fps, {secs} s, impact at {impact_s} s, {speed} m/s at {launch} deg");
        let (body, truth) = analyse(&app, &spec, "yolov11").await;
        if let Err(e) = check_shot(&case, &body, &truth) {
            failures.push(e);
            continue;
        }
        let scan = &body["scan"];
        let calls = scan["detector_calls"].as_u64().unwrap_or(u64::MAX);
        // The watch's probes (one a second) and confirmations (the club passing the
        // ball at address, takeaway and downswing), the dense pass (10 frames of lead-in, the
        // flight, and the frames it takes to see the ball is gone): never the whole clip.
        let flight = spec.visible_flight_frames() as u64;
        let bound = secs as u64 + 1 + 12 + 10 + flight + 12;
        if calls > bound {
            failures.push(format!("{case}: {calls} detector calls for {} frames (bound {bound})", spec.frames));
        }
        let video = &body["video"];
        if video["frames_total"].as_u64() != Some(spec.frames as u64) {
            failures.push(format!("{case}: video {video}"));
        }
        if impact_s < secs / 2.0 && video["frames_skipped"].as_u64().is_none_or(|s| s == 0) {
            failures.push(format!("{case}: the frames after the flight were decoded: {video}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn a_clip_without_a_measurable_shot_succeeds_with_the_reason_and_no_ball_metric() {
    let app = app().await;
    let still =
        SwingSpec { swing: Swing::Address, ball: Ball::Unstruck, ..SwingSpec::phone(640, 360, 120.0, 2.0, 1.5) };
    let empty = SwingSpec { ball: Ball::Absent, ..SwingSpec::phone(640, 360, 120.0, 2.0, 1.5) };
    let gone = SwingSpec::phone_quick_exit(640, 360, 240.0, 1.5, 1.0);
    let mut failures = Vec::new();
    for (case, spec, reason) in [
        ("still ball", still, "ball_did_not_move"),
        ("no ball", empty, "no_ball"),
        ("gone in 3 frames", gone, "left_frame_at_launch"),
    ] {
        let (body, _) = analyse(&app, &spec, "yolov11").await;
        let m = &body["metrics"];
        let nulls = ["ball_speed_mps", "launch_deg", "carry_m", "club_speed_mps", "impact_frame"];
        if body["shot"]["detected"] != false || body["shot"]["reason"] != reason {
            failures.push(format!("{case}: shot {} (want {reason}), metrics {m}", body["shot"]));
        } else if nulls.iter().any(|k| !m[*k].is_null()) || m["confidence"] != 0.0 {
            failures.push(format!("{case}: metrics {m}"));
        }
        let run = app
            .client
            .get(app.url(&format!("/runs/v1/{}", body["run_id"].as_str().unwrap_or_default())))
            .header("x-api-key", KEY)
            .send()
            .await
            .expect("gets the run");
        let run: Value = run.json().await.expect("json");
        if run["status"] != "succeeded" || run["result"]["shot"] != body["shot"] {
            failures.push(format!("{case}: run {} with shot {}", run["status"], run["result"]["shot"]));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
