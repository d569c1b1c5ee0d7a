//! The multipart layer shared by every endpoint: boundary from the headers, parts from the body, what each part looked like.
//!
//! It reports what it saw (a quoted boundary, an RFC 2231 file name) and
//! leaves the verdict to the endpoint module, because v2 and v3 are not
//! equally strict about the same framing.

use bytes::Bytes;
use futures_util::stream;
use http::{HeaderMap, header};

/// The most parts a form may have. The real uploads have at most five
/// (v2: `mch_id`, `media_hash`, `sign_type`, `sign`, `media`; v3: `meta`
/// and `file`), so 32 leaves room for clients that send extra fields while
/// bounding what one request costs: parsing stops at the 33rd part, so a
/// body of a hundred thousand tiny parts is refused after reading 33.
pub(crate) const MAX_PARTS: usize = 32;

/// One part of a `multipart/form-data` body.
pub(crate) struct Part {
    /// The `name` of its `Content-Disposition`.
    pub(crate) name: String,
    /// The `filename`, if it had one.
    pub(crate) filename: Option<String>,
    /// Whether `Content-Disposition` has a file name parameter at all
    /// (`filename=` or `filename*=`, even an empty one).
    pub(crate) has_filename: bool,
    /// Whether the file name came as RFC 2231 `filename*=`.
    pub(crate) rfc2231_filename: bool,
    /// The part's own `Content-Type`.
    pub(crate) content_type: Option<String>,
    /// Whether its `Content-Disposition` reads one way only (see
    /// [`disposition_is_well_formed`]); true when it has none.
    pub(crate) disposition_well_formed: bool,
    /// The part's bytes.
    pub(crate) data: Bytes,
}

/// Why a body could not be read as a form.
#[derive(Debug)]
pub(crate) enum FormError {
    /// No `Content-Type`, or one that is not text.
    NoContentType,
    /// Not `multipart/form-data` with a boundary.
    NoBoundary,
    /// The boundary is quoted (legal, but refused by WeChat Pay per
    /// community reports).
    QuotedBoundary,
    /// The body does not parse with that boundary.
    Malformed,
    /// More than [`MAX_PARTS`] parts: refused before the rest is read.
    TooManyParts,
}

/// The parts of a form request, checked in the order v2 has always checked
/// them: the header first, then the quoting, then the body.
pub(crate) fn parse_form(headers: &HeaderMap, body: &Bytes) -> Result<Vec<Part>, FormError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .ok_or(FormError::NoContentType)?;
    let boundary = multer::parse_boundary(content_type).map_err(|_| FormError::NoBoundary)?;
    if is_quoted_boundary(content_type) {
        return Err(FormError::QuotedBoundary);
    }
    parse_parts(body.clone(), &boundary)
}

/// The parts of a form request as API v3 reads them: like [`parse_form`],
/// except that `multipart/form-data` without a `boundary` parameter takes
/// the boundary from the body's first line (`--<B>`). The Python SDK
/// wechatpayv3 sends exactly that, and the real server accepts it. v2 keeps
/// [`parse_form`], which refuses such a request.
pub(crate) fn parse_form_lenient(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Vec<Part>, FormError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .ok_or(FormError::NoContentType)?;
    let boundary = match multer::parse_boundary(content_type) {
        Ok(b) => b,
        Err(_) if is_form_data(content_type) && !content_type.contains("boundary=") => {
            boundary_from_body(body).ok_or(FormError::NoBoundary)?
        }
        Err(_) => return Err(FormError::NoBoundary),
    };
    if is_quoted_boundary(content_type) {
        return Err(FormError::QuotedBoundary);
    }
    parse_parts(body.clone(), &boundary)
}

/// Whether the media type (before any parameter) is `multipart/form-data`.
fn is_form_data(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("multipart/form-data"))
}

/// The boundary a body opens with: its first line without the leading
/// `--`, when that is a plausible boundary (RFC 2046: 1 to 70 characters,
/// no trailing space).
fn boundary_from_body(body: &[u8]) -> Option<String> {
    let rest = body.strip_prefix(b"--")?;
    let end = rest.iter().position(|b| *b == b'\r' || *b == b'\n')?;
    let boundary = std::str::from_utf8(&rest[..end]).ok()?;
    let plausible = (1..=70).contains(&boundary.len())
        && !boundary.ends_with(' ')
        && boundary.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
    plausible.then(|| boundary.to_owned())
}

