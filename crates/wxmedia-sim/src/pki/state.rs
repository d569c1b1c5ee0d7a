//! The state directory on disk: its file names, and reading and writing them without following links, with private keys 0600 from the first byte.

use std::path::Path;

use crate::SimError;

pub(super) const CA_CERT: &str = "ca.pem";
pub(super) const CA_KEY: &str = "ca.key";
pub(super) const SERVER_CERT: &str = "server.pem";
pub(super) const SERVER_KEY: &str = "server.key";
/// Named like the pair WeChat Pay gives merchants.
pub(super) const CLIENT_CERT: &str = "apiclient_cert.pem";
pub(super) const CLIENT_KEY: &str = "apiclient_key.pem";
/// The platform certificate WeChat Pay signs replies with (older merchants).
pub(super) const PLATFORM_CERT: &str = "platform_cert.pem";
pub(super) const PLATFORM_KEY: &str = "platform_key.key";
/// The WeChat Pay public key merchants download (`pub_key.pem`), SPKI PEM.
pub(super) const PUBLIC_KEY: &str = "wechatpay_public_key.pem";
/// The simulator's private half of that public key: never give it out.
pub(super) const PUBLIC_KEY_PRIVATE: &str = "wechatpay_public_key.key";
pub(super) const PUBLIC_KEY_ID: &str = "wechatpay_public_key_id.txt";
/// Ends in `.key` so that it is written readable by its owner only.
pub(super) const API_V3_KEY: &str = "apiv3.key";

/// No state file is this large; a larger one is not ours.
const MAX_STATE_FILE: u64 = 1024 * 1024;

/// A symbolic link, or anything but a regular file, where a state file
/// should be.
fn not_a_state_file(path: &Path, what: &str) -> SimError {
    SimError::io(
        path,
        std::io::Error::other(format!(
            "{what} where a state file should be; refusing it (remove it and the simulator makes the file anew)"
        )),
    )
}

/// The state directory, created readable by its owner only: it holds
/// private keys. An existing directory keeps its mode (it may be one the
/// user made for other things too), since each key file is 0600 anyway.
pub(super) fn create_private_dir(dir: &Path) -> Result<(), SimError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| SimError::io(dir, e))
}

/// A state file's text; `None` when it does not exist. A symbolic link or
/// anything but a regular file is an error, never followed: the files are
/// private keys and the certificates that go with them.
pub(super) fn read(path: &Path) -> Result<Option<String>, SimError> {
    use std::io::Read;
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(SimError::io(path, e)),
    };
    if meta.file_type().is_symlink() {
        return Err(not_a_state_file(path, "a symbolic link"));
    }
    if !meta.is_file() {
        return Err(not_a_state_file(path, "something other than a file"));
    }
    let file = std::fs::File::open(path).map_err(|e| SimError::io(path, e))?;
    // The file opened must be the one looked at: a link swapped in between
    // would lead elsewhere.
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let opened = file.metadata().map_err(|e| SimError::io(path, e))?;
        if (opened.dev(), opened.ino()) != (meta.dev(), meta.ino()) {
            return Err(not_a_state_file(path, "a file replaced while opened"));
        }
    }
    let mut text = String::new();
    file.take(MAX_STATE_FILE)
        .read_to_string(&mut text)
        .map_err(|e| SimError::io(path, e))?;
    Ok(Some(text))
}

/// Whether a state file holds a private key (0600) rather than a
/// certificate or public data (0644).
fn is_private(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "key") || path.ends_with(CLIENT_KEY)
}

/// Write a state file: a new file (`create_new`, never an existing file or
/// a link's target) with its final mode from the first byte, renamed over
/// `path`. Renaming replaces a directory entry, never what a link points
/// to, and readers never see half a file.
pub(super) fn write(path: &Path, text: &str) -> Result<(), SimError> {
    use std::io::Write;
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(not_a_state_file(path, "a symbolic link"));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).expect("the OS has randomness");
    let suffix: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
    let temp = path.with_file_name(format!(".{name}.{suffix}.tmp"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(
        &mut options,
        if is_private(path) { 0o600 } else { 0o644 },
    );
    let written = options.open(&temp).and_then(|mut file| {
        file.write_all(text.as_bytes())?;
        file.sync_all()
    });
    let renamed = written.and_then(|()| std::fs::rename(&temp, path));
    if let Err(e) = renamed {
        let _ = std::fs::remove_file(&temp);
        return Err(SimError::io(path, e));
    }
    Ok(())
}
