//! `wxmedia completions SHELL` and the man pages: the command line described to shells and to `man`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use clap_complete::Shell;

use crate::report::{CmdError, CmdResult};

/// Options of `wxmedia completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to write a completion script for, to stdout.
    #[arg(value_enum)]
    shell: ShellArg,
}

/// The shells clap_complete writes for (its own `Shell` also has elvish).
#[derive(Debug, Clone, Copy, ValueEnum)]
enum ShellArg {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

/// Options of the hidden `wxmedia generate-man`, run by `cargo xtask man`.
#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// Directory to write `wxmedia.1` and one `wxmedia-COMMAND.1` per command into.
    #[arg(value_name = "DIR")]
    out: PathBuf,
}

pub(crate) fn completions(args: CompletionsArgs) -> CmdResult {
    let shell = match args.shell {
        ShellArg::Bash => Shell::Bash,
        ShellArg::Zsh => Shell::Zsh,
        ShellArg::Fish => Shell::Fish,
        ShellArg::Powershell => Shell::PowerShell,
    };
    let mut cmd = crate::command();
    clap_complete::generate(shell, &mut cmd, "wxmedia", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn man(args: ManArgs) -> CmdResult {
    let pages = write_man_pages(&args.out).map_err(|e| CmdError::failed(format!("{e:#}")))?;
    for page in pages {
        println!("{}", page.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `wxmedia.1` for the whole command and `wxmedia-upload.1` and so on for
/// each visible subcommand, as `git` and `cargo` ship theirs.
fn write_man_pages(out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut cmd = crate::command();
    // Building names each subcommand for display as `wxmedia-upload`, which
    // clap_mangen uses for the page's title and NAME section.
    cmd.build();
    let mut pages = Vec::new();
    let mut write = |name: String, cmd: clap::Command| -> anyhow::Result<()> {
        let path = out.join(format!("{name}.1"));
        let mut bytes = Vec::new();
        clap_mangen::Man::new(cmd)
            .render(&mut bytes)
            .with_context(|| format!("cannot render {name}.1"))?;
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        pages.push(path);
        Ok(())
    };
    // `help` is clap's own, and `wxmedia help CMD` is what `man wxmedia-CMD` says already.
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        write(format!("wxmedia-{}", sub.get_name()), sub.clone())?;
    }
    write("wxmedia".to_owned(), cmd)?;
    Ok(pages)
}
