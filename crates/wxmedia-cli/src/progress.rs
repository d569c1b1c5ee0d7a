//! Progress on a terminal, nothing when piped; colour unless `NO_COLOR` says otherwise.

use std::io::IsTerminal;

/// A bar over `len` files on stderr, or `None` when stderr is not a
/// terminal (a pipe, a file, CI) or there is a single file: then the
/// output is exactly the result lines, for scripts.
pub(crate) fn bar(len: usize) -> Option<indicatif::ProgressBar> {
    if len < 2 || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    let template = if color() {
        "{bar:40.cyan/blue} {pos}/{len} {elapsed_precise} eta {eta} {msg}"
    } else {
        "{bar:40} {pos}/{len} {elapsed_precise} eta {eta} {msg}"
    };
    bar.set_style(indicatif::ProgressStyle::with_template(template).expect("a valid template"));
    Some(bar)
}

/// Whether colour may be used on stderr: not when `NO_COLOR` is set to
/// anything non-empty (<https://no-color.org>), nor off a terminal.
pub(crate) fn color() -> bool {
    color_allowed(std::env::var_os("NO_COLOR").as_deref()) && std::io::stderr().is_terminal()
}

fn color_allowed(no_color: Option<&std::ffi::OsStr>) -> bool {
    no_color.is_none_or(|v| v.is_empty())
}

/// Print a result line to stdout without tearing the bar, if there is one.
pub(crate) fn print_above(bar: Option<&indicatif::ProgressBar>, print: impl FnOnce()) {
    match bar {
        Some(bar) => bar.suspend(print),
        None => print(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_set_to_anything_but_empty_turns_colour_off() {
        assert!(color_allowed(None));
        assert!(color_allowed(Some("".as_ref())));
        assert!(!color_allowed(Some("1".as_ref())));
        assert!(!color_allowed(Some("0".as_ref()))); // any value, per no-color.org
    }
}
