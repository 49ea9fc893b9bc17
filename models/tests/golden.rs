//! Issue #3's golden-frame bar on the committed weights: on every golden frame (rendered by the
//! dataset generator's golden stream, never trained or validated on) the best-scoring ball lies
//! within 3 px of the true centre and the best-scoring club head overlaps the true box with
//! IoU >= 0.5, at the variant's calibrated thresholds (what the server uses).
//!
//! yolov11 meets the whole bar. yolov10 meets it for club heads only: its balls on golden_03
//! (scored under its threshold) and golden_05 (a 112 px streak whose box centre is 4.6 px off) are
//! still missed, so issue #3 stays open; models/README.md "What remains" says what is next. When
//! yolov10 passes, its ball check joins the first test.

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
