//! `wxmedia fit` and `--fit` on generated phone photos: the file written, the original untouched, uploads on every transport and both APIs, the batch ledger skipping a fitted photo on a rerun.

use std::path::Path;

use serde_json::Value;
use wxmedia_fit::synth;

mod common;

use common::{Fx, Verify, fx, run, stderr, stdout};

/// A 12 MP phone photo stored sideways (orientation 6) with GPS tags, at
/// the quality phones use: about 5 MB or more of noisy JPEG.
fn phone_photo() -> Vec<u8> {
    let photo = synth::photo(4000, 3000, 11);
    synth::with_exif(&synth::jpeg(&photo, 92), 6, true)
}

fn md5(bytes: &[u8]) -> String {
    wxmedia_proto::MediaHash::of(bytes).to_string()
}

#[test]
fn fit_writes_an_upright_stripped_jpeg_and_leaves_the_original() {
    let fx = fx();
    let bytes = phone_photo();
    assert!(bytes.len() > 2 * 1024 * 1024, "{}", bytes.len());
    let input = fx.file("IMG_0001.jpg", &bytes);
    let out = fx.dir.path().join("out.jpg");
    let o = run(fx.bare().arg("fit").arg(&input).arg("-o").arg(&out));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let line = stdout(&o);
    assert!(
        line.contains("IMG_0001.jpg: JPEG 4000×3000")
            && line.contains("→ JPEG 3000×4000")
            && line.contains("removed EXIF (GPS"),
        "{line}"
    );
    let written = std::fs::read(&out).unwrap();
    assert!(written.len() <= 2 * 1024 * 1024, "{}", written.len());
    assert!(!written.windows(4).any(|w| w == b"Exif"), "no EXIF left");
    assert_eq!(
        md5(&std::fs::read(&input).unwrap()),
        md5(&bytes),
        "the input is untouched"
    );

    // --json, to a v3 image's 5 MiB.
    let o = run(fx
        .bare()
        .args(["fit", "--json", "--api", "v3", "--kind", "image"])
        .arg(&input)
        .arg("-o")
        .arg(&out));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["fit"]["changed"], true);
    assert_eq!(v["fit"]["format_after"], "JPEG");
    assert_eq!(
        (v["fit"]["width"].as_u64(), v["fit"]["height"].as_u64()),
        (Some(3000), Some(4000))
    );
    assert!(v["fit"]["bytes_after"].as_u64().unwrap() <= 5 * 1024 * 1024);
    assert_eq!(v["fit"]["source_hash"], md5(&bytes));
}

#[test]
fn fit_refuses_to_overwrite_the_input_and_bad_photos_with_exit_two() {
    let fx = fx();
    let bytes = phone_photo();
    let input = fx.file("a.jpg", &bytes);
    let link = fx.dir.path().join("link.jpg");
    std::os::unix::fs::symlink(&input, &link).unwrap();
    for out in [&input, &link] {
        let o = run(fx.bare().arg("fit").arg(&input).arg("-o").arg(out));
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("never overwrites the original"),
            "{}",
            stderr(&o)
        );
    }
    assert_eq!(md5(&std::fs::read(&input).unwrap()), md5(&bytes));
    let avif = fx.file("b.avif", b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf");
    let heic = wxmedia_sim::samples::HEIC;
    let cut_heic = fx.file("d.heic", &heic[..heic.len() / 2]);
    let cut = fx.file("c.jpg", &bytes[..bytes.len() / 2]);
    for (file, says) in [
        (&avif, "AVIF is not supported"),
        (&cut, "truncated"),
        (&cut_heic, "HEIC"),
    ] {
        let out = fx.dir.path().join("never.jpg");
        let o = run(fx.bare().arg("fit").arg(file).arg("-o").arg(&out));
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains(says), "{says}: {}", stderr(&o));
        assert!(!out.exists(), "nothing is written on failure");
    }
    let o = run(fx
        .bare()
        .args(["fit", "--limit", "12"])
        .arg(&input)
        .arg("-o")
        .arg("x.jpg"));
    assert_eq!(o.status.code(), Some(2), "an absurd limit is a usage error");
}

