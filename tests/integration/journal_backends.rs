//! One journal suite, run against every backend: an embedded SQLite file
//! and a PostgreSQL database (a real cluster this test process starts,
//! `util::pg`). The product sees one `Journal`; these tests hold both
//! backends to the same promises: the hash chain and what `verify` finds
//! when rows are edited or deleted behind its back, exactly-once claims
//! under a race, the polling lease, evidence samples, and one journal
//! however many processes create it at once.

use std::path::PathBuf;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use gonogo::journal::{Entry, Journal, JournalError, Location};
use gonogo::launch::{EventKind, GateSnapshot};
use gonogo::signal::{Outcome, Sample};

use crate::util::pg;

/// A backend for one test: its location and a way to edit it raw.
enum Backend {
    Sqlite(tempfile::TempDir),
    Postgres(&'static pg::Cluster, String),
}

impl Backend {
    fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(..) => "postgres",
        }
    }

    fn at(&self) -> Location {
        match self {
            Backend::Sqlite(dir) => Location::File(dir.path().join("j.sqlite")),
            Backend::Postgres(_, url) => Location::Postgres(url.clone()),
        }
    }

    /// Runs `sql` on the events table behind the journal's back (as a
    /// user with write access to the file or the database could).
    fn tamper(&self, sql: &str) {
        match self {
            Backend::Sqlite(dir) => {
                let raw = rusqlite::Connection::open(dir.path().join("j.sqlite")).unwrap();
                raw.execute(sql, []).unwrap();
            }
            Backend::Postgres(cluster, url) => {
                cluster.admin(pg::db_of(url), &sql.replace("events", "gonogo.events"));
            }
        }
    }

    /// Covers a deleted tail: the highest sequence number handed out is
    /// set back to `seq`.
    fn tamper_highest(&self, seq: i64) {
        match self {
            Backend::Sqlite(_) => self.tamper(&format!(
                "UPDATE sqlite_sequence SET seq = {seq} WHERE name = 'events'"
            )),
            Backend::Postgres(cluster, url) => {
                cluster.admin(
                    pg::db_of(url),
                    &format!("UPDATE gonogo.launches SET high = {seq}"),
                );
            }
        }
    }
}

/// Both backends, each fresh (PostgreSQL when installed; under CI it must
/// be).
fn backends() -> Vec<Backend> {
    let mut all = vec![Backend::Sqlite(tempfile::tempdir().unwrap())];
    if let Some(cluster) = crate::util::pg_shared() {
        all.push(Backend::Postgres(cluster, cluster.database()));
    }
    all
}

fn entry(kind: EventKind, claim: Option<&str>) -> Entry {
    Entry {
        kind,
        gates: vec![GateSnapshot {
            gate: "api up".into(),
            state: "GO".into(),
            value: Some("up".into()),
        }],
        claim: claim.map(str::to_string),
    }
}

fn note(text: &str) -> Entry {
    entry(EventKind::Noted { text: text.into() }, None)
}

fn fresh(at: &Location) -> Journal {
    Journal::open_or_create(at, "demo", &note("first"))
        .unwrap()
        .0
}