/// Whether the `Content-Type` gives its boundary in quotes.
pub(crate) fn is_quoted_boundary(content_type: &str) -> bool {
    content_type.contains("boundary=\"")
}

/// Every part of `body` split at `boundary`, in order; at most
/// [`MAX_PARTS`] of them.
pub(crate) fn parse_parts(body: Bytes, boundary: &str) -> Result<Vec<Part>, FormError> {
    let mut mp = multer::Multipart::new(
        stream::once(async { Ok::<_, std::io::Error>(body) }),
        boundary,
    );
    // The whole body is already in memory, so every await is ready at once.
    futures_executor::block_on(async {
        let mut parts = Vec::new();
        while let Some(field) = mp.next_field().await.map_err(|_| FormError::Malformed)? {
            if parts.len() == MAX_PARTS {
                return Err(FormError::TooManyParts);
            }
            let name = field.name().unwrap_or_default().to_owned();
            let filename = field.file_name().map(str::to_owned);
            let has_filename = field
                .headers()
                .get(header::CONTENT_DISPOSITION)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("filename"));
            let rfc2231_filename = field
                .headers()
                .get(header::CONTENT_DISPOSITION)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("filename*"));
            let disposition_well_formed = field
                .headers()
                .get(header::CONTENT_DISPOSITION)
                .is_none_or(|v| disposition_is_well_formed(v.as_bytes()));
            let content_type = field.content_type().map(|m| m.to_string());
            let data = field.bytes().await.map_err(|_| FormError::Malformed)?;
            parts.push(Part {
                name,
                filename,
                has_filename,
                rfc2231_filename,
                content_type,
                disposition_well_formed,
                data,
            });
        }
        Ok(parts)
    })
}

/// Whether a `Content-Disposition` value can be read one way only: a
/// disposition type, then `; name=value` parameters, each value a token or
/// a closed quoted string (with `\` escapes) followed by nothing but
/// spaces before the next `;`. A trailing `;` (the Go SDK's) and spaces
/// around `=` are fine.
///
/// multer reads `filename="x".jpg"` as `x` and drops the rest, an unclosed
/// quote as no file name, and `filename=x y.jpg` as `x`; another parser may
/// read `x".jpg`, or refuse. Taking such a header silently would let a
/// client pass the simulator with framing the real service reads its own
/// way, so it is reported here and the endpoint decides.
pub(crate) fn disposition_is_well_formed(value: &[u8]) -> bool {
    let (kind, mut rest) = split_at_semicolon(value);
    if !is_token(kind.trim_ascii()) {
        return false;
    }
    loop {
        let Some(after) = rest.strip_prefix(b";") else {
            return rest.is_empty();
        };
        let param = after.trim_ascii_start();
        if param.is_empty() {
            return true;
        }
        let Some(eq) = param.iter().position(|&b| b == b'=') else {
            return false;
        };
        if !is_token(param[..eq].trim_ascii()) {
            return false;
        }
        let value = param[eq + 1..].trim_ascii_start();
        if let Some(quoted) = value.strip_prefix(b"\"") {
            let Some(close) = closing_quote(quoted) else {
                return false;
            };
            rest = quoted[close + 1..].trim_ascii_start();
        } else {
            let (token, after) = split_at_semicolon(value);
            let token = token.trim_ascii_end();
            // Unquoted: one word. Raw UTF-8 (bytes over 0x7F) is let
            // through, as multer takes it; spaces and quotes are not.
            if token.is_empty() || token.iter().any(|&b| b <= b' ' || b == b'"' || b == 0x7f) {
                return false;
            }
            rest = after;
        }
    }
}

/// `bytes` up to its first `;`, and the rest from that `;` on.
fn split_at_semicolon(bytes: &[u8]) -> (&[u8], &[u8]) {
    let at = bytes.iter().position(|&b| b == b';').unwrap_or(bytes.len());
    bytes.split_at(at)
}

