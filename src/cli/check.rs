//! `gonogo check`: poll once (or until every window is decided), judge the
//! phase's gates, print a table or JSON, exit 0 GO / 1 NO-GO / 2 UNKNOWN.

use std::sync::Arc;

use chrono::Utc;
use serde::Serialize;
use tokio::sync::mpsc;

use std::path::Path;

use super::{Error, out};
use crate::act;
use crate::engine::{self, Board};
use crate::gate::{Judgement, State, Verdict, verdict};
use crate::launch::{RollbackStatus, State as LaunchState};
use crate::layout::diag::did_you_mean;
use crate::layout::{Layout, Phase};
use crate::session::Session;
use crate::signal::Prober;
use crate::signal::Sample;

pub async fn run(
    layout: &Layout,
    journal: Option<&Path>,
    prober: &Prober,
    phase: Option<&str>,
    json: bool,
    wait: bool,
) -> Result<i32, Error> {
    let (pinned, state, recorded) = current_state(layout, journal)?;
    // The journal's pinned layout is the one in force.
    let layout = pinned.as_ref().unwrap_or(layout);
    let phase = match phase {
        None => layout.phase(&state.phase).unwrap_or(&layout.phases[0]),
        Some(id) => match layout.phase(id) {
            Some(p) => p,
            None => {
                let hint = did_you_mean(id, layout.phases.iter().map(|p| p.id.as_str()))
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default();
                return Err(Error::NoPhase {
                    phase: id.to_string(),
                    path: layout.path.clone(),
                    hint,
                });
            }
        },
    };
    let board = if wait {
        poll_until_decided(layout, &state, prober, phase).await
    } else {
        engine::board_from_evidence(layout, recorded.clone(), prober).await
    };
    // A sign-off whose gate left GO since it was given is shown STALE,
    // judged from the recorded evidence as an act would judge it.
    let latest = (0..board.len())
        .filter_map(|i| board.latest(i).map(|s| (i, s.clone())))
        .collect();
    let state = crate::signoff::derive(
        &Arc::new(layout.clone()),
        &state,
        recorded,
        latest,
        crate::clock::now(),
    );
    let judged = act::judge_phase(layout, &state, &board, phase, crate::clock::now());
    let v = verdict(phase.gates.iter().zip(judged.iter()));
    if json {
        out::json(&to_json(layout, &state, phase, &judged, v));
    } else {
        out::block(&table(layout, &state, phase, &judged, v));
    }
    Ok(exit_code(&state, v))
}

/// The gates' verdict, unless the launch may not proceed whatever they say
/// (held, rolling back, rolled back, rollback failed). NOT STARTED leaves
/// the answer to the gates: a preflight check before the start still
/// answers.
fn exit_code(state: &LaunchState, v: Verdict) -> i32 {
    if state.hold.is_some() || state.rolled_back.is_some() {
        return super::EXIT_HALTED;
    }
    v.exit_code()
}

/// Polls on each signal's own interval until no gate is PENDING.
async fn poll_until_decided(
    layout: &Layout,
    state: &LaunchState,
    prober: &Prober,
    phase: &Phase,
) -> Board {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _polling = engine::start(Arc::new(layout.clone()), prober.clone(), tx);
    let mut board = Board::new(layout);
    let mut seen = vec![false; layout.signals.len()];
    while let Some(report) = rx.recv().await {
        seen[report.signal] = true;
        board.record(report.signal, report.sample);
        let needed = phase.gates.iter().all(|g| seen[g.signal]);
        if !needed {
            continue;
        }
        let judged = act::judge_phase(layout, state, &board, phase, crate::clock::now());
        if judged.iter().all(|j| j.state != State::Pending) {
            break;
        }
    }
    board
}

#[derive(Serialize)]
struct Report<'a> {
    launch: &'a str,
    phase: &'a str,
    verdict: &'a str,
    /// Whether a `start` entered the first phase (before it, the gates are
    /// a preview).
    started: bool,
    hold: Option<HoldReport<'a>>,
    rollback: Option<RollbackReport<'a>>,
    gates: Vec<GateReport>,
    signoffs: Vec<SignoffReport<'a>>,
    /// Events on the record whose actor had no authority to record them:
    /// they count as nothing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    void: Vec<VoidReport<'a>>,
    /// This machine's clock minus the journal server's, in seconds, once
    /// measured (a database journal): samples and windows are judged on
    /// the server's time.
    #[serde(skip_serializing_if = "Option::is_none")]
    clock_skew_s: Option<f64>,
}

#[derive(Serialize)]
struct VoidReport<'a> {
    seq: i64,
    actor: &'a str,
    event: &'a str,
    why: &'a str,
}

#[derive(Serialize)]
struct HoldReport<'a> {
    by: &'a str,
    reason: &'a str,
    at: String,
}

