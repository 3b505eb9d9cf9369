//! The screen's journal side, on a task of its own: every journal read and
//! write (and its fsync), the polling guard, and notifications. The
//! screen's loop only draws and handles keys, so a slow disk or a journal
//! locked by another process never freezes it; it talks to this task
//! through [`Order`]s and hears back through [`Msg`]s, in order.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;

use super::app::Msg;
use crate::act::{self, Act, Desk, Performed};
use crate::engine::Board;
use crate::guard::{self, Guard, NoGoAlerts};
use crate::launch::EventKind;
use crate::layout::Layout;
use crate::notify::Notifier;
use crate::session::Session;
use crate::signal::Prober;

/// What the screen asks of the journal side.
pub enum Order {
    /// An act, decided and recorded through the same code as the CLI.
    Perform(Act),
    /// Hand the lease over, let running commands finish, and end.
    Stop,
}

pub struct Backstage {
    session: Session,
    layout: Arc<Layout>,
    guard: Guard,
    board: Board,
    actor: String,
    samples: mpsc::UnboundedReceiver<crate::engine::SampleTaken>,
    /// To the screen.
    tx: mpsc::UnboundedSender<Msg>,
    /// Terminal notifications, for the screen to write between frames.
    term_tx: mpsc::UnboundedSender<Vec<u8>>,
    notifier: Notifier,
    no_go: NoGoAlerts,
    /// Acts done on this screen: the operator needs no notification of
    /// them.
    done_here: Vec<i64>,
    follow_ups: Vec<tokio::task::JoinHandle<()>>,
    reloaded_at: Option<tokio::time::Instant>,
    /// The layout file, when saved edits are applied live.
    layout_file: Option<LayoutFile>,
}

impl Backstage {
    /// Prepares the guard on `session`'s journal. Returns the board with
    /// the evidence recorded so far, for the screen's first frame.
    pub fn new(
        session: Session,
        layout: Arc<Layout>,
        prober: Prober,
        actor: String,
        tx: mpsc::UnboundedSender<Msg>,
        term_tx: mpsc::UnboundedSender<Vec<u8>>,
        opts: &super::Options,
    ) -> (Backstage, Board) {
        let (sample_tx, samples) = mpsc::unbounded_channel();
        let mut board = Board::new(&layout);
        let mut guard = Guard::new(
            Arc::clone(&layout),
            prober,
            sample_tx,
            &session.journal,
            &mut board,
        );
        if opts.read_only {
            guard.view_only();
        }
        guard.show_output(output_pane(&tx));
        let notifier = screen_notifier(&layout.notify, &term_tx);
        let first = board.clone();
        let me = Backstage {
            session,
            layout,
            guard,
            board,
            actor,
            samples,
            tx,
            term_tx,
            notifier,
            no_go: NoGoAlerts::default(),
            done_here: Vec::new(),
            follow_ups: Vec::new(),
            reloaded_at: None,
            layout_file: None,
        };
        (me, first)
    }

    /// Watches the layout file the operator opened: a saved edit becomes a
    /// proposal to adopt.
    pub fn watch_file(&mut self, path: &Path) {
        self.layout_file = Some(LayoutFile::new(path));
    }

