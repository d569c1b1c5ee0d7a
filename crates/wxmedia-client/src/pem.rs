//! Key and certificate material given to a builder as bytes or as a file, and errors laid at the input that failed.

use std::path::PathBuf;

use wxmedia_tls::read_small_file;
use zeroize::Zeroizing;

use crate::BuildError as Error;

/// A PEM given as bytes, or a file to read it from (named in errors).
#[derive(Clone)]
pub(crate) enum Pem {
    Bytes(Zeroizing<Vec<u8>>),
    File(PathBuf),
}

impl Pem {
    /// The PEM bytes. A file is read with [`read_small_file`]: a regular
    /// file of at most 64 KiB, so that a path at `/dev/zero`, a FIFO or a
    /// huge file fails `build` at once (naming the file and what it is)
    /// instead of filling the memory or hanging. `what` is what the file
    /// should hold, for that message.
    pub(crate) fn read(&self, what: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
        match self {
            Pem::Bytes(b) => Ok(b.clone()),
            Pem::File(path) => Ok(read_small_file(path, what)?),
        }
    }

    /// The file named in an error about its content, if it is a file.
    pub(crate) fn context(&self, e: wxmedia_proto::Error) -> Error {
        match self {
            Pem::File(path) => Error::File {
                path: path.clone(),
                source: Box::new(e),
            },
            Pem::Bytes(_) => Error::Proto(e),
        }
    }
}

/// The error of making the signer, laid at the input that failed: the key
/// file for a bad key, the certificate file for a bad certificate, both
/// when the key does not belong to the certificate, the serial setting for
/// a bad serial. The core's `what` says which input it refused.
pub(crate) fn blame(e: wxmedia_proto::Error, key: &Pem, cert: Option<&Pem>) -> Error {
    let what = match &e {
        wxmedia_proto::Error::InvalidInput { what, .. } => *what,
        _ => return Error::Proto(e),
    };
    match (what, cert) {
        (wxmedia_proto::v3::signer::KEY_MISMATCH, Some(cert)) => match (key, cert) {
            (Pem::File(key), Pem::File(cert)) => Error::Identity(wxmedia_tls::Error::KeyMismatch {
                cert: cert.clone(),
                key: key.clone(),
            }),
            (Pem::File(_), Pem::Bytes(_)) => key.context(e),
            _ => cert.context(e),
        },
        ("merchant private key", _) => key.context(e),
        ("merchant certificate", Some(cert)) => cert.context(e),
        _ => Error::Proto(e),
    }
}
