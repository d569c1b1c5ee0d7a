//! The shopping receipt upload (电子小票, `POST /v3/marketing/shopping-receipt/shoppingreceipts`): a JPG or PNG of at most 200 KB for one WeChat Pay order, whose meta names the order and may carry the merchant's consultation phone number sealed for WeChat Pay.
//!
//! Unlike the media uploads, the meta names no file: it names the order
//! (`transaction_id`, and the merchant, sub-merchant, out-trade number and
//! payer's openid as the order has them), the file's `sha256`, the
//! `upload_time` (RFC 3339) and, optionally,
//! `merchant_contact_information.consultation_phone_number`, a sensitive
//! field: RSA-OAEP under the WeChat Pay key that `Wechatpay-Serial` names
//! ([`Sealer`]). The reply carries a `receipt` object.

use std::fmt;

use bytes::Bytes;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::certificates::parse_rfc3339;
use super::endpoint::{Endpoint, Reply};
use super::meta::members_json;
use super::seal::Sealer;
use crate::{DecodeError, Error, Media, MediaKind};

/// The path.
pub const SHOPPING_RECEIPT_PATH: &str = "/v3/marketing/shopping-receipt/shoppingreceipts";

/// The largest receipt image: 200 KB, read as 200 KiB (as the simulator
/// reads WeChat Pay's "2MB" as 2 MiB).
pub const SHOPPING_RECEIPT_MAX_SIZE: usize = 200 * 1024;

/// A shopping receipt for one WeChat Pay order, as an [`Endpoint`]: build
/// it with the order's fields, then upload the receipt image to it.
///
/// ```
/// use wxmedia_proto::v3::ShoppingReceipt;
///
/// let receipt = ShoppingReceipt::new("4200000008202209139188072801", "2026-12-07T15:39:35.000+08:00")?
///     .transaction_mchid("1230000109")?
///     .out_trade_no("1217752501201407033233368018")?
///     .openid("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")?
///     .consultation_phone_number("0755-86013388")?;
/// assert!(format!("{receipt:?}").contains("<sealed when sent>"));
/// # Ok::<(), wxmedia_proto::Error>(())
/// ```
#[derive(Clone)]
pub struct ShoppingReceipt {
    transaction_id: String,
    transaction_mchid: Option<String>,
    transaction_sub_mchid: Option<String>,
    out_trade_no: Option<String>,
    openid: Option<String>,
    upload_time: String,
    consultation_phone_number: Option<Zeroizing<String>>,
}

impl fmt::Debug for ShoppingReceipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShoppingReceipt")
            .field("transaction_id", &self.transaction_id)
            .field("transaction_mchid", &self.transaction_mchid)
            .field("transaction_sub_mchid", &self.transaction_sub_mchid)
            .field("out_trade_no", &self.out_trade_no)
            .field("openid", &self.openid)
            .field("upload_time", &self.upload_time)
            .field(
                "consultation_phone_number",
                &self
                    .consultation_phone_number
                    .as_ref()
                    .map(|_| "<sealed when sent>"),
            )
            .finish()
    }
}

/// A field of the order: 1 to `max` printable ASCII characters, no space
/// (ids, numbers and openids are all of that alphabet).
fn order_field(what: &'static str, value: &str, max: usize) -> Result<String, Error> {
    if value.is_empty() || value.len() > max {
        return Err(Error::input(what, format!("must be 1 to {max} characters")));
    }
    if let Some(c) = value.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(Error::input(
            what,
            format!("must be printable ASCII without spaces, not {c:?}"),
        ));
    }
    Ok(value.to_owned())
}

impl ShoppingReceipt {
    /// A receipt for the order `transaction_id` (微信支付订单号, up to 32
    /// characters), uploaded at `upload_time`: RFC 3339 with an offset, as
    /// WeChat Pay writes times (`2022-05-07T15:39:35.000+08:00`;
    /// [`beijing_time`](super::certificates::beijing_time) writes one from
    /// a Unix time).
    pub fn new(transaction_id: &str, upload_time: &str) -> Result<ShoppingReceipt, Error> {
        if parse_rfc3339(upload_time).is_none() {
            return Err(Error::input(
                "upload_time",
                "must be an RFC 3339 time with an offset, as 2022-05-07T15:39:35.000+08:00",
            ));
        }
        Ok(ShoppingReceipt {
            transaction_id: order_field("transaction_id", transaction_id, 32)?,
            transaction_mchid: None,
            transaction_sub_mchid: None,
            out_trade_no: None,
            openid: None,
            upload_time: upload_time.to_owned(),
            consultation_phone_number: None,
        })
    }

    /// The merchant that placed the order (下单商户号; needed when the order
    /// has no sub-merchant).
    pub fn transaction_mchid(mut self, mch_id: &str) -> Result<ShoppingReceipt, Error> {
        self.transaction_mchid = Some(order_field("transaction_mchid", mch_id, 32)?);
        Ok(self)
    }

    /// The sub-merchant that placed the order (下单子商户号; a service
    /// provider's orders).
    pub fn transaction_sub_mchid(mut self, mch_id: &str) -> Result<ShoppingReceipt, Error> {
        self.transaction_sub_mchid = Some(order_field("transaction_sub_mchid", mch_id, 32)?);
        Ok(self)
    }