    /// Runs until [`Order::Stop`] (or the screen is gone).
    pub async fn run(mut self, mut orders: mpsc::UnboundedReceiver<Order>) {
        let mut clock = tokio::time::interval(Duration::from_secs(1));
        let mut journal_poll = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                Some(r) = self.samples.recv() => {
                    // A poll started before a layout reload belongs to the
                    // old layout: its signal index may name another signal.
                    if self.reloaded_at.is_none_or(|t| r.started >= t) {
                        self.guard.sampled(r.signal, &r.sample);
                        self.board.record(r.signal, r.sample.clone());
                        let _ = self.tx.send(Msg::Sample(r.signal, r.sample));
                    }
                }
                _ = clock.tick() => tokio::task::block_in_place(|| self.tick()),
                _ = journal_poll.tick() => tokio::task::block_in_place(|| self.poll_journal()),
                order = orders.recv() => match order {
                    Some(Order::Perform(a)) => tokio::task::block_in_place(|| self.perform(&a)),
                    Some(Order::Stop) | None => break,
                },
            }
        }
        // Hand the lease over and let a running rollback finish: its
        // command would die with us.
        self.guard.stop(&mut self.session.journal).await;
        for task in self.follow_ups {
            // A rollback or on_enter command started here finishes and is
            // recorded; killing it with us would leave the record half-done.
            let _ = task.await;
        }
    }

    fn say(&self, msg: Msg) {
        let _ = self.tx.send(msg);
    }

    /// Once a second: a saved layout edit, gates that went red, the lease,
    /// evidence, timebox and auto-rollback.
    fn tick(&mut self) {
        if let Some(file) = self.layout_file.as_mut()
            && file.changed()
        {
            match read_layout(&file.path) {
                Ok(new) => self.propose(new),
                Err(why) => self.say(Msg::Acted(Err(why))),
            }
        }
        let now = Utc::now();
        let layout = &self.layout;
        let state = &self.session.state;
        let phase = layout.phase(&state.phase).unwrap_or(&layout.phases[0]);
        let judged = act::judge_phase(layout, state, &self.board, phase, now);
        for n in self.no_go.check(&layout.launch.name, phase, &judged) {
            self.notifier.send(&n);
        }
        // Lease changes are not news on the screen; errors are.
        for line in self.guard.tick(&mut self.session.journal) {
            if line.starts_with("journal error") {
                self.say(Msg::Acted(Err(line)));
            }
        }
        if let Err(e) = self.guard.duties(
            &mut self.session.journal,
            &self.session.state,
            &self.board,
            now,
        ) {
            self.say(Msg::Acted(Err(format!("journal: {e}"))));
        }
    }

    /// Samples another process polled, and new journal events (announced
    /// unless this screen did them).
    fn poll_journal(&mut self) {
        for (i, sample) in self.guard.follow(&self.session.journal) {
            self.board.record(i, sample.clone());
            self.say(Msg::Sample(i, sample));
        }
        self.refresh();
    }

    fn refresh(&mut self) {
        match self.session.refresh() {
            Ok(events) if !events.is_empty() => {
                for e in &events {
                    if !self.done_here.contains(&e.seq)
                        && let Some(n) = guard::notification(&self.layout.launch.name, e)
                    {
                        self.notifier.send(&n);
                    }
                }
                self.say(Msg::Journal(events));
                if self.session.layout.digest() != self.layout.digest() {
                    self.relayout();
                }
            }
            Ok(_) => {}
            Err(e) => self.say(Msg::Acted(Err(format!("journal: {e}")))),
        }
    }

    /// Performs an act through the same engine code as the CLI, on the
    /// journal as it stands now, then runs its follow-up (rollback command,
    /// `on_enter`) on a task with its own journal connection.
    fn perform(&mut self, a: &Act) {
        // Decide on every event recorded so far, not on the last poll's.
        self.refresh();
        // The adopt key means the file on disk, as last read and trusted.
        let filled;
        let a = match a {
            Act::Adopt { text, .. } if text.is_empty() => {
                let Some(file) = &self.session.proposed else {
                    return self.say(Msg::Acted(Err(
                        "cannot adopt: no edit of the layout file to adopt (it matches the layout in force, or its last edit was rejected)"
                            .into(),
                    )));
                };
                filled = Act::Adopt {
                    path: file.path.display().to_string(),
                    text: file.source.to_string(),
                };
                &filled
            }
            a => a,
        };
        let Session { journal, state, .. } = &mut self.session;
        let desk = Desk {
            layout: &self.layout,
            state,
            board: &self.board,
            now: Utc::now(),
            actor: &self.actor,
        };
        let gates = desk.snapshot();
        let event = match act::perform(journal, &desk, a) {
            Ok(Performed::Done(e)) => e,
            Ok(Performed::Refused(why)) => return self.say(Msg::Acted(Err(why))),
            Err(e) => return self.say(Msg::Acted(Err(format!("journal: {e}")))),
        };
        self.done_here.push(event.seq);
        if self.done_here.len() > 64 {
            self.done_here.remove(0);
        }
        self.say(Msg::Acted(Ok(format!(
            "#{} {}",
            event.seq,
            event.summary()
        ))));
        if matches!(event.kind, EventKind::LayoutPinned { .. }) {
            // Folded in (and the layout switched) by the next refresh.
            self.refresh();
        }
        if !matches!(
            event.kind,
            EventKind::Advanced { .. }
                | EventKind::Started { .. }
                | EventKind::RollbackStarted { .. }
        ) {
            return;
        }
        let layout = Arc::clone(&self.layout);
        let state = self.session.state.clone();
        let actor = self.actor.clone();
        let path = self.session.journal.path().to_path_buf();
        let tx = self.tx.clone();
        let progress = output_pane(&tx);
        self.follow_ups.push(tokio::spawn(async move {
            let Ok(mut journal) = crate::journal::Journal::open(&path, &layout.launch.id) else {
                return;
            };
            let progress = Some(&*progress);
            let done = match &event.kind {
                EventKind::RollbackStarted { .. } => guard::run_rollback(
                    &mut journal,
                    &layout,
                    &state,
                    &event,
                    &actor,
                    gates,
                    progress,
                )
                .await
                .map(Some),
                _ => {
                    guard::run_on_enter(&mut journal, &layout, &event, &actor, gates, progress)
                        .await
                }
            };
            if let Ok(Some(e)) = done {
                let _ = tx.send(Msg::Acted(Ok(format!("#{} {}", e.seq, e.summary()))));
            }
        }));
    }

    /// A saved edit of the layout file: only a proposal until an owner
    /// adopts it (`L`), which is a journaled act.
    fn propose(&mut self, new: Arc<Layout>) {
        if new.digest() == self.layout.digest() {
            self.session.proposed = None;
            return;
        }
        let changed = similar::TextDiff::from_lines(&*self.layout.source, &*new.source)
            .iter_all_changes()
            .filter(|c| c.tag() != similar::ChangeTag::Equal)
            .count();
        self.session.proposed = Some((*new).clone());
        let who = if self
            .layout
            .may_adopt(&self.actor, self.session.state.creator.as_deref())
        {
            "L adopts it (journaled, with the diff)".to_string()
        } else {
            "an owner of the launch must adopt it".to_string()
        };
        self.say(Msg::Acted(Err(format!(
            "the layout file changed ({changed} lines differ); still running the pinned layout — {who}"
        ))));
    }

    /// Switches to the layout the journal now pins: samples of signals
    /// that stay alike are kept, polling restarts on it, and the screen gets
    /// the new layout and board after every sample of the old.
    fn relayout(&mut self) {
        let new = Arc::new(self.session.layout.clone());
        self.board = self.board.rekeyed(&self.layout, &new);
        self.reloaded_at = Some(tokio::time::Instant::now());
        self.layout = Arc::clone(&new);
        self.guard.retarget(Arc::clone(&new));
        self.notifier = screen_notifier(&new.notify, &self.term_tx);
        self.say(Msg::Relayout(Arc::clone(&new), self.board.clone()));
    }
}

