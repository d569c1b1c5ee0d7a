//! APIv3 uploads: JSON meta signed with the merchant's RSA key, replies verified with a WeChat Pay public key or platform certificate.
//!
//! | module | job |
//! |---|---|
//! | [`auth`] | the signed message, the `Authorization` header and its parser |
//! | [`signer`] | the [`Signer`] trait (a key in an HSM or KMS can sign) and the ring-backed [`RsaSigner`] |
//! | [`verify`] | [`Verifier`]: the `Wechatpay-*` reply headers, the 300 s window, keys by serial or public key id |
//! | [`endpoint`] | the [`Endpoint`] trait; the built-in endpoints ([`Image`], [`Video`], [`MarketingImage`], [`ComplaintImage`], ...) in one table, and [`Api`] to choose among them at run time |
//! | [`upload`] | [`UploadV3`], one upload to any endpoint, with [`Merchant`]; results [`UploadedMedia`], [`MediaId`], [`MediaUrl`], [`FapiaoMediaId`], [`FileId`] |
//! | [`meta`] | the usual `meta` shapes: [`file_meta`] (name, digest, extra members) and [`meta_of`] a built-in's [`MetaField`]s |
//! | [`seal`] | [`SealingKey`] and [`Sealer`]: sensitive meta fields encrypted (RSA-OAEP) with the WeChat Pay key `Wechatpay-Serial` names |
//! | [`receipt`] | [`ShoppingReceipt`]: the shopping receipt upload, its order fields and its encrypted phone number; result [`ShoppingReceiptUploaded`] |
//! | [`bank`] | [`BankPackage`]: a bank marketing package's file of encrypted ids; result [`BankTask`] |
//! | [`custom`] | [`CustomApi`], an endpoint described at run time (path, limit, kinds, meta field names and extra fields); result [`CustomUploaded`] |
//! | [`reply`] | verified JSON bodies, and `{code, message, detail}` errors kept whole |
//! | [`certificates`] | [`DownloadCertificates`]: `GET /v3/certificates`, AES-256-GCM with the [`ApiV3Key`], verified by the certificates it carries |
//! | [`inspect`] | what a certificate, private key or public key holds (serial, subject, dates, size), for configuration checks; never the secret |
//!
//! v3 needs no client certificate and no APIv2 key: authentication is the
//! signature. Time and nonce come from the [`Env`](crate::Env), so the
//! same inputs give the same request bytes.

pub mod auth;
pub mod bank;
pub mod certificates;
pub mod custom;
pub mod endpoint;
pub mod inspect;
pub(crate) mod keys;
pub mod meta;
pub mod receipt;
pub mod reply;
pub mod seal;
pub mod signer;
pub mod upload;
pub mod verify;

pub use bank::{BankPackage, BankTask};
pub use certificates::{ApiV3Key, DownloadCertificates, PlatformCertificate, Validity};
pub use custom::{CustomApi, CustomUploaded, MetaDigest};
// Everything of the endpoint table, so that a built-in endpoint added
// there is `v3::TheEndpoint` with no edit here.
pub use endpoint::*;
pub use keys::normalize_serial;
pub use meta::{MetaField, file_meta, meta_of};
pub use receipt::{ShoppingReceipt, ShoppingReceiptUploaded};
pub use seal::{Random, Sealer, SealingKey, Seed};
pub use signer::{RsaSigner, Signer};
pub use upload::{FapiaoMediaId, FileId, MediaId, MediaUrl, Merchant, UploadV3, UploadedMedia};
pub use verify::Verifier;
