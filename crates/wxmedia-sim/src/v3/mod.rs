//! API v3: the four media uploads, a test path for custom metas, and `GET /v3/certificates`, RSA-signed requests checked in the real gateway's order, JSON replies signed in headers.
//!
//! This is an implementation of the server side written from the protocol
//! notes alone, sharing no code with the client core's v3 support: where
//! the two agree, they agree because both follow the record, which is what
//! makes the simulator worth testing a client against.
//!
//! `decide` runs the checks (with `auth` for the `Authorization` header),
//! `reply` signs what goes back, and `certificates` builds the one reply
//! with a body of its own making.

mod auth;
mod certificates;
mod decide;
mod fapiao;
mod refusal;
mod reply;
mod sealed;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};

use crate::handler::{Outcome, RateLimit, Received, Simulator};
use crate::inputs::Inputs;
use crate::pki::{V3Keys, V3Signer};
use certificates::certificates_body;
pub(crate) use certificates::civil;
use decide::{Success, decide};
use reply::{ErrorBody, json, reply};

/// The default size limit of `/v3/merchant/media/upload`: 5 MiB, what the
/// newer documentation says (it said 2 MB until 2024; the server decides,
/// so it is configurable with [`V3Config::with_max_image_size`]).
pub const V3_MAX_IMAGE_SIZE: usize = 5 * 1024 * 1024;
/// The size limit of `/v3/merchant/media/video_upload`: 5 MiB.
pub const V3_MAX_VIDEO_SIZE: usize = 5 * 1024 * 1024;
/// The size limit of `/v3/marketing/favor/media/image-upload`: 2 MiB.
pub const V3_MAX_MARKETING_IMAGE_SIZE: usize = 2 * 1024 * 1024;
/// The size limit of `/v3/merchant-service/images/upload`: 2 MiB.
pub const V3_MAX_COMPLAINT_IMAGE_SIZE: usize = 2 * 1024 * 1024;
/// The size limit of [`TEST_UPLOAD_PATH`]: 2 MiB.
pub const V3_MAX_TEST_UPLOAD_SIZE: usize = 2 * 1024 * 1024;

/// **Not a WeChat Pay path.** The simulator's own endpoint for testing
/// uploads to paths a client does not know (`CustomApi`): it takes any
/// image under [`V3_MAX_TEST_UPLOAD_SIZE`] with a meta of either known
/// shape, `{filename, sha256}` (the media uploads) or `{file_name,
/// file_digest}` (the e-commerce cancellation upload), plus any other
/// members, and replies `{"media_id": …, "meta": <the meta it read>}`, so
/// that a test sees exactly what the server received.
pub const TEST_UPLOAD_PATH: &str = "/v3/wxmedia-sim/test/upload";

pub(crate) const IMAGE_PATH: &str = "/v3/merchant/media/upload";
pub(crate) const VIDEO_PATH: &str = "/v3/merchant/media/video_upload";
pub(crate) const MARKETING_IMAGE_PATH: &str = "/v3/marketing/favor/media/image-upload";
pub(crate) const COMPLAINT_IMAGE_PATH: &str = "/v3/merchant-service/images/upload";
pub(crate) const CERTIFICATES_PATH: &str = "/v3/certificates";

const SCHEME: &str = "WECHATPAY2-SHA256-RSA2048";

/// The v3 endpoints, each with the one method it serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `POST` to one of [`UPLOADS`].
    Upload(&'static Upload),
    /// `POST` [`TEST_UPLOAD_PATH`], the simulator's own.
    TestUpload,
    /// `GET /v3/certificates`.
    Certificates,
}

