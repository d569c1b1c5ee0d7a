//! Upload endpoints as values: the [`Endpoint`] trait every v3 upload is made from, WeChat Pay's built-in endpoints in one table, and [`Api`], the run-time choice among them.
//!
//! Every v3 media upload has the same shape (PROTOCOL.md 2): a `meta`
//! JSON part that is signed, a `file` part, a signed JSON reply. What
//! differs is the path, the size limit, the media kinds, the meta's field
//! names and what the reply carries; an [`Endpoint`] says exactly that,
//! and [`UploadV3`](super::UploadV3) does the rest for any of them. The
//! clients have one method, `upload(&endpoint, media)`, whose result is the
//! endpoint's [`Endpoint::Output`].
//!
//! The built-in endpoints are each a unit struct with a typed output
//! ([`Image`] gives a [`MediaId`], [`MarketingImage`] a [`MediaUrl`]), and
//! a variant of [`Api`] (output [`UploadedMedia`]) for callers that choose
//! at run time, such as the command line. A caller's endpoint is either a
//! [`CustomApi`](super::CustomApi) (output: the verified JSON) or its own
//! type implementing [`Endpoint`], with the same power as the built-ins:
//!
//! ```
//! use bytes::Bytes;
//! use wxmedia_proto::v3::{self, Endpoint, Reply, Sealer};
//! use wxmedia_proto::{Error, Media, MediaKind};
//!
//! /// 电商平台注销申请图片上传: meta `{file_name, file_digest}`, replies
//! /// `media_id` (built in as [`CancellationImage`]; written out here as
//! /// the example of an endpoint of one's own).
//! #[derive(Debug)]
//! struct CancellationImage;
//!
//! impl Endpoint for CancellationImage {
//!     type Output = String;
//!     fn path(&self) -> &str {
//!         "/v3/ecommerce/account/cancel-applications/media"
//!     }
//!     fn max_size(&self) -> usize {
//!         2 * 1024 * 1024
//!     }
//!     fn accepts(&self, kind: MediaKind) -> bool {
//!         kind.is_image()
//!     }
//!     fn meta(&self, media: &Media, _: &mut Sealer<'_>) -> Result<Bytes, Error> {
//!         v3::file_meta(media, "file_name", "file_digest", &[])
//!     }
//!     fn output(&self, reply: Reply<'_>) -> Result<String, Error> {
//!         reply.id_field("media_id")
//!     }
//! }
//! ```
//!
//! (`examples/own-endpoint` uploads through such an endpoint on every
//! transport.) Adding a built-in endpoint is one entry in this file's
//! `builtins!` table (and an arm in the simulator, and tests).

use std::fmt;

use bytes::Bytes;
use serde_json::Value;

use super::meta::{FILE_META, MetaField, file_meta, meta_of};
use super::reply::id_field;
use super::seal::Sealer;
use super::upload::{FapiaoMediaId, FileId, MediaId, MediaUrl, UploadedMedia};
use crate::endpoints::Region;
use crate::{DecodeError, Error, Media, MediaKind, Rate};

/// A v3 upload endpoint of the `meta` + `file` shape: where it is, what it
/// takes, how its meta names the file, and what its verified reply yields.
///
/// [`UploadV3`](super::UploadV3) checks the media against
/// [`accepts`](Endpoint::accepts) and [`max_size`](Endpoint::max_size) and
/// the path against the rules of [`CustomApi::new`](super::CustomApi::new)
/// before anything is sent; signs [`meta`](Endpoint::meta)'s bytes exactly
/// as sent; verifies the reply's signature; and only then hands the body to
/// [`output`](Endpoint::output).
pub trait Endpoint: fmt::Debug {
    /// What a verified reply yields.
    type Output;

    /// The request path, from `/v3/`, as it is signed.
    fn path(&self) -> &str;

    /// The largest file taken, in bytes.
    fn max_size(&self) -> usize;

    /// Whether the endpoint takes media of `kind`.
    fn accepts(&self, kind: MediaKind) -> bool;

