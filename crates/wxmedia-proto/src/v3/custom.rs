//! An endpoint described at run time: [`CustomApi`], any v3 path of the `meta` + `file` shape, with its size limit, media kinds, and the meta's field names, digest and extra fields; and the path rules every endpoint is held to.
//!
//! WeChat Pay adds upload endpoints from time to time, and not all of
//! them want the `{filename, sha256}` meta of the media uploads: the
//! e-commerce account-cancellation upload wants `{file_name, file_digest}`,
//! others add fields of their own. A [`CustomApi`] is an
//! [`Endpoint`] like the built-in ones, so
//! [`UploadV3`](super::UploadV3) signs, sends and verifies an upload to it
//! through the same code; its output is the verified JSON body.

use std::fmt;

use bytes::Bytes;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::endpoint::{Endpoint, Reply};
use super::meta::members_json;
use super::reply::MAX_ID_LEN;
use super::seal::Sealer;
use crate::{Error, Media, MediaKind, Rate};

/// The digest a meta carries of the file. Only what an endpoint
/// documents is offered: SHA-256 (the media uploads), SM3 (the fapiao
/// file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum MetaDigest {
    /// SHA-256 of the file, 64 lowercase hex digits.
    #[default]
    Sha256,
    /// SM3 (GB/T 32905) of the file, 64 lowercase hex digits.
    Sm3,
}

/// A v3 upload endpoint described by the caller: where it is, what it
/// takes, and how its `meta` names things.
///
/// ```
/// use serde_json::json;
/// use wxmedia_proto::MediaKind;
/// use wxmedia_proto::v3::{CustomApi, Endpoint};
///
/// // 电商平台注销申请图片上传: its meta is {file_name, file_digest}.
/// let api = CustomApi::new("/v3/ecommerce/account/cancel-applications/media", 2 << 20)
///     .unwrap()
///     .accepting(&[MediaKind::Jpeg, MediaKind::Png, MediaKind::Bmp])
///     .meta_names("file_name", "file_digest")
///     .unwrap();
/// assert_eq!(api.path(), "/v3/ecommerce/account/cancel-applications/media");
///
/// // An endpoint whose meta carries fields of its own besides the file's.
/// let receipt = CustomApi::new("/v3/marketing/shopping-receipt/shoppingreceipts", 2 << 20)
///     .unwrap()
///     .extra_field("transaction_id", json!("4200000000000000000000000000"))
///     .unwrap();
/// assert_eq!(receipt.extra_fields().len(), 1);
/// ```
#[derive(Clone, PartialEq)]
pub struct CustomApi {
    path: String,
    max_size: usize,
    kinds: Vec<MediaKind>,
    /// `None`: the meta names no file (the shopping receipt's).
    name_field: Option<String>,
    digest_field: String,
    digest: MetaDigest,
    extra: Vec<(String, Value)>,
    /// Values sealed for WeChat Pay when the meta is made, by name.
    sealed: Vec<(String, Zeroizing<String>)>,
    rate: Rate,
}

impl fmt::Debug for CustomApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sealed: Vec<&str> = self.sealed.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("CustomApi")
            .field("path", &self.path)
            .field("max_size", &self.max_size)
            .field("kinds", &self.kinds)
            .field("name_field", &self.name_field)
            .field("digest_field", &self.digest_field)
            .field("digest", &self.digest)
            .field("extra", &self.extra)
            .field("sealed (names only)", &sealed)
            .field("rate", &self.rate)
            .finish()
    }
}

impl CustomApi {
    /// An endpoint at `path` (from `/v3/`, as it goes into the signed
    /// message: printable ASCII, no spaces, no fragment) taking images
    /// (JPEG, PNG, BMP) up to `max_size` bytes, with the media uploads'
    /// meta `{filename, sha256}`.
    pub fn new(path: impl Into<String>, max_size: usize) -> Result<CustomApi, Error> {
        let path = path.into();
        check_path(&path)?;
        if max_size == 0 {
            return Err(Error::input("max_size", "must be more than 0 bytes"));
        }
        Ok(CustomApi {
            path,
            max_size,
            kinds: vec![MediaKind::Jpeg, MediaKind::Png, MediaKind::Bmp],
            name_field: Some("filename".to_owned()),
            digest_field: "sha256".to_owned(),
            digest: MetaDigest::Sha256,
            extra: Vec::new(),
            sealed: Vec::new(),
            rate: Rate::DEFAULT,
        })
    }

    /// Take only these media kinds (build videos with
    /// [`Media::video`](crate::Media::video), text with
    /// [`Media::text`](crate::Media::text)).
    #[must_use]
    pub fn accepting(mut self, kinds: &[MediaKind]) -> CustomApi {
        self.kinds = kinds.to_vec();
        self
    }

