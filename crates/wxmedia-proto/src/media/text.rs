//! Text media (TXT, CSV): UTF-8 throughout, no byte-order mark, no control bytes but tab and line ends, and a character cut at the end read as a file cut short.
//!
//! Text has no magic bytes and no end marker, so less can be told than
//! of an image: a file cut between two characters looks whole. What can
//! be told is checked, because the endpoints that take text (the bank
//! marketing package: one encrypted id a line) read it line by line and
//! answer a bad line with a vague format error long after the upload:
//!
//! * the bytes are UTF-8 (the documents say so); a multi-byte character
//!   that the file's end cuts in two is [`MediaError::Truncated`], any
//!   other invalid sequence [`MediaError::NotText`] at its offset;
//! * no byte-order mark: Excel's "CSV UTF-8" writes one, and a reader that
//!   does not expect it takes it as part of the first line's value;
//! * no control bytes other than tab, line feed and carriage return: a NUL
//!   or an escape byte means the file is binary, or not what was meant.

use crate::MediaKind;
use crate::error::MediaError;

/// The UTF-8 byte-order mark.
const BOM: &[u8] = &[0xEF, 0xBB, 0xBF];

/// Check `content` as text of `kind`.
pub(crate) fn check(kind: MediaKind, content: &[u8]) -> Result<(), MediaError> {
    let not_text = |at: usize, reason: &'static str| MediaError::NotText { kind, at, reason };
    if content.starts_with(BOM) {
        return Err(not_text(
            0,
            "it starts with a byte-order mark (EF BB BF), which would be read as part of the first line; save it as UTF-8 without a BOM",
        ));
    }
    if let Err(e) = std::str::from_utf8(content) {
        return Err(match e.error_len() {
            // The input ends inside a character: the end is missing.
            None => MediaError::Truncated { kind },
            Some(_) => not_text(e.valid_up_to(), "a byte sequence that is not UTF-8"),
        });
    }
    // UTF-8 continuation and lead bytes are all >= 0x80, so a byte below
    // 0x20 here is a control character of its own.
    if let Some(at) = content
        .iter()
        .position(|&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7F)
    {
        return Err(not_text(
            at,
            "a control byte (text holds none but tab and line ends)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_csv(content: &[u8]) -> Result<(), MediaError> {
        check(MediaKind::Csv, content)
    }

    #[test]
    fn utf8_lines_pass() {
        check_csv(b"a,b\r\nc,\xE4\xB8\xAD\n").unwrap();
        check_csv("编号\t值\n".as_bytes()).unwrap();
    }

    #[test]
    fn a_character_cut_at_the_end_is_a_cut_file() {
        let text = "行".as_bytes();
        for cut in 1..text.len() {
            assert_eq!(
                check_csv(&text[..cut]),
                Err(MediaError::Truncated {
                    kind: MediaKind::Csv
                })
            );
        }
    }

    #[test]
    fn bad_bytes_are_named_with_their_offset() {
        let at = |content: &[u8]| match check_csv(content) {
            Err(MediaError::NotText { at, .. }) => at,
            other => panic!("{other:?}"),
        };
        assert_eq!(at(b"ab\xFFcd"), 2);
        // A Latin-1 "é" inside a line, not at the end.
        assert_eq!(at(b"caf\xE9 au lait"), 3);
        assert_eq!(at(b"\xEF\xBB\xBFid\n"), 0);
        assert_eq!(at(b"id\x00\n"), 2);
        assert_eq!(at(b"id\x1B[31m\n"), 2);
        assert_eq!(at(b"id\x7F"), 2);
    }
}
