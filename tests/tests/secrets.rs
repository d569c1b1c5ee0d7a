//! The API key never appears in any log line (at TRACE, every crate), `Debug`, `Display` or error message, whatever happens.

use std::io::Write;
use std::sync::{Arc, Mutex};

use wxmedia_sim::Times;
use wxmedia_tests::fixtures::{builder, jpeg, sim};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_api_key_never_shows_in_logs_or_errors() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let sim = sim().await;
    let key = sim.server.sim().api_key().expose_secret().to_owned();
    let mut texts = Vec::new();

    let hyper: wxmedia_hyper::V2Client = builder(&sim).build().unwrap();
    let blocking: wxmedia_blocking::V2Client = builder(&sim).build().unwrap();
    let surf: wxmedia_surf::V2Client = builder(&sim).build().unwrap();
    texts.push(format!(
        "{hyper:?} {blocking:?} {:?}",
        builder::<wxmedia_hyper::V2Client>(&sim)
    ));
    texts.push(format!("{:?}", hyper.settings()));
    texts.push(format!("{:?}", hyper.v2_settings()));

    // A success, then every kind of failure, through every transport.
    type Fault = fn(&mut wxmedia_sim::Faults);
    let faults: [Fault; 5] = [
        |_| {},
        |f| f.wrong_sign = Times::Next(1),
        |f| f.system_error = Times::Always,
        |f| f.truncate_reply = Times::Always,
        |f| f.forced_error = Some(("SIGNERROR".into(), Times::Always)),
    ];
    for fault in faults {
        sim.server.sim().set_faults(wxmedia_sim::Faults::default());
        sim.server.sim().update_faults(fault);
        match hyper.upload(jpeg("a.jpg")).await {
            Ok(done) => texts.push(format!("{done:?}")),
            Err(e) => texts.push(format!("{e} {e:?}")),
        }
        match surf.upload(jpeg("a.jpg")).await {
            Ok(done) => texts.push(format!("{done:?}")),
            Err(e) => texts.push(format!("{e} {e:?}")),
        }
        let b = blocking.clone();
        match tokio::task::spawn_blocking(move || b.upload(jpeg("a.jpg")))
            .await
            .unwrap()
        {
            Ok(done) => texts.push(format!("{done:?}")),
            Err(e) => texts.push(format!("{e} {e:?}")),
        }
    }
    // A client holding a wrong key: the server's SIGNERROR must not echo it.
    let wrong: wxmedia_hyper::V2Client = builder(&sim)
        .api_key("a-wrong-key-value-42")
        .build()
        .unwrap();
    sim.server.sim().set_faults(wxmedia_sim::Faults::default());
    let e = wrong.upload(jpeg("a.jpg")).await.unwrap_err();
    texts.push(format!("{e} {e:?}"));

    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logged.len() > 1000,
        "the capture saw the logs ({} bytes)",
        logged.len()
    );
    assert!(
        logged.contains("wxmedia.attempt"),
        "our spans were captured"
    );
    for text in texts.iter().chain(std::iter::once(&logged)) {
        assert!(
            !text.contains(&key),
            "the API key leaked: {}",
            &text[..text.len().min(300)]
        );
        assert!(!text.contains("a-wrong-key-value-42"), "a wrong key leaked");
    }
}
