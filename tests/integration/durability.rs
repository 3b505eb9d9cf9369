//! `kill -9` at any moment loses no acknowledged event and never corrupts
//! the journal (SPEC §6).
//!
//! Writers are this test binary re-run for `durability_writer_child` alone
//! (`procs::rerun`), the journal named in `GONOGO_DURABILITY_WRITER`: they
//! append notes in a tight loop through `gonogo::journal::Journal` and
//! print `ack <seq> <text>` only after `append` has returned. The parent
//! SIGKILLs them at random moments, round after round on the same journal,
//! and after each round checks the file with SQLite's own integrity check,
//! the hash chain, and that every acknowledged event is there, unchanged.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use gonogo::journal::{Entry, Journal};
use gonogo::launch::{EventKind, GateSnapshot};

use crate::util::procs;

const WRITER_ENV: &str = "GONOGO_DURABILITY_WRITER";
const LAUNCH: &str = "durability";
const ROUNDS: usize = 15;
/// No new round starts after this; the whole test stays under 15 s.
const BUDGET: Duration = Duration::from_secs(11);
/// Opens the journal, creating it (with a first note) if there is none.
fn open(path: &Path) -> Result<Journal, gonogo::journal::JournalError> {
    let first = Entry {
        kind: EventKind::Noted {
            text: "journal created".into(),
        },
        gates: Vec::new(),
        claim: None,
    };
    Journal::open_or_create(path, LAUNCH, &first).map(|(j, _)| j)
}

/// Fewer rounds than this (a very slow machine) is a failure, not a pass.
const MIN_ROUNDS: usize = 5;

/// The writer's test, as libtest names it.
fn writer_test() -> String {
    procs::test_name(module_path!(), "durability_writer_child")
}

/// The writer's body, run only in a re-run child (a no-op otherwise).
#[test]
fn durability_writer_child() {
    if !procs::is_rerun(&writer_test()) {
        return;
    }
    let path = std::env::var_os(WRITER_ENV).expect("the journal to write");
    let name = std::env::var("GONOGO_DURABILITY_NAME").unwrap_or_default();
    let mut journal = open(Path::new(&path)).expect("open journal");
    let mut out = std::io::stdout().lock();
    // On a line of its own: the test harness may have begun one.
    writeln!(out, "\nready").unwrap();
    out.flush().unwrap();
    // Start together with the other writer: wait for the word.
    let mut go = String::new();
    std::io::stdin().read_line(&mut go).unwrap();
    for i in 0u64.. {
        let text = format!("{name}-{i}");
        let entry = Entry {
            kind: EventKind::Noted { text: text.clone() },
            gates: vec![GateSnapshot {
                gate: "api up".into(),
                state: "GO".into(),
                value: Some(format!("sample {i}")),
            }],
            // Some appends race for a claim, as rollbacks do.
            claim: (i % 7 == 0).then(|| format!("{name}:{i}")),
        };
        let event = journal.append(&entry).expect("append");
        // Acknowledged: only now may anyone be told.
        writeln!(out, "ack {} {text}", event.seq).unwrap();
        out.flush().unwrap();
    }
}

struct Writer {
    child: Child,
    acks: mpsc::Receiver<String>,
}

