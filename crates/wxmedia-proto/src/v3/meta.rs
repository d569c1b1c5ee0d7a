//! The `meta` JSON of the usual uploads, exactly as sent and signed: the file's name and digest under the endpoint's field names, then fixed or extra members, compact and in order.

use bytes::Bytes;
use serde::ser::{SerializeMap, Serializer};
use serde_json::Value;

use crate::{Error, Media};

/// A meta of the usual shape: the media's wire file name under
/// `name_field`, its SHA-256 (lowercase hex) under `digest_field`, then
/// `extra` in order. Compact JSON, the bytes every client of the same
/// meta sends.
pub fn file_meta(
    media: &Media,
    name_field: &str,
    digest_field: &str,
    extra: &[(String, Value)],
) -> Result<Bytes, Error> {
    let mut members = vec![
        (name_field.to_owned(), Value::from(media.wire_filename())),
        (digest_field.to_owned(), Value::from(media.sha256_hex())),
    ];
    members.extend(extra.iter().cloned());
    members_json(&members)
}

/// `members` in order as compact JSON: the bytes that are sent and
/// signed. (Built member by member, since `serde_json`'s own maps sort
/// their keys.)
pub(crate) fn members_json(members: &[(String, Value)]) -> Result<Bytes, Error> {
    let mut out = Vec::with_capacity(160);
    let mut ser = serde_json::Serializer::new(&mut out);
    let write = |ser: &mut serde_json::Serializer<&mut Vec<u8>>| {
        let mut map = ser.serialize_map(Some(members.len()))?;
        for (k, v) in members {
            map.serialize_entry(k, v)?;
        }
        map.end()
    };
    write(&mut ser).map_err(|e| Error::input("meta", e.to_string()))?;
    Ok(Bytes::from(out))
}

/// One member of a built-in endpoint's `meta`, in the order sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetaField {
    /// The media's wire file name, under this name.
    FileName(&'static str),
    /// The content's SHA-256, lowercase hex, under this name.
    Sha256(&'static str),
    /// The content's SM3 (GB/T 32905), lowercase hex, under this name.
    Sm3(&'static str),
    /// This fixed text, under this name.
    Fixed(&'static str, &'static str),
}

/// The media uploads' meta: `{"filename", "sha256"}`.
pub(crate) const FILE_META: &[MetaField] =
    &[MetaField::FileName("filename"), MetaField::Sha256("sha256")];

/// A meta of `fields`, in order, for `media`: compact JSON, the bytes that
/// are sent and signed.
pub fn meta_of(media: &Media, fields: &[MetaField]) -> Result<Bytes, Error> {
    let members: Vec<(String, Value)> = fields
        .iter()
        .map(|field| match *field {
            MetaField::FileName(name) => (name.to_owned(), media.wire_filename().into()),
            MetaField::Sha256(name) => (name.to_owned(), media.sha256_hex().into()),
            MetaField::Sm3(name) => (name.to_owned(), media.sm3_hex().into()),
            MetaField::Fixed(name, value) => (name.to_owned(), value.into()),
        })
        .collect();
    members_json(&members)
}
