//! The simulator's front door: its state, routing on method and path, the log and the fault bookkeeping; endpoints live in their own modules.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::limits::Limits;
pub(crate) use crate::limits::RateLimit;
pub use crate::log::Counts;
use crate::log::Log;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, Response};
use wxmedia_proto::v2::ApiKey;

use crate::faults::Faults;
use crate::gateway::{bad_gateway, not_found};
use crate::inputs::Inputs;
use crate::v2;
use crate::v3::{self, Endpoint, V3Config};

/// The seed's limit: "图片大小不能超过2M", taken as 2 MiB.
pub const MAX_MEDIA_SIZE: usize = 2 * 1024 * 1024;

/// How many requests [`Simulator::received`] keeps by default: the most
/// recent ones. A soak test sends far more; the counters stay exact.
pub const DEFAULT_LOG_CAPACITY: usize = 1024;

/// The longest text kept in a [`Received`] (a field value, the meta, the
/// path, a file name), in bytes: enough for every real field, small enough
/// that a refused 8 MiB field does not stay in memory.
pub const MAX_LOGGED_VALUE: usize = 256;

/// The most fields kept in a [`Received`]: no real request has more than
/// five (v2's form; v3 keeps two members of its meta), and a form may have
/// up to 32 parts.
pub const MAX_LOGGED_FIELDS: usize = 32;

/// The identity the TLS layer proved, put in the request's extensions by
/// the server. A request without it is treated as sent without a
/// certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIdentity {
    /// The subject CN of the client certificate.
    pub common_name: String,
}

/// What the simulator decided about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Accepted: this media id was returned (v2, and v3's image and
    /// video uploads).
    Uploaded {
        /// The new media id.
        media_id: String,
    },
    /// Accepted by v3's marketing image upload: this URL was returned.
    UploadedUrl {
        /// The new media URL.
        media_url: String,
    },
    /// `GET /v3/certificates` answered with the platform certificate.
    Certificates,
    /// Refused with a WeChat Pay code and message (v3: with a non-2xx
    /// status).
    Refused {
        /// The error code, e.g. `PARAM_ERROR`.
        code: String,
        /// The message sent with it.
        message: std::borrow::Cow<'static, str>,
    },
    /// Answered with an HTTP 502 gateway page (fault switch).
    BadGateway,
    /// No endpoint lives at this path: answered with the gateway's HTTP
    /// 404 page, not a WeChat Pay reply.
    NotFound,
}

/// One request as the simulator received it, for assertions.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Received {
    /// The HTTP method.
    pub method: Method,
    /// The request path, without the query string.
    pub path: String,
    /// The client certificate's CN, if any.
    pub peer_cn: Option<String>,
    /// v2: text fields in the order they came (the `media` part excluded).
    /// v3: the meta JSON's `filename` and `sha256`, those of them it has
    /// as strings (other members are not collected; [`Received::meta`]
    /// shows them, cut to the log's limit).
    pub fields: Vec<(String, String)>,
    /// The file name of the `media` part (v3: of the `file` part).
    pub filename: Option<String>,
    /// The `Content-Type` of the `media` part (v3: of the `file` part).
    pub content_type: Option<String>,
    /// Size of the media in bytes.
    pub media_len: usize,
    /// MD5 of the media actually received, lowercase hex (v2 only).
    pub media_md5: Option<String>,
    /// v3: the meta part exactly as received (lossy UTF-8), if one was found.
    pub meta: Option<String>,
    /// v3: SHA-256 of the media actually received, lowercase hex.
    pub media_sha256: Option<String>,
    /// What was decided.
    pub outcome: Outcome,
    /// Whether this summary was cut to fit the log: a text longer than
    /// [`MAX_LOGGED_VALUE`] bytes, or more than [`MAX_LOGGED_FIELDS`]
    /// fields. The decision was made on the whole request.
    pub truncated: bool,
}

