//! Property tests of every parser that takes request bytes: arbitrary and mutated inputs must come
//! back as a value or a typed refusal, never a panic, a hang or an unbounded allocation. Bounded
//! (64 cases a property) so `make test` stays quick; proptest prints the shrunk input of a failure,
//! which then belongs here as a fixed regression example.

use std::io::Write;

use common::lambda_http::http::{HeaderMap, HeaderValue, Method};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() }
}

/// `seed` with `edits` (position, byte) written over it and cut at `cut` (a share of its length).
fn mutate(seed: &[u8], edits: &[(usize, u8)], cut: f64) -> Vec<u8> {
    let mut out = seed.to_vec();
    for &(at, b) in edits {
        if !out.is_empty() {
            let i = at % out.len();
            out[i] = b;
        }
    }
    out.truncate(((out.len() as f64) * cut.clamp(0.0, 1.0)).ceil() as usize);
    out
}

fn small_zip() -> Vec<u8> {
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(16, 8, image::Rgb([40, 140, 40])))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("png");
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for name in ["f_000.png", "f_001.png"] {
        w.start_file(name, zip::write::SimpleFileOptions::default()).expect("entry");
        w.write_all(&png).expect("write");
    }
    w.finish().expect("zip").into_inner()
}

fn small_mp4() -> Vec<u8> {
    let frames: Vec<image::RgbImage> =
        (0..4).map(|i| image::RgbImage::from_pixel(64, 48, image::Rgb([40, 120 + i * 10, 40]))).collect();
    clipkit::encode_mp4(frames.iter(), 30.0).expect("mp4")
}

fn edits() -> impl Strategy<Value = Vec<(usize, u8)>> {
    prop::collection::vec((any::<usize>(), any::<u8>()), 0..12)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn cursors_parse_or_refuse(s in ".{0,80}") {
        if let Ok(c) = s.parse::<common::run_store::Cursor>() {
            prop_assert_eq!(c.to_string().parse::<common::run_store::Cursor>(), Ok(c));
        }
    }

    #[test]
    fn live_tokens_and_invites_verify_only_when_untouched(s in ".{0,120}", at in any::<usize>(), b in any::<u8>()) {
        let key = b"k";
        prop_assert!(live::signing::verify_token(key, "evt1", &s, 0).is_none() || s.split('.').count() == 3);
        prop_assert!(live::signing::verify_invite(key, &s, 0).is_err() || s.contains('.'));
        let token = live::signing::mint_token(key, "evt1", 4_000_000_000);
        let mut bytes = token.clone().into_bytes();
        let i = at % bytes.len();
        if bytes[i] != b && b.is_ascii_graphic() {
            bytes[i] = b;
            let changed = String::from_utf8(bytes).expect("ascii");
            prop_assert!(live::signing::verify_token(key, "evt1", &changed, 0).is_none(), "{} accepted", changed);
        }
    }

    #[test]
    fn flag_configs_load_or_refuse(bytes in prop::collection::vec(any::<u8>(), 0..200), e in edits(), cut in prop_oneof![Just(1.0), 0.0f64..1.0]) {
        if let Ok(cfg) = common::flags::FlagsConfig::from_json(&bytes) {
            // The built-in flags are always there ({} loads three of them); anything more came
            // from the bytes.
            prop_assert!(cfg.flags.len() <= bytes.len().max(3), "more flags than bytes");
        }
        let seed = br#"{"roundFlowV2": {"rolloutPercent": 10, "allowlist": ["a"], "force": "force_on"}, "meta": {"version": 3}}"#;
        let loaded = common::flags::FlagsConfig::from_json(&mutate(seed, &e, cut));
        prop_assert!(loaded.is_ok() || !e.is_empty() || cut < 1.0, "the untouched config was refused");
    }

    #[test]
    fn analysis_parameters_validate_or_refuse(fps in any::<f64>(), len in any::<f64>(), window in any::<i64>(), text in ".{0,20}") {
        let raw: serde_json::Map<String, serde_json::Value> = serde_json::json!({
            "fps": fps, "ref_len_m": len, "ref_len_px": text, "smoothing_window": window,
            "calibration": format!("{{\"metersPerPixel\": {len}}}"),
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        if let Ok(p) = analyze::request::validate_params(&raw, "fps", 120.0) {
            prop_assert!(p.fps.is_finite() && p.fps > 0.0);
        }
    }

    #[test]
    fn zips_open_or_refuse(e in edits(), cut in prop_oneof![Just(1.0), 0.0f64..1.0]) {
        let bytes = mutate(&small_zip(), &e, cut);
        match analyze::frames::ZipFrames::open(&bytes, &Default::default()) {
            Ok(mut frames) => {
                // Entries may still fail to decode one by one; none may panic.
                let decoded = (0..frames.len()).filter(|&i| frames.frame(i).is_ok()).count();
                prop_assert!(decoded == 2 || !e.is_empty() || cut < 1.0, "the untouched frames did not decode");
            }
            Err(err) => prop_assert!(!e.is_empty() || cut < 1.0, "the untouched zip was refused: {err:?}"),
        }
    }

    #[test]
    fn videos_probe_or_refuse(e in edits(), cut in prop_oneof![Just(1.0), 0.0f64..1.0]) {
        let probed = analyze::video::probe(&mutate(&small_mp4(), &e, cut));
        prop_assert!(probed.is_ok() || !e.is_empty() || cut < 1.0, "the untouched clip was refused");
    }

    #[test]
    fn multipart_bodies_parse_or_refuse(e in edits(), cut in prop_oneof![Just(1.0), 0.0f64..1.0]) {
        let boundary = "XyZ";
        let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"fps\"\r\n\r\n120\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"frames_zip\"; filename=\"f.zip\"\r\nContent-Type: application/zip\r\n\r\n").into_bytes();
        body.extend(small_zip());
        body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_str(&format!("multipart/form-data; boundary={boundary}")).expect("header"));
        let req = common::http::build_request(Method::POST, "/cv/analyze".parse().expect("uri"), headers, mutate(&body, &e, cut));
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let parsed = runtime.block_on(analyze::request::parse_frames(&req));
        prop_assert!(parsed.payload.is_ok() || !e.is_empty() || cut < 1.0, "the untouched body was refused");
    }
}