    /// The `meta` JSON for `media`, exactly as it is sent and signed.
    /// Sensitive members are sealed with `sealer` (the key the request
    /// names in `Wechatpay-Serial`); most endpoints have none. The default
    /// is the media uploads' `{"filename", "sha256"}`.
    fn meta(&self, media: &Media, sealer: &mut Sealer<'_>) -> Result<Bytes, Error> {
        let _ = sealer;
        file_meta(media, "filename", "sha256", &[])
    }

    /// The result of a reply whose status and signature were verified.
    fn output(&self, reply: Reply<'_>) -> Result<Self::Output, Error>;

    /// The rate WeChat Pay allows per merchant on this endpoint, which
    /// clients keep. The default, [`Rate::DEFAULT`], is for endpoints
    /// whose limit is not documented.
    fn rate(&self) -> Rate {
        Rate::DEFAULT
    }
}

/// A borrowed endpoint is an endpoint: the clients upload to `&E` without
/// cloning it.
impl<E: Endpoint + ?Sized> Endpoint for &E {
    type Output = E::Output;

    fn path(&self) -> &str {
        (**self).path()
    }

    fn max_size(&self) -> usize {
        (**self).max_size()
    }

    fn accepts(&self, kind: MediaKind) -> bool {
        (**self).accepts(kind)
    }

    fn meta(&self, media: &Media, sealer: &mut Sealer<'_>) -> Result<Bytes, Error> {
        (**self).meta(media, sealer)
    }

    fn output(&self, reply: Reply<'_>) -> Result<E::Output, Error> {
        (**self).output(reply)
    }

    fn rate(&self) -> Rate {
        (**self).rate()
    }
}

/// A verified reply, as [`Endpoint::output`] reads it: 2xx, within the
/// reply limit, its signature checked against the merchant's keys.
#[derive(Debug)]
pub struct Reply<'a> {
    pub(crate) body: &'a Bytes,
    pub(crate) media: &'a Media,
    pub(crate) request_id: Option<String>,
}

impl Reply<'_> {
    /// The body, as received.
    pub fn body(&self) -> &Bytes {
        self.body
    }

    /// The body as JSON (a decode error, keeping the body, when it is not).
    pub fn json(&self) -> Result<Value, Error> {
        serde_json::from_slice(self.body).map_err(|e| Error::Decode {
            reason: DecodeError::Json(e.to_string()),
            body: self.body.clone(),
        })
    }

    /// The string field `name` of the JSON body, held to the rules of the
    /// built-in uploads' ids: present, 1 to
    /// [`MAX_ID_LEN`](super::reply::MAX_ID_LEN) characters, no control
    /// characters.
    pub fn id_field(&self, name: &'static str) -> Result<String, Error> {
        id_field(self.body, name)
    }

    /// The media that was sent.
    pub fn media(&self) -> &Media {
        self.media
    }

    /// The reply's `Request-ID`, which WeChat Pay support asks for.
    pub fn request_id(&self) -> Option<String> {
        self.request_id.clone()
    }
}

/// What a built-in endpoint is, as data: everything [`Api`]'s methods and
/// the command line's `--kind` read.
#[derive(Debug)]
#[non_exhaustive]
pub struct Spec {
    /// The name `wxmedia --kind` takes, and the ledger's `v3-<name>`.
    pub name: &'static str,
    /// What it is for, in a few words (help text).
    pub summary: &'static str,
    /// The request path.
    pub path: &'static str,
    /// The default size limit, in bytes.
    pub max_size: usize,
    /// The media kinds taken.
    pub kinds: &'static [MediaKind],
    /// The meta's members, in order.
    pub meta: &'static [MetaField],
    /// The reply field that carries the result.
    pub reply_field: &'static str,
    /// Another field the host has been seen to answer with instead, taken
    /// when `reply_field` is absent (the marketing image's `media_id`).
    pub also_field: Option<&'static str>,
    /// The rate WeChat Pay allows per merchant ([`Rate::DEFAULT`] where
    /// it is not documented).
    pub rate: Rate,
    /// The only host that serves it, where that is one region's
    /// (the global uploads: [`Region::HongKong`]); `None` where the
    /// client's configured host does.
    pub region: Option<Region>,
}

