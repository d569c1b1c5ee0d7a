//! Upload media: content sniffing, wholeness and filename checks, and the hashes each API asks for (MD5 for v2, SHA-256 for v3), computed on demand.

use std::fmt;
use std::sync::OnceLock;

use bytes::Bytes;
use md5::{Digest, Md5};
use sha2::Sha256;

use crate::error::MediaError;

mod bmp;
mod isobmff;
mod jpeg;
mod kind;
mod pdf;
mod png;
mod text;
mod video;
mod walk;

pub use isobmff::StillImage;
pub use jpeg::{JpegSegment, JpegSegments};
pub use kind::MediaKind;
pub use png::{PNG_SIGNATURE, PngChunk, PngChunks};
pub use walk::WalkError;

/// Longest file name accepted, in bytes.
pub const MAX_FILENAME_LEN: usize = 256;

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

/// A validated image or video, ready to be uploaded.
///
/// Construction checks everything the client can check before sending:
/// non-empty, a format it knows by content (the upload checks that its API
/// takes it, and its size limit, below), an
/// extension that agrees with the content, a whole file rather than one
/// cut short, a file name that can go into a multipart header. Hashes are
/// computed on first use and kept, so that an upload pays only for the
/// digest its API signs (MD5 for v2's `media_hash`, SHA-256 for v3's meta),
/// and retries never hash again. Clones share the content and carry the
/// hashes computed so far. The digests sit inline rather than behind a
/// shared pointer: one allocation fewer per upload, and nothing on the hot
/// path clones a `Media` before hashing.
///
/// [`Media::new`] takes images only (JPEG, PNG, BMP), as v2 and v3's
/// image uploads do; [`Media::video`] takes videos only, for v3's
/// `video_upload`; [`Media::document`] PDFs, [`Media::text`] UTF-8 TXT and
/// CSV. Each refuses the other families' extensions and content, so a
/// media cannot reach the wrong endpoint; [`Media::any`] picks the
/// constructor by the extension, for an endpoint that takes several
/// families (and the upload still checks that its endpoint takes the
/// kind).
///
/// A `Media` has no size limit of its own: the limit belongs to the
/// upload it is given to (v2 2 MiB, a v3 image 5 MiB, ...), which refuses
/// it before anything is sent with [`MediaError::TooLarge`].
///
/// # Cut-short files
///
/// A file that was copied or downloaded partly still starts with the
/// right magic bytes, and the server's answer to it is at best a vague
/// format error. So each image format is walked up to its end marker, by
/// the format's own length fields, and a file whose end is missing is
/// refused with [`MediaError::Truncated`]:
///
/// * JPEG: from SOI, every marker segment up to the first scan header
///   (SOS) is skipped by its length field, so a cut anywhere in the
///   headers is caught, and a thumbnail's EOI inside an EXIF segment does
///   not count. After the scan header, an EOI (`FF D9`) must follow.
///   Entropy-coded data cannot contain that pair (`FF` there is stuffed
///   with `00` or starts a restart marker), so the pair is looked for
///   from the end of the file back: a whole file answers in its last
///   bytes, and the scan data, nearly all of a photo, is never read (a
///   forward pass would cost ~3 % of the MD5 that v2 computes anyway).
///   Stray bytes where a marker is due are skipped up to the next `FF`,
///   as libjpeg does, since decoders show such files. A file with no scan
///   at all (SOI, EOI) is whole. A second SOI or a segment length under 2
///   is [`MediaError::MalformedImage`], as libjpeg refuses them. The walk
///   is [`JpegSegments`], which `wxmedia-fit` walks too.
/// * PNG: after the 8-byte signature, chunks are walked by their length
///   fields (length, type, data, CRC); the `IEND` chunk must be reached
///   whole. A cut inside any chunk is caught, not only a missing `IEND`.
///   CRCs are not checked: they detect corruption, not truncation. A
///   length over 2^31 is [`MediaError::MalformedImage`]. The walk is
///   [`PngChunks`], which `wxmedia-fit` walks too.
/// * BMP: the 14-byte file header and the DIB header it announces must be
///   there; the file-size field (bytes 2..6, little endian) must be at
///   most the file length (larger means the end is missing); the
///   pixel-data offset (bytes 10..14) must be within the file; and for an
///   uncompressed bitmap (`BI_RGB`, `BI_BITFIELDS`, `BI_ALPHABITFIELDS`)
///   every row the header describes (stride rounded up to 4 bytes, times
///   the height) must fit between that offset and the end, which still
///   catches a cut when a writer left the size field 0.
///
/// Bytes after the end (after EOI, after `IEND`, past the BMP's declared
/// size) are accepted: decoders never read them, and real files carry
/// them: zero padding to a block size, and the second image or the video
/// that multi-picture JPEGs (CIPA MPF) and phones' motion photos append
/// after the first EOI. The walk reads headers, not pixels, so it refuses
/// only files whose end is missing; a corrupt but whole file is the
/// server's to judge.
///
/// Videos are walked by their container's own length fields, never
/// trusting one beyond the file and never reading the media data: a
/// part that declares its end past the end of the file is refused with
/// [`MediaError::VideoCutShort`], naming the part, and a structure that
/// is broken otherwise with [`MediaError::MalformedVideo`]. The walk is
/// linear in the number of boxes, chunks or tags (a few for an MP4, so
/// microseconds whatever its size):
///
/// * MP4, MOV, M4V, F4V (ISO-BMFF): the top-level boxes tile the file
///   exactly (no byte after the last); `ftyp` first; a `moov` somewhere,
///   before or after `mdat`. A box of size 1 has a 64-bit size after its
///   type; a box of size 0 runs to the end of the file, so it can only be
///   the last (and a cut inside it cannot be seen). A size below the
///   header's 8 (16) bytes is refused.
/// * AVI: the `RIFF 'AVI '` chunk, and the `RIFF 'AVIX'` chunks of
///   OpenDML files over 1 GiB that follow it, each within the file, and
///   each chunk inside them within the file and within its RIFF chunk.
///   Bytes after the last RIFF chunk are accepted, as after an image's
///   end.
/// * MKV: the EBML header element within the file, then the Segment
///   element within the file; a Segment of "unknown" size (a live
///   recording) has its top-level children walked instead, up to one of
///   unknown size. Bytes after the Segment are accepted.
/// * FLV: the header, then the tags (11-byte header, data, previous-tag
///   size) tile the rest of the file exactly.
/// * WMV (ASF): the Header Object within the file, then the Data Object
///   that must follow it, within the file unless its size is 0 (not
///   known when written). The index objects after it are not walked.
/// * RMVB: the RealMedia chunks (ID, size, version) within the file, up
///   to the end or to a chunk it does not know (tools append metadata
///   and ID3 tags shaped otherwise), and a DATA chunk among them when
///   the walk reaches the end.
/// * MPEG: magic bytes only. A program stream has no overall length and
///   its end code is often left out, so a cut at a pack boundary looks
///   like an end; an elementary stream has no lengths at all.
///
/// A file cut exactly at a boundary between whole parts (after the
/// `moov` of an MP4 whose `mdat` came later, between two FLV tags) is
/// whole as far as the container can tell, and is accepted.
///
/// # Dimensions
///
/// The walk above passes the image header anyway (JPEG's first SOFn
/// frame header, PNG's `IHDR`, the BMP's DIB header), so the width and
/// height are read during construction and kept ([`Media::dimensions`]):
/// no second pass, no lazy cell, and 12 bytes per `Media`.
///
/// # File names
///
/// The file name is not signed, but it goes into
/// `Content-Disposition: form-data; name="media"; filename="…"` (v2) and
/// into both v3's meta `filename` and its file part. The policy:
///
/// * a name containing `"`, `\`, `/`, a control character (CR, LF, NUL…),
///   or longer than 256 bytes is refused with [`MediaError::BadFilename`]:
///   it would break the header or smuggle a path;
/// * a printable ASCII name is sent exactly as given;
/// * a name with any non-ASCII character (`身份证.jpg`) is sent as
///   `media.<ext>`, because servers and other SDKs are known to mishandle
///   both raw UTF-8 and RFC 2231 `filename*=`. [`Media::filename`] keeps the
///   original; [`Media::wire_filename`] gives what is sent, and it is that
///   same name that v3 puts in its meta, since v3 wants the two to agree.
///
/// The caller passes a bare file name, not a path: take the last path
/// component yourself (the command line does).
#[derive(Clone)]
pub struct Media {
    filename: String,
    wire_filename: String,
    content: Bytes,
    kind: MediaKind,
    dimensions: Option<(u32, u32)>,
    hashes: Hashes,
}

