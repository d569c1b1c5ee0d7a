//! The fapiao file upload (上传电子发票文件): a PDF whose meta names no file but its SM3 digest, with the documents' own field names (`digest_alogrithm`, sic).

use wxmedia_proto::MediaKind;

use super::decide::{Meta, Success};
use super::hex_lower;
use super::refusal::{Refusal, param_error};
use crate::handler::Received;
use crate::inputs::Inputs;
use crate::multipart::Part;

/// The path.
pub(crate) const FAPIAO_PATH: &str =
    "/v3/new-tax-control-fapiao/fapiao-applications/upload-fapiao-file";

/// The largest file taken: 2 MB, read as 2 MiB.
pub(crate) const FAPIAO_MAX_SIZE: usize = 2 * 1024 * 1024;

/// The SM3 of `data`, lowercase hex: the simulator's own computation (the
/// RustCrypto implementation), against which the client's digest is held.
fn sm3_hex(data: &[u8]) -> String {
    use sm3::Digest as _;
    hex_lower(&sm3::Sm3::digest(data))
}

/// Check the meta and the file as the fapiao service does; its id on
/// success.
pub(super) fn decide(
    meta: &[u8],
    file: Option<Part>,
    inputs: &Inputs,
    record: &mut Received,
) -> Result<Success, Refusal> {
    let meta = Meta::read(meta)?;
    let file_type = meta.text("file_type")?;
    let algorithm = meta.text("digest_alogrithm")?;
    let digest = meta.text("digest")?;
    // Read so that a malformed one is refused as the service would.
    meta.text("sub_mchid")?;
    for (name, value) in [
        ("file_type", &file_type),
        ("digest_alogrithm", &algorithm),
        ("digest", &digest),
    ] {
        if let Some(v) = value {
            record.fields.push((name.to_owned(), v.clone()));
        }
    }
    if file_type.as_deref() != Some("PDF") {
        return Err(param_error("file_type参数错误，仅支持PDF"));
    }
    if algorithm.as_deref() != Some("SM3") {
        return Err(param_error("digest_alogrithm参数错误，仅支持SM3"));
    }
    let digest = digest
        .filter(|d| !d.is_empty())
        .ok_or_else(|| param_error("meta中缺少digest"))?;
    let file = file.ok_or_else(|| param_error("缺少file参数"))?;
    let data = &file.data;
    if data.is_empty() || data.len() > FAPIAO_MAX_SIZE {
        return Err(param_error("文件大小不能超过2M"));
    }
    if MediaKind::sniff(data) != Some(MediaKind::Pdf) {
        return Err(param_error("文件格式不正确，仅支持PDF"));
    }
    if !digest.eq_ignore_ascii_case(&sm3_hex(data)) {
        return Err(param_error("文件摘要与meta中的digest不一致"));
    }
    Ok(Success::MediaId {
        field: "fapiao_media_id",
        media_id: super::decide::media_id(inputs),
    })
}

#[cfg(test)]
mod tests {
    /// GB/T 32905's own example: SM3("abc").
    #[test]
    fn sm3_of_abc_is_the_standards_value() {
        assert_eq!(
            super::sm3_hex(b"abc"),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
    }
}
