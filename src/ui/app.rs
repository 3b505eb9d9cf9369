//! The screen's model and its one `update` function.
//!
//! What the screen alone knows lives in [`App`] (focus, prompts, the log
//! and output panes, the status line); what the launch is — layout, state,
//! board, judgements — is the runtime's [`SharedLive`], which the screen
//! only reads ([`View`] pairs the two for one frame or one key).
//! Everything that happens arrives as a [`Msg`] (a key, a paste, a tick, a
//! runtime update); `update` folds it in and returns [`Effect`]s for the
//! loop to carry out (order an act, quit). Time enters as a value, so the
//! reducer is pure and tested without a terminal.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::keys::{self, Action, When};
use crate::act::{self, Act, Desk};
use crate::board::Board;
use crate::gate::Judgement;
use crate::launch::{CommandOutcome, Event, EventKind, State as LaunchState};
use crate::layout::{Layout, Phase, Probe};
use crate::live::Live;
use crate::runtime::{CommandNews, SharedLive, Update};
use crate::signal::Outcome;
use crate::unit::format_elapsed;

/// Journal events kept for the log pane.
const LOG_TAIL: usize = 200;
/// Lines of command output kept for the output pane.
const OUTPUT_LINES: usize = 500;

/// Appends to a pane's list, keeping the newest `cap`; a view scrolled
/// back by `scroll` entries stays on the entries it shows.
/// An event's summary as the log pane shows it: cleaned and redacted,
/// then cut (the pane shows four lines at most; a note recorded before
/// notes were capped may be any length).
fn logged_summary(e: &Event) -> String {
    const SHOWN: usize = 2 * crate::act::MAX_TEXT;
    let summary = crate::text::clean(&e.summary()).into_owned();
    if summary.chars().count() <= SHOWN {
        return summary;
    }
    let mut cut: String = summary.chars().take(SHOWN).collect();
    cut.push('…');
    cut
}

fn append_kept<T>(list: &mut Vec<T>, scroll: &mut usize, item: T, cap: usize) {
    list.push(item);
    if *scroll > 0 {
        *scroll += 1;
    }
    if list.len() > cap {
        let cut = list.len() - cap;
        list.drain(..cut);
    }
    *scroll = (*scroll).min(list.len().saturating_sub(1));
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Gates,
    Checklist,
    Log,
    /// Command output; j/k scroll it.
    Output,
}

impl Focus {
    /// The pane after this one; panes not on screen are skipped.
    fn next(self, has_checklist: bool, has_output: bool) -> Focus {
        match self {
            Focus::Gates if has_checklist => Focus::Checklist,
            Focus::Gates | Focus::Checklist => Focus::Log,
            Focus::Log if has_output => Focus::Output,
            Focus::Log | Focus::Output => Focus::Gates,
        }
    }
}

/// What a typed prompt is for; it names exactly what will happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptKind {
    /// Advance past the gates that are not GO; the input is the reason.
    Override,
    Hold,
    Note,
    Arm,
    Disarm,
    /// Type the confirm word to run the rollback command.
    Rollback {
        confirm: String,
        command: String,
    },
    /// Pick a role to sign as (digits), when more than one is open.
    Sign {
        roles: Vec<String>,
    },
    /// Type `quit` to close a screen that guards the launch.
    Quit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub kind: PromptKind,
    pub input: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Help,
    Prompt(Prompt),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Info,
    Refused,
}

#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    /// Bracketed paste: text for a prompt, never key bindings.
    Paste(String),
    Tick(DateTime<Utc>),
    /// What the runtime did: the picture it keeps changed, events were
    /// recorded, an act was done or refused, a command ran.
    Runtime(Update),
    /// Journal events recorded before the screen opened: listed in the
    /// log pane, but their command output is not replayed.
    History(Vec<Event>),
    /// A word for the status line from the screen's own errands (the demo
    /// service's faults): done, or failed.
    Status(Result<String, String>),
    /// The terminal went away (an SSH drop): quit without spinning.
    Hangup,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Perform(Act),
    /// Demo only: inject (true) or clear (false) a fault in the demo service.
    DemoFault(bool),
    Quit,
}

