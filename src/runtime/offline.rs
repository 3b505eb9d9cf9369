//! What the runtime does while the journal's database is unreachable.
//!
//! Gates stay live (the sampler polls here). Acts are refused with the
//! reason — they could not be recorded, and an act nobody can account for
//! is worse than a late one — except rollback: the operator's way out
//! runs, spooled on this machine first ([`crate::journal::spool`]), and
//! is appended, marked as recorded offline, when the journal is back.
//! Auto-rollback needs its claim to fire once across guards; without the
//! journal there is none, so it does not fire and says so loudly, unless
//! the layout sets `[rollback] offline_auto = true`.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{Runtime, Update, command_news, fired_triggers};
use crate::act::{self, Act, Desk};
use crate::journal::spool;
use crate::notify::{Notification, Urgency};

impl Runtime {
    /// An act ordered while the journal is offline: rollback runs and is
    /// spooled; anything else is refused.
    pub(super) fn perform_offline(&mut self, a: &Act, why: &str) {
        match a {
            Act::Rollback { reason } => {
                let decided = {
                    let live = self.live.read();
                    let desk = Desk {
                        layout: live.layout(),
                        state: live.state(),
                        board: live.board(),
                        now: crate::clock::now(),
                        actor: &self.actor,
                    };
                    act::decide(&desk, a)
                };
                match decided {
                    // The same rules as online: the role, the launch's state.
                    Err(refused) => self.say(Update::Acted(Err(format!(
                        "{refused} (not recorded: JOURNAL OFFLINE)"
                    )))),
                    Ok(_) => {
                        let actor = self.actor.clone();
                        self.rollback_offline(actor, reason.clone(), Vec::new(), why);
                    }
                }
            }
            _ => self.say(Update::Acted(Err(format!(
                "cannot {}: JOURNAL OFFLINE ({why}); acts wait for the journal, only rollback runs offline (spooled, recorded when it is back)",
                a.name()
            )))),
        }
    }

    /// Runs the rollback without the journal: spooled before the command
    /// starts, its end spooled when it ends, both appended on reconnect.
    pub(super) fn rollback_offline(
        &mut self,
        actor: String,
        reason: String,
        triggers: Vec<String>,
        why: &str,
    ) {
        if self.rollback.as_ref().is_some_and(|t| !t.is_finished()) {
            return self.say(Update::Acted(Err(
                "cannot roll back: a rollback is running here already".into(),
            )));
        }
        if self.spooled_here {
            return self.say(Update::Acted(Err(
                "cannot roll back: a rollback already ran here while the journal was offline (spooled; it is recorded when the journal is back)"
                    .into(),
            )));
        }
        let (layout, state, gates) = {
            let live = self.live.read();
            let now = crate::clock::now();
            (
                Arc::clone(live.layout()),
                live.state().clone(),
                act::snapshot(live.phase(), &live.judged(now)),
            )
        };
        let spooled = match crate::guard::spool_rollback(
            &layout, &state, &actor, &reason, triggers, gates, why,
        ) {
            Ok(s) => s,
            Err(refused) => return self.say(Update::Acted(Err(refused))),
        };
        self.spooled_here = true;
        self.say(Update::Loud(format!(
            "ROLLBACK running while the journal is OFFLINE: spooled to {}, recorded when the journal is back",
            spooled.path.display()
        )));
        let progress = command_news(&self.updates);
        let updates = self.updates.clone();
        self.rollback = Some(tokio::spawn(async move {
            let (_, news) = spooled.run(&layout, &state, Some(&*progress)).await;
            let _ = updates.send(Update::Loud(news));
        }));
    }

    /// The guard's duties while offline: no claim can be made, so a fired
    /// auto-rollback runs only if the layout allows it without one; else
    /// the operator is told, once per breach, loudly.
    pub(super) fn offline_duties(&mut self, now: DateTime<Utc>, why: &str) {
        if self.read_only {
            return;
        }
        let fired = fired_triggers(&self.live.read(), now);
        let Some(fired) = fired else {
            self.offline_alerted = false;
            return;
        };
        if std::mem::replace(&mut self.offline_alerted, true) {
            return;
        }
        let (name, offline_auto) = {
            let live = self.live.read();
            let layout = live.layout();
            (
                layout.launch.name.clone(),
                layout.rollback.as_ref().is_some_and(|r| r.offline_auto),
            )
        };
        if offline_auto {
            let reason = format!("auto-rollback: {}", fired.join("; "));
            let actor = self.guard_actor.clone();
            self.rollback_offline(actor, reason, fired, why);
            return;
        }
        let text = format!(
            "AUTO-ROLLBACK NOT FIRED: {} breached, but the journal is OFFLINE ({why}), so no guard can claim the rollback and none fires; roll back by hand (it runs offline and is spooled), or set [rollback] offline_auto = true",
            fired.join("; ")
        );
        self.alert(Notification::new(
            format!("{name} — AUTO-ROLLBACK NOT FIRED"),
            text.clone(),
            Urgency::Critical,
        ));
        self.say(Update::Loud(text));
    }

    /// Back online: appends what was spooled here (and by processes of
    /// this launch that are gone), then reads the journal again.
    pub(super) fn drain_spool(&mut self) {
        let launch = self.live.read().layout().launch.id.clone();
        match spool::drain(&mut self.journal, &launch) {
            Ok(said) => {
                if !said.is_empty() {
                    self.spooled_here = false;
                }
                for line in said {
                    self.say(Update::Loud(line));
                }
            }
            Err(e) if e.is_unreachable() => {}
            Err(e) => self.say(Update::JournalError(format!(
                "the spooled rollback could not be appended yet: {e}"
            ))),
        }
        self.refresh();
    }
}
