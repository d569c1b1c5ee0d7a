//! The formats the uploads take, told by their magic bytes: images, videos and documents, with their content types and extensions.

use std::fmt;

use super::{PNG_SIGNATURE, StillImage};

/// The formats the upload APIs accept, as detected from magic bytes: the
/// images of v2 and v3's image upload, the videos of v3's `video_upload`,
/// the PDF of the fapiao file upload, and the UTF-8 text of the bank
/// marketing package (which has no magic bytes: its extension names it,
/// and [`Media::text`](crate::Media::text) checks it is UTF-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MediaKind {
    /// JPEG (`FF D8 FF`).
    Jpeg,
    /// PNG (`89 50 4E 47 0D 0A 1A 0A`).
    Png,
    /// BMP (`42 4D`).
    Bmp,
    /// MPEG-4 video: an ISO-BMFF `ftyp` box at offset 4 whose brand is
    /// none of the others below.
    Mp4,
    /// QuickTime: an `ftyp` box with the `qt  ` brand.
    Mov,
    /// iTunes video: an `ftyp` box with an `M4V ` / `M4VH` / `M4VP` brand.
    M4v,
    /// Flash MP4 video: an `ftyp` box with an `F4V ` / `F4P ` brand.
    F4v,
    /// AVI: `RIFF`, a size, `AVI `.
    Avi,
    /// Windows Media: the ASF header object's GUID
    /// (`30 26 B2 75 8E 66 CF 11 A6 D9 00 AA 00 62 CE 6C`).
    Wmv,
    /// MPEG program or elementary stream: a pack (`00 00 01 BA`) or
    /// sequence header (`00 00 01 B3`) start code.
    Mpeg,
    /// Matroska: the EBML magic `1A 45 DF A3`.
    Mkv,
    /// Flash video: `FLV`.
    Flv,
    /// RealMedia variable bit rate: `.RMF`.
    Rmvb,
    /// PDF: `%PDF-` (the fapiao file upload, 电子发票).
    Pdf,
    /// Plain UTF-8 text, `.txt` (never sniffed: text has no magic bytes).
    Txt,
    /// Comma-separated values in UTF-8, `.csv` (never sniffed).
    Csv,
}

/// The ASF header object's GUID, first 16 bytes of every WMV/WMA file.
pub(crate) const ASF_HEADER_GUID: [u8; 16] = [
    0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11, 0xA6, 0xD9, 0x00, 0xAA, 0x00, 0x62, 0xCE, 0x6C,
];

