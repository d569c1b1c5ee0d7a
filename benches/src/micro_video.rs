//! v3 video in process: `Media::video` (its container walk) on a 5 MiB MP4 against the SHA-256 of the same bytes, the floor every v3 upload pays anyway.

use bytes::Bytes;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use wxmedia_proto::Media;

use crate::{MIB, Opts, median, time_ns};

/// An ISO-BMFF box of `typ` around `payload`.
fn bx(typ: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let size = u32::try_from(8 + payload.len()).expect("under 4 GiB");
    [&size.to_be_bytes()[..], typ, payload].concat()
}

/// A whole MP4 of `size` bytes and more: `ftyp`, a `moov` holding a
/// version-0 `mvhd`, and an `mdat` of `size` bytes.
fn mp4(size: usize) -> Bytes {
    let mut mvhd = vec![0u8; 100];
    mvhd[12..16].copy_from_slice(&1000u32.to_be_bytes());
    mvhd[96..100].copy_from_slice(&1u32.to_be_bytes());
    let mdat: Vec<u8> = (0..size).map(|i| (i * 31 + 7) as u8).collect();
    Bytes::from(
        [
            bx(b"ftyp", b"isom\0\0\x02\0isomiso2mp41"),
            bx(b"moov", &bx(b"mvhd", &mvhd)),
            bx(b"mdat", &mdat),
        ]
        .concat(),
    )
}

/// The check of a video before upload against its SHA-256.
pub(crate) fn run(opts: &Opts, summary: &mut Value, md: &mut String) {
    let runs = if opts.quick { 7 } else { 21 };
    let clip = mp4(5 * MIB);
    let (mut checks, mut hashes) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        // Interleaved so that both see the same machine noise. Cloning
        // `Bytes` is a reference count, not a copy.
        checks.push(time_ns(2000, || {
            let m = Media::video("clip.mp4", Bytes::clone(&clip)).expect("a whole MP4");
            std::hint::black_box(m);
        }));
        hashes.push(time_ns(5, || {
            std::hint::black_box(Sha256::digest(&clip[..]));
        }));
    }
    let (c, s) = (median(checks), median(hashes));
    summary["video_check_5mib_ns"] = json!(c);
    summary["video_sha256_5mib_ns"] = json!(s);
    md.push_str(&format!(
        "\n## v3 video check against its SHA-256 (in process)\n\n| media | `Media::video` (format, name, container walk) | SHA-256 of the file | ratio |\n|---|---|---|---|\n| 5 MiB MP4 (ftyp, moov, mdat) | {:.2} µs | {:.0} µs | {:.6} |\n",
        c / 1000.0,
        s / 1000.0,
        c / s
    ));
}
