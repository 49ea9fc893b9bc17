//! Where a file the binaries load at run time lies (ONNX Runtime, the detector weights, FFmpeg's
//! decoder libraries): one lookup order for all of them, so a laptop, CI, the container image and
//! a Lambda layer each find their copy without configuration.

use std::path::{Path, PathBuf};

/// The path of something installed: the environment variable `env` when set and non-empty; else
/// the first of `relative` joined to the working directory or any folder above it, `relative`
/// joined to any folder above the executable, and the absolute `fixed` paths (a layer under
/// `/opt`, the image's folders) for which `present` holds; else `relative` itself (so an error
/// names where `make setup` would have put it).
pub fn installed(env: &str, relative: &str, fixed: &[&str], present: impl Fn(&Path) -> bool) -> PathBuf {
    match std::env::var_os(env).filter(|p| !p.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => search(relative, fixed, present),
    }
}

/// [`installed`] without the override: the first present candidate, else `relative`.
pub fn search(relative: &str, fixed: &[&str], present: impl Fn(&Path) -> bool) -> PathBuf {
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    if let Ok(exe) = std::env::current_exe() {
        roots.extend(exe.ancestors().skip(1).map(Path::to_path_buf));
    }
    roots
        .iter()
        .map(|r| r.join(relative))
        .chain(fixed.iter().map(PathBuf::from))
        .find(|p| present(p))
        .unwrap_or_else(|| PathBuf::from(relative))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_override_then_the_first_present_candidate_then_the_relative_path() {
        // This crate's own manifest, found from the working directory (the crate folder).
        assert!(installed("LOCATE_TEST_UNSET", "Cargo.toml", &[], |p| p.is_file()).is_absolute());
        assert_eq!(
            installed("LOCATE_TEST_UNSET", "no/such/file", &["/nonexistent"], |p| p.exists()),
            PathBuf::from("no/such/file")
        );
        assert_eq!(installed("LOCATE_TEST_UNSET", "no/such/file", &["/"], |p| p.is_dir()), PathBuf::from("/"));
        // `PATH` is always set: the override wins whatever exists.
        assert_eq!(
            installed("PATH", "Cargo.toml", &[], |_| true),
            PathBuf::from(std::env::var_os("PATH").expect("PATH"))
        );
    }
}
