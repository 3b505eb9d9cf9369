//! `gonogo watch`: the headless guard. Same engine as the screen; one plain
//! line per change (a gate flips, a signal starts or stops failing, a
//! trigger starts holding), for logs, systemd units and non-TTY panes.
//!
//! It stops on SIGINT, SIGTERM, and when its stdout's reader goes away
//! (`gonogo watch … | head`, a closed log pipe; see [`super::out`]): a
//! guard nobody reads is a guard nobody watches, and its lease is handed
//! over on the way out so another guard takes over at once. That exit is
//! quiet and returns 0.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use std::path::Path;

use super::out;
use crate::act;
use crate::engine::{self, Board};
use crate::gate::{State, TriggerState, Verdict, verdict};
use crate::guard::{self, Guard};
use crate::launch::State as LaunchState;
use crate::layout::Layout;
use crate::notify::{Notification, Notifier};
use crate::session::Session;
use crate::signal::{Outcome, Prober};

pub async fn run(layout: Arc<Layout>, journal: Option<&Path>, prober: Prober) -> i32 {
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        eprintln!("gonogo watch: cannot install signal handlers");
        return 1;
    };
    let mut session = match super::open_session((*layout).clone(), journal) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if let Some(note) = session.proposal_note() {
        say(&format!("note: {note}"));
    }
    // The journal's pinned layout is the one in force.
    let mut layout = Arc::new(session.layout.clone());
    let notifier = Notifier::new(&layout.notify);
    let (tx, mut rx) = mpsc::unbounded_channel::<engine::SampleTaken>();
    let mut watcher = Watcher::new(&layout);
    // One process polls the endpoints (the lease holder); the others follow
    // its samples, so ten operators never put ten times the load on
    // production, and a follower takes over within seconds if it dies.
    let mut guard = Guard::new(
        Arc::clone(&layout),
        prober,
        tx,
        &session.journal,
        &mut watcher.board,
    );
    // An auto-rollback's output is printed as it runs.
    guard.show_output(Arc::new(|p: crate::act::Progress<'_>| match p {
        crate::act::Progress::Started(argv) => say(&format!("$ {}", argv.join(" "))),
        crate::act::Progress::Line(l) => say(&format!("  {l}")),
        crate::act::Progress::Finished(_) => {}
    }));
    let phase = layout
        .phase(&session.state.phase)
        .unwrap_or(&layout.phases[0]);
    say(&format!(
        "watching \"{}\": phase {}/{} {} ({} gates, {} signals); journal {}",
        layout.launch.name,
        layout.phase_index(&phase.id).unwrap_or(0) + 1,
        layout.phases.len(),
        phase.id,
        phase.gates.len(),
        layout.signals.len(),
        session.journal.path().display()
    ));
    // Staleness and windows change with time alone, not only with samples.
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    // Other processes' acts (and a leader's samples) show within a second.
    let mut journal_poll = tokio::time::interval(Duration::from_millis(250));
    let mut retargeted: Option<tokio::time::Instant> = None;
    let why = loop {
        tokio::select! {
            report = rx.recv() => match report {
                // A poll begun for the layout before an adoption: its index
                // may name another signal now.
                Some(r) if retargeted.is_some_and(|t| r.started < t) => {}
                Some(r) => {
                    guard.sampled(r.signal, &r.sample);
                    watcher.board.record(r.signal, r.sample);
                    if let Some(line) = watcher.signal_change(&layout, r.signal) {
                        say(&line);
                    }
                }
                None => break "polling stopped",
            },
            _ = tick.tick() => {
                for line in guard.tick(&mut session.journal) {
                    say(&line);
                }
            },
            _ = journal_poll.tick() => {
                // Watch may say nothing for a long while: look for a
                // reader that went away without waiting for a write to fail.
                if out::reader_gone() {
                    break "stdout closed";
                }
                for (i, sample) in guard.follow(&session.journal) {
                    watcher.board.record(i, sample);
                    if let Some(line) = watcher.signal_change(&layout, i) {
                        say(&line);
                    }
                }
                refresh_and_say(&mut session, &layout, &notifier);
                if session.layout.digest() != layout.digest() {
                    let new = Arc::new(session.layout.clone());
                    let board = watcher.board.rekeyed(&layout, &new);
                    watcher = Watcher::new(&new);
                    watcher.board = board;
                    guard.retarget(Arc::clone(&new));
                    retargeted = Some(tokio::time::Instant::now());
                    say(&format!(
                        "now running the adopted layout ({} signals, {} phases)",
                        new.signals.len(),
                        new.phases.len()
                    ));
                    layout = new;
                }
            },
            _ = term.recv() => break "SIGTERM",
            _ = int.recv() => break "SIGINT",
        }
        if out::closed() {
            break "stdout closed";
        }
        let now = Utc::now();
        for line in watcher.changes(&layout, &session.state, now) {
            say(&line);
        }
        for n in watcher.alerts.drain(..) {
            notifier.send(&n);
        }
        if let Err(e) = guard.duties(&mut session.journal, &session.state, &watcher.board, now) {
            say(&format!("journal error: {e}"));
        }
    };
    for line in guard.stop(&mut session.journal).await {
        say(&line);
    }
    notifier.flush(Duration::from_secs(1));
    say(&format!("watch stopped ({why})"));
    0
}