/// One media upload of the `meta` + `file` shape, as the real service
/// answers it: its suffixes, limit and meta names, each refusal in its
/// own words, and the field its reply carries.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Upload {
    pub(crate) path: &'static str,
    /// The file name suffixes taken, and the message for any other.
    pub(crate) suffixes: Suffixes,
    pub(crate) suffix_message: &'static str,
    pub(crate) limit: Limit,
    pub(crate) size_message: &'static str,
    /// The meta's file-name and SHA-256 fields.
    pub(crate) name_field: &'static str,
    pub(crate) digest_field: &'static str,
    /// The reply's field, and whether it carries a URL (else an id).
    pub(crate) reply_field: &'static str,
    pub(crate) url: bool,
    /// The documented limit per merchant, kept when the simulator's rate
    /// limits are on.
    pub(crate) rate: RateLimit,
}

/// 10 a second: WeChat Pay's FAQ for its image uploads.
const IMAGE_RATE: RateLimit = RateLimit {
    count: 10,
    per: Duration::from_secs(1),
};

/// Where WeChat Pay documents no limit, the simulator keeps the client's
/// conservative default, 5 a second, so that `wxmedia demo` shows every
/// upload paced without refusals.
const UNDOCUMENTED_RATE: RateLimit = RateLimit {
    count: 5,
    per: Duration::from_secs(1),
};

/// Which file name suffixes an upload takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Suffixes {
    /// `jpg`, `jpeg`, `png`, `bmp`.
    Images,
    /// `jpg`, `png`, `bmp` (not `jpeg`): the lists of the later uploads.
    JpgPngBmp,
    /// The ten of `video_upload`.
    Videos,
    /// `pdf`, `jpg`, `png`, `bmp`: the global file storage's.
    PdfJpgPngBmp,
}

/// An upload's size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    /// [`V3Config::max_image_size`].
    ConfiguredImage,
    Fixed(usize),
}

/// The size message of the uploads that have no wording of their own.
const SIZE_MESSAGE: &str = "文件大小不符合要求，请检查后重新提交";

