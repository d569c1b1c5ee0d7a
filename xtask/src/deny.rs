//! `cargo xtask deny`: cargo-deny against the offline advisory database in ../shared/advisory-db.

use std::path::Path;
use std::process::{Command, Stdio};

/// The directory name cargo-deny derives from the advisory database's URL.
const DB_NAME: &str = "advisory-db-3157b0e258782691";

pub(crate) fn run(root: &Path) -> Result<(), String> {
    let source = root.join("../shared/advisory-db");
    if !source.join("crates").is_dir() {
        return Err(format!(
            "the offline advisory database is missing at {}; cargo deny cannot check advisories",
            source.display()
        ));
    }
    ensure_cargo_deny(root)?;
    let db = root.join("target/advisory-db/DB").join(DB_NAME);
    if !db.join(".git").is_dir() {
        // cargo-deny opens the database as a git repository, so the copy
        // becomes one (made fresh: the shared folder is read-only).
        let _ = std::fs::remove_dir_all(&db);
        copy_dir(&source, &db)?;
        let git = |args: &[&str]| crate::run_in(&db, "git", args, &[]);
        git(&["init", "-q"])?;
        git(&["add", "-A"])?;
        git(&[
            "-c",
            "user.name=xtask",
            "-c",
            "user.email=xtask@wxmedia.invalid",
            "commit",
            "-q",
            "-m",
            "offline advisory-db snapshot",
        ])?;
    }
    crate::run("cargo", &["fetch", "--locked"], &[])?;
    crate::run("cargo", &["deny", "--offline", "--locked", "check"], &[])
}

fn ensure_cargo_deny(root: &Path) -> Result<(), String> {
    let present = Command::new("cargo")
        .args(["deny", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !present {
        eprintln!("xtask: cargo-deny is missing; installing it");
        crate::run_in(root, "cargo", &["install", "--locked", "cargo-deny"], &[])?;
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for entry in std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let entry = entry.map_err(|e| format!("{}: {e}", from.display()))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if src.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(|e| format!("{}: {e}", src.display()))?;
        }
    }
    Ok(())
}
