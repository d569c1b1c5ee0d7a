//! Shared fixtures of the wxmedia benchmarks: deterministic sample media and a signed reply.

use bytes::Bytes;
use wxmedia_proto::v2::{ApiKey, SignType, StringToSign};

/// `size` bytes (at least 16) that pass as a whole JPEG: SOI, a scan
/// header, deterministic noise as the entropy-coded data (an LCG, so runs
/// are repeatable and nothing compresses; every `FF` stuffed with `00`, as
/// in a real scan), EOI: the structure of a photo, so that the media
/// checks do the work a real one costs them.
pub fn sample_media(size: usize) -> Bytes {
    const SOI_SOS: [u8; 12] = [
        0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00,
    ];
    assert!(size >= 16, "too small for a JPEG");
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&SOI_SOS);
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    while out.len() < size - 2 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let byte = (x >> 33) as u8;
        out.push(byte);
        if byte == 0xFF {
            out.push(0x00);
        }
    }
    // A stuffing 00 may have gone one past; an FF left last before EOI is
    // a fill byte, which is allowed.
    out.truncate(size - 2);
    out.extend_from_slice(&[0xFF, 0xD9]);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_media_is_a_whole_jpeg_of_the_asked_size() {
        for size in [16, 17, 1000, 10 * 1024, 2 * 1024 * 1024] {
            let data = sample_media(size);
            assert_eq!(data.len(), size);
            assert!(wxmedia_proto::Media::new("a.jpg", data).is_ok(), "{size}");
        }
    }
}