pub struct App {
    /// The runtime's picture of the launch, read for each frame and key.
    pub live: SharedLive,
    /// The journal tail: each event with its summary, cleaned and cut
    /// once when it arrives — a frame never pays for a long note again.
    pub log: Vec<(Event, String)>,
    pub output: Vec<String>,
    /// Lines scrolled back from the newest output line (0: follow it).
    pub output_scroll: usize,
    /// Events scrolled back from the newest in the journal pane.
    pub log_scroll: usize,
    /// Commands this process is running, shown live.
    pub running: Vec<Vec<String>>,
    /// Commands this process ran whose journal record has not arrived yet:
    /// their output was streamed, so the record must not repeat it.
    finished_here: Vec<(Vec<String>, u64)>,
    pub now: DateTime<Utc>,
    pub actor: String,
    pub read_only: bool,
    pub presenter: bool,
    /// Colour depth (none under `NO_COLOR` and `TERM=dumb`): meaning never
    /// rests on colour alone anyway.
    pub colors: super::theme::Depth,
    /// Running `gonogo demo`: the demo service's URL (shown, and `f`
    /// injects a fault into it).
    pub demo: Option<String>,
    /// Whether the demo fault is on.
    pub demo_fault: bool,
    pub mode: Mode,
    pub focus: Focus,
    /// Selected row in the focused pane.
    pub cursor: usize,
    pub status: Option<(String, Tone)>,
    /// Something changed since the last frame.
    pub dirty: bool,
    /// Why the journal cannot be reached, while it cannot: JOURNAL OFFLINE.
    pub journal_offline: Option<String>,
    /// Another process holds the polling lease: a guard runs elsewhere,
    /// and quitting here leaves the launch guarded.
    pub guarded_elsewhere: bool,
}

impl App {
    /// A screen on a picture of its own: a launch with no journal yet (the
    /// reducer's tests, benches).
    pub fn new(layout: Arc<Layout>, actor: String, now: DateTime<Utc>) -> App {
        App::on(SharedLive::new(Live::fresh(layout, now)), actor, now)
    }

    /// A screen on the runtime's picture.
    pub fn on(live: SharedLive, actor: String, now: DateTime<Utc>) -> App {
        App {
            live,
            log: Vec::new(),
            output: Vec::new(),
            output_scroll: 0,
            log_scroll: 0,
            running: Vec::new(),
            finished_here: Vec::new(),
            now,
            actor,
            read_only: false,
            presenter: false,
            colors: super::theme::Depth::Ansi256,
            demo: None,
            demo_fault: false,
            mode: Mode::Normal,
            focus: Focus::Gates,
            cursor: 0,
            status: None,
            dirty: true,
            journal_offline: None,
            guarded_elsewhere: false,
        }
    }

