//! The shot tracer through the dispatcher with the real detector, on a rendered swing whose true
//! ball positions are known: the still's line lies on the true path, the clip decodes with
//! ffmpeg, has the planned frames and its line's head follows the ball, the units follow the
//! request (asynchronous ones too), a run without a shot has no tracer (404 NO_TRACER),
//! preview.png still answers, and prune takes both artifacts away.

use std::path::Path;

use golfiq_tests::scene::{render_swing, SwingSpec, Truth};
use golfiq_tests::{spawn_app, TestApp};
use image::RgbImage;
use serde_json::Value;

const KEY: &str = "tracer-key";
const FPS: f64 = 60.0;

/// The preset 720p swing with 0.6 s before impact and 0.75 s after the ball left the picture,
/// so that the clip's lead and tail are not cut by the clip's ends.
fn long_swing() -> (SwingSpec, Vec<RgbImage>, Truth) {
    let mut spec = SwingSpec::preset(1280, 720, FPS);
    let gone_after = spec.frames - spec.impact_frame;
    spec.impact_frame = (0.6 * FPS) as usize;
    spec.frames = spec.impact_frame + gone_after + (0.75 * FPS) as usize;
    let (frames, truth) = render_swing(&spec);
    (spec, frames, truth)
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).header("x-api-key", KEY).send().await.expect("get")
}

/// Whether the tracer drew this pixel: red now, and not red in the frame it was drawn on.
fn drawn(now: [u8; 3], before: [u8; 3]) -> bool {
    let red = |p: [u8; 3]| i32::from(p[0]) - i32::from(p[1]).max(i32::from(p[2])) > 70;
    red(now) && !red(before)
}

fn line_pixels(now: &RgbImage, before: &RgbImage) -> Vec<(f64, f64)> {
    now.enumerate_pixels()
        .filter(|(x, y, p)| drawn(p.0, before.get_pixel(*x, *y).0))
        .map(|(x, y, _)| (f64::from(x) + 0.5, f64::from(y) + 0.5))
        .collect()
}

/// The true path as a dense polyline: the tee, then the ball's centre in every frame of the
/// flight while it is in the picture, and one frame's travel further (the dashes run to the edge).
fn true_path(truth: &Truth) -> Vec<(f64, f64)> {
    let mut pts = vec![truth.tee];
    pts.extend((truth.impact_frame + 1..truth.ball_centres.len()).map_while(|i| truth.ball_centres[i]));
    if let [.., a, b] = pts[..] {
        pts.push((2.0 * b.0 - a.0, 2.0 * b.1 - a.1));
    }
    let mut dense = Vec::new();
    for w in pts.windows(2) {
        for k in 0..8 {
            let t = f64::from(k) / 8.0;
            dense.push((w[0].0 + (w[1].0 - w[0].0) * t, w[0].1 + (w[1].1 - w[0].1) * t));
        }
    }
    dense.extend(pts.last());
    dense
}

fn nearest(p: (f64, f64), set: &[(f64, f64)]) -> f64 {
    set.iter().map(|q| (p.0 - q.0).hypot(p.1 - q.1)).fold(f64::INFINITY, f64::min)
}