/// Whether `s` is an RFC 9110 token: one or more of the characters a
/// parameter name may have.
fn is_token(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Where the quoted string that `s` continues (its opening quote already
/// taken) ends: the first `"` not escaped by `\`.
fn closing_quote(s: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, content_type.parse().unwrap());
        h
    }

    #[test]
    fn reads_parts_and_reports_framing_it_does_not_judge() {
        let body = Bytes::from_static(
            b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n\
              --B\r\nContent-Disposition: form-data; name=\"f\"; filename*=UTF-8''x.jpg\r\n\
              Content-Type: image/jpeg\r\n\r\nJ\r\n--B--\r\n",
        );
        let parts = parse_form(&headers("multipart/form-data; boundary=B"), &body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(
            (parts[0].name.as_str(), &parts[0].data[..]),
            ("a", &b"1"[..])
        );
        assert!(!parts[0].rfc2231_filename);
        assert!(parts[1].rfc2231_filename);
        assert_eq!(parts[1].content_type.as_deref(), Some("image/jpeg"));
    }

    #[test]
    fn the_lenient_reader_takes_a_missing_boundary_from_the_body() {
        let body = Bytes::from_static(
            b"--0123abc\r\nContent-Disposition: form-data; name=\"meta\";\r\n\r\n{}\r\n--0123abc--\r\n",
        );
        let parts = parse_form_lenient(&headers("multipart/form-data"), &body).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].name, "meta", "the Go SDK's trailing `;` is fine");
        assert!(!parts[0].has_filename);
        // v2 keeps refusing the same request.
        assert!(matches!(
            parse_form(&headers("multipart/form-data"), &body),
            Err(FormError::NoBoundary)
        ));
        // Still strict about quoting and about what is not a form.
        assert!(matches!(
            parse_form_lenient(&headers("multipart/form-data; boundary=\"0123abc\""), &body),
            Err(FormError::QuotedBoundary)
        ));
        assert!(matches!(
            parse_form_lenient(&headers("multipart/form-data"), &Bytes::from_static(b"{}")),
            Err(FormError::NoBoundary)
        ));
        assert!(matches!(
            parse_form_lenient(&headers("application/json"), &body),
            Err(FormError::NoBoundary)
        ));
    }

    #[test]
    fn parsing_stops_after_the_part_limit() {
        let form = |n: usize| {
            let mut body = String::new();
            for i in 0..n {
                body.push_str(&format!(
                    "--B\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\nx\r\n"
                ));
            }
            body.push_str("--B--\r\n");
            Bytes::from(body)
        };
        let h = headers("multipart/form-data; boundary=B");
        assert_eq!(parse_form(&h, &form(MAX_PARTS)).unwrap().len(), MAX_PARTS);
        assert!(matches!(
            parse_form(&h, &form(MAX_PARTS + 1)),
            Err(FormError::TooManyParts)
        ));
        assert!(matches!(
            parse_form_lenient(&h, &form(MAX_PARTS + 1)),
            Err(FormError::TooManyParts)
        ));
    }

    #[test]
    fn a_disposition_must_read_one_way_only() {
        for good in [
            "form-data; name=\"file\"; filename=\"x.jpg\"",
            "form-data; name=\"meta\";",
            "form-data;name=\"file\";filename=\"x.jpg\"",
            "form-data; name = \"file\" ; filename = \"x.jpg\"",
            "form-data; name=file; filename=x.jpg",
            "form-data; name=\"file\"; filename=\"x\\\".jpg\"",
            "form-data; name=\"file\"; filename=\"x;y.jpg\"",
            "form-data; name=\"file\"; filename*=UTF-8''%E5%9B%BE.jpg",
            "form-data; name=\"file\"; filename=\"图.jpg\"",
        ] {
            assert!(disposition_is_well_formed(good.as_bytes()), "{good}");
        }
        for bad in [
            "form-data; name=\"file\"; filename=\"x\".jpg\"",
            "form-data; name=\"file\"; filename=\"x.jpg",
            "form-data; name=\"file\"x; filename=\"x.jpg\"",
            "form-data; name=\"file\"; filename=x y.jpg",
            "form-data; name=\"file\"; filename=",
            "form-data; name=\"file\"; filename",
            "form-data; =\"file\"",
            "form data; name=\"file\"",
            "",
        ] {
            assert!(!disposition_is_well_formed(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn each_framing_fault_has_its_own_error() {
        let body = Bytes::from_static(b"--B\r\n\r\n--B--\r\n");
        assert!(matches!(
            parse_form(&HeaderMap::new(), &body),
            Err(FormError::NoContentType)
        ));
        assert!(matches!(
            parse_form(&headers("multipart/form-data"), &body),
            Err(FormError::NoBoundary)
        ));
        assert!(matches!(
            parse_form(&headers("multipart/form-data; boundary=\"B\""), &body),
            Err(FormError::QuotedBoundary)
        ));
        assert!(matches!(
            parse_form(
                &headers("multipart/form-data; boundary=B"),
                &Bytes::from_static(b"garbage")
            ),
            Err(FormError::Malformed)
        ));
    }
}