    /// Reads the picture once, for a frame or a key.
    pub fn view<R>(&self, f: impl FnOnce(&View<'_>) -> R) -> R {
        let live = self.live.read();
        f(&View {
            app: self,
            live: &live,
        })
    }

    /// Appends a line to the output pane, keeping the newest
    /// [`OUTPUT_LINES`]; a scrolled-back view stays on the lines it shows.
    fn say(&mut self, line: String) {
        append_kept(
            &mut self.output,
            &mut self.output_scroll,
            line,
            OUTPUT_LINES,
        );
    }

    /// Lists journal events (the runtime has folded them into the state).
    /// A command another process ran shows its recorded output tail; one
    /// this process ran was already streamed.
    fn fold(&mut self, events: Vec<Event>, live: bool) {
        for e in events {
            if live
                && let EventKind::RollbackFinished { outcome, .. }
                | EventKind::OnEnterRan { outcome, .. } = &e.kind
            {
                self.show_recorded(&e, outcome);
            }
            let summary = logged_summary(&e);
            append_kept(&mut self.log, &mut self.log_scroll, (e, summary), LOG_TAIL);
        }
    }

    fn show_recorded(&mut self, e: &Event, outcome: &CommandOutcome) {
        let mine = (outcome.command.clone(), outcome.took_ms);
        if let Some(i) = self.finished_here.iter().position(|f| *f == mine) {
            self.finished_here.remove(i);
            return;
        }
        // Still running here: the record is this run's, arriving before
        // the runner's last message.
        if self.running.contains(&outcome.command) {
            return;
        }
        self.say(format!("#{} {} — {}", e.seq, e.actor, e.summary()));
        for line in outcome.output_tail.lines() {
            self.say(format!("  {line}"));
        }
    }

    fn refuse(&mut self, why: impl Into<String>) {
        self.status = Some((why.into(), Tone::Refused));
    }

    /// Folds one message in; returns what the runtime must do.
    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        self.dirty = true;
        match msg {
            Msg::Tick(now) => {
                self.now = now;
                Vec::new()
            }
            Msg::History(events) => {
                self.fold(events, false);
                Vec::new()
            }
            Msg::Status(Ok(done)) => {
                self.status = Some((done, Tone::Info));
                Vec::new()
            }
            Msg::Status(Err(why)) => {
                self.refuse(why);
                Vec::new()
            }
            Msg::Runtime(u) => {
                self.runtime(u);
                Vec::new()
            }
            Msg::Paste(text) => {
                if let Mode::Prompt(p) = &mut self.mode {
                    // One line only: a pasted newline must not submit. And
                    // no longer than a note may be: the rest never lands.
                    let room = crate::act::MAX_TEXT.saturating_sub(p.input.chars().count());
                    p.input
                        .extend(text.chars().filter(|c| !c.is_control()).take(room));
                }
                Vec::new()
            }
            Msg::Key(key) => self.key(key),
            Msg::Hangup => vec![Effect::Quit],
        }
    }

    /// Folds in what the runtime did. The picture itself is the runtime's:
    /// samples and changes only call for a new frame.
    fn runtime(&mut self, u: Update) {
        match u {
            Update::Lease(news) => {
                use crate::runtime::sampler::LeaseNews;
                match news {
                    LeaseNews::LostToAnother | LeaseNews::Following | LeaseNews::ViewerFollows => {
                        self.guarded_elsewhere = true;
                    }
                    _ => self.guarded_elsewhere = false,
                }
            }
            Update::Signal { .. } | Update::Changed { .. } | Update::Alert(_) | Update::Stopped => {
            }
            Update::Appended(events) => self.fold(events, true),
            Update::Relayout(_) => {
                let rows = self.view(|v| v.rows_in_focus());
                self.cursor = self.cursor.min(rows.saturating_sub(1));
            }
            Update::Proposal(note) => self.refuse(note),
            Update::JournalError(e) => self.refuse(format!("journal: {e}")),
            Update::Loud(text) => {
                self.say(format!("! {text}"));
                self.refuse(text);
            }
            Update::Offline(why) => {
                if why.is_none() && self.journal_offline.is_some() {
                    self.status = Some(("journal back online".into(), Tone::Info));
                }
                self.journal_offline = why;
            }
            Update::Acted(Ok(e)) => {
                self.status = Some((format!("#{} {}", e.seq, e.summary()), Tone::Info));
            }
            Update::Acted(Err(why)) => self.refuse(why),
            Update::Waiting(why) => self.status = Some((why, Tone::Info)),
            Update::Command(CommandNews::Started(argv)) => {
                self.say(format!("$ {}", argv.join(" ")));
                self.running.push(argv);
            }
            Update::Command(CommandNews::Line(line)) => self.say(format!("  {line}")),
            Update::Command(CommandNews::Finished(outcome)) => {
                if let Some(i) = self.running.iter().position(|c| *c == outcome.command) {
                    self.running.remove(i);
                }
                let took = format_elapsed(std::time::Duration::from_millis(outcome.took_ms));
                self.say(format!("→ {} after {took}", outcome.ending));
                self.finished_here.push((outcome.command, outcome.took_ms));
                if self.finished_here.len() > 16 {
                    self.finished_here.remove(0);
                }
            }
        }
    }