#[derive(Serialize)]
struct RollbackReport<'a> {
    /// `running`, `rolled back` or `failed`.
    state: &'static str,
    by: &'a str,
    reason: &'a str,
    at: String,
    ending: Option<&'a str>,
}

#[derive(Serialize)]
struct GateReport {
    name: String,
    signal: String,
    condition: String,
    blocking: bool,
    state: &'static str,
    value: Option<String>,
    reason: String,
    /// BLOCKED: the id of the root cause (`depends_on`).
    #[serde(skip_serializing_if = "Option::is_none")]
    blocked_by: Option<String>,
    window_left_s: Option<u64>,
}

#[derive(Serialize)]
struct SignoffReport<'a> {
    role: &'a str,
    user: Option<String>,
    at: Option<String>,
    /// Set when a blocking gate left GO after it: it no longer counts.
    stale: Option<StaleReport>,
}

#[derive(Serialize)]
struct StaleReport {
    gate: String,
    state: String,
    seen: String,
    /// Whether the journal records it yet.
    recorded: bool,
}

fn to_json(
    layout: &Layout,
    state: &LaunchState,
    phase: &Phase,
    judged: &[Judgement],
    v: Verdict,
) -> String {
    let report = Report {
        launch: &layout.launch.name,
        phase: &phase.id,
        verdict: v.word(),
        started: state.started(),
        hold: state.hold.as_ref().map(|h| HoldReport {
            by: &h.by,
            reason: &h.reason,
            at: h.at.to_rfc3339(),
        }),
        rollback: state.rolled_back.as_ref().map(|rb| RollbackReport {
            state: match rb.status() {
                RollbackStatus::Running => "running",
                RollbackStatus::Done => "rolled back",
                RollbackStatus::Failed => "failed",
            },
            by: &rb.by,
            reason: &rb.reason,
            at: rb.at.to_rfc3339(),
            ending: rb.finished.as_ref().map(|o| o.ending.as_str()),
        }),
        gates: phase
            .gates
            .iter()
            .zip(judged)
            .map(|(g, j)| GateReport {
                name: g.label(),
                signal: g.signal_id.clone(),
                condition: g.condition_text(),
                blocking: g.blocking,
                state: j.state.word(),
                value: j.value.clone(),
                reason: j.reason.clone(),
                blocked_by: j.blocked_by.as_ref().map(|b| b.id.clone()),
                window_left_s: j.remaining.map(|d| d.as_secs()),
            })
            .collect(),
        signoffs: phase
            .signoff
            .iter()
            .map(|role| {
                let signed = signed_in(state, phase, role);
                SignoffReport {
                    role,
                    user: signed.map(|s| s.user.clone()),
                    at: signed.map(|s| s.at.to_rfc3339()),
                    stale: signed.and_then(|s| s.stale.as_ref()).map(|w| StaleReport {
                        gate: w.gate.clone(),
                        state: w.state.clone(),
                        seen: w.seen.to_rfc3339(),
                        recorded: w.recorded,
                    }),
                }
            })
            .collect(),
        clock_skew_s: crate::clock::skew().map(|d| d.num_milliseconds() as f64 / 1000.0),
        void: state
            .void
            .iter()
            .map(|v| VoidReport {
                seq: v.seq,
                actor: &v.actor,
                event: &v.summary,
                why: &v.why,
            })
            .collect(),
    };
    serde_json::to_string_pretty(&report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

fn table(
    layout: &Layout,
    state: &LaunchState,
    phase: &Phase,
    judged: &[Judgement],
    v: Verdict,
) -> String {
    let k = layout.phase_index(&phase.id).map_or(0, |i| i + 1);
    let mut out = format!(
        "{} — phase {k}/{} {} ({})\n",
        layout.launch.name,
        layout.phases.len(),
        phase.id,
        phase.title
    );
    let header = ["STATE", "GATE", "CONDITION", "VALUE", "REASON"];
    let rows: Vec<[String; 5]> = phase
        .gates
        .iter()
        .zip(judged)
        .map(|(g, j)| {
            let mut name = g.name.clone().unwrap_or_else(|| g.signal_id.clone());
            if !g.blocking {
                name.push_str(" (advisory)");
            }
            [
                format!("{} {}", j.state.glyph(), j.state.word()),
                name,
                g.condition_text(),
                j.value.clone().unwrap_or_else(|| "—".into()),
                j.reason.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut s = String::from(" ");
        for (i, cell) in cells.iter().enumerate() {
            s.push(' ');
            s.push_str(cell);
            if i < 4 {
                s.push_str(&" ".repeat(widths[i] - cell.chars().count() + 1));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    out.push_str(&line(header));
    for row in &rows {
        out.push_str(&line([&row[0], &row[1], &row[2], &row[3], &row[4]]));
    }
    if phase.gates.is_empty() {
        out.push_str("  (this phase has no gates)\n");
    }
    let not_go = phase
        .gates
        .iter()
        .zip(judged)
        .filter(|(g, j)| g.blocking && j.state != State::Go)
        .count();
    let blocking = phase.gates.iter().filter(|g| g.blocking).count();
    out.push_str(&format!(
        "verdict: {} ({not_go} of {blocking} blocking gates not GO)\n",
        v.word()
    ));
    // Each root cause once, under the rows it blocks.
    let mut roots: Vec<(&crate::gate::Blocker, usize)> = Vec::new();
    for b in judged.iter().filter_map(|j| j.blocked_by.as_ref()) {
        match roots.iter_mut().find(|(r, _)| r.root == b.root) {
            Some((_, n)) => *n += 1,
            None => roots.push((b, 1)),
        }
    }
    for (b, n) in roots {
        out.push_str(&format!(
            "blocked: {}; {}\n",
            b.headline(),
            crate::notify::blocked_count(n)
        ));
    }
    if !phase.signoff.is_empty() {
        let polls: Vec<String> = phase
            .signoff
            .iter()
            .map(|role| match signed_in(state, phase, role) {
                Some(s) => match &s.stale {
                    None => format!("{role} ✔ {} at {}", s.user, s.at.format("%H:%M:%SZ")),
                    Some(w) => format!(
                        "{role} ⚠ STALE {} at {} — {} {} at {}",
                        s.user,
                        s.at.format("%H:%M:%SZ"),
                        w.gate,
                        w.state,
                        w.seen.format("%H:%M:%SZ")
                    ),
                },
                None => format!("{role} waiting"),
            })
            .collect();
        out.push_str(&format!("sign-off: {}\n", polls.join(", ")));
    }
    if !state.started() {
        out.push_str(
            "NOT STARTED: the gates above are a preview (`gonogo start` enters the first phase)\n",
        );
    }
    if let Some(h) = &state.hold {
        out.push_str(&format!("ON HOLD by {}: {}\n", h.by, h.reason));
    }
    if let Some(rb) = &state.rolled_back {
        let ending = rb
            .finished
            .as_ref()
            .map(|o| format!(" ({})", o.ending))
            .unwrap_or_default();
        out.push_str(&format!(
            "{} by {}: {}{ending}\n",
            rb.word(),
            rb.by,
            rb.reason
        ));
    }
    out
}

/// The pinned layout (when it differs from the file), the launch state and
/// recorded evidence from the journal, if one exists; a fresh launch (NOT
/// STARTED, nothing signed, no evidence) if not. `check` only reads: it
/// never creates or writes a journal, so it works on one the user may only
/// read.
#[allow(clippy::type_complexity)]
fn current_state(
    layout: &Layout,
    journal: Option<&Path>,
) -> Result<(Option<Layout>, LaunchState, Vec<(String, Sample)>), Error> {
    let Some(session) = Session::open_read_only(layout.clone(), journal).map_err(Error::reading)?
    else {
        return Ok((None, LaunchState::new(&layout.phases[0].id), Vec::new()));
    };
    if let Some(note) = session.proposal_note() {
        out::notice(&format!("note: {note}"));
    }
    if let Some(b) = crate::clock::badge() {
        out::notice(&format!(
            "note: {b}: this machine's clock is off the journal server's; judged on the server's time"
        ));
    }
    for v in &session.state.void {
        out::notice(&format!(
            "note: event #{} counts as nothing: {} — {}",
            v.seq, v.summary, v.why
        ));
    }
    let span = engine::evidence_span(&session.layout);
    let span = chrono::Duration::from_std(span).unwrap_or(chrono::Duration::MAX);
    // Back to the earliest counting sign-off, whose evidence is judged.
    let since = session
        .state
        .signoffs
        .iter()
        .filter(|s| s.counts())
        .map(|s| s.at)
        .chain(std::iter::once(crate::clock::now()))
        .min()
        .unwrap_or_else(Utc::now);
    let since = since.checked_sub_signed(span).unwrap_or(since);
    let recorded = match session.journal.samples_since(since) {
        Ok(r) => r,
        Err(e) if e.is_damaged() => return Err(Error::reading(e.into())),
        Err(_) => Vec::new(),
    };
    let pinned = (session.layout.digest() != layout.digest()).then(|| session.layout.clone());
    Ok((pinned, session.state, recorded))
}

/// Who signed `role` for `phase`; sign-offs belong to the current phase only.
fn signed_in<'s>(
    state: &'s LaunchState,
    phase: &Phase,
    role: &str,
) -> Option<&'s crate::launch::SignOff> {
    (state.phase == phase.id)
        .then(|| state.signed(role))
        .flatten()
}
