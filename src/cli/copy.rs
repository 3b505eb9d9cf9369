//! `gonogo journal copy FROM TO`: a launch's whole record moved between
//! journals — a SQLite rehearsal promoted to the team's database, a
//! finished launch archived to a file. The events are copied as stored
//! (times, actors, claims, hashes), so the chain verifies on both sides;
//! evidence samples and leases are working state, not the record, and stay.

use std::path::Path;

use super::{Error, out};
use crate::journal::{Journal, JournalError, Location};

pub(super) fn run(from: &Path, to: &Path, launch: Option<&str>) -> Result<i32, Error> {
    let (from, to) = (Location::parse(from), Location::parse(to));
    if from == to {
        return Err(Error::Refused(format!(
            "gonogo: {from} is both FROM and TO: nothing to copy"
        )));
    }
    let held = Journal::launches(&from)?;
    let launch = match (launch, held.as_slice()) {
        (Some(l), _) if held.iter().any(|h| h == l) => l.to_string(),
        (Some(l), _) => {
            return Err(Error::Refused(format!(
                "gonogo: {from} holds no launch `{l}` (it holds: {})",
                list(&held)
            )));
        }
        (None, [only]) => only.clone(),
        (None, []) => {
            return Err(Error::Refused(format!("gonogo: {from} holds no launch")));
        }
        (None, many) => {
            return Err(Error::Refused(format!(
                "gonogo: {from} holds several launches ({}): name one with --launch",
                list(many)
            )));
        }
    };
    let source = Journal::open_read_only(&from, &launch)?;
    let verified = source.verify(None).map_err(|problems| Error::Tampered {
        path: from.clone(),
        problems,
    })?;
    let rows = source.rows()?;
    if !Journal::create_copy(&to, &launch, &rows, source.chain())? {
        return Err(Error::Refused(format!(
            "gonogo: {to} already holds launch `{launch}`: nothing copied (a launch has one record)"
        )));
    }
    let copied = Journal::open_read_only(&to, &launch)?;
    let check = copied.verify(None).map_err(|problems| Error::Tampered {
        path: to.clone(),
        problems,
    })?;
    if check.head != verified.head || check.events != verified.events {
        return Err(JournalError::Sql(format!(
            "the copy in {to} does not match {from}: {} events, head {:?} against {} events, head {:?}",
            check.events, check.head, verified.events, verified.head
        ))
        .into());
    }
    let head = verified
        .head
        .map(|(seq, hash)| format!("#{seq} {}", &hash[..16.min(hash.len())]))
        .unwrap_or_default();
    out::line(&format!(
        "copied launch `{launch}` from {from} to {to}: {} events, hash chain verified on both sides (head {head})",
        verified.events
    ));
    Ok(0)
}

fn list(launches: &[String]) -> String {
    launches
        .iter()
        .map(|l| format!("`{l}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
