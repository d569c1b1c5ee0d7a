//! Targets for WeChat Pay's image uploads, from the core's own limits: the v2 upload and each v3 image upload.

use wxmedia_proto::v3::Api;

use crate::Target;

impl Target {
    /// The v2 `uploadmedia` target: 2 MiB of JPEG, PNG or BMP.
    #[must_use]
    pub fn for_v2() -> Target {
        Target::with_limit(wxmedia_proto::v2::MAX_MEDIA_SIZE)
    }

    /// The target of a v3 image upload (its default limit: 5 MiB for
    /// images, 2 MiB for marketing and complaint images); `None` for the
    /// video upload, which fitting does not serve.
    #[must_use]
    pub fn for_v3(api: Api) -> Option<Target> {
        api.accepts(wxmedia_proto::MediaKind::Jpeg)
            .then(|| Target::with_limit(api.default_max_size()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_upload_has_its_limit() {
        assert_eq!(Target::for_v2().max_bytes, 2 * 1024 * 1024);
        assert_eq!(
            Target::for_v3(Api::Image).unwrap().max_bytes,
            5 * 1024 * 1024
        );
        assert_eq!(
            Target::for_v3(Api::MarketingImage).unwrap().max_bytes,
            2 * 1024 * 1024
        );
        assert_eq!(
            Target::for_v3(Api::ComplaintImage).unwrap().max_bytes,
            2 * 1024 * 1024
        );
        assert!(Target::for_v3(Api::Video).is_none());
    }
}
