//! Fuzz invariants of the video container walks: `video_walk`, with a model of the parts of each accepted file, simpler than the walk, to predict which of its cuts are whole.

use crate::error::MediaError;
use crate::{Media, MediaKind};

/// v3's video extensions, one per kind.
const EXTENSIONS: [&str; 10] = [
    "mp4", "mov", "m4v", "f4v", "avi", "wmv", "mpeg", "mkv", "flv", "rmvb",
];

/// Feed `data` to [`Media::video`] under every video extension: never a
/// panic, every refusal's text free of control characters and every cut
/// it reports really past the end; and for a file accepted, its prefixes
/// (a few telling lengths and the boundaries of its parts) are refused
/// exactly when its container says they are not whole. Panics on a
/// violation.
pub fn video_walk(data: &[u8]) {
    let mut checked = false;
    for ext in EXTENSIONS {
        match Media::video(format!("clip.{ext}"), data.to_vec()) {
            // The four ISO-BMFF extensions accept the same file: its
            // prefixes are checked once.
            Ok(m) if !checked => {
                checked = true;
                prefixes(m.kind(), data);
            }
            Ok(_) => {}
            Err(e) => refusal_is_sound(&e, data.len()),
        }
    }
}

/// A refusal's message can go to a terminal, and a cut is past the end.
fn refusal_is_sound(e: &MediaError, len: usize) {
    let msg = e.to_string();
    assert!(!msg.chars().any(char::is_control), "control in {msg:?}");
    if let MediaError::VideoCutShort {
        at,
        declared_end,
        len: l,
        ..
    } = e
    {
        assert_eq!(*l, len as u64, "{msg}");
        assert!(*at <= *l && *declared_end > *l, "{msg}");
    }
}

/// What the model says of the prefix of length `n` of an accepted file.
#[derive(Debug, PartialEq, Eq)]
enum Expect {
    Whole,
    /// Refused as a cut.
    Cut,
    /// Refused, as a cut or (a cut between whole parts) as malformed.
    Refused,
    /// The model cannot say; only the general soundness is checked.
    Unknown,
}

/// Check the prefixes of `data`, accepted as `kind`.
fn prefixes(kind: MediaKind, data: &[u8]) {
    let len = data.len();
    let model = Model::of(kind, data);
    let mut cuts = vec![len - 1, len / 2, len / 10, len * 3 / 5, len * 9 / 10];
    for &b in model.boundaries.iter().take(32) {
        cuts.extend([b.saturating_sub(1), b, b + 1]);
    }
    let name = format!("clip.{}", kind.extension());
    for n in cuts.into_iter().filter(|&n| n > 0 && n < len) {
        let got = Media::video(name.as_str(), data[..n].to_vec());
        if let Err(e) = &got {
            refusal_is_sound(e, n);
        }
        if n < model.magic {
            assert!(
                got.is_err(),
                "{kind} cut to {n}, inside its magic, accepted"
            );
            continue;
        }
        match (model.expect(n), &got) {
            (Expect::Whole, Ok(_)) | (Expect::Unknown, _) => {}
            (Expect::Cut, Err(MediaError::VideoCutShort { .. })) => {}
            (
                Expect::Refused,
                Err(MediaError::VideoCutShort { .. } | MediaError::MalformedVideo { .. }),
            ) => {}
            (want, got) => panic!("{kind} of {len} bytes cut to {n}: want {want:?}, got {got:?}"),
        }
    }
    // One byte more: a container that tiles the file refuses it.
    if model.exact && !model.runs_to_end {
        let longer = [data, &[0]].concat();
        assert!(
            Media::video(name.as_str(), longer).is_err(),
            "{kind}: a byte after the end accepted"
        );
    }
}

/// The parts of an accepted file, found by a walk that trusts it.
struct Model {
    kind: MediaKind,
    /// Below this length, a prefix is not even sniffed.
    magic: usize,
    /// Ends of whole parts, in order (ISO-BMFF boxes, FLV tags), or the
    /// one end a prefix must reach (the others).
    boundaries: Vec<usize>,
    /// ISO-BMFF: each top-level box's start, end, and whether it is the
    /// `moov`.
    boxes: Vec<(usize, usize, bool)>,
    /// ISO-BMFF: the last box has size 0, running to the end.
    runs_to_end: bool,
    /// The parts tile the file exactly (ISO-BMFF, FLV).
    exact: bool,
}