fn ffprobe_frames(file: &Path) -> u64 {
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries"])
        .args(["stream=nb_read_frames,codec_name,width,height", "-of", "json"])
        .arg(file)
        .output()
        .expect("ffprobe runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let s = &v["streams"][0];
    assert_eq!(
        (s["codec_name"].as_str(), s["width"].as_u64(), s["height"].as_u64()),
        (Some("h264"), Some(1280), Some(720))
    );
    s["nb_read_frames"].as_str().and_then(|n| n.parse().ok()).expect("frame count")
}

#[tokio::test]
async fn a_measured_shot_gets_a_still_and_a_clip_that_follow_the_true_flight() {
    let app = spawn_app(&[("REQUIRE_API_KEY", "1"), ("API_KEY", KEY)]).await;
    let (spec, frames, truth) = long_swing();
    let mp4 = clipkit::encode_mp4(&frames, FPS).expect("encode");
    let post = |headers: &'static [(&'static str, &'static str)]| {
        let form = reqwest::multipart::Form::new()
            .part("video", reqwest::multipart::Part::bytes(mp4.clone()).file_name("swing.mp4"))
            .text("ref_len_m", format!("{}", spec.m_per_px * 100.0))
            .text("ref_len_px", "100")
            .text("model_variant", "yolov11");
        let mut req = app.client.post(app.url("/cv/analyze/video")).header("x-api-key", KEY).multipart(form);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send()
    };
    let resp = post(&[("accept-language", "en-US,en;q=0.9")]).await.expect("post");
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["shot"]["detected"], true, "{body}");
    let id = body["run_id"].as_str().expect("id").to_string();
    let tracer = &body["tracer"];
    assert_eq!((tracer["units"].as_str(), tracer["clip"].as_bool()), (Some("imperial"), Some(true)), "{tracer}");
    assert_eq!(body["preview_url"].as_str(), Some(format!("/runs/v1/{id}/preview.jpg").as_str()));
    assert_eq!(body["tracer_url"].as_str(), Some(format!("/runs/v1/{id}/tracer.mp4").as_str()));
    let gone = (0..frames.len()).filter(|&i| truth.ball_in_flight(i, &spec)).max().expect("a flight");

    // The still: the flight's last measured frame, the line on the true path.
    let still_frame = tracer["still_frame"].as_u64().expect("still frame") as usize;
    assert_eq!(body["preview_frame"].as_u64(), Some(still_frame as u64));
    assert!((gone.saturating_sub(3)..=gone).contains(&still_frame), "still at {still_frame}, ball gone after {gone}");
    let resp = get(&app, &format!("/runs/v1/{id}/preview.jpg")).await;
    assert_eq!(resp.headers()["content-type"], "image/jpeg");
    let jpeg = resp.bytes().await.expect("bytes");
    assert!(jpeg.len() <= analyze::tracer::STILL_MAX_BYTES, "{} bytes", jpeg.len());
    let still = image::load_from_memory(&jpeg).expect("a JPEG").to_rgb8();
    let line = line_pixels(&still, &frames[still_frame]);
    assert!(line.len() > 500, "{} line pixels", line.len());
    let measured: Vec<(f64, f64)> =
        (truth.impact_frame + 1..=still_frame).filter_map(|i| truth.ball_centres[i]).collect();
    for (i, p) in measured.iter().enumerate() {
        let d = nearest(*p, &line);
        assert!(d <= 3.0, "the line passes {d:.1} px from the true ball {} frames after impact", i + 1);
    }
    // And nothing red strays from the true path (measured and beyond: the dashes follow it too).
    let path = true_path(&truth);
    // For a person to look at: tests/artifacts/tracer/.
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts/tracer");
    std::fs::create_dir_all(&out).ok();
    std::fs::write(out.join("still.jpg"), &jpeg).ok();
    let far: Vec<_> = line.iter().filter(|p| nearest(**p, &path) > 5.5).collect();
    assert!(
        far.len() * 100 <= line.len(),
        "{} of {} line pixels off the true path: {:?}",
        far.len(),
        line.len(),
        &far[..far.len().min(5)]
    );

    // The clip: the planned frames, H.264, the line's head on the ball.
    let [first, last] = [0, 1].map(|k| tracer["frames"][k].as_u64().expect("frames") as usize);
    let half = (0.5 * FPS) as usize;
    assert!(first.abs_diff(truth.impact_frame - half) <= 2, "clip starts at {first}, impact {}", truth.impact_frame);
    assert!((gone + half..=gone + half + 4).contains(&last), "clip ends at {last}, ball gone after {gone}");
    let resp = get(&app, &format!("/runs/v1/{id}/tracer.mp4")).await;
    assert_eq!(resp.headers()["content-type"], "video/mp4");
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("tracer.mp4");
    let clip = resp.bytes().await.expect("bytes");
    std::fs::write(&file, &clip).expect("write");
    std::fs::write(out.join("tracer.mp4"), &clip).ok();
    assert_eq!(ffprobe_frames(&file), (last - first + 1) as u64);
    let decoded = clipkit::phone::ffmpeg_decode_rgb(&file, 1280, 720, last - first + 1).expect("ffmpeg decodes");
    assert_eq!(decoded.len(), last - first + 1);
    let mut followed = 0;
    for (k, rgb) in decoded.into_iter().enumerate() {
        let f = first + k;
        let img = RgbImage::from_raw(1280, 720, rgb).expect("frame");
        let line = line_pixels(&img, &frames[f]);
        if f <= truth.impact_frame {
            assert!(line.len() < 20, "frame {f}: {} line pixels before the launch", line.len());
            continue;
        }
        if !truth.ball_in_flight(f, &spec) || f > gone {
            continue;
        }
        // The head: the line pixel farthest along the flight from the tee.
        let ball = truth.ball_centres[f].expect("ball");
        let dir = (ball.0 - truth.tee.0, ball.1 - truth.tee.1);
        let along = |p: &(f64, f64)| (p.0 - truth.tee.0) * dir.0 + (p.1 - truth.tee.1) * dir.1;
        let Some(head) = line.iter().max_by(|a, b| along(a).total_cmp(&along(b))) else {
            panic!("frame {f}: no line while the ball flies");
        };
        let d = (head.0 - ball.0).hypot(head.1 - ball.1);
        assert!(d <= 6.0, "frame {f}: the line's head is {d:.1} px from the ball");
        followed += 1;
    }
    assert!(followed >= 8, "the head was checked on {followed} frames");

    // Asynchronously, the worker parses the stored request again: its Accept-Language still counts.
    let resp = post(&[("prefer", "respond-async"), ("accept-language", "en-GB")]).await.expect("post");
    assert_eq!(resp.status(), 202);
    let queued: Value = resp.json().await.expect("json");
    let async_id = queued["run_id"].as_str().expect("id").to_string();
    let run = golfiq_tests::poll_until(std::time::Duration::from_secs(120), || async {
        let run = golfiq_tests::get_run(&app, KEY, &async_id).await;
        (run["status"] == "succeeded" || run["status"] == "failed").then_some(run)
    })
    .await
    .expect("the queued run finishes");
    assert_eq!(run["result"]["tracer"]["units"], "imperial", "{run}");
    assert_eq!(get(&app, &format!("/runs/v1/{async_id}/tracer.mp4")).await.status(), 200);

    // Prune takes both artifacts with the run.
    let resp = app
        .client
        .post(app.url("/runs/v1/prune"))
        .header("x-api-key", KEY)
        .json(&serde_json::json!({"max_runs": 0}))
        .send()
        .await
        .expect("prune");
    assert_eq!(resp.status(), 200);
    let run_id = common::runs::RunId::parse(&id).expect("id");
    for name in ["preview.jpg", "tracer.mp4"] {
        assert_eq!(app.state.runs.get_artifact(run_id, name).await.expect("read"), None, "{name} pruned");
    }
    assert_eq!(get(&app, &format!("/runs/v1/{id}/tracer.mp4")).await.status(), 404);
}