/// Every input `cargo fuzz` broke a parser with (`fuzz/regressions/<target>/`, see fuzz/README.md),
/// replayed through that parser in `make test`: each now gives a typed refusal, and quickly (the
/// MP4 ones hung and ran out of memory; a hang would stall this test).
#[test]
fn inputs_cargo_fuzz_found_are_refused() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions");
    let mut replayed = 0;
    for target in ["mp4_probe", "analysis_params"] {
        let dir = std::fs::read_dir(root.join(target)).expect("regressions folder");
        for entry in dir.flatten().filter(|e| e.file_name() != "README") {
            let (path, bytes) = (entry.path(), std::fs::read(entry.path()).expect("read"));
            if target == "mp4_probe" {
                let probed = analyze::video::probe(&bytes);
                assert!(probed.is_err(), "{}: {probed:?}", path.display());
            } else {
                let map: serde_json::Map<String, serde_json::Value> = match serde_json::from_slice(&bytes) {
                    Ok(serde_json::Value::Object(map)) => map,
                    _ => String::from_utf8_lossy(&bytes)
                        .split(['&', '\n'])
                        .filter_map(|kv| kv.split_once('='))
                        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
                        .collect(),
                };
                let validated = analyze::request::validate_params(&map, "fps", analyze::request::DEFAULT_FPS);
                let code = validated.as_ref().err().map(|e| e.code);
                assert_eq!(
                    code,
                    Some(common::error::ErrorCode::InvalidCalibration),
                    "{}: {validated:?}",
                    path.display()
                );
            }
            replayed += 1;
        }
    }
    assert!(replayed >= 4, "the committed regressions were found ({replayed})");
}
