//! Shared fixtures of the wxmedia benchmarks: deterministic sample media and a signed reply.

use bytes::Bytes;
use wxmedia_proto::v2::{ApiKey, SignType, StringToSign};

/// `size` bytes that pass as a JPEG: the magic, then deterministic noise
/// (an LCG, so runs are repeatable and nothing compresses).
pub fn sample_media(size: usize) -> Bytes {
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&[0xFF, 0xD8, 0xFF, 0xE0]);
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    while out.len() < size {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        out.push((x >> 33) as u8);
    }
    out.truncate(size);
    Bytes::from(out)
}

/// A signed success reply as the simulator writes it, and its key.
pub fn reply_fixture() -> (Bytes, ApiKey) {
    let key = ApiKey::new("0123456789abcdefghijklmnopqrstuv").expect("valid");
    let fields = [
        ("return_code", "SUCCESS"),
        ("return_msg", "OK"),
        ("result_code", "SUCCESS"),
        ("media_id", "H1ihR9JUtVj-J7CJqBUY5ZOrG_Je75H-rKhTG7FUmg9s"),
    ];
    let sign = StringToSign::new(fields).sign(&key, SignType::Md5);
    let mut all = fields.to_vec();
    all.push(("sign", sign.as_str()));
    (Bytes::from(wxmedia_proto::v2::xml::write(&all)), key)
}
