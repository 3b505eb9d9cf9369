//! The action commands (`sign`, `advance`, `hold`, `rollback`, …): the same
//! engine code as the screen's keys, against the same journal. A refusal
//! exits 1 with the reason on stderr, and is journaled too.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Command, Error, load_layout, out, prober};
use crate::act::{self, Act, Desk, Performed};
use crate::engine;
use crate::guard;
use crate::journal::JournalError;
use crate::launch::{EventKind, State};
use crate::layout::Layout;
use crate::layout::template::ProcessEnv;
use crate::session::{Session, SessionError};

/// The act a command asks for, if it is one. `rollback` without `--yes`
/// is still an act: [`run`] refuses it before anything runs.
pub(super) fn from_command(c: &Command) -> Option<(Act, bool)> {
    let act = match c {
        Command::Sign {
            role, phase, note, ..
        } => Act::SignOff {
            role: role.clone(),
            phase: phase.clone(),
            note: note.clone(),
        },
        Command::Revoke { role, note, .. } => Act::Revoke {
            role: role.clone(),
            note: note.clone(),
        },
        Command::Advance {
            override_reason, ..
        } => Act::Advance {
            override_reason: override_reason.clone(),
        },
        Command::Hold { reason, .. } => Act::Hold {
            reason: reason.clone(),
        },
        Command::Resume { .. } => Act::Resume,
        Command::CheckItem {
            checklist,
            item,
            undo,
            ..
        } => Act::CheckItem {
            checklist: checklist.clone(),
            item: item.clone(),
            undo: *undo,
        },
        Command::Note { text, .. } => Act::Note { text: text.clone() },
        Command::Arm { reason, .. } => Act::Arm {
            reason: reason.clone(),
        },
        Command::Disarm { reason, .. } => Act::Disarm {
            reason: reason.clone(),
        },
        Command::Rollback { reason, yes, .. } => {
            return Some((
                Act::Rollback {
                    reason: reason.clone(),
                },
                *yes,
            ));
        }
        Command::Reopen { phase, reason, .. } => Act::Reopen {
            phase: phase.clone(),
            reason: reason.clone(),
        },
        Command::Start { .. } => Act::Start,
        // The file's text is filled in once it is read (and trusted).
        Command::Adopt { .. } => Act::Adopt {
            path: String::new(),
            text: String::new(),
        },
        _ => return None,
    };
    Some((act, true))
}

