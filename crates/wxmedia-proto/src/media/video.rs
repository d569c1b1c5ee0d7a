//! The container walks of the videos (rules on [`Media`](super::Media)): box by box, chunk by chunk, never trusting a declared length beyond the file.

use crate::MediaKind;
use crate::error::MediaError;

use super::walk::{be16, be32, le32};

/// Walk the container of a video whose magic bytes said `kind` (for the
/// ISO-BMFF kinds, the one its extension names), refusing a file whose
/// end is missing or whose structure is broken. MPEG is not walked.
pub(super) fn check(kind: MediaKind, c: &[u8]) -> Result<(), MediaError> {
    let w = Walk { kind, c };
    match kind {
        MediaKind::Mp4 | MediaKind::Mov | MediaKind::M4v | MediaKind::F4v => w.iso_bmff(),
        MediaKind::Avi => w.avi(),
        MediaKind::Wmv => w.asf(),
        MediaKind::Mkv => w.matroska(),
        MediaKind::Flv => w.flv(),
        MediaKind::Rmvb => w.realmedia(),
        // A program stream has no overall length, and the end code its
        // writers often leave out cannot be told from a cut; an
        // elementary stream has no lengths at all.
        _ => Ok(()),
    }
}

/// One walk: the format named in the refusals, and the content.
struct Walk<'a> {
    kind: MediaKind,
    c: &'a [u8],
}

