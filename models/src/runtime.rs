//! Finding and loading ONNX Runtime (`ort` with `load-dynamic`), once per process, with an error
//! that says how to install it instead of the panic `ort` would raise on first use.
//!
//! Lookup order: `ORT_DYLIB_PATH`; then `.ort/lib/libonnxruntime.so` in the working directory or
//! any folder above it or above the executable (`make setup` installs it there from the PyPI
//! wheel); then `/opt/lib/libonnxruntime.so` (a Lambda layer) and
//! `/opt/onnxruntime/lib/libonnxruntime.so` (the container image).

use std::path::PathBuf;
use std::sync::OnceLock;

use crate::ModelError;

const LIB: &str = "libonnxruntime.so";
const HINT: &str = "install it with `make setup` (scripts/setup-ort.sh: the PyPI onnxruntime==1.31.1 wheel into .ort/lib) or point ORT_DYLIB_PATH at a libonnxruntime.so >= 1.31";

static ENVIRONMENT: OnceLock<Result<ort::environment::Environment, ModelError>> = OnceLock::new();

/// Where ONNX Runtime will be loaded from.
pub fn dylib_path() -> PathBuf {
    let relative = format!(".ort/lib/{LIB}");
    let fixed = [format!("/opt/lib/{LIB}"), format!("/opt/onnxruntime/lib/{LIB}")];
    locate::installed("ORT_DYLIB_PATH", &relative, &fixed.each_ref().map(String::as_str), |p| p.is_file())
}

/// Loads ONNX Runtime and creates the process environment, once. Later calls return the first
/// outcome.
pub fn init() -> Result<&'static ort::environment::Environment, ModelError> {
    let outcome = ENVIRONMENT.get_or_init(|| {
        let path = dylib_path();
        if !path.is_file() {
            return Err(ModelError::RuntimeUnavailable {
                path: path.clone(),
                reason: "file not found".into(),
                hint: HINT,
            });
        }
        let builder = ort::init_from(&path).map_err(|e| ModelError::RuntimeUnavailable {
            path: path.clone(),
            reason: e.to_string(),
            hint: HINT,
        })?;
        let env = builder.with_name("golfiq").build().map_err(|e| ModelError::RuntimeUnavailable {
            path: path.clone(),
            reason: e.to_string(),
            hint: HINT,
        })?;
        tracing::info!(path = %path.display(), "ONNX Runtime loaded");
        Ok(env)
    });
    outcome.as_ref().map_err(Clone::clone)
}