impl MediaKind {
    /// Every kind, images first, then videos, documents and text.
    pub const ALL: &'static [MediaKind] = &[
        MediaKind::Jpeg,
        MediaKind::Png,
        MediaKind::Bmp,
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
        MediaKind::Pdf,
        MediaKind::Txt,
        MediaKind::Csv,
    ];

    /// Detect the format from the first bytes of the content, images and
    /// videos alike (a constructor of [`Media`](crate::Media) then keeps its own family).
    pub fn sniff(content: &[u8]) -> Option<MediaKind> {
        if content.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(MediaKind::Jpeg)
        } else if content.starts_with(&PNG_SIGNATURE) {
            Some(MediaKind::Png)
        } else if content.starts_with(b"BM") {
            Some(MediaKind::Bmp)
        } else if content.get(4..8) == Some(b"ftyp") {
            let brand = content.get(8..12)?;
            Some(match brand {
                b"qt  " => MediaKind::Mov,
                b"M4V " | b"M4VH" | b"M4VP" => MediaKind::M4v,
                b"F4V " | b"F4P " => MediaKind::F4v,
                _ if StillImage::sniff(content).is_some() => return None,
                _ => MediaKind::Mp4,
            })
        } else if content.starts_with(b"RIFF") && content.get(8..12) == Some(b"AVI ") {
            Some(MediaKind::Avi)
        } else if content.starts_with(&ASF_HEADER_GUID) {
            Some(MediaKind::Wmv)
        } else if content.starts_with(&[0, 0, 1, 0xBA]) || content.starts_with(&[0, 0, 1, 0xB3]) {
            Some(MediaKind::Mpeg)
        } else if content.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
            Some(MediaKind::Mkv)
        } else if content.starts_with(b"FLV") {
            Some(MediaKind::Flv)
        } else if content.starts_with(b".RMF") {
            Some(MediaKind::Rmvb)
        } else if content.starts_with(b"%PDF-") {
            Some(MediaKind::Pdf)
        } else {
            None
        }
    }

    /// Whether this is one of the image formats (JPEG, PNG, BMP).
    pub fn is_image(self) -> bool {
        matches!(self, MediaKind::Jpeg | MediaKind::Png | MediaKind::Bmp)
    }

    /// Whether this is one of the video formats.
    pub fn is_video(self) -> bool {
        matches!(
            self,
            MediaKind::Mp4
                | MediaKind::Mov
                | MediaKind::M4v
                | MediaKind::F4v
                | MediaKind::Avi
                | MediaKind::Wmv
                | MediaKind::Mpeg
                | MediaKind::Mkv
                | MediaKind::Flv
                | MediaKind::Rmvb
        )
    }

    /// Whether this is UTF-8 text (TXT, CSV).
    pub fn is_text(self) -> bool {
        matches!(self, MediaKind::Txt | MediaKind::Csv)
    }

    /// Whether this is a document (PDF).
    pub fn is_document(self) -> bool {
        matches!(self, MediaKind::Pdf)
    }

    /// MP4, MOV, M4V and F4V share one container (ISO-BMFF) and their
    /// brands vary by encoder, so any of their extensions is accepted for
    /// any `ftyp` file.
    pub(crate) fn is_iso_bmff(self) -> bool {
        matches!(
            self,
            MediaKind::Mp4 | MediaKind::Mov | MediaKind::M4v | MediaKind::F4v
        )
    }

    /// The `Content-Type` of the multipart file part.
    pub fn content_type(self) -> &'static str {
        match self {
            MediaKind::Jpeg => "image/jpeg",
            MediaKind::Png => "image/png",
            MediaKind::Bmp => "image/bmp",
            MediaKind::Mp4 => "video/mp4",
            MediaKind::Mov => "video/quicktime",
            MediaKind::M4v => "video/x-m4v",
            MediaKind::F4v => "video/x-f4v",
            MediaKind::Avi => "video/x-msvideo",
            MediaKind::Wmv => "video/x-ms-wmv",
            MediaKind::Mpeg => "video/mpeg",
            MediaKind::Mkv => "video/x-matroska",
            MediaKind::Flv => "video/x-flv",
            MediaKind::Rmvb => "application/vnd.rn-realmedia-vbr",
            MediaKind::Pdf => "application/pdf",
            MediaKind::Txt => "text/plain",
            MediaKind::Csv => "text/csv",
        }
    }

    /// The canonical extension, used when a name has to be replaced.
    pub fn extension(self) -> &'static str {
        match self {
            MediaKind::Jpeg => "jpg",
            MediaKind::Png => "png",
            MediaKind::Bmp => "bmp",
            MediaKind::Mp4 => "mp4",
            MediaKind::Mov => "mov",
            MediaKind::M4v => "m4v",
            MediaKind::F4v => "f4v",
            MediaKind::Avi => "avi",
            MediaKind::Wmv => "wmv",
            MediaKind::Mpeg => "mpeg",
            MediaKind::Mkv => "mkv",
            MediaKind::Flv => "flv",
            MediaKind::Rmvb => "rmvb",
            MediaKind::Pdf => "pdf",
            MediaKind::Txt => "txt",
            MediaKind::Csv => "csv",
        }
    }

    /// The kind an extension names, any case: `jpg`, `jpeg`, `png`, `bmp`
    /// for images; for videos exactly the list of v3's `video_upload`
    /// (`avi wmv mpeg mp4 mov mkv flv f4v m4v rmvb`; not `mpg`, which
    /// that list does not name); `pdf`; `txt` and `csv`.
    pub fn from_extension(ext: &str) -> Option<MediaKind> {
        let lower = ext.to_ascii_lowercase();
        match lower.as_str() {
            "jpg" | "jpeg" => Some(MediaKind::Jpeg),
            "png" => Some(MediaKind::Png),
            "bmp" => Some(MediaKind::Bmp),
            "mp4" => Some(MediaKind::Mp4),
            "mov" => Some(MediaKind::Mov),
            "m4v" => Some(MediaKind::M4v),
            "f4v" => Some(MediaKind::F4v),
            "avi" => Some(MediaKind::Avi),
            "wmv" => Some(MediaKind::Wmv),
            "mpeg" => Some(MediaKind::Mpeg),
            "mkv" => Some(MediaKind::Mkv),
            "flv" => Some(MediaKind::Flv),
            "rmvb" => Some(MediaKind::Rmvb),
            "pdf" => Some(MediaKind::Pdf),
            "txt" => Some(MediaKind::Txt),
            "csv" => Some(MediaKind::Csv),
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
            MediaKind::Mp4 => "MP4",
            MediaKind::Mov => "MOV",
            MediaKind::M4v => "M4V",
            MediaKind::F4v => "F4V",
            MediaKind::Avi => "AVI",
            MediaKind::Wmv => "WMV",
            MediaKind::Mpeg => "MPEG",
            MediaKind::Mkv => "MKV",
            MediaKind::Flv => "FLV",
            MediaKind::Rmvb => "RMVB",
            MediaKind::Pdf => "PDF",
            MediaKind::Txt => "TXT",
            MediaKind::Csv => "CSV",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::MediaKind;

    /// `ALL` holds every variant once (the match has no wildcard, so a
    /// new variant fails to compile here until it is placed), and each
    /// kind's extension names it.
    #[test]
    fn all_holds_every_kind_once() {
        for (i, &kind) in MediaKind::ALL.iter().enumerate() {
            let index = match kind {
                MediaKind::Jpeg => 0,
                MediaKind::Png => 1,
                MediaKind::Bmp => 2,
                MediaKind::Mp4 => 3,
                MediaKind::Mov => 4,
                MediaKind::M4v => 5,
                MediaKind::F4v => 6,
                MediaKind::Avi => 7,
                MediaKind::Wmv => 8,
                MediaKind::Mpeg => 9,
                MediaKind::Mkv => 10,
                MediaKind::Flv => 11,
                MediaKind::Rmvb => 12,
                MediaKind::Pdf => 13,
                MediaKind::Txt => 14,
                MediaKind::Csv => 15,
            };
            assert_eq!(index, i, "{kind}");
            assert_eq!(MediaKind::from_extension(kind.extension()), Some(kind));
        }
        assert_eq!(MediaKind::ALL.len(), 16);
    }
}