/// Every media upload the simulator serves: one entry each.
pub(crate) const UPLOADS: &[Upload] = &[
    Upload {
        path: IMAGE_PATH,
        suffixes: Suffixes::Images,
        suffix_message: "图片格式不正确，仅支持JPG、JPEG、BMP、PNG",
        limit: Limit::ConfiguredImage,
        size_message: SIZE_MESSAGE,
        name_field: "filename",
        digest_field: "sha256",
        reply_field: "media_id",
        url: false,
        rate: IMAGE_RATE,
    },
    Upload {
        path: VIDEO_PATH,
        suffixes: Suffixes::Videos,
        suffix_message: "视频格式不正确，仅支持avi、wmv、mpeg、mp4、mov、mkv、flv、f4v、m4v、rmvb",
        limit: Limit::Fixed(V3_MAX_VIDEO_SIZE),
        size_message: SIZE_MESSAGE,
        name_field: "filename",
        digest_field: "sha256",
        reply_field: "media_id",
        url: false,
        rate: UNDOCUMENTED_RATE,
    },
    Upload {
        path: MARKETING_IMAGE_PATH,
        suffixes: Suffixes::JpgPngBmp,
        suffix_message: "图片格式不正确，仅支持JPG、BMP、PNG",
        limit: Limit::Fixed(V3_MAX_MARKETING_IMAGE_SIZE),
        size_message: SIZE_MESSAGE,
        name_field: "filename",
        digest_field: "sha256",
        reply_field: "media_url",
        url: true,
        rate: RateLimit {
            count: 100,
            per: Duration::from_secs(60),
        },
    },
    Upload {
        path: COMPLAINT_IMAGE_PATH,
        suffixes: Suffixes::JpgPngBmp,
        suffix_message: "图片格式不正确，仅支持JPG、BMP、PNG格式的图片",
        limit: Limit::Fixed(V3_MAX_COMPLAINT_IMAGE_SIZE),
        size_message: "图片大小不能超过2M，请压缩后重新上传",
        name_field: "filename",
        digest_field: "sha256",
        reply_field: "media_id",
        url: false,
        rate: IMAGE_RATE,
    },
    Upload {
        path: "/v3/marketing/partner/product-coupon/media/upload-image",
        suffixes: Suffixes::JpgPngBmp,
        suffix_message: "图片格式不正确，仅支持JPG、BMP、PNG",
        limit: Limit::Fixed(2 * 1024 * 1024),
        size_message: SIZE_MESSAGE,
        name_field: "filename",
        digest_field: "sha256",
        reply_field: "image_url",
        url: true,
        rate: RateLimit {
            count: 20,
            per: Duration::from_secs(1),
        },
    },
    // Its meta differs (no file name, an SM3 digest): `fapiao.rs` reads
    // it; the name and digest fields here only label the log.
    Upload {
        path: fapiao::FAPIAO_PATH,
        suffixes: Suffixes::JpgPngBmp,
        suffix_message: "文件格式不正确，仅支持PDF",
        limit: Limit::Fixed(fapiao::FAPIAO_MAX_SIZE),
        size_message: "文件大小不能超过2M",
        name_field: "file_type",
        digest_field: "digest",
        reply_field: "fapiao_media_id",
        url: false,
        rate: UNDOCUMENTED_RATE,
    },
    // The e-commerce account-cancellation image (also the endpoint of
    // one's own in examples/own-endpoint).
    Upload {
        path: "/v3/ecommerce/account/cancel-applications/media",
        suffixes: Suffixes::JpgPngBmp,
        suffix_message: "图片格式不正确，仅支持JPG、BMP、PNG",
        limit: Limit::Fixed(2 * 1024 * 1024),
        size_message: SIZE_MESSAGE,
        name_field: "file_name",
        digest_field: "file_digest",
        reply_field: "media_id",
        url: false,
        rate: UNDOCUMENTED_RATE,
    }, // The global (cross-border) file storage, on the Hong Kong host: PDFs
    // and images, 5 MB, the SHA-256 under `digest` as the documents'
    // parameter table names it. (The global image upload is the image
    // path above; a simulator standing for the Hong Kong host is given
    // its 2 MB with `V3Config::with_max_image_size`.)
    Upload {
        path: "/v3/global/merchant-storage/file/upload",
        suffixes: Suffixes::PdfJpgPngBmp,
        suffix_message: "文件格式不正确，仅支持PDF、JPG、BMP、PNG",
        limit: Limit::Fixed(5 * 1024 * 1024),
        size_message: "文件大小不能超过5M",
        name_field: "filename",
        digest_field: "digest",
        reply_field: "file_id",
        url: false,
        rate: UNDOCUMENTED_RATE,
    }, // The two uploads with sealed fields: `sealed.rs` reads their metas
    // and files; the entries give their paths (the bank package's as a
    // pattern: `route` maps every package to it) and their rates.
    Upload {
        path: sealed::RECEIPT_PATH,
        suffixes: Suffixes::JpgPngBmp,
        suffix_message: "电子小票图片只支持PNG、JPG格式",
        limit: Limit::Fixed(sealed::RECEIPT_MAX_SIZE),
        size_message: "文件大小不能超过200KB",
        name_field: "transaction_id",
        digest_field: "sha256",
        reply_field: "receipt",
        url: false,
        rate: UNDOCUMENTED_RATE,
    },
    Upload {
        path: sealed::BANK_PATH,
        suffixes: Suffixes::JpgPngBmp,
        suffix_message: "只支持TXT或CSV格式的纯文本文件",
        limit: Limit::Fixed(sealed::BANK_MAX_SIZE),
        size_message: "文件大小不能超过2MB",
        name_field: "filename",
        digest_field: "sha256",
        reply_field: "task_id",
        url: false,
        rate: UNDOCUMENTED_RATE,
    },
];