/// Without `--fit` the photo is refused unsent (exit 2); with it, it is
/// uploaded on every transport, for v2 and v3, and the JSON says what was
/// changed.
#[test]
fn upload_fit_sends_the_photo_on_every_transport_and_api() {
    let fx = fx();
    // At the quality of a phone's "high" setting: over 5 MiB, every
    // image upload's limit.
    let photo = synth::photo(4000, 3000, 11);
    let bytes = synth::with_exif(&synth::jpeg(&photo, 98), 6, true);
    assert!(
        bytes.len() > 5 * 1024 * 1024,
        "over every image limit: {}",
        bytes.len()
    );
    let photo = fx.file("photo.jpg", &bytes);
    for api in ["v2", "v3"] {
        let base = |fx: &Fx| match api {
            "v2" => fx.cmd("upload"),
            _ => fx.v3_cmd("upload", Verify::PublicKey),
        };
        let before = fx.server.sim().request_count();
        let o = run(base(&fx).arg(&photo));
        assert_eq!(o.status.code(), Some(2), "{api}: {}", stderr(&o));
        assert_eq!(
            fx.server.sim().request_count(),
            before,
            "{api}: nothing sent"
        );
        for transport in ["hyper", "surf", "blocking"] {
            let o = run(base(&fx)
                .args(["--fit", "--json", "--transport", transport])
                .arg(&photo));
            assert_eq!(
                o.status.code(),
                Some(0),
                "{api} {transport}: {}",
                stderr(&o)
            );
            let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
            assert_eq!(v["fit"]["changed"], true, "{v}");
            assert!(
                v["fit"]["removed"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|m| m == "GPS"),
                "{v}"
            );
            let last = fx.server.sim().received().pop().unwrap();
            assert!(last.media_len <= 5 * 1024 * 1024 && last.media_len > 0);
            assert_eq!(last.filename.as_deref(), Some("photo.jpg"));
        }
    }
    assert_eq!(fx.server.sim().upload_count(), 6);
    assert_eq!(md5(&std::fs::read(&photo).unwrap()), md5(&bytes));
}

/// A fitted photo is recorded by both hashes; a rerun skips it by the
/// original's, before fitting it again.
#[test]
fn batch_fit_records_both_hashes_and_a_rerun_skips_the_photo() {
    let fx = fx();
    let dir = fx.dir.path().join("photos");
    std::fs::create_dir(&dir).unwrap();
    let bytes = synth::with_exif(&synth::jpeg(&synth::photo(2400, 1800, 5), 95), 8, true);
    std::fs::write(dir.join("shop.jpg"), &bytes).unwrap();
    let ledger = fx.dir.path().join("ledger.jsonl");
    let batch = |fx: &Fx| {
        let mut c = fx.cmd("batch");
        c.arg("--fit").arg("--ledger").arg(&ledger).arg(&dir);
        c
    };
    let o = run(&mut batch(&fx));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("fitted:"), "{}", stderr(&o));
    let entries = entries(&ledger);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["source_hash"], md5(&bytes));
    assert_ne!(entries[0]["media_hash"], md5(&bytes));
    assert!(
        entries[0]["fit"].as_str().unwrap().contains("rotated"),
        "{}",
        entries[0]
    );
    let o = run(&mut batch(&fx));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("uploaded 0, skipped 1, failed 0"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("fitted:"));
    assert_eq!(fx.server.sim().upload_count(), 1);
}

fn entries(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Item 9 of hardening round 4: `batch DIR --fit` takes the WebP photos
/// that `--fit` converts (and, without `--fit`, still skips them: WeChat
/// Pay does not take WebP).
#[test]
fn item9_batch_fit_takes_the_webp_photos_fit_converts() {
    let fx = fx();
    let dir = fx.dir.path().join("photos");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("a.webp"), synth::webp(&synth::photo(320, 240, 2))).unwrap();
    std::fs::write(
        dir.join("b.jpg"),
        synth::jpeg(&synth::photo(320, 240, 3), 90),
    )
    .unwrap();
    let ledger = fx.dir.path().join("ledger.jsonl");
    let o = run(fx.cmd("batch").arg("--ledger").arg(&ledger).arg(&dir));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("uploaded 1, skipped 0, failed 0"),
        "{}",
        stderr(&o)
    );
    let ledger = fx.dir.path().join("ledger-fit.jsonl");
    let o = run(fx
        .cmd("batch")
        .arg("--fit")
        .arg("--ledger")
        .arg(&ledger)
        .arg(&dir));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("uploaded 2, skipped 0, failed 0"),
        "{}",
        stderr(&o)
    );
    assert_eq!(fx.server.sim().upload_count(), 3);
}

/// An iPhone's HEIC (the simulator's sample: a grid stored sideways by
/// `irot`, GPS in its EXIF) becomes an upright JPEG without GPS, and
/// `--version` names the decoder that read it.
#[test]
fn fit_reads_an_iphone_heic() {
    let fx = fx();
    let input = fx.file("IMG_0042.HEIC", wxmedia_sim::samples::HEIC);
    let out = fx.dir.path().join("id-front.jpg");
    let o = run(fx.bare().arg("fit").arg(&input).arg("-o").arg(&out));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let line = stdout(&o);
    assert!(
        line.contains("IMG_0042.HEIC: HEIC 512×384")
            && line.contains("→ JPEG 384×512")
            && line.contains("rotated 90° clockwise")
            && line.contains("removed EXIF (GPS"),
        "{line}"
    );
    let written = std::fs::read(&out).unwrap();
    let probe = wxmedia_fit::probe(&written).unwrap();
    assert_eq!(probe.format, wxmedia_fit::Format::Jpeg);
    assert!(probe.metadata.is_empty(), "{:?}", probe.metadata);
    let o = run(fx.bare().arg("--version"));
    assert!(
        stdout(&o).contains("HEIC, HEIF: heic-rs 0.1.4"),
        "{}",
        stdout(&o)
    );
}
