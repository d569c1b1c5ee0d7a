//! The two uploads whose fields are sealed for WeChat Pay: the shopping receipt (上传电子小票; its consultation phone number) and a bank marketing package's upload task (号码包; every line of its file). Both require `Wechatpay-Serial` naming a key the simulator holds, and open what was sealed with it.

use serde_json::{Value, json};
use wxmedia_proto::MediaKind;

use super::decide::{Meta, Success, media_id};
use super::refusal::{Refusal, param_error};
use super::{V3Config, sha256_hex};
use crate::handler::{Received, Simulator};
use crate::inputs::Inputs;
use crate::multipart::Part;

/// The shopping receipt's path.
pub(crate) const RECEIPT_PATH: &str = "/v3/marketing/shopping-receipt/shoppingreceipts";
/// Its largest image: 200 KB, read as 200 KiB.
pub(crate) const RECEIPT_MAX_SIZE: usize = 200 * 1024;
/// The bank package tasks' path, as a pattern (every package's path is
/// routed to it).
pub(crate) const BANK_PATH: &str = "/v3/marketing/bank/packages/{package_id}/tasks";
/// The largest package file: 2 MB, read as 2 MiB.
pub(crate) const BANK_MAX_SIZE: usize = 2 * 1024 * 1024;

/// The package id of a bank package tasks path: 4 to 16 letters and
/// digits between `/v3/marketing/bank/packages/` and `/tasks`.
pub(crate) fn package_id(path: &str) -> Option<&str> {
    let id = path
        .strip_prefix("/v3/marketing/bank/packages/")?
        .strip_suffix("/tasks")?;
    ((4..=16).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(id)
}

/// The request's `Wechatpay-Serial`, which these uploads require: it
/// names the key their sealed fields were sealed with.
pub(super) fn wechatpay_serial(
    v3: &V3Config,
    req: &http::Request<bytes::Bytes>,
) -> Result<String, Refusal> {
    let serial = req
        .headers()
        .get("Wechatpay-Serial")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            param_error("请求头缺少Wechatpay-Serial，请使用微信支付公钥ID或平台证书序列号")
        })?;
    // An unknown serial is refused before anything is opened.
    if !v3.keys().holds(serial) {
        return Err(param_error(
            "Wechatpay-Serial对应的微信支付公钥或平台证书不存在",
        ));
    }
    Ok(serial.to_owned())
}

/// What a sealed field held, as the log keeps it: its SHA-256, never the
/// text (it is personal data even in a test).
fn opened(v3: &V3Config, serial: &str, sealed: &str) -> Option<String> {
    match v3.keys().open(serial, sealed)? {
        Ok(plain) => Some(format!("sha256:{}", sha256_hex(&plain))),
        Err(_) => None,
    }
}

