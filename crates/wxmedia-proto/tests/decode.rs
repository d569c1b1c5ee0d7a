//! Table tests for reply decoding and verification: every case of PROTOCOL.md 1.3 and every code of 1.4 on both layers.

use bytes::Bytes;
use http::StatusCode;
use wxmedia_proto::v2::reply::{DEFAULT_REPLY_LIMIT, decode_reply};
use wxmedia_proto::v2::xml;
use wxmedia_proto::v2::{ApiKey, SignType, StringToSign};
use wxmedia_proto::{DecodeError, Error, ErrorCode, Layer, SignatureError};

const KEY: &str = "192006250b4c09247ec02edce69f6a2d";
const MEDIA_ID: &str = "H1ihR9JUtVj-J7CJqBUY5ZOrG_Je75H-rKhTG7FUmg9sxNTbRN54dFiUHnhg";

fn key() -> ApiKey {
    ApiKey::new(KEY).unwrap()
}

/// A reply with `fields` and a correct `sign` of `sign_type` appended.
fn signed(fields: &[(&str, &str)], sign_type: SignType) -> Bytes {
    let sign = StringToSign::new(fields.iter().copied()).sign(&key(), sign_type);
    let mut all = fields.to_vec();
    all.push(("sign", sign.as_str()));
    Bytes::from(xml::write(&all))
}

fn success(sign_type: SignType) -> Bytes {
    signed(
        &[
            ("return_code", "SUCCESS"),
            ("return_msg", "OK"),
            ("result_code", "SUCCESS"),
            ("media_id", MEDIA_ID),
        ],
        sign_type,
    )
}

fn decode(body: Bytes, sign_type: SignType) -> Result<String, Error> {
    decode_reply(StatusCode::OK, body, &key(), sign_type, DEFAULT_REPLY_LIMIT)
}

#[test]
fn success_with_md5_and_hmac() {
    for st in [SignType::Md5, SignType::HmacSha256] {
        assert_eq!(decode(success(st), st).unwrap(), MEDIA_ID);
    }
}

#[test]
fn escaped_text_and_cdata_verify_alike() {
    let fields = [
        ("return_code", "SUCCESS"),
        ("result_code", "SUCCESS"),
        ("media_id", "a<b&c"),
    ];
    let sign = StringToSign::new(fields).sign(&key(), SignType::Md5);
    let body = format!(
        "<xml>\n<return_code>SUCCESS</return_code>\n<result_code><![CDATA[SUCCESS]]></result_code>\n<media_id>a&lt;b&amp;c</media_id>\n<sign>{sign}</sign>\n</xml>"
    );
    assert_eq!(decode(Bytes::from(body), SignType::Md5).unwrap(), "a<b&c");
}

#[test]
fn unknown_fields_are_kept_and_included_in_verification() {
    let fields = [
        ("return_code", "SUCCESS"),
        ("result_code", "SUCCESS"),
        ("media_id", MEDIA_ID),
        ("nonce_str", "abc"),
    ];
    assert_eq!(
        decode(signed(&fields, SignType::Md5), SignType::Md5).unwrap(),
        MEDIA_ID
    );
    // Signed without the unknown field, then the field added: must fail.
    let sign = StringToSign::new(fields[..3].iter().copied()).sign(&key(), SignType::Md5);
    let mut all = fields.to_vec();
    all.push(("sign", sign.as_str()));
    let err = decode(Bytes::from(xml::write(&all)), SignType::Md5).unwrap_err();
    assert!(matches!(
        err,
        Error::Signature {
            kind: SignatureError::Mismatch,
            ..
        }
    ));
}

#[test]
fn empty_fields_are_left_out_of_verification() {
    let fields = [
        ("return_code", "SUCCESS"),
        ("return_msg", ""),
        ("result_code", "SUCCESS"),
        ("media_id", MEDIA_ID),
    ];
    assert_eq!(
        decode(signed(&fields, SignType::Md5), SignType::Md5).unwrap(),
        MEDIA_ID
    );
}

#[test]
fn success_without_sign_is_never_a_media_id() {
    let body = Bytes::from(xml::write(&[
        ("return_code", "SUCCESS"),
        ("result_code", "SUCCESS"),
        ("media_id", MEDIA_ID),
    ]));
    let err = decode(body.clone(), SignType::Md5).unwrap_err();
    assert!(matches!(
        err,
        Error::Signature {
            kind: SignatureError::Missing,
            ..
        }
    ));
    assert_eq!(err.raw_body(), Some(&body));
    assert!(!err.is_retryable());
}

