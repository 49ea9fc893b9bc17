//! Model variants on the analyze endpoint: which variant a request gets (header, form, query,
//! range payload, the rollout flag, `MODEL_VARIANT`) and where it came from, and a broken variant's
//! weights: `MODEL_UNAVAILABLE` or an opaque `ANALYZE_FAILED`, the other variant unaffected, `/ready`
//! naming the broken one.

use serde_json::{json, Value};

use super::{app, assert_failed_run, get_run, grass_zip, post_frames, KEY};

/// A models dir where yolov11 is broken in the way named, yolov10 intact.
fn broken_models(how: &str) -> tempfile::TempDir {
    let src = models::default_root();
    let dir = tempfile::tempdir().expect("tmp");
    for v in ["yolov10", "yolov11"] {
        std::fs::create_dir_all(dir.path().join(v)).expect("mkdir");
        for f in ["manifest.json", "model.onnx"] {
            std::fs::copy(src.join(v).join(f), dir.path().join(v).join(f)).expect("copy weights");
        }
    }
    let v11 = dir.path().join("yolov11");
    match how {
        "truncated" => {
            let bytes = std::fs::read(v11.join("model.onnx")).expect("read");
            std::fs::write(v11.join("model.onnx"), &bytes[..bytes.len() / 2]).expect("truncate");
        }
        "wrong model" => {
            // yolov10's network staged under yolov11's manifest, with a matching checksum: loads,
            // but its output is not the layout the manifest describes.
            std::fs::copy(src.join("yolov10/model.onnx"), v11.join("model.onnx")).expect("copy");
            let sha = models::manifest::sha256_file(&v11.join("model.onnx")).expect("sha");
            let mut m: Value =
                serde_json::from_slice(&std::fs::read(v11.join("manifest.json")).expect("read")).expect("json");
            m["onnx"]["sha256"] = json!(sha);
            std::fs::write(v11.join("manifest.json"), serde_json::to_vec(&m).expect("ser")).expect("write");
        }
        other => panic!("unknown breakage {other}"),
    }
    dir
}

#[tokio::test]
async fn a_broken_variant_is_model_unavailable_or_analyze_failed_and_ready_says_which() {
    for (how, status, code) in [("truncated", 503, "MODEL_UNAVAILABLE"), ("wrong model", 500, "ANALYZE_FAILED")] {
        let models_dir = broken_models(how);
        let dir = models_dir.path().display().to_string();
        let app = app(&[("MODELS_DIR", &dir)]).await;
        let got = post_frames(&app, "", grass_zip(2), &[], &[("x-model-variant", "yolov11")]).await;
        let run = assert_failed_run(&app, how, got.clone(), status, code).await;
        assert_eq!(run["model_variant_selected"], "yolov11");
        if code == "MODEL_UNAVAILABLE" {
            assert!(got.1["message"].as_str().expect("msg").contains("yolov11"), "names the variant");
        } else {
            assert_eq!(got.1["message"], "analysis failed; the cause is in the server log", "opaque 500");
        }
        // The default variant still works, and /ready reports the broken one without failing.
        let (ok, body) = post_frames(&app, "", grass_zip(2), &[], &[]).await;
        assert_eq!(ok, 200, "{how}: yolov10 unaffected: {body}");
        let ready = app.client.get(app.url("/ready")).send().await.expect("ready");
        assert_eq!(ready.status(), 200);
        let ready: Value = ready.json().await.expect("json");
        assert_eq!(golfiq_tests::ready_check(&ready, "model:yolov10"), Some("ok"), "{ready}");
        let expect11 = if how == "truncated" { "unavailable" } else { "ok" };
        assert_eq!(golfiq_tests::ready_check(&ready, "model:yolov11"), Some(expect11), "{how}: {ready}");
    }
    // A broken default variant makes the server not ready.
    let models_dir = broken_models("truncated");
    let dir = models_dir.path().display().to_string();
    let app = app(&[("MODELS_DIR", &dir), ("MODEL_VARIANT", "yolov11")]).await;
    let ready = app.client.get(app.url("/ready")).send().await.expect("ready");
    assert_eq!(ready.status(), 503);
    let ready: Value = ready.json().await.expect("json");
    assert_eq!(golfiq_tests::ready_check(&ready, "model:yolov11"), Some("error"), "{ready}");
}

