//! The conformance cases of the v3 endpoints, each generic over the transport and each with its own simulator: every built-in endpoint, each one's own path, limit and result, and endpoints described by the caller.

use wxmedia_client::Error;
use wxmedia_proto::v3::{self, Api};
use wxmedia_proto::{Error as ProtoError, Media};
use wxmedia_sim::Outcome;

use crate::Transport;
use crate::cases_v3::{MP4, Verify, build, jpeg, up, v3_builder};
use crate::fixtures::{JPEG, PNG, sim};

/// Each built-in endpoint (every one in `Api::ALL`, so a new one is
/// covered as soon as it is added) succeeds in public-key mode, and the
/// simulator recorded what the client got.
pub async fn v3_every_endpoint_in_public_key_mode<T: Transport>() {
    let sim = sim().await;
    let c = build::<T>(v3_builder(&sim, Verify::PublicKey));
    for &api in Api::ALL {
        let media = if api.takes_videos() {
            Media::video("clip.mp4", MP4).unwrap()
        } else if api.takes_documents() && !api.takes_images() {
            Media::document("invoice.pdf", wxmedia_sim::samples::PDF).unwrap()
        } else {
            Media::new("picture.png", PNG).unwrap()
        };
        let done = up::<T>(&c, api, media)
            .await
            .unwrap_or_else(|e| panic!("{api:?}: {e}"));
        let last = sim.server.sim().received().pop().unwrap();
        match last.outcome {
            Outcome::Uploaded { media_id } => assert_eq!(done.id, media_id),
            Outcome::UploadedUrl { media_url } => assert_eq!(done.id, media_url),
            other => panic!("{api:?}: {other:?}"),
        }
        assert!(done.request_id.is_some(), "{api:?}: the Request-ID is kept");
        assert_eq!(
            last.peer_cn, None,
            "no client certificate is presented for v3"
        );
    }
}

/// A complaint image is uploaded to its own path with a `media_id`; a
/// 3 MiB JPEG, which the image upload takes, is refused before sending by
/// the complaint upload's own 2 MiB limit.
pub async fn v3_complaint_images_upload_and_keep_their_2_mib_limit<T: Transport>() {
    let sim = sim().await;
    let c = build::<T>(v3_builder(&sim, Verify::PublicKey));
    let done = T::upload_v3(
        &c,
        v3::ComplaintImage,
        Media::new("reply.png", PNG).unwrap(),
    )
    .await
    .expect("a complaint image");
    let last = sim.server.sim().received().pop().unwrap();
    assert_eq!(last.path, "/v3/merchant-service/images/upload");
    assert_eq!(
        last.outcome,
        Outcome::Uploaded {
            media_id: done.media_id.clone()
        }
    );
    let mut bytes = JPEG.to_vec();
    // Zero padding after the end marker keeps the JPEG whole.
    bytes.resize(3 * 1024 * 1024, 0);
    let photo = Media::new("evidence.jpg", bytes).unwrap();
    let e = T::upload_v3(&c, v3::ComplaintImage, photo.clone())
        .await
        .unwrap_err();
    assert!(e.is_input_error() && !e.is_retryable(), "{e:?}");
    assert!(
        matches!(
            e,
            Error::Proto(ProtoError::Media(wxmedia_proto::MediaError::TooLarge {
                size: 3145728,
                limit: 2097152
            }))
        ),
        "{e:?}"
    );
    assert_eq!(
        sim.server.sim().request_count(),
        1,
        "the 3 MiB one was not sent"
    );
    T::upload_v3(&c, v3::Image, photo)
        .await
        .expect("within the image upload's 5 MiB");
}

/// A product coupon image goes to its own path and its `image_url` comes
/// back typed, as a `MediaUrl`, the URL the simulator recorded; over its
/// 2 MiB it is refused unsent.
pub async fn v3_product_coupon_images_give_their_image_url<T: Transport>() {
    let sim = sim().await;
    let c = build::<T>(v3_builder(&sim, Verify::PublicKey));
    let done: v3::MediaUrl = T::upload_v3(
        &c,
        v3::ProductCouponImage,
        Media::new("goods.png", PNG).unwrap(),
    )
    .await
    .expect("a product coupon image");
    let last = sim.server.sim().received().pop().unwrap();
    assert_eq!(
        last.path,
        "/v3/marketing/partner/product-coupon/media/upload-image"
    );
    assert_eq!(
        last.outcome,
        Outcome::UploadedUrl {
            media_url: done.media_url.clone()
        }
    );
    assert!(done.media_url.starts_with("https://"), "{done:?}");
    let mut bytes = JPEG.to_vec();
    bytes.resize(2 * 1024 * 1024 + 1, 0);
    let e = T::upload_v3(
        &c,
        v3::ProductCouponImage,
        Media::new("big.jpg", bytes).unwrap(),
    )
    .await
    .unwrap_err();
    assert!(e.is_input_error(), "{e:?}");
    assert_eq!(
        sim.server.sim().request_count(),
        1,
        "the big one was not sent"
    );
}

