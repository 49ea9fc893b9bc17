//! The detector weights the project ships, without running them: which variants exist
//! ([`ModelVariant`]), where their files lie ([`default_root`]), whether a variant's files are
//! intact ([`read_verified`]), and how a process reports model readiness ([`ModelReadiness`]).
//!
//! The run domain (`common`), the inference crate (`models`) and the health function all name
//! variants through this one type. Keeping it apart from `models` is what lets the health function
//! report on the weights without linking ONNX Runtime: [`WeightsCatalog`] verifies them by checksum,
//! and `models::ModelRegistry` implements the same [`ModelReadiness`] by loading them.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The detector weights a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ModelVariant {
    /// YOLOv10n, NMS-free head (the default).
    #[serde(rename = "yolov10")]
    Yolov10,
    /// YOLO11n with class-aware NMS.
    #[serde(rename = "yolov11")]
    Yolov11,
}

impl ModelVariant {
    /// Every variant the project ships weights for, the default first.
    pub const ALL: &'static [ModelVariant] = &[ModelVariant::Yolov10, ModelVariant::Yolov11];

    /// The wire name, which is also the weights folder's name.
    pub fn as_str(&self) -> &'static str {
        match self {
            ModelVariant::Yolov10 => "yolov10",
            ModelVariant::Yolov11 => "yolov11",
        }
    }

    /// The wire names joined with `|`, for error messages and docs.
    pub fn allowed() -> String {
        Self::ALL.iter().map(ModelVariant::as_str).collect::<Vec<_>>().join("|")
    }

    /// Parses a user-supplied variant: trimmed and lower-cased first.
    pub fn parse_loose(s: &str) -> Result<Self, String> {
        s.trim().to_ascii_lowercase().parse()
    }
}

impl fmt::Display for ModelVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ModelVariant {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("'{s}' is not one of {}", Self::allowed()))
    }
}

/// Where the weights are looked for when MODELS_DIR is unset (the server reads that variable once,
/// in `common::config`): `models/weights` in the working directory or a folder above it or above
/// the executable, then `/opt/models/weights` (Lambda layer, container image).
pub fn default_root() -> PathBuf {
    locate::search("models/weights", &["/opt/models/weights"], |p| {
        p.join(ModelVariant::ALL[0].as_str()).join("manifest.json").is_file()
    })
}

/// Where a variant's ONNX file is and what it must hash to (the manifest's `onnx` object).
#[derive(Debug, Clone, Deserialize)]
pub struct OnnxSpec {
    /// File name beside the manifest.
    pub file: String,
    /// Lowercase hex sha256 of the file.
    pub sha256: String,
}

/// Why a variant's files cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IntegrityError {
    /// A weights file or manifest is missing.
    #[error("{path} is missing: {reason}")]
    Missing {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// The manifest does not parse, or describes a model the runtime cannot use.
    #[error("manifest {path} is invalid: {reason}")]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The model file does not match its manifest's sha256.
    #[error("{path} fails its checksum: manifest says sha256 {expected}, file has {actual}")]
    Checksum {
        /// The model file.
        path: PathBuf,
        /// From the manifest.
        expected: String,
        /// Of the file.
        actual: String,
    },
}

/// Reads `dir/manifest.json` as `T` (each reader takes the fields it needs).
pub fn read_manifest<T: DeserializeOwned>(dir: &Path) -> Result<T, IntegrityError> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| IntegrityError::Missing { path: path.clone(), reason: e.to_string() })?;
    serde_json::from_str(&text).map_err(|e| IntegrityError::Manifest { path, reason: e.to_string() })
}

/// Reads the model file `spec` names in `dir` and checks it against the sha256, returning its
/// bytes: a file that differs from its manifest is never handed on.
pub fn read_verified(spec: &OnnxSpec, dir: &Path) -> Result<Vec<u8>, IntegrityError> {
    let path = dir.join(&spec.file);
    let bytes =
        std::fs::read(&path).map_err(|e| IntegrityError::Missing { path: path.clone(), reason: e.to_string() })?;
    let actual = hex(&Sha256::digest(&bytes));
    if !actual.eq_ignore_ascii_case(spec.sha256.trim()) {
        return Err(IntegrityError::Checksum { path, expected: spec.sha256.clone(), actual });
    }
    Ok(bytes)
}

