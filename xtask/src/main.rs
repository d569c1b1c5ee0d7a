//! Development tasks for wxmedia, run as `cargo xtask <task>` (see `cargo xtask help`).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod deny;
mod fuzz;
mod package;
mod tidy;

const HELP: &str = "\
cargo xtask <task>

tasks:
  ci                  everything CI runs: fmt, clippy, tests (conformance on both
                      crypto providers), docs, golden, tidy,
                      deny, package, man, fuzz smoke
  golden --check      compare encoder output with tests/golden (default)
  golden --bless      rewrite the golden files from the encoder
  package             manifests complete, rust-version true, and `cargo package`
                      (builds each published crate from its tarball)
  tidy                file headers, the sans-IO rules of wxmedia-proto, TLS stack
  man                 man pages for the wxmedia command into target/man
                      (`man -l target/man/wxmedia.1`)
  bench [--quick]     benchmarks: Markdown table + target/bench/summary.json,
                      SVG charts into docs/bench (with --quick: target/bench)
  deny                cargo-deny (installed when missing), offline advisories
  fuzz list | run <target> [--secs N] | smoke | tmin <target> <file>
                      cargo-fuzz (installed when missing) with our corpora
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["ci"] => ci(),
        ["golden"] | ["golden", "--check"] => golden(false),
        ["golden", "--bless"] => golden(true),
        ["tidy"] => tidy::run(&root()),
        ["fuzz", rest @ ..] => fuzz::run(&root(), rest),
        ["deny"] => deny::run(&root()),
        ["package"] => package::run(&root()),
        ["man"] => man(),
        ["bench"] => bench(false),
        ["bench", "--quick"] => bench(true),
        [] | ["help"] | ["--help"] | ["-h"] => {
            print!("{HELP}");
            Ok(())
        }
        other => Err(format!("unknown task {other:?}\n\n{HELP}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of this crate).
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Run a command in the workspace root, echoing it; fail on a non-zero exit.
pub(crate) fn run(program: &str, args: &[&str], envs: &[(&str, &str)]) -> Result<(), String> {
    run_in(&root(), program, args, envs)
}

/// Run a command in `dir`, echoing it; fail on a non-zero exit.
pub(crate) fn run_in(
    dir: &Path,
    program: &str,
    args: &[&str],
    envs: &[(&str, &str)],
) -> Result<(), String> {
    eprintln!("$ {}{program} {}", env_prefix(envs), args.join(" "));
    let status = Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(dir)
        .status()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed: {status}", args.join(" ")))
    }
}

fn env_prefix(envs: &[(&str, &str)]) -> String {
    envs.iter().map(|(k, v)| format!("{k}={v} ")).collect()
}

fn ci() -> Result<(), String> {
    let started = std::time::Instant::now();
    let mut steps = Steps::default();
    steps.run("fmt", || {
        run("cargo", &["fmt", "--all", "--", "--check"], &[])
    })?;
    steps.run("clippy", || {
        run(
            "cargo",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--locked",
                "--",
                "-D",
                "warnings",
            ],
            &[],
        )
    })?;
    steps.run("test", || {
        run("cargo", &["test", "--workspace", "--locked"], &[])
    })?;
    steps.run("providers", providers)?;
    steps.run("doc", || {
        run(
            "cargo",
            &["doc", "--workspace", "--no-deps", "--locked"],
            &[("RUSTDOCFLAGS", "-Dwarnings")],
        )
    })?;
    // Benchmarks are built, never run, in CI: timings on shared machines
    // are noise, and the numbers live in docs/BENCHMARKS.md.
    steps.run("bench build", || {
        run(
            "cargo",
            &["build", "--locked", "-p", "wxmedia-bench", "--all-targets"],
            &[],
        )
    })?;
    steps.run("golden", || golden(false))?;
    steps.run("tidy", || tidy::run(&root()))?;
    steps.run("deny", || deny::run(&root()))?;
    steps.run("package", || package::run(&root()))?;
    steps.run("man", man)?;
    steps.run("fuzz smoke", || fuzz::run(&root(), &["smoke"]))?;
    steps.report();
    eprintln!("xtask ci: all steps passed in {:.0?}", started.elapsed());
    Ok(())
}