/// The v3 endpoint at this method and path, if any.
pub(crate) fn route(method: &Method, path: &str) -> Option<Endpoint> {
    match (method, path) {
        (&Method::POST, TEST_UPLOAD_PATH) => Some(Endpoint::TestUpload),
        (&Method::GET, CERTIFICATES_PATH) => Some(Endpoint::Certificates),
        (&Method::POST, path) => {
            let path = if sealed::package_id(path).is_some() {
                sealed::BANK_PATH
            } else {
                path
            };
            UPLOADS
                .iter()
                .find(|u| u.path == path)
                .map(Endpoint::Upload)
        }
        _ => None,
    }
}

/// API v3's keys and settings for a [`Simulator`]: which key signs the
/// replies and how large an image `/v3/merchant/media/upload` takes.
/// Cheap to clone; clones share the keys.
#[derive(Debug, Clone)]
pub struct V3Config {
    keys: Arc<V3Keys>,
    signer: V3Signer,
    max_image_size: usize,
}

impl V3Config {
    /// These keys, replies signed with the WeChat Pay public key, and the
    /// 5 MiB image limit.
    pub fn new(keys: V3Keys) -> V3Config {
        V3Config {
            keys: Arc::new(keys),
            signer: V3Signer::default(),
            max_image_size: V3_MAX_IMAGE_SIZE,
        }
    }

    /// Sign replies with `signer` instead.
    #[must_use]
    pub fn with_signer(mut self, signer: V3Signer) -> V3Config {
        self.signer = signer;
        self
    }

    /// Accept images up to `bytes` on `/v3/merchant/media/upload`.
    #[must_use]
    pub fn with_max_image_size(mut self, bytes: usize) -> V3Config {
        self.max_image_size = bytes;
        self
    }

    /// The key material.
    pub fn keys(&self) -> &V3Keys {
        &self.keys
    }

    /// Which key signs the replies.
    pub fn signer(&self) -> V3Signer {
        self.signer
    }

    /// The image limit of `/v3/merchant/media/upload`, in bytes.
    pub fn max_image_size(&self) -> usize {
        self.max_image_size
    }

    /// What `Wechatpay-Serial` says on the replies.
    pub fn reply_serial(&self) -> &str {
        self.keys.serial_for(self.signer)
    }
}

/// Answer one request routed to a v3 endpoint, filling in what was
/// received; returns what was decided and the signed reply.
pub(crate) fn handle(
    sim: &Simulator,
    v3: &V3Config,
    endpoint: Endpoint,
    req: &Request<Bytes>,
    inputs: &Inputs,
    record: &mut Received,
) -> (Outcome, Response<Bytes>) {
    let (outcome, status, body) = match decide(sim, v3, endpoint, req, inputs, record) {
        Ok(Success::MediaId { field, media_id }) => {
            let body = json(&serde_json::json!({ field: media_id }));
            (Outcome::Uploaded { media_id }, StatusCode::OK, body)
        }
        Ok(Success::Body { id, body }) => (
            Outcome::Uploaded { media_id: id },
            StatusCode::OK,
            json(&body),
        ),
        Ok(Success::Echo { media_id, meta }) => {
            let body = json(&serde_json::json!({ "media_id": media_id, "meta": meta }));
            (Outcome::Uploaded { media_id }, StatusCode::OK, body)
        }
        Ok(Success::MediaUrl { field, media_url }) => {
            let body = json(&serde_json::json!({ field: media_url }));
            (Outcome::UploadedUrl { media_url }, StatusCode::OK, body)
        }
        Ok(Success::Certificates) => (
            Outcome::Certificates,
            StatusCode::OK,
            certificates_body(v3, inputs),
        ),
        Err(r) => {
            let body = json(&ErrorBody {
                code: &r.code,
                detail: r.detail.as_ref(),
                message: &r.message,
            });
            let outcome = Outcome::Refused {
                code: r.code,
                message: r.message,
            };
            (outcome, r.status, body)
        }
    };
    let faults = sim.take_v3_reply_faults();
    (outcome, reply(v3, inputs, status, body, &faults))
}

fn sha256_hex(data: &[u8]) -> String {
    hex_lower(ring::digest::digest(&ring::digest::SHA256, data).as_ref())
}

pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
