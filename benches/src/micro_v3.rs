//! v3 in process: encoding an image upload against its floor (SHA-256 of the file and one RSA-2048 signature), its allocations, and decode + verify of a signed reply against one RSA verification.

use bytes::Bytes;
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, UnparsedPublicKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use wxmedia_bench::{V3Fixture, sample_media, v3_image};
use wxmedia_proto::v3::{Api, UploadV3};
use wxmedia_proto::{Boundary, Env, Nonce, Operation};

use crate::{ALLOCATED, KIB, MIB, Opts, median, time_ns};

/// The request's time; replies are stamped with it and arrive a second later.
const NOW: u64 = 1_700_000_000;

fn env() -> Env {
    Env::new("https://127.0.0.1:1", Boundary::from_random([7; 16]))
        .expect("valid")
        .with_time(NOW)
        .with_nonce(Nonce::from_random([9; 16]))
        .received_at(NOW + 1)
}

/// Everything the library does before the first byte of a v3 image upload
/// goes out: the media checks, the meta (SHA-256), the signed request.
fn encode_once(fx: &V3Fixture, data: &Bytes, env: &Env) -> http::Request<wxmedia_proto::Body> {
    let up = UploadV3::new(Api::Image, fx.merchant.clone(), v3_image(data)).expect("upload");
    up.encode(env).expect("encodes")
}

/// The v3 encode and decode tables, and their figures in the summary.
pub(crate) fn run(opts: &Opts, summary: &mut Value, md: &mut String) {
    let runs = if opts.quick { 7 } else { 21 };
    let fx = V3Fixture::new();
    let env = env();
    encode_table(runs, &fx, &env, summary, md);
    decode_table(runs, &fx, &env, summary, md);
}

/// Encode against its floor, 10 KiB and 2 MiB: the timings, the bytes
/// allocated beyond the media, and whether the media was shared.
fn encode_table(runs: usize, fx: &V3Fixture, env: &Env, summary: &mut Value, md: &mut String) {
    let rng = ring::rand::SystemRandom::new();
    md.push_str("\n## v3 encode against its floor (in process)\n\n| media | SHA-256 + one RSA-2048 signature | full signed v3 upload | ratio | extra bytes allocated | media shared, not copied |\n|---|---|---|---|---|---|\n");
    let mut per_size = serde_json::Map::new();
    for (label, size) in [("10kib", 10 * KIB), ("2mib", 2 * MIB)] {
        let data = sample_media(size);
        let (f, e, r) = time_encode(runs, fx, env, &rng, &data);
        let (extra, shared) = encode_allocations(fx, env, &data);
        md.push_str(&format!(
            "| {label} | {:.1} µs | {:.1} µs | {r:.3} | {extra} B | {} |\n",
            f / 1000.0,
            e / 1000.0,
            if shared { "yes" } else { "**no**" }
        ));
        per_size.insert(
            label.into(),
            json!({ "floor_ns": f, "encode_ns": e, "ratio": r, "extra_alloc_bytes": extra, "media_shared": shared }),
        );
        summary[format!("encode_v3_extra_alloc_bytes_{label}")] = json!(extra);
        if label == "2mib" {
            summary["encode_v3_over_floor_2mib"] = json!(r);
        }
    }
    summary["encode_v3"] = Value::Object(per_size);
}

/// Medians of the floor's time, the encode's, and their ratio, in ns.
fn time_encode(
    runs: usize,
    fx: &V3Fixture,
    env: &Env,
    rng: &ring::rand::SystemRandom,
    data: &Bytes,
) -> (f64, f64, f64) {
    // The message the real request signs, made once: the floor is the
    // two operations that cannot be avoided, not building their inputs.
    let meta = UploadV3::new(Api::Image, fx.merchant.clone(), v3_image(data))
        .expect("upload")
        .meta()
        .clone();
    let message = wxmedia_proto::v3::auth::message(
        "POST",
        Api::Image.path(),
        NOW,
        env.nonce().as_str(),
        &meta,
    );
    let mut signature = vec![0; fx.key_pair.public().modulus_len()];
    // About 20 ms per timing: an RSA-2048 signature costs about a
    // millisecond here, so far fewer iterations than v2's encode.
    let iters = if data.len() > MIB { 8 } else { 20 };
    let (mut floors, mut encs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        // Interleaved so that both see the same machine noise.
        let f = time_ns(iters, || {
            std::hint::black_box(Sha256::digest(&data[..]));
            fx.key_pair
                .sign(&RSA_PKCS1_SHA256, rng, &message, &mut signature)
                .expect("signs");
            std::hint::black_box(&signature);
        });
        let e = time_ns(iters, || {
            std::hint::black_box(encode_once(fx, data, env));
        });
        floors.push(f);
        encs.push(e);
        ratios.push(e / f);
    }
    (median(floors), median(encs), median(ratios))
}

/// Bytes one encode allocates, and whether the request's file part is the
/// caller's bytes, shared by pointer.
fn encode_allocations(fx: &V3Fixture, env: &Env, data: &Bytes) -> (u64, bool) {
    let before = ALLOCATED.load(std::sync::atomic::Ordering::Relaxed);
    let request = encode_once(fx, data, env);
    let extra = ALLOCATED.load(std::sync::atomic::Ordering::Relaxed) - before;
    let shared = request
        .body()
        .segments()
        .iter()
        .any(|s| s.as_ptr() == data.as_ptr() && s.len() == data.len());
    drop(request);
    (extra, shared)
}

/// Decode + verify of a signed reply against one RSA verification.
fn decode_table(runs: usize, fx: &V3Fixture, env: &Env, summary: &mut Value, md: &mut String) {
    let up = UploadV3::new(
        Api::Image,
        fx.merchant.clone(),
        v3_image(&sample_media(10 * KIB)),
    )
    .expect("upload");
    let (headers, body, message) = fx.signed_reply(NOW);
    let signature = fx.sign(&message);
    let public_key = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &fx.public_key);
    let (mut dec, mut ver, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        // The reply as a transport hands it over (its headers cloned each
        // time: `decode` takes the response by value).
        let d = time_ns(500, || {
            let mut reply = http::Response::new(Bytes::clone(&body));
            *reply.headers_mut() = headers.clone();
            std::hint::black_box(up.decode(env, reply).expect("verifies"));
        });
        let v = time_ns(500, || {
            public_key.verify(&message, &signature).expect("verifies");
        });
        dec.push(d);
        ver.push(v);
        ratios.push(d / v);
    }
    let (d, v, r) = (median(dec), median(ver), median(ratios));
    summary["decode_verify_v3_ns"] = json!(d);
    summary["rsa_verify_ns"] = json!(v);
    summary["decode_verify_v3_over_rsa_verify"] = json!(r);
    md.push_str(&format!(
        "\n## v3 decode + verify a signed reply\n\n| decode + verify | one RSA-2048 verification of its message | ratio |\n|---|---|---|\n| {d:.0} ns | {v:.0} ns | {r:.2} |\n"
    ));
}