#[test]
fn appends_replay_and_verify_on_every_backend() {
    for b in backends() {
        let at = b.at();
        let mut j = fresh(&at);
        let e1 = j.append(&note("hello")).unwrap();
        let e2 = j
            .append(&entry(
                EventKind::Held {
                    reason: "wait".into(),
                },
                None,
            ))
            .unwrap();
        assert_eq!((e1.seq, e2.seq), (2, 3), "{}", b.name());
        let events = Journal::open(&at, "demo").unwrap().since(1).unwrap();
        assert_eq!(events, vec![e1, e2], "{}", b.name());
        let v = j.verify(None).unwrap();
        assert_eq!((v.events, v.chain), (3, 3), "{}", b.name());
        // Who acted is what the store established, never the writer's say.
        let who = match b {
            Backend::Sqlite(_) => {
                nix::unistd::User::from_uid(nix::unistd::geteuid())
                    .unwrap()
                    .unwrap()
                    .name
            }
            Backend::Postgres(..) => "gonogo".to_string(),
        };
        assert!(
            events.iter().all(|e| e.actor == who),
            "{}: {events:?}",
            b.name()
        );
        assert_eq!(j.integrity().unwrap(), "ok");
        let (again, created) = Journal::open_or_create(&at, "demo", &note("x")).unwrap();
        assert!(!created, "{}", b.name());
        assert_eq!(again.last_seq().unwrap(), 3, "{}", b.name());
        // Readers see it all without writing.
        let reader = Journal::open_read_only(&at, "demo").unwrap();
        assert_eq!(reader.since(0).unwrap().len(), 3, "{}", b.name());
        // Nothing yet for another launch.
        assert!(
            matches!(
                Journal::open_read_only(&at, "other"),
                Err(JournalError::Missing(_) | JournalError::OtherLaunch { .. })
            ),
            "{}",
            b.name()
        );
    }
}

#[test]
fn edits_and_deletions_are_found_on_every_backend() {
    for b in backends() {
        let name = b.name();
        let mut j = fresh(&b.at());
        for i in 0..4 {
            j.append(&note(&format!("n{i}"))).unwrap();
        }
        let actor = j.since(1).unwrap()[0].actor.clone();
        b.tamper("UPDATE events SET actor = 'mallory' WHERE seq = 2");
        let problems = j.verify(None).unwrap_err();
        assert!(
            problems
                .iter()
                .any(|p| p == "event #2 was edited after it was recorded"),
            "{name}: {problems:?}"
        );
        b.tamper(&format!(
            "UPDATE events SET actor = '{actor}' WHERE seq = 2"
        ));
        assert_eq!(j.verify(None).map(|v| v.events), Ok(5), "{name}");
        for (edit, undo) in [
            (
                "UPDATE events SET kind = 'held' WHERE seq = 2",
                "UPDATE events SET kind = 'noted' WHERE seq = 2",
            ),
            (
                "UPDATE events SET claim = 'rollback:9' WHERE seq = 2",
                "UPDATE events SET claim = NULL WHERE seq = 2",
            ),
        ] {
            b.tamper(edit);
            assert!(j.verify(None).is_err(), "{name}: {edit}");
            b.tamper(undo);
            assert!(j.verify(None).is_ok(), "{name}: {undo}");
        }
        let head = j.verify(None).unwrap().head.unwrap().1;
        b.tamper("DELETE FROM events WHERE seq = 3");
        let problems = j.verify(None).unwrap_err();
        assert!(
            problems.iter().any(|p| p.contains("#3..#3 are missing")),
            "{name}: {problems:?}"
        );
        b.tamper("DELETE FROM events WHERE seq >= 3");
        let problems = j.verify(None).unwrap_err();
        assert!(
            problems.iter().any(|p| p.contains("deleted from the end")),
            "{name}: {problems:?}"
        );
        // Covering tracks: only the head the operator noted still tells.
        b.tamper_highest(2);
        assert!(j.verify(None).is_ok(), "{name}: what is left is consistent");
        let problems = j.verify(Some(&head[..12])).unwrap_err();
        assert!(
            problems
                .iter()
                .any(|p| p.contains("is not in this journal: events were deleted from the end")),
            "{name}: {problems:?}"
        );
    }
}