/// Notices a saved edit of the layout file (by size and mtime, once a
/// second: cheap, and works on every filesystem a bastion may have).
struct LayoutFile {
    path: std::path::PathBuf,
    seen: Option<(std::time::SystemTime, u64)>,
}

impl LayoutFile {
    fn new(path: &Path) -> LayoutFile {
        let mut f = LayoutFile {
            path: path.to_path_buf(),
            seen: None,
        };
        f.seen = f.stamp();
        f
    }

    fn stamp(&self) -> Option<(std::time::SystemTime, u64)> {
        let m = std::fs::metadata(&self.path).ok()?;
        Some((m.modified().ok()?, m.len()))
    }

    fn changed(&mut self) -> bool {
        let now = self.stamp();
        if now.is_some() && now != self.seen {
            self.seen = now;
            return true;
        }
        false
    }
}

/// Reads a saved edit of the layout, or why it was rejected (the pinned
/// layout keeps running).
fn read_layout(path: &Path) -> Result<Arc<Layout>, String> {
    let new = crate::layout::load(path).map_err(|e| {
        let text = e.to_string();
        let mut lines = text.lines();
        let first = lines.next().unwrap_or_default().to_string();
        let more = match lines.count() {
            0 => String::new(),
            n => format!(" (+{n} more)"),
        };
        format!("edit rejected, pinned layout runs: {first}{more}")
    })?;
    Ok(Arc::new(new))
}

/// Streams a command's output into the output pane as it is printed.
fn output_pane(tx: &mpsc::UnboundedSender<Msg>) -> Arc<act::ProgressSink> {
    let tx = tx.clone();
    Arc::new(move |p: act::Progress<'_>| {
        let msg = match p {
            act::Progress::Started(argv) => Msg::RunStarted(argv.to_vec()),
            act::Progress::Line(l) => Msg::Output(l.to_string()),
            act::Progress::Finished(o) => Msg::RunFinished(o.clone()),
        };
        let _ = tx.send(msg);
    })
}

/// The screen's notifier for a layout's `[notify]`: terminal sequences go
/// to the screen's loop through `tx`, to be written between frames.
fn screen_notifier(cfg: &crate::layout::Notify, tx: &mpsc::UnboundedSender<Vec<u8>>) -> Notifier {
    let tx = tx.clone();
    Notifier::builder(cfg)
        .terminal_sink(move || {
            Ok(Box::new(BetweenFrames {
                tx: tx.clone(),
                buf: Vec::new(),
            }) as Box<dyn std::io::Write + Send>)
        })
        .build()
}

/// A terminal notification on its way to the screen's loop: sent whole
/// when the notifier is done with it, so it is written between frames.
struct BetweenFrames {
    tx: mpsc::UnboundedSender<Vec<u8>>,
    buf: Vec<u8>,
}

impl std::io::Write for BetweenFrames {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            let _ = self.tx.send(std::mem::take(&mut self.buf));
        }
        Ok(())
    }
}

impl Drop for BetweenFrames {
    fn drop(&mut self) {
        let _ = std::io::Write::flush(self);
    }
}
