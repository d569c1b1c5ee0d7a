//! Targets for WeChat Pay's image uploads, from the core's own limits: the v2 upload and any v3 endpoint that takes JPEG, built-in or the caller's.

use wxmedia_proto::v3::Endpoint;
#[cfg(test)]
use wxmedia_proto::v3::{self, Api, CustomApi};

use crate::Target;

impl Target {
    /// The v2 `uploadmedia` target: 2 MiB of JPEG, PNG or BMP.
    #[must_use]
    pub fn for_v2() -> Target {
        Target::with_limit(wxmedia_proto::v2::MAX_MEDIA_SIZE)
    }

    /// The target of a v3 endpoint that takes JPEG, with its limit (5 MiB
    /// for [`v3::Image`](wxmedia_proto::v3::Image), 2 MiB for marketing and
    /// complaint images, a [`CustomApi`](wxmedia_proto::v3::CustomApi)'s
    /// own); `None` for an endpoint that takes no JPEG (the video upload,
    /// the fapiao PDF), which fitting does not serve.
    #[must_use]
    pub fn for_endpoint<E: Endpoint + ?Sized>(endpoint: &E) -> Option<Target> {
        endpoint
            .accepts(wxmedia_proto::MediaKind::Jpeg)
            .then(|| Target::with_limit(endpoint.max_size()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_upload_has_its_limit() {
        assert_eq!(Target::for_v2().max_bytes, 2 * 1024 * 1024);
        assert_eq!(
            Target::for_endpoint(&v3::Image).unwrap().max_bytes,
            5 * 1024 * 1024
        );
        assert_eq!(
            Target::for_endpoint(&Api::MarketingImage)
                .unwrap()
                .max_bytes,
            2 * 1024 * 1024
        );
        assert_eq!(
            Target::for_endpoint(&v3::ComplaintImage).unwrap().max_bytes,
            2 * 1024 * 1024
        );
        assert!(Target::for_endpoint(&Api::Video).is_none());
        // Every built-in endpoint that takes images has a target, also
        // one that takes PDFs beside them (the global file storage).
        for &api in Api::ALL {
            assert_eq!(
                Target::for_endpoint(&api).is_some(),
                api.takes_images(),
                "{api}"
            );
        }
        assert_eq!(
            Target::for_endpoint(&v3::GlobalFile).unwrap().max_bytes,
            5 * 1024 * 1024
        );
        // A caller's endpoint brings its own limit.
        let custom = CustomApi::new("/v3/x/upload", 300 * 1024).unwrap();
        assert_eq!(Target::for_endpoint(&custom).unwrap().max_bytes, 300 * 1024);
        let png_only = custom.accepting(&[wxmedia_proto::MediaKind::Png]);
        assert!(Target::for_endpoint(&png_only).is_none());
    }
}
