//! Upload media: content sniffing, size and filename checks, and the hashes each API asks for (MD5 for v2, SHA-256 for v3), computed on demand.

use std::fmt;
use std::sync::OnceLock;

use bytes::Bytes;
use md5::{Digest, Md5};
use sha2::Sha256;

use crate::error::MediaError;

/// The default size limit: 2 MiB. The seed says "不超过2M"; the server is the
/// real judge of the exact byte count, so the limit is configurable.
pub const DEFAULT_MAX_MEDIA_SIZE: usize = 2 * 1024 * 1024;

/// Longest file name accepted, in bytes.
pub const MAX_FILENAME_LEN: usize = 256;

/// The image formats the upload API accepts, as detected from magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MediaKind {
    /// JPEG (`FF D8 FF`).
    Jpeg,
    /// PNG (`89 50 4E 47 0D 0A 1A 0A`).
    Png,
    /// BMP (`42 4D`).
    Bmp,
}

impl MediaKind {
    /// Detect the format from the first bytes of the content.
    pub fn sniff(content: &[u8]) -> Option<MediaKind> {
        if content.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(MediaKind::Jpeg)
        } else if content.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            Some(MediaKind::Png)
        } else if content.starts_with(b"BM") {
            Some(MediaKind::Bmp)
        } else {
            None
        }
    }

    /// The `Content-Type` of the multipart file part.
    pub fn content_type(self) -> &'static str {
        match self {
            MediaKind::Jpeg => "image/jpeg",
            MediaKind::Png => "image/png",
            MediaKind::Bmp => "image/bmp",
        }
    }

    /// The canonical extension, used when a name has to be replaced.
    pub fn extension(self) -> &'static str {
        match self {
            MediaKind::Jpeg => "jpg",
            MediaKind::Png => "png",
            MediaKind::Bmp => "bmp",
        }
    }

    /// The kind an extension names (`jpg`, `jpeg`, `png`, `bmp`, any case).
    pub fn from_extension(ext: &str) -> Option<MediaKind> {
        let lower = ext.to_ascii_lowercase();
        match lower.as_str() {
            "jpg" | "jpeg" => Some(MediaKind::Jpeg),
            "png" => Some(MediaKind::Png),
            "bmp" => Some(MediaKind::Bmp),
            _ => None,
        }
    }
}

impl fmt::Display for MediaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MediaKind::Jpeg => "JPEG",
            MediaKind::Png => "PNG",
            MediaKind::Bmp => "BMP",
        })
    }
}

/// The MD5 of the media bytes as 32 lowercase hex characters, as the
/// `media_hash` field wants it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MediaHash([u8; 32]);

impl MediaHash {
    /// Hash `content`.
    pub fn of(content: &[u8]) -> MediaHash {
        let digest = Md5::digest(content);
        let mut out = [0u8; 32];
        crate::hex::encode_into(&digest, &mut out, false);
        MediaHash(out)
    }

    /// The lowercase hex text.
    pub fn as_str(&self) -> &str {
        // Always ASCII hex digits, written by `hex::encode_into`.
        std::str::from_utf8(&self.0).expect("hex is ASCII")
    }
}

impl fmt::Debug for MediaHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MediaHash({})", self.as_str())
    }
}

impl fmt::Display for MediaHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated image, ready to be uploaded.
///
/// Construction checks everything the client can check before sending:
/// non-empty, within the size limit, JPEG/PNG/BMP by content, an extension
/// that agrees with the content, a file name that can go into a multipart
/// header. Hashes are computed on first use and kept, so that an upload
/// pays only for the digest its API signs (MD5 for v2's `media_hash`,
/// SHA-256 for v3's meta), and retries never hash again. Clones share
/// the content and carry the hashes computed so far. The digests sit
/// inline rather than behind a shared pointer: one allocation fewer per
/// upload, and nothing on the hot path clones a `Media` before hashing.
///
/// # File names
///
/// The file name is not signed, but it goes into
/// `Content-Disposition: form-data; name="media"; filename="…"`. The policy:
///
/// * a name containing `"`, `\`, `/`, a control character (CR, LF, NUL…),
///   or longer than 256 bytes is refused with [`MediaError::BadFilename`]:
///   it would break the header or smuggle a path;
/// * a printable ASCII name is sent exactly as given;
/// * a name with any non-ASCII character (`身份证.jpg`) is sent as
///   `media.<ext>`, because servers and other SDKs are known to mishandle
///   both raw UTF-8 and RFC 2231 `filename*=`. [`Media::filename`] keeps the
///   original; [`Media::wire_filename`] gives what is sent.
///
/// The caller passes a bare file name, not a path: take the last path
/// component yourself (the command line does).
#[derive(Clone)]
pub struct Media {
    filename: String,
    wire_filename: String,
    content: Bytes,
    kind: MediaKind,
    hashes: Hashes,
}