/// Uploads to a path the client does not name (the simulator's test
/// path): the e-commerce cancellation's `{file_name, file_digest}` meta
/// and a meta with extra fields arrive as described, are signed and
/// verified like any upload, and give back the body and the Request-ID.
pub async fn v3_custom_uploads_send_the_meta_the_endpoint_wants<T: Transport>() {
    use serde_json::json;
    use wxmedia_proto::v3::CustomApi;
    let sim = sim().await;
    let c = build::<T>(v3_builder(&sim, Verify::PublicKey));
    let media = jpeg("letter.jpg");
    let sha = media.sha256_hex().to_owned();
    let path = wxmedia_sim::TEST_UPLOAD_PATH;
    let cancel = CustomApi::new(path, 2 << 20)
        .unwrap()
        .meta_names("file_name", "file_digest")
        .unwrap();
    let receipt = CustomApi::new(path, 2 << 20)
        .unwrap()
        .extra_field("transaction_id", json!("4200000001"))
        .unwrap()
        .extra_field(
            "merchant_contact_information",
            json!({"consultation_phone_number": "400-1"}),
        )
        .unwrap();
    let cases = [
        (
            cancel,
            json!({"file_name": "letter.jpg", "file_digest": sha}),
        ),
        (
            receipt,
            json!({"filename": "letter.jpg", "sha256": sha, "transaction_id": "4200000001",
                   "merchant_contact_information": {"consultation_phone_number": "400-1"}}),
        ),
    ];
    for (api, meta) in cases {
        let done = T::upload_v3(&c, api, media.clone())
            .await
            .unwrap_or_else(|e| panic!("{meta}: {e:?}"));
        assert_eq!(
            done.body["meta"], meta,
            "the server read the meta as described"
        );
        assert_eq!(done.digest, sha);
        assert!(done.request_id.is_some());
        let last = sim.server.sim().received().pop().unwrap();
        assert_eq!(last.path, path);
        assert_eq!(
            Outcome::Uploaded {
                media_id: done.media_id().expect("a media_id").to_owned()
            },
            last.outcome
        );
        assert_eq!(done.media_url(), None);
    }
    // The limit is the description's own: 100 bytes refuses the JPEG unsent.
    let tiny = CustomApi::new(path, 100).unwrap();
    let e = T::upload_v3(&c, tiny, media).await.unwrap_err();
    assert!(e.is_input_error(), "{e:?}");
    assert_eq!(sim.server.sim().request_count(), 2);
}

/// Merchants report the marketing-image upload answering `media_id` where
/// the documents say `media_url`: the client takes it, typed, and names
/// the field it came in (the simulator's `url_as_media_id` fault).
pub async fn v3_a_marketing_image_answered_with_a_media_id_is_taken<T: Transport>() {
    let sim = sim().await;
    sim.server.sim().update_faults(|f| f.url_as_media_id = true);
    let c = build::<T>(v3_builder(&sim, Verify::PublicKey));
    let done: v3::MediaUrl =
        T::upload_v3(&c, v3::MarketingImage, Media::new("logo.png", PNG).unwrap())
            .await
            .expect("taken");
    assert_eq!(done.field, "media_id");
    let last = sim.server.sim().received().pop().unwrap();
    assert_eq!(
        last.outcome,
        Outcome::Uploaded {
            media_id: done.media_url.clone()
        }
    );
    let by_api = up::<T>(&c, Api::MarketingImage, jpeg("b.jpg"))
        .await
        .unwrap();
    assert_eq!(by_api.field, "media_id");
    assert_eq!(sim.server.sim().request_count(), 2, "one request each");
}

