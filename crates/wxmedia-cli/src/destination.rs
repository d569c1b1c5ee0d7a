//! What one upload does, as the command line names it: the API generation, the v3 `--kind` (the built-in endpoints' own names, help and limits), and the `Destination` that checks files as that upload's media.

use clap::ValueEnum;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use wxmedia_proto::v3::{Api, CustomApi, Endpoint};
use wxmedia_proto::{Media, MediaError, MediaKind};

/// Which generation of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ApiArg {
    /// APIv2: XML, MD5 or HMAC-SHA256 with the API key, client certificate.
    V2,
    /// APIv3: JSON, RSA signatures with the merchant private key.
    V3,
}

/// `--kind`: which v3 upload (v2 uploads images only). Its values, their
/// help and their limits are the built-in endpoints' own, so that a new
/// endpoint reaches the command line without an edit here.
pub(crate) fn kind_parser() -> impl TypedValueParser<Value = Api> {
    let values = Api::ALL.iter().map(|&api| {
        let spec = api.spec();
        let mut kinds: Vec<&str> = spec.kinds.iter().map(|k| k.extension()).collect();
        kinds.dedup();
        let help = format!(
            "{} ({}; {} MiB): a {}",
            capitalized(spec.summary),
            kinds.join(", "),
            spec.max_size >> 20,
            spec.reply_field
        );
        PossibleValue::new(api.name()).help(help)
    });
    PossibleValuesParser::new(values)
        .try_map(|name| Api::from_name(&name).ok_or("not a v3 upload this build knows"))
}

/// `text` with its first letter upper-case (help lines start so).
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// What one upload does: v2's image upload, one of v3's built-in ones, or
/// a v3 endpoint described on the command line (`--path`). The custom
/// endpoint is made once per run and lives as long as the process (so
/// that a `Destination` stays a `Copy` value like the others).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Destination {
    V2,
    V3(Api),
    Custom(&'static CustomApi),
}

/// A v3 upload's endpoint, as a client of the command line holds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum V3Target {
    Api(Api),
    Custom(&'static CustomApi),
}

impl From<V3Target> for Destination {
    fn from(target: V3Target) -> Destination {
        match target {
            V3Target::Api(api) => Destination::V3(api),
            V3Target::Custom(api) => Destination::Custom(api),
        }
    }
}

impl Destination {
    /// The name of the ledger's `api` field and of the demo's API column:
    /// `v2`, or `v3-` and the endpoint's name (`v3-custom` for `--path`).
    /// Each v3 upload has its own, since each gives a different result
    /// for the same file.
    pub(crate) fn name(self) -> String {
        match self {
            Destination::V2 => "v2".to_owned(),
            Destination::V3(api) => format!("v3-{}", api.name()),
            Destination::Custom(_) => "v3-custom".to_owned(),
        }
    }

    /// Whether a file of this kind belongs to this upload (batch picks
    /// files from directories with it).
    pub(crate) fn takes(self, kind: MediaKind) -> bool {
        match self {
            Destination::V2 => kind.is_image(),
            Destination::V3(api) => api.accepts(kind),
            Destination::Custom(api) => api.accepts(kind),
        }
    }

    /// The largest file this upload takes, in bytes, as the core's upload
    /// says: files are checked against it before they are read, so that a
    /// huge file is never read only to be refused.
    pub(crate) fn max_size(self) -> usize {
        match self {
            Destination::V2 => wxmedia_proto::v2::MAX_MEDIA_SIZE,
            Destination::V3(api) => api.default_max_size(),
            Destination::Custom(api) => api.max_size(),
        }
    }

    /// WeChat Pay's documented rate for this upload, which the client
    /// keeps unless `--rate` says otherwise.
    pub(crate) fn rate(self) -> wxmedia_proto::Rate {
        match self {
            Destination::V2 => wxmedia_proto::v2::RATE,
            Destination::V3(api) => api.spec().rate,
            Destination::Custom(api) => api.rate(),
        }
    }

    /// Check the bytes as this upload's kind of media (the upload itself
    /// checks the size again). The constructor is the one the extension
    /// names when the upload takes that kind (an endpoint may take PDFs
    /// and images), else the upload's own, whose message lists what it
    /// takes.
    pub(crate) fn media(self, name: String, bytes: Vec<u8>) -> Result<Media, MediaError> {
        let takes = |family: fn(MediaKind) -> bool| {
            MediaKind::ALL.iter().any(|&k| family(k) && self.takes(k))
        };
        let named = name
            .rsplit_once('.')
            .and_then(|(_, ext)| MediaKind::from_extension(ext));
        if self == Destination::V2 {
            Media::new(name, bytes)
        } else if named.is_some_and(|k| self.takes(k)) {
            Media::any(name, bytes)
        } else if takes(MediaKind::is_image) {
            Media::new(name, bytes)
        } else if takes(MediaKind::is_video) {
            Media::video(name, bytes)
        } else if takes(MediaKind::is_document) {
            Media::document(name, bytes)
        } else {
            Media::text(name, bytes)
        }
    }
}