#[test]
fn wrong_sign_other_sign_type_and_other_key_are_refused() {
    let body = success(SignType::Md5);
    let err = decode(body.clone(), SignType::HmacSha256).unwrap_err();
    assert!(matches!(
        err,
        Error::Signature {
            kind: SignatureError::Mismatch,
            ..
        }
    ));
    let other = decode_reply(
        StatusCode::OK,
        body,
        &ApiKey::new("another-key").unwrap(),
        SignType::Md5,
        DEFAULT_REPLY_LIMIT,
    );
    assert!(matches!(
        other,
        Err(Error::Signature {
            kind: SignatureError::Mismatch,
            ..
        })
    ));
    // Tamper with the media id after signing.
    let tampered = String::from_utf8(success(SignType::Md5).to_vec())
        .unwrap()
        .replace(MEDIA_ID, "attacker-chosen-id");
    assert!(matches!(
        decode(Bytes::from(tampered), SignType::Md5),
        Err(Error::Signature {
            kind: SignatureError::Mismatch,
            ..
        })
    ));
}

#[test]
fn the_seed_example_with_its_placeholder_sign_does_not_verify() {
    let seed = "<xml>\n<return_code><![CDATA[SUCCESS]]></return_code>\n<return_msg><![CDATA[OK]]></return_msg>\n<result_code><![CDATA[SUCCESS]]></result_code>\n<media_id><![CDATA[9UYfXi- WMUhgWXvJtEw4_gBle_EfrD_pIL0bS8GAsK8]]></media_id>\n<sign><![CDATA[D675A1E471DBF7C0B1AC5883B5BDA9EF]]></sign>\n</xml>";
    assert!(matches!(
        decode(Bytes::from(seed), SignType::Md5),
        Err(Error::Signature {
            kind: SignatureError::Mismatch,
            ..
        })
    ));
}

const CODES: [(&str, ErrorCode, bool); 5] = [
    ("INVALID_REQUEST", ErrorCode::InvalidRequest, false),
    ("SIGNERROR", ErrorCode::SignErrorV2, false),
    ("PARAM_ERROR", ErrorCode::ParamError, false),
    ("FREQUENCY_LIMITED", ErrorCode::FrequencyLimitedV2, true),
    ("SYSTEMERROR", ErrorCode::SystemErrorV2, true),
];

#[test]
fn every_code_at_the_result_layer() {
    for (text, code, retryable) in CODES {
        for st in [SignType::Md5, SignType::HmacSha256] {
            let body = signed(
                &[
                    ("return_code", "SUCCESS"),
                    ("return_msg", "OK"),
                    ("result_code", "FAIL"),
                    ("err_code", text),
                    ("err_code_des", "描述"),
                ],
                st,
            );
            let err = decode(body.clone(), st).unwrap_err();
            let Error::Api(api) = &err else {
                panic!("{text}: {err:?}")
            };
            assert_eq!(api.layer, Layer::Result, "{text}");
            assert_eq!(api.code.as_ref(), Some(&code), "{text}");
            assert_eq!(api.message, "描述");
            assert_eq!(err.is_retryable(), retryable, "{text}");
            assert_eq!(err.raw_body(), Some(&body));
            assert!(err.to_string().contains(text));
        }
    }
}

#[test]
fn every_code_at_the_return_layer() {
    for (text, code, retryable) in CODES {
        // As a code in return_msg, and as err_code beside a message.
        for fields in [
            vec![("return_code", "FAIL"), ("return_msg", text)],
            vec![
                ("return_code", "FAIL"),
                ("return_msg", "说明"),
                ("err_code", text),
            ],
        ] {
            let body = Bytes::from(xml::write(&fields));
            let err = decode(body.clone(), SignType::Md5).unwrap_err();
            let Error::Api(api) = &err else {
                panic!("{text}: {err:?}")
            };
            assert_eq!(api.layer, Layer::Return);
            assert_eq!(api.code.as_ref(), Some(&code), "{text}");
            assert_eq!(err.is_retryable(), retryable, "{text}");
            assert_eq!(err.raw_body(), Some(&body));
        }
    }
}

#[test]
fn return_layer_messages_of_the_seed_map_to_codes() {
    for (msg, code) in [
        ("签名错误", Some(ErrorCode::SignErrorV2)),
        ("操作过快，请稍后重试", Some(ErrorCode::FrequencyLimitedV2)),
        ("参数格式校验错误", None),
    ] {
        let body = Bytes::from(xml::write(&[("return_code", "FAIL"), ("return_msg", msg)]));
        let err = decode(body, SignType::Md5).unwrap_err();
        assert_eq!(err.api_code(), code.as_ref(), "{msg}");
    }
}

#[test]
fn unknown_codes_are_kept_and_not_retryable() {
    let body = signed(
        &[
            ("return_code", "SUCCESS"),
            ("result_code", "FAIL"),
            ("err_code", "NOAUTH"),
        ],
        SignType::Md5,
    );
    let err = decode(body, SignType::Md5).unwrap_err();
    assert_eq!(err.api_code(), Some(&ErrorCode::Other("NOAUTH".into())));
    assert!(!err.is_retryable());
}

#[test]
fn a_failed_result_with_a_bad_sign_is_a_signature_error() {
    let body = Bytes::from(xml::write(&[
        ("return_code", "SUCCESS"),
        ("result_code", "FAIL"),
        ("err_code", "SYSTEMERROR"),
        ("sign", "00000000000000000000000000000000"),
    ]));
    assert!(matches!(
        decode(body, SignType::Md5),
        Err(Error::Signature { .. })
    ));
}

