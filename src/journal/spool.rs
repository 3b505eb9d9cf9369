//! The rollback spool: a rollback run while the journal's database was
//! unreachable is written here, on this machine, before its command runs,
//! and appended to the journal when it comes back (marked as recorded
//! offline). Nothing acknowledged is lost: each record is its own file,
//! written whole (temp file, fsync, rename) and removed only after its
//! events are in the journal.
//!
//! Appending again after a crash between the append and the removal finds
//! the events by their mark's id and does not record them twice.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Entry, Journal, JournalError};
use crate::launch::{EventKind, Offline};

/// One rollback run offline.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Spooled {
    pub launch: String,
    /// The process that ran it: its record is its own until it exits.
    pub pid: u32,
    pub started: Entry,
    /// The end, once the command ended.
    pub finished: Option<Entry>,
}

impl Spooled {
    /// Whether it holds what a spool may hold: a rollback's start, marked
    /// offline and claiming the launch's rollback, and its end. The
    /// spool is a file any process of this user can write: nothing else
    /// in it is appended.
    fn is_rollback(&self) -> bool {
        let started = matches!(
            &self.started.kind,
            EventKind::RollbackStarted {
                offline: Some(_),
                ..
            }
        ) && self
            .started
            .claim
            .as_deref()
            .is_none_or(|c| c.starts_with("rollback:"));
        let finished = self.finished.as_ref().is_none_or(|f| {
            matches!(f.kind, EventKind::RollbackFinished { .. }) && f.claim.is_none()
        });
        started && finished
    }

    pub fn id(&self) -> Option<&str> {
        match &self.started.kind {
            EventKind::RollbackStarted {
                offline: Some(o), ..
            } => Some(&o.id),
            _ => None,
        }
    }
}

/// Where spooled rollbacks wait: beside the default journals,
/// `$XDG_STATE_HOME/gonogo/spool/`, the user's alone.
pub fn dir() -> PathBuf {
    super::default_path("x")
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
        .join("spool")
}

/// A new offline mark: this host, now, why.
pub fn mark(why: &str) -> Offline {
    Offline {
        id: format!(
            "{}-{}-{:08x}",
            Utc::now().format("%Y%m%dT%H%M%S"),
            std::process::id(),
            fastrand::u32(..)
        ),
        at: Utc::now(),
        host: nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "this host".into()),
        user: crate::session::os_user(),
        why: why.to_string(),
    }
}

/// Writes (or rewrites) `s` whole and durably; its path.
///
/// # Errors
/// When the spool directory or file cannot be written.
pub fn write(s: &Spooled) -> std::io::Result<PathBuf> {
    use std::io::Write as _;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let dir = dir();
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)?;
    // Ours alone, or it would never be appended (see `pending_in`).
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = std::fs::metadata(&dir)?;
        if meta.uid() != nix::unistd::geteuid().as_raw() {
            return Err(std::io::Error::other(format!(
                "{} belongs to another user",
                dir.display()
            )));
        }
        if meta.mode() & 0o077 != 0 {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    let id = s.id().unwrap_or("unmarked");
    let path = dir.join(format!("{}.{id}.json", s.launch));
    let tmp = dir.join(format!(".{}.{id}.{:08x}", s.launch, fastrand::u32(..)));
    let json = serde_json::to_vec(s).map_err(std::io::Error::other)?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(&json)?;
    f.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    std::fs::File::open(&dir)?.sync_all()?;
    Ok(path)
}

/// The spooled rollbacks of `launch` this process may append: its own,
/// and those of processes no longer running.
///
/// # Errors
/// A spool directory others may write: nothing in it is trusted.
pub fn pending(launch: &str) -> Result<Vec<(PathBuf, Spooled)>, String> {
    pending_in(&dir(), launch)
}

