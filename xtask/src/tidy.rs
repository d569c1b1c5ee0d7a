//! Tidy checks: every Rust file opens with `//!`, and wxmedia-proto stays free of I/O.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Crates the sans-IO core must never depend on, directly or not.
const FORBIDDEN_CRATES: &[&str] = &[
    "tokio",
    "async-std",
    "hyper",
    "surf",
    "ureq",
    "rustls",
    "mio",
    "socket2",
    "reqwest",
    "async-io",
    "smol",
];

/// Source patterns the core must not use outside its tests: sockets, files,
/// reading the clock, sleeping.
const FORBIDDEN_PATTERNS: &[&str] = &[
    "std::net",
    "std::fs",
    "Instant::now",
    "SystemTime::now",
    "thread::sleep",
    "std::thread",
    "std::process",
    "std::env",
];

pub(crate) fn run(root: &Path) -> Result<(), String> {
    let mut problems = Vec::new();
    headers(root, &mut problems);
    proto_sources(root, &mut problems);
    proto_dependencies(root, &mut problems)?;
    tls_stack(root, &mut problems)?;
    if problems.is_empty() {
        eprintln!("tidy: ok");
        Ok(())
    } else {
        Err(format!(
            "tidy found {} problem(s):\n  {}",
            problems.len(),
            problems.join("\n  ")
        ))
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if name != "target" && name != ".git" && name != "corpus" && name != "artifacts" {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn headers(root: &Path, problems: &mut Vec<String>) {
    let mut files = Vec::new();
    for dir in ["crates", "xtask", "tests", "fuzz", "benches", "examples"] {
        rust_files(&root.join(dir), &mut files);
    }
    if files.is_empty() {
        problems.push("no Rust files found: is the root right?".into());
    }
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if !text.starts_with("//! ") {
            problems.push(format!(
                "{}: first line must be a `//!` summary",
                rel(root, &file)
            ));
        }
    }
}

fn proto_sources(root: &Path, problems: &mut Vec<String>) {
    let mut files = Vec::new();
    rust_files(&root.join("crates/wxmedia-proto/src"), &mut files);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        // Unit tests may use the clock and files; the library may not.
        let library = text.split("#[cfg(test)]").next().unwrap_or("");
        for (n, line) in library.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for pat in FORBIDDEN_PATTERNS {
                if code.contains(pat) {
                    problems.push(format!(
                        "{}:{}: wxmedia-proto is sans-IO and must not use `{pat}`",
                        rel(root, &file),
                        n + 1
                    ));
                }
            }
        }
    }
}

fn proto_dependencies(root: &Path, problems: &mut Vec<String>) -> Result<(), String> {
    let out = Command::new("cargo")
        .args([
            "tree",
            "--locked",
            "-p",
            "wxmedia-proto",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run cargo tree: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo tree failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let tree = String::from_utf8_lossy(&out.stdout);
    let mut seen = 0;
    for line in tree.lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        seen += 1;
        if FORBIDDEN_CRATES.contains(&name) {
            problems.push(format!("wxmedia-proto depends on `{name}`, which does I/O"));
        }
    }
    if seen < 2 {
        problems.push("cargo tree listed no dependencies of wxmedia-proto".into());
    }
    Ok(())
}

/// No crate of the workspace may pull an old TLS stack: rustls before 0.23
/// or ring 0.16 (surf's own backends would, with open advisories).
fn tls_stack(root: &Path, problems: &mut Vec<String>) -> Result<(), String> {
    let out = Command::new("cargo")
        .args([
            "tree",
            "--locked",
            "--workspace",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run cargo tree: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo tree failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut words = line.split_whitespace();
        let (Some(name), Some(version)) = (words.next(), words.next()) else {
            continue;
        };
        let old = match name {
            "rustls" => !version.starts_with("v0.23"),
            "ring" => version.starts_with("v0.16"),
            _ => false,
        };
        if old {
            problems.push(format!(
                "old TLS stack in the dependency tree: {name} {version}"
            ));
        }
    }
    Ok(())
}

fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}
