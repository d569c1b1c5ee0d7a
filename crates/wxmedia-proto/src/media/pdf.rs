//! PDF wholeness: an `%%EOF` at the end and a `startxref` before it that points inside the file, so that a PDF cut short is refused as a JPEG without its EOI is.
//!
//! A PDF is read from its end: the last `startxref` gives the offset of
//! the cross-reference section, and `%%EOF` closes the file (an
//! incremental update appends another pair; the last one counts). A copy
//! cut anywhere but after that last line loses `%%EOF`, and a file whose
//! `startxref` points past itself is not one a reader can open. The body
//! is never parsed: objects, streams and encryption are the server's to
//! judge.

use super::walk::WalkError;

/// How far from the end `%%EOF` may sit (trailing whitespace and padding
/// that writers leave; the PDF specification's readers look in the last
/// 1024 bytes).
const TAIL: usize = 1024;

/// Check that `content` (which starts with `%PDF-`) ends as a whole PDF.
pub(crate) fn check(content: &[u8]) -> Result<Option<(u32, u32)>, WalkError> {
    let tail_start = content.len().saturating_sub(TAIL);
    let tail = &content[tail_start..];
    let eof = memchr::memmem::rfind(tail, b"%%EOF").ok_or(WalkError::Truncated)?;
    let before_eof = &tail[..eof];
    let at = memchr::memmem::rfind(before_eof, b"startxref")
        .ok_or(WalkError::Malformed("no startxref before its last %%EOF"))?;
    let number = before_eof[at + b"startxref".len()..]
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(|b| b.is_ascii_digit())
        .try_fold(0u64, |n, &d| {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
        .ok_or(WalkError::Malformed("its startxref offset is too large"))?;
    let startxref_at = (tail_start + at) as u64;
    // The cross-reference section is before the `startxref` line, past
    // the header; 0 is where no writer puts it.
    if number == 0 || number >= startxref_at {
        return Err(WalkError::Malformed(
            "its startxref does not point inside the file",
        ));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal whole PDF: header, one object, xref, trailer.
    fn whole() -> Vec<u8> {
        let mut pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n".to_vec();
        let xref = pdf.len();
        pdf.extend_from_slice(b"xref\n0 2\n0000000000 65535 f \n0000000009 00000 n \n");
        pdf.extend_from_slice(b"trailer << /Size 2 /Root 1 0 R >>\n");
        pdf.extend_from_slice(format!("startxref\n{xref}\n%%EOF\n").as_bytes());
        pdf
    }

    #[test]
    fn a_whole_pdf_passes_and_every_cut_is_refused() {
        let pdf = whole();
        assert_eq!(check(&pdf), Ok(None));
        // Trailing padding after %%EOF is fine.
        let mut padded = pdf.clone();
        padded.extend_from_slice(&[b'\n'; 100]);
        assert_eq!(check(&padded), Ok(None));
        let eof = pdf.len() - b"%%EOF\n".len();
        for cut in (8..eof).step_by(7) {
            assert_eq!(
                check(&pdf[..cut]),
                Err(WalkError::Truncated),
                "cut at {cut}"
            );
        }
    }

    /// `Media::document` takes a whole PDF named `.pdf`, and refuses one
    /// cut short, images, and a PDF under another extension.
    #[test]
    fn documents_are_whole_pdfs_named_pdf() {
        use crate::{Media, MediaError, MediaKind};
        let pdf = whole();
        let media = Media::document("invoice.pdf", pdf.clone()).unwrap();
        assert_eq!(media.kind(), MediaKind::Pdf);
        assert_eq!(media.kind().content_type(), "application/pdf");
        assert_eq!(
            Media::document("invoice.pdf", pdf[..pdf.len() - 10].to_vec()).unwrap_err(),
            MediaError::Truncated {
                kind: MediaKind::Pdf
            }
        );
        let jpeg = include_bytes!("../../../wxmedia-sim/samples/sample.jpg");
        assert_eq!(
            Media::document("a.jpg", &jpeg[..]).unwrap_err(),
            MediaError::UnsupportedDocumentExtension { ext: "jpg".into() }
        );
        assert_eq!(
            Media::document("a.pdf", &jpeg[..]).unwrap_err(),
            MediaError::UnknownDocumentContent
        );
        // An image upload does not take a PDF.
        assert!(Media::new("invoice.pdf", pdf).is_err());
        // SM3 of the content, as the fapiao meta carries it.
        assert_eq!(
            Media::document(
                "x.pdf",
                include_bytes!("../../../wxmedia-sim/samples/sample.pdf").to_vec()
            )
            .unwrap()
            .sm3_hex(),
            "831e82f149bc608a8e04e5d27e10039e30b6a53117b2f25ed0cd62bd399bd393"
        );
    }

    #[test]
    fn a_startxref_outside_the_file_or_missing_is_malformed() {
        let outside = b"%PDF-1.4\nxref\ntrailer<<>>\nstartxref\n999999\n%%EOF\n";
        assert!(matches!(check(outside), Err(WalkError::Malformed(_))));
        let zero = b"%PDF-1.4\nxref\ntrailer<<>>\nstartxref\n0\n%%EOF\n";
        assert!(matches!(check(zero), Err(WalkError::Malformed(_))));
        let none = b"%PDF-1.4\nxref\ntrailer<<>>\n%%EOF\n";
        assert!(matches!(check(none), Err(WalkError::Malformed(_))));
        let huge = b"%PDF-1.4\nstartxref\n99999999999999999999999\n%%EOF";
        assert!(matches!(check(huge), Err(WalkError::Malformed(_))));
    }
}