#[test]
fn http_errors_keep_the_body_and_say_if_retrying_helps() {
    let html = Bytes::from_static(b"<html><body><h1>502 Bad Gateway</h1></body></html>");
    for (status, retryable) in [
        (StatusCode::BAD_GATEWAY, true),
        (StatusCode::TOO_MANY_REQUESTS, true),
        (StatusCode::NOT_FOUND, false),
    ] {
        let err = decode_reply(
            status,
            html.clone(),
            &key(),
            SignType::Md5,
            DEFAULT_REPLY_LIMIT,
        )
        .unwrap_err();
        assert!(matches!(err, Error::Http { status: s, .. } if s == status));
        assert_eq!(err.raw_body(), Some(&html));
        assert_eq!(err.is_retryable(), retryable, "{status}");
    }
}

#[test]
fn non_xml_bodies_with_200_are_decode_errors_keeping_the_body() {
    for body in [
        &b"<html><body>hi</body></html>"[..],
        b"{\"code\":1}",
        b"",
        b"\xff\xfe",
    ] {
        let body = Bytes::copy_from_slice(body);
        let err = decode(body.clone(), SignType::Md5).unwrap_err();
        assert!(matches!(err, Error::Decode { .. }), "{err:?}");
        assert_eq!(err.raw_body(), Some(&body));
        assert!(!err.is_retryable());
    }
}

#[test]
fn replies_over_the_cap_are_refused() {
    let body = Bytes::from(vec![b' '; 100]);
    let err = decode_reply(StatusCode::OK, body, &key(), SignType::Md5, 99).unwrap_err();
    assert!(matches!(
        err,
        Error::ReplyTooLarge {
            size: 100,
            limit: 99
        }
    ));
}

fn decode_error(fields: &[(&str, &str)]) -> DecodeError {
    match decode(signed(fields, SignType::Md5), SignType::Md5).unwrap_err() {
        Error::Decode { reason, .. } => reason,
        other => panic!("{other:?}"),
    }
}

#[test]
fn structural_problems_are_named() {
    assert_eq!(
        decode_error(&[("return_msg", "x")]),
        DecodeError::Missing("return_code")
    );
    assert_eq!(
        decode_error(&[("return_code", "MAYBE")]),
        DecodeError::Unexpected {
            field: "return_code"
        }
    );
    assert_eq!(
        decode_error(&[("return_code", "SUCCESS")]),
        DecodeError::Missing("result_code")
    );
    assert_eq!(
        decode_error(&[("return_code", "SUCCESS"), ("result_code", "PENDING")]),
        DecodeError::Unexpected {
            field: "result_code"
        }
    );
    assert_eq!(
        decode_error(&[("return_code", "SUCCESS"), ("result_code", "SUCCESS")]),
        DecodeError::Missing("media_id")
    );
    let long = "a".repeat(257);
    for bad in ["a\u{1}b", "a\nb", long.as_str()] {
        assert_eq!(
            decode_error(&[
                ("return_code", "SUCCESS"),
                ("result_code", "SUCCESS"),
                ("media_id", bad)
            ]),
            DecodeError::Unexpected { field: "media_id" },
            "{bad:?}"
        );
    }
}

#[test]
fn duplicate_fields_and_a_duplicated_sign_are_refused() {
    let ok = String::from_utf8(success(SignType::Md5).to_vec()).unwrap();
    let dup_sign = ok.replace("</xml>", "<sign><![CDATA[X]]></sign></xml>");
    let dup_id = ok.replace("</xml>", "<media_id>other</media_id></xml>");
    for body in [dup_sign, dup_id] {
        assert!(matches!(
            decode(Bytes::from(body), SignType::Md5),
            Err(Error::Decode {
                reason: DecodeError::Duplicate(_),
                ..
            })
        ));
    }
}

#[test]
fn doctype_xxe_and_billion_laughs_are_refused_without_expansion() {
    let xxe = r#"<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><return_code>&xxe;</return_code></xml>"#;
    let lol = r#"<!DOCTYPE xml [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><xml><return_msg>&c;</return_msg></xml>"#;
    for body in [xxe, lol] {
        let err = decode(Bytes::from(body), SignType::Md5).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Decode {
                    reason: DecodeError::Doctype,
                    ..
                }
            ),
            "{err:?}"
        );
    }
    // An undeclared entity without a DOCTYPE is refused too.
    let err = decode(
        Bytes::from("<xml><return_code>&xxe;</return_code></xml>"),
        SignType::Md5,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Decode {
                reason: DecodeError::Entity(_),
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn nul_bytes_and_invalid_utf8_are_refused() {
    for body in [
        &b"<xml><return_code>SUC\0CESS</return_code></xml>"[..],
        b"<xml><return_code>\xc3\x28</return_code></xml>",
    ] {
        assert!(matches!(
            decode(Bytes::copy_from_slice(body), SignType::Md5),
            Err(Error::Decode { .. })
        ));
    }
}
