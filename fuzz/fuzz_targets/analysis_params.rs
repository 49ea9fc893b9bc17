//! Analysis parameters and calibration (`analyze::request::validate_params`, and the whole range
//! request through `parse_range`): the same bytes as a JSON object (the range and video JSON
//! bodies), as `key=value` form fields or query parameters (every value a string), and as a range
//! request body. Each validates or is refused with INVALID_CALIBRATION; what validates is usable
//! (`golfiq_fuzz::check_params`).
#![no_main]

use analyze::request::{parse_range, validate_params, DEFAULT_FPS};
use common::lambda_http::http::Method;
use golfiq_fuzz::{check_params, request};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

fuzz_target!(|data: &[u8]| {
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(data) {
        for fps_name in ["fps", "fps_fallback"] {
            if let Ok(p) = validate_params(&map, fps_name, DEFAULT_FPS) {
                check_params(&p);
            }
        }
    }
    let text = String::from_utf8_lossy(data);
    let form: Map<String, Value> = text
        .split(['&', '\n'])
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    if let Ok(p) = validate_params(&form, "fps", DEFAULT_FPS) {
        check_params(&p);
    }
    let req = request(Method::POST, "/range/practice/analyze", "/", "application/json", data.to_vec());
    let parsed = parse_range(&req);
    if let Ok(p) = &parsed.params {
        check_params(p);
    }
});