/// The image kinds every image upload takes.
const IMAGES: &[MediaKind] = &[MediaKind::Jpeg, MediaKind::Png, MediaKind::Bmp];

/// The video kinds of `video_upload`.
const VIDEOS: &[MediaKind] = &[
    MediaKind::Avi,
    MediaKind::Wmv,
    MediaKind::Mpeg,
    MediaKind::Mp4,
    MediaKind::Mov,
    MediaKind::Mkv,
    MediaKind::Flv,
    MediaKind::F4v,
    MediaKind::M4v,
    MediaKind::Rmvb,
];

/// The fapiao file upload's: PDF only.
const PDFS: &[MediaKind] = &[MediaKind::Pdf];

/// The global file storage's: PDF and the images.
const PDFS_AND_IMAGES: &[MediaKind] = &[
    MediaKind::Pdf,
    MediaKind::Jpeg,
    MediaKind::Png,
    MediaKind::Bmp,
];

const MIB: usize = 1024 * 1024;

/// The built-in endpoints from one table: each entry becomes a variant of
/// [`Api`], a unit struct implementing [`Endpoint`] with the entry's
/// output type (made from [`UploadedMedia`]), and its [`Spec`].
macro_rules! builtins {
    ($(
        $(#[$doc:meta])*
        $variant:ident -> $output:ty { $($field:ident: $value:expr),* $(,)? }
    )*) => {
        /// Which built-in v3 upload, chosen at run time (the command line,
        /// a batch): an [`Endpoint`] whose output is [`UploadedMedia`].
        /// For a result typed at compile time, upload to the unit struct
        /// of the same name ([`Image`], [`MarketingImage`], ...).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Api {
            $($(#[$doc])* $variant,)*
        }

        impl Api {
            /// Every built-in endpoint, in the order of the table.
            pub const ALL: &'static [Api] = &[$(Api::$variant),*];

            /// What this endpoint is, as data.
            pub fn spec(self) -> &'static Spec {
                match self {
                    $(Api::$variant => {
                        static SPEC: Spec = Spec { $($field: $value),* };
                        &SPEC
                    })*
                }
            }
        }

        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
            pub struct $variant;

            impl Endpoint for $variant {
                type Output = $output;

                fn path(&self) -> &str {
                    Api::$variant.path()
                }

                fn max_size(&self) -> usize {
                    Api::$variant.default_max_size()
                }

                fn accepts(&self, kind: MediaKind) -> bool {
                    Api::$variant.accepts(kind)
                }

                fn meta(&self, media: &Media, sealer: &mut Sealer<'_>) -> Result<Bytes, Error> {
                    Api::$variant.meta(media, sealer)
                }

                fn output(&self, reply: Reply<'_>) -> Result<$output, Error> {
                    Api::$variant.output(reply).map(<$output>::from)
                }

                fn rate(&self) -> Rate {
                    Api::$variant.spec().rate
                }
            }

            impl From<$variant> for Api {
                fn from(_: $variant) -> Api {
                    Api::$variant
                }
            }
        )*
    };
}