pub(super) async fn run(
    layout_path: PathBuf,
    journal: Option<PathBuf>,
    act: Act,
    confirmed: bool,
) -> Result<i32, Error> {
    let layout = load_layout(&layout_path)?;
    let act = match act {
        Act::Adopt { .. } => Act::Adopt {
            path: layout.path.display().to_string(),
            text: layout.source.to_string(),
        },
        other => other,
    };
    let mut session = match Session::open(layout.clone(), journal.as_deref().map(Path::new)) {
        Ok(s) => s,
        // The operator's way out runs without the database, spooled.
        Err(SessionError::Journal(e))
            if e.is_unreachable() && matches!(act, Act::Rollback { .. }) =>
        {
            return offline_rollback(
                layout,
                journal.as_deref().map(Path::new),
                &act,
                confirmed,
                e,
            )
            .await;
        }
        Err(e) => return Err(Error::Journal(e)),
    };
    for line in std::mem::take(&mut session.drained) {
        out::notice(&line);
    }
    if !matches!(act, Act::Adopt { .. })
        && let Some(note) = session.proposal_note()
    {
        out::notice(&format!("note: {note}"));
    }
    let prober = prober(Arc::new(ProcessEnv))?;
    // Evidence for the decision and for the record: what a running guard
    // recorded, topped up by polling signals with nothing fresh.
    let span = engine::evidence_span(&session.layout);
    let since =
        crate::clock::now() - chrono::Duration::from_std(span).unwrap_or(chrono::Duration::MAX);
    let recorded = session.journal.samples_since(since).unwrap_or_default();
    let board = engine::board_from_evidence(&session.layout, recorded, &prober).await;
    let actor = session.journal.actor();
    stale_signoffs(&mut session, &board, &actor);
    // A rollback whose runner died is closed first, so it can be retried.
    if matches!(act, Act::Rollback { .. } | Act::Reopen { .. }) {
        let reaped =
            guard::reap_lost_rollback(&mut session.journal, &session.state, crate::clock::now());
        if let Ok(Some(e)) = reaped {
            out::line(&format!("#{} {}", e.seq, e.summary()));
        }
        session.refresh().map_err(Error::Journal)?;
    }
    if !confirmed {
        let argv = session
            .layout
            .rollback
            .as_ref()
            .map(|r| r.run.join(" "))
            .unwrap_or_default();
        let reason = format!("cannot roll back without --yes: it runs `{argv}`");
        // Refused attempts are part of the record too.
        let refused = session.journal.append(&crate::journal::Entry {
            kind: EventKind::Refused {
                attempted: act.name().to_string(),
                reason: reason.clone(),
            },
            gates: Desk {
                layout: &session.layout,
                state: &session.state,
                board: &board,
                now: crate::clock::now(),
                actor: &actor,
            }
            .snapshot(),
            claim: None,
        });
        if let Err(e) = refused {
            // The refusal stands; only its record is missing.
            out::notice(&e.to_string());
        }
        return Err(Error::Refused(reason));
    }
    let performed = {
        let desk = Desk {
            layout: &session.layout,
            state: &session.state,
            board: &board,
            now: crate::clock::now(),
            actor: &actor,
        };
        act::perform(&mut session.journal, &desk, &act)
    };
    let event = match performed? {
        Performed::Done(e) => e,
        Performed::Refused(reason) => return Err(Error::Refused(reason)),
    };
    out::line(&format!("#{} {}", event.seq, event.summary()));
    session.refresh().map_err(Error::Journal)?;
    // The operator sees the command's output as it runs, not after.
    let progress = |p: act::Progress<'_>| match p {
        act::Progress::Started(argv) => {
            out::line(&format!("$ {}", argv.join(" ")));
        }
        act::Progress::Line(l) => {
            out::line(&format!("  {l}"));
        }
        act::Progress::Finished(_) => {}
    };
    match &event.kind {
        EventKind::Advanced { .. } | EventKind::Started { .. } => {
            let gates = Desk {
                layout: &session.layout,
                state: &session.state,
                board: &board,
                now: crate::clock::now(),
                actor: &actor,
            }
            .snapshot();
            if let Some(ran) = guard::run_on_enter(
                &mut session.journal,
                &session.layout,
                &event,
                &actor,
                gates,
                Some(&progress),
            )
            .await?
            {
                out::line(&format!("#{} {}", ran.seq, ran.summary()));
            }
        }
        EventKind::RollbackStarted { .. } => {
            let finished = guard::run_rollback(
                &mut session.journal,
                &session.layout,
                &session.state,
                &event,
                &actor,
                event.gates.clone(),
                Some(&progress),
            )
            .await?;
            out::line(&format!("#{} {}", finished.seq, finished.summary()));
            if let EventKind::RollbackFinished { outcome, .. } = &finished.kind
                && !outcome.success
            {
                return Ok(1);
            }
        }
        _ => {}
    }
    Ok(0)
}