impl Writer {
    fn start(journal: &Path, name: &str) -> Writer {
        let mut child = procs::rerun(&writer_test())
            .env(WRITER_ENV, journal)
            .env("GONOGO_DURABILITY_NAME", name)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn writer");
        let stdout = child.stdout.take().unwrap();
        let (tx, acks) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            // Only whole lines: a kill can cut the last one short.
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                if let Some(whole) = line.strip_suffix('\n')
                    && tx.send(whole.to_string()).is_err()
                {
                    return;
                }
                line.clear();
            }
        });
        Writer { child, acks }
    }

    fn go(&mut self) {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        stdin.write_all(b"go\n").unwrap();
        stdin.flush().unwrap();
    }

    /// Waits for "ready" (the journal is open), bounded.
    fn ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.acks.recv_timeout(left) {
                Ok(l) if l == "ready" => return,
                Ok(_) => {}
                Err(e) => panic!("writer not ready: {e}"),
            }
        }
    }

    fn kill9(&mut self) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
        let status = self.child.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "the writer must die by SIGKILL, not on its own: {status:?}"
        );
    }

    /// Every `(seq, text)` it acknowledged (after it died: the pipe is closed).
    fn acknowledged(&self) -> Vec<(i64, String)> {
        let mut acks = Vec::new();
        while let Ok(l) = self.acks.recv_timeout(Duration::from_secs(5)) {
            if let Some(rest) = l.strip_prefix("ack ") {
                let (seq, text) = rest.split_once(' ').expect("ack line");
                acks.push((seq.parse().expect("seq"), text.to_string()));
            }
        }
        acks
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn kill_9_loses_no_acknowledged_event_and_never_corrupts() {
    let dir = tempfile::tempdir().unwrap();
    kill_9_rounds(&dir.path().join("durable.sqlite"));
}

/// The same on a PostgreSQL journal: an event is acknowledged after its
/// commit, and a writer killed mid-transaction leaves no trace of it.
#[test]
fn kill_9_loses_no_acknowledged_event_on_postgres() {
    let Some(cluster) = crate::util::pg_shared() else {
        return;
    };
    kill_9_rounds(Path::new(&cluster.database()));
}

fn kill_9_rounds(journal: &Path) {
    let started = Instant::now();
    let journal = journal.to_path_buf();
    let mut rng = fastrand::Rng::new();
    let mut all_acks: Vec<(i64, String)> = Vec::new();
    let mut killed_with_acks = 0;
    let mut rounds = 0;
    for round in 0..ROUNDS {
        if started.elapsed() > BUDGET {
            break;
        }
        rounds += 1;
        // Two writers race on the one file; each is killed at its own moment.
        let mut writers: Vec<(Writer, Duration)> = (0..2)
            .map(|w| {
                let writer = Writer::start(&journal, &format!("r{round}w{w}"));
                (writer, Duration::from_millis(rng.u64(5..250)))
            })
            .collect();
        for (w, _) in &writers {
            w.ready();
        }
        for (w, _) in &mut writers {
            w.go();
        }
        let t0 = Instant::now();
        writers.sort_by_key(|(_, at)| *at);
        for (w, at) in &mut writers {
            if let Some(wait) = at.checked_sub(t0.elapsed()) {
                std::thread::sleep(wait);
            }
            w.kill9();
        }
        for (w, _) in &writers {
            let acks = w.acknowledged();
            killed_with_acks += usize::from(!acks.is_empty());
            all_acks.extend(acks);
        }

        // After the crash: sound file, intact chain, nothing acknowledged lost.
        let j = Journal::open(&journal, LAUNCH).expect("reopen after kill -9");
        assert_eq!(j.integrity().unwrap(), "ok", "round {round}");
        let n = j
            .verify(None)
            .unwrap_or_else(|p| panic!("round {round}: chain broken: {p:?}"))
            .events;
        let events = j.since(0).expect("read back");
        assert_eq!(events.len(), n);
        let by_seq: std::collections::HashMap<i64, &str> = events
            .iter()
            .map(|e| match &e.kind {
                EventKind::Noted { text } => (e.seq, text.as_str()),
                other => panic!("unexpected event {other:?}"),
            })
            .collect();
        for (seq, text) in &all_acks {
            assert_eq!(
                by_seq.get(seq).copied(),
                Some(text.as_str()),
                "round {round}: acknowledged event #{seq} ({text}) lost or changed"
            );
        }
        // No event appears twice (the chain would say so too).
        let mut texts: Vec<&str> = by_seq.values().copied().collect();
        texts.sort_unstable();
        texts.dedup();
        assert_eq!(texts.len(), n, "round {round}: duplicate events");
    }
    assert!(
        rounds >= MIN_ROUNDS,
        "only {rounds} rounds in {:?}",
        started.elapsed()
    );
    // The test means something only if writers were mid-stream when killed.
    assert!(
        killed_with_acks >= rounds,
        "only {killed_with_acks} of {} writers had written when killed",
        2 * rounds
    );
    eprintln!(
        "durability: {rounds} rounds, {} acknowledged events, all present, in {:?}",
        all_acks.len(),
        started.elapsed()
    );
}

/// Processes started together on a journal that does not exist yet (two
/// guards from one systemd target, a watch and an act) all open it: none
/// fails with "database is locked" while another switches the new file to
/// WAL.
#[test]
fn a_new_journal_opened_by_many_at_once_opens_for_all() {
    for round in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.sqlite");
        let start = std::sync::Arc::new(std::sync::Barrier::new(4));
        let openers: Vec<_> = (0..4)
            .map(|i| {
                let path = path.clone();
                let start = std::sync::Arc::clone(&start);
                std::thread::spawn(move || {
                    start.wait();
                    let mut j = open(&path).map_err(|e| e.to_string())?;
                    j.append(&Entry {
                        kind: EventKind::Noted {
                            text: format!("hello from {i}"),
                        },
                        gates: Vec::new(),
                        claim: None,
                    })
                    .map_err(|e| e.to_string())
                })
            })
            .collect();
        for (i, o) in openers.into_iter().enumerate() {
            if let Err(e) = o.join().unwrap() {
                panic!("round {round}: opener {i} failed: {e}");
            }
        }
        let j = Journal::open(&path, LAUNCH).unwrap();
        assert_eq!(j.verify(None).map(|v| v.events), Ok(5), "round {round}");
    }
}
