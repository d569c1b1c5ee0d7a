//! Reading key, certificate, PKCS#12 and CA files: regular files only, their size checked before and while reading, into memory that is zeroed when dropped.

use std::fs::{File, FileType, Metadata};
use std::io::{self, Read};
use std::path::Path;

use zeroize::Zeroizing;

use crate::Error;

/// The most a key, certificate, public key or PKCS#12 file may hold:
/// 64 KiB. Such files are a few KiB at most (a PEM key is under 4 KiB, a
/// WeChat Pay `apiclient_cert.p12` about 3 KiB), so a larger one is not
/// what it was said to be, and a path pointing at a device or a huge file
/// must not fill the memory.
pub const MAX_PEM_FILE: u64 = 64 * 1024;

/// The most a file of extra trusted roots ([`read_ca_file`](crate::read_ca_file))
/// may hold: 1 MiB. Unlike a key, a CA file may be a whole bundle (a
/// system's `ca-certificates.crt` is over 200 KiB), so its cap is larger;
/// it still has one.
pub const MAX_CA_FILE: u64 = 1024 * 1024;

/// Read a key, certificate or PKCS#12 file of at most [`MAX_PEM_FILE`]
/// bytes, the way every credential file of wxmedia is read.
///
/// `path` must be a regular file once symbolic links are followed: a
/// directory, a FIFO (named pipe), a character or block device (such as
/// `/dev/zero`) or a socket is refused before it is opened, since a FIFO
/// would block until a writer comes and a device may never end. A file
/// whose size (from the file system) is over the cap is refused unread;
/// the opened file is checked again, since the path may have been replaced
/// in between; and at most one byte past the cap is read, so that a file
/// that grows while it is read is refused too.
///
/// `what` is what the file should hold ("private key", "certificate"); a
/// refusal says "not a {what} file". Every refusal is [`Error::Read`],
/// naming the file, with an I/O error that says what the file is.
///
/// The bytes are zeroed when dropped (keys are secrets): the buffer is
/// allocated once, one byte past the cap, and never grown, so no copy is
/// left behind in freed memory.
pub fn read_small_file(path: &Path, what: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
    read_capped(path, what, MAX_PEM_FILE)
}

/// [`read_small_file`] with another cap (a CA bundle's).
pub(crate) fn read_capped(path: &Path, what: &str, cap: u64) -> Result<Zeroizing<Vec<u8>>, Error> {
    read_checked(path, what, cap).map_err(|source| {
        // Checked only once reading failed: a path that names a file is
        // never mistaken for a secret.
        if crate::looks_like_secret(path) {
            Error::SecretNotPath {
                what: what.to_owned(),
            }
        } else {
            Error::Read {
                path: path.to_path_buf(),
                source,
            }
        }
    })
}

fn read_checked(path: &Path, what: &str, cap: u64) -> io::Result<Zeroizing<Vec<u8>>> {
    // `metadata` follows symbolic links: a link to a regular file is that
    // file, and a link loop is an error (ELOOP) here. Looking before
    // opening is what keeps a FIFO from blocking `open` until a writer
    // comes, and a device from being read at all.
    check(&std::fs::metadata(path)?, what, cap)?;
    let mut file = File::open(path)?;
    // The path may have been replaced between the look and the open: check
    // what was opened. (Were it swapped for a FIFO in that instant, `open`
    // would wait for a writer; that takes someone who can rename files in
    // the key's directory while wxmedia starts.)
    check(&file.metadata()?, what, cap)?;
    // Room for one byte past the cap, allocated once (at most 64 KiB + 1,
    // or 1 MiB + 1 for a CA file) and never grown: a zeroizing buffer that
    // reallocated would leave the old copy of the key in freed memory. The
    // one extra byte is how a file that grew past the cap since its size
    // was checked shows: reading stops there, it is not read whole.
    let room = usize::try_from(cap).map_or(usize::MAX, |c| c.saturating_add(1));
    let mut buf = Zeroizing::new(vec![0u8; room]);
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    if filled as u64 > cap {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("grew past {cap} bytes while being read; not a {what} file"),
        ));
    }
    // Shortening keeps the allocation (and zeroing it on drop covers all
    // of it): no copy is made.
    buf.truncate(filled);
    Ok(buf)
}

/// Refuse what is not a regular file or is over `cap` by its size.
fn check(meta: &Metadata, what: &str, cap: u64) -> io::Result<()> {
    if !meta.is_file() {
        let kind = if meta.is_dir() {
            io::ErrorKind::IsADirectory
        } else {
            io::ErrorKind::InvalidInput
        };
        return Err(io::Error::new(
            kind,
            format!("{}, not a regular file", not_regular(meta.file_type())),
        ));
    }
    if meta.len() > cap {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("{} bytes, larger than {cap}; not a {what} file", meta.len()),
        ));
    }
    Ok(())
}

/// What a path that is not a regular file is, in the user's words (the
/// command line's media files are described the same way).
fn not_regular(ft: FileType) -> &'static str {
    if ft.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO (named pipe)";
        } else if ft.is_char_device() {
            return "a character device";
        } else if ft.is_block_device() {
            return "a block device";
        } else if ft.is_socket() {
            return "a socket";
        }
    }
    // Whatever else a platform has (a Solaris door, say).
    "a special file"
}