impl Received {
    /// The summary the log keeps: every text cut to [`MAX_LOGGED_VALUE`]
    /// bytes (at a character boundary) and at most [`MAX_LOGGED_FIELDS`]
    /// fields, so that what one request leaves behind is bounded whatever
    /// it sent.
    pub(crate) fn summarized(mut self) -> Received {
        let mut cut = false;
        if self.fields.len() > MAX_LOGGED_FIELDS {
            self.fields.truncate(MAX_LOGGED_FIELDS);
            cut = true;
        }
        let texts = self
            .fields
            .iter_mut()
            .flat_map(|(n, v)| [n, v])
            .chain([&mut self.path])
            .chain(self.peer_cn.as_mut())
            .chain(self.filename.as_mut())
            .chain(self.content_type.as_mut())
            .chain(self.meta.as_mut());
        for text in texts {
            cut |= shorten(text);
        }
        self.fields.shrink_to_fit();
        self.truncated = cut;
        self
    }
}

/// Cut `text` to at most [`MAX_LOGGED_VALUE`] bytes at a character
/// boundary, releasing the rest; whether anything was cut.
fn shorten(text: &mut String) -> bool {
    if text.len() <= MAX_LOGGED_VALUE {
        return false;
    }
    let mut end = MAX_LOGGED_VALUE;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.shrink_to_fit();
    true
}

impl Received {
    /// A text field's value.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The sign type the request named (`None` when the field was absent; v2).
    pub fn sign_type(&self) -> Option<&str> {
        self.field("sign_type")
    }
}

/// The simulated endpoint: one merchant, its key, the fault switches and
/// the log of what was received. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

struct Inner {
    mch_id: String,
    api_key: ApiKey,
    max_media_size: usize,
    /// API v3's keys and settings; without them the v3 paths are not
    /// served (the gateway's 404), since nothing could be verified.
    v3: Mutex<Option<V3Config>>,
    faults: Mutex<Faults>,
    /// Bounded: a long-running simulator keeps the last requests only.
    log: Mutex<Log>,
    /// The rate limit's current one-second window: when it opened and how
    /// many authenticated requests it has counted. Opened by the first
    /// counted request, so that no clock is read before a request brings
    /// one.
    window: Mutex<Option<(Instant, u32)>>,
    /// WeChat Pay's documented limits, kept when switched on.
    limits: Limits,
    /// The file names of each bank package's upload tasks, which the
    /// documents say must differ: (package id, file name), oldest first,
    /// at most `MAX_BANK_TASKS` (a long-running simulator forgets the
    /// oldest).
    bank_tasks: Mutex<std::collections::VecDeque<(String, String)>>,
}

/// How many bank package task names a simulator remembers.
const MAX_BANK_TASKS: usize = 4096;

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("mch_id", &self.inner.mch_id)
            .field("api_key", &self.inner.api_key)
            .finish_non_exhaustive()
    }
}

/// A counter as the `usize` the older accessors return; a 32-bit host
/// that answered four billion requests says "at least this many".
fn saturating_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in one request must not take the simulator down with it.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Where a request goes, decided by method and path alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// API v2 media upload. Every method goes there: a GET is refused by
    /// the v2 service itself with its own XML (INVALID_REQUEST, 不支持http
    /// get方法), so the gateway must let it through.
    V2Upload,
    /// One of the API v3 endpoints, with the method it serves.
    V3(Endpoint),
    /// Nothing lives here: the gateway's 404 page.
    NotFound,
}

/// Route on method and path. The query string is not part of `path`: a
/// client that adds one still reaches the endpoint, as behind a real
/// gateway. The v3 paths are routed with their method only (POST for the
/// uploads, GET for the certificates), since the v3 services are REST
/// resources behind the gateway; another method gets the 404 page.
fn route(method: &Method, path: &str) -> Route {
    if path == v2::UPLOAD_PATH {
        return Route::V2Upload;
    }
    match v3::route(method, path) {
        Some(endpoint) => Route::V3(endpoint),
        None => Route::NotFound,
    }
}