/// The fapiao file: a PDF goes to its own path with the meta
/// `{file_type, digest_alogrithm, digest}` (SM3, the documents' spelling),
/// which the simulator checks against its own SM3 of the file, and the
/// `fapiao_media_id` comes back typed; a PDF cut short and an image are
/// refused before anything is sent.
pub async fn v3_fapiao_files_go_as_pdfs_with_their_sm3<T: Transport>() {
    let sim = sim().await;
    let c = build::<T>(v3_builder(&sim, Verify::PublicKey));
    let pdf = wxmedia_sim::samples::PDF;
    let media = Media::document("invoice.pdf", pdf).unwrap();
    let sm3 = media.sm3_hex();
    let done = T::upload_v3(&c, v3::FapiaoFile, media)
        .await
        .expect("a fapiao file");
    let last = sim.server.sim().received().pop().unwrap();
    assert_eq!(
        last.path,
        "/v3/new-tax-control-fapiao/fapiao-applications/upload-fapiao-file"
    );
    assert_eq!(
        last.outcome,
        Outcome::Uploaded {
            media_id: done.fapiao_media_id.clone()
        }
    );
    assert_eq!(last.field("file_type"), Some("PDF"));
    assert_eq!(last.field("digest_alogrithm"), Some("SM3"));
    assert_eq!(last.field("digest"), Some(sm3.as_str()));

    // The same endpoint described by the caller: a CustomApi taking PDFs
    // with an SM3 digest and the fixed members (its meta also names the
    // file, which the service ignores).
    let custom = v3::CustomApi::new(
        "/v3/new-tax-control-fapiao/fapiao-applications/upload-fapiao-file",
        2 << 20,
    )
    .unwrap()
    .accepting(&[wxmedia_proto::MediaKind::Pdf])
    .digest(v3::MetaDigest::Sm3)
    .meta_names("filename", "digest")
    .unwrap()
    .extra_field("file_type", "PDF".into())
    .unwrap()
    .extra_field("digest_alogrithm", "SM3".into())
    .unwrap();
    let media = Media::document("invoice.pdf", pdf).unwrap();
    let uploaded = T::upload_v3(&c, custom, media)
        .await
        .expect("a custom fapiao upload");
    assert_eq!(uploaded.digest, sm3);
    assert!(
        uploaded.body["fapiao_media_id"].is_string(),
        "{}",
        uploaded.body
    );

    let before = sim.server.sim().request_count();
    let cut = Media::document("invoice.pdf", &pdf[..pdf.len() - 20]);
    assert!(cut.is_err(), "a PDF cut short is not a Media");
    let image = Media::new("picture.png", PNG).unwrap();
    let e = T::upload_v3(&c, v3::FapiaoFile, image).await.unwrap_err();
    assert!(e.is_input_error(), "{e}");
    assert_eq!(sim.server.sim().request_count(), before, "nothing was sent");
}

/// The global file storage (Hong Kong host) takes a PDF and an image
/// alike, each with its SHA-256 under `digest`, and its `file_id` comes
/// back typed; a text file is refused unsent. The global image upload is
/// the image path under its own 2 MiB: a 3 MiB JPEG, which `v3::Image`
/// takes, is refused before sending.
pub async fn v3_global_files_take_pdfs_and_images<T: Transport>() {
    let sim = sim().await;
    let c = build::<T>(v3_builder(&sim, Verify::PublicKey));
    for media in [
        Media::any("contract.pdf", wxmedia_sim::samples::PDF).unwrap(),
        Media::any("licence.png", PNG).unwrap(),
    ] {
        let sha256 = media.sha256_hex().to_owned();
        let kind = media.kind();
        let done: v3::FileId = T::upload_v3(&c, v3::GlobalFile, media)
            .await
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        let last = sim.server.sim().received().pop().unwrap();
        assert_eq!(last.path, "/v3/global/merchant-storage/file/upload");
        assert_eq!(
            last.outcome,
            Outcome::Uploaded {
                media_id: done.file_id.clone()
            }
        );
        assert_eq!(last.field("digest"), Some(sha256.as_str()), "{kind}");
        assert_eq!(done.sha256, sha256);
    }
    let before = sim.server.sim().request_count();
    let text = Media::text("ids.txt", &b"one\ntwo\n"[..]).unwrap();
    let e = T::upload_v3(&c, v3::GlobalFile, text).await.unwrap_err();
    assert!(e.is_input_error(), "{e}");

    let mut bytes = JPEG.to_vec();
    bytes.resize(3 * 1024 * 1024, 0);
    let photo = Media::new("shop.jpg", bytes).unwrap();
    let e = T::upload_v3(&c, v3::GlobalImage, photo).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Proto(ProtoError::Media(wxmedia_proto::MediaError::TooLarge {
                limit: 2097152,
                ..
            }))
        ),
        "{e:?}"
    );
    assert_eq!(sim.server.sim().request_count(), before, "nothing was sent");
    let done: v3::MediaId = T::upload_v3(&c, v3::GlobalImage, jpeg("shop.jpg"))
        .await
        .expect("a global image");
    assert!(!done.media_id.is_empty());
}

/// The SHA-256 of `text`, as the simulator logs what it opened.
fn opened_as(text: &str) -> String {
    let media = Media::text("x.txt", text.as_bytes().to_vec()).unwrap();
    format!("sha256:{}", media.sha256_hex())
}

