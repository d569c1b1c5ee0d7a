//! `cargo xtask package`: every crate meant for crates.io packages and builds from its own tarball, with the metadata a user reads.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// The crates published to crates.io, in no particular order (cargo sorts
/// them by dependency). Every other workspace member must say `publish = false`.
pub(crate) const PUBLISHED: [&str; 10] = [
    "wxmedia-proto",
    "wxmedia-fit",
    "wxmedia-tls",
    "wxmedia-client",
    "wxmedia-hyper",
    "wxmedia-surf",
    "wxmedia-blocking",
    "wxmedia",
    "wxmedia-sim",
    "wxmedia-cli",
];

/// Check the manifests, then `cargo package` the published crates: cargo
/// builds each from its `.crate` file against the others' tarballs, so a
/// file outside a crate's directory or a missing dependency version fails here.
pub(crate) fn run(root: &Path) -> Result<(), String> {
    check_manifests(root)?;
    check_rust_version(root)?;
    forget_extracted_tarballs()?;
    let target = verify_target_dir(root)?;
    let target = target.to_str().ok_or("non-UTF-8 target directory")?;
    let mut args = vec![
        "package",
        "--locked",
        "--allow-dirty",
        "--target-dir",
        target,
    ];
    for name in PUBLISHED {
        args.extend(["-p", name]);
    }
    // The verification builds are only compiled, never run or debugged:
    // without debug info or incremental state they take a fraction of the
    // disk (the published manifests carry none of the workspace's profiles).
    crate::run(
        "cargo",
        &args,
        &[
            ("CARGO_PROFILE_DEV_DEBUG", "false"),
            ("CARGO_INCREMENTAL", "0"),
        ],
    )
}

/// Where `cargo package` builds the tarballs: a directory of its own, with
/// our crates' artifacts removed first. Cargo fingerprints a registry crate
/// by name and version, not content, so it would reuse what it built from
/// the previous run's tarballs; third-party dependencies stay cached.
fn verify_target_dir(root: &Path) -> Result<std::path::PathBuf, String> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("package-verify");
    for sub in [
        "debug/.fingerprint",
        "debug/deps",
        "debug/build",
        "debug/incremental",
    ] {
        let Ok(entries) = std::fs::read_dir(target.join(sub)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("wxmedia") || name.starts_with("libwxmedia") {
                let path = entry.path();
                let removed = if path.is_dir() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
                removed.map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
            }
        }
    }
    Ok(target)
}

/// Cargo verifies each crate against the others' tarballs through a local
/// registry whose extracted sources it keeps under `$CARGO_HOME/registry/src`
/// and reuses when the version is unchanged, so a second run would build
/// the first run's sources. Remove them: our versions are not on crates.io,
/// and anything removed is extracted again on demand.
fn forget_extracted_tarballs() -> Result<(), String> {
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .ok_or("neither CARGO_HOME nor HOME is set")?;
    let Ok(registries) = std::fs::read_dir(home.join("registry/src")) else {
        return Ok(()); // nothing extracted yet
    };
    for registry in registries.flatten() {
        let Ok(crates) = std::fs::read_dir(registry.path()) else {
            continue;
        };
        for dir in crates.flatten() {
            let name = dir.file_name();
            let name = name.to_string_lossy();
            let ours = PUBLISHED.iter().any(|p| {
                name.strip_prefix(p)
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
            });
            if ours {
                std::fs::remove_dir_all(dir.path())
                    .map_err(|e| format!("cannot remove {}: {e}", dir.path().display()))?;
            }
        }
    }
    Ok(())
}

fn metadata(root: &Path) -> Result<Value, String> {
    let out = Command::new("cargo")
        .args(["metadata", "--format-version", "1", "--no-deps", "--locked"])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata: {e}"))
}

