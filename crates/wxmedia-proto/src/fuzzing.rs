//! Entry points for the fuzz targets and regression replays; not a public API.

use bytes::Bytes;
use http::StatusCode;

use crate::{ApiKey, Error, SignType};

/// Decode arbitrary bytes as a 200 reply with a fixed key and check the
/// invariants the fuzzer relies on: never a media id without a verified
/// sign, and every reply error keeps the raw body. Panics on a violation.
pub fn decode_reply_invariants(data: &[u8]) {
    let key = ApiKey::new("fuzzkey").expect("valid key");
    for sign_type in [SignType::Md5, SignType::HmacSha256] {
        let body = Bytes::copy_from_slice(data);
        match crate::reply::decode_reply(StatusCode::OK, body, &key, sign_type, usize::MAX) {
            Ok(_) => {
                let fields = crate::xml::Fields::parse(data).expect("a success parsed");
                crate::reply::verify_fields(&fields, &key, sign_type)
                    .expect("a media id was returned without a verified sign");
            }
            Err(e) => {
                let kept = e.raw_body().expect("reply errors keep the body");
                assert_eq!(&kept[..], data);
                let _ = e.to_string();
                assert!(!matches!(e, Error::Media(_) | Error::InvalidInput { .. }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn invariants_hold_for_hand_picked_inputs() {
        for input in [
            &b""[..],
            b"<xml><return_code>SUCCESS</return_code><result_code>SUCCESS</result_code><media_id>x</media_id><sign>00</sign></xml>",
            b"<xml><return_code>FAIL</return_code></xml>",
            b"<!DOCTYPE a><xml/>",
            b"\xff\xfe<xml>",
        ] {
            super::decode_reply_invariants(input);
        }
    }
}
