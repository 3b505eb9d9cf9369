//! The one runtime, in process: what it reports is typed and in order, a
//! gate gone red is one alert, acts come back as recorded events, a second
//! runtime on the same journal follows the first's samples, and stopping
//! hands the polling lease over.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use gonogo::act::Act;
use gonogo::gate::State;
use gonogo::launch::EventKind;
use gonogo::live::Change;
use gonogo::notify::Notifier;
use gonogo::runtime::sampler::LeaseNews;
use gonogo::runtime::{self, Order, Runtime, SharedLive, Update};
use gonogo::session::Session;
use tokio::sync::mpsc;

use crate::util::server::{Reply, Server};

/// A server whose `/v` answers `{"v": N}` with N settable.
async fn value_server(value: Arc<AtomicU64>) -> Server {
    Server::start(move |_| Reply::ok_json(&format!("{{\"v\": {}}}", value.load(Ordering::SeqCst))))
        .await
}

fn layout(url: &str) -> gonogo::layout::Layout {
    crate::util::layout(
        &format!(
            "[signals.v]\nkind = \"json\"\nurl = \"{url}\"\npath = \"$.v\"\nevery = \"100ms\"\n"
        ),
        "{ signal = \"v\", below = 50 }",
    )
}

struct Running {
    live: SharedLive,
    updates: mpsc::UnboundedReceiver<Update>,
    orders: mpsc::UnboundedSender<Order>,
    task: tokio::task::JoinHandle<()>,
}

fn start(layout: gonogo::layout::Layout, journal: &std::path::Path) -> Running {
    let session = Session::open(layout, Some(journal)).expect("journal");
    let (rt, live, updates) = Runtime::new(
        session,
        crate::util::prober(),
        runtime::Options {
            read_only: false,
            notifier: Box::new(|_| Notifier::disabled()),
            watch_file: None,
        },
    );
    let (orders, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(rt.run(rx));
    Running {
        live,
        updates,
        orders,
        task,
    }
}

/// The first update `want` picks within 10 s; every update seen on the
/// way is kept in `seen`.
async fn next<T>(
    r: &mut Running,
    seen: &mut Vec<Update>,
    what: &str,
    want: impl Fn(&Update) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let u = tokio::time::timeout_at(deadline, r.updates.recv())
            .await
            .unwrap_or_else(|_| panic!("no {what} within 10 s; saw {seen:#?}"))
            .unwrap_or_else(|| panic!("the runtime ended before {what}"));
        let picked = want(&u);
        seen.push(u);
        if let Some(t) = picked {
            return t;
        }
    }
}

