//! Property tests: multipart bodies parse back with `multer` exactly, and reply signatures catch any change.

use bytes::Bytes;
use futures_util::stream;
use proptest::prelude::*;
use wxmedia_proto::v2::xml::{self, Fields};
use wxmedia_proto::v2::{ApiKey, Credentials, SignType, UploadV2};
use wxmedia_proto::{Boundary, Env, Error, Media, MediaError, Operation, SignatureError};

struct Part {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    data: Bytes,
}

fn parse_multipart(segments: Vec<Bytes>, boundary: &str) -> Vec<Part> {
    let s = stream::iter(segments.into_iter().map(Ok::<_, std::io::Error>));
    let mut mp = multer::Multipart::new(s, boundary);
    futures_executor::block_on(async {
        let mut parts = Vec::new();
        while let Some(field) = mp.next_field().await.expect("multer parses the body") {
            let name = field.name().unwrap().to_owned();
            let filename = field.file_name().map(str::to_owned);
            let content_type = field.content_type().map(|m| m.to_string());
            let data = field.bytes().await.unwrap();
            parts.push(Part {
                name,
                filename,
                content_type,
                data,
            });
        }
        parts
    })
}

/// Whole images of each format around arbitrary bytes, so that the
/// multipart layer sees any content, delimiters included, while the media
/// checks (end markers, lengths) still pass.
fn media_bytes() -> impl Strategy<Value = (Vec<u8>, &'static str, &'static str)> {
    let kind = prop_oneof![
        Just(("jpg", "image/jpeg")),
        Just(("png", "image/png")),
        Just(("bmp", "image/bmp")),
    ];
    (kind, proptest::collection::vec(any::<u8>(), 0..4096))
        .prop_map(|((ext, ct), rest)| (wrap_in_image(ext, &rest), ext, ct))
}