    /// The merchant's own order number (商户订单号).
    pub fn out_trade_no(mut self, no: &str) -> Result<ShoppingReceipt, Error> {
        self.out_trade_no = Some(order_field("out_trade_no", no, 32)?);
        Ok(self)
    }

    /// The payer's openid (the sub-openid when the order has one).
    pub fn openid(mut self, openid: &str) -> Result<ShoppingReceipt, Error> {
        self.openid = Some(order_field("openid", openid, 128)?);
        Ok(self)
    }

    /// The number customers call about the purchase (咨询电话), sealed
    /// for WeChat Pay when the upload is prepared and never shown by
    /// `Debug`: digits, spaces, `+`, `-`, parentheses, up to 32.
    pub fn consultation_phone_number(mut self, phone: &str) -> Result<ShoppingReceipt, Error> {
        let ok = |c: char| c.is_ascii_digit() || " +-()".contains(c);
        if phone.is_empty() || phone.len() > 32 || !phone.chars().all(ok) {
            return Err(Error::input(
                "consultation_phone_number",
                "must be 1 to 32 digits, spaces, '+', '-' or parentheses (the number is not shown)",
            ));
        }
        self.consultation_phone_number = Some(Zeroizing::new(phone.to_owned()));
        Ok(self)
    }
}

impl Endpoint for ShoppingReceipt {
    type Output = ShoppingReceiptUploaded;

    fn path(&self) -> &str {
        SHOPPING_RECEIPT_PATH
    }

    fn max_size(&self) -> usize {
        SHOPPING_RECEIPT_MAX_SIZE
    }

    /// PNG and JPG only.
    fn accepts(&self, kind: MediaKind) -> bool {
        matches!(kind, MediaKind::Jpeg | MediaKind::Png)
    }

    /// The order's fields in the documents' order, the file's `sha256`,
    /// `upload_time`, then the sealed phone number.
    fn meta(&self, media: &Media, sealer: &mut Sealer<'_>) -> Result<Bytes, Error> {
        let phone = match &self.consultation_phone_number {
            Some(p) => Some(sealer.seal(p.as_bytes())?),
            None => None,
        };
        let mut members = vec![(
            "transaction_id".to_owned(),
            Value::from(&*self.transaction_id),
        )];
        for (name, value) in [
            ("transaction_mchid", &self.transaction_mchid),
            ("transaction_sub_mchid", &self.transaction_sub_mchid),
            ("out_trade_no", &self.out_trade_no),
            ("openid", &self.openid),
        ] {
            if let Some(v) = value {
                members.push((name.to_owned(), Value::from(&**v)));
            }
        }
        members.push(("sha256".to_owned(), media.sha256_hex().into()));
        members.push(("upload_time".to_owned(), Value::from(&*self.upload_time)));
        if let Some(sealed) = phone {
            let mut contact = Map::new();
            contact.insert("consultation_phone_number".into(), sealed.into());
            members.push(("merchant_contact_information".to_owned(), contact.into()));
        }
        members_json(&members)
    }

    /// The `receipt` object, which must be there.
    fn output(&self, reply: Reply<'_>) -> Result<ShoppingReceiptUploaded, Error> {
        let body = reply.json()?;
        let Some(Value::Object(receipt)) = body.get("receipt") else {
            return Err(Error::Decode {
                reason: DecodeError::Missing("receipt"),
                body: reply.body().clone(),
            });
        };
        Ok(ShoppingReceiptUploaded {
            receipt: receipt.clone(),
            sha256: reply.media().sha256_hex().to_owned(),
            request_id: reply.request_id(),
        })
    }
}

/// A verified shopping receipt upload.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ShoppingReceiptUploaded {
    /// The reply's `receipt` object (电子小票上传信息), as verified.
    pub receipt: Map<String, Value>,
    /// The SHA-256 of the image that was sent, lowercase hex.
    pub sha256: String,
    /// The reply's `Request-ID`, which WeChat Pay support asks for.
    pub request_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_fields_and_the_time_are_checked() {
        let t = "2022-05-07T15:39:35.000+08:00";
        assert!(ShoppingReceipt::new("", t).is_err());
        assert!(ShoppingReceipt::new(&"4".repeat(33), t).is_err());
        assert!(ShoppingReceipt::new("42 00", t).is_err());
        assert!(ShoppingReceipt::new("4200", "2022-05-07 15:39:35").is_err());
        assert!(ShoppingReceipt::new("4200", "2022-05-07T15:39:35").is_err());
        let r = ShoppingReceipt::new("4200", "2022-05-07T07:39:35Z").unwrap();
        assert!(r.clone().openid(&"o".repeat(129)).is_err());
        for bad in ["", "call me", "1380000000000000000000000000000000", "12\n3"] {
            let e = r.clone().consultation_phone_number(bad).unwrap_err();
            assert!(!e.to_string().contains(bad) || bad.is_empty(), "{e}");
        }
    }

    #[test]
    fn debug_never_shows_the_phone_number() {
        let r = ShoppingReceipt::new("4200", "2022-05-07T07:39:35Z")
            .unwrap()
            .consultation_phone_number("0755-86013388")
            .unwrap();
        let dbg = format!("{r:?}");
        assert!(!dbg.contains("86013388"), "{dbg}");
    }
}