/// The shopping receipt: the order's fields, the image's SHA-256, the
/// upload time, and an optional sealed consultation phone number; a JPG or
/// PNG of at most 200 KB. The reply's `receipt` echoes the order.
pub(super) fn receipt(
    v3: &V3Config,
    serial: &str,
    meta: &[u8],
    file: Option<Part>,
    inputs: &Inputs,
    record: &mut Received,
) -> Result<Success, Refusal> {
    let meta = Meta::read(meta)?;
    let mut receipt = serde_json::Map::new();
    for name in [
        "transaction_id",
        "transaction_mchid",
        "transaction_sub_mchid",
        "out_trade_no",
        "openid",
        "upload_time",
    ] {
        if let Some(v) = meta.text(name)? {
            record.fields.push((name.to_owned(), v.clone()));
            receipt.insert(name.to_owned(), v.into());
        }
    }
    let present = |k: &str| {
        receipt
            .get(k)
            .and_then(Value::as_str)
            .is_some_and(|v| !v.is_empty())
    };
    if !present("transaction_id") {
        return Err(param_error("meta中缺少transaction_id"));
    }
    if !present("transaction_mchid") && !present("transaction_sub_mchid") {
        return Err(param_error(
            "transaction_mchid与transaction_sub_mchid不能同时为空",
        ));
    }
    let upload_time = receipt["upload_time"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if !rfc3339_like(&upload_time) {
        return Err(param_error("upload_time格式错误，请使用rfc3339格式"));
    }
    let sha256 = meta
        .text("sha256")?
        .filter(|d| !d.is_empty())
        .ok_or_else(|| param_error("meta中缺少sha256"))?;
    match meta.value("merchant_contact_information")? {
        None => {}
        Some(Value::Object(contact)) => {
            let sealed = contact
                .get("consultation_phone_number")
                .and_then(Value::as_str)
                .ok_or_else(|| param_error("consultation_phone_number参数格式错误"))?;
            let plain = opened(v3, serial, sealed).ok_or_else(|| {
                param_error(
                    "consultation_phone_number解密失败，请使用Wechatpay-Serial对应的公钥加密",
                )
            })?;
            record
                .fields
                .push(("consultation_phone_number".to_owned(), plain));
        }
        Some(_) => return Err(param_error("merchant_contact_information参数格式错误")),
    }
    let file = file.ok_or_else(|| param_error("缺少file参数"))?;
    let data = &file.data;
    if data.is_empty() || data.len() > RECEIPT_MAX_SIZE {
        return Err(param_error("文件大小不能超过200KB"));
    }
    if !matches!(
        MediaKind::sniff(data),
        Some(MediaKind::Jpeg | MediaKind::Png)
    ) {
        return Err(param_error("电子小票图片只支持PNG、JPG格式"));
    }
    if !sha256.eq_ignore_ascii_case(&sha256_hex(data)) {
        return Err(param_error("文件sha256值与meta中的sha256不一致"));
    }
    Ok(Success::Body {
        id: media_id(inputs),
        body: json!({ "receipt": receipt }),
    })
}

/// A bank package task: `{filename, sha256, bank_type}`, a UTF-8 TXT or
/// CSV file of at most 2 MB whose lines are ids sealed with the key
/// `Wechatpay-Serial` names, a file name new to the package. The log
/// counts the lines opened and refused; the reply is the task, processing.
#[allow(clippy::too_many_arguments)] // the decision chain's inputs, as the other endpoints take them
pub(super) fn bank_task(
    sim: &Simulator,
    v3: &V3Config,
    serial: &str,
    package: &str,
    meta: &[u8],
    file: Option<Part>,
    inputs: &Inputs,
    record: &mut Received,
) -> Result<Success, Refusal> {
    let meta = Meta::read(meta)?;
    let filename = meta.text("filename")?.unwrap_or_default();
    let sha256 = meta.text("sha256")?.unwrap_or_default();
    let bank_type = meta.text("bank_type")?.unwrap_or_default();
    for (name, value) in [
        ("filename", &filename),
        ("sha256", &sha256),
        ("bank_type", &bank_type),
    ] {
        record.fields.push((name.to_owned(), value.clone()));
    }
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"_.-".contains(&b);
    if !(4..=128).contains(&filename.len()) || !filename.bytes().all(allowed) {
        return Err(param_error(
            "filename参数格式错误，可包含英文字母、数字、_、.、-",
        ));
    }
    if !(1..=32).contains(&bank_type.len()) {
        return Err(param_error("bank_type参数格式错误"));
    }
    if sha256.is_empty() {
        return Err(param_error("meta中缺少sha256"));
    }
    let suffix = filename
        .rsplit_once('.')
        .map(|(_, s)| s.to_ascii_lowercase());
    if !matches!(suffix.as_deref(), Some("txt" | "csv")) {
        return Err(param_error("只支持TXT或CSV格式的纯文本文件"));
    }
    let file = file.ok_or_else(|| param_error("缺少file参数"))?;
    let data = &file.data;
    if data.is_empty() || data.len() > BANK_MAX_SIZE {
        return Err(param_error("文件大小不能超过2MB"));
    }
    if !sha256.eq_ignore_ascii_case(&sha256_hex(data)) {
        return Err(param_error("文件sha256值与meta中的sha256不一致"));
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return Err(param_error("文件编码格式错误，请使用utf-8编码"));
    };
    let (mut good, mut bad) = (0usize, 0usize);
    for line in text.split('\n').filter(|l| !l.is_empty()) {
        match opened(v3, serial, line) {
            Some(_) => good += 1,
            None => bad += 1,
        }
    }
    record
        .fields
        .push(("lines_opened".to_owned(), good.to_string()));
    record
        .fields
        .push(("lines_refused".to_owned(), bad.to_string()));
    if !sim.claim_bank_task(package, &filename) {
        return Err(param_error("同一个号码包的多个上传任务的文件名不可重复"));
    }
    let task_id =
        u64::from_be_bytes(inputs.random[0..8].try_into().expect("8 bytes")) % 10_000_000_000;
    Ok(Success::Body {
        id: task_id.to_string(),
        body: json!({
            "task_id": task_id.to_string(),
            "package_id": package,
            "filename": filename,
            "create_time": wxmedia_proto::v3::certificates::beijing_time(i64::try_from(inputs.unix_time).unwrap_or(i64::MAX)),
            "status": "PROCESSING",
        }),
    })
}

/// `YYYY-MM-DDTHH:MM:SS`, an optional fraction, then `Z` or `±HH:MM`.
fn rfc3339_like(t: &str) -> bool {
    let b = t.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    if !(digits(0..4) && at(4, b'-') && digits(5..7) && at(7, b'-') && digits(8..10))
        || !(matches!(b.get(10), Some(b'T' | b't')) && digits(11..13) && at(13, b':'))
        || !(digits(14..16) && at(16, b':') && digits(17..19))
    {
        return false;
    }
    let mut i = 19;
    if at(i, b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match b.get(i) {
        Some(b'Z' | b'z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            digits(i + 1..i + 3) && at(i + 3, b':') && digits(i + 4..i + 6) && i + 6 == b.len()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_ids_come_from_the_path() {
        assert_eq!(
            package_id("/v3/marketing/bank/packages/8473295/tasks"),
            Some("8473295")
        );
        assert_eq!(package_id("/v3/marketing/bank/packages/847/tasks"), None);
        assert_eq!(package_id("/v3/marketing/bank/packages/84%2F5/tasks"), None);
        assert_eq!(package_id("/v3/marketing/bank/packages/8473295"), None);
    }

    #[test]
    fn times_are_rfc3339_with_an_offset() {
        for good in [
            "2022-05-07T15:39:35.000+08:00",
            "2022-05-07T07:39:35Z",
            "2022-05-07T15:39:35+08:00",
        ] {
            assert!(rfc3339_like(good), "{good}");
        }
        for bad in [
            "2022-05-07 15:39:35",
            "2022-05-07T15:39:35",
            "2022-05-07T15:39:35.+08:00",
            "2022-05-07T15:39:35+0800",
            "",
        ] {
            assert!(!rfc3339_like(bad), "{bad}");
        }
    }
}