/// Digests of the content, each filled in on first use.
#[derive(Clone, Default)]
struct Hashes {
    md5: OnceLock<MediaHash>,
    sha256: OnceLock<[u8; 64]>,
}

/// Which constructor is asking: it decides which extensions and contents
/// are acceptable, and which error names the accepted list.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    Image,
    Video,
    Document,
    Text,
}

impl Media {
    /// Validate the image `content` named `filename`: format, extension,
    /// wholeness. Videos are refused (see [`Media::video`]). The size is
    /// the upload's to judge.
    pub fn new(
        filename: impl Into<String>,
        content: impl Into<Bytes>,
    ) -> Result<Media, MediaError> {
        Media::build(filename.into(), content.into(), Family::Image)
    }

    /// Validate the video `content` named `filename` (for v3's
    /// `video_upload`): format, extension, wholeness (its container is
    /// walked, see "Cut-short files" above). Images are refused.
    ///
    /// MP4, MOV, M4V and F4V are one container whose `ftyp` brand varies
    /// by encoder (an MP4 may say `isom`, `mp42`, `avc1`…), so a file with
    /// an `ftyp` box is accepted under any of the four extensions, and the
    /// extension decides [`Media::kind`] (hence the `Content-Type` and the
    /// `media.<ext>` name).
    pub fn video(
        filename: impl Into<String>,
        content: impl Into<Bytes>,
    ) -> Result<Media, MediaError> {
        Media::build(filename.into(), content.into(), Family::Video)
    }