    /// Name the meta's file-name and digest fields (default `filename` and
    /// `sha256`). Refused when empty, equal, dotted, or taken by an extra
    /// field.
    pub fn meta_names(mut self, file_name: &str, digest: &str) -> Result<CustomApi, Error> {
        if file_name.is_empty() || digest.is_empty() {
            return Err(Error::input("meta field name", "must not be empty"));
        }
        if file_name == digest {
            return Err(Error::input(
                "meta field name",
                "the file name and the digest need two different fields",
            ));
        }
        if file_name.contains('.') || digest.contains('.') {
            return Err(Error::input(
                "meta field name",
                "the file name and the digest are top-level members: no '.'",
            ));
        }
        self.name_field = Some(file_name.to_owned());
        self.digest_field = digest.to_owned();
        self.check_members()?;
        Ok(self)
    }

    /// Send no file name in the meta (the shopping receipt's names the
    /// order, not the file); the digest stays.
    #[must_use]
    pub fn without_file_name(mut self) -> CustomApi {
        self.name_field = None;
        self
    }

    /// The rate WeChat Pay allows on this endpoint per merchant (default
    /// [`Rate::DEFAULT`], for endpoints whose limit is not documented).
    #[must_use]
    pub fn with_rate(mut self, rate: Rate) -> CustomApi {
        self.rate = rate;
        self
    }

    /// Use another digest (default SHA-256).
    #[must_use]
    pub fn digest(mut self, digest: MetaDigest) -> CustomApi {
        self.digest = digest;
        self
    }

    /// Add a field to the meta, after the file name and digest, in the
    /// order added. A name with dots puts the value inside objects:
    /// `merchant_contact_information.consultation_phone_number` is
    /// `{"merchant_contact_information": {"consultation_phone_number":
    /// …}}`. Refused when a segment is empty, or the name is used already
    /// (also as an object another name goes into).
    pub fn extra_field(mut self, name: &str, value: Value) -> Result<CustomApi, Error> {
        self.extra.push((name.to_owned(), value));
        self.check_members()?;
        Ok(self)
    }

    /// Add a field whose text is sealed for WeChat Pay when the upload is
    /// prepared (RSA-OAEP under the key `Wechatpay-Serial` names; see
    /// [`Sealer`]), after the extra fields; names as for
    /// [`extra_field`](Self::extra_field). The text is never shown by
    /// `Debug`.
    pub fn sealed_field(mut self, name: &str, text: &str) -> Result<CustomApi, Error> {
        self.sealed
            .push((name.to_owned(), Zeroizing::new(text.to_owned())));
        self.check_members()?;
        Ok(self)
    }

    /// Refuse names with empty segments, and names that collide: the same
    /// name twice, or a name and another inside it (`a` and `a.b`).
    fn check_members(&self) -> Result<(), Error> {
        let names: Vec<&str> = self
            .name_field
            .iter()
            .map(String::as_str)
            .chain([self.digest_field.as_str()])
            .chain(self.extra.iter().map(|(k, _)| k.as_str()))
            .chain(self.sealed.iter().map(|(k, _)| k.as_str()))
            .collect();
        for (i, a) in names.iter().enumerate() {
            if a.split('.').any(str::is_empty) {
                return Err(Error::input(
                    "meta field name",
                    format!("{a:?} has an empty name or segment"),
                ));
            }
            if let Some(b) = names[..i].iter().find(|b| collide(a, b)) {
                return Err(duplicate(if a.len() <= b.len() { a } else { b }));
            }
        }
        Ok(())
    }

    /// The extra meta fields, in order.
    pub fn extra_fields(&self) -> &[(String, Value)] {
        &self.extra
    }
}

/// Whether two member names address the same place, or one is inside the
/// other.
fn collide(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    long == short || long.starts_with(short) && long[short.len()..].starts_with('.')
}

