//! Loading the committed weights through ONNX Runtime: checksums guard every load, corrupt and
//! truncated models fail with a clear error, a missing runtime says how to install it, and both
//! variants produce their documented output layouts.

use std::path::{Path, PathBuf};
use std::process::Command;

use models::manifest::{sha256_file, Manifest, OutputLayout};
use models::{Class, Frame, ModelError, ModelRegistry, SessionOptions, Thresholds, YoloDetector};
use models::{IntegrityError, ModelReadiness, ModelVariant};

fn weights() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("weights")
}

fn one_session() -> SessionOptions {
    SessionOptions { sessions: 1, intra_threads: 1, spinning: false }
}

/// A copy of a variant's weights directory whose model file is replaced by `bytes`, with the
/// manifest's checksum updated to match when `fix_checksum`.
fn doctored(variant: &str, bytes: &[u8], fix_checksum: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    let src = weights().join(variant);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("manifest.json")).expect("manifest")).expect("json");
    std::fs::write(dir.path().join("model.onnx"), bytes).expect("write model");
    let mut manifest = manifest;
    if fix_checksum {
        manifest["onnx"]["sha256"] =
            serde_json::Value::String(sha256_file(&dir.path().join("model.onnx")).expect("hash"));
    }
    std::fs::write(dir.path().join("manifest.json"), serde_json::to_vec(&manifest).expect("json")).expect("write");
    dir
}

#[test]
fn manifests_match_their_model_files() {
    for v in ModelVariant::ALL {
        let dir = weights().join(v.as_str());
        let m = Manifest::load(&dir).expect("manifest");
        assert_eq!(m.variant, v.as_str());
        assert_eq!(sha256_file(&m.model_path(&dir)).expect("hash"), m.onnx.sha256, "{v}: checksum");
        assert_eq!(m.input_size(), Ok(640));
        assert_eq!(m.classes.get("0").map(String::as_str), Some("golf_ball"));
        assert_eq!(m.classes.get("1").map(String::as_str), Some("club_head"));
    }
    assert!(matches!(
        Manifest::load(&weights().join("yolov10")).expect("m").layout(),
        Ok(OutputLayout::EndToEnd { rows: 300 })
    ));
    assert!(matches!(
        Manifest::load(&weights().join("yolov11")).expect("m").layout(),
        Ok(OutputLayout::Raw { classes: 2, anchors: 8400 })
    ));
}

#[test]
fn both_variants_load_and_run_on_a_frame() {
    let registry = ModelRegistry::new(weights(), one_session(), Thresholds::default());
    let frame_bytes = vec![90u8; 1280 * 720 * 3];
    let frame = Frame { width: 1280, height: 720, rgb: &frame_bytes };
    for &v in ModelVariant::ALL {
        let det = registry.get(v).expect("variant loads");
        let (dets, t) = det.detect_timed(&frame).expect("runs");
        assert!(dets.iter().all(|d| d.bbox.x2 <= 1280.0 && d.bbox.y2 <= 720.0), "{v}: boxes in the frame");
        assert!(t.inference.as_nanos() > 0);
        // The second call reuses the same loaded detector.
        assert!(std::sync::Arc::ptr_eq(&det, &registry.get(v).expect("cached")));
    }
    assert!(ModelVariant::ALL.iter().all(|v| registry.state(*v).state == "loaded"));
}

#[test]
fn each_variant_uses_its_calibrated_score_threshold_unless_the_caller_sets_one() {
    for v in ModelVariant::ALL {
        let dir = weights().join(v.as_str());
        let manifest = Manifest::load(&dir).expect("manifest");
        let calibrated = manifest.calibrated_score().expect("valid");
        let calibrated = calibrated.unwrap_or_else(|| panic!("{v}: export.py writes score_threshold"));
        let per_class = manifest.calibrated_class_scores().expect("valid").unwrap_or([calibrated; Class::ALL.len()]);
        let det = YoloDetector::load(&dir, one_session(), Thresholds::default()).expect("loads");
        for class in Class::ALL {
            assert_eq!(det.thresholds().min_score_for(class), per_class[class.id()], "{v} {}", class.as_str());
        }
        let set = Thresholds { score: Some(0.6), ..Thresholds::default() };
        let det = YoloDetector::load(&dir, one_session(), set).expect("loads");
        assert!(Class::ALL.into_iter().all(|c| det.thresholds().min_score_for(c) == 0.6), "{v}: the caller's wins");
    }
    // A threshold outside (0, 1) is a manifest error, not a detector that keeps nothing.
    let bytes = std::fs::read(weights().join("yolov10/model.onnx")).expect("model");
    let dir = doctored("yolov10", &bytes, true);
    let path = dir.path().join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    manifest["score_threshold"] = serde_json::json!(1.5);
    std::fs::write(&path, serde_json::to_vec(&manifest).expect("json")).expect("write");
    let err = YoloDetector::load(dir.path(), one_session(), Thresholds::default()).expect_err("bad threshold");
    assert!(
        matches!(err, ModelError::Weights(IntegrityError::Manifest { .. }))
            && err.to_string().contains("score_threshold"),
        "{err}"
    );
    // So are per-class thresholds that miss a class, name an unknown one, or leave (0, 1).
    manifest["score_threshold"] = serde_json::json!(0.25);
    for (bad, says) in [
        (serde_json::json!({"golf_ball": 0.2}), "lacks club_head"),
        (serde_json::json!({"golf_ball": 0.2, "club_head": 0.3, "tee": 0.5}), "unknown class"),
        (serde_json::json!({"golf_ball": 0.0, "club_head": 0.3}), "golf_ball 0 is not in (0, 1)"),
    ] {
        manifest["class_score_thresholds"] = bad;
        std::fs::write(&path, serde_json::to_vec(&manifest).expect("json")).expect("write");
        let err = YoloDetector::load(dir.path(), one_session(), Thresholds::default()).expect_err(says);
        assert!(
            matches!(err, ModelError::Weights(IntegrityError::Manifest { .. })) && err.to_string().contains(says),
            "{err}"
        );
    }
}