/// Folds in new journal events and says each one.
fn refresh_and_say(session: &mut Session, layout: &Layout, notifier: &Notifier) {
    match session.refresh() {
        Ok(events) => {
            for e in &events {
                say(&format!("journal #{} {}", e.seq, e.summary()));
                if let Some(n) = guard::notification(&layout.launch.name, e) {
                    notifier.send(&n);
                }
            }
        }
        Err(e) => say(&format!("journal error: {e}")),
    }
}

/// One line, cleaned ([`super::out`]); a failed write because the reader
/// went away ends the loop at its next turn.
fn say(line: &str) {
    out::line(&format!("{} {line}", stamp(Utc::now())));
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// What was last said, so only changes are printed.
pub(crate) struct Watcher {
    pub board: Board,
    gates: Vec<Option<State>>,
    /// Notifications owed for gate flips (GO → NO-GO), drained by the loop.
    pub alerts: Vec<Notification>,
    /// The phase `gates` tracks; a new phase starts fresh.
    phase: Option<String>,
    triggers: Vec<Option<std::mem::Discriminant<TriggerState>>>,
    errors: Vec<Option<String>>,
    verdict: Option<Verdict>,
}

impl Watcher {
    pub fn new(layout: &Layout) -> Watcher {
        let triggers = layout.rollback.as_ref().map_or(0, |r| r.triggers.len());
        Watcher {
            board: Board::new(layout),
            gates: Vec::new(),
            phase: None,
            alerts: Vec::new(),
            triggers: vec![None; triggers],
            errors: vec![None; layout.signals.len()],
            verdict: None,
        }
    }

    /// A signal that starts failing, changes its failure, or recovers.
    pub fn signal_change(&mut self, layout: &Layout, i: usize) -> Option<String> {
        let latest = self.board.latest(i)?;
        let error = match &latest.outcome {
            Outcome::Unknown(r) => Some(r.clone()),
            Outcome::Health {
                up: false, detail, ..
            } => Some(format!("down: {detail}")),
            _ => None,
        };
        if error == self.errors[i] {
            return None;
        }
        let was = std::mem::replace(&mut self.errors[i], error.clone());
        let id = &layout.signals[i].id;
        match (error, was) {
            (Some(e), _) => Some(format!("signal {id}: {e}")),
            (None, Some(_)) => Some(format!("signal {id}: ok again")),
            (None, None) => None,
        }
    }

    pub fn changes(
        &mut self,
        layout: &Layout,
        launch: &LaunchState,
        now: DateTime<Utc>,
    ) -> Vec<String> {
        let mut lines = Vec::new();
        let phase = layout.phase(&launch.phase).unwrap_or(&layout.phases[0]);
        if self.phase.as_deref() != Some(phase.id.as_str()) {
            self.phase = Some(phase.id.clone());
            self.gates = vec![None; phase.gates.len()];
            self.verdict = None;
        }
        let judged = act::judge_phase(layout, launch, &self.board, phase, now);
        // Until a signal first reports, "no data yet" is not news.
        let board = &self.board;
        let has_data = |signal: usize| board.latest(signal).is_some();
        for ((gate, j), last) in phase.gates.iter().zip(&judged).zip(&mut self.gates) {
            if *last == Some(j.state) || !has_data(gate.signal) {
                continue;
            }
            let from = last.map_or("—", State::word);
            let mut line = format!("gate \"{}\" {from} → {}", gate.label(), j.state.word());
            if let Some(v) = &j.value {
                line.push_str(&format!(" [{v}]"));
            }
            if !j.reason.is_empty() {
                line.push_str(&format!(": {}", j.reason));
            }
            lines.push(line);
            if *last == Some(State::Go) && j.state == State::NoGo {
                self.alerts.push(Notification::gate_no_go(
                    &layout.launch.name,
                    &gate.label(),
                    &j.reason,
                ));
            }
            *last = Some(j.state);
        }
        let v = verdict(phase.gates.iter().zip(judged.iter()));
        let all_reported = phase.gates.iter().all(|g| has_data(g.signal));
        if self.verdict != Some(v) && all_reported {
            let from = self.verdict.map_or("—", Verdict::word);
            lines.push(format!("phase {} verdict {from} → {}", phase.id, v.word()));
            self.verdict = Some(v);
        }
        if let Some(rb) = &layout.rollback {
            let judged = guard::judge_triggers(layout, launch, &self.board, now);
            for ((t, j), last) in rb.triggers.iter().zip(&judged).zip(&mut self.triggers) {
                let d = std::mem::discriminant(&j.state);
                if *last == Some(d) || !has_data(t.signal) {
                    continue;
                }
                *last = Some(d);
                let label = t.label();
                lines.push(match j.state {
                    TriggerState::Clear => {
                        format!(
                            "trigger \"{label}\" clear [{}]",
                            j.value.as_deref().unwrap_or("—")
                        )
                    }
                    TriggerState::Holding { .. } => {
                        format!("trigger \"{label}\" HOLDING: {}", j.reason)
                    }
                    TriggerState::Fired => format!("trigger \"{label}\" FIRED: {}", j.reason),
                    TriggerState::Blind => {
                        format!(
                            "trigger \"{label}\" BLIND (auto-rollback cannot see): {}",
                            j.reason
                        )
                    }
                });
            }
        }
        lines
    }
}