/// [`pending`] in `dir`. Only what this user alone could have written
/// counts: a record another user could plant would be appended as ours,
/// so a directory others may write is refused, a file passed over.
fn pending_in(dir: &Path, launch: &str) -> Result<Vec<(PathBuf, Spooled)>, String> {
    use std::os::unix::fs::MetadataExt;
    let me = nix::unistd::geteuid().as_raw();
    let ours = |m: &std::fs::Metadata| m.uid() == me && m.mode() & 0o022 == 0;
    match std::fs::metadata(dir) {
        Ok(m) if ours(&m) => {}
        Ok(_) => {
            return Err(format!(
                "the rollback spool {} is not this user's alone (its owner or mode lets others write it): nothing in it is appended; check it, fix it (chmod 700) and restart",
                dir.display()
            ));
        }
        Err(_) => return Ok(Vec::new()),
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut out: Vec<(PathBuf, Spooled)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{launch}.")) && n.ends_with(".json"))
        })
        .filter(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file() && ours(&m)))
        .filter_map(|p| {
            let s: Spooled = serde_json::from_slice(&std::fs::read(&p).ok()?).ok()?;
            (s.launch == launch).then_some((p, s))
        })
        .filter(|(_, s)| s.pid == std::process::id() || !alive(s.pid))
        .collect();
    out.sort_by_key(|(_, s)| offline_at(s));
    Ok(out)
}

fn offline_at(s: &Spooled) -> Option<DateTime<Utc>> {
    match &s.started.kind {
        EventKind::RollbackStarted {
            offline: Some(o), ..
        } => Some(o.at),
        _ => None,
    }
}

fn alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

/// Appends every spooled rollback this process may append; says what it
/// did, a line each. A record whose command still runs here waits.
///
/// # Errors
/// Journal failures (the spool is kept and tried again).
pub fn drain(journal: &mut Journal, launch: &str) -> Result<Vec<String>, JournalError> {
    let mut said = Vec::new();
    let pending = match pending(launch) {
        Ok(p) => p,
        Err(why) => return Ok(vec![why]),
    };
    for (path, s) in pending {
        // Its command still runs here: start and end go on together.
        if s.finished.is_none() && s.pid == std::process::id() {
            continue;
        }
        if !s.is_rollback() {
            said.push(format!(
                "the rollback spool file {} holds something other than a rollback run offline: not appended (check it and remove it)",
                path.display()
            ));
            continue;
        }
        said.push(append(journal, &s)?);
        let _ = std::fs::remove_file(&path);
    }
    Ok(said)
}

/// What the journal already holds of `s` (a retried append after a
/// crash): its start's seq, and whether its end is there.
fn recorded(journal: &Journal, s: &Spooled) -> Result<(Option<i64>, bool), JournalError> {
    let id = s.id();
    let ours = |o: &Option<Box<Offline>>| o.as_ref().is_some_and(|o| Some(o.id.as_str()) == id);
    let mut found = (None, false);
    for e in journal.since(0)? {
        match &e.kind {
            EventKind::RollbackStarted { offline, .. } if ours(offline) => found.0 = Some(e.seq),
            EventKind::RollbackFinished { offline, .. } if ours(offline) => found.1 = true,
            _ => {}
        }
    }
    Ok(found)
}