/// Digests of the content, each filled in on first use.
#[derive(Clone, Default)]
struct Hashes {
    md5: OnceLock<MediaHash>,
    sha256: OnceLock<[u8; 64]>,
}

impl Media {
    /// Validate `content` named `filename`, with the default 2 MiB limit.
    pub fn new(
        filename: impl Into<String>,
        content: impl Into<Bytes>,
    ) -> Result<Media, MediaError> {
        Media::with_max_size(filename, content, DEFAULT_MAX_MEDIA_SIZE)
    }

    /// Validate with a custom size limit in bytes.
    pub fn with_max_size(
        filename: impl Into<String>,
        content: impl Into<Bytes>,
        max_size: usize,
    ) -> Result<Media, MediaError> {
        let filename = filename.into();
        let content = content.into();
        check_filename(&filename)?;
        let ext = extension(&filename);
        let named =
            MediaKind::from_extension(ext).ok_or_else(|| MediaError::UnsupportedExtension {
                ext: ext.to_owned(),
            })?;
        if content.is_empty() {
            return Err(MediaError::Empty);
        }
        if content.len() > max_size {
            return Err(MediaError::TooLarge {
                size: content.len(),
                limit: max_size,
            });
        }
        let kind = MediaKind::sniff(&content).ok_or(MediaError::UnknownContent)?;
        if kind != named {
            return Err(MediaError::ExtensionMismatch {
                ext: ext.to_owned(),
                detected: kind,
            });
        }
        let wire_filename = if filename.is_ascii() {
            filename.clone()
        } else {
            format!("media.{}", kind.extension())
        };
        Ok(Media {
            filename,
            wire_filename,
            content,
            kind,
            hashes: Hashes::default(),
        })
    }

    /// The name as given.
    pub fn filename(&self) -> &str {
        &self.filename
    }

    /// The name that goes on the wire (see the policy above).
    pub fn wire_filename(&self) -> &str {
        &self.wire_filename
    }

    /// The content. Cloning it shares the buffer.
    pub fn content(&self) -> &Bytes {
        &self.content
    }

    /// The detected format.
    pub fn kind(&self) -> MediaKind {
        self.kind
    }

    /// The MD5 of the content, lowercase hex (v2's `media_hash`). Computed
    /// on the first call.
    pub fn hash(&self) -> &MediaHash {
        self.hashes.md5.get_or_init(|| MediaHash::of(&self.content))
    }

    /// The SHA-256 of the content, 64 lowercase hex characters (v3's meta
    /// `sha256`). Computed on the first call.
    pub fn sha256_hex(&self) -> &str {
        let hex = self.hashes.sha256.get_or_init(|| {
            let mut out = [0u8; 64];
            crate::hex::encode_into(&Sha256::digest(&self.content), &mut out, false);
            out
        });
        // Always ASCII hex digits, written by `hex::encode_into`.
        std::str::from_utf8(hex).expect("hex is ASCII")
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.content.len()
    }

    /// Always false: empty media is refused at construction.
    pub fn is_empty(&self) -> bool {
        self.content.is_empty()
    }
}

impl fmt::Debug for Media {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Media")
            .field("filename", &self.filename)
            .field("kind", &self.kind)
            .field("len", &self.content.len())
            // Debug never computes a digest; it shows one already known.
            .field("hash", &self.hashes.md5.get())
            .finish()
    }
}

fn extension(filename: &str) -> &str {
    match filename.rfind('.') {
        Some(dot) if dot + 1 < filename.len() => &filename[dot + 1..],
        _ => "",
    }
}

