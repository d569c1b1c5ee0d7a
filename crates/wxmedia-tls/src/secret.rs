//! Telling a secret given where a path belongs from a path: a PEM or an API key pasted into `WXMEDIA_PRIVATE_KEY`, `--private-key` or `--api-key-file` must never be echoed back.

use std::fmt;
use std::path::Path;

/// Whether `path`, which names nothing on disk, looks like a secret given
/// in its place: it holds `-----BEGIN` (a PEM), a line break (no key or
/// certificate path has one; every PEM does), or it is 32 characters of
/// the alphabet WeChat Pay's APIv2 and APIv3 keys are written in.
///
/// Putting the key itself where its path belongs is a common mistake in CI
/// (`WXMEDIA_PRIVATE_KEY="$(cat apiclient_key.pem)"`); a message that said
/// "cannot read `<path>`" would then print the key. A path that exists is
/// never taken for a secret: it is shown as it is.
pub fn looks_like_secret(path: &Path) -> bool {
    let raw = path.as_os_str().as_encoded_bytes();
    let pem = raw.windows(b"-----BEGIN".len()).any(|w| w == b"-----BEGIN");
    let multiline = raw.iter().any(|&b| b == b'\n' || b == b'\r');
    // WeChat Pay's APIv2 and APIv3 keys are 32 characters of letters and
    // digits. A relative file name of exactly that shape (no dot, no
    // slash) that does not exist is far likelier to be a key than a file.
    let api_key = raw.len() == 32 && raw.iter().all(u8::is_ascii_alphanumeric);
    // `symlink_metadata` answers without opening: an existing file, link or
    // directory of that name is a path, whatever it looks like.
    (pem || multiline || api_key) && std::fs::symlink_metadata(path).is_err()
}

/// A path as messages show it: the path itself, or, when it
/// [`looks_like_secret`], words saying so and nothing of the value (not
/// even its length).
///
/// ```
/// use std::path::Path;
/// use wxmedia_tls::ShownPath;
///
/// let pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQ…\n-----END PRIVATE KEY-----\n";
/// let shown = ShownPath(Path::new(pem)).to_string();
/// assert!(!shown.contains("MIIE"));
/// assert_eq!(ShownPath(Path::new("/etc/wxmedia/apiclient_key.pem")).to_string(),
///            "/etc/wxmedia/apiclient_key.pem");
/// ```
#[derive(Clone, Copy)]
pub struct ShownPath<'a>(pub &'a Path);

/// What is shown in place of a secret given as a path.
pub const SECRET_NOT_PATH: &str = "(the value given, not shown)";

impl fmt::Display for ShownPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if looks_like_secret(self.0) {
            f.write_str(SECRET_NOT_PATH)
        } else {
            fmt::Display::fmt(&self.0.display(), f)
        }
    }
}

impl fmt::Debug for ShownPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if looks_like_secret(self.0) {
            f.write_str(SECRET_NOT_PATH)
        } else {
            fmt::Debug::fmt(self.0, f)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item4_pem_newline_and_api_key_shapes_are_secrets_paths_are_not() {
        let pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n";
        assert!(looks_like_secret(Path::new(pem)));
        assert!(looks_like_secret(Path::new("line one\nline two")));
        assert!(looks_like_secret(Path::new(
            "192006250b4c09247ec02edce69f6a2d"
        )));
        // A file name of another length, with a dot, or a slash, is a path.
        assert!(!looks_like_secret(Path::new("apiclient_key.pem")));
        assert!(!looks_like_secret(Path::new(
            "192006250b4c09247ec02edce69f6a2"
        )));
        assert!(!looks_like_secret(Path::new(
            "/tmp/192006250b4c09247ec02edce69f"
        )));
        // An existing file is a path whatever its name looks like.
        let dir = std::env::temp_dir().join(format!("wxmedia-tls-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let named = dir.join("abcdefghijklmnopqrstuvwxyz012345");
        std::fs::write(&named, b"x").unwrap();
        assert!(!looks_like_secret(&named));
        std::fs::remove_dir_all(&dir).unwrap();
        let shown = ShownPath(Path::new(pem)).to_string();
        assert_eq!(shown, SECRET_NOT_PATH);
        assert_eq!(format!("{:?}", ShownPath(Path::new(pem))), SECRET_NOT_PATH);
    }
}