/// `payload` inside a structurally whole image: a JPEG comment segment
/// (SOI, COM, EOI), a PNG private chunk before `IEND`, or the gap between
/// a BMP's headers and its one 1×1 pixel.
fn wrap_in_image(ext: &str, payload: &[u8]) -> Vec<u8> {
    let len = |extra: usize| u32::try_from(payload.len() + extra).unwrap();
    let mut out = Vec::new();
    match ext {
        "jpg" => {
            out.extend_from_slice(&[0xFF, 0xD8, 0xFF, 0xFE]);
            out.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
            out.extend_from_slice(payload);
            out.extend_from_slice(&[0xFF, 0xD9]);
        }
        "png" => {
            out.extend_from_slice(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]);
            out.extend_from_slice(&len(0).to_be_bytes());
            out.extend_from_slice(b"prVt");
            out.extend_from_slice(payload);
            out.extend_from_slice(&[0; 4]); // CRC, not checked
            out.extend_from_slice(b"\0\0\0\0IEND\xAE\x42\x60\x82");
        }
        _ => {
            out.extend_from_slice(b"BM");
            out.extend_from_slice(&len(58).to_le_bytes()); // file size
            out.extend_from_slice(&[0; 4]);
            out.extend_from_slice(&len(54).to_le_bytes()); // pixel offset
            out.extend_from_slice(&40u32.to_le_bytes());
            out.extend_from_slice(&1i32.to_le_bytes()); // width
            out.extend_from_slice(&1i32.to_le_bytes()); // height
            out.extend_from_slice(&1u16.to_le_bytes()); // planes
            out.extend_from_slice(&24u16.to_le_bytes()); // bits per pixel
            out.extend_from_slice(&[0; 24]); // BI_RGB, sizes, resolution, palette
            out.extend_from_slice(payload);
            out.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0]); // one padded row
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn multipart_roundtrips_through_multer(
        (content, ext, content_type) in media_bytes(),
        stem in "[A-Za-z0-9 ._()'-]{1,40}",
        boundary in "[0-9A-Za-z-]{1,70}",
        mch_id in "[0-9A-Za-z_-]{1,32}",
        hmac in any::<bool>(),
    ) {
        let filename = format!("{stem}.{ext}");
        let media = match Media::new(filename.clone(), content.clone()) {
            Ok(m) => m,
            // Names like "." are refused at construction, which is fine;
            // the content is always a whole image.
            Err(MediaError::BadFilename { .. }) => return Ok(()),
            Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
        };
        let sign_type = if hmac { SignType::HmacSha256 } else { SignType::Md5 };
        let up = UploadV2::new(Credentials::new(mch_id.clone(), "k3y").unwrap(), media, sign_type).unwrap();
        let env = Env::new("https://127.0.0.1:1", Boundary::new(boundary.clone()).unwrap()).unwrap();
        let req = match up.encode(&env) {
            Ok(r) => r,
            Err(Error::BoundaryInMedia) => {
                let delimiter = format!("--{}", boundary);
                prop_assert!(content.windows(delimiter.len()).any(|w| w == delimiter.as_bytes()));
                return Ok(());
            }
            Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
        };
        let parts = parse_multipart(req.into_body().into_segments(), &boundary);
        let mut want = vec![("mch_id", mch_id.clone()), ("media_hash", up.media().hash().to_string())];
        if hmac {
            want.push(("sign_type", "HMAC-SHA256".to_owned()));
        }
        want.push(("sign", up.sign().to_string()));
        prop_assert_eq!(parts.len(), want.len() + 1);
        for (part, (name, value)) in parts.iter().zip(&want) {
            prop_assert_eq!(&part.name, name);
            prop_assert_eq!(&part.data[..], value.as_bytes());
            prop_assert!(part.filename.is_none());
        }
        let file = parts.last().unwrap();
        prop_assert_eq!(file.name.as_str(), "media");
        prop_assert_eq!(file.filename.as_deref(), Some(filename.as_str()));
        prop_assert_eq!(file.content_type.as_deref(), Some(content_type));
        prop_assert_eq!(&file.data[..], &content[..]);
    }

    #[test]
    fn non_ascii_names_roundtrip_as_media_dot_ext(stem in "\\PC{0,10}[一-龥]\\PC{0,10}") {
        let media = match Media::new(format!("{stem}.jpg"), vec![0xFF, 0xD8, 0xFF, 0xD9]) {
            Ok(m) => m,
            Err(MediaError::BadFilename { .. }) => return Ok(()),
            Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
        };
        let up = UploadV2::new(Credentials::new("1", "k").unwrap(), media, SignType::Md5).unwrap();
        let env = Env::new("https://h", Boundary::new("b0").unwrap()).unwrap();
        let parts = parse_multipart(up.encode(&env).unwrap().into_body().into_segments(), "b0");
        prop_assert_eq!(parts.last().unwrap().filename.as_deref(), Some("media.jpg"));
    }

    #[test]
    fn signed_replies_verify_and_any_change_to_a_signed_byte_fails(
        fields in proptest::collection::btree_map("[a-z_]{1,12}", "\\PC{0,24}", 1..10),
        key in "[0-9A-Za-z]{1,40}",
        hmac in any::<bool>(),
        pick in any::<prop::sample::Index>(),
        replacement in "\\PC",
    ) {
        let fields: Vec<(String, String)> = fields.into_iter().filter(|(k, _)| k != "sign").collect();
        let key = ApiKey::new(key).unwrap();
        let st = if hmac { SignType::HmacSha256 } else { SignType::Md5 };
        let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let sign = wxmedia_proto::v2::StringToSign::new(refs.iter().copied()).sign(&key, st);
        let mut all = refs.clone();
        all.push(("sign", sign.as_str()));
        let parsed = Fields::parse(xml::write(&all).as_bytes()).unwrap();
        prop_assert_eq!(wxmedia_proto::v2::reply::verify_fields(&parsed, &key, st), Ok(()));

        // Change one character of one signed (non-empty) value.
        let signed: Vec<usize> = (0..refs.len()).filter(|&i| !refs[i].1.is_empty()).collect();
        prop_assume!(!signed.is_empty());
        let which = signed[pick.index(signed.len())];
        let value = &fields[which].1;
        let chars: Vec<char> = value.chars().collect();
        let at = pick.index(chars.len());
        let new_char = replacement.chars().next().unwrap();
        prop_assume!(chars[at] != new_char);
        let mut changed: String = chars[..at].iter().collect();
        changed.push(new_char);
        changed.extend(&chars[at + 1..]);
        let mut tampered = all.clone();
        tampered[which].1 = &changed;
        let parsed = Fields::parse(xml::write(&tampered).as_bytes()).unwrap();
        prop_assert_eq!(
            wxmedia_proto::v2::reply::verify_fields(&parsed, &key, st),
            Err(SignatureError::Mismatch)
        );
    }
}
