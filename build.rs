//! Build script: only looks for a `prometheus` binary, so that
//! `tests/prometheus.rs` runs against a real Prometheus where one is
//! installed and is reported as *ignored* (with how to run it) where not.
//!
//! Emits `cfg(have_prometheus)` when `$PROMETHEUS` names an executable, or
//! `prometheus` is found on `PATH`. It reruns when either variable changes,
//! when the found binary changes or goes away, and — while none is found —
//! when a `PATH` directory gains or loses an entry, so that
//! `apt-get install prometheus` followed by `cargo test` picks it up.

use std::env;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo::rustc-check-cfg=cfg(have_prometheus)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=PROMETHEUS");
    println!("cargo::rerun-if-env-changed=PATH");
    match find_prometheus() {
        Some(found) => {
            println!("cargo::rerun-if-changed={}", found.display());
            println!("cargo::rustc-cfg=have_prometheus");
        }
        None => {
            for dir in path_dirs() {
                if dir.is_dir() {
                    println!("cargo::rerun-if-changed={}", dir.display());
                }
            }
        }
    }
}

fn path_dirs() -> Vec<PathBuf> {
    env::var_os("PATH")
        .map(|p| env::split_paths(&p).filter(|d| d.is_absolute()).collect())
        .unwrap_or_default()
}

/// The same lookup the test does: `$PROMETHEUS` (a path, or a name looked
/// up on `PATH`), else `prometheus` on `PATH`.
fn find_prometheus() -> Option<PathBuf> {
    let name = env::var_os("PROMETHEUS")
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "prometheus".into());
    let name = Path::new(&name);
    if name.components().count() > 1 {
        return is_executable(name).then(|| name.to_path_buf());
    }
    path_dirs()
        .into_iter()
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
