//! One exchange with WeChat Pay as a pure pair of functions: a request out of inputs, a typed result out of the reply.

use bytes::Bytes;
use http::{Request, Response};

use crate::{Body, Env, Error, Pacing};

/// One API call, independent of how its bytes travel: the v2 upload is one
/// and the v3 uploads and certificate download are others. [`Driver`](crate::Driver) runs any
/// operation through attempts, retries and failover, and so does every
/// transport built on it.
///
/// Both functions are pure: the same operation and `Env` give the same
/// request, and the same reply and `Env` the same result.
pub trait Operation {
    /// What a verified reply yields.
    type Output;

    /// The request for one attempt. Everything that varies between attempts
    /// (host, boundary, time, nonce) comes from `env`. Errors here are
    /// input errors: nothing was sent.
    fn encode(&self, env: &Env) -> Result<Request<Body>, Error>;

    /// Judge a reply: status, headers and the body as read within
    /// [`Operation::reply_limit`]. `env` is the request's, with the time the
    /// reply arrived ([`Env::reply_time`]). Every error that comes from the
    /// reply keeps its raw body.
    fn decode(&self, env: &Env, reply: Response<Bytes>) -> Result<Self::Output, Error>;

    /// The cap on the reply body; transports stop reading beyond it.
    fn reply_limit(&self) -> usize;

    /// The rate limit its requests are kept to (the uploads': their
    /// endpoint's path and documented rate), or `None` for an operation
    /// WeChat Pay does not limit. Clients pace every attempt by it.
    fn pacing(&self) -> Option<Pacing<'_>> {
        None
    }
}
