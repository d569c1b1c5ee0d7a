//! The batch ledger: one JSON line per finished file, locked for the run, read once, appended with a sync per line, and forgiving of lines cut short by a crash.

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::conn::Destination;
use crate::report::Failure;

/// One ledger line.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Entry {
    pub(super) file: String,
    pub(super) mch_id: String,
    /// Which upload (`v2`, or `v3-` and the `--kind` name: `v3-image`, `v3-video`, ...):
    /// part of the key, since each gives its own result for the same file.
    /// Lines written before v3 have none and were v2 uploads.
    #[serde(default = "v2_name")]
    pub(super) api: String,
    pub(super) media_hash: Option<String>,
    pub(super) status: Status,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub(super) media_id: Option<String>,
    /// v3 marketing images: the result is a URL.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub(super) media_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub(super) sign_type: Option<String>,
    /// v3: the reply's `Request-ID`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub(super) request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub(super) error: Option<LedgerError>,
    /// `--fit`: the MD5 of the file on disk, when what was sent differs
    /// from it. A rerun skips the file by this hash, before fitting it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub(super) source_hash: Option<String>,
    /// `--fit`: what was changed, in one line.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub(super) fit: Option<String>,
    /// When the upload ended, Unix seconds: a rerun reuses the result only
    /// within `--reuse-for` of it. Lines written before it was kept have
    /// none.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub(super) uploaded_at: Option<u64>,
}

/// How long a ledger's result is reused by a rerun (`--reuse-for`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reuse {
    /// Within this long of the upload; after it, the file is uploaded
    /// again (WeChat Pay does not document how long its ids live).
    For(Duration),
    /// However old, and for lines without a time too.
    Forever,
}

impl Reuse {
    /// Whether a result uploaded at `at` (None: unknown) may be reused `now`.
    fn allows(self, at: Option<u64>, now: u64) -> bool {
        match (self, at) {
            (Reuse::Forever, _) => true,
            (Reuse::For(_), None) => false,
            (Reuse::For(window), Some(at)) => now.saturating_sub(at) < window.as_secs(),
        }
    }
}

/// `--reuse-for`: `forever`, or a whole number with `s`, `m`, `h` or `d`.
pub(crate) fn parse_reuse(s: &str) -> Result<Reuse, String> {
    let s = s.trim();
    if s == "forever" {
        return Ok(Reuse::Forever);
    }
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| "a duration is a whole number and a unit: 90s, 30m, 12h, 3d, or forever")?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err("the unit is s, m, h or d (e.g. 3d), or the value is forever".to_owned()),
    };
    // A century is "forever" in any ledger's life; more is a typing error.
    match n.checked_mul(secs) {
        Some(total) if total <= 100 * 365 * 86_400 => Ok(Reuse::For(Duration::from_secs(total))),
        _ => Err("longer than a century: say forever".to_owned()),
    }
}