    fn key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            // In a prompt or an overlay Ctrl-C is the reflex for "not
            // that": it cancels, as Esc does. Closing the screen there
            // could stop the launch's only guard mid-breach.
            if matches!(self.mode, Mode::Normal) {
                return self.quit();
            }
            if matches!(self.mode, Mode::Prompt(_)) {
                self.status = Some(("cancelled".into(), Tone::Info));
            }
            self.mode = Mode::Normal;
            return Vec::new();
        }
        match std::mem::replace(&mut self.mode, Mode::Normal) {
            Mode::Help => {
                // Any key closes help; `q` still quits.
                match keys::lookup(key.code, self.demo.is_some()) {
                    Some(b) if b.action == Action::Quit => vec![Effect::Quit],
                    _ => Vec::new(),
                }
            }
            Mode::Prompt(p) => self.prompt_key(p, key),
            Mode::Normal => self.normal_key(key),
        }
    }

    fn prompt_key(&mut self, mut p: Prompt, key: KeyEvent) -> Vec<Effect> {
        match key.code {
            KeyCode::Esc => {
                self.status = Some(("cancelled".into(), Tone::Info));
                Vec::new()
            }
            KeyCode::Backspace => {
                p.input.pop();
                self.mode = Mode::Prompt(p);
                Vec::new()
            }
            KeyCode::Char(c) => {
                if let PromptKind::Sign { roles } = &p.kind {
                    let pick = c
                        .to_digit(10)
                        .and_then(|d| roles.get((d as usize).wrapping_sub(1)));
                    return match pick {
                        Some(role) => vec![Effect::Perform(Act::SignOff {
                            role: role.clone(),
                            phase: Some(self.live.read().state().phase.clone()),
                            note: None,
                        })],
                        None => {
                            self.mode = Mode::Prompt(p);
                            Vec::new()
                        }
                    };
                }
                if p.input.chars().count() < crate::act::MAX_TEXT {
                    p.input.push(c);
                }
                self.mode = Mode::Prompt(p);
                Vec::new()
            }
            KeyCode::Enter => self.submit(p),
            _ => {
                self.mode = Mode::Prompt(p);
                Vec::new()
            }
        }
    }

    fn submit(&mut self, p: Prompt) -> Vec<Effect> {
        let text = p.input.trim().to_string();
        let needs_text = !matches!(p.kind, PromptKind::Sign { .. });
        if needs_text && text.is_empty() {
            self.mode = Mode::Prompt(p);
            self.refuse("type a reason first (Esc cancels)");
            return Vec::new();
        }
        let act = match p.kind {
            PromptKind::Override => Act::Advance {
                override_reason: Some(text),
            },
            PromptKind::Hold => Act::Hold { reason: text },
            PromptKind::Note => Act::Note { text },
            PromptKind::Arm => Act::Arm { reason: text },
            PromptKind::Disarm => Act::Disarm { reason: text },
            PromptKind::Rollback { ref confirm, .. } => {
                if text != *confirm {
                    let confirm = confirm.clone();
                    self.mode = Mode::Prompt(p);
                    self.refuse(format!(
                        "type `{confirm}` exactly to roll back (Esc cancels)"
                    ));
                    return Vec::new();
                }
                Act::Rollback {
                    reason: "manual rollback from the screen".into(),
                }
            }
            PromptKind::Sign { .. } => return Vec::new(),
            PromptKind::Quit => {
                if text != "quit" {
                    self.mode = Mode::Prompt(p);
                    self.refuse("type `quit` to close this screen (Esc keeps it)");
                    return Vec::new();
                }
                return vec![Effect::Quit];
            }
        };
        vec![Effect::Perform(act)]
    }

    /// `q` or Ctrl-C: a screen that may be the launch's only guard, with
    /// auto-rollback or a hold trigger armed, asks first — closing it
    /// would stop them. A viewer, or a screen following another guard's
    /// lease, closes at once.
    fn quit(&mut self) -> Vec<Effect> {
        let guarding = !self.read_only && !self.guarded_elsewhere && {
            let live = self.live.read();
            crate::guard::armed(live.layout(), live.state())
                || crate::guard::holds_armed(live.layout(), live.state())
        };
        if guarding {
            self.open(PromptKind::Quit);
            Vec::new()
        } else {
            vec![Effect::Quit]
        }
    }

    fn mutating(&mut self, what: &str) -> bool {
        if self.read_only {
            self.refuse(format!(
                "cannot {what}: this screen is read-only (--read-only)"
            ));
            return false;
        }
        true
    }

    fn open(&mut self, kind: PromptKind) {
        self.mode = Mode::Prompt(Prompt {
            kind,
            input: String::new(),
        });
    }

    /// A key of normal mode: looked up in the key map ([`keys::MAP`]),
    /// which says what it does and whether a read-only screen refuses it.
    fn normal_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        // One read of the picture for the whole key: a cloned handle, so
        // the screen's own fields stay free to change.
        let shared = self.live.clone();
        let guard = shared.read();
        let live: &Live = &guard;
        let Some(binding) = keys::lookup(key.code, self.demo.is_some()) else {
            return Vec::new();
        };
        if let When::Mutating(verb) = binding.when
            && !self.mutating(verb)
        {
            return Vec::new();
        }
        match binding.action {
            Action::Quit => {
                drop(guard);
                self.quit()
            }
            Action::Help => {
                self.mode = Mode::Help;
                Vec::new()
            }
            Action::DemoFault => {
                self.demo_fault = !self.demo_fault;
                vec![Effect::DemoFault(self.demo_fault)]
            }
            Action::Presenter => {
                self.presenter = !self.presenter;
                Vec::new()
            }
            Action::FocusNext => {
                let has_checklist = self.with(live).checklist_id().is_some();
                self.focus = self.focus.next(has_checklist, !self.output.is_empty());
                self.cursor = 0;
                Vec::new()
            }
            Action::Down | Action::Up | Action::PageUp | Action::PageDown | Action::Follow
                if matches!(self.focus, Focus::Output | Focus::Log) =>
            {
                self.scroll(binding.action);
                Vec::new()
            }
            Action::Down => {
                self.cursor = self
                    .cursor
                    .saturating_add(1)
                    .min(self.with(live).rows_in_focus().saturating_sub(1));
                Vec::new()
            }
            Action::Up => {
                self.cursor = self.cursor.saturating_sub(1);
                Vec::new()
            }
            // Paging and following are for the scrolling panes only.
            Action::PageUp | Action::PageDown | Action::Follow => Vec::new(),
            // On a launch not yet started, advancing is starting: entering
            // the first phase.
            Action::Advance => vec![Effect::Perform(if live.state().started() {
                Act::Advance {
                    override_reason: None,
                }
            } else {
                Act::Start
            })],
            Action::Override => {
                self.open(PromptKind::Override);
                Vec::new()
            }
            Action::Sign => self.sign(),
            Action::Revoke => {
                let mine = live
                    .state()
                    .signoffs
                    .iter()
                    .find(|s| s.user == self.actor)
                    .map(|s| s.role.clone());
                match mine {
                    Some(role) => vec![Effect::Perform(Act::Revoke { role, note: None })],
                    None => {
                        self.refuse(format!(
                            "cannot revoke: {} has not signed {}",
                            self.actor,
                            live.state().phase
                        ));
                        Vec::new()
                    }
                }
            }
            Action::Hold => {
                if live.state().hold.is_some() {
                    vec![Effect::Perform(Act::Resume)]
                } else {
                    self.open(PromptKind::Hold);
                    Vec::new()
                }
            }
            Action::Rollback => match &live.layout().rollback {
                None => {
                    self.refuse("cannot roll back: the layout has no [rollback]");
                    Vec::new()
                }
                Some(rb) => {
                    let kind = PromptKind::Rollback {
                        confirm: rb.confirm.clone(),
                        command: rb.run.join(" "),
                    };
                    self.open(kind);
                    Vec::new()
                }
            },
            Action::Arm => {
                if live.state().disarmed.is_some() {
                    self.open(PromptKind::Arm);
                } else {
                    self.open(PromptKind::Disarm);
                }
                Vec::new()
            }
            Action::Note => {
                self.open(PromptKind::Note);
                Vec::new()
            }
            // The edited layout file, as the runtime last read and trusted it.
            Action::Adopt => vec![Effect::Perform(Act::Adopt {
                path: String::new(),
                text: String::new(),
            })],
            Action::CheckItem => self.check_item(),
        }
    }

    /// `s`: signs the one open role, asks which when there are several.
    fn sign(&mut self) -> Vec<Effect> {
        let shared = self.live.clone();
        let guard = shared.read();
        let live: &Live = &guard;
        let roles = self.with(live).open_roles();
        match roles.as_slice() {
            [] => {
                let phase = live.phase();
                let why = if phase.signoff.is_empty() {
                    format!("cannot sign: phase {} needs no sign-off", phase.id)
                } else {
                    format!(
                        "cannot sign: no open role of {} is yours ({} may sign: {})",
                        phase.id,
                        self.actor,
                        phase.signoff.join(", ")
                    )
                };
                self.refuse(why);
                Vec::new()
            }
            [role] => vec![Effect::Perform(Act::SignOff {
                role: role.clone(),
                phase: Some(live.state().phase.clone()),
                note: None,
            })],
            _ => {
                self.open(PromptKind::Sign { roles });
                Vec::new()
            }
        }
    }

    /// `space`: checks (or unchecks) the selected item of the focused
    /// checklist.
    fn check_item(&mut self) -> Vec<Effect> {
        let shared = self.live.clone();
        let guard = shared.read();
        let live: &Live = &guard;
        if self.focus != Focus::Checklist {
            self.refuse("cannot check an item: focus the checklist first (Tab)");
            return Vec::new();
        }
        let items = self.with(live).checklist_items();
        let (Some(id), Some((item, done))) =
            (self.with(live).checklist_id(), items.get(self.cursor))
        else {
            self.refuse("cannot check an item: the checklist is empty");
            return Vec::new();
        };
        let undo = *done && live.state().is_checked(id, item);
        // Checked off, the cursor moves on to the next open item (after
        // this one, else from the top), so `space` walks the list.
        if !undo {
            let open = |k: &usize| *k != self.cursor && !items[*k].1;
            let next = (self.cursor + 1..items.len())
                .find(open)
                .or_else(|| (0..self.cursor).find(open));
            let effect = Effect::Perform(Act::CheckItem {
                checklist: id.to_string(),
                item: item.clone(),
                undo,
            });
            if let Some(k) = next {
                self.cursor = k;
            }
            return vec![effect];
        }
        vec![Effect::Perform(Act::CheckItem {
            checklist: id.to_string(),
            item: item.clone(),
            undo,
        })]
    }

    /// Scrolls the focused text pane (journal or output): back with k, ↑
    /// and PgUp, forward with j, ↓ and PgDn, End follows the newest line.
    fn scroll(&mut self, action: Action) {
        let (offset, len) = match self.focus {
            Focus::Log => (&mut self.log_scroll, self.log.len()),
            _ => (&mut self.output_scroll, self.output.len()),
        };
        *offset = match action {
            Action::Up => *offset + 1,
            Action::PageUp => *offset + 10,
            Action::Down => offset.saturating_sub(1),
            Action::PageDown => offset.saturating_sub(10),
            _ => 0,
        }
        .min(len.saturating_sub(1));
    }
}

