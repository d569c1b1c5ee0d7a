//! What the simulator remembers of the requests it answered: the most recent ones, and counters of all of them by outcome.

use crate::handler::{Outcome, Received};

/// How many requests the simulator answered, by outcome, over its whole
/// life: exact even when the log has dropped the requests themselves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counts {
    /// Every request that reached the handler.
    pub requests: u64,
    /// Successful uploads, v2 and v3 ([`Outcome::Uploaded`] and
    /// [`Outcome::UploadedUrl`]).
    pub uploads: u64,
    /// [`Outcome::Certificates`].
    pub certificates: u64,
    /// [`Outcome::Refused`].
    pub refused: u64,
    /// Of those, refused for the rate (`FREQUENCY_LIMITED`, v3's 429).
    pub rate_limited: u64,
    /// [`Outcome::BadGateway`].
    pub bad_gateway: u64,
    /// [`Outcome::NotFound`].
    pub not_found: u64,
    /// Requests the log no longer holds because newer ones took their
    /// place.
    pub dropped_from_log: u64,
}

impl Counts {
    fn count(&mut self, outcome: &Outcome) {
        self.requests += 1;
        let counter = match outcome {
            Outcome::Uploaded { .. } | Outcome::UploadedUrl { .. } => &mut self.uploads,
            Outcome::Certificates => &mut self.certificates,
            Outcome::Refused { code, .. } => {
                if code == "FREQUENCY_LIMITED" || code == "RATE_LIMITED" {
                    self.rate_limited += 1;
                }
                &mut self.refused
            }
            Outcome::BadGateway => &mut self.bad_gateway,
            Outcome::NotFound => &mut self.not_found,
        };
        *counter += 1;
    }
}

/// The most recent requests, as summaries, and the counters of all of them.
pub(crate) struct Log {
    pub(crate) entries: std::collections::VecDeque<Received>,
    pub(crate) capacity: usize,
    pub(crate) counts: Counts,
}

impl Log {
    pub(crate) fn push(&mut self, record: Received) {
        self.counts.count(&record.outcome);
        if self.capacity == 0 {
            self.counts.dropped_from_log += 1;
            return;
        }
        self.make_room(self.capacity - 1);
        self.entries.push_back(record.summarized());
    }

    /// Drop the oldest entries until at most `keep` are left.
    pub(crate) fn make_room(&mut self, keep: usize) {
        while self.entries.len() > keep {
            self.entries.pop_front();
            self.counts.dropped_from_log += 1;
        }
    }
}
