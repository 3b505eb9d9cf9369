//! A team journal's launch as this machine last saw it: every event, and
//! who the database said this user is. Kept so that `gonogo rollback`
//! can still run, spooled, when the database cannot be reached — by the
//! layout the journal pinned (never the file given), for the identity the
//! server last authenticated. A file journal needs none: it is local.
//!
//! One JSON-lines file per launch and database in
//! `$XDG_STATE_HOME/gonogo/cache/`, this user's alone: the first line
//! says who, each further line is an event.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::journal::Location;
use crate::launch::Event;

#[derive(Serialize, Deserialize)]
struct Head {
    identity: String,
    location: String,
}

/// The cache file of `launch` in the database `at`; `None` for a file
/// journal.
pub fn path(at: &Location, launch: &str) -> Option<PathBuf> {
    let Location::Postgres(_) = at else {
        return None;
    };
    // The URL as shown (no password) tells databases apart.
    let digest = Sha256::digest(at.to_string().as_bytes());
    let tag: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    let dir = crate::journal::default_path("x")
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
        .join("cache");
    Some(dir.join(format!("{launch}-{tag}.jsonl")))
}

/// Whether `meta` is this user's alone.
fn ours(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    meta.uid() == nix::unistd::geteuid().as_raw() && meta.mode() & 0o077 == 0
}

/// Rewrites the cache whole (after a session opened and read every event).
/// Best effort: a cache that cannot be written only means no offline
/// rollback from the CLI.
pub fn save(at: &Location, launch: &str, identity: &str, events: &[Event]) {
    let Some(path) = path(at, launch) else {
        return;
    };
    let _ = (|| -> std::io::Result<()> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        if !ours(&std::fs::metadata(dir)?) {
            return Err(std::io::Error::other("not this user's alone"));
        }
        let tmp = dir.join(format!(".{:08x}.tmp", fastrand::u32(..)));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        let head = Head {
            identity: identity.to_string(),
            location: at.to_string(),
        };
        let mut text = serde_json::to_string(&head).map_err(std::io::Error::other)?;
        text.push('\n');
        for e in events {
            text.push_str(&serde_json::to_string(e).map_err(std::io::Error::other)?);
            text.push('\n');
        }
        f.write_all(text.as_bytes())?;
        std::fs::rename(&tmp, &path)
    })();
}

/// Adds events seen since (a running screen or guard keeps it current).
pub fn extend(at: &Location, launch: &str, events: &[Event]) {
    let Some(path) = path(at, launch) else {
        return;
    };
    let _ = (|| -> std::io::Result<()> {
        if !ours(&std::fs::metadata(&path)?) {
            return Ok(());
        }
        let mut text = String::new();
        for e in events {
            text.push_str(&serde_json::to_string(e).map_err(std::io::Error::other)?);
            text.push('\n');
        }
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)?
            .write_all(text.as_bytes())
    })();
}

/// Who this user is on that database and the launch's events, as last
/// seen here; `None` when nothing (trustworthy) is cached.
pub fn load(at: &Location, launch: &str) -> Option<(String, Vec<Event>)> {
    let path = path(at, launch)?;
    if !ours(&std::fs::metadata(&path).ok()?) {
        return None;
    }
    let text = std::fs::read_to_string(&path).ok()?;
    let mut lines = text.lines();
    let head: Head = serde_json::from_str(lines.next()?).ok()?;
    let mut events: Vec<Event> = Vec::new();
    for line in lines {
        // A line cut short by a crash ends what is known.
        let Ok(e) = serde_json::from_str::<Event>(line) else {
            break;
        };
        // Appended twice (a save racing an extend): each event once.
        if events.last().is_none_or(|last| e.seq > last.seq) {
            events.push(e);
        }
    }
    Some((head.identity, events))
}
