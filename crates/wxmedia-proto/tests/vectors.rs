//! Every known-answer vector of `tests/data/v2.json` (copied from the shared vectors) must pass.

use base64::Engine;
use bytes::Bytes;
use http::StatusCode;
use serde_json::Value;
use wxmedia_proto::MediaHash;
use wxmedia_proto::v2::reply::{DEFAULT_REPLY_LIMIT, decode_reply};
use wxmedia_proto::v2::{ApiKey, SignType, StringToSign};

fn vectors() -> Value {
    serde_json::from_str(include_str!("data/v2.json")).expect("vectors are JSON")
}

fn sign_type(v: &Value) -> SignType {
    v.as_str().unwrap().parse().unwrap()
}

#[test]
fn every_signature_vector_gives_its_string_and_sign() {
    let v = vectors();
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 9, "the vector file lost cases");
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let params: Vec<(&str, &str)> = case["params"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
            .collect();
        let key = ApiKey::new(case["key"].as_str().unwrap()).unwrap();
        let st = sign_type(&case["sign_type"]);
        let to_sign = StringToSign::new(params);
        let full = format!("{}&key={}", to_sign.canonical(), key.expose_secret());
        assert_eq!(full, case["string_to_sign"].as_str().unwrap(), "{name}");
        let sign = to_sign.sign(&key, st);
        assert_eq!(sign.as_str(), case["sign"].as_str().unwrap(), "{name}");
        assert!(
            to_sign.verify(&key, st, case["sign"].as_str().unwrap()),
            "{name}"
        );
        assert!(to_sign.redacted().ends_with("&key=***"), "{name}");
        assert!(!to_sign.redacted().contains(key.expose_secret()), "{name}");
    }
}

#[test]
fn every_media_hash_vector_matches() {
    let v = vectors();
    for case in v["media_hash"].as_array().unwrap() {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(case["base64"].as_str().unwrap())
            .unwrap();
        assert_eq!(
            MediaHash::of(&bytes).as_str(),
            case["md5"].as_str().unwrap(),
            "{}",
            case["name"]
        );
    }
}

#[test]
fn the_response_vector_decodes_to_its_media_id() {
    let v = vectors();
    let r = &v["response_xml"];
    let key = ApiKey::new(r["key"].as_str().unwrap()).unwrap();
    let body = Bytes::from(r["xml"].as_str().unwrap().to_owned());
    let media_id = decode_reply(
        StatusCode::OK,
        body,
        &key,
        sign_type(&r["sign_type"]),
        DEFAULT_REPLY_LIMIT,
    )
    .unwrap();
    assert_eq!(media_id, r["expect"]["media_id"].as_str().unwrap());
}