/// Judges the counting sign-offs against the evidence recorded since they
/// were given (a guard may have seen a gate leave GO without recording it,
/// or none ran), and records each one found stale — once per sign-off,
/// whoever finds it first — so the record never misses one.
fn stale_signoffs(session: &mut Session, board: &crate::board::Board, actor: &str) {
    let Some(first) = session
        .state
        .signoffs
        .iter()
        .filter(|s| s.counts())
        .map(|s| s.at)
        .min()
    else {
        return;
    };
    let span = chrono::Duration::from_std(engine::evidence_span(&session.layout))
        .unwrap_or(chrono::Duration::MAX);
    let since = first.checked_sub_signed(span).unwrap_or(first);
    let recorded = session.journal.samples_since(since).unwrap_or_default();
    let latest = (0..board.len())
        .filter_map(|i| board.latest(i).map(|s| (i, s.clone())))
        .collect();
    let layout = Arc::new(session.layout.clone());
    let now = crate::clock::now();
    let judged = crate::signoff::derive(&layout, &session.state, recorded, latest, now);
    let gates = Desk {
        layout: &session.layout,
        state: &judged,
        board,
        now,
        actor,
    }
    .snapshot();
    for s in &judged.signoffs {
        let Some(why) = s.stale.as_ref().filter(|w| !w.recorded) else {
            continue;
        };
        let entry = crate::runtime::stale_entry(&judged.phase, s, why, gates.clone());
        // Said by the act's refusal (or the override naming it), and in
        // `gonogo log`.
        match session.journal.append(&entry) {
            Ok(_) | Err(crate::journal::JournalError::Claimed(_)) => {}
            // The staleness stands for this act; only its record is missing.
            Err(e) => out::notice(&e.to_string()),
        }
    }
    session.state = judged;
    if let Err(e) = session.refresh() {
        out::notice(&e.to_string());
    }
}

/// `gonogo rollback` while the team journal's database cannot be reached:
/// by the launch as this machine last saw it (the pinned layout and the
/// events, `session::cache`), for the identity the server last
/// authenticated here, decided by the same rules, spooled before the
/// command runs and appended by the next gonogo on the launch that
/// reaches the database.
async fn offline_rollback(
    file: Layout,
    journal: Option<&Path>,
    act: &Act,
    confirmed: bool,
    unreachable: JournalError,
) -> Result<i32, Error> {
    let at = crate::session::journal_path(&file, journal);
    let why = unreachable
        .unreachable_reason()
        .map_or_else(|| unreachable.to_string(), str::to_string);
    let Some((actor, events)) = crate::session::cache::load(&at, &file.launch.id) else {
        return Err(JournalError::Unreachable(
            at,
            format!(
                "{why}; this machine has no copy of launch `{}` to roll back by: roll back from a running screen, or run the rollback command by hand",
                file.launch.id
            ),
        )
        .into());
    };
    let mut state = State::new(&file.phases[0].id);
    for e in &events {
        state.apply(e);
    }
    let (layout, _) = crate::session::in_force(&state, &file, &file)
        .map_err(|e| Error::Journal(SessionError::Pinned(e)))?;
    let seen = events
        .last()
        .map(|e| format!("#{} at {}", e.seq, e.at.format("%H:%M:%SZ")))
        .unwrap_or_default();
    out::notice(&format!(
        "JOURNAL OFFLINE ({why}): rolling back by the launch as this machine last saw it ({seen}), as {actor}"
    ));
    if !confirmed {
        let argv = layout
            .rollback
            .as_ref()
            .map(|r| r.run.join(" "))
            .unwrap_or_default();
        return Err(Error::Refused(format!(
            "cannot roll back without --yes: it runs `{argv}` (not recorded: JOURNAL OFFLINE)"
        )));
    }
    let board = crate::board::Board::new(&layout);
    let desk = Desk {
        layout: &layout,
        state: &state,
        board: &board,
        now: crate::clock::now(),
        actor: &actor,
    };
    let Act::Rollback { reason } = act else {
        return Err(Error::Undispatched);
    };
    act::decide(&desk, act)
        .map_err(|refused| Error::Refused(format!("{refused} (not recorded: JOURNAL OFFLINE)")))?;
    let gates = desk.snapshot();
    let spooled = guard::spool_rollback(&layout, &state, &actor, reason, Vec::new(), gates, &why)
        .map_err(Error::Refused)?;
    out::line(&format!(
        "ROLLBACK running while the journal is OFFLINE: spooled to {}, recorded when the journal is back",
        spooled.path.display()
    ));
    let progress = |p: act::Progress<'_>| match p {
        act::Progress::Started(argv) => {
            out::line(&format!("$ {}", argv.join(" ")));
        }
        act::Progress::Line(l) => {
            out::line(&format!("  {l}"));
        }
        act::Progress::Finished(_) => {}
    };
    let (success, news) = spooled.run(&layout, &state, Some(&progress)).await;
    out::line(&news);
    Ok(if success { 0 } else { 1 })
}
