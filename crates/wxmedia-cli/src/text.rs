//! Text made safe for a terminal: what a server sent and what a file is named never reaches the screen raw.
//!
//! A reply's message or a file name can hold terminal escape sequences
//! (which recolour, retitle or rewrite the screen), a BEL, a carriage
//! return (which overwrites the line, hiding what came before) or a line
//! break (which forges a second line). Every line the command line prints
//! in text mode goes through [`safe`]; `--json` output is escaped by the
//! JSON encoder already.

use std::borrow::Cow;

/// `text` with every control character (C0, DEL, C1) and every bidi
/// override written out as an escape (`\n`, `\r`, `\t`, `\u{1b}`), so that
/// it shows as what it is and does nothing. Text without any is returned
/// as it is.
pub(crate) fn safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A path as [`safe`] text: file names come from the file system, where
/// anyone may have chosen them.
pub(crate) fn shown(path: &std::path::Path) -> String {
    safe(&path.display().to_string()).into_owned()
}

/// Control characters, and the bidi controls that reorder what follows
/// them on screen (a name could show as `gpj.exe` and be `exe.jpg`).
fn unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_esc_bel_cr_and_newline_and_leaves_the_rest() {
        assert_eq!(
            safe("a\u{1b}[31mred\u{7}\rover\nforged"),
            "a\\u{1b}[31mred\\u{7}\\rover\\nforged"
        );
        assert_eq!(safe("身份证 photo.jpg"), "身份证 photo.jpg");
        assert!(matches!(safe("plain"), Cow::Borrowed(_)));
        assert_eq!(
            safe("\u{9b}2J \u{7f} \u{202e}gpj"),
            "\\u{9b}2J \\u{7f} \\u{202e}gpj"
        );
    }
}