fn check_filename(name: &str) -> Result<(), MediaError> {
    let bad = |reason| Err(MediaError::BadFilename { reason });
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > MAX_FILENAME_LEN {
        return bad("it is longer than 256 bytes");
    }
    if name.chars().any(char::is_control) {
        return bad("it contains a control character (CR, LF, NUL, ...)");
    }
    if name.contains('"') {
        return bad("it contains a double quote");
    }
    if name.contains('/') || name.contains('\\') {
        return bad("it contains a path separator; pass the bare file name");
    }
    if name == "." || name == ".." {
        return bad("it is a path component, not a file name");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10];
    const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0];
    const BMP: &[u8] = b"BM\0\0\0\0";

    #[test]
    fn accepts_each_format_with_any_extension_case() {
        for (name, content, kind) in [
            ("a.jpg", JPEG, MediaKind::Jpeg),
            ("a.JPEG", JPEG, MediaKind::Jpeg),
            ("a.Png", PNG, MediaKind::Png),
            ("a.BMP", BMP, MediaKind::Bmp),
        ] {
            let m = Media::new(name, Bytes::from_static(content)).unwrap();
            assert_eq!(m.kind(), kind, "{name}");
            assert_eq!(m.wire_filename(), name);
        }
    }

    #[test]
    fn refuses_empty_content() {
        assert_eq!(
            Media::new("a.jpg", Bytes::new()).unwrap_err(),
            MediaError::Empty
        );
    }

    #[test]
    fn refuses_content_over_the_limit() {
        let mut big = JPEG.to_vec();
        big.resize(DEFAULT_MAX_MEDIA_SIZE + 1, 0);
        assert_eq!(
            Media::new("a.jpg", big).unwrap_err(),
            MediaError::TooLarge {
                size: DEFAULT_MAX_MEDIA_SIZE + 1,
                limit: DEFAULT_MAX_MEDIA_SIZE
            }
        );
        // Exactly at the limit is fine, and the limit is configurable.
        let mut at = JPEG.to_vec();
        at.resize(DEFAULT_MAX_MEDIA_SIZE, 0);
        assert!(Media::new("a.jpg", at).is_ok());
        assert!(matches!(
            Media::with_max_size("a.jpg", JPEG.to_vec(), 4),
            Err(MediaError::TooLarge { size: 6, limit: 4 })
        ));
    }

    #[test]
    fn refuses_gif_and_text_content() {
        assert_eq!(
            Media::new("a.jpg", &b"GIF89a...."[..]).unwrap_err(),
            MediaError::UnknownContent
        );
    }

    #[test]
    fn refuses_unsupported_or_missing_extension() {
        for name in ["a.gif", "a", "a.", "jpg"] {
            assert!(
                matches!(
                    Media::new(name, Bytes::from_static(JPEG)),
                    Err(MediaError::UnsupportedExtension { .. })
                ),
                "{name}"
            );
        }
    }

    #[test]
    fn refuses_a_disguised_file() {
        assert_eq!(
            Media::new("photo.jpg", Bytes::from_static(PNG)).unwrap_err(),
            MediaError::ExtensionMismatch {
                ext: "jpg".into(),
                detected: MediaKind::Png
            }
        );
    }

    #[test]
    fn refuses_header_breaking_names() {
        let long = format!("{}.jpg", "a".repeat(300));
        for name in [
            "a\".jpg",
            "a\r.jpg",
            "a\n.jpg",
            "a\0.jpg",
            "../a.jpg",
            "d/a.jpg",
            "d\\a.jpg",
            "",
            long.as_str(),
        ] {
            assert!(
                matches!(
                    Media::new(name, Bytes::from_static(JPEG)),
                    Err(MediaError::BadFilename { .. })
                ),
                "{name:?}"
            );
        }
    }

    #[test]
    fn non_ascii_names_are_sent_as_media_dot_ext() {
        let m = Media::new("身份证.JPG", Bytes::from_static(JPEG)).unwrap();
        assert_eq!(m.filename(), "身份证.JPG");
        assert_eq!(m.wire_filename(), "media.jpg");
    }

    #[test]
    fn hashes_are_computed_on_demand_and_kept_by_clones() {
        let m = Media::new("a.bmp", Bytes::from_static(BMP)).unwrap();
        assert!(m.hashes.md5.get().is_none() && m.hashes.sha256.get().is_none());
        assert!(
            format!("{m:?}").contains("hash: None"),
            "Debug does not hash"
        );
        let sha = m.sha256_hex().to_owned();
        assert!(
            m.hashes.md5.get().is_none(),
            "SHA-256 alone does not pay for MD5"
        );
        let mut expected = [0u8; 64];
        crate::hex::encode_into(&Sha256::digest(BMP), &mut expected, false);
        assert_eq!(sha.as_bytes(), expected);
        let _ = m.hash();
        let clone = m.clone();
        assert_eq!(
            clone.hashes.md5.get(),
            Some(m.hash()),
            "a clone keeps computed hashes"
        );
        assert!(
            std::ptr::eq(clone.content().as_ptr(), m.content().as_ptr()),
            "and shares the content"
        );
    }

    #[test]
    fn hash_is_lowercase_md5() {
        let m = Media::new("a.bmp", Bytes::from_static(BMP)).unwrap();
        assert_eq!(m.hash().as_str(), MediaHash::of(BMP).as_str());
        assert_eq!(
            MediaHash::of(b"").as_str(),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        assert!(m.hash().as_str().bytes().all(|b| !b.is_ascii_uppercase()));
    }

    #[test]
    fn content_is_shared_not_copied() {
        let buf = Bytes::from(JPEG.to_vec());
        let m = Media::new("a.jpg", buf.clone()).unwrap();
        assert_eq!(m.content().as_ptr(), buf.as_ptr());
    }
}