/// The screen and the picture it shows, read once: what a frame draws and
/// a key decides on.
pub struct View<'a> {
    pub app: &'a App,
    pub live: &'a Live,
}

impl std::ops::Deref for View<'_> {
    type Target = App;

    fn deref(&self) -> &App {
        self.app
    }
}

impl App {
    fn with<'a>(&'a self, live: &'a Live) -> View<'a> {
        View { app: self, live }
    }
}

impl<'a> View<'a> {
    pub fn layout(&self) -> &'a Arc<Layout> {
        self.live.layout()
    }

    pub fn state(&self) -> &'a LaunchState {
        self.live.state()
    }

    pub fn board(&self) -> &'a Board {
        self.live.board()
    }

    /// The current phase, else the first.
    pub fn phase(&self) -> &'a Phase {
        self.live.phase()
    }

    pub fn phase_index(&self) -> usize {
        self.live.phase_index()
    }

    pub fn desk(&self) -> Desk<'_> {
        Desk {
            layout: self.live.layout(),
            state: self.live.state(),
            board: self.live.board(),
            now: self.app.now,
            actor: &self.app.actor,
        }
    }

    /// The current phase's gates judged at the screen's `now`, words and all.
    pub fn judged(&self) -> Vec<Judgement> {
        self.live.judged(self.app.now)
    }

    /// The first `n` gates of the current phase judged at the screen's
    /// `now`: words are built only for what can be shown.
    pub fn judged_first(&self, n: usize) -> Vec<Judgement> {
        (0..self.phase().gates.len().min(n))
            .filter_map(|i| self.live.judge(i, self.app.now))
            .collect()
    }

    /// The checklist shown in the checklist pane: the first checklist
    /// gated in this phase, else the first in the layout.
    pub fn checklist_id(&self) -> Option<&'a str> {
        let layout = self.layout();
        let gated = self
            .phase()
            .gates
            .iter()
            .map(|g| g.signal)
            .find(|&i| matches!(layout.signals[i].probe, Probe::Checklist(_)));
        let any = || {
            layout
                .signals
                .iter()
                .position(|s| matches!(s.probe, Probe::Checklist(_)))
        };
        gated.or_else(any).map(|i| layout.signals[i].id.as_str())
    }

    /// Items of the shown checklist: (text, done).
    pub fn checklist_items(&self) -> Vec<(String, bool)> {
        self.checklist_id()
            .map(|id| self.items_of(id))
            .unwrap_or_default()
    }

    /// Items of checklist `id`, with the journal's checked items applied.
    pub fn items_of(&self, id: &str) -> Vec<(String, bool)> {
        let Some(i) = self.board().index_of(id) else {
            return Vec::new();
        };
        let samples = act::with_checked_items(id, self.state(), self.board().samples(i));
        match samples.last().map(|s| &s.outcome) {
            Some(Outcome::Checklist(c)) => {
                c.items.iter().map(|i| (i.text.clone(), i.done)).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Roles of this phase the operator may still sign.
    fn open_roles(&self) -> Vec<String> {
        let phase = self.phase();
        phase
            .signoff
            .iter()
            // A STALE sign-off is open again: renewed by signing.
            .filter(|r| self.state().signed(r).is_none_or(|s| !s.counts()))
            .filter(|r| {
                self.layout().roles.as_ref().is_none_or(|roles| {
                    roles.iter().any(|(name, users)| {
                        name == *r && users.iter().any(|u| *u == self.app.actor || u == "*")
                    })
                })
            })
            .cloned()
            .collect()
    }

    fn rows_in_focus(&self) -> usize {
        match self.focus {
            // Each root cause of BLOCKED gates has a row of its own.
            Focus::Gates => self.phase().gates.len() + self.live.blocked(self.now).len(),
            Focus::Checklist => self.checklist_items().len(),
            Focus::Log => self.log.len(),
            Focus::Output => self.output.len(),
        }
    }
}
