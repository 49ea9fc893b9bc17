//! Issue #3's golden-frame bar on the committed weights: on every golden frame (rendered by the
//! dataset generator's golden stream, never trained or validated on) the best-scoring ball lies
//! within 3 px of the true centre and the best-scoring club head overlaps the true box with
//! IoU >= 0.5, at the variant's calibrated thresholds (what the server uses).
//!
//! Both variants meet the whole bar. yolov10 met it for five of six balls until the fourteenth
//! session's fine-tune (models/README.md "Training"): golden_05's ball, a 112 px streak whose box
//! centre the earlier weights put 4.6 px off, is now 2.4 px off, and golden_03's faint sky streak
//! scores 0.119 over the calibrated 0.077. golden_05 stays a draw from a wide spread on long streaks
//! (`train/streak_eval.py`: about a third of >= 80 px streaks come within 3 px), which is why the bar
//! is held here and the spread is measured there.

use models::{golden, ModelRegistry, SessionOptions, Thresholds};

fn reports(variant: models::ModelVariant) -> Vec<golden::FrameReport> {
    let registry = ModelRegistry::new(
        models::default_root(),
        SessionOptions { sessions: 1, intra_threads: 1, spinning: false },
        Thresholds::default(),
    );
    let detector = registry.get(variant).expect("committed weights load");
    let reports = golden::check(detector.as_ref(), &golden::golden_dir()).expect("golden frames");
    assert_eq!(reports.len(), 6, "six golden frames are committed");
    reports
}

fn assert_whole_bar(variant: models::ModelVariant) {
    let misses: Vec<String> = reports(variant).iter().filter(|r| !r.passed()).map(|r| r.line()).collect();
    assert!(misses.is_empty(), "{variant} missed golden frames:\n{}", misses.join("\n"));
}

#[test]
fn yolov11_finds_ball_and_club_head_on_every_golden_frame() {
    assert_whole_bar(models::ModelVariant::Yolov11);
}

#[test]
fn yolov10_finds_ball_and_club_head_on_every_golden_frame() {
    assert_whole_bar(models::ModelVariant::Yolov10);
}