fn gate_went(u: &Update, from: Option<State>, to: State) -> bool {
    matches!(u, Update::Changed { changes: cs, .. } if cs.iter().any(|c| matches!(c,
        Change::Gate { index: 0, from: f, state } if *f == from && *state == to)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_reports_typed_updates_and_follows_another() {
    let value = Arc::new(AtomicU64::new(10));
    let server = value_server(Arc::clone(&value)).await;
    let dir = crate::util::procs::tempdir();
    let journal = dir.path().join("j.sqlite");
    let mut first = start(layout(&server.url("/v")), &journal);
    let mut seen = Vec::new();

    next(&mut first, &mut seen, "the polling lease", |u| {
        matches!(u, Update::Lease(LeaseNews::Polling)).then_some(())
    })
    .await;
    next(&mut first, &mut seen, "the gate going GO", |u| {
        gate_went(u, Some(State::Unknown), State::Go).then_some(())
    })
    .await;
    assert!(
        seen.iter().any(|u| matches!(
            u,
            Update::Signal {
                index: 0,
                failure: None
            }
        )),
        "a signal's first report is news before the change it makes"
    );
    assert_eq!(first.live.read().verdict(), gonogo::gate::Verdict::Go);

    // A gate gone red: one change, one alert naming the gate.
    value.store(80, Ordering::SeqCst);
    next(&mut first, &mut seen, "the gate going NO-GO", |u| {
        gate_went(u, Some(State::Go), State::NoGo).then_some(())
    })
    .await;
    let alert = next(&mut first, &mut seen, "an alert", |u| match u {
        Update::Alert(n) => Some(n.clone()),
        _ => None,
    })
    .await;
    assert!(format!("{alert:?}").contains("v < 50: 80"), "{alert:?}");

    // An act comes back as the recorded event, folded into the picture.
    first
        .orders
        .send(Order::Perform(Act::Note {
            text: "seen red".into(),
        }))
        .unwrap();
    let done = next(&mut first, &mut seen, "the act's result", |u| match u {
        Update::Acted(r) => Some(r.clone()),
        _ => None,
    })
    .await
    .expect("a note is never refused");
    assert!(matches!(&done.kind, EventKind::Noted { text } if text == "seen red"));
    assert!(first.live.read().state().seq >= done.seq);
    // Refused acts come back refused, in words.
    first.orders.send(Order::Perform(Act::Resume)).unwrap();
    let why = next(&mut first, &mut seen, "a refusal", |u| match u {
        Update::Acted(Err(why)) => Some(why.clone()),
        _ => None,
    })
    .await;
    assert!(why.contains("resume"), "{why}");

    // A second runtime on the same journal follows the first's samples.
    let mut second = start(layout(&server.url("/v")), &journal);
    let mut seen2 = Vec::new();
    next(&mut second, &mut seen2, "following", |u| {
        matches!(u, Update::Lease(LeaseNews::Following)).then_some(())
    })
    .await;
    let polled_before = server.requests().len();
    next(&mut second, &mut seen2, "a followed sample", |u| {
        matches!(u, Update::Signal { index: 0, .. }).then_some(())
    })
    .await;
    assert_eq!(second.live.read().gate_state(0), Some(State::NoGo));

    // Stopping the first hands the lease over: the second polls at once.
    first.orders.send(Order::Stop).unwrap();
    next(&mut first, &mut seen, "the end", |u| {
        matches!(u, Update::Stopped).then_some(())
    })
    .await;
    first.task.await.unwrap();
    next(&mut second, &mut seen2, "the lease taken over", |u| {
        matches!(u, Update::Lease(LeaseNews::Polling)).then_some(())
    })
    .await;
    assert!(server.requests().len() > polled_before);
    second.orders.send(Order::Stop).unwrap();
    second.task.await.unwrap();
}

/// Gates gone from GO to BLOCKED behind one root: one alert naming the
/// root and the count, not one per gate (and none saying NO-GO).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gates_blocked_by_one_root_are_one_alert() {
    let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let gateway_down = Arc::clone(&down);
    let gateway = Server::start(move |_| {
        if gateway_down.load(Ordering::SeqCst) {
            Reply::status(503, "Service Unavailable", "text/plain", "")
        } else {
            Reply::ok_text("ok")
        }
    })
    .await;
    let services = Server::fixed(Reply::ok_text("ok")).await;
    let mut signals = format!(
        "[signals.gateway]\nkind = \"http\"\nurl = \"{}\"\nevery = \"100ms\"\n",
        gateway.url("/")
    );
    let mut gates = Vec::new();
    for k in 0..3 {
        signals.push_str(&format!(
            "[signals.svc{k}]\nkind = \"http\"\nurl = \"{}\"\nevery = \"100ms\"\ndepends_on = [\"gateway\"]\n",
            services.url(&format!("/{k}"))
        ));
        gates.push(format!("{{ signal = \"svc{k}\", up = true }}"));
    }
    let dir = crate::util::procs::tempdir();
    let layout = crate::util::layout(&signals, &gates.join(", "));
    let mut r = start(layout, &dir.path().join("j.sqlite"));
    let mut seen = Vec::new();
    next(&mut r, &mut seen, "the verdict GO", |u| {
        matches!(u, Update::Changed { changes, .. }
            if changes.contains(&Change::Verdict(gonogo::gate::Verdict::Go)))
        .then_some(())
    })
    .await;
    down.store(true, Ordering::SeqCst);
    let alert = next(&mut r, &mut seen, "an alert", |u| match u {
        Update::Alert(n) => Some(n.clone()),
        _ => None,
    })
    .await;
    assert!(alert.title.ends_with("BLOCKED"), "{alert:?}");
    assert!(
        alert.body.starts_with("gateway down (") && alert.body.ends_with("; 3 gates blocked"),
        "{alert:?}"
    );
    // Every gate is blocked by then, in that one change: no other alert
    // follows while the gateway stays down.
    tokio::time::sleep(Duration::from_millis(600)).await;
    while let Ok(u) = r.updates.try_recv() {
        seen.push(u);
    }
    let alerts: Vec<_> = seen
        .iter()
        .filter_map(|u| match u {
            Update::Alert(n) => Some(n),
            _ => None,
        })
        .collect();
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    r.orders.send(Order::Stop).unwrap();
    r.task.await.unwrap();
}