impl Simulator {
    /// A simulator for merchant `mch_id` with API key `api_key`.
    pub fn new(mch_id: impl Into<String>, api_key: ApiKey) -> Simulator {
        Simulator {
            inner: Arc::new(Inner {
                mch_id: mch_id.into(),
                api_key,
                max_media_size: MAX_MEDIA_SIZE,
                v3: Mutex::new(None),
                faults: Mutex::new(Faults::default()),
                log: Mutex::new(Log {
                    entries: std::collections::VecDeque::new(),
                    capacity: DEFAULT_LOG_CAPACITY,
                    counts: Counts::default(),
                }),
                window: Mutex::new(None),
                limits: Limits::default(),
                bank_tasks: Mutex::default(),
            }),
        }
    }

    /// The same simulator serving API v3 with these keys and settings.
    pub fn with_v3(self, v3: V3Config) -> Simulator {
        self.set_v3(v3);
        self
    }

    /// Serve API v3 with these keys and settings from now on (for
    /// instance to switch the reply signer in a test).
    pub fn set_v3(&self, v3: V3Config) {
        *lock(&self.inner.v3) = Some(v3);
    }

    /// API v3's keys and settings, if v3 is served.
    pub fn v3(&self) -> Option<V3Config> {
        lock(&self.inner.v3).clone()
    }

    /// The merchant id it accepts.
    pub fn mch_id(&self) -> &str {
        &self.inner.mch_id
    }

    /// The merchant's API key.
    pub fn api_key(&self) -> &ApiKey {
        &self.inner.api_key
    }

    /// The largest media accepted, in bytes.
    pub(crate) fn max_media_size(&self) -> usize {
        self.inner.max_media_size
    }

