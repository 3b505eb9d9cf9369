//! `gonogo watch`: the headless guard. The same runtime as the screen;
//! it prints one plain line per change the runtime reports (a gate flips,
//! a signal starts or stops failing, a trigger starts holding, a journal
//! event), for logs, systemd units and non-TTY panes.
//!
//! It stops on SIGINT, SIGTERM, and when its stdout's reader goes away
//! (`gonogo watch … | head`, a closed log pipe; see [`super::out`]): a
//! guard nobody reads is a guard nobody watches, and its lease is handed
//! over on the way out so another guard takes over at once. That exit is
//! quiet and returns 0.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use super::{Error, out};
use crate::gate::{State, TriggerState, Trouble, Verdict};
use crate::layout::{Layout, Then};
use crate::live::{Change, Live};
use crate::notify::Notifier;
use crate::runtime::{self, CommandNews, Order, Runtime, SharedLive, Update};
use crate::session::Session;
use crate::signal::Prober;

/// Runs until a signal or a closed stdout; `Ok(0)` then.
///
/// # Errors
/// The journal cannot be opened; signal handlers cannot be installed.
pub async fn run(
    layout: Arc<Layout>,
    journal: Option<&Path>,
    prober: Prober,
) -> Result<i32, Error> {
    let mut term = signal(SignalKind::terminate()).map_err(Error::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(Error::Signals)?;
    let session = Session::open((*layout).clone(), journal).map_err(Error::Journal)?;
    let opts = runtime::Options {
        read_only: false,
        notifier: Box::new(Notifier::new),
        watch_file: None,
    };
    let (runtime, live, mut updates) = Runtime::new(session, prober, opts);
    if let Some(note) = runtime.proposal_note() {
        say(&format!("note: {note}"));
    }
    let mut printer = Printer::new(&live.read());
    {
        // The journal's pinned layout is the one in force.
        let l = live.read();
        let layout = l.layout();
        say(&format!(
            "watching \"{}\": phase {}/{} {} ({} gates, {} signals); journal {}",
            layout.launch.name,
            l.phase_index() + 1,
            layout.phases.len(),
            l.phase().id,
            l.phase().gates.len(),
            layout.signals.len(),
            runtime.journal_path().display()
        ));
    }
    let (orders, orders_rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(runtime.run(orders_rx));
    // Watch may say nothing for a long while: look for a reader that went
    // away without waiting for a write to fail.
    let mut reader_check = tokio::time::interval(Duration::from_millis(250));
    // Commands this process runs now: stopping waits for them.
    let mut running = 0usize;
    let why = loop {
        tokio::select! {
            u = updates.recv() => match u {
                Some(Update::Stopped) | None => break "the runtime stopped",
                Some(u) => {
                    running = commands_running(running, &u);
                    printer.print(&live, u);
                }
            },
            _ = reader_check.tick() => {
                if out::reader_gone() {
                    break "stdout closed";
                }
            }
            _ = term.recv() => break "SIGTERM",
            _ = int.recv() => break "SIGINT",
        }
        if out::closed() {
            break "stdout closed";
        }
    };
    let _ = orders.send(Order::Stop);
    // What the runtime says on its way out (a rollback it waits for). A
    // loop held up by a database that does not answer is not waited for
    // past a second — unless a command runs here, whose end must be
    // recorded: a lease lapses by itself, and nothing unacknowledged is
    // lost by leaving.
    let deadline = tokio::time::Instant::now() + STOP_WITHIN;
    loop {
        // A rollback on the record as running may be this process's,
        // between its claim and its command's first news: waited for.
        let rolling =
            live.read().state().rollback_status() == Some(crate::launch::RollbackStatus::Running);
        let next = if running == 0 && !rolling {
            match tokio::time::timeout_at(deadline, updates.recv()).await {
                Ok(u) => u,
                Err(_) => {
                    say(&format!(
                        "watch stopped ({why}; the journal did not answer within {} ms: leaving without waiting for it)",
                        STOP_WITHIN.as_millis()
                    ));
                    std::process::exit(0);
                }
            }
        } else {
            updates.recv().await
        };
        match next {
            Some(Update::Stopped) | None => break,
            Some(u) => {
                running = commands_running(running, &u);
                if matches!(u, Update::Waiting(_)) {
                    running = running.max(1);
                }
                printer.print(&live, u);
            }
        }
    }
    let _ = task.await;
    say(&format!("watch stopped ({why})"));
    Ok(0)
}

/// How long a stop may wait for a loop held up by the journal.
const STOP_WITHIN: Duration = Duration::from_millis(700);

/// How many commands run here after `u`.
fn commands_running(running: usize, u: &Update) -> usize {
    match u {
        Update::Command(CommandNews::Started(_)) => running + 1,
        Update::Command(CommandNews::Finished(_)) => running.saturating_sub(1),
        _ => running,
    }
}

/// One line, cleaned ([`super::out`]); a failed write because the reader
/// went away ends the loop at its next turn.
fn say(line: &str) {
    out::line(&format!("{} {line}", stamp(crate::clock::now())));
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Turns the runtime's updates into lines, saying only what is news: what
/// was last said of each gate, trigger, signal and the verdict.
struct Printer {
    gates: Vec<Option<State>>,
    triggers: Vec<Option<TriggerState>>,
    /// Whether each signal was last said to fail.
    errors: Vec<bool>,
    verdict: Option<Verdict>,
    /// Signals that have reported at least once: until then, "no data yet"
    /// is not news.
    reported: Vec<bool>,
    /// Gates of the phase whose signal has not reported yet.
    unreported: usize,
    /// What was last said of each root cause blocking gates: its
    /// signal, trouble (a stale one's age left out: growing is not news)
    /// and count.
    blocked: Vec<(usize, Trouble, usize)>,
}

impl Printer {
    fn new(live: &Live) -> Printer {
        let mut p = Printer {
            gates: Vec::new(),
            triggers: Vec::new(),
            errors: vec![false; live.layout().signals.len()],
            verdict: None,
            reported: vec![false; live.layout().signals.len()],
            unreported: 0,
            blocked: Vec::new(),
        };
        p.reset(live);
        p
    }

    /// A new phase (or layout): nothing has been said of its gates.
    fn reset(&mut self, live: &Live) {
        let layout = live.layout();
        if self.reported.len() != layout.signals.len() {
            self.errors = vec![false; layout.signals.len()];
        }
        self.reported = (0..layout.signals.len())
            .map(|i| live.board().latest(i).is_some())
            .collect();
        self.gates = vec![None; live.phase().gates.len()];
        self.triggers = vec![None; layout.rollback.as_ref().map_or(0, |r| r.triggers.len())];
        self.verdict = None;
        self.blocked.clear();
        self.unreported = live
            .phase()
            .gates
            .iter()
            .filter(|g| !self.reported.get(g.signal).copied().unwrap_or(true))
            .count();
    }

    fn print(&mut self, live: &SharedLive, u: Update) {
        match u {
            Update::Signal { index, failure } => {
                let l = live.read();
                self.signal(&l, index, failure);
                // A root's first report (or its failure) is news for the
                // gates it blocks, though none of them changed state.
                self.say_blocked(&l, crate::clock::now());
            }
            Update::Changed { at, changes } => {
                let l = live.read();
                for c in &changes {
                    self.change(&l, c, at);
                }
                if changes.iter().any(|c| matches!(c, Change::Gate { .. })) {
                    self.say_blocked(&l, at);
                }
                self.say_verdict(&l);
            }
            Update::Appended(events) => {
                for e in &events {
                    say(&format!("journal #{} {}", e.seq, e.summary()));
                }
            }
            Update::Relayout(new) => {
                say(&format!(
                    "now running the adopted layout ({} signals, {} phases)",
                    new.signals.len(),
                    new.phases.len()
                ));
                self.reset(&live.read());
            }
            Update::Lease(news) => say(news.line()),
            Update::Proposal(note) => say(&format!("note: {note}")),
            Update::JournalError(e) => say(&format!("journal error: {e}")),
            Update::Loud(text) => say(&text),
            Update::Offline(Some(why)) => say(&format!(
                "JOURNAL OFFLINE: {why}; gates stay live, acts other than rollback are refused until it is back"
            )),
            Update::Offline(None) => say("journal back online: everything missed has been read"),
            Update::Command(CommandNews::Started(argv)) => say(&format!("$ {}", argv.join(" "))),
            Update::Command(CommandNews::Line(l)) => say(&format!("  {l}")),
            Update::Waiting(why) => say(&why),
            // Notifications went out; acts are not ordered from here.
            Update::Command(CommandNews::Finished(_))
            | Update::Alert(_)
            | Update::Acted(_)
            | Update::Stopped => {}
        }
    }

    /// A signal's first report, or a failure that starts, changes or
    /// ends (the runtime says only these).
    fn signal(&mut self, live: &Live, i: usize, failure: Option<String>) {
        if let Some(r) = self.reported.get_mut(i)
            && !*r
        {
            *r = true;
            let waiting = live.phase().gates.iter().filter(|g| g.signal == i).count();
            self.unreported = self.unreported.saturating_sub(waiting);
            self.say_verdict(live);
        }
        let Some(failing) = self.errors.get_mut(i) else {
            return;
        };
        let id = &live.layout().signals[i].id;
        let now_failing = failure.is_some();
        match failure {
            Some(e) => say(&format!("signal {id}: {e}")),
            None if *failing => say(&format!("signal {id}: ok again")),
            None => {}
        }
        *failing = now_failing;
    }

    fn change(&mut self, live: &Live, c: &Change, now: DateTime<Utc>) {
        let reported = |signal: usize| self.reported.get(signal).copied().unwrap_or(false);
        match c {
            Change::Phase => self.reset(live),
            Change::Gate { index, state, from } => {
                let Some(gate) = live.phase().gates.get(*index) else {
                    return;
                };
                let last = self.gates.get(*index).copied().flatten();
                // Said once for the root ([`Printer::say_blocked`]): going
                // BLOCKED, or back to GO when the root is back.
                let unblocked = last.or(*from) == Some(State::Blocked) && *state == State::Go;
                if *state == State::Blocked || unblocked {
                    if let Some(slot) = self.gates.get_mut(*index) {
                        *slot = Some(*state);
                    }
                    return;
                }
                if last == Some(*state) || !reported(gate.signal) {
                    return;
                }
                let Some(j) = live.judge(*index, now) else {
                    return;
                };
                let from = last.map_or("—", State::word);
                let mut line = format!("gate \"{}\" {from} → {}", gate.label(), j.state.word());
                if let Some(v) = &j.value {
                    line.push_str(&format!(" [{v}]"));
                }
                if !j.reason.is_empty() {
                    line.push_str(&format!(": {}", j.reason));
                }
                say(&line);
                if let Some(slot) = self.gates.get_mut(*index) {
                    *slot = Some(j.state);
                }
            }
            Change::Trigger { index, state } => {
                let Some(t) = live
                    .layout()
                    .rollback
                    .as_ref()
                    .and_then(|r| r.triggers.get(*index))
                else {
                    return;
                };
                let last = self.triggers.get(*index).cloned().flatten();
                if last.as_ref().is_some_and(|l| l.same_as(state)) || !reported(t.signal) {
                    return;
                }
                let Some(j) = live.judge_trigger(*index, now) else {
                    return;
                };
                let label = t.label();
                // A hold trigger says so: its firing stops the launch for a
                // person, it does not roll back.
                let (noun, blind) = match t.then {
                    Then::Hold => ("hold trigger", "the hold cannot see"),
                    Then::Rollback => ("trigger", "auto-rollback cannot see"),
                };
                say(&match j.state {
                    TriggerState::Clear => format!(
                        "{noun} \"{label}\" clear [{}]",
                        j.value.as_deref().unwrap_or("—")
                    ),
                    TriggerState::Holding { .. } => {
                        format!("{noun} \"{label}\" HOLDING: {}", j.reason)
                    }
                    TriggerState::Fired => format!("{noun} \"{label}\" FIRED: {}", j.reason),
                    TriggerState::Blind => {
                        format!("{noun} \"{label}\" BLIND ({blind}): {}", j.reason)
                    }
                });
                if let Some(slot) = self.triggers.get_mut(*index) {
                    *slot = Some(j.state);
                }
            }
            // Said by the journal's record of it (`journal #… went STALE`).
            Change::Verdict(_) | Change::SignoffStale { .. } => {}
        }
    }

    /// Each root cause blocking gates, once when it starts (or its count
    /// or words change) and once when it ends: `gateway down (status
    /// 503); 18 gates blocked` instead of a line for each of the 18.
    fn say_blocked(&mut self, live: &Live, now: DateTime<Utc>) {
        let reported = |signal: usize| self.reported.get(signal).copied().unwrap_or(false);
        let groups: Vec<_> = live
            .blocked(now)
            .into_iter()
            // A root that never reported is the start, not news.
            .filter(|g| reported(g.blocker.root))
            .collect();
        let said: Vec<(usize, Trouble, usize)> = groups
            .iter()
            .map(|g| {
                let trouble = match g.blocker.trouble {
                    Trouble::Stale(_) => Trouble::Stale(Duration::ZERO),
                    ref t => t.clone(),
                };
                (g.blocker.root, trouble, g.gates.len())
            })
            .collect();
        for (g, (root, trouble, n)) in groups.iter().zip(&said) {
            // New, or worse: gates coming back one by one as each is
            // sampled again are not news until the last one is.
            let before = self
                .blocked
                .iter()
                .find(|(r, t, _)| r == root && t == trouble);
            if before.is_none_or(|(_, _, k)| n > k) {
                let n = crate::notify::blocked_count(g.gates.len());
                say(&format!("{}; {n}", g.blocker.headline()));
            }
        }
        for (root, _, n) in &self.blocked {
            if !said.iter().any(|(r, ..)| r == root) {
                let id = &live.layout().signals[*root].id;
                let what = if *n == 1 {
                    "its gate is"
                } else {
                    "its gates are"
                };
                say(&format!("{id} no longer blocks: {what} judged again"));
            }
        }
        self.blocked = said;
    }

    /// The phase's verdict, once every gate's signal has reported, when
    /// it differs from what was last said.
    fn say_verdict(&mut self, live: &Live) {
        let v = live.verdict();
        if self.unreported > 0 || self.verdict == Some(v) {
            return;
        }
        let from = self.verdict.map_or("—", Verdict::word);
        say(&format!(
            "phase {} verdict {from} → {}",
            live.phase().id,
            v.word()
        ));
        self.verdict = Some(v);
    }
}