/// The time each CI step took, printed at the end (and when a step fails),
/// so that a slow CI run says which step to look at.
#[derive(Default)]
struct Steps(Vec<(&'static str, std::time::Duration)>);

impl Steps {
    fn run(
        &mut self,
        name: &'static str,
        step: impl FnOnce() -> Result<(), String>,
    ) -> Result<(), String> {
        let started = std::time::Instant::now();
        let result = step();
        self.0.push((name, started.elapsed()));
        if result.is_err() {
            self.report();
        }
        result
    }

    fn report(&self) {
        for (name, took) in &self.0 {
            eprintln!("xtask ci: {name:<12} {:>6.0?}", took);
        }
    }
}

fn bench(quick: bool) -> Result<(), String> {
    run(
        "cargo",
        &[
            "build",
            "--release",
            "--locked",
            "-p",
            "wxmedia-cli",
            "-p",
            "wxmedia-bench",
        ],
        &[],
    )?;
    // Run the binaries cargo just built: under CARGO_TARGET_DIR when it is
    // set, not a stale copy under ./target.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
        .join("release");
    let wxmedia = target.join("wxmedia");
    let mut args = vec![
        "--wxmedia",
        wxmedia.to_str().ok_or("non-UTF-8 path")?,
        "--out",
        "target/bench",
    ];
    if quick {
        // The charts of a quick run stay in target/bench beside its
        // summary, so that they do not overwrite the committed ones.
        args.push("--quick");
    } else {
        args.extend(["--charts", "docs/bench"]);
    }
    run(
        target
            .join("wxmedia-bench")
            .to_str()
            .ok_or("non-UTF-8 path")?,
        &args,
        &[],
    )
}

/// The workspace tests run on ring, the default provider. The conformance
/// suite runs again on aws-lc-rs, the facade builds on it with every
/// transport, and turning both providers on must fail with our message.
fn providers() -> Result<(), String> {
    run(
        "cargo",
        &[
            "test",
            "--locked",
            "-p",
            "wxmedia-tests",
            "--no-default-features",
            "--features",
            "aws-lc-rs",
        ],
        &[],
    )?;
    run(
        "cargo",
        &[
            "check",
            "--locked",
            "-p",
            "wxmedia",
            "--no-default-features",
            "--features",
            "hyper,surf,blocking,aws-lc-rs",
        ],
        &[],
    )?;
    let both = [
        "check",
        "--locked",
        "-p",
        "wxmedia-tls",
        "--features",
        "aws-lc-rs",
    ];
    eprintln!("$ cargo {} (must fail)", both.join(" "));
    let out = Command::new("cargo")
        .args(both)
        .current_dir(root())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() || !stderr.contains("enable exactly one crypto provider") {
        return Err(format!(
            "both crypto providers on should fail with our message, got {}:\n{stderr}",
            out.status
        ));
    }
    Ok(())
}

/// The man pages come from the command's own definition (clap_mangen), so
/// they say what `--help` says; the binary writes them.
fn man() -> Result<(), String> {
    let out = root().join("target/man");
    run(
        "cargo",
        &[
            "run",
            "--quiet",
            "--locked",
            "-p",
            "wxmedia-cli",
            "--",
            "generate-man",
            out.to_str().ok_or("non-UTF-8 path")?,
        ],
        &[],
    )
}

fn golden(bless: bool) -> Result<(), String> {
    let envs: &[(&str, &str)] = if bless {
        &[("WXMEDIA_BLESS", "1")]
    } else {
        &[]
    };
    run(
        "cargo",
        &[
            "test",
            "--locked",
            "-p",
            "wxmedia-proto",
            "--test",
            "encode",
            "golden",
        ],
        envs,
    )
}
