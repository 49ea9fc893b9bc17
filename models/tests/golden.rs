//! Issue #3's golden-frame bar on the committed weights: on every golden frame (rendered by the
//! dataset generator's golden stream, never trained or validated on) the best-scoring ball lies
//! within 3 px of the true centre and the best-scoring club head overlaps the true box with
//! IoU >= 0.5, at the variant's calibrated thresholds (what the server uses).
//!
//! yolov11 meets the whole bar. yolov10 meets it for every club head and for five of the six balls:
//! golden_05's ball (a 112 px streak whose box centre is 4.6 px off) is still missed, so issue #3
//! stays open; models/README.md "What remains" says what is next. When yolov10 finds it, its ball
//! check joins the first test. (golden_03's faint streak, scored 0.14, passes since the thirteenth
//! session calibrated yolov10's thresholds on the one-to-one head its model.onnx runs: 0.113, not the
//! 0.158 read from the one-to-many head ultralytics validates by default.)

use models::{golden, ModelRegistry, SessionOptions, Thresholds};

fn reports(variant: &str) -> Vec<golden::FrameReport> {
    let registry = ModelRegistry::new(
        ModelRegistry::default_root(),
        SessionOptions { sessions: 1, intra_threads: 1, spinning: false },
        Thresholds::default(),
    );
    let detector = registry.get(variant).expect("committed weights load");
    let reports = golden::check(detector.as_ref(), &golden::golden_dir()).expect("golden frames");
    assert_eq!(reports.len(), 6, "six golden frames are committed");
    reports
}

#[test]
fn yolov11_finds_ball_and_club_head_on_every_golden_frame() {
    let misses: Vec<String> = reports("yolov11").iter().filter(|r| !r.passed()).map(|r| r.line()).collect();
    assert!(misses.is_empty(), "yolov11 missed golden frames:\n{}", misses.join("\n"));
}

#[test]
fn yolov10_finds_the_club_head_on_every_golden_frame() {
    let misses: Vec<String> = reports("yolov10")
        .iter()
        .filter(|r| !r.head.as_ref().is_some_and(golden::Verdict::passed))
        .map(|r| r.line())
        .collect();
    assert!(misses.is_empty(), "yolov10 missed golden club heads:\n{}", misses.join("\n"));
}

/// The one golden ball yolov10 still misses (see the module note).
const YOLOV10_OPEN_BALL: &str = "golden_05.jpg";

#[test]
fn yolov10_finds_the_ball_on_every_golden_frame_but_the_longest_streak() {
    let reports = reports("yolov10");
    let misses: Vec<String> = reports
        .iter()
        .filter(|r| r.file != YOLOV10_OPEN_BALL && !r.ball.as_ref().is_some_and(|(_, _, v)| v.passed()))
        .map(|r| r.line())
        .collect();
    assert!(misses.is_empty(), "yolov10 missed golden balls:\n{}", misses.join("\n"));
    assert!(reports.iter().any(|r| r.file == YOLOV10_OPEN_BALL), "{YOLOV10_OPEN_BALL} is still a golden frame");
}