#[tokio::test]
async fn variant_precedence_is_header_form_query_payload_flag_env() {
    let app = app(&[("ADMIN_TOKEN", "adm")]).await;
    type Pairs<'a> = &'a [(&'a str, &'a str)];
    // (query, form fields, headers, expected variant, expected source)
    let cases: [(&str, Pairs, Pairs, &str, &str); 4] = [
        (
            "?model_variant=yolov10",
            &[("model_variant", "yolov10")],
            &[("x-model-variant", " YOLOv11 ")],
            "yolov11",
            "header",
        ),
        ("?model_variant=yolov10", &[("model_variant", "yolov11")], &[], "yolov11", "form"),
        ("?model_variant=YOLOV11", &[], &[], "yolov11", "query"),
        ("", &[], &[], "yolov10", "env_default"),
    ];
    for (query, fields, headers, variant, source) in cases {
        let (status, body) = post_frames(&app, query, grass_zip(2), fields, headers).await;
        assert_eq!(status, 200, "{source}: {body}");
        assert_eq!((body["model_variant"].as_str(), body["override_source"].as_str()), (Some(variant), Some(source)));
        let run = get_run(&app, body["run_id"].as_str().expect("id")).await;
        assert_eq!(
            (run["model_variant_selected"].as_str(), run["override_source"].as_str()),
            (Some(variant), Some(source))
        );
    }
    // The range payload's field, below the header.
    let range = |variant: Option<&str>| {
        let mut body = json!({"frames_zip_b64": b64(&grass_zip(2)), "fps": 120});
        if let Some(v) = variant {
            body["model_variant"] = json!(v);
        }
        body
    };
    let resp: Value = app
        .client
        .post(app.url("/range/practice/analyze"))
        .header("x-api-key", KEY)
        .json(&range(Some("yolov11")))
        .send()
        .await
        .expect("range")
        .json()
        .await
        .expect("json");
    assert_eq!((resp["model_variant"].as_str(), resp["override_source"].as_str()), (Some("yolov11"), Some("payload")));
    // The rollout: 100 % of users get yolov11 when nothing explicit is given.
    let put = app
        .client
        .put(app.url("/api/admin/feature-flags/config"))
        .header("x-admin-token", "adm")
        .json(&json!({"modelVariantYolov11": {"rolloutPercent": 100}}))
        .send()
        .await
        .expect("put flag");
    assert_eq!(put.status(), 200);
    let (_, flagged) = post_frames(&app, "", grass_zip(2), &[], &[("x-user-id", "golfer-7")]).await;
    assert_eq!(
        (flagged["model_variant"].as_str(), flagged["override_source"].as_str()),
        (Some("yolov11"), Some("flag"))
    );
    let (_, anonymous) = post_frames(&app, "", grass_zip(2), &[], &[]).await;
    assert_eq!(anonymous["override_source"], "env_default", "no x-user-id, no rollout");
    let (_, explicit) =
        post_frames(&app, "?model_variant=yolov10", grass_zip(2), &[], &[("x-user-id", "golfer-7")]).await;
    assert_eq!(
        (explicit["model_variant"].as_str(), explicit["override_source"].as_str()),
        (Some("yolov10"), Some("query"))
    );
    // MODEL_VARIANT is the last word.
    let v11 = self::app(&[("MODEL_VARIANT", "yolov11")]).await;
    let (_, body) = post_frames(&v11, "", grass_zip(2), &[], &[]).await;
    assert_eq!(
        (body["model_variant"].as_str(), body["override_source"].as_str()),
        (Some("yolov11"), Some("env_default"))
    );
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