    /// Change the fault switches.
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.inner.faults) = faults;
    }

    /// Change the fault switches in place.
    pub fn update_faults(&self, f: impl FnOnce(&mut Faults)) {
        f(&mut lock(&self.inner.faults));
    }

    /// A copy of the current fault switches.
    pub fn faults(&self) -> Faults {
        lock(&self.inner.faults).clone()
    }

    /// The transport-level faults for the next reply: delay, drop the
    /// connection, truncate the reply. Counted down under one lock.
    pub(crate) fn take_transport_faults(&self) -> TransportFaults {
        let mut faults = lock(&self.inner.faults);
        let drop_it = faults.drop_connection.take();
        let truncate = !drop_it && faults.truncate_reply.take();
        TransportFaults {
            delay: faults.reply_delay,
            drop_it,
            truncate,
            huge: faults.huge_reply,
            endless: faults.endless_reply,
            latin1: faults.latin1_header,
        }
    }

    /// The same simulator keeping the last `capacity` requests in
    /// [`Simulator::received`] ([`DEFAULT_LOG_CAPACITY`] unless set; 0
    /// keeps none). The counters count every request regardless.
    #[must_use]
    pub fn with_log_capacity(self, capacity: usize) -> Simulator {
        self.set_log_capacity(capacity);
        self
    }

    /// Keep the last `capacity` requests from now on, dropping the oldest
    /// ones beyond it at once.
    pub fn set_log_capacity(&self, capacity: usize) {
        let mut log = lock(&self.inner.log);
        log.capacity = capacity;
        log.make_room(capacity);
    }

    /// How many requests the log keeps.
    pub fn log_capacity(&self) -> usize {
        lock(&self.inner.log).capacity
    }

    /// The most recent requests received (at most
    /// [`Simulator::log_capacity`]), oldest first, each a summary: texts cut
    /// to [`MAX_LOGGED_VALUE`] bytes, at most [`MAX_LOGGED_FIELDS`] fields
    /// ([`Received::truncated`] says when).
    pub fn received(&self) -> Vec<Received> {
        lock(&self.inner.log).entries.iter().cloned().collect()
    }

    /// How many requests reached the handler, over the simulator's whole
    /// life.
    pub fn request_count(&self) -> usize {
        saturating_usize(lock(&self.inner.log).counts.requests)
    }

    /// How many uploads succeeded (v2 and v3), over the simulator's whole
    /// life.
    pub fn upload_count(&self) -> usize {
        saturating_usize(lock(&self.inner.log).counts.uploads)
    }

    /// Every counter: requests by outcome, and how many the log dropped.
    pub fn counts(&self) -> Counts {
        lock(&self.inner.log).counts
    }

    /// Answer one request, reading the clock and the OS's randomness for
    /// it: [`Simulator::handle_with`] with [`Inputs::from_system`], the
    /// Unix time moved by the `clock_skew_secs` fault. This is what the
    /// server calls.
    pub fn handle(&self, req: Request<Bytes>) -> Response<Bytes> {
        let mut inputs = Inputs::from_system();
        let skew = lock(&self.inner.faults).clock_skew_secs;
        inputs.unix_time = inputs.unix_time.saturating_add_signed(skew);
        self.handle_with(req, &inputs)
    }

    /// Answer one request with the time and random bytes given in
    /// `inputs`: no clock is read and no randomness drawn here, so the same
    /// request, inputs and simulator state (fault switches, rate window)
    /// give the same reply, media id included. The request's summary and
    /// its outcome are appended to the log, and counted.
    ///
    /// Routing is on method and path (the query string is ignored):
    /// `/secapi/mch/uploadmedia` goes to the v2 upload endpoint, whatever
    /// the method; `POST` to the three v3 upload paths and `GET
    /// /v3/certificates` go to API v3 when the simulator has a
    /// [`V3Config`]; any other request gets the gateway's HTTP 404 page
    /// and is logged as [`Outcome::NotFound`]. The `bad_gateway` fault answers 502
    /// before routing, on every path, as a gateway in front of everything
    /// would.
    pub fn handle_with(&self, req: Request<Bytes>, inputs: &Inputs) -> Response<Bytes> {
        let mut record = Received {
            method: req.method().clone(),
            path: req.uri().path().to_owned(),
            peer_cn: req
                .extensions()
                .get::<PeerIdentity>()
                .map(|p| p.common_name.clone()),
            fields: Vec::new(),
            filename: None,
            content_type: None,
            media_len: 0,
            media_md5: None,
            meta: None,
            media_sha256: None,
            // Replaced below by the endpoint's verdict.
            outcome: Outcome::NotFound,
            truncated: false,
        };
        let (outcome, response) = if lock(&self.inner.faults).bad_gateway.take() {
            (Outcome::BadGateway, bad_gateway())
        } else {
            match route(req.method(), req.uri().path()) {
                Route::V2Upload => v2::handle(self, &req, inputs, &mut record),
                Route::V3(endpoint) => match self.v3() {
                    Some(v3) => v3::handle(self, &v3, endpoint, &req, inputs, &mut record),
                    None => (Outcome::NotFound, not_found()),
                },
                Route::NotFound => (Outcome::NotFound, not_found()),
            }
        };
        record.outcome = outcome;
        lock(&self.inner.log).push(record);
        response
    }

    /// The forced error code and its message, if the switch fires for
    /// this request.
    pub(crate) fn take_forced_error(&self) -> Option<(String, std::borrow::Cow<'static, str>)> {
        let mut faults = lock(&self.inner.faults);
        let message = faults.forced_error_message.clone();
        let (code, times) = faults.forced_error.as_mut()?;
        let message = message.map_or(std::borrow::Cow::Borrowed("模拟错误"), Into::into);
        times.take().then(|| (code.clone(), message))
    }

    /// The same simulator keeping WeChat Pay's documented limits per
    /// endpoint (10 image uploads a second, 100 marketing images a minute,
    /// ...: the table in `v3/mod.rs`), or not (the default of the library;
    /// `wxmedia sim` and `wxmedia demo` keep them). Past a limit an
    /// authenticated upload is refused with `FREQUENCY_LIMITED` (v3: HTTP
    /// 429), as the real service does.
    pub fn with_rate_limits(self, on: bool) -> Simulator {
        self.set_rate_limits(on);
        self
    }

    /// Keep the documented limits from now on, or stop keeping them.
    pub fn set_rate_limits(&self, on: bool) {
        self.inner.limits.switch(on);
    }

    /// Take `filename` for a task of the bank package `package`: `false`
    /// when a task of that package has it already.
    pub(crate) fn claim_bank_task(&self, package: &str, filename: &str) -> bool {
        let mut tasks = lock(&self.inner.bank_tasks);
        if tasks.iter().any(|(p, f)| p == package && f == filename) {
            return false;
        }
        if tasks.len() == MAX_BANK_TASKS {
            tasks.pop_front();
        }
        tasks.push_back((package.to_owned(), filename.to_owned()));
        true
    }

    /// Whether an authenticated request to `path`, arriving at `now`, is
    /// past the path's documented limit (always no while limits are off).
    pub(crate) fn over_limit(&self, path: &'static str, limit: RateLimit, now: Instant) -> bool {
        self.inner.limits.over(path, limit, now)
    }

    /// The rate limit (counted in the window that `inputs.now` falls in),
    /// then SYSTEMERROR by count, then by probability (drawn from the
    /// inputs): the first that fires, for an authenticated request.
    pub(crate) fn take_injected_fault(&self, inputs: &Inputs) -> Option<Injected> {
        let mut faults = lock(&self.inner.faults);
        if let Some(limit) = faults.rate_limit_per_sec {
            let mut window = lock(&self.inner.window);
            let (opened, count) = window.get_or_insert((inputs.now, 0));
            // `duration_since` saturates: inputs that go back in time stay
            // in the current window instead of panicking.
            if inputs.now.duration_since(*opened) >= Duration::from_secs(1) {
                (*opened, *count) = (inputs.now, 0);
            }
            *count += 1;
            if *count > limit {
                return Some(Injected::RateLimited);
            }
        }
        if faults.system_error.take() {
            return Some(Injected::SystemError);
        }
        if faults.system_error_probability > 0.0 && inputs.draw() < faults.system_error_probability
        {
            return Some(Injected::SystemError);
        }
        None
    }

    /// Whether a successful reply is signed wrongly and whether it omits
    /// its sign; both switches count down on every success.
    pub(crate) fn take_sign_faults(&self) -> (bool, bool) {
        let mut faults = lock(&self.inner.faults);
        (faults.wrong_sign.take(), faults.omit_sign.take())
    }

    /// Whether a signed refusal is signed wrongly.
    pub(crate) fn take_wrong_sign(&self) -> bool {
        lock(&self.inner.faults).wrong_sign.take()
    }

    /// What the reply-signature faults do to the next v3 reply; every
    /// switch counts down on every v3 reply, since v3 signs them all.
    pub(crate) fn take_v3_reply_faults(&self) -> V3ReplyFaults {
        let mut faults = lock(&self.inner.faults);
        V3ReplyFaults {
            wrong: faults.wrong_sign.take(),
            omit: faults.omit_sign.take(),
            stale: faults.stale_reply_timestamp.take(),
            unknown_serial: faults.unknown_reply_serial.take(),
            unsigned: faults.unsigned_reply.take(),
        }
    }
}

/// What the fault switches do to one v3 reply's signature headers.
pub(crate) struct V3ReplyFaults {
    pub(crate) wrong: bool,
    pub(crate) omit: bool,
    pub(crate) stale: bool,
    pub(crate) unknown_serial: bool,
    pub(crate) unsigned: bool,
}

/// What the server does to the next reply's delivery.
pub(crate) struct TransportFaults {
    pub(crate) delay: Duration,
    pub(crate) drop_it: bool,
    pub(crate) truncate: bool,
    pub(crate) huge: Option<u64>,
    pub(crate) endless: bool,
    pub(crate) latin1: bool,
}

/// A WeChat Pay answer that a fault switch forces on an authenticated
/// request.
pub(crate) enum Injected {
    RateLimited,
    SystemError,
}