/// Now, Unix seconds.
pub(super) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn v2_name() -> String {
    Destination::V2.name().to_owned()
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(super) enum Status {
    Uploaded,
    Failed,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct LedgerError {
    pub(super) kind: String,
    pub(super) code: Option<String>,
    pub(super) message: String,
}

/// The ledger file: locked for the whole run, read once at start, then
/// appended to, one synced line per finished file, so a crash or Ctrl-C
/// loses at most the uploads in flight (which a rerun sends again).
pub(super) struct Ledger {
    /// Open for reading and appending, with an exclusive lock held until
    /// the process ends (the OS drops it even on SIGKILL).
    file: Mutex<File>,
    /// `(mch_id, api, media_hash)` of every upload that succeeded, with
    /// the latest time it did (None: only lines without a time).
    done: HashMap<Key, Option<u64>>,
    /// How long a result is reused.
    reuse: Reuse,
}

/// What a ledger line is the result for: merchant, upload, media hash.
type Key = (String, String, String);

/// How many unreadable lines are named one by one before only their count.
const UNREADABLE_NAMED: usize = 5;

/// What a ledger holds: the uploads done, how many lines could not be
/// read, and whether the last line lacks its newline.
struct LedgerRead {
    done: HashMap<Key, Option<u64>>,
    unreadable: usize,
    torn: bool,
}

/// Read every line of the ledger. Bytes, not text: a line cut inside a
/// multi-byte character (a Chinese file name) is one unreadable line, not
/// an unreadable ledger.
fn read_ledger(file: &File, path: &Path) -> anyhow::Result<LedgerRead> {
    let mut read = LedgerRead {
        done: HashMap::new(),
        unreadable: 0,
        torn: false,
    };
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    for n in 1.. {
        line.clear();
        let len = reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("cannot read the ledger {}", path.display()))?;
        if len == 0 {
            break;
        }
        let text = match line.strip_suffix(b"\n") {
            Some(text) => text,
            None => {
                read.torn = true;
                &line[..]
            }
        };
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Entry>(text) {
            Ok(e) if e.status == Status::Uploaded => {
                // What was sent, and the file it was fitted from.
                for hash in [e.media_hash, e.source_hash].into_iter().flatten() {
                    let at = read
                        .done
                        .entry((e.mch_id.clone(), e.api.clone(), hash))
                        .or_default();
                    *at = (*at).max(e.uploaded_at);
                }
            }
            Ok(_) => {}
            // A line cut short by a crash or a full disk: that file is
            // simply not done, and is uploaded again.
            Err(_) => {
                read.unreadable += 1;
                if read.unreadable <= UNREADABLE_NAMED {
                    eprintln!(
                        "wxmedia: {}:{n}: ignoring an unreadable ledger line",
                        crate::text::shown(path)
                    );
                }
            }
        }
    }
    Ok(read)
}

impl Ledger {
    pub(super) fn open(path: &Path, reuse: Reuse) -> anyhow::Result<Ledger> {
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .with_context(|| format!("cannot open the ledger {}", path.display()))?;
        // Two runs on one ledger would each see the other's files as not
        // done and upload them again: the second run stops instead. The
        // lock is taken before reading so that what is read stays true.
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => bail!(
                "the ledger {} is locked by another wxmedia batch run; wait for it to finish, or give this run another --ledger",
                path.display()
            ),
            Err(TryLockError::Error(e)) => {
                return Err(e)
                    .with_context(|| format!("cannot lock the ledger {}", path.display()));
            }
        }
        let read = read_ledger(&file, path)?;
        if read.unreadable > 0 {
            eprintln!(
                "wxmedia: {}: {} unreadable ledger line(s) ignored; their files count as not done",
                crate::text::shown(path),
                read.unreadable
            );
        }
        if read.torn {
            // The last line has no newline (a write cut short). The next
            // record must not be glued onto it, or it would be lost too. It
            // is terminated rather than cut away: the ledger is append-only,
            // and a record that is whole but for its newline still counts.
            let mut f = &file;
            f.write_all(b"\n")
                .and_then(|()| f.sync_data())
                .with_context(|| format!("cannot repair the ledger {}", path.display()))?;
            eprintln!(
                "wxmedia: {}: the last line was cut off (no newline); terminated it",
                crate::text::shown(path)
            );
        }
        let now = unix_now();
        let stale = read
            .done
            .values()
            .filter(|&&at| !reuse.allows(at, now))
            .count();
        if stale > 0 {
            eprintln!(
                "wxmedia: {}: {stale} result(s) are older than --reuse-for or carry no upload time (written by an older wxmedia): their files are uploaded again (--reuse-for forever reuses them)",
                crate::text::shown(path)
            );
        }
        Ok(Ledger {
            file: Mutex::new(file),
            done: read.done,
            reuse,
        })
    }

    /// Whether `hash` was uploaded to `target` for `mch_id` and its result
    /// may still be reused (within `--reuse-for` of its upload).
    pub(super) fn is_done(&self, mch_id: &str, target: Destination, hash: &str) -> bool {
        let key = (mch_id.to_owned(), target.name(), hash.to_owned());
        self.done
            .get(&key)
            .is_some_and(|&at| self.reuse.allows(at, unix_now()))
    }

    pub(super) fn append(&self, entry: &Entry) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(entry).expect("serializable");
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        // One write per line keeps lines whole under O_APPEND; syncing makes
        // the line survive a crash of the machine, not only of the process.
        file.write_all(&line)?;
        file.flush()?;
        file.sync_data()
    }
}

pub(super) fn failed_entry(
    file: &str,
    mch_id: &str,
    target: Destination,
    hash: Option<String>,
    f: &Failure,
) -> Entry {
    Entry {
        file: file.to_owned(),
        mch_id: mch_id.to_owned(),
        api: target.name().to_owned(),
        media_hash: hash,
        status: Status::Failed,
        media_id: None,
        media_url: None,
        sign_type: None,
        request_id: f.request_id.clone(),
        error: Some(LedgerError {
            kind: f.kind.to_owned(),
            code: f.code.clone(),
            message: f.message.clone(),
        }),
        source_hash: None,
        fit: None,
        uploaded_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuse_windows_parse_and_judge_ages() {
        let day = Duration::from_secs(86_400);
        assert_eq!(parse_reuse("3d"), Ok(Reuse::For(3 * day)));
        assert_eq!(parse_reuse("90s"), Ok(Reuse::For(Duration::from_secs(90))));
        assert_eq!(parse_reuse("forever"), Ok(Reuse::Forever));
        for bad in [
            "",
            "3",
            "d",
            "3w",
            "-1d",
            "1.5h",
            "99999999999999999999d",
            "36501d",
        ] {
            assert!(parse_reuse(bad).is_err(), "{bad:?}");
        }
        let now = 1_000_000;
        let window = Reuse::For(Duration::from_secs(60));
        assert!(window.allows(Some(now - 59), now));
        assert!(!window.allows(Some(now - 60), now));
        assert!(
            !window.allows(None, now),
            "a line without a time is not reused"
        );
        assert!(Reuse::Forever.allows(None, now));
        // A time in the future (a clock moved back) is within any window.
        assert!(window.allows(Some(now + 3600), now));
    }
}
