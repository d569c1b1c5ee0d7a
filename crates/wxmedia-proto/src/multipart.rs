//! Multipart framing shared by both API generations: the boundary, the segmented body, and the part writer.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use crate::Error;

/// A multipart boundary: 1 to 70 characters of `[0-9A-Za-z-]`, which is
/// what the server accepts unquoted.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Boundary(String);

impl Boundary {
    /// Validate a boundary.
    pub fn new(boundary: impl Into<String>) -> Result<Boundary, Error> {
        let b = boundary.into();
        if b.is_empty() || b.len() > 70 {
            return Err(Error::input("boundary", "must be 1 to 70 characters"));
        }
        if !b.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') {
            return Err(Error::input("boundary", "may only contain [0-9A-Za-z-]"));
        }
        Ok(Boundary(b))
    }

    /// A boundary made from 16 random bytes the caller supplies (the core
    /// has no randomness of its own): `wxmedia-` and 32 hex digits.
    pub fn from_random(random: [u8; 16]) -> Boundary {
        Boundary(format!("wxmedia-{}", crate::hex::encode(&random, false)))
    }

    /// The boundary text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `Content-Type` header value of a body framed with it.
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.0)
    }
}

impl fmt::Debug for Boundary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Boundary({})", self.0)
    }
}

/// A request body as an ordered list of byte segments: the multipart head,
/// the caller's media (shared, never copied), and the closing delimiter.
/// Transports write the segments in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Body {
    segments: Vec<Bytes>,
}

impl Body {
    /// A body of these segments, in order.
    pub fn from_segments(segments: Vec<Bytes>) -> Body {
        Body { segments }
    }

    /// The segments, in order.
    pub fn segments(&self) -> &[Bytes] {
        &self.segments
    }

    /// Take the segments.
    pub fn into_segments(self) -> Vec<Bytes> {
        self.segments
    }

    /// Total length in bytes (the `Content-Length`).
    pub fn len(&self) -> usize {
        self.segments.iter().map(Bytes::len).sum()
    }

    /// Whether the body has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The whole body in one buffer. This copies the media: for tests and
    /// for transports that cannot write segments.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.len());
        for s in &self.segments {
            out.put_slice(s);
        }
        out.freeze()
    }
}

/// Writes a multipart body whose file part is the caller's buffer, shared:
/// text parts and the file part's headers go into one head segment, the
/// file is its own segment, and the closing delimiter is the last.
///
/// ```
/// use bytes::Bytes;
/// use wxmedia_proto::multipart::{Boundary, PartWriter};
///
/// let b = Boundary::new("B")?;
/// let file = Bytes::from_static(b"\xFF\xD8");
/// let mut w = PartWriter::new(&b, &file)?;
/// w.text("a", "1");
/// let body = w.finish("f", "x.jpg", "image/jpeg", file.clone());
/// assert_eq!(
///     body.to_bytes(),
///     Bytes::from_static(
///         b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n\
///           --B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.jpg\"\r\n\
///           Content-Type: image/jpeg\r\n\r\n\xFF\xD8\r\n--B--\r\n"
///     )
/// );
/// assert!(std::ptr::eq(body.segments()[1].as_ptr(), file.as_ptr()), "shared, not copied");
/// # Ok::<(), wxmedia_proto::Error>(())
/// ```
#[derive(Debug)]
pub struct PartWriter<'a> {
    boundary: &'a str,
    head: BytesMut,
}

impl<'a> PartWriter<'a> {
    /// Start a body. Fails with [`Error::BoundaryInMedia`] when the
    /// boundary's delimiter occurs in `file`: the framing would be ambiguous.
    pub fn new(boundary: &'a Boundary, file: &[u8]) -> Result<PartWriter<'a>, Error> {
        let boundary = boundary.as_str();
        let mut delimiter = Vec::with_capacity(boundary.len() + 2);
        delimiter.extend_from_slice(b"--");
        delimiter.extend_from_slice(boundary.as_bytes());
        if memchr::memmem::find(file, &delimiter).is_some() {
            return Err(Error::BoundaryInMedia);
        }
        Ok(PartWriter {
            boundary,
            head: BytesMut::with_capacity(512),
        })
    }

    /// A text part: `Content-Disposition: form-data; name="<name>"`, then
    /// the value. Names and values are the caller's, validated upstream.
    pub fn text(&mut self, name: &str, value: &str) {
        self.put(&["--", self.boundary, "\r\n"]);
        self.put(&[
            "Content-Disposition: form-data; name=\"",
            name,
            "\"\r\n\r\n",
            value,
            "\r\n",
        ]);
    }

    /// A part with its own content type and no file name (v3's JSON
    /// `meta`). Returns the value's bytes as written, which is what v3
    /// signs.
    pub fn typed(&mut self, name: &str, content_type: &str, value: &[u8]) -> Bytes {
        self.put(&["--", self.boundary, "\r\n"]);
        self.put(&[
            "Content-Disposition: form-data; name=\"",
            name,
            "\"\r\nContent-Type: ",
            content_type,
            "\r\n\r\n",
        ]);
        let start = self.head.len();
        self.head.put_slice(value);
        self.head.put_slice(b"\r\n");
        Bytes::copy_from_slice(&self.head[start..start + value.len()])
    }

    /// The file part's headers, the file itself (shared), and the closing
    /// delimiter.
    pub fn finish(mut self, name: &str, filename: &str, content_type: &str, file: Bytes) -> Body {
        self.put(&["--", self.boundary, "\r\n"]);
        self.put(&[
            "Content-Disposition: form-data; name=\"",
            name,
            "\"; filename=\"",
            filename,
            "\"\r\nContent-Type: ",
            content_type,
            "\r\n\r\n",
        ]);
        let mut tail = BytesMut::with_capacity(self.boundary.len() + 8);
        for p in ["\r\n--", self.boundary, "--\r\n"] {
            tail.put_slice(p.as_bytes());
        }
        Body {
            segments: vec![self.head.freeze(), file, tail.freeze()],
        }
    }

    fn put(&mut self, parts: &[&str]) {
        for p in parts {
            self.head.put_slice(p.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_part_has_no_filename_and_returns_exactly_its_value() {
        let b = Boundary::new("B").unwrap();
        let file = Bytes::from_static(b"FILE");
        let mut w = PartWriter::new(&b, &file).unwrap();
        let meta = w.typed("meta", "application/json", br#"{"a":1}"#);
        assert_eq!(meta, Bytes::from_static(br#"{"a":1}"#));
        let body = w.finish("file", "x.jpg", "image/jpeg", file);
        assert_eq!(
            body.to_bytes(),
            Bytes::from_static(
                b"--B\r\nContent-Disposition: form-data; name=\"meta\"\r\n\
                  Content-Type: application/json\r\n\r\n{\"a\":1}\r\n\
                  --B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.jpg\"\r\n\
                  Content-Type: image/jpeg\r\n\r\nFILE\r\n--B--\r\n"
            )
        );
        assert_eq!(body.len(), body.to_bytes().len());
    }

    #[test]
    fn a_boundary_inside_the_file_is_refused() {
        let b = Boundary::new("B").unwrap();
        assert!(matches!(
            PartWriter::new(&b, b"xx\r\n--B--"),
            Err(Error::BoundaryInMedia)
        ));
        assert!(PartWriter::new(&b, b"xx-B").is_ok());
    }
}
