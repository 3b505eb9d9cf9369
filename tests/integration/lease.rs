//! The polling lease: several guards on one journal put one guard's load
//! on the endpoints; the others follow its samples, and one of them takes
//! over within seconds when the poller is killed.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::util::procs::{self, Lines, path_str, poll_until, watch};

/// An HTTP endpoint on 127.0.0.1 that counts the requests it answers.
fn counting_server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 2048];
            let _ = stream.read(&mut buf);
            counter.fetch_add(1, Ordering::SeqCst);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    (url, hits)
}

fn hits_over(hits: &AtomicUsize, span: Duration) -> usize {
    let before = hits.load(Ordering::SeqCst);
    std::thread::sleep(span);
    hits.load(Ordering::SeqCst) - before
}

fn polls(l: &str) -> bool {
    l.contains("polling the signals (this guard holds the polling lease)")
}

#[test]
fn one_guard_polls_and_another_takes_over_when_it_dies() {
    let dir = procs::tempdir();
    let journal = dir.path().join("j.sqlite");
    lease_handover(&dir, &journal);
}

/// On a PostgreSQL journal the lease is judged on the server's clock and
/// the follower hears the poller's samples by NOTIFY.
#[test]
fn one_guard_polls_and_another_takes_over_on_postgres() {
    let Some(cluster) = crate::util::pg_shared() else {
        return;
    };
    let dir = procs::tempdir();
    lease_handover(&dir, &std::path::PathBuf::from(cluster.database()));
}

fn lease_handover(dir: &tempfile::TempDir, journal: &std::path::Path) {
    let (url, hits) = counting_server();
    let layout = dir.path().join("lease.toml");
    std::fs::write(
        &layout,
        format!(
            "[launch]\nname = \"lease\"\n[signals.api]\nkind = \"http\"\nurl = \"{url}/healthz\"\nevery = \"200ms\"\n\
             [[phases]]\nid = \"only\"\ngates = [{{ signal = \"api\", up = true }}]\n"
        ),
    )
    .unwrap();
    let layout = path_str(&layout);
    let mut a = watch(dir.path(), None, &layout, journal);
    a.expect("a polls", polls, Duration::from_secs(5));
    let mut b = watch(dir.path(), None, &layout, journal);
    b.expect(
        "b follows",
        |l| l.contains("another guard holds the polling lease"),
        Duration::from_secs(5),
    );
    // The follower judges from the poller's samples.
    b.expect(
        "b sees the gate",
        |l| l.contains("gate \"api up\" — → GO"),
        Duration::from_secs(5),
    );

    // One guard's load: 5 polls a second, not 10.
    let two_guards = hits_over(&hits, Duration::from_secs(3));
    assert!(
        (8..=20).contains(&two_guards),
        "{two_guards} requests in 3 s with two guards"
    );
    assert_eq!(b.count(polls), 0, "{}", b.transcript());

    // The poller dies without a word; the follower takes over.
    a.kill9();
    b.expect("b takes over", polls, Duration::from_secs(10));
    let after = poll_until(Duration::from_secs(5), || {
        let n = hits_over(&hits, Duration::from_secs(1));
        (n >= 3).then_some(n)
    });
    assert!(after.is_some(), "no polling after the takeover");
}

trait Kill9 {
    fn kill9(&mut self);
}

impl Kill9 for Lines {
    fn kill9(&mut self) {
        let _ = nix::sys::signal::kill(self.child.pid(), nix::sys::signal::Signal::SIGKILL);
    }
}
