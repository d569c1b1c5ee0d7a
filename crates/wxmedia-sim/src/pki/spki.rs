//! The WeChat Pay public key as merchants download it: an RSA public key wrapped in SPKI DER, then PEM.

use base64::Engine as _;

/// SPKI PEM (`BEGIN PUBLIC KEY`) of an ASN.1 `RSAPublicKey`, the only
/// form some SDKs load.
pub(super) fn spki_pem(rsa_public_key: &[u8]) -> String {
    // AlgorithmIdentifier rsaEncryption with NULL parameters.
    const ALG: &[u8] = &[
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut bit_string = vec![0u8];
    bit_string.extend_from_slice(rsa_public_key);
    let mut inner = ALG.to_vec();
    inner.extend(der_tlv(0x03, &bit_string));
    let spki = der_tlv(0x30, &inner);
    let b64 = base64::engine::general_purpose::STANDARD.encode(spki);
    let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        pem.push('\n');
    }
    pem.push_str("-----END PUBLIC KEY-----\n");
    pem
}

fn der_tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(value);
    out
}
