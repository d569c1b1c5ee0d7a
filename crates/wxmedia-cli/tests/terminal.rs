//! Terminal safety (issue 21, item 5): what a server sent and what a file is named reach the terminal escaped, never raw.

use wxmedia_sim::Times;

mod common;

use common::{Fx, Verify, fx, stderr};

/// Text a hostile or broken server could send: a colour change, a bell, a
/// carriage return that would overwrite the line, and a line break that
/// would forge a second line.
const HOSTILE: &str = "\u{1b}[31mred\u{7}\rover\nwxmedia: forged line";

/// The same for a v2 reply, less the carriage return: XML turns a CR into
/// a line break before the signature is checked, so a signed v2 reply
/// cannot carry one (and a reply that does is refused unverified).
const HOSTILE_XML: &str = "\u{1b}[31mred\u{7}over\nwxmedia: forged line";

/// Make every authenticated request fail with PARAM_ERROR and `message`.
fn hostile_errors(fx: &Fx, message: &str) {
    fx.server.sim().update_faults(|f| {
        f.forced_error = Some(("PARAM_ERROR".into(), Times::Always));
        f.forced_error_message = Some(message.into());
    });
}

/// No byte a terminal would act on: ESC, BEL, CR, and no line but the
/// ones the command itself ends.
fn assert_inert(text: &str, lines: usize) {
    for c in ['\u{1b}', '\u{7}', '\r', '\u{9b}'] {
        assert!(
            !text.contains(c),
            "{c:?} reached the terminal raw: {text:?}"
        );
    }
    assert_eq!(text.lines().count(), lines, "a forged line: {text:?}");
}

#[test]
fn a_server_message_with_esc_bel_cr_and_newline_is_printed_escaped() {
    let fx = fx();
    hostile_errors(&fx, HOSTILE_XML);
    let file = fx.file("a.jpg", wxmedia_sim::samples::JPEG);
    let out = fx.cmd("upload").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert_inert(&err, 1);
    assert!(
        err.contains("PARAM_ERROR")
            && err.contains("\\u{1b}[31mred\\u{7}over\\nwxmedia: forged line"),
        "the message is shown, escaped: {err}"
    );
    // --json was escaped before: still one line, the text intact inside.
    let out = fx.cmd("upload").arg("--json").arg(&file).output().unwrap();
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_inert(&line, 1);
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains(HOSTILE_XML)
    );
}

#[test]
fn a_v3_error_message_is_printed_escaped() {
    let fx = fx();
    hostile_errors(&fx, HOSTILE);
    let file = fx.file("a.jpg", wxmedia_sim::samples::JPEG);
    let out = fx
        .v3_cmd("upload", Verify::PublicKey)
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert_inert(&err, 1);
    assert!(err.contains("\\u{7}\\rover\\n"), "{err}");
}

#[test]
fn a_file_name_with_control_characters_is_printed_escaped() {
    let fx = fx();
    // A PNG named .jpg: refused before sending, the name in the message.
    let file = fx.file("evil\u{1b}]0;owned\u{7}\r.jpg", wxmedia_sim::samples::PNG);
    let out = fx.cmd("upload").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert_inert(&err, 1);
    assert!(err.contains("evil\\u{1b}]0;owned\\u{7}\\r.jpg"), "{err}");
    assert_eq!(fx.server.sim().request_count(), 0);
}