/// A shopping receipt: the meta names the order, and the phone number,
/// sealed by the client with the key `Wechatpay-Serial` names (the WeChat
/// Pay public key, then the platform certificate), is opened by the
/// simulator with its own private key; the `receipt` comes back. A BMP,
/// and a PNG over 200 KiB, are refused unsent.
pub async fn v3_shopping_receipts_seal_the_phone_number_for_the_key_named<T: Transport>() {
    let sim = sim().await;
    let receipt = v3::ShoppingReceipt::new(
        "4200000008202209139188072801",
        "2026-12-07T15:39:35.000+08:00",
    )
    .unwrap()
    .transaction_mchid("1230000109")
    .unwrap()
    .openid("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    .unwrap()
    .consultation_phone_number("0755-86013388")
    .unwrap();
    for verify in [Verify::PublicKey, Verify::PlatformCert] {
        if let Verify::PlatformCert = verify {
            crate::cases_v3::platform_cert_mode(&sim);
        }
        let c = build::<T>(v3_builder(&sim, verify));
        let done = T::upload_v3(&c, receipt.clone(), Media::new("receipt.png", PNG).unwrap())
            .await
            .unwrap_or_else(|e| panic!("{verify:?}: {e}"));
        assert_eq!(
            done.receipt["transaction_id"], "4200000008202209139188072801",
            "{verify:?}"
        );
        let last = sim.server.sim().received().pop().unwrap();
        assert_eq!(last.path, "/v3/marketing/shopping-receipt/shoppingreceipts");
        assert_eq!(
            last.field("consultation_phone_number"),
            Some(opened_as("0755-86013388").as_str()),
            "{verify:?}: the simulator opened the sealed number"
        );
        assert!(matches!(last.outcome, Outcome::Uploaded { .. }));
    }
    let before = sim.server.sim().request_count();
    let c = build::<T>(v3_builder(&sim, Verify::PlatformCert));
    let bmp = Media::new("receipt.bmp", wxmedia_sim::samples::BMP).unwrap();
    let e = T::upload_v3(&c, receipt.clone(), bmp).await.unwrap_err();
    assert!(e.is_input_error(), "{e}");
    let mut big = PNG.to_vec();
    // Bytes after IEND keep the PNG whole.
    big.resize(200 * 1024 + 1, 0);
    let e = T::upload_v3(&c, receipt, Media::new("receipt.png", big).unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Proto(ProtoError::Media(wxmedia_proto::MediaError::TooLarge {
                limit: 204800,
                ..
            }))
        ),
        "{e:?}"
    );
    assert_eq!(sim.server.sim().request_count(), before, "nothing was sent");
}

/// A bank package: the client gives its sealing key, the ids are sealed
/// with it one a line, and the simulator opens every line with its own
/// key (a line that is not sealed is counted as refused); the task comes
/// back. The same file name twice in one package is refused by the
/// simulator, as the documents say; a PNG is refused unsent.
pub async fn v3_bank_packages_carry_ids_sealed_with_the_clients_key<T: Transport>() {
    let sim = sim().await;
    let c = build::<T>(v3_builder(&sim, Verify::PublicKey));
    let key = T::sealing_key(&c).await.expect("the sealing key");
    assert_eq!(key.id(), sim.server.v3().keys().wechatpay_public_key_id());
    let ids = ["6222020000000001", "6222020000000002", "6222020000000003"];
    let mut file = v3::BankPackage::sealed_file(&key, ids, &v3::seal::system_random).unwrap();
    file.extend_from_slice(b"not-sealed\n");
    let package = v3::BankPackage::new("8473295", "ICBC_DEBIT").unwrap();
    let media = Media::text("active_user.csv", file).unwrap();
    let task = T::upload_v3(&c, package.clone(), media.clone())
        .await
        .expect("a bank package task");
    assert!(!task.task_id.is_empty());
    assert_eq!(task.package_id.as_deref(), Some("8473295"));
    assert_eq!(task.status.as_deref(), Some("PROCESSING"));
    let last = sim.server.sim().received().pop().unwrap();
    assert_eq!(last.path, "/v3/marketing/bank/packages/8473295/tasks");
    assert_eq!(last.field("lines_opened"), Some("3"));
    assert_eq!(last.field("lines_refused"), Some("1"));
    assert_eq!(last.field("bank_type"), Some("ICBC_DEBIT"));

    let e = T::upload_v3(&c, package.clone(), media).await.unwrap_err();
    assert_eq!(
        e.api_code().map(|c| c.as_str().to_owned()).as_deref(),
        Some("PARAM_ERROR"),
        "{e:?}"
    );
    let before = sim.server.sim().request_count();
    let e = T::upload_v3(&c, package, Media::new("ids.png", PNG).unwrap())
        .await
        .unwrap_err();
    assert!(e.is_input_error(), "{e}");
    assert_eq!(sim.server.sim().request_count(), before, "nothing was sent");
}
