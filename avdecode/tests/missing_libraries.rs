//! Without FFmpeg's libraries the decoder is an error that says how to install them, never a
//! crash. Its own test binary: the libraries are looked up once per process.

#[test]
fn missing_libraries_are_an_error_naming_the_fix() {
    std::env::set_var("FFMPEG_LIB_DIR", "/nonexistent/ffmpeg");
    assert_eq!(avdecode::lib_dir(), std::path::PathBuf::from("/nonexistent/ffmpeg"));
    let err = avdecode::available().expect_err("no libraries there");
    assert!(matches!(err, avdecode::Error::Unavailable(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("/nonexistent/ffmpeg") && text.contains("make setup"), "{text}");
    let opened = avdecode::Decoder::open(avdecode::Codec::Hevc, &[], 1);
    assert!(matches!(opened, Err(avdecode::Error::Unavailable(_))));
}
