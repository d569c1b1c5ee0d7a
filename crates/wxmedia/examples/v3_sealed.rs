//! Upload a shopping receipt (its phone number sealed for WeChat Pay) and a bank marketing package (its ids sealed one a line): the README's example, run against the simulator.

use std::error::Error;

use wxmedia::Media;
use wxmedia::hyper::V3Client;
use wxmedia::v3::{BankPackage, ShoppingReceipt, seal};
use wxmedia_sim::{SimConfig, SimServer};

/// A receipt for one paid order, then a package of card agreement ids.
async fn upload_receipt_and_ids(
    client: &V3Client,
    receipt_png: Vec<u8>,
    ids: &[&str],
) -> Result<(String, String), Box<dyn Error>> {
    let receipt = ShoppingReceipt::new(
        "4200000008202209139188072801",  // the order's transaction_id
        "2026-12-07T15:39:35.000+08:00", // upload_time, RFC 3339
    )?
    .transaction_mchid("1230000109")?
    .consultation_phone_number("0755-86013388")?; // sealed when sent
    let uploaded = client
        .upload(&receipt, Media::new("receipt.png", receipt_png)?)
        .await?;

    // Each id sealed with the key the upload names in Wechatpay-Serial.
    let key = client.sealing_key().await?;
    let file = BankPackage::sealed_file(&key, ids.iter().copied(), &seal::system_random)?;
    let package = BankPackage::new("8473295", "ICBC_DEBIT")?;
    let task = client
        .upload(&package, Media::text("active_user.csv", file)?)
        .await?;
    Ok((uploaded.receipt["transaction_id"].to_string(), task.task_id))
}

/// Start a simulator and upload to it.
async fn run() -> Result<(String, String), Box<dyn Error>> {
    let state = tempfile::TempDir::new()?;
    let server = SimServer::start(SimConfig::new(state.path())).await?;
    let (pki, v3) = (server.pki(), server.v3());
    let client = V3Client::builder()
        .mch_id(server.sim().mch_id())
        .private_key_file(pki.client_key_path())
        .merchant_certificate_file(pki.client_cert_path())
        .wechatpay_public_key_file(
            v3.keys().wechatpay_public_key_id(),
            pki.wechatpay_public_key_path(),
        )
        .endpoint(server.endpoint())
        .add_root_ca_file(pki.ca_cert_path())
        .build()?;
    let ids = ["6222020000000001", "6222020000000002"];
    upload_receipt_and_ids(&client, wxmedia_sim::samples::PNG.to_vec(), &ids).await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let (order, task) = run().await?;
    println!("receipt for {order}, package task {task}");
    Ok(())
}

#[test]
fn uploads_a_receipt_and_a_package() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (order, task) = runtime.block_on(run()).unwrap();
    assert_eq!(order, "\"4200000008202209139188072801\"");
    assert!(!task.is_empty());
}