    /// Validate the document `content` named `filename` (a PDF, for the
    /// fapiao file upload): format, extension, wholeness (an `%%EOF` at
    /// its end and a `startxref` before it that points inside the file:
    /// a PDF cut short is refused with [`MediaError::Truncated`]). Images
    /// and videos are refused.
    pub fn document(
        filename: impl Into<String>,
        content: impl Into<Bytes>,
    ) -> Result<Media, MediaError> {
        Media::build(filename.into(), content.into(), Family::Document)
    }

    /// Validate the UTF-8 text `content` named `filename` (`.txt` or
    /// `.csv`, for the bank marketing package's file of ids): UTF-8
    /// throughout, no byte-order mark, no control bytes but tab and line
    /// ends; a character cut in two by the end of the file is
    /// [`MediaError::Truncated`]. Content with another format's magic bytes
    /// is refused as [`MediaError::ExtensionMismatch`].
    pub fn text(
        filename: impl Into<String>,
        content: impl Into<Bytes>,
    ) -> Result<Media, MediaError> {
        Media::build(filename.into(), content.into(), Family::Text)
    }

    /// Validate media of any kind this crate knows, the constructor chosen
    /// by the extension: [`Media::new`] for an image's, [`Media::video`],
    /// [`Media::document`] or [`Media::text`] for the others'. For an
    /// endpoint that takes several families (the global file storage takes
    /// PDFs and images); an unknown extension is
    /// [`MediaError::UnsupportedExtension`].
    pub fn any(
        filename: impl Into<String>,
        content: impl Into<Bytes>,
    ) -> Result<Media, MediaError> {
        let filename = filename.into();
        let family = match MediaKind::from_extension(extension(&filename)) {
            Some(k) if k.is_video() => Family::Video,
            Some(k) if k.is_document() => Family::Document,
            Some(k) if k.is_text() => Family::Text,
            _ => Family::Image,
        };
        Media::build(filename, content.into(), family)
    }

    fn build(filename: String, content: Bytes, family: Family) -> Result<Media, MediaError> {
        let in_family = |k: &MediaKind| match family {
            Family::Image => k.is_image(),
            Family::Video => k.is_video(),
            Family::Document => k.is_document(),
            Family::Text => k.is_text(),
        };
        check_filename(&filename)?;
        let ext = extension(&filename);
        let named = MediaKind::from_extension(ext)
            .filter(in_family)
            .ok_or_else(|| match family {
                Family::Image => MediaError::UnsupportedExtension {
                    ext: ext.to_owned(),
                },
                Family::Video => MediaError::UnsupportedVideoExtension {
                    ext: ext.to_owned(),
                },
                Family::Document => MediaError::UnsupportedDocumentExtension {
                    ext: ext.to_owned(),
                },
                Family::Text => MediaError::UnsupportedTextExtension {
                    ext: ext.to_owned(),
                },
            })?;
        if content.is_empty() {
            return Err(MediaError::Empty);
        }
        if family == Family::Text {
            // Text has no magic bytes: the extension names it, and content
            // that another format's magic bytes name is that format.
            if let Some(detected) = MediaKind::sniff(&content) {
                return Err(MediaError::ExtensionMismatch {
                    ext: ext.to_owned(),
                    detected,
                });
            }
            text::check(named, &content)?;
            return Ok(Media::checked(filename, content, named, None));
        }
        let detected = MediaKind::sniff(&content)
            .filter(in_family)
            .ok_or(match family {
                Family::Image => MediaError::UnknownContent,
                Family::Video => MediaError::UnknownVideoContent,
                Family::Document => MediaError::UnknownDocumentContent,
                Family::Text => unreachable!("text returned above"),
            })?;
        if detected != named && !(detected.is_iso_bmff() && named.is_iso_bmff()) {
            return Err(MediaError::ExtensionMismatch {
                ext: ext.to_owned(),
                detected,
            });
        }
        let kind = named;
        let dimensions = match kind {
            MediaKind::Jpeg => jpeg::check(&content),
            MediaKind::Png => png::check(&content),
            MediaKind::Bmp => bmp::check(&content),
            MediaKind::Pdf => pdf::check(&content),
            _ if kind.is_text() => unreachable!("text returned above"),
            _ => {
                video::check(kind, &content)?;
                Ok(None)
            }
        }
        .map_err(|e| match e {
            WalkError::Truncated => MediaError::Truncated { kind },
            WalkError::Malformed(reason) => MediaError::MalformedImage { kind, reason },
        })?;
        Ok(Media::checked(filename, content, kind, dimensions))
    }

