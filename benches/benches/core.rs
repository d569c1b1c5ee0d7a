//! In-process micro-benchmarks (divan): encode vs MD5, decode+verify vs sign; `cargo bench -p wxmedia-bench`.

use bytes::Bytes;
use md5::{Digest, Md5};
use wxmedia_bench::{reply_fixture, sample_media};
use wxmedia_proto::v2::{Credentials, SignType, StringToSign, UploadV2};
use wxmedia_proto::{Boundary, Env, Media, Operation};

fn main() {
    divan::main();
}

const SIZES: [usize; 3] = [10 * 1024, 200 * 1024, 2 * 1024 * 1024];

#[divan::bench(args = SIZES)]
fn md5_only(bencher: divan::Bencher<'_, '_>, size: usize) {
    let data = sample_media(size);
    bencher
        .counter(divan::counter::BytesCount::new(size))
        .bench(|| Md5::digest(divan::black_box(&data[..])));
}

#[divan::bench(args = SIZES)]
fn encode_signed_upload(bencher: divan::Bencher<'_, '_>, size: usize) {
    let data = sample_media(size);
    let creds = Credentials::new("1900000109", "0123456789abcdefghijklmnopqrstuv").unwrap();
    let env = Env::new("https://127.0.0.1:1", Boundary::from_random([7; 16])).unwrap();
    bencher
        .counter(divan::counter::BytesCount::new(size))
        .bench(|| {
            let media = Media::new("a.jpg", Bytes::clone(&data)).unwrap();
            let up = UploadV2::new(creds.clone(), media, SignType::HmacSha256).unwrap();
            up.encode(&env).unwrap()
        });
}

#[divan::bench]
fn decode_and_verify(bencher: divan::Bencher<'_, '_>) {
    let (body, key) = reply_fixture();
    bencher.bench(|| {
        wxmedia_proto::v2::reply::decode_reply(
            http::StatusCode::OK,
            Bytes::clone(&body),
            &key,
            SignType::Md5,
            65536,
        )
        .unwrap()
    });
}

#[divan::bench]
fn sign_only(bencher: divan::Bencher<'_, '_>) {
    let (body, key) = reply_fixture();
    let fields = wxmedia_proto::v2::xml::Fields::parse(&body).unwrap();
    bencher.bench(|| StringToSign::new(fields.iter()).sign(&key, SignType::Md5));
}