#[test]
fn a_claim_raced_by_many_is_won_once_on_every_backend() {
    for b in backends() {
        let at = b.at();
        fresh(&at);
        let racers = 6;
        let barrier = Arc::new(Barrier::new(racers));
        let won: Vec<bool> = (0..racers)
            .map(|i| {
                let (at, barrier) = (at.clone(), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    let mut j = Journal::open(&at, "demo").unwrap();
                    barrier.wait();
                    match j.append(&entry(
                        EventKind::Noted {
                            text: format!("racer {i}"),
                        },
                        Some("rollback:0"),
                    )) {
                        Ok(_) => true,
                        Err(JournalError::Claimed(_)) => false,
                        Err(e) => panic!("racer {i}: {e}"),
                    }
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        assert_eq!(
            won.iter().filter(|w| **w).count(),
            1,
            "{}: {won:?}",
            b.name()
        );
        let j = Journal::open(&at, "demo").unwrap();
        assert_eq!(j.last_seq().unwrap(), 2, "{}", b.name());
        assert!(j.verify(None).is_ok(), "{}", b.name());
    }
}

#[test]
fn appends_from_many_writers_keep_one_chain_on_every_backend() {
    for b in backends() {
        let at = b.at();
        fresh(&at);
        let handles: Vec<_> = (0..4)
            .map(|w| {
                let at = at.clone();
                std::thread::spawn(move || {
                    let mut j = Journal::open(&at, "demo").unwrap();
                    for i in 0..25 {
                        j.append(&note(&format!("w{w} n{i}"))).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let j = Journal::open(&at, "demo").unwrap();
        let v = j.verify(None).unwrap();
        assert_eq!(v.events, 101, "{}", b.name());
    }
}

#[test]
fn one_process_holds_the_polling_lease_until_it_lapses_on_every_backend() {
    for b in backends() {
        let at = b.at();
        let mut a = fresh(&at);
        let mut other = Journal::open(&at, "demo").unwrap();
        let ttl = Duration::from_millis(400);
        assert!(a.hold_lease("a", ttl).unwrap(), "{}", b.name());
        assert!(
            !other.hold_lease("b", ttl).unwrap(),
            "{}: a holds it",
            b.name()
        );
        assert!(a.hold_lease("a", ttl).unwrap(), "{}: renewal", b.name());
        let (holder, until) = other.lease("poll").unwrap().unwrap();
        assert_eq!(holder, "a");
        let left = until - chrono::Utc::now();
        assert!(
            left > chrono::Duration::zero() && left <= chrono::Duration::milliseconds(450),
            "{}: {left}",
            b.name()
        );
        std::thread::sleep(Duration::from_millis(500));
        assert!(
            other.hold_lease("b", ttl).unwrap(),
            "{}: a lapsed, b takes over",
            b.name()
        );
        assert!(!a.hold_lease("a", ttl).unwrap(), "{}", b.name());
        other.release_lease("b").unwrap();
        assert!(a.hold_lease("a", ttl).unwrap(), "{}: released", b.name());
    }
}

#[test]
fn evidence_reads_back_and_followers_see_only_what_is_new_on_every_backend() {
    for b in backends() {
        let at = b.at();
        let mut j = fresh(&at);
        // Stored to the microsecond.
        let t0 = chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 6);
        let s = |v: f64, ms: i64| Sample {
            at: t0 + chrono::Duration::milliseconds(ms),
            outcome: Outcome::Number(v),
        };
        let first = [s(1.0, 0), s(2.0, 10)];
        j.record_samples(
            [("a", &first[0]), ("b", &first[1])],
            Duration::from_secs(600),
        )
        .unwrap();
        let follower = Journal::open(&at, "demo").unwrap();
        let (seen, got) = follower.samples_after(0).unwrap();
        assert_eq!(got.len(), 2, "{}", b.name());
        let more = s(3.0, 20);
        j.record_samples([("a", &more)], Duration::from_secs(600))
            .unwrap();
        let (_, new) = follower.samples_after(seen).unwrap();
        assert_eq!(new, vec![("a".to_string(), more.clone())], "{}", b.name());
        let since = follower.samples_since(t0).unwrap();
        assert_eq!(since.len(), 3, "{}", b.name());
        // Old evidence goes: kept only for `keep`.
        std::thread::sleep(Duration::from_millis(1100));
        let now = Sample {
            at: chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 6),
            outcome: Outcome::Number(4.0),
        };
        j.record_samples([("b", &now)], Duration::from_secs(1))
            .unwrap();
        assert_eq!(follower.samples_since(t0).unwrap().len(), 1, "{}", b.name());
    }
}

#[test]
fn processes_creating_one_journal_at_once_make_one_on_every_backend() {
    for b in backends() {
        let at = b.at();
        let barrier = Arc::new(Barrier::new(4));
        let created: Vec<bool> = (0..4)
            .map(|i| {
                let (at, barrier) = (at.clone(), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    Journal::open_or_create(&at, "demo", &note(&format!("creator {i}")))
                        .map(|(_, c)| c)
                        .unwrap()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        assert_eq!(
            created.iter().filter(|c| **c).count(),
            1,
            "{}: {created:?}",
            b.name()
        );
        assert_eq!(Journal::open(&at, "demo").unwrap().last_seq().unwrap(), 1);
    }
}

/// One database holds many launches, each its own chain and claims.
#[test]
fn a_database_holds_many_launches_apart() {
    let Some(cluster) = crate::util::pg_shared() else {
        return;
    };
    let at = Location::Postgres(cluster.database());
    let mut a = Journal::open_or_create(&at, "alpha", &note("a")).unwrap().0;
    let mut b = Journal::open_or_create(&at, "beta", &note("b")).unwrap().0;
    a.append(&entry(
        EventKind::Noted { text: "x".into() },
        Some("rollback:0"),
    ))
    .unwrap();
    // The same claim in another launch is another claim.
    b.append(&entry(
        EventKind::Noted { text: "y".into() },
        Some("rollback:0"),
    ))
    .unwrap();
    assert_eq!(a.last_seq().unwrap(), 2);
    assert_eq!(b.since(0).unwrap().len(), 2);
    assert!(a.verify(None).is_ok() && b.verify(None).is_ok());
    let mut launches = Journal::launches(&at).unwrap();
    launches.sort();
    assert_eq!(launches, ["alpha", "beta"]);
}

/// A database a newer gonogo migrated is refused, with the fix.
#[test]
fn a_newer_schema_is_refused_with_a_clear_message() {
    let Some(cluster) = crate::util::pg_shared() else {
        return;
    };
    let url = cluster.database();
    let at = Location::Postgres(url.clone());
    fresh(&at);
    cluster.admin(
        pg::db_of(&url),
        "INSERT INTO gonogo.schema_version (version, by_gonogo) VALUES (99, '9.9.9')",
    );
    let err = Journal::open(&at, "demo").err().unwrap();
    let text = err.to_string();
    assert!(err.is_unreachable(), "{text}");
    assert!(
        text.contains("schema is version 99, newer than this gonogo"),
        "{text}"
    );
    assert!(!text.contains(pg::PASSWORD), "{text}");
}

/// `journal copy`: SQLite → PostgreSQL → SQLite, the chain verified on
/// every side, and the same head everywhere.
#[test]
fn a_launch_copies_between_backends_and_verifies_on_both() {
    let Some(cluster) = crate::util::pg_shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rehearsal.sqlite");
    let mut j = fresh(&Location::File(file.clone()));
    for i in 0..5 {
        j.append(&entry(
            EventKind::Noted {
                text: format!("step {i}"),
            },
            (i == 2).then_some("rollback:0"),
        ))
        .unwrap();
    }
    let head = j.verify(None).unwrap().head;
    let url = cluster.database();
    let copy = |from: &str, to: &str| {
        std::process::Command::new(crate::util::procs::BIN)
            .args(["journal", "copy", from, to])
            .output()
            .unwrap()
    };
    // Rows as they are carry any actor: an operator may not write them.
    let out = copy(file.to_str().unwrap(), &url);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("copied into the database, rows as they are, by the owner"),
        "{err}"
    );
    assert!(Journal::open_read_only(Location::Postgres(url.clone()), "demo").is_err());
    let owner = cluster.owner_url(pg::db_of(&url));
    let out = copy(file.to_str().unwrap(), &owner);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("6 events, hash chain verified on both sides"),
        "{said}"
    );
    assert!(!said.contains(pg::PASSWORD), "{said}");
    let in_pg = Journal::open_read_only(Location::Postgres(url.clone()), "demo").unwrap();
    assert_eq!(in_pg.verify(None).unwrap().head, head);
    // A second copy would fork the record: refused, nothing changed.
    let out = copy(file.to_str().unwrap(), &owner);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already holds launch `demo`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let back: PathBuf = dir.path().join("archive.sqlite");
    let out = copy(&url, back.to_str().unwrap());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let archived = Journal::open_read_only(&back, "demo").unwrap();
    assert_eq!(archived.verify(None).unwrap().head, head);
    assert_eq!(archived.since(0).unwrap(), j.since(0).unwrap());
    // A tampered source is not copied.
    rusqlite::Connection::open(&file)
        .unwrap()
        .execute("UPDATE events SET actor = 'mallory' WHERE seq = 3", [])
        .unwrap();
    let out = copy(
        file.to_str().unwrap(),
        dir.path().join("x.sqlite").to_str().unwrap(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("event #3 was edited"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!dir.path().join("x.sqlite").exists());
}

/// A DBA who sets the database to SERIALIZABLE gets serialization
/// failures on concurrent appends (the launch row's lock meets a newer
/// version): each is retried, and every append lands, in one chain.
#[test]
fn serialization_failures_are_retried() {
    let Some(cluster) = crate::util::pg_shared() else {
        return;
    };
    let url = cluster.database();
    cluster.admin(
        "postgres",
        &format!(
            "ALTER DATABASE {} SET default_transaction_isolation TO 'serializable'",
            pg::db_of(&url)
        ),
    );
    let at = Location::Postgres(url);
    fresh(&at);
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|w| {
            let (at, barrier) = (at.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let mut j = Journal::open(&at, "demo").unwrap();
                barrier.wait();
                for i in 0..15 {
                    j.append(&note(&format!("w{w} n{i}"))).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let j = Journal::open(&at, "demo").unwrap();
    assert_eq!(j.verify(None).unwrap().events, 61);
}

/// An operator with `gonogo journal grant` cannot forge: no direct write
/// to any table, and an append through the function is stamped with the
/// user the server authenticated, whatever the writer would like.
#[test]
fn an_operator_cannot_write_the_tables_or_choose_the_actor() {
    let Some(cluster) = crate::util::pg_shared() else {
        return;
    };
    let url = cluster.database();
    let at = Location::Postgres(url.clone());
    let mut j = fresh(&at);
    j.append(&note("real")).unwrap();
    let psql_as_operator = |sql: &str| cluster.psql_at(&url, sql);
    for forged in [
        "INSERT INTO gonogo.events (launch, seq, at, actor, kind, body, gates, prev_hash, hash) VALUES ('demo', 3, 'x', 'alice', 'signed_off', '{}', '[]', 'x', 'x')",
        "UPDATE gonogo.events SET actor = 'alice'",
        "DELETE FROM gonogo.events WHERE seq = 2",
        "INSERT INTO gonogo.samples (launch, signal, at, outcome) VALUES ('demo', 's', 'x', '{}')",
        "UPDATE gonogo.leases SET holder = 'me'",
    ] {
        let out = psql_as_operator(forged);
        assert!(!out.status.success(), "{forged} went through");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("permission denied"),
            "{forged}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Through the function: the kind must match its body, and the actor
    // is the server's to say.
    let out = psql_as_operator(
        "SELECT o_actor FROM gonogo.append('demo', 'signed_off', '{\"type\":\"noted\",\"text\":\"x\"}', '[]', NULL)",
    );
    assert!(!out.status.success(), "a kind its body contradicts");
    let out = psql_as_operator(
        "SELECT o_actor FROM gonogo.append('demo', 'signed_off', '{\"type\":\"signed_off\",\"phase\":\"p\",\"role\":\"cto\"}', '[]', NULL)",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "gonogo");
    // And what the server sealed verifies, chained after our own events.
    let v = j.verify(None).unwrap();
    assert_eq!((v.events, v.chain), (3, 3));
}

/// The launch id is in every hash: a whole launch replayed into another
/// launch's record does not verify there.
#[test]
fn a_launch_replayed_into_another_does_not_verify() {
    let dir = tempfile::tempdir().unwrap();
    let at = Location::File(dir.path().join("a.sqlite"));
    let mut j = fresh(&at);
    j.append(&note("signed, in launch demo")).unwrap();
    let rows = j.rows().unwrap();
    let moved = Location::File(dir.path().join("b.sqlite"));
    assert!(Journal::create_copy(&moved, "other", &rows, j.chain()).unwrap());
    let problems = Journal::open_read_only(&moved, "other")
        .unwrap()
        .verify(None)
        .unwrap_err();
    assert!(
        problems
            .iter()
            .any(|p| p == "event #1 was edited after it was recorded"),
        "{problems:?}"
    );
}

/// A measurement, not a check run by default: `GONOGO_BIN=target/release/gonogo
/// cargo test --test integration -- --ignored a_million_events` builds a 1,000,000-event
/// SQLite journal (sealed as the product seals, through its batched
/// create path), copies it into PostgreSQL and back with the real
/// `gonogo journal copy`, and prints how long each took and the peak RSS.
#[test]
#[ignore = "a measurement: minutes, and a few hundred MiB"]
fn a_million_events_copy_into_postgres_and_back() {
    let Some(cluster) = crate::util::pg_shared() else {
        return;
    };
    let n: i64 = std::env::var("GONOGO_COPY_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("million.sqlite");
    let built = std::time::Instant::now();
    let t0 = chrono::Utc::now() - chrono::Duration::hours(4);
    let mut rows = Vec::with_capacity(usize::try_from(n).unwrap());
    let mut last: Option<(i64, String)> = None;
    for i in 0..n {
        let row = gonogo::journal::seal(
            &note(&format!("step {i} of the long launch")),
            "root",
            ("demo", gonogo::journal::CHAIN),
            last.take(),
            t0 + chrono::Duration::milliseconds(i * 14),
        )
        .unwrap();
        last = Some((row.seq, row.hash.clone()));
        rows.push(row);
    }
    assert!(
        Journal::create_copy(
            &Location::File(file.clone()),
            "demo",
            &rows,
            gonogo::journal::CHAIN
        )
        .unwrap()
    );
    drop(rows);
    let built = built.elapsed();
    let size = std::fs::metadata(&file).unwrap().len();
    let owner = cluster.owner_url(pg::db_of(&cluster.database()));
    // The binary measured: this build's, or `GONOGO_BIN` (a release build).
    let bin = std::env::var("GONOGO_BIN").unwrap_or_else(|_| crate::util::procs::BIN.into());
    let timed = |from: &str, to: &str| {
        let started = std::time::Instant::now();
        let out = std::process::Command::new("/usr/bin/time")
            .args(["-f", "%M"])
            .arg(&bin)
            .args(["journal", "copy", from, to])
            .output()
            .unwrap();
        let took = started.elapsed();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{err}");
        let kib: u64 = err
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(0);
        (
            took,
            kib / 1024,
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (into_pg, rss_in, said) = timed(file.to_str().unwrap(), &owner);
    assert!(
        said.contains(&format!("{n} events, hash chain verified on both sides")),
        "{said}"
    );
    let back = dir.path().join("back.sqlite");
    let (out_of_pg, rss_out, _) = timed(&owner, back.to_str().unwrap());
    eprintln!(
        "{n} events ({} MiB of SQLite, built in {built:?}): journal copy into PostgreSQL {into_pg:?} (peak RSS {rss_in} MiB), back into SQLite {out_of_pg:?} (peak RSS {rss_out} MiB)",
        size / (1024 * 1024)
    );
}