builtins! {
    /// `POST /v3/merchant/media/upload`: JPG/PNG/BMP for merchant
    /// onboarding (图片上传), 10 a second, replies `media_id`. 5 MiB by
    /// default (older documents say 2 MiB; the server decides, so it can be
    /// changed with
    /// [`UploadV3::with_max_size`](super::UploadV3::with_max_size)).
    Image -> MediaId {
        name: "image",
        summary: "merchant onboarding image",
        path: "/v3/merchant/media/upload",
        max_size: 5 * MIB,
        kinds: IMAGES,
        meta: FILE_META,
        reply_field: "media_id",
        also_field: None,
        rate: Rate::per_second(10),
        region: None,
    }
    /// `POST /v3/merchant/media/video_upload`: videos (视频上传; build the
    /// media with [`Media::video`]), 5 MiB, replies `media_id`; its rate is
    /// not documented ([`Rate::DEFAULT`]).
    Video -> MediaId {
        name: "video",
        summary: "video",
        path: "/v3/merchant/media/video_upload",
        max_size: 5 * MIB,
        kinds: VIDEOS,
        meta: FILE_META,
        reply_field: "media_id",
        also_field: None,
        rate: Rate::DEFAULT,
        region: None,
    }
    /// `POST /v3/marketing/favor/media/image-upload`: JPG/PNG/BMP for
    /// coupons (图片上传(营销专用)), 2 MiB, 100 a minute, replies
    /// `media_url` (or, as merchants report the host doing, `media_id`,
    /// which is taken and named in [`MediaUrl::field`]).
    MarketingImage -> MediaUrl {
        name: "marketing-image",
        summary: "coupon (marketing) image",
        path: "/v3/marketing/favor/media/image-upload",
        max_size: 2 * MIB,
        kinds: IMAGES,
        meta: FILE_META,
        reply_field: "media_url",
        also_field: Some("media_id"),
        rate: Rate::per_minute(100),
        region: None,
    }
    /// `POST /v3/merchant-service/images/upload`: JPG/PNG/BMP sent with a
    /// reply to a consumer complaint (消费者投诉2.0, 商户上传反馈图片),
    /// 2 MiB, 10 a second (an image upload), replies `media_id`.
    ComplaintImage -> MediaId {
        name: "complaint-image",
        summary: "image sent with a reply to a consumer complaint",
        path: "/v3/merchant-service/images/upload",
        max_size: 2 * MIB,
        kinds: IMAGES,
        meta: FILE_META,
        reply_field: "media_id",
        also_field: None,
        rate: Rate::per_second(10),
        region: None,
    }
    /// `POST /v3/marketing/partner/product-coupon/media/upload-image`:
    /// JPG/PNG/BMP for product coupons (商品券, service providers'
    /// 图片上传), 2 MiB, at most 20 a second; replies `image_url`, which
    /// comes as [`MediaUrl::media_url`].
    ProductCouponImage -> MediaUrl {
        name: "product-coupon-image",
        summary: "product coupon image (service providers)",
        path: "/v3/marketing/partner/product-coupon/media/upload-image",
        max_size: 2 * MIB,
        kinds: IMAGES,
        meta: FILE_META,
        reply_field: "image_url",
        also_field: None,
        rate: Rate::per_second(20),
        region: None,
    }
    /// `POST /v3/ecommerce/account/cancel-applications/media`: JPG/BMP/PNG
    /// for an e-commerce platform's account-cancellation application
    /// (电商平台, 注销申请图片上传), 2 MiB; the meta names the file
    /// `file_name` and its SHA-256 `file_digest`; replies `media_id`. Its
    /// rate is not documented ([`Rate::DEFAULT`]).
    CancellationImage -> MediaId {
        name: "cancellation-image",
        summary: "e-commerce account cancellation image (platforms)",
        path: "/v3/ecommerce/account/cancel-applications/media",
        max_size: 2 * MIB,
        kinds: IMAGES,
        meta: &[
            MetaField::FileName("file_name"),
            MetaField::Sha256("file_digest"),
        ],
        reply_field: "media_id",
        also_field: None,
        rate: Rate::DEFAULT,
        region: None,
    }
    /// `POST /v3/new-tax-control-fapiao/fapiao-applications/upload-fapiao-file`:
    /// a PDF invoice file (电子发票, 上传电子发票文件), 2 MiB; the meta
    /// names no file but its SM3 digest, under the documents' own
    /// spelling `digest_alogrithm`; replies `fapiao_media_id`
    /// ([`FapiaoMediaId`]), which lives 3 days. Its rate is not
    /// documented ([`Rate::DEFAULT`]). (A service provider's `sub_mchid`
    /// member is left out: upload as the merchant, or use your own
    /// [`Endpoint`].)
    FapiaoFile -> FapiaoMediaId {
        name: "fapiao-file",
        summary: "fapiao (electronic invoice) PDF",
        path: "/v3/new-tax-control-fapiao/fapiao-applications/upload-fapiao-file",
        max_size: 2 * MIB,
        kinds: PDFS,
        meta: &[
            MetaField::Fixed("file_type", "PDF"),
            MetaField::Fixed("digest_alogrithm", "SM3"),
            MetaField::Sm3("digest"),
        ],
        reply_field: "fapiao_media_id",
        also_field: None,
        rate: Rate::DEFAULT,
        region: None,
    }
    /// `POST /v3/global/merchant-storage/file/upload` on the Hong Kong host
    /// (境外, 文件上传): a PDF, JPG, BMP or PNG, 5 MiB; meta
    /// `{filename, digest}` (the SHA-256, under the name the documents'
    /// parameter table gives; their example says `sha256`: if the host
    /// wants that, a [`CustomApi`](super::CustomApi) with
    /// `meta_names("filename", "sha256")` reaches it); replies `file_id`
    /// ([`FileId`]). Build a PDF's media with [`Media::document`], an
    /// image's with [`Media::new`], or either with [`Media::any`]. Its rate
    /// is not documented ([`Rate::DEFAULT`]).
    GlobalFile -> FileId {
        name: "global-file",
        summary: "cross-border merchant file, PDF or image (Hong Kong host)",
        path: "/v3/global/merchant-storage/file/upload",
        max_size: 5 * MIB,
        kinds: PDFS_AND_IMAGES,
        meta: &[MetaField::FileName("filename"), MetaField::Sha256("digest")],
        reply_field: "file_id",
        also_field: None,
        rate: Rate::DEFAULT,
        region: Some(Region::HongKong),
    }
    /// `POST /v3/merchant/media/upload` on the Hong Kong host (境外,
    /// 图片上传): [`Image`]'s path for cross-border merchants, whose
    /// documents give 2 MiB; meta `{filename, sha256}`; replies
    /// `media_id`. Its rate there is not documented ([`Rate::DEFAULT`]).
    GlobalImage -> MediaId {
        name: "global-image",
        summary: "cross-border merchant image (Hong Kong host)",
        path: "/v3/merchant/media/upload",
        max_size: 2 * MIB,
        kinds: IMAGES,
        meta: FILE_META,
        reply_field: "media_id",
        also_field: None,
        rate: Rate::DEFAULT,
        region: Some(Region::HongKong),
    }
}