impl Model {
    fn of(kind: MediaKind, c: &[u8]) -> Model {
        let mut m = Model {
            kind,
            magic: 4,
            boundaries: Vec::new(),
            boxes: Vec::new(),
            runs_to_end: false,
            exact: false,
        };
        match kind {
            MediaKind::Mp4 | MediaKind::Mov | MediaKind::M4v | MediaKind::F4v => {
                m.magic = 12;
                m.exact = true;
                let mut at = 0;
                while at < c.len() {
                    let size = match be(&c[at..at + 4]) {
                        0 => {
                            m.runs_to_end = true;
                            c.len() - at
                        }
                        1 => be(&c[at + 8..at + 16]) as usize,
                        n => n as usize,
                    };
                    m.boxes.push((at, at + size, &c[at + 4..at + 8] == b"moov"));
                    at += size;
                    m.boundaries.push(at);
                }
            }
            MediaKind::Flv => {
                m.magic = 3;
                m.exact = true;
                let mut at = be(&c[5..9]) as usize + 4;
                m.boundaries.push(at);
                while at < c.len() {
                    at += 11 + be(&c[at + 1..at + 4]) as usize + 4;
                    m.boundaries.push(at);
                }
            }
            MediaKind::Avi => {
                m.magic = 12;
                m.boundaries.push(8 + le(&c[4..8]) as usize);
            }
            MediaKind::Wmv => {
                // The Header Object, and the Data Object's GUID after it.
                m.magic = 16;
                m.boundaries.push(le(&c[16..24]) as usize + 16);
            }
            MediaKind::Mkv => {
                let (data, size) = ebml(c, 0);
                let mut at = data + size.expect("an accepted header has a size");
                m.boundaries.push(at + 1);
                loop {
                    let (data, size) = ebml(c, at);
                    let Some(size) = size else { break };
                    if c[at..].starts_with(&[0x18, 0x53, 0x80, 0x67]) {
                        m.boundaries.push(data + size);
                        break;
                    }
                    at = data + size;
                }
            }
            // A first chunk smaller than a chunk header stops the walk.
            MediaKind::Rmvb if be(&c[4..8]) >= 10 => m.boundaries.push(be(&c[4..8]) as usize),
            _ => {}
        }
        m
    }

    fn expect(&self, n: usize) -> Expect {
        match self.kind {
            MediaKind::Mp4 | MediaKind::Mov | MediaKind::M4v | MediaKind::F4v => {
                let mut moov = false;
                for &(start, end, is_moov) in &self.boxes {
                    if end <= n {
                        moov |= is_moov;
                        if end == n {
                            return if moov { Expect::Whole } else { Expect::Refused };
                        }
                    } else {
                        // Inside the last box, of size 0: whole if its
                        // header is, and a moov is there.
                        let last = self.boxes.last().map(|b| b.0) == Some(start);
                        return match self.runs_to_end && last && n >= start + 8 {
                            true if moov || is_moov => Expect::Whole,
                            true => Expect::Refused,
                            false => Expect::Cut,
                        };
                    }
                }
                Expect::Unknown
            }
            MediaKind::Flv if self.boundaries.contains(&n) => Expect::Whole,
            MediaKind::Flv => Expect::Cut,
            MediaKind::Avi | MediaKind::Wmv | MediaKind::Mkv => {
                if self.boundaries.iter().any(|&b| n < b) {
                    Expect::Cut
                } else {
                    Expect::Unknown
                }
            }
            MediaKind::Rmvb if self.boundaries.first().is_some_and(|&b| n < b) => Expect::Cut,
            MediaKind::Mpeg => Expect::Whole,
            _ => Expect::Unknown,
        }
    }
}

fn be(b: &[u8]) -> u64 {
    b.iter().fold(0, |v, &x| (v << 8) | u64::from(x))
}

fn le(b: &[u8]) -> u64 {
    b.iter().rev().fold(0, |v, &x| (v << 8) | u64::from(x))
}

/// The element at `at` of an accepted EBML file: where its data starts,
/// and its size (`None`: unknown).
fn ebml(c: &[u8], at: usize) -> (usize, Option<usize>) {
    let id_len = c[at].leading_zeros() as usize + 1;
    let s = at + id_len;
    let size_len = c[s].leading_zeros() as usize + 1;
    let mask = u64::MAX >> (64 - 7 * size_len);
    let value = be(&c[s..s + size_len]) & mask;
    (s + size_len, (value != mask).then_some(value as usize))
}

#[cfg(test)]
mod tests {
    #[test]
    fn hand_picked_inputs_hold_the_invariants() {
        super::video_walk(include_bytes!("../../../wxmedia-sim/samples/sample.mp4"));
        for input in [
            &b""[..],
            b"FLV",
            b"FLV\x01\x05\0\0\0\x09\0\0\0\0",
            b"\0\0\0\x01ftypisom\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF",
            b"\0\0\0\x10ftypisom\0\0\0\0\0\0\0\x08moov",
            b"\x1A\x45\xDF\xA3\x80\x18\x53\x80\x67\x01\xFF\xFF\xFF\xFF\xFF\xFF\xFF",
            b"\x1A\x45\xDF\xA3\x80\x18\x53\x80\x67\x80",
            b"RIFF\x04\0\0\0AVI RIFF\x04\0\0\0AVIX",
            b".RMF\0\0\0\x0A\0\0DATA\0\0\0\x0A\0\0",
            b"\0\0\x01\xBA\x44",
        ] {
            super::video_walk(input);
        }
    }
}