/// Appends one spooled rollback (what is not there yet); what happened.
fn append(journal: &mut Journal, s: &Spooled) -> Result<String, JournalError> {
    let (was_started, was_finished) = recorded(journal, s)?;
    let started = match was_started {
        Some(seq) => Some(seq),
        None => match journal.append(&s.started) {
            Ok(e) => Some(e.seq),
            // The launch's rollback was recorded meanwhile by a process
            // that could reach the journal: this one ran too, and says so.
            Err(JournalError::Claimed(_)) => None,
            Err(e) => return Err(e),
        },
    };
    let Some(seq) = started else {
        let outcome = s.finished.as_ref().and_then(|f| match &f.kind {
            EventKind::RollbackFinished { outcome, .. } => Some(outcome.ending.clone()),
            _ => None,
        });
        let note = format!(
            "a rollback also ran while the journal was unreachable{} (command ended: {}); another process had recorded the launch's rollback meanwhile",
            crate::launch::Offline::note(match &s.started.kind {
                EventKind::RollbackStarted { offline, .. } => offline.as_deref(),
                _ => None,
            }),
            outcome.as_deref().unwrap_or("unknown")
        );
        match journal.append(&Entry {
            kind: EventKind::Noted { text: note.clone() },
            gates: s.started.gates.clone(),
            claim: s.id().map(|id| format!("offline:{id}")),
        }) {
            Ok(_) | Err(JournalError::Claimed(_)) => {}
            Err(e) => return Err(e),
        }
        return Ok(note);
    };
    let Some(finished) = &s.finished else {
        return Ok(format!(
            "appended the start of a rollback run offline (#{seq}); its end was never spooled"
        ));
    };
    if !was_finished {
        let mut entry = finished.clone();
        if let EventKind::RollbackFinished { started, .. } = &mut entry.kind {
            *started = Some(seq);
        }
        entry.claim = Some(format!("rollback-end:{seq}"));
        match journal.append(&entry) {
            // A guard took its runner for lost meanwhile: the real end
            // still goes on the record, and replaces that.
            Err(JournalError::Claimed(_)) => {
                entry.claim = None;
                journal.append(&entry)?;
            }
            other => {
                other?;
            }
        }
    }
    Ok(format!(
        "appended a rollback run while the journal was offline (#{seq} and its end)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn record(launch: &str) -> Spooled {
        Spooled {
            launch: launch.into(),
            // No such process: another's, gone, so ours to append.
            pid: u32::MAX - 1,
            started: Entry {
                kind: EventKind::RollbackStarted {
                    reason: "r".into(),
                    triggers: Vec::new(),
                    command: vec!["true".into()],
                    offline: Some(Box::new(mark("down"))),
                },
                gates: Vec::new(),
                claim: None,
            },
            finished: None,
        }
    }

    /// A spool file is anything this user's processes wrote: only a
    /// rollback's start and end are ever appended from it, and the start
    /// claims nothing but the launch's rollback.
    #[test]
    fn a_spool_carries_only_rollbacks() {
        assert!(record("l").is_rollback());
        let mut forged = record("l");
        forged.started.kind = EventKind::SignedOff {
            phase: "p".into(),
            role: "cto".into(),
            note: None,
        };
        assert!(!forged.is_rollback());
        let mut squatting = record("l");
        squatting.started.claim = Some("start".into());
        assert!(!squatting.is_rollback());
        let mut unmarked = record("l");
        if let EventKind::RollbackStarted { offline, .. } = &mut unmarked.started.kind {
            *offline = None;
        }
        assert!(!unmarked.is_rollback());
        let mut noted_end = record("l");
        noted_end.finished = Some(Entry {
            kind: EventKind::Noted { text: "x".into() },
            gates: Vec::new(),
            claim: None,
        });
        assert!(!noted_end.is_rollback());
    }

    #[test]
    fn only_what_this_user_alone_could_write_is_appended() {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("spool");
        std::fs::create_dir(&spool).unwrap();
        std::fs::set_permissions(&spool, std::fs::Permissions::from_mode(0o700)).unwrap();
        let write = |name: &str, s: &Spooled, mode: u32| {
            let p = spool.join(name);
            std::fs::write(&p, serde_json::to_vec(s).unwrap()).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        write("l.a.json", &record("l"), 0o600);
        write("l.b.json", &record("l"), 0o666);
        write("other.c.json", &record("other"), 0o600);
        let found = pending_in(&spool, "l").unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].0.ends_with("l.a.json"));
        // A directory others may write: nothing in it counts.
        std::fs::set_permissions(&spool, std::fs::Permissions::from_mode(0o777)).unwrap();
        let why = pending_in(&spool, "l").unwrap_err();
        assert!(why.contains("not this user's alone"), "{why}");
    }
}
