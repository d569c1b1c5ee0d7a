//! A [`Limiter`] whose slots live in Redis (feature `redis`): every process and machine of one merchant shares its limits, each slot taken in one atomic round trip.
//!
//! The state of a merchant's endpoint is the same instant as
//! [`Pace`](wxmedia_proto::Pace)'s, the next free slot, kept under the
//! limit key in microseconds of the Redis server's clock (so that the
//! machines' clocks do not matter). One Lua script reads it, takes the
//! slot and moves it on, atomically: no two callers anywhere get the same
//! slot. The connection lives on a thread of its own, so that a slow
//! network never blocks an async executor, with a time limit on every
//! round trip.
//!
//! When Redis cannot be reached, nothing is sent: the upload fails with
//! [`Error::Limiter`](crate::Error::Limiter), naming the store. Falling
//! back to pacing in this process alone would let every machine send at
//! the full rate, and the merchant's limit would be met many times over.

use std::sync::mpsc;
use std::time::Duration;

use futures_channel::oneshot;
use futures_util::future::{BoxFuture, FutureExt};
use wxmedia_proto::Rate;

use crate::{BoxError, BuildError, Limiter};

/// The longest a round trip to Redis (or connecting to it) may take.
const TIMEOUT: Duration = Duration::from_secs(2);

/// Take the next slot (`reserve`, ARGV[2] the interval) or push it to at
/// least now + pause (`hold`, ARGV[2] the pause), in microseconds of the
/// server's clock; returns the wait in microseconds. The key expires a
/// second after its slot has passed: an idle merchant leaves nothing.
const SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local next = tonumber(redis.call('GET', KEYS[1]) or '0')
local amount = tonumber(ARGV[2])
local slot, moved
if ARGV[1] == 'reserve' then
  slot = math.max(next, now)
  moved = slot + amount
else
  slot = now
  moved = math.max(next, now + amount)
end
redis.call('SET', KEYS[1], string.format('%d', moved), 'PX', math.ceil((moved - now) / 1000) + 1000)
return slot - now
";

/// What the connection thread is asked to do.
struct Job {
    key: String,
    op: &'static str,
    micros: u64,
    done: oneshot::Sender<Result<Duration, BoxError>>,
}

/// Slots kept in Redis, shared by every client given a `RedisLimiter` of
/// the same server, in any process.
#[derive(Debug)]
pub struct RedisLimiter {
    jobs: mpsc::Sender<Job>,
    shown: String,
}

impl RedisLimiter {
    /// Connect to the Redis at `url` (`redis://[:password@]host[:port][/db]`)
    /// and check that it answers, so that a wrong address is said at once,
    /// not at the first upload.
    pub fn connect(url: &str) -> Result<RedisLimiter, BuildError> {
        let invalid = |reason| BuildError::Invalid {
            what: "the rate store",
            reason,
        };
        let client = redis::Client::open(url)
            .map_err(|_| invalid("not a Redis URL: redis://[:password@]host[:port][/db]"))?;
        let shown = format!("redis://{}", client.get_connection_info().addr());
        let connection =
            open(&client).map_err(|e| BuildError::Transport(unreachable(&shown, e)))?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let name = shown.clone();
        std::thread::Builder::new()
            .name("wxmedia-rate-store".to_owned())
            .spawn(move || serve(&client, connection, &queue, &name))
            .map_err(|e| BuildError::Transport(Box::new(e)))?;
        Ok(RedisLimiter { jobs, shown })
    }

    /// The store, without credentials: `redis://host:port`.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    fn ask(
        &self,
        key: &str,
        op: &'static str,
        micros: u64,
    ) -> BoxFuture<'static, Result<Duration, BoxError>> {
        let (done, answer) = oneshot::channel();
        let job = Job {
            key: key.to_owned(),
            op,
            micros,
            done,
        };
        let sent = self.jobs.send(job);
        let shown = self.shown.clone();
        async move {
            sent.map_err(|_| format!("the rate store {shown}: its connection thread has stopped"))?;
            answer
                .await
                .map_err(|_| format!("the rate store {shown}: its connection thread has stopped"))?
        }
        .boxed()
    }
}

impl Limiter for RedisLimiter {
    fn reserve<'a>(
        &'a self,
        key: &'a str,
        rate: Rate,
    ) -> BoxFuture<'a, Result<Duration, BoxError>> {
        let micros = u64::try_from(rate.interval().as_micros()).unwrap_or(u64::MAX);
        self.ask(key, "reserve", micros.max(1))
    }

    fn hold<'a>(&'a self, key: &'a str, pause: Duration) -> BoxFuture<'a, Result<(), BoxError>> {
        let micros = u64::try_from(pause.as_micros()).unwrap_or(u64::MAX);
        self.ask(key, "hold", micros).map(|r| r.map(|_| ())).boxed()
    }
}

/// A connection with time limits on connecting, reading and writing.
fn open(client: &redis::Client) -> redis::RedisResult<redis::Connection> {
    let mut connection = client.get_connection_with_timeout(TIMEOUT)?;
    connection.set_read_timeout(Some(TIMEOUT))?;
    connection.set_write_timeout(Some(TIMEOUT))?;
    redis::cmd("PING").query::<String>(&mut connection)?;
    Ok(connection)
}

/// The store could not be asked: say which (never its password).
fn unreachable(shown: &str, e: redis::RedisError) -> BoxError {
    format!("the rate store {shown} cannot be reached: {e}").into()
}

/// The connection thread: one job at a time, until every limiter is
/// dropped. A failed round trip fails its job and drops the connection;
/// the next job connects again.
fn serve(
    client: &redis::Client,
    first: redis::Connection,
    queue: &mpsc::Receiver<Job>,
    shown: &str,
) {
    let script = redis::Script::new(SCRIPT);
    let mut connection = Some(first);
    while let Ok(job) = queue.recv() {
        let result = match connection.take().map_or_else(|| open(client), Ok) {
            Ok(mut c) => {
                let run = script
                    .key(&job.key)
                    .arg(job.op)
                    .arg(job.micros)
                    .invoke::<i64>(&mut c);
                if run.is_ok() {
                    connection = Some(c);
                }
                run
            }
            Err(e) => Err(e),
        };
        let answer = result
            .map(|micros| Duration::from_micros(u64::try_from(micros).unwrap_or(0)))
            .map_err(|e| unreachable(shown, e));
        // The caller may have given up (its deadline): nothing to tell.
        let _ = job.done.send(answer);
    }
}