    /// A media whose content was checked as `kind`, with its wire name.
    fn checked(
        filename: String,
        content: Bytes,
        kind: MediaKind,
        dimensions: Option<(u32, u32)>,
    ) -> Media {
        let wire_filename = if filename.is_ascii() {
            filename.clone()
        } else {
            format!("media.{}", kind.extension())
        };
        Media {
            filename,
            wire_filename,
            content,
            kind,
            dimensions,
            hashes: Hashes::default(),
        }
    }

    /// The name as given.
    pub fn filename(&self) -> &str {
        &self.filename
    }

    /// The name that goes on the wire, and into v3's meta (see the policy
    /// above).
    pub fn wire_filename(&self) -> &str {
        &self.wire_filename
    }

    /// The content. Cloning it shares the buffer.
    pub fn content(&self) -> &Bytes {
        &self.content
    }

    /// The format: detected from the content, except that for the four
    /// ISO-BMFF video kinds the extension picks among them.
    pub fn kind(&self) -> MediaKind {
        self.kind
    }

    /// The image's width and height in pixels, read from its header at
    /// construction (JPEG's first SOFn, PNG's `IHDR`, the BMP's DIB
    /// header). `None` for videos, and for an image whose header does not
    /// say (a JPEG without a frame header or with its height deferred to a
    /// DNL marker, a PNG whose first chunk is not `IHDR`, a BMP with an
    /// unknown DIB header).
    pub fn dimensions(&self) -> Option<(u32, u32)> {
        self.dimensions
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

    /// The SM3 (GB/T 32905) of the content, 64 lowercase hex characters:
    /// the digest of the fapiao file upload. Computed on each call (one
    /// upload asks once).
    pub fn sm3_hex(&self) -> String {
        use sm3::Digest as _;
        let mut out = [0u8; 64];
        crate::hex::encode_into(&sm3::Sm3::digest(&self.content), &mut out, false);
        std::str::from_utf8(&out).expect("hex is ASCII").to_owned()
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
            .field("dimensions", &self.dimensions)
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

    // The smallest files that are whole by the rules: SOI then EOI; the
    // signature then IEND; a 1×1 24-bit BMP (its one row padded to 4).
    const JPEG: &[u8] = b"\xFF\xD8\xFF\xD9";
    const PNG: &[u8] = b"\x89PNG\r\n\x1A\n\0\0\0\0IEND\xAE\x42\x60\x82";
    const BMP: &[u8] = b"BM\x3A\0\0\0\0\0\0\0\x36\0\0\0\
        \x28\0\0\0\x01\0\0\0\x01\0\0\0\x01\0\x18\0\0\0\0\0\x04\0\0\0\
        \0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\
        \xFF\xFF\xFF\0";

    // The real samples, made for the project: 24×16 each.
    const SAMPLE_JPG: &[u8] = include_bytes!("../../wxmedia-sim/samples/sample.jpg");
    const SAMPLE_PNG: &[u8] = include_bytes!("../../wxmedia-sim/samples/sample.png");
    const SAMPLE_BMP: &[u8] = include_bytes!("../../wxmedia-sim/samples/sample.bmp");

    /// A whole video of `kind`, real-shaped (see media/video.rs).
    fn video(kind: MediaKind) -> Vec<u8> {
        video::tests::whole(kind)
    }

    const VIDEOS: [MediaKind; 10] = [
        MediaKind::Mp4,
        MediaKind::Mov,
        MediaKind::M4v,
        MediaKind::F4v,
        MediaKind::Avi,
        MediaKind::Wmv,
        MediaKind::Mpeg,
        MediaKind::Mkv,
        MediaKind::Flv,
        MediaKind::Rmvb,
    ];

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
        assert_eq!(
            Media::video("a.mp4", Bytes::new()).unwrap_err(),
            MediaError::Empty
        );
    }

    #[test]
    fn media_has_no_size_limit_of_its_own() {
        // Zero padding after EOI keeps the JPEG whole (see the rules); the
        // limit is the upload's (v2/upload.rs, v3/upload.rs test it).
        let mut big = JPEG.to_vec();
        big.resize(6 * 1024 * 1024, 0);
        assert_eq!(Media::new("a.jpg", big).unwrap().len(), 6 * 1024 * 1024);
        let clip = video::tests::mp4(b"isom", 6 * 1024 * 1024);
        assert!(Media::video("a.mp4", clip).is_ok());
    }

    #[test]
    fn refuses_gif_and_text_content() {
        assert_eq!(
            Media::new("a.jpg", &b"GIF89a...."[..]).unwrap_err(),
            MediaError::UnknownContent
        );
        assert_eq!(
            Media::video("a.mp4", &b"GIF89a...."[..]).unwrap_err(),
            MediaError::UnknownVideoContent
        );
    }

    /// Text is named by its extension and must be UTF-8; a binary
    /// format's magic bytes under `.txt` are that format; each family
    /// refuses text's extensions, and `any` picks the family by extension.
    #[test]
    fn text_is_utf8_under_its_own_extensions() {
        let csv = Media::text("ids.csv", &b"id\n1\n"[..]).unwrap();
        assert_eq!(csv.kind(), MediaKind::Csv);
        assert_eq!(csv.kind().content_type(), "text/csv");
        assert_eq!(csv.dimensions(), None);
        assert_eq!(
            Media::text("ids.TXT", &b"a"[..]).unwrap().kind(),
            MediaKind::Txt
        );
        assert_eq!(
            Media::text("ids.txt", JPEG).unwrap_err(),
            MediaError::ExtensionMismatch {
                ext: "txt".into(),
                detected: MediaKind::Jpeg
            }
        );
        assert!(matches!(
            Media::text("ids.txt", &b"a\xFFb"[..]),
            Err(MediaError::NotText { at: 1, .. })
        ));
        assert_eq!(
            Media::text("ids.txt", &b""[..]).unwrap_err(),
            MediaError::Empty
        );
        assert_eq!(
            Media::text("ids.pdf", &b"x"[..]).unwrap_err(),
            MediaError::UnsupportedTextExtension { ext: "pdf".into() }
        );
        assert_eq!(
            Media::new("ids.txt", &b"x"[..]).unwrap_err(),
            MediaError::UnsupportedExtension { ext: "txt".into() }
        );
        assert_eq!(
            Media::document("ids.csv", &b"x"[..]).unwrap_err(),
            MediaError::UnsupportedDocumentExtension { ext: "csv".into() }
        );
        // `any`: by the extension.
        assert_eq!(Media::any("a.jpg", JPEG).unwrap().kind(), MediaKind::Jpeg);
        assert_eq!(
            Media::any("a.csv", &b"x,y\n"[..]).unwrap().kind(),
            MediaKind::Csv
        );
        assert_eq!(
            Media::any("a.gif", JPEG).unwrap_err(),
            MediaError::UnsupportedExtension { ext: "gif".into() }
        );
        for kind in [MediaKind::Txt, MediaKind::Csv] {
            assert!(kind.is_text() && !kind.is_video() && !kind.is_image() && !kind.is_document());
        }
    }

    #[test]
    fn refuses_unsupported_or_missing_extension() {
        for name in ["a.gif", "a", "a.", "jpg", "a.mp4", "a.mov"] {
            assert!(
                matches!(
                    Media::new(name, Bytes::from_static(JPEG)),
                    Err(MediaError::UnsupportedExtension { .. })
                ),
                "{name}"
            );
        }
        // `mpg` is not in v3's list, so it is refused like an image name.
        for name in ["a.gif", "a", "a.", "mp4", "a.jpg", "a.mpg", "a.webm"] {
            assert!(
                matches!(
                    Media::video(name, video(MediaKind::Mp4)),
                    Err(MediaError::UnsupportedVideoExtension { .. })
                ),
                "{name}"
            );
        }
    }

    #[test]
    fn each_family_refuses_the_others_content() {
        // A video named as an image is not an image, and the reverse.
        assert_eq!(
            Media::new("a.jpg", video(MediaKind::Mp4)).unwrap_err(),
            MediaError::UnknownContent
        );
        assert_eq!(
            Media::video("a.mp4", Bytes::from_static(JPEG)).unwrap_err(),
            MediaError::UnknownVideoContent
        );
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
    fn sniffs_each_video_magic() {
        for kind in VIDEOS {
            let content = video(kind);
            assert_eq!(MediaKind::sniff(&content), Some(kind), "{kind}");
            assert!(kind.is_video() && !kind.is_image(), "{kind}");
            let name = format!("clip.{}", kind.extension().to_uppercase());
            let m = Media::video(name.as_str(), content).unwrap();
            assert_eq!(m.kind(), kind);
            assert_eq!(m.dimensions(), None, "videos report no dimensions");
            assert_eq!(MediaKind::from_extension(kind.extension()), Some(kind));
        }
        for kind in [MediaKind::Jpeg, MediaKind::Png, MediaKind::Bmp] {
            assert!(kind.is_image() && !kind.is_video(), "{kind}");
        }
        // MPEG's other start code, a sequence header.
        assert_eq!(
            MediaKind::sniff(b"\0\0\x01\xB3\x16\0\xF0"),
            Some(MediaKind::Mpeg)
        );
        // Other ftyp brands are MP4; HEIF/AVIF photos are not videos; a
        // RIFF that is not AVI (WebP) is nothing we take.
        assert_eq!(
            MediaKind::sniff(b"\0\0\0\x18ftypmp42\0\0\0\0"),
            Some(MediaKind::Mp4)
        );
        assert_eq!(MediaKind::sniff(b"\0\0\0\x18ftypheic\0\0\0\0"), None);
        assert_eq!(MediaKind::sniff(b"\0\0\0\x18ftypavif\0\0\0\0"), None);
        assert_eq!(MediaKind::sniff(b"\0\0\0\x18ftyp"), None);
        assert_eq!(MediaKind::sniff(b"RIFF\0\0\0\0WEBPVP8 "), None);
    }

    #[test]
    fn content_types_of_videos() {
        let types: Vec<_> = VIDEOS.iter().map(|k| k.content_type()).collect();
        assert_eq!(
            types,
            [
                "video/mp4",
                "video/quicktime",
                "video/x-m4v",
                "video/x-f4v",
                "video/x-msvideo",
                "video/x-ms-wmv",
                "video/mpeg",
                "video/x-matroska",
                "video/x-flv",
                "application/vnd.rn-realmedia-vbr",
            ]
        );
    }

    #[test]
    fn any_iso_bmff_extension_is_accepted_for_an_ftyp_file() {
        // The extension picks the kind, and so the content type.
        for ftyp in [
            MediaKind::Mp4,
            MediaKind::Mov,
            MediaKind::M4v,
            MediaKind::F4v,
        ] {
            for named in [
                MediaKind::Mp4,
                MediaKind::Mov,
                MediaKind::M4v,
                MediaKind::F4v,
            ] {
                let name = format!("a.{}", named.extension());
                let m = Media::video(name.as_str(), video(ftyp)).unwrap();
                assert_eq!(m.kind(), named, "{ftyp} named {name}");
            }
        }
    }

    #[test]
    fn video_extension_must_agree_with_the_content() {
        for (name, content, detected) in [
            ("a.mp4", video(MediaKind::Avi), MediaKind::Avi),
            ("a.avi", video(MediaKind::Mp4), MediaKind::Mp4),
            ("a.mkv", video(MediaKind::Flv), MediaKind::Flv),
            ("a.wmv", video(MediaKind::Mpeg), MediaKind::Mpeg),
            ("a.rmvb", video(MediaKind::Mkv), MediaKind::Mkv),
            ("a.flv", video(MediaKind::Wmv), MediaKind::Wmv),
            ("a.mpeg", video(MediaKind::Rmvb), MediaKind::Rmvb),
            ("a.mov", video(MediaKind::Avi), MediaKind::Avi),
        ] {
            assert_eq!(
                Media::video(name, content).unwrap_err(),
                MediaError::ExtensionMismatch {
                    ext: name[2..].into(),
                    detected
                },
                "{name}"
            );
        }
    }

    #[test]
    fn the_samples_are_whole_and_report_their_dimensions() {
        // 24×16, as `file fixtures/*` and the headers read by hand say.
        for (name, content) in [
            ("sample.jpg", SAMPLE_JPG),
            ("sample.png", SAMPLE_PNG),
            ("sample.bmp", SAMPLE_BMP),
        ] {
            let m = Media::new(name, content).unwrap();
            assert_eq!(m.dimensions(), Some((24, 16)), "{name}");
        }
        // The minimal files are whole too; only the BMP says its size.
        assert_eq!(Media::new("a.jpg", JPEG).unwrap().dimensions(), None);
        assert_eq!(Media::new("a.png", PNG).unwrap().dimensions(), None);
        assert_eq!(Media::new("a.bmp", BMP).unwrap().dimensions(), Some((1, 1)));
    }

    fn refused_as_truncated(name: &str, content: &[u8], kind: MediaKind) {
        assert_eq!(
            Media::new(name, content.to_vec()).unwrap_err(),
            MediaError::Truncated { kind },
            "{name} cut to {} bytes",
            content.len()
        );
    }

    #[test]
    fn a_sample_cut_at_telling_points_is_truncated() {
        let j = SAMPLE_JPG;
        // Inside APP0, right after DQT, inside SOF, inside the scan, after
        // the scan's last byte, between FF and D9.
        for cut in [10, 89, 160, 400, j.len() - 2, j.len() - 1] {
            refused_as_truncated("a.jpg", &j[..cut], MediaKind::Jpeg);
        }
        let p = SAMPLE_PNG;
        // The signature alone, inside IHDR, between IHDR and IDAT, inside
        // IDAT, IEND without its CRC.
        for cut in [8, 20, 33, 60, p.len() - 4] {
            refused_as_truncated("a.png", &p[..cut], MediaKind::Png);
        }
        let b = SAMPLE_BMP;
        // Inside the file header, inside the DIB header, at the pixel
        // offset, one row short, one byte short.
        for cut in [6, 30, 54, b.len() - 72, b.len() - 1] {
            refused_as_truncated("a.bmp", &b[..cut], MediaKind::Bmp);
        }
    }

    #[test]
    fn every_strict_prefix_of_every_sample_is_refused() {
        for (name, content, kind, magic) in [
            ("a.jpg", SAMPLE_JPG, MediaKind::Jpeg, 3),
            ("a.png", SAMPLE_PNG, MediaKind::Png, 8),
            ("a.bmp", SAMPLE_BMP, MediaKind::Bmp, 2),
        ] {
            for cut in 0..content.len() {
                let err = Media::new(name, content[..cut].to_vec()).unwrap_err();
                let want = match cut {
                    0 => MediaError::Empty,
                    // Too short for the magic: not even the format.
                    c if c < magic => MediaError::UnknownContent,
                    _ => MediaError::Truncated { kind },
                };
                assert_eq!(err, want, "{name} cut to {cut} bytes");
            }
        }
    }

    #[test]
    fn bytes_after_the_end_are_accepted() {
        for (name, content) in [
            ("a.jpg", SAMPLE_JPG),
            ("a.png", SAMPLE_PNG),
            ("a.bmp", SAMPLE_BMP),
        ] {
            for tail in [&b"\0\0\0\0"[..], b"appended data \xFF\xD8"] {
                let mut c = content.to_vec();
                c.extend_from_slice(tail);
                let m = Media::new(name, c).unwrap();
                assert_eq!(m.dimensions(), Some((24, 16)), "{name}");
            }
        }
    }

    #[test]
    fn jpeg_walk_follows_segments_not_stray_end_markers() {
        // An EOI inside a segment (an EXIF thumbnail's) does not end the
        // file: cut after it, the file is still refused.
        let mut thumb = b"\xFF\xD8\xFF\xE1\x00\x08Ex\xFF\xD9\xFF\xD8".to_vec();
        refused_as_truncated("a.jpg", &thumb, MediaKind::Jpeg);
        thumb.extend_from_slice(b"\xFF\xD9");
        assert!(Media::new("a.jpg", thumb).is_ok());
        // After a scan header, stuffed FF 00, restarts and fill bytes are
        // data, and the EOI ends the file. SOF0 gives 3×2.
        let scan = b"\xFF\xD8\xFF\xC0\x00\x0B\x08\x00\x02\x00\x03\x01\x01\x11\x00\
            \xFF\xDA\x00\x08\x01\x01\x00\x00\x3F\x00\
            \x12\xFF\x00\x34\xFF\xD0\x56\xFF\xFF\xD9";
        let m = Media::new("a.jpg", &scan[..]).unwrap();
        assert_eq!(m.dimensions(), Some((3, 2)));
        // Progressive: a second scan after a table; cut anywhere after the
        // first scan header, the EOI is gone and the file is refused.
        let progressive = [
            &scan[..scan.len() - 2],
            b"\xFF\xC4\x00\x05\x10\x00\x00",
            b"\xFF\xDA\x00\x08\x01\x01\x00\x01\x3F\x00\x9A\xFF\x00\xBC",
            b"\xFF\xD9",
        ]
        .concat();
        assert!(Media::new("a.jpg", progressive.clone()).is_ok());
        for cut in 25..progressive.len() {
            refused_as_truncated("a.jpg", &progressive[..cut], MediaKind::Jpeg);
        }
        // A segment length past the end is a cut.
        refused_as_truncated("a.jpg", b"\xFF\xD8\xFF\xE0\x00\x10JFIF", MediaKind::Jpeg);
        // A height deferred to DNL is not reported.
        let dnl = b"\xFF\xD8\xFF\xC0\x00\x0B\x08\x00\x00\x00\x03\x01\x01\x11\x00\xFF\xD9";
        assert_eq!(Media::new("a.jpg", &dnl[..]).unwrap().dimensions(), None);
    }

    #[test]
    fn png_walk_uses_the_chunk_lengths() {
        // A chunk announcing more data than there is, before an IEND-looking
        // tail, is a cut.
        let mut p = PNG_SIGNATURE.to_vec();
        p.extend_from_slice(b"\0\0\x01\0tEXt\0\0\0\0IEND\xAE\x42\x60\x82");
        refused_as_truncated("a.png", &p, MediaKind::Png);
        // The largest length PNG allows does not wrap: a cut.
        let mut p = PNG_SIGNATURE.to_vec();
        p.extend_from_slice(b"\x7F\xFF\xFF\xFFIDAT\0\0\0\0IEND\xAE\x42\x60\x82");
        refused_as_truncated("a.png", &p, MediaKind::Png);
        // A length over 2^31 is no PNG's: malformed, not cut.
        let mut p = PNG_SIGNATURE.to_vec();
        p.extend_from_slice(b"\xFF\xFF\xFF\xFFIDAT\0\0\0\0IEND\xAE\x42\x60\x82");
        assert_eq!(
            Media::new("a.png", p).unwrap_err(),
            MediaError::MalformedImage {
                kind: MediaKind::Png,
                reason: "a chunk length over 2^31"
            }
        );
    }

    /// One SOI rule for every crate: a second start-of-image, or a segment
    /// length under 2, is malformed (libjpeg refuses both), where stray
    /// bytes, fill bytes and restart markers outside a scan are skipped.
    #[test]
    fn jpeg_walk_refuses_a_second_soi_and_a_length_under_2() {
        let malformed = |content: &[u8], reason| {
            assert_eq!(
                Media::new("a.jpg", content.to_vec()).unwrap_err(),
                MediaError::MalformedImage {
                    kind: MediaKind::Jpeg,
                    reason
                },
                "{content:02X?}"
            );
        };
        malformed(
            b"\xFF\xD8\xFF\xD8\xFF\xD9",
            "a second start-of-image marker",
        );
        malformed(
            b"\xFF\xD8\xFF\xFE\x00\x02\xFF\xD8\xFF\xD9",
            "a second start-of-image marker",
        );
        malformed(
            b"\xFF\xD8\xFF\xFE\x00\x01\xFF\xD9",
            "a segment length below 2",
        );
        malformed(
            b"\xFF\xD8\xFF\xFE\x00\x00\xFF\xD9",
            "a segment length below 2",
        );
        // Still whole: a stray byte, fill bytes and a restart marker.
        for whole in [
            &b"\xFF\xD8\xFF\xFE\x00\x02\x00\xFF\xD9"[..],
            b"\xFF\xD8\xFF\xFF\xFF\xD9",
            b"\xFF\xD8\xFF\xD0\xFF\xD9",
        ] {
            assert!(Media::new("a.jpg", whole.to_vec()).is_ok(), "{whole:02X?}");
        }
    }

    /// One brand table: a HEIC is told apart by its major brand or its
    /// compatible ones, an AVIF wins over the generic `mif1`, an MP4 is
    /// neither; and such photos are never taken for videos.
    #[test]
    fn still_images_are_told_by_major_or_compatible_brands() {
        let cases: [(&[u8], Option<StillImage>); 5] = [
            (
                b"\0\0\0\x18ftypheic\0\0\0\0mif1heic",
                Some(StillImage::Heif),
            ),
            (
                b"\0\0\0\x18ftypisom\0\0\0\0mif1hevx",
                Some(StillImage::Heif),
            ),
            (
                b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf",
                Some(StillImage::Avif),
            ),
            (
                b"\0\0\0\x18ftypmif1\0\0\0\0mif1avif",
                Some(StillImage::Avif),
            ),
            (b"\0\0\0\x18ftypisom\0\0\0\0isomiso2", None),
        ];
        for (content, want) in cases {
            assert_eq!(StillImage::sniff(content), want, "{content:?}");
            if want.is_some() {
                assert_eq!(MediaKind::sniff(content), None, "{content:?}");
            }
        }
        assert_eq!(
            MediaKind::sniff(b"\0\0\0\x18ftypisom\0\0\0\0isomiso2"),
            Some(MediaKind::Mp4)
        );
    }

    #[test]
    fn bmp_size_field_and_pixel_rows_are_checked() {
        // The size field says more than there is.
        let mut b = BMP.to_vec();
        b[2] = 0x3B;
        refused_as_truncated("a.bmp", &b, MediaKind::Bmp);
        // A size field of 0 (some writers) is tolerated, and the rows
        // still catch a cut.
        let mut b = BMP.to_vec();
        b[2] = 0;
        assert!(Media::new("a.bmp", b.clone()).is_ok());
        b.pop();
        refused_as_truncated("a.bmp", &b, MediaKind::Bmp);
        // A pixel offset past the end.
        let mut b = BMP.to_vec();
        b[10] = 0x3B;
        refused_as_truncated("a.bmp", &b, MediaKind::Bmp);
        // A top-down bitmap (negative height) reports its height.
        let mut b = BMP.to_vec();
        b[22..26].copy_from_slice(&(-1i32).to_le_bytes());
        assert_eq!(Media::new("a.bmp", b).unwrap().dimensions(), Some((1, 1)));
        // Too short for the file header.
        refused_as_truncated("a.bmp", b"BM\x3A\0\0\0", MediaKind::Bmp);
    }

    #[test]
    fn truncated_message_says_the_file_looks_cut_short() {
        let msg = MediaError::Truncated {
            kind: MediaKind::Png,
        }
        .to_string();
        assert!(msg.contains("cut short") && msg.contains("PNG"), "{msg}");
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
        assert!(matches!(
            Media::video("d/a.mp4", video(MediaKind::Mp4)),
            Err(MediaError::BadFilename { .. })
        ));
    }

    #[test]
    fn non_ascii_names_are_sent_as_media_dot_ext() {
        let m = Media::new("身份证.JPG", Bytes::from_static(JPEG)).unwrap();
        assert_eq!(m.filename(), "身份证.JPG");
        assert_eq!(m.wire_filename(), "media.jpg");
        // For an ftyp video the extension's kind names it.
        let m = Media::video("视频.MOV", video(MediaKind::Mp4)).unwrap();
        assert_eq!(m.wire_filename(), "media.mov");
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