/// What crates.io and docs.rs show a user: each published crate has it all,
/// every other member is kept off crates.io.
fn check_manifests(root: &Path) -> Result<(), String> {
    let meta = metadata(root)?;
    let mut problems = Vec::new();
    for pkg in meta["packages"].as_array().into_iter().flatten() {
        let name = pkg["name"].as_str().unwrap_or_default();
        // `publish = false` shows as an empty list of registries.
        let unpublished = pkg["publish"].as_array().is_some_and(Vec::is_empty);
        if !PUBLISHED.contains(&name) {
            if !unpublished {
                problems.push(format!(
                    "{name}: not meant for crates.io, needs `publish = false`"
                ));
            }
            continue;
        }
        if unpublished {
            problems.push(format!(
                "{name}: listed as published but says `publish = false`"
            ));
        }
        for field in [
            "description",
            "documentation",
            "readme",
            "license",
            "repository",
            "rust_version",
        ] {
            if pkg[field].as_str().is_none_or(str::is_empty) {
                problems.push(format!("{name}: no `{field}`"));
            }
        }
        for field in ["keywords", "categories"] {
            if pkg[field].as_array().is_none_or(Vec::is_empty) {
                problems.push(format!("{name}: no `{field}`"));
            }
        }
        if let Some(problem) = docs_rs_problem(pkg) {
            problems.push(format!("{name}: {problem}"));
        }
        if let Some(readme) = pkg["readme"].as_str() {
            let manifest = Path::new(pkg["manifest_path"].as_str().unwrap_or_default());
            let path = manifest.parent().unwrap_or(root).join(readme);
            if !path.starts_with(manifest.parent().unwrap_or(root)) || !path.is_file() {
                problems.push(format!(
                    "{name}: README `{readme}` is not a file in the crate"
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("package metadata:\n  {}", problems.join("\n  ")))
    }
}

/// docs.rs must document every feature: `all-features = true`, or, where
/// the crate has the two crypto providers (which exclude each other), a
/// `features` list that with the defaults covers every feature but
/// `aws-lc-rs`.
fn docs_rs_problem(pkg: &Value) -> Option<String> {
    let docs_rs = &pkg["metadata"]["docs"]["rs"];
    let features = pkg["features"].as_object().cloned().unwrap_or_default();
    let exclusive = features.contains_key("ring") && features.contains_key("aws-lc-rs");
    if docs_rs["all-features"] == Value::Bool(true) {
        return exclusive.then(|| {
            "`all-features = true` turns on both crypto providers, a compile error".to_owned()
        });
    }
    if docs_rs.is_null() {
        return Some("no `[package.metadata.docs.rs]`".to_owned());
    }
    let listed: Vec<&str> = docs_rs["features"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let defaults: Vec<&str> = features
        .get("default")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let missing: Vec<&String> = features
        .keys()
        .filter(|f| *f != "default" && !(exclusive && *f == "aws-lc-rs"))
        .filter(|f| !listed.contains(&f.as_str()) && !defaults.contains(&f.as_str()))
        .collect();
    (!missing.is_empty()).then(|| format!("docs.rs would not document the features {missing:?}"))
}

/// The declared `rust-version` is only true if CI builds with it: the
/// toolchain here must be that version (an older one cannot be fetched on
/// these machines, so the declaration follows the toolchain CI has).
fn check_rust_version(root: &Path) -> Result<(), String> {
    let meta = metadata(root)?;
    let out = Command::new("rustc")
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run rustc: {e}"))?;
    let rustc = String::from_utf8_lossy(&out.stdout);
    // "rustc 1.95.0 (…)" → "1.95"
    let toolchain = major_minor(rustc.split_whitespace().nth(1).unwrap_or_default());
    for pkg in meta["packages"].as_array().into_iter().flatten() {
        let name = pkg["name"].as_str().unwrap_or_default();
        if let Some(declared) = pkg["rust_version"].as_str() {
            let declared = major_minor(declared);
            if declared != toolchain {
                return Err(format!(
                    "{name} declares rust-version {declared} but CI builds with {}: \
                     set the workspace's rust-version to the toolchain that is tested",
                    rustc.trim()
                ));
            }
        }
    }
    eprintln!(
        "xtask: rust-version {toolchain} is the toolchain CI builds with ({})",
        rustc.trim()
    );
    Ok(())
}

/// "1.95.0" and "1.95" → "1.95".
fn major_minor(version: &str) -> String {
    version.split('.').take(2).collect::<Vec<_>>().join(".")
}
