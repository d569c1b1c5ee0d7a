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
    file_meta_with(media, name_field, digest_field, media.sha256_hex(), extra)
}

/// [`file_meta`] with another digest of the content (`digest`, already
/// hex): the SM3 a [`CustomApi`](super::CustomApi) may name.
pub(crate) fn file_meta_with(
    media: &Media,
    name_field: &str,
    digest_field: &str,
    digest: &str,
    extra: &[(String, Value)],
) -> Result<Bytes, Error> {
    let mut out = Vec::with_capacity(128);
    let mut ser = serde_json::Serializer::new(&mut out);
    let write = |ser: &mut serde_json::Serializer<&mut Vec<u8>>| {
        let mut map = ser.serialize_map(Some(2 + extra.len()))?;
        map.serialize_entry(name_field, media.wire_filename())?;
        map.serialize_entry(digest_field, digest)?;
        for (k, v) in extra {
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
    let mut out = Vec::with_capacity(160);
    let mut ser = serde_json::Serializer::new(&mut out);
    let write = |ser: &mut serde_json::Serializer<&mut Vec<u8>>| {
        let mut map = ser.serialize_map(Some(fields.len()))?;
        for field in fields {
            match *field {
                MetaField::FileName(name) => map.serialize_entry(name, media.wire_filename())?,
                MetaField::Sha256(name) => map.serialize_entry(name, media.sha256_hex())?,
                MetaField::Sm3(name) => map.serialize_entry(name, &media.sm3_hex())?,
                MetaField::Fixed(name, value) => map.serialize_entry(name, value)?,
            }
        }
        map.end()
    };
    write(&mut ser).map_err(|e| Error::input("meta", e.to_string()))?;
    Ok(Bytes::from(out))
}
