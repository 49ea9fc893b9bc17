//! Request parsing of POST /cv/analyze and /cv/analyze/video (`analyze::request::parse_frames`,
//! `parse_video`): the multipart body with its boundary, raw image and zip bodies, the video
//! JSON body, and the query parameters. Every part comes back as a payload or a typed error, and
//! the parameters as validated ones (`golfiq_fuzz::check_params`) or INVALID_CALIBRATION.
//!
//! Input layout: line 1 is the Content-Type header, line 2 the request target (path and query),
//! the rest the body (see fuzz/corpus/multipart).
#![no_main]

use analyze::request::{parse_frames, parse_video, Payload};
use common::lambda_http::http::Method;
use golfiq_fuzz::{block_on, check_params, request, split_lines};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (lines, body) = split_lines(data, 2);
    let (content_type, target) = (&lines[0], &lines[1]);

    let req = request(Method::POST, target, "/cv/analyze", content_type, body.to_vec());
    let parsed = block_on(parse_frames(&req));
    match &parsed.payload {
        Ok(Payload::Zip(bytes) | Payload::Image(bytes)) => assert!(bytes.len() <= body.len()),
        Ok(other) => panic!("/cv/analyze gave a {other:?} payload"),
        Err(_) => {}
    }
    if let Ok(p) = &parsed.params {
        check_params(p);
    }

    let req = request(Method::POST, target, "/cv/analyze/video", content_type, body.to_vec());
    let parsed = block_on(parse_video(&req));
    match &parsed.payload {
        Ok(Payload::Video(bytes)) => assert!(bytes.len() <= body.len()),
        Ok(Payload::VideoUpload(key)) => assert!(key.len() <= body.len()),
        Ok(other) => panic!("/cv/analyze/video gave a {other:?} payload"),
        Err(_) => {}
    }
    if let Ok(p) = &parsed.params {
        check_params(p);
    }
});