impl Api {
    /// The request path.
    pub fn path(self) -> &'static str {
        self.spec().path
    }

    /// The default size limit in bytes (see each variant).
    pub fn default_max_size(self) -> usize {
        self.spec().max_size
    }

    /// The field of the reply that carries the result.
    pub fn reply_field(self) -> &'static str {
        self.spec().reply_field
    }

    /// Whether this API takes media of `kind`.
    pub fn accepts(self, kind: MediaKind) -> bool {
        self.spec().kinds.contains(&kind)
    }

    /// Whether it takes videos (whose media is built with
    /// [`Media::video`]) rather than images.
    pub fn takes_videos(self) -> bool {
        self.spec().kinds.iter().any(|k| k.is_video())
    }

    /// Whether it takes documents (PDF, whose media is built with
    /// [`Media::document`]).
    pub fn takes_documents(self) -> bool {
        self.spec().kinds.iter().any(|k| k.is_document())
    }

    /// Whether it takes images (JPEG, PNG, BMP; [`Media::new`]).
    pub fn takes_images(self) -> bool {
        self.spec().kinds.iter().any(|k| k.is_image())
    }

    /// Whether it takes text (TXT, CSV; [`Media::text`]).
    pub fn takes_text(self) -> bool {
        self.spec().kinds.iter().any(|k| k.is_text())
    }

    /// The only host that serves it, where that is one region's (see
    /// [`Spec::region`]).
    pub fn region(self) -> Option<Region> {
        self.spec().region
    }

    /// Its short name (`image`, `marketing-image`, ...), as the command
    /// line's `--kind` takes it.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The endpoint of this short name.
    pub fn from_name(name: &str) -> Option<Api> {
        Api::ALL.iter().copied().find(|a| a.name() == name)
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Endpoint for Api {
    type Output = UploadedMedia;

    fn path(&self) -> &str {
        Api::path(*self)
    }

    fn max_size(&self) -> usize {
        self.default_max_size()
    }

    fn accepts(&self, kind: MediaKind) -> bool {
        Api::accepts(*self, kind)
    }

    /// The built-ins seal nothing.
    fn meta(&self, media: &Media, _: &mut Sealer<'_>) -> Result<Bytes, Error> {
        meta_of(media, self.spec().meta)
    }

    fn rate(&self) -> Rate {
        self.spec().rate
    }

    /// The reply field's value; when it is absent and the endpoint has
    /// another field it has been seen to answer with, that one's, named
    /// in [`UploadedMedia::field`].
    fn output(&self, reply: Reply<'_>) -> Result<UploadedMedia, Error> {
        let spec = self.spec();
        let (field, id) = match (reply.id_field(spec.reply_field), spec.also_field) {
            (
                Err(
                    missing @ Error::Decode {
                        reason: crate::DecodeError::Missing(_),
                        ..
                    },
                ),
                Some(also),
            ) => match reply.id_field(also) {
                Ok(id) => (also, id),
                // Neither: the documented field is what is missing.
                Err(_) => return Err(missing),
            },
            (result, _) => (spec.reply_field, result?),
        };
        Ok(UploadedMedia {
            api: *self,
            id,
            field,
            sha256: reply.media.sha256_hex().to_owned(),
            request_id: reply.request_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(api: Api, body: &'static [u8]) -> Result<UploadedMedia, Error> {
        let media = Media::new(
            "a.png",
            &include_bytes!("../../../wxmedia-sim/samples/sample.png")[..],
        )
        .expect("the sample");
        api.output(Reply {
            body: &Bytes::from_static(body),
            media: &media,
            request_id: None,
        })
    }

    /// The marketing image's documented `media_url`, or the `media_id` the
    /// host has been seen to answer with instead, named; neither is a
    /// decode error naming the documented field. Other endpoints take
    /// only their own field.
    #[test]
    fn a_marketing_image_answered_with_a_media_id_is_taken_and_named() {
        let url = output(Api::MarketingImage, br#"{"media_url":"https://x/1"}"#).unwrap();
        assert_eq!((url.field, url.id.as_str()), ("media_url", "https://x/1"));
        let id = output(Api::MarketingImage, br#"{"media_id":"abc"}"#).unwrap();
        assert_eq!((id.field, id.id.as_str()), ("media_id", "abc"));
        let typed = MediaUrl::from(id);
        assert_eq!((typed.field, typed.media_url.as_str()), ("media_id", "abc"));
        // Both present: the documented one.
        let both = output(
            Api::MarketingImage,
            br#"{"media_id":"abc","media_url":"https://x/2"}"#,
        )
        .unwrap();
        assert_eq!(both.field, "media_url");
        // Neither: the documented field is what is missing.
        assert!(matches!(
            output(Api::MarketingImage, br#"{"other":1}"#),
            Err(Error::Decode {
                reason: crate::DecodeError::Missing("media_url"),
                ..
            })
        ));
        // A bad media_url is not papered over by a media_id.
        assert!(output(Api::MarketingImage, br#"{"media_url":"","media_id":"abc"}"#).is_err());
        // The image upload takes no URL in place of its id.
        assert!(output(Api::Image, br#"{"media_url":"https://x/1"}"#).is_err());
    }
}