/// Hashes a file without holding it in memory.
pub fn sha256_file(path: &Path) -> Result<String, std::io::Error> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks one variant's folder: its manifest reads and its model file matches the checksum.
pub fn verify_variant(root: &Path, variant: ModelVariant) -> Result<(), IntegrityError> {
    #[derive(Deserialize)]
    struct Listing {
        onnx: OnnxSpec,
    }
    let dir = root.join(variant.as_str());
    let listing: Listing = read_manifest(&dir)?;
    read_verified(&listing.onnx, &dir).map(drop)
}

/// A variant's state, for /ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VariantState {
    /// The variant.
    pub variant: ModelVariant,
    /// `loaded`, `available` (verified, not loaded) or `unavailable`.
    pub state: &'static str,
    /// Why, when unavailable.
    pub detail: String,
}

impl VariantState {
    /// `available` when the variant's files are intact, else `unavailable` with the reason.
    pub fn verified(root: &Path, variant: ModelVariant) -> VariantState {
        match verify_variant(root, variant) {
            Ok(()) => VariantState { variant, state: "available", detail: String::new() },
            Err(e) => VariantState { variant, state: "unavailable", detail: e.to_string() },
        }
    }
}

/// How a process reports model readiness to /ready. Blocking (it may hash or load weights): call
/// it off the async runtime.
pub trait ModelReadiness: Send + Sync + fmt::Debug {
    /// Makes `variant` as ready as this process can and says how far it got: loaded where the
    /// process runs inference, verified where it does not. An error means requests for it fail.
    fn prepare(&self, variant: ModelVariant) -> Result<&'static str, String>;

    /// A variant's state, without loading it.
    fn state(&self, variant: ModelVariant) -> VariantState;
}

/// The weights as files, for a process that reports on them without running them (the health
/// Lambda): a variant is ready when its manifest reads and its checksum holds.
#[derive(Debug, Clone)]
pub struct WeightsCatalog {
    root: PathBuf,
}

impl WeightsCatalog {
    /// The catalog of `root/<variant>/`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        WeightsCatalog { root: root.into() }
    }
}

impl ModelReadiness for WeightsCatalog {
    fn prepare(&self, variant: ModelVariant) -> Result<&'static str, String> {
        verify_variant(&self.root, variant).map(|()| "verified").map_err(|e| e.to_string())
    }

    fn state(&self, variant: ModelVariant) -> VariantState {
        VariantState::verified(&self.root, variant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_round_trip_their_wire_names_and_refuse_others() {
        for v in ModelVariant::ALL {
            assert_eq!(v.as_str().parse::<ModelVariant>(), Ok(*v));
            assert_eq!(serde_json::to_string(v).expect("json"), format!("\"{v}\""));
        }
        assert_eq!(ModelVariant::parse_loose(" YOLOv11 "), Ok(ModelVariant::Yolov11));
        let err = "yolov99".parse::<ModelVariant>().expect_err("unknown");
        assert!(err.contains("yolov10|yolov11"), "{err}");
    }

    #[test]
    fn the_catalog_verifies_by_checksum_and_names_what_is_wrong() {
        let root = tempfile::tempdir().expect("dir");
        let dir = root.path().join("yolov10");
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("model.onnx"), b"weights").expect("write");
        let sha = sha256_file(&dir.join("model.onnx")).expect("sha");
        let manifest = |sha: &str| format!(r#"{{"onnx": {{"file": "model.onnx", "sha256": "{sha}"}}}}"#);
        std::fs::write(dir.join("manifest.json"), manifest(&sha)).expect("write");
        let catalog = WeightsCatalog::new(root.path());
        assert_eq!(catalog.prepare(ModelVariant::Yolov10), Ok("verified"));
        let states: Vec<VariantState> = ModelVariant::ALL.iter().map(|v| catalog.state(*v)).collect();
        assert_eq!(states[0].state, "available");
        assert_eq!((states[1].state, states[1].detail.contains("yolov11")), ("unavailable", true));
        std::fs::write(dir.join("manifest.json"), manifest(&"0".repeat(64))).expect("write");
        let err = catalog.prepare(ModelVariant::Yolov10).expect_err("bad checksum");
        assert!(err.contains("fails its checksum"), "{err}");
    }
}