/// `'name'`, with a four-character code from the file escaped so that
/// the error text is safe on a terminal: printable ASCII as is, any other
/// byte (and `'`, `\`) as `\xNN`.
fn fourcc(code: &[u8]) -> String {
    let mut out = String::with_capacity(2 + code.len());
    out.push('\'');
    for &b in code {
        if (b.is_ascii_graphic() || b == b' ') && b != b'\'' && b != b'\\' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out.push('\'');
    out
}

fn be64(c: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(
        c.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

fn le64(c: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        c.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// Where a part starting at `at` and `size` bytes long ends: u64 and
/// saturating, so that a huge declared size cannot wrap.
fn end_of(at: usize, size: u64) -> u64 {
    (at as u64).saturating_add(size)
}

/// The `moov` error's reason: a missing index is what an unfinished
/// recording, or a file cut right after its media data, looks like.
const NO_MOOV: &str = "it has no 'moov' box, the index players need; a recording that was never finished, or a file cut short right after its media data, looks like this";

/// The GUID of ASF's Data Object, which must follow the Header Object.
const ASF_DATA_GUID: [u8; 16] = [
    0x36, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11, 0xA6, 0xD9, 0x00, 0xAA, 0x00, 0x62, 0xCE, 0x6C,
];

/// Matroska's Segment element, after the EBML header.
const MKV_SEGMENT: u32 = 0x1853_8067;

impl Walk<'_> {
    fn len(&self) -> u64 {
        self.c.len() as u64
    }

    /// `part`, starting at `at`, declares its end at `declared_end`, past
    /// the end of the file.
    fn cut(&self, part: impl Into<String>, at: usize, declared_end: u64) -> MediaError {
        MediaError::VideoCutShort {
            kind: self.kind,
            part: part.into(),
            at: at as u64,
            declared_end,
            len: self.len(),
        }
    }

    fn malformed(&self, reason: impl Into<String>) -> MediaError {
        MediaError::MalformedVideo {
            kind: self.kind,
            reason: reason.into(),
        }
    }

    /// Refuse `part` (named lazily: names are built only for errors) if
    /// it ends past the file; else its end, which then fits in `usize`.
    fn fits(
        &self,
        part: impl FnOnce() -> String,
        at: usize,
        end: u64,
    ) -> Result<usize, MediaError> {
        if end > self.len() {
            Err(self.cut(part(), at, end))
        } else {
            Ok(end as usize)
        }
    }

    /// MP4, MOV, M4V, F4V: the top-level boxes tile the file exactly,
    /// `ftyp` first, a `moov` somewhere. A box is 32-bit size and type,
    /// then a 64-bit `largesize` when the size is 1; size 0 runs to the
    /// end of the file.
    fn iso_bmff(&self) -> Result<(), MediaError> {
        let c = self.c;
        let mut at = 0;
        let mut moov = false;
        while at < c.len() {
            // A whole file (its `ftyp` and `moov` seen) followed by bytes
            // that are no box: something was appended, nothing was cut.
            // A known box that runs past the end is still a cut (a
            // fast-start file, `moov` first, cut in its `mdat`).
            if moov && self.not_a_box(at) {
                return Err(self.malformed(format!(
                    "{} bytes follow the end of the file at byte {at} and are not an MP4 box; \
                     was something appended to the file?",
                    c.len() - at
                )));
            }
            let (Some(size32), Some(typ)) = (be32(c, at), c.get(at + 4..at + 8)) else {
                return Err(self.cut("box header", at, end_of(at, 8)));
            };
            if at == 0 && typ != b"ftyp" {
                return Err(self.malformed(format!("the first box is {}, not 'ftyp'", fourcc(typ))));
            }
            let (header, size) = match size32 {
                0 => (8, (c.len() - at) as u64),
                1 => match be64(c, at + 8) {
                    Some(large) => (16, large),
                    None => {
                        let part = format!("box {} (its 64-bit size)", fourcc(typ));
                        return Err(self.cut(part, at, end_of(at, 16)));
                    }
                },
                n => (8, u64::from(n)),
            };
            if size < header {
                return Err(self.malformed(format!(
                    "the box {} at byte {at} declares a size of {size} bytes, less than its {header}-byte header",
                    fourcc(typ)
                )));
            }
            let end = self.fits(|| format!("box {}", fourcc(typ)), at, end_of(at, size))?;
            // The first box's brand and version are what is read; a later
            // 'ftyp' is a box like any other (and one that runs to the end
            // of a cut file would be "too short" only because of the cut).
            if at == 0 && size < header + 8 {
                return Err(self.malformed(format!(
                    "the 'ftyp' box at byte {at} is {size} bytes, too short for its brand and version"
                )));
            }
            moov |= typ == b"moov";
            at = end;
        }
        if moov {
            Ok(())
        } else {
            Err(self.malformed(NO_MOOV))
        }
    }

    /// Whether the bytes at `at` cannot begin a top-level box: what type
    /// bytes there are (up to four, after the 32-bit size) begin no type
    /// that ISO/IEC 14496-12 or QuickTime puts at the top level. Fewer
    /// bytes than that say nothing, and a known type that runs past the
    /// end is a cut, not an addition.
    fn not_a_box(&self, at: usize) -> bool {
        const TOP_LEVEL: [&[u8; 4]; 17] = [
            b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"uuid", b"pdin", b"moof",
            b"mfra", b"meta", b"styp", b"sidx", b"ssix", b"prft", b"emsg", b"pnot",
        ];
        let typ = self.c.get(at + 4..).unwrap_or_default();
        let typ = &typ[..typ.len().min(4)];
        !typ.is_empty() && !TOP_LEVEL.iter().any(|t| t.starts_with(typ))
    }

    /// AVI: the `RIFF 'AVI '` chunk, and the `RIFF 'AVIX'` chunks that
    /// OpenDML files over 1 GiB chain after it, each within the file, and
    /// the chunks inside each within it. Bytes after the last RIFF chunk
    /// are accepted, as bytes after an image's end are.
    fn avi(&self) -> Result<(), MediaError> {
        let c = self.c;
        let mut at = 0;
        loop {
            let (Some(size), Some(form)) = (le32(c, at + 4), c.get(at + 8..at + 12)) else {
                return Err(self.cut("RIFF header", at, end_of(at, 12)));
            };
            if size < 4 {
                return Err(self.malformed(format!(
                    "the RIFF chunk at byte {at} declares {size} bytes, too few for its form type"
                )));
            }
            let riff_end = end_of(at, 8 + u64::from(size));
            self.riff_chunks(at + 12, riff_end, form)?;
            let riff_end = self.fits(|| format!("RIFF {}", fourcc(form)), at, riff_end)?;
            // Chunks are padded to an even size.
            let next = riff_end + (size & 1) as usize;
            match c.get(next..) {
                Some(rest) if rest.starts_with(b"RIFF") => {
                    if rest.len() < 12 {
                        return Err(self.cut("RIFF header", next, end_of(next, 12)));
                    }
                    if &rest[8..12] != b"AVIX" {
                        return Ok(());
                    }
                    at = next;
                }
                _ => return Ok(()),
            }
        }
    }

    /// The chunks of a RIFF chunk whose data starts at `at` and which
    /// declares its end at `riff_end`: each within the file, and within
    /// the RIFF chunk. Stops where fewer than a chunk header's 8 bytes
    /// are left (the RIFF chunk's own end is checked by the caller).
    fn riff_chunks(&self, mut at: usize, riff_end: u64, form: &[u8]) -> Result<(), MediaError> {
        let c = self.c;
        let bound = riff_end.min(self.len());
        while end_of(at, 8) <= bound {
            let (id, size) = (&c[at..at + 4], u64::from(le32(c, at + 4).unwrap_or(0)));
            let end = end_of(at, 8 + size);
            let name = || match c.get(at + 8..at + 12) {
                Some(list) if id == b"LIST" && size >= 4 => {
                    format!("chunk 'LIST' {}", fourcc(list))
                }
                _ => format!("chunk {}", fourcc(id)),
            };
            let end = self.fits(name, at, end)?;
            if end as u64 > riff_end {
                return Err(self.malformed(format!(
                    "the {} at byte {at} ends at byte {end}, past the end of its RIFF {} at byte {riff_end}",
                    name(),
                    fourcc(form)
                )));
            }
            at = end + (size & 1) as usize;
        }
        Ok(())
    }

    /// WMV/ASF: the Header Object (GUID, 64-bit size, at least 30 bytes)
    /// within the file, then the Data Object that must follow it, within
    /// the file too unless its size is 0 (not known to the writer, as in
    /// a broadcast). What follows it (the indexes) is not walked.
    fn asf(&self) -> Result<(), MediaError> {
        let c = self.c;
        let Some(size) = le64(c, 16) else {
            return Err(self.cut("Header Object", 0, 30));
        };
        if size < 30 {
            return Err(self.malformed(format!(
                "the Header Object declares {size} bytes, less than its 30-byte header"
            )));
        }
        let at = self.fits(|| "Header Object".into(), 0, size)?;
        let rest = &c[at..];
        if rest.len() < 24 {
            if ASF_DATA_GUID.starts_with(&rest[..rest.len().min(16)]) {
                return Err(self.cut("Data Object", at, end_of(at, 50)));
            }
        } else if rest[..16] == ASF_DATA_GUID {
            let size = le64(rest, 16).unwrap_or(0);
            if size == 0 {
                return Ok(());
            }
            if size < 50 {
                return Err(self.malformed(format!(
                    "the Data Object at byte {at} declares {size} bytes, less than its 50-byte header"
                )));
            }
            self.fits(|| "Data Object".into(), at, end_of(at, size))?;
            return Ok(());
        }
        Err(self.malformed(format!(
            "the Header Object is not followed by the Data Object at byte {at}"
        )))
    }

    /// FLV: the header (`FLV`, version, flags, its own size of at least
    /// 9), the first previous-tag-size field, then tags up to the end: an
    /// 11-byte header with a 24-bit data size, the data, the 4-byte size
    /// of the tag just ended. The sizes those fields repeat are not
    /// compared: they catch corruption, not a cut.
    fn flv(&self) -> Result<(), MediaError> {
        let c = self.c;
        let Some(header) = be32(c, 5) else {
            return Err(self.cut("header", 0, 9));
        };
        if header < 9 {
            return Err(self.malformed(format!(
                "the header declares {header} bytes, less than its 9"
            )));
        }
        let mut at = self.fits(|| "header".into(), 0, u64::from(header))?;
        at = self.fits(|| "first previous-tag-size field".into(), at, end_of(at, 4))?;
        while at < c.len() {
            let (Some(&typ), Some(hi), Some(lo)) = (c.get(at), c.get(at + 1), be16(c, at + 2))
            else {
                return Err(self.cut("tag header", at, end_of(at, 11)));
            };
            let size = (u64::from(*hi) << 16) | u64::from(lo);
            let name = || match typ & 0x1F {
                8 => "audio tag".to_owned(),
                9 => "video tag".to_owned(),
                18 => "script data tag".to_owned(),
                other => format!("tag of type {other}"),
            };
            at = self.fits(name, at, end_of(at, 11 + size + 4))?;
        }
        Ok(())
    }

    /// MKV: the EBML header element within the file, then (past any
    /// Void or CRC-32 element) the Segment element, within the file
    /// unless its size is "unknown" (all ones), as a live recording
    /// writes it: then its top-level children are walked instead, up to
    /// one of unknown size.
    fn matroska(&self) -> Result<(), MediaError> {
        let header = self.ebml_element(0)?;
        let Some(size) = header.size else {
            return Err(self.malformed("the EBML header declares an unknown size"));
        };
        let mut at = self.fits(|| "EBML header".into(), 0, end_of(header.data, size))?;
        loop {
            if at == self.c.len() {
                return Err(self.cut("Segment element header", at, end_of(at, 5)));
            }
            let e = self.ebml_element(at)?;
            match (e.id, e.size) {
                (MKV_SEGMENT, Some(size)) => {
                    self.fits(|| "Segment element".into(), at, end_of(e.data, size))?;
                    return Ok(());
                }
                (MKV_SEGMENT, None) => return self.unknown_size_segment(e.data),
                (0xEC | 0xBF, Some(size)) => {
                    at = self.fits(|| ebml_name(e.id), at, end_of(e.data, size))?;
                }
                (id, _) => {
                    return Err(self.malformed(format!(
                        "the element at byte {at} after the EBML header is {}, not the Segment (ID 0x18538067)",
                        ebml_name(id)
                    )));
                }
            }
        }
    }

    /// The children of a Segment of unknown size, from `at`: each whole,
    /// up to the end of the file or to a child of unknown size (a
    /// Cluster of a live recording), which cannot be judged.
    fn unknown_size_segment(&self, mut at: usize) -> Result<(), MediaError> {
        while at < self.c.len() {
            let e = self.ebml_element(at)?;
            let Some(size) = e.size else {
                return Ok(());
            };
            at = self.fits(|| ebml_name(e.id), at, end_of(e.data, size))?;
        }
        Ok(())
    }

    /// The ID and size of the EBML element at `at`: both variable-length
    /// integers, the ID 1 to 4 bytes long, the size 1 to 8.
    fn ebml_element(&self, at: usize) -> Result<Element, MediaError> {
        let c = self.c;
        let header_cut = |needed: usize| self.cut("element header", at, end_of(at, needed as u64));
        let first = *c.get(at).ok_or_else(|| header_cut(2))?;
        let id_len = first.leading_zeros() as usize + 1;
        if id_len > 4 {
            return Err(self.malformed(format!(
                "the element at byte {at} starts with byte 0x{first:02X}, not a valid element ID"
            )));
        }
        let id_bytes = c
            .get(at..at + id_len)
            .ok_or_else(|| header_cut(id_len + 1))?;
        let id = id_bytes.iter().fold(0u32, |v, &b| (v << 8) | u32::from(b));
        let size_at = at + id_len;
        let first = *c.get(size_at).ok_or_else(|| header_cut(id_len + 1))?;
        if first == 0 {
            return Err(self.malformed(format!(
                "the {} at byte {at} has a size field longer than 8 bytes",
                ebml_name(id)
            )));
        }
        let size_len = first.leading_zeros() as usize + 1;
        let bytes = c
            .get(size_at..size_at + size_len)
            .ok_or_else(|| header_cut(id_len + size_len))?;
        // The length marker bit cleared; all value bits set means unknown.
        let mask = u64::MAX >> (64 - 7 * size_len);
        let value = bytes.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b)) & mask;
        Ok(Element {
            id,
            data: size_at + size_len,
            size: (value != mask).then_some(value),
        })
    }

    /// RealMedia: its chunks (4-byte ID, 32-bit size counting the whole
    /// chunk, 16-bit version) each within the file, up to the end. The
    /// walk stops, accepting, at an ID it does not know (metadata and
    /// ID3 tags appended by some tools are shaped otherwise) and at a
    /// size below a chunk header's 10 bytes (a live writer's DATA chunk).
    /// A file ending inside a known chunk's header is cut; one walked to
    /// its end must have a DATA chunk.
    fn realmedia(&self) -> Result<(), MediaError> {
        const CHUNKS: [&[u8; 4]; 6] = [b".RMF", b"PROP", b"MDPR", b"CONT", b"DATA", b"INDX"];
        let c = self.c;
        let mut at = 0;
        let mut data = false;
        while at < c.len() {
            let (Some(id), Some(size)) = (c.get(at..at + 4), be32(c, at + 4)) else {
                // Too short for a chunk header: a known chunk's cut
                // short, or a few bytes of something else.
                let rest = &c[at..c.len().min(at + 4)];
                if CHUNKS.iter().any(|k| k.starts_with(rest)) {
                    return Err(self.cut("chunk header", at, end_of(at, 10)));
                }
                return Ok(());
            };
            if !CHUNKS.iter().any(|k| &k[..] == id) || size < 10 {
                return Ok(());
            }
            data |= id == b"DATA";
            at = self.fits(
                || format!("chunk {}", fourcc(id)),
                at,
                end_of(at, size.into()),
            )?;
        }
        if !data {
            return Err(self.malformed(
                "it has no DATA chunk; a file cut short right after its headers looks like this",
            ));
        }
        Ok(())
    }
}

/// An EBML element's header: its ID, where its data starts, and its size
/// (`None`: unknown).
struct Element {
    id: u32,
    data: usize,
    size: Option<u64>,
}

/// The name of the top-level Matroska elements, the ID of the others.
fn ebml_name(id: u32) -> String {
    let name = match id {
        0x1A45_DFA3 => "EBML header",
        MKV_SEGMENT => "Segment element",
        0x114D_9B74 => "SeekHead element",
        0x1549_A966 => "Info element",
        0x1654_AE6B => "Tracks element",
        0x1F43_B675 => "Cluster element",
        0x1C53_BB6B => "Cues element",
        0x1941_A469 => "Attachments element",
        0x1043_A770 => "Chapters element",
        0x1254_C367 => "Tags element",
        0xEC => "Void element",
        0xBF => "CRC-32 element",
        other => return format!("element 0x{other:X}"),
    };
    name.to_owned()
}

#[cfg(test)]
pub(super) mod tests {
    //! Real-shaped files of each container, built from bytes, and the
    //! walks over them whole, cut and broken.

    use super::*;
    use crate::Media;

    /// An ISO-BMFF box with a 32-bit size.
    fn bx(typ: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let size = u32::try_from(8 + payload.len()).expect("small box");
        [&size.to_be_bytes()[..], typ, payload].concat()
    }

    /// An ISO-BMFF box with a 64-bit `largesize`.
    fn large_bx(typ: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let size = 16 + payload.len() as u64;
        [&1u32.to_be_bytes()[..], typ, &size.to_be_bytes(), payload].concat()
    }

    fn ftyp(brand: &[u8; 4]) -> Vec<u8> {
        bx(b"ftyp", &[&brand[..], b"\0\0\x02\0isomiso2mp41"].concat())
    }

    /// A `moov` with a version-0 `mvhd` (timescale 1000, rate 1.0,
    /// volume 1.0, the identity matrix, next track 1).
    fn moov() -> Vec<u8> {
        let mut mvhd = vec![0u8; 100];
        mvhd[12..16].copy_from_slice(&1000u32.to_be_bytes());
        mvhd[20..24].copy_from_slice(&0x0001_0000u32.to_be_bytes());
        mvhd[24..26].copy_from_slice(&0x0100u16.to_be_bytes());
        for (i, v) in [(36, 0x0001_0000u32), (52, 0x0001_0000), (68, 0x4000_0000)] {
            mvhd[i..i + 4].copy_from_slice(&v.to_be_bytes());
        }
        mvhd[96..100].copy_from_slice(&1u32.to_be_bytes());
        bx(b"moov", &bx(b"mvhd", &mvhd))
    }

    fn payload(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + 3) as u8).collect()
    }

    /// An MP4 of `brand`: `ftyp`, `moov`, an `mdat` of `n` bytes.
    pub(in crate::media) fn mp4(brand: &[u8; 4], n: usize) -> Vec<u8> {
        [ftyp(brand), moov(), bx(b"mdat", &payload(n))].concat()
    }

    /// A RIFF chunk (padded to even), and a `LIST` of chunks.
    fn chunk(id: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let size = u32::try_from(data.len()).expect("small chunk");
        let mut c = [&id[..], &size.to_le_bytes(), data].concat();
        if data.len() % 2 == 1 {
            c.push(0);
        }
        c
    }

    fn list(typ: &[u8; 4], chunks: &[Vec<u8>]) -> Vec<u8> {
        chunk(b"LIST", &[&typ[..], &chunks.concat()].concat())
    }

    fn riff(form: &[u8; 4], chunks: &[Vec<u8>]) -> Vec<u8> {
        chunk(b"RIFF", &[&form[..], &chunks.concat()].concat())
    }

    /// The first RIFF chunk of an AVI: headers, frames, an index.
    fn avi_riff() -> Vec<u8> {
        riff(
            b"AVI ",
            &[
                list(
                    b"hdrl",
                    &[
                        chunk(b"avih", &[0; 56]),
                        list(b"strl", &[chunk(b"strh", &[0; 56])]),
                    ],
                ),
                list(
                    b"movi",
                    &[chunk(b"00dc", &payload(101)), chunk(b"00dc", &payload(60))],
                ),
                chunk(b"idx1", &[0; 32]),
            ],
        )
    }

    /// An EBML element with an 8-byte size (`None`: unknown).
    fn el(id: &[u8], size: Option<u64>, data: &[u8]) -> Vec<u8> {
        let size = size.map_or(0x01FF_FFFF_FFFF_FFFF, |s| s | 1 << 56);
        [id, &size.to_be_bytes(), data].concat()
    }

    fn el_known(id: &[u8], data: &[u8]) -> Vec<u8> {
        el(id, Some(data.len() as u64), data)
    }

    fn ebml_header() -> Vec<u8> {
        // EBMLVersion 1, DocType "matroska" (1-byte sizes).
        el_known(b"\x1A\x45\xDF\xA3", b"\x42\x86\x81\x01\x42\x82\x88matroska")
    }

    /// A Segment's children: Info, Tracks, a Cluster with one block.
    fn segment_children() -> Vec<u8> {
        [
            el_known(b"\x15\x49\xA9\x66", b"\x2A\xD7\xB1\x83\x0F\x42\x40"),
            el_known(b"\x16\x54\xAE\x6B", b"\xAE\x83\xD7\x81\x01"),
            el_known(
                b"\x1F\x43\xB6\x75",
                &[&b"\xE7\x81\x00\xA3\xC0\x64"[..], &payload(100)].concat(),
            ),
        ]
        .concat()
    }

    fn mkv() -> Vec<u8> {
        [
            ebml_header(),
            el_known(b"\x18\x53\x80\x67", &segment_children()),
        ]
        .concat()
    }

    /// An FLV tag of `typ` with `n` bytes of data and its trailing size.
    fn flv_tag(typ: u8, n: usize) -> Vec<u8> {
        let size = u32::try_from(n).expect("small tag").to_be_bytes();
        let whole = u32::try_from(11 + n).expect("small tag").to_be_bytes();
        [&[typ][..], &size[1..], &[0; 7], &payload(n), &whole].concat()
    }

    fn flv() -> Vec<u8> {
        [
            &b"FLV\x01\x05\0\0\0\x09\0\0\0\0"[..],
            &flv_tag(18, 30),
            &flv_tag(9, 80),
            &flv_tag(8, 40),
            &flv_tag(9, 60),
        ]
        .concat()
    }

    /// An ASF object: GUID, 64-bit size, data.
    fn asf_object(guid: &[u8; 16], data: &[u8]) -> Vec<u8> {
        let size = 24 + data.len() as u64;
        [&guid[..], &size.to_le_bytes(), data].concat()
    }

    fn wmv() -> Vec<u8> {
        // One child (a File Properties-like object), reserved bytes 1, 2.
        let header = [
            &1u32.to_le_bytes()[..],
            b"\x01\x02",
            &asf_object(&[0x8C; 16], &[0; 80]),
        ]
        .concat();
        let data = [
            &[0x11; 16][..],
            &3u64.to_le_bytes(),
            b"\x01\x01",
            &payload(150),
        ]
        .concat();
        [
            asf_object(&super::super::kind::ASF_HEADER_GUID, &header),
            asf_object(&ASF_DATA_GUID, &data),
            asf_object(&[0x90; 16], &[0; 20]),
        ]
        .concat()
    }

    /// A RealMedia chunk: ID, size of the whole chunk, version 0, data.
    fn rm_chunk(id: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let size = u32::try_from(10 + data.len()).expect("small chunk");
        [&id[..], &size.to_be_bytes(), b"\0\0", data].concat()
    }

    fn rmvb() -> Vec<u8> {
        [
            rm_chunk(b".RMF", &[0, 0, 0, 0, 0, 0, 0, 4]),
            rm_chunk(b"PROP", &[0; 40]),
            rm_chunk(b"MDPR", &[0; 40]),
            rm_chunk(b"CONT", &[0; 8]),
            rm_chunk(
                b"DATA",
                &[&[0, 0, 0, 2, 0, 0, 0, 0][..], &payload(150)].concat(),
            ),
            rm_chunk(b"INDX", &[0; 10]),
        ]
        .concat()
    }

    /// A whole, real-shaped file of each video kind (MPEG: its magic and
    /// padding, as it is not walked).
    pub(in crate::media) fn whole(kind: MediaKind) -> Vec<u8> {
        match kind {
            MediaKind::Mp4 => mp4(b"isom", 40),
            MediaKind::Mov => mp4(b"qt  ", 40),
            MediaKind::M4v => mp4(b"M4V ", 40),
            MediaKind::F4v => mp4(b"F4V ", 40),
            MediaKind::Avi => avi_riff(),
            MediaKind::Wmv => wmv(),
            MediaKind::Mpeg => [&b"\0\0\x01\xBA\x44\0\x04\0"[..], &[0; 56]].concat(),
            MediaKind::Mkv => mkv(),
            MediaKind::Flv => flv(),
            MediaKind::Rmvb => rmvb(),
            _ => unreachable!("not a video: {kind}"),
        }
    }

    fn video(ext: &str, content: &[u8]) -> Result<Media, MediaError> {
        Media::video(format!("clip.{ext}"), content.to_vec())
    }

    /// The refusal of `content` as `ext`, which must be a cut: its part
    /// and where it starts.
    fn cut_part(ext: &str, content: &[u8]) -> (String, u64) {
        match video(ext, content) {
            Err(MediaError::VideoCutShort {
                part,
                at,
                declared_end,
                len,
                ..
            }) => {
                assert_eq!(len, content.len() as u64);
                assert!(
                    at <= len && declared_end > len,
                    "{part} {at} {declared_end}"
                );
                (part, at)
            }
            other => panic!("{ext} of {} bytes: {other:?}", content.len()),
        }
    }

    fn malformed(ext: &str, content: &[u8]) -> String {
        match video(ext, content) {
            Err(MediaError::MalformedVideo { reason, .. }) => reason,
            other => panic!("{ext} of {} bytes: {other:?}", content.len()),
        }
    }

    /// Each sample, its extension, the magic's length (below which a cut
    /// is not even sniffed), and the cuts that fall on a boundary and
    /// leave a whole file.
    fn samples() -> Vec<(&'static str, Vec<u8>, usize, Vec<usize>)> {
        let sim = include_bytes!("../../../wxmedia-sim/samples/sample.mp4").to_vec();
        let flv = flv();
        // After each tag's trailing size.
        let mut tags = vec![13];
        for n in [30, 80, 40] {
            tags.push(tags.last().unwrap() + 15 + n);
        }
        let avi_end = avi_riff().len();
        let mkv_end = mkv().len();
        let wmv_len = wmv().len();
        let rm_len = rmvb().len();
        vec![
            // ftyp 0..28, moov 28..144, mdat 144..168: whole up to moov.
            ("mp4", sim, 12, vec![144]),
            ("mov", whole(MediaKind::Mov), 12, vec![144]),
            ("avi", avi_riff(), 12, vec![]),
            ("mkv", mkv(), 4, vec![]),
            ("flv", flv, 3, tags),
            // The index after the Data Object is not walked.
            ("wmv", wmv(), 16, (wmv_len - 44..wmv_len).collect()),
            // INDX cut away whole.
            ("rmvb", rmvb(), 4, vec![rm_len - 20]),
        ]
        .into_iter()
        .inspect(|(ext, c, ..)| match *ext {
            "avi" => assert_eq!(c.len(), avi_end),
            "mkv" => assert_eq!(c.len(), mkv_end),
            _ => {}
        })
        .collect()
    }

    #[test]
    fn the_samples_are_whole() {
        for (ext, content, ..) in samples() {
            let m = video(ext, &content).unwrap();
            assert_eq!(m.kind().extension(), ext);
        }
        for kind in [MediaKind::M4v, MediaKind::F4v, MediaKind::Mpeg] {
            assert!(video(kind.extension(), &whole(kind)).is_ok(), "{kind}");
        }
        assert_eq!(
            crate::MediaKind::sniff(include_bytes!("../../../wxmedia-sim/samples/sample.mp4")),
            Some(MediaKind::Mp4)
        );
    }

    #[test]
    fn every_cut_of_every_sample_is_refused_unless_on_a_boundary() {
        for (ext, content, magic, boundaries) in samples() {
            for n in 0..content.len() {
                let got = video(ext, &content[..n]);
                match got {
                    Ok(_) => assert!(boundaries.contains(&n), "{ext} cut to {n} accepted"),
                    Err(MediaError::Empty) => assert_eq!(n, 0),
                    Err(MediaError::UnknownVideoContent) => assert!(n < magic, "{ext} {n}"),
                    Err(MediaError::VideoCutShort {
                        len, declared_end, ..
                    }) => {
                        assert!(!boundaries.contains(&n), "{ext} cut to {n}");
                        assert_eq!(len, n as u64);
                        assert!(declared_end > len);
                    }
                    // A cut between whole boxes that leaves no moov, or
                    // before RealMedia's DATA chunk.
                    Err(MediaError::MalformedVideo { reason, .. }) => {
                        assert!(reason.contains("cut short"), "{ext} {n}: {reason}");
                    }
                    Err(e) => panic!("{ext} cut to {n}: {e}"),
                }
            }
        }
    }

    #[test]
    fn cuts_name_the_part_that_runs_past_the_end() {
        let at = |c: &[u8], pct: usize| c.len() * pct / 100;
        let sim = include_bytes!("../../../wxmedia-sim/samples/sample.mp4");
        for (pct, part, start) in [
            (10, "box 'ftyp'", 0),
            (50, "box 'moov'", 28),
            (60, "box 'moov'", 28),
            (90, "box header", 144),
            (95, "box 'mdat'", 144),
            (100, "box 'mdat'", 144),
        ] {
            let n = at(sim, pct).min(sim.len() - 1);
            assert_eq!(
                cut_part("mp4", &sim[..n]),
                (part.to_owned(), start),
                "{pct}%"
            );
        }
        let a = avi_riff();
        // hdrl is 12..164, movi 164..354, idx1 354..394.
        assert_eq!(cut_part("avi", &a[..at(&a, 10)]).0, "chunk 'LIST' 'hdrl'");
        assert_eq!(cut_part("avi", &a[..at(&a, 60)]).0, "chunk 'LIST' 'movi'");
        assert_eq!(
            cut_part("avi", &a[..a.len() - 1]),
            ("chunk 'idx1'".into(), 354)
        );
        assert_eq!(
            cut_part("avi", &a[..a.len() - 40]),
            ("RIFF 'AVI '".into(), 0)
        );
        let m = mkv();
        assert_eq!(cut_part("mkv", &m[..20]), ("EBML header".into(), 0));
        assert_eq!(cut_part("mkv", &m[..at(&m, 60)]).0, "Segment element");
        assert_eq!(cut_part("mkv", &m[..m.len() - 1]).0, "Segment element");
        let f = flv();
        assert_eq!(cut_part("flv", &f[..7]).0, "header");
        assert_eq!(cut_part("flv", &f[..11]).0, "first previous-tag-size field");
        assert_eq!(cut_part("flv", &f[..30]), ("script data tag".into(), 13));
        assert_eq!(cut_part("flv", &f[..at(&f, 50)]), ("video tag".into(), 58));
        assert_eq!(
            cut_part("flv", &f[..f.len() - 1]),
            ("video tag".into(), 208)
        );
        assert_eq!(cut_part("flv", &f[..60]), ("tag header".into(), 58));
        let w = wmv();
        assert_eq!(cut_part("wmv", &w[..20]).0, "Header Object");
        assert_eq!(cut_part("wmv", &w[..at(&w, 10)]).0, "Header Object");
        assert_eq!(cut_part("wmv", &w[..at(&w, 60)]).0, "Data Object");
        assert_eq!(cut_part("wmv", &w[..144]), ("Data Object".into(), 134));
        let r = rmvb();
        assert_eq!(cut_part("rmvb", &r[..at(&r, 90)]).0, "chunk 'DATA'");
        assert_eq!(cut_part("rmvb", &r[..r.len() - 1]).0, "chunk 'INDX'");
    }

    /// A whole MP4 followed by garbage is refused as bytes after its end,
    /// not as a file cut short; a fast-start file (`moov` first) cut in
    /// its `mdat` is still a cut.
    #[test]
    fn item12_bytes_after_a_whole_mp4_are_named_as_such() {
        let clip = mp4(b"isom", 4096);
        for garbage in [
            &[0xFF; 64][..],
            b"hello, this text was appended",
            &[0; 8],
            &[0, 0, 0, 9, b'x'],
        ] {
            let file = [&clip[..], garbage].concat();
            let err = video("mp4", &file).unwrap_err().to_string();
            assert!(err.contains("follow the end of the file"), "{err}");
            assert!(
                !err.contains("cut short") && !err.contains("completely"),
                "{err}"
            );
        }
        let fast_start = [ftyp(b"isom"), moov(), bx(b"mdat", &payload(4096))].concat();
        let err = video("mp4", &fast_start[..fast_start.len() - 100]).unwrap_err();
        assert!(err.to_string().contains("cut short"), "{err}");
        assert!(video("mp4", &clip).is_ok());
    }

    #[test]
    fn the_message_says_where_and_how_much() {
        let clip = mp4(b"isom", 5 * 1024 * 1024);
        let err = video("mp4", &clip[..3 * 1024 * 1024]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "media looks cut short: the MP4 box 'mdat' at byte 144 declares its end at byte 5243032 \
             but the file is 3145728 bytes (was the file copied or downloaded completely?)"
        );
        assert!(crate::Error::from(err).is_input_error());
        let err = video("mov", &[ftyp(b"qt  "), bx(b"mdat", &[1; 9])].concat()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("media is not a well-formed MOV file: {NO_MOOV}")
        );
        assert!(crate::Error::from(err).is_input_error());
    }

    #[test]
    fn a_five_mib_mp4_is_accepted() {
        let clip = mp4(b"mp42", 5 * 1024 * 1024);
        assert_eq!(video("mp4", &clip).unwrap().len(), clip.len());
        // The walk reads three box headers, whatever the size.
        assert!(check(MediaKind::Mp4, &clip).is_ok());
    }

    #[test]
    fn moov_may_follow_mdat_but_must_be_there() {
        let late = [
            ftyp(b"isom"),
            bx(b"free", &[]),
            bx(b"mdat", &payload(200)),
            moov(),
        ]
        .concat();
        assert!(video("mp4", &late).is_ok());
        assert_eq!(
            cut_part("mp4", &late[..late.len() - 1]),
            ("box 'moov'".into(), 244)
        );
        assert!(malformed("mp4", &late[..244]).contains("no 'moov'"));
        let none = [ftyp(b"isom"), bx(b"free", &[]), bx(b"mdat", &payload(20))].concat();
        assert!(malformed("mp4", &none).contains("no 'moov'"));
    }

    #[test]
    fn ftyp_must_come_first_and_hold_its_brand() {
        let late = [bx(b"free", &[]), ftyp(b"isom"), moov()].concat();
        // Not even sniffed as a video; the walk says why, too.
        assert_eq!(
            video("mp4", &late).unwrap_err(),
            MediaError::UnknownVideoContent
        );
        assert_eq!(
            check(MediaKind::Mp4, &late).unwrap_err(),
            MediaError::MalformedVideo {
                kind: MediaKind::Mp4,
                reason: "the first box is 'free', not 'ftyp'".into()
            }
        );
        let short = [&b"\0\0\0\x0Cftyp"[..], &bx(b"isom", &[]), &moov()].concat();
        assert!(malformed("mp4", &short).contains("too short for its brand"));
    }

    #[test]
    fn large_and_to_the_end_sizes_are_followed() {
        let large = [ftyp(b"isom"), moov(), large_bx(b"mdat", &payload(100))].concat();
        assert!(video("mp4", &large).is_ok());
        assert_eq!(
            cut_part("mp4", &large[..large.len() - 1]),
            ("box 'mdat'".into(), 144)
        );
        // Cut inside the 64-bit size itself.
        assert_eq!(
            cut_part("mp4", &large[..155]),
            ("box 'mdat' (its 64-bit size)".into(), 144)
        );
        // Size 0: to the end of the file, so any cut past its header is
        // whole, and a cut in its header is not.
        let mut to_end = [ftyp(b"isom"), moov(), bx(b"mdat", &payload(100))].concat();
        to_end[144..148].copy_from_slice(&[0; 4]);
        for n in [152, 200, to_end.len()] {
            assert!(video("mp4", &to_end[..n]).is_ok(), "{n}");
        }
        assert_eq!(cut_part("mp4", &to_end[..150]), ("box header".into(), 144));
        // A size-0 box before the moov leaves none.
        let mut hides = [ftyp(b"isom"), bx(b"mdat", &payload(10)), moov()].concat();
        hides[28..32].copy_from_slice(&[0; 4]);
        assert!(malformed("mp4", &hides).contains("no 'moov'"));
    }

    #[test]
    fn sizes_below_the_header_are_malformed() {
        for size in [2u32, 7] {
            let mut c = [ftyp(b"isom"), moov(), bx(b"free", &[0; 8])].concat();
            c[144..148].copy_from_slice(&size.to_be_bytes());
            let reason = malformed("mp4", &c);
            assert!(
                reason.contains(&format!("size of {size} bytes")),
                "{reason}"
            );
        }
        let mut c = [ftyp(b"isom"), moov(), large_bx(b"mdat", &[0; 8])].concat();
        c[152..160].copy_from_slice(&15u64.to_be_bytes());
        assert!(malformed("mp4", &c).contains("less than its 16-byte header"));
    }

    #[test]
    fn huge_declared_sizes_are_cuts_not_overflows() {
        let mut iso = [ftyp(b"isom"), moov(), large_bx(b"mdat", &[0; 8])].concat();
        iso[152..160].copy_from_slice(&u64::MAX.to_be_bytes());
        match video("mp4", &iso).unwrap_err() {
            MediaError::VideoCutShort { declared_end, .. } => assert_eq!(declared_end, u64::MAX),
            e => panic!("{e}"),
        }
        let mut asf = wmv();
        asf[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(cut_part("wmv", &asf).0, "Header Object");
        let mut asf = wmv();
        asf[134 + 16..134 + 24].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(cut_part("wmv", &asf).0, "Data Object");
        let mut avi = avi_riff();
        avi[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(cut_part("avi", &avi).0, "RIFF 'AVI '");
        avi[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(cut_part("avi", &avi).0, "chunk 'LIST' 'hdrl'");
        let mut m = mkv();
        let seg = ebml_header().len();
        m[seg + 4..seg + 12].copy_from_slice(&0x01FF_FFFF_FFFF_FFFEu64.to_be_bytes());
        assert_eq!(cut_part("mkv", &m).0, "Segment element");
        let mut f = flv();
        f[14..17].copy_from_slice(&[0xFF; 3]);
        assert_eq!(cut_part("flv", &f).0, "script data tag");
        let mut r = rmvb();
        r[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(cut_part("rmvb", &r).0, "chunk '.RMF'");
    }

    #[test]
    fn names_from_the_file_are_escaped() {
        assert_eq!(fourcc(b"mdat"), "'mdat'");
        assert_eq!(fourcc(b"\x1B[2J"), "'\\x1b[2J'");
        assert_eq!(fourcc(b"\xA9nam"), "'\\xa9nam'");
        assert_eq!(fourcc(b"a'\\\n"), "'a\\x27\\x5c\\x0a'");
        // Before `moov`: after a whole file, bytes that begin no known box
        // are named as appended, without their type.
        let mut c = [ftyp(b"isom"), bx(b"\x1B]0;", &payload(30)), moov()].concat();
        c.truncate(c.len() - moov().len() - 1);
        let msg = video("mp4", &c).unwrap_err().to_string();
        assert!(msg.contains("box '\\x1b]0;'"), "{msg}");
        assert!(!msg.chars().any(char::is_control), "{msg}");
    }

    #[test]
    fn avi_follows_its_avix_chunks_and_accepts_padding_after() {
        let avix = riff(b"AVIX", &[list(b"movi", &[chunk(b"00dc", &payload(40))])]);
        let two = [avi_riff(), avix.clone(), avix].concat();
        assert!(video("avi", &two).is_ok());
        let first = avi_riff().len();
        for n in [first + 6, first + 30, two.len() - 1] {
            let (part, at) = cut_part("avi", &two[..n]);
            assert!(at as usize >= first, "{n}: {part} at {at}");
        }
        assert_eq!(cut_part("avi", &two[..first + 6]).0, "RIFF header");
        // Bytes after the last RIFF chunk, or a RIFF chunk of another
        // form, are not walked.
        for tail in [&[0u8; 5][..], b"RIFF\x04\0\0\0WAVE", b"junk after"] {
            assert!(video("avi", &[&avi_riff()[..], tail].concat()).is_ok());
        }
        // A chunk past its RIFF chunk's end but within the file.
        let mut a = [avi_riff(), vec![0; 64]].concat();
        a[4..8].copy_from_slice(&100u32.to_le_bytes());
        assert!(malformed("avi", &a).contains("past the end of its RIFF 'AVI '"));
        a[4..8].copy_from_slice(&3u32.to_le_bytes());
        assert!(malformed("avi", &a).contains("too few for its form type"));
    }

    #[test]
    fn mkv_skips_void_and_walks_an_unknown_size_segment() {
        let void = el_known(b"\xEC", &[0; 10]);
        let spaced = [
            ebml_header(),
            void,
            el_known(b"\x18\x53\x80\x67", &segment_children()),
        ]
        .concat();
        assert!(video("mkv", &spaced).is_ok());
        // Bytes after a Segment of known size are not walked.
        assert!(video("mkv", &[mkv(), vec![0; 9]].concat()).is_ok());
        let live = [
            ebml_header(),
            el(b"\x18\x53\x80\x67", None, &segment_children()),
        ]
        .concat();
        assert!(video("mkv", &live).is_ok());
        let (part, _) = cut_part("mkv", &live[..live.len() - 1]);
        assert_eq!(part, "Cluster element");
        assert_eq!(
            cut_part("mkv", &live[..live.len() - 114]).0,
            "element header"
        );
        // A Cluster of unknown size ends what can be judged.
        let children = segment_children();
        let clusters = [
            &children[..children.len() - 118],
            &el(b"\x1F\x43\xB6\x75", None, &payload(100)),
        ]
        .concat();
        let live = [ebml_header(), el(b"\x18\x53\x80\x67", None, &clusters)].concat();
        assert!(video("mkv", &live[..live.len() - 50]).is_ok());
        // The header alone: the Segment is missing.
        assert_eq!(cut_part("mkv", &ebml_header()).0, "Segment element header");
    }

    #[test]
    fn mkv_structure_errors_are_malformed() {
        let not_segment = [ebml_header(), el_known(b"\x15\x49\xA9\x66", &[])].concat();
        assert!(malformed("mkv", &not_segment).contains("is Info element, not the Segment"));
        let unknown_header = el(b"\x1A\x45\xDF\xA3", None, b"\x42\x86\x81\x01");
        assert!(malformed("mkv", &unknown_header).contains("unknown size"));
        let zero_size_byte = b"\x1A\x45\xDF\xA3\x00\x01";
        assert!(malformed("mkv", zero_size_byte).contains("longer than 8 bytes"));
        let bad_id = [ebml_header(), vec![0x00, 0x81, 0x00]].concat();
        assert!(malformed("mkv", &bad_id).contains("not a valid element ID"));
    }

    #[test]
    fn flv_header_and_tail_are_checked() {
        let mut f = flv();
        f[8] = 8;
        assert!(malformed("flv", &f).contains("less than its 9"));
        // Only the header and PreviousTagSize0: whole, if empty.
        assert!(video("flv", &flv()[..13]).is_ok());
        // A header of 12 bytes (three reserved) is followed.
        let wide = [&b"FLV\x01\x05\0\0\0\x0C\0\0\0\0\0\0\0"[..], &flv_tag(9, 5)].concat();
        assert!(video("flv", &wide).is_ok());
        // Bytes after the last tag are a tag header cut short.
        assert_eq!(
            cut_part("flv", &[flv(), vec![0; 3]].concat()).0,
            "tag header"
        );
        assert_eq!(
            cut_part("flv", &[flv(), vec![7; 20]].concat()).0,
            "tag of type 7"
        );
    }

    #[test]
    fn wmv_needs_its_data_object() {
        let w = wmv();
        let mut small = w.clone();
        small[16..24].copy_from_slice(&29u64.to_le_bytes());
        assert!(malformed("wmv", &small).contains("less than its 30-byte header"));
        let mut other = w.clone();
        other[134] = 0;
        assert!(malformed("wmv", &other).contains("not followed by the Data Object"));
        let mut unknown = w.clone();
        unknown[150..158].copy_from_slice(&0u64.to_le_bytes());
        assert!(video("wmv", &unknown[..200]).is_ok());
        let mut tiny = w;
        tiny[150..158].copy_from_slice(&49u64.to_le_bytes());
        assert!(malformed("wmv", &tiny).contains("less than its 50-byte header"));
        // The header alone.
        assert_eq!(cut_part("wmv", &wmv()[..134]), ("Data Object".into(), 134));
    }

    #[test]
    fn realmedia_walks_the_chunks_it_knows() {
        let r = rmvb();
        // Metadata or an ID3 tag appended, a live DATA chunk of size 0.
        for tail in [&b"RMMD\xFF\xFF\xFF\xFFxx"[..], b"TAGtitle of the song"] {
            assert!(video("rmvb", &[&r[..], tail].concat()).is_ok());
        }
        let mut live = r.clone();
        let data = live.len() - 20 - 168;
        live[data + 4..data + 8].copy_from_slice(&0u32.to_be_bytes());
        assert!(video("rmvb", &live[..data + 40]).is_ok());
        assert!(malformed("rmvb", &r[..data]).contains("no DATA chunk"));
    }
}