/// Put `value` at the dotted `name` among `members`, creating the objects
/// on the way ([`CustomApi::check_members`] made sure none is taken by a
/// value that is not one).
fn insert(members: &mut Vec<(String, Value)>, name: &str, value: Value) -> Result<(), Error> {
    let Some((head, rest)) = name.split_once('.') else {
        members.push((name.to_owned(), value));
        return Ok(());
    };
    let at = match members.iter().position(|(k, _)| k == head) {
        Some(at) => at,
        None => {
            members.push((head.to_owned(), Value::Object(Map::new())));
            members.len() - 1
        }
    };
    let mut object = &mut members[at].1;
    let mut segments = rest.split('.').peekable();
    while let Some(segment) = segments.next() {
        let Value::Object(map) = object else {
            return Err(duplicate(name));
        };
        if segments.peek().is_none() {
            map.insert(segment.to_owned(), value);
            return Ok(());
        }
        object = map
            .entry(segment.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    Ok(())
}

impl Endpoint for CustomApi {
    type Output = CustomUploaded;

    fn path(&self) -> &str {
        &self.path
    }

    fn max_size(&self) -> usize {
        self.max_size
    }

    fn accepts(&self, kind: MediaKind) -> bool {
        self.kinds.contains(&kind)
    }

    /// File name (unless left out), digest, the extra fields, then the
    /// sealed ones.
    fn meta(&self, media: &Media, sealer: &mut Sealer<'_>) -> Result<Bytes, Error> {
        let mut members = Vec::with_capacity(2 + self.extra.len() + self.sealed.len());
        if let Some(name) = &self.name_field {
            members.push((name.clone(), Value::from(media.wire_filename())));
        }
        let digest = match self.digest {
            MetaDigest::Sha256 => media.sha256_hex().to_owned(),
            MetaDigest::Sm3 => media.sm3_hex(),
        };
        members.push((self.digest_field.clone(), Value::from(digest)));
        for (name, value) in &self.extra {
            insert(&mut members, name, value.clone())?;
        }
        for (name, text) in &self.sealed {
            insert(
                &mut members,
                name,
                Value::from(sealer.seal(text.as_bytes())?),
            )?;
        }
        members_json(&members)
    }

    fn rate(&self) -> Rate {
        self.rate
    }

    /// The verified body, parsed as JSON.
    fn output(&self, reply: Reply<'_>) -> Result<CustomUploaded, Error> {
        Ok(CustomUploaded {
            body: reply.json()?,
            digest: match self.digest {
                MetaDigest::Sha256 => reply.media().sha256_hex().to_owned(),
                MetaDigest::Sm3 => reply.media().sm3_hex(),
            },
            request_id: reply.request_id(),
        })
    }
}

fn duplicate(name: &str) -> Error {
    Error::input(
        "meta field name",
        format!("{name:?} is used twice in the meta"),
    )
}

/// A verified upload to a [`CustomApi`]: the reply's JSON body, whole.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CustomUploaded {
    /// The reply body, verified before it was parsed.
    pub body: Value,
    /// The digest of the media that was sent, as the meta carried it.
    pub digest: String,
    /// The reply's `Request-ID`, which WeChat Pay support asks for.
    pub request_id: Option<String>,
}

impl CustomUploaded {
    /// The reply's `media_id`, when it has one that is a usable id.
    pub fn media_id(&self) -> Option<&str> {
        self.id("media_id")
    }

    /// The reply's `media_url`, when it has one that is a usable id.
    pub fn media_url(&self) -> Option<&str> {
        self.id("media_url")
    }

    /// A string field held to the rules of the known uploads' ids.
    fn id(&self, name: &str) -> Option<&str> {
        self.body
            .get(name)?
            .as_str()
            .filter(|t| !t.is_empty() && t.chars().count() <= MAX_ID_LEN)
            .filter(|t| !t.chars().any(char::is_control))
    }
}

/// Refuse a path that could reach anything but the `/v3/` endpoint it
/// names, or that cannot be sent as it is signed.
///
/// The `/v3/` prefix is only a guard if the path cannot leave it: dot
/// segments (`..`, also as `%2e%2e`), backslashes (which some servers take
/// as `/`), empty segments (`//`, which gateways collapse), `;` path
/// parameters (which servers strip before routing) and encoded `/`, `\`
/// or control bytes are refused, and so is every character that is not
/// sent as it is (RFC 3986's unreserved characters, `/`, `%XX` and the
/// sub-delimiters other than `;` are kept). The message names the
/// character.
pub(crate) fn check_path(path: &str) -> Result<(), Error> {
    let refuse = |why: String| Err(Error::input("path", why));
    if !path.starts_with("/v3/") {
        return refuse("must start with /v3/".to_owned());
    }
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {}
            b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b'=' | b':' | b'@' => {}
            b'%' => {
                let hex = |b: Option<&u8>| b.and_then(|&b| (b as char).to_digit(16));
                let (Some(hi), Some(lo)) = (hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) else {
                    return refuse(format!(
                        "has '%' at byte {i} without two hex digits after it"
                    ));
                };
                let decoded = (hi * 16 + lo) as u8;
                if decoded == b'/' || decoded == b'\\' || !decoded.is_ascii_graphic() {
                    return refuse(format!(
                        "must not contain {} ({})",
                        &path[i..i + 3],
                        describe(decoded)
                    ));
                }
                i += 2;
            }
            other => return refuse(format!("must not contain {}", describe(other))),
        }
        i += 1;
    }
    for segment in path["/v3/".len()..].split('/') {
        if segment.is_empty() {
            return refuse("must not have an empty segment ('//' or a trailing '/')".to_owned());
        }
        let dots = segment.to_ascii_lowercase().replace("%2e", ".");
        if dots == "." || dots == ".." {
            return refuse(format!(
                "must not have a dot segment ({segment:?}): it would leave the path it names"
            ));
        }
    }
    Ok(())
}

/// A byte as a message names it.
fn describe(b: u8) -> String {
    match b {
        0 => "NUL".to_owned(),
        b'\\' => "'\\' (a backslash)".to_owned(),
        b';' => "';' (a path parameter, which servers strip before routing)".to_owned(),
        b' ' => "' ' (a space)".to_owned(),
        b'?' | b'#' => format!("{:?} (a query or fragment)", b as char),
        b if b.is_ascii_graphic() => format!("{:?}", b as char),
        b => format!("the byte 0x{b:02X}"),
    }
}