#[test]
fn a_tampered_model_fails_its_checksum_before_reaching_onnx_runtime() {
    let mut bytes = std::fs::read(weights().join("yolov11/model.onnx")).expect("model");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    let dir = doctored("yolov11", &bytes, false);
    let err = YoloDetector::load(dir.path(), one_session(), Thresholds::default()).expect_err("checksum");
    assert!(matches!(err, ModelError::Weights(IntegrityError::Checksum { .. })), "{err}");
    assert!(err.to_string().contains("checksum"));
}

#[test]
fn truncated_and_garbage_models_give_a_clear_load_error() {
    let bytes = std::fs::read(weights().join("yolov10/model.onnx")).expect("model");
    for (name, content) in
        [("truncated", bytes[..bytes.len() / 3].to_vec()), ("garbage", b"not an onnx model".to_vec())]
    {
        let dir = doctored("yolov10", &content, true);
        let err = YoloDetector::load(dir.path(), one_session(), Thresholds::default()).expect_err(name);
        assert!(matches!(err, ModelError::Load { .. }), "{name}: {err}");
        assert!(err.to_string().contains("could not load"), "{name}: {err}");
    }
}

#[test]
fn a_missing_variant_is_unavailable_by_name_and_others_still_load() {
    let root = tempfile::tempdir().expect("tmp");
    let copy = |v: &str| {
        std::fs::create_dir_all(root.path().join(v)).expect("mkdir");
        for f in ["manifest.json", "model.onnx"] {
            std::fs::copy(weights().join(v).join(f), root.path().join(v).join(f)).expect("copy");
        }
    };
    copy("yolov10");
    let registry = ModelRegistry::new(root.path(), one_session(), Thresholds::default());
    let err = registry.get(ModelVariant::Yolov11).expect_err("no weights");
    assert!(matches!(&err, ModelError::Unavailable { variant, .. } if variant == "yolov11"), "{err}");
    assert!(registry.get(ModelVariant::Yolov10).is_ok());
    let states: Vec<_> = ModelVariant::ALL.iter().map(|v| registry.state(*v)).collect();
    assert_eq!(
        states.iter().map(|s| (s.variant.as_str(), s.state)).collect::<Vec<_>>(),
        vec![("yolov10", "loaded"), ("yolov11", "unavailable")]
    );
}

/// Runs in a child process (ONNX Runtime loads once per process): with ORT_DYLIB_PATH pointing
/// nowhere, loading fails with the install hint instead of a panic.
#[test]
fn a_missing_onnx_runtime_is_a_clear_error_not_a_panic() {
    if std::env::var_os("GOLFIQ_ORT_CHILD").is_some() {
        let err = YoloDetector::load(&weights().join("yolov10"), one_session(), Thresholds::default())
            .expect_err("no runtime");
        println!("CHILD-ERROR: {err}");
        return;
    }
    let out = Command::new(std::env::current_exe().expect("exe"))
        .args(["--exact", "a_missing_onnx_runtime_is_a_clear_error_not_a_panic", "--nocapture", "--test-threads=1"])
        .env("GOLFIQ_ORT_CHILD", "1")
        .env("ORT_DYLIB_PATH", Path::new("/nonexistent/libonnxruntime.so"))
        .output()
        .expect("spawn child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child panicked: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let line = stdout.lines().find(|l| l.contains("CHILD-ERROR:")).expect("child reported an error");
    assert!(line.contains("ONNX Runtime is unavailable") && line.contains("make setup"), "{line}");
}