#[tokio::test]
async fn no_shot_no_tracer_units_are_checked_and_preview_png_still_answers() {
    let app = spawn_app(&[("REQUIRE_API_KEY", "1"), ("API_KEY", KEY)]).await;
    // The swing's frames before impact: a ball at rest, no shot.
    let (_, frames, truth) = long_swing();
    let still: Vec<RgbImage> = frames[..truth.impact_frame - 10].to_vec();
    let mp4 = clipkit::encode_mp4(&still, FPS).expect("encode");
    let (status, body) = golfiq_tests::post_video(&app, KEY, mp4.clone(), &[("units", "metric")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["shot"]["detected"], false, "{body}");
    assert!(body["tracer"].is_null() && body["tracer_url"].is_null(), "{body}");
    let id = body["run_id"].as_str().expect("id");
    let resp = get(&app, &format!("/runs/v1/{id}/tracer.mp4")).await;
    assert_eq!(resp.status(), 404);
    let err: Value = resp.json().await.expect("json");
    assert_eq!(err["error_code"], "NO_TRACER", "{err}");
    assert!(err["message"].as_str().is_some_and(|m| m.contains("no shot")), "{err}");
    // The boxes preview, as JPEG and as the PNG older clients ask for.
    let jpeg = get(&app, body["preview_url"].as_str().expect("preview")).await.bytes().await.expect("jpeg");
    let png = get(&app, &format!("/runs/v1/{id}/preview.png")).await;
    assert_eq!(png.headers()["content-type"], "image/png");
    let png =
        image::load_from_memory_with_format(&png.bytes().await.expect("png"), image::ImageFormat::Png).expect("a PNG");
    let jpeg = image::load_from_memory(&jpeg).expect("a JPEG");
    assert_eq!((png.width(), png.height()), (jpeg.width(), jpeg.height()));
    // A unit nobody measures in is named in a 422.
    let (status, body) = golfiq_tests::post_video(&app, KEY, mp4, &[("units", "furlongs")]).await;
    assert_eq!((status, body["error_code"].as_str()), (422, Some("INVALID_CALIBRATION")), "{body}");
    assert!(body["message"].as_str().is_some_and(|m| m.contains("units")), "{body}");
}
