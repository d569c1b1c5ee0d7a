//! The command line in a shell: completion scripts that shells accept, man pages that `man` renders, progress and colour only on a terminal.

use std::path::Path;
use std::process::{Command, Output};

use tempfile::TempDir;
use wxmedia_sim::samples;

mod common;

use common::{Fx, fx, text};

fn wxmedia() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wxmedia"))
}

fn ok(c: &mut Command) -> Output {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

const ESC: char = '\u{1b}';

#[test]
fn completion_scripts_name_every_command_for_every_shell() {
    let markers = [
        ("bash", "complete -F _wxmedia"),
        ("zsh", "#compdef wxmedia"),
        ("fish", "complete -c wxmedia"),
        ("powershell", "Register-ArgumentCompleter"),
    ];
    for (shell, marker) in markers {
        let script = text(&ok(wxmedia().args(["completions", shell])).stdout);
        assert!(script.contains(marker), "{shell}: no `{marker}`");
        for sub in [
            "upload",
            "batch",
            "certificates",
            "sign",
            "verify",
            "sim",
            "demo",
            "doctor",
            "fit",
        ] {
            assert!(script.contains(sub), "{shell}: `{sub}` is not completed");
        }
        assert!(script.contains("api-key-file"), "{shell}: options missing");
    }
    let out = wxmedia().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

/// The bash script is loaded into a real bash and asked what `wxmedia up<TAB>`
/// and `wxmedia upload --ap<TAB>` complete to.
#[test]
fn bash_completes_commands_and_options() {
    let dir = TempDir::new().unwrap();
    let script = dir.path().join("wxmedia.bash");
    std::fs::write(&script, ok(wxmedia().args(["completions", "bash"])).stdout).unwrap();
    let ask = |words: &str| -> String {
        let program = format!(
            r#"source "$1"
COMP_WORDS=({words}); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE="{words}"; COMP_POINT=${{#COMP_LINE}}
_wxmedia wxmedia "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#
        );
        let out = ok(Command::new("bash")
            .args(["--norc", "--noprofile", "-c", &program, "bash"])
            .arg(&script));
        text(&out.stdout)
    };
    let commands = ask("wxmedia up");
    assert_eq!(commands.trim(), "upload", "got {commands:?}");
    let options = ask("wxmedia upload --api-k");
    assert_eq!(options.trim(), "--api-key-file", "got {options:?}");
}

#[test]
fn man_pages_are_written_for_every_command_and_render() {
    let dir = TempDir::new().unwrap();
    let out = ok(wxmedia().arg("generate-man").arg(dir.path()));
    let mut written: Vec<String> = text(&out.stdout).lines().map(str::to_owned).collect();
    written.sort();
    let mut expected: Vec<String> = [
        "wxmedia",
        "wxmedia-batch",
        "wxmedia-certificates",
        "wxmedia-completions",
        "wxmedia-demo",
        "wxmedia-doctor",
        "wxmedia-fit",
        "wxmedia-sign",
        "wxmedia-sim",
        "wxmedia-upload",
        "wxmedia-verify",
    ]
    .iter()
    .map(|n| dir.path().join(format!("{n}.1")).display().to_string())
    .collect();
    expected.sort();
    assert_eq!(written, expected);

    let top = std::fs::read_to_string(dir.path().join("wxmedia.1")).unwrap();
    assert!(top.contains(".TH wxmedia 1"), "{top}");
    assert!(
        top.contains("wxmedia\\-upload(1)"),
        "the page points to the others"
    );
    let upload = std::fs::read_to_string(dir.path().join("wxmedia-upload.1")).unwrap();
    assert!(upload.contains(".TH wxmedia-upload 1"));
    assert!(
        upload.contains("\\-\\-api\\-key\\-file"),
        "options are listed"
    );

    // What a reader sees: groff formats the page without a warning.
    let rendered = Command::new("groff")
        .args(["-k", "-man", "-Tutf8", "-ww", "-z"]) // -k: preconv, for the UTF-8 in help texts
        .arg(dir.path().join("wxmedia-upload.1"))
        .output();
    match rendered {
        Ok(out) => assert!(
            out.status.success() && out.stderr.is_empty(),
            "groff: {}",
            text(&out.stderr)
        ),
        // .ci/run installs groff; a developer machine may lack it.
        Err(e) => assert!(std::env::var_os("CI").is_none(), "groff: {e}"),
    }
}

/// Runs `cmd` with its standard streams on a pseudo-terminal, through
/// util-linux `script`, and returns what the terminal received.
fn on_terminal(cmd: &Command, no_color: bool) -> String {
    let quote = |s: &std::ffi::OsStr| format!("'{}'", s.to_string_lossy().replace('\'', r"'\''"));
    let mut line = vec![quote(cmd.get_program())];
    line.extend(cmd.get_args().map(quote));
    let mut script = Command::new("script");
    script
        .args(["-qec", &line.join(" "), "/dev/null"])
        .env("COLUMNS", "120")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE");
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => script.env(k, v),
            None => script.env_remove(k),
        };
    }
    if no_color {
        script.env("NO_COLOR", "1");
    }
    text(&ok(&mut script).stdout)
}

#[test]
fn help_is_coloured_on_a_terminal_unless_no_color() {
    let mut help = wxmedia();
    help.arg("--help");
    assert!(
        on_terminal(&help, false).contains(ESC),
        "clap colours help on a terminal"
    );
    let plain = on_terminal(&help, true);
    assert!(
        plain.contains("Usage:") && !plain.contains(ESC),
        "{plain:?}"
    );
    // Piped, never.
    assert!(!text(&ok(&mut help).stdout).contains(ESC));
}

/// `wxmedia upload` of `n` distinct JPEGs (a comment segment makes each unique).
fn upload_many(fx: &Fx, n: usize) -> Command {
    let mut c = fx.cmd("upload");
    for i in 0..n {
        c.arg(jpeg(fx.dir.path(), i));
    }
    c
}

fn jpeg(dir: &Path, i: usize) -> std::path::PathBuf {
    let comment = format!("file {i}");
    let mut bytes = samples::JPEG[..2].to_vec(); // SOI
    bytes.extend([0xFF, 0xFE]);
    bytes.extend(u16::try_from(comment.len() + 2).unwrap().to_be_bytes());
    bytes.extend(comment.as_bytes());
    bytes.extend(&samples::JPEG[2..]);
    let path = dir.join(format!("photo-{i}.jpg"));
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn upload_of_many_files_shows_progress_on_a_terminal_only() {
    let fx = fx();
    let mut upload = upload_many(&fx, 3);

    // Piped: exactly one media id per line, nothing on stderr.
    let piped = ok(&mut upload);
    assert_eq!(text(&piped.stdout).lines().count(), 3);
    assert!(piped.stderr.is_empty(), "{}", text(&piped.stderr));
    assert!(!text(&piped.stdout).contains(ESC));

    // On a terminal: the same three ids, and a bar counting to 3 (drawn
    // in colour unless NO_COLOR).
    let seen = on_terminal(&upload, false);
    assert!(seen.contains("/3 "), "no progress bar: {seen:?}");
    assert!(seen.contains("\u{1b}[36m"), "the bar is cyan: {seen:?}");
    let ids = |s: &str| {
        strip_ansi(s)
            .split(['\r', '\n'])
            .filter(|l| {
                l.len() > 20
                    && l.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
            })
            .count()
    };
    assert_eq!(ids(&seen), 3, "{seen:?}");

    let plain = on_terminal(&upload, true);
    assert!(plain.contains("/3 "), "no progress bar: {plain:?}");
    assert!(!plain.contains("\u{1b}[36m"), "NO_COLOR: {plain:?}");
}

/// The text of terminal output without its CSI escape sequences.
fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == ESC && chars.clone().next() == Some('[') {
            // ESC [ parameters... final byte in @..~
            for c in chars.by_ref().skip(1) {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
