//! A launch as a process holds it: the journal, the state it folds to, and
//! the layout the journal pins.
//!
//! The layout in force is the journal's pinned copy, never whichever file
//! a caller passes: anyone who can write a shared journal could otherwise
//! widen `[roles]` or swap a rollback command in a private copy. A file
//! that differs from the pin is only a *proposal*, which an owner adopts
//! through a journaled act ([`crate::act::Act::Adopt`]).

pub mod cache;

use std::path::Path;

use crate::journal::{Entry, Journal, JournalError, Location};
use crate::launch::{Event, EventKind, State};
use crate::layout::Layout;

/// The launch, its journal, the state the journal folds to, and the layout
/// pinned in it.
pub struct Session {
    /// The pinned layout: what acts, gates and guards judge by.
    pub layout: Layout,
    pub journal: Journal,
    pub state: State,
    /// The file given, when it differs from the pinned layout.
    pub proposed: Option<Layout>,
    /// The file given: the operator's own trusted copy, which decides
    /// which of the pinned layout's commands run here.
    pub file: Layout,
    /// What opening it appended from this machine's rollback spool, a
    /// line each: the front end says it.
    pub drained: Vec<String>,
}

/// Why a session could not be opened.
#[derive(Debug)]
pub enum SessionError {
    Journal(JournalError),
    /// The pinned layout no longer validates (or cannot be read).
    Pinned(String),
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionError::Journal(e) => e.fmt(f),
            SessionError::Pinned(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for SessionError {}

impl From<JournalError> for SessionError {
    fn from(e: JournalError) -> Self {
        SessionError::Journal(e)
    }
}

/// The name of the user this process runs as (the effective uid's): who
/// opens a session, and so who acts in it.
pub fn os_user() -> String {
    let uid = nix::unistd::geteuid();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(u)) => u.name,
        _ => format!("uid{}", uid.as_raw()),
    }
}

/// The journal `layout` names: `--journal`, else the layout's `journal`,
/// else the default path for its launch id.
pub fn journal_path(layout: &Layout, flag: Option<&Path>) -> Location {
    flag.map(Location::parse)
        .or_else(|| layout.launch.journal.as_deref().map(Location::parse))
        .unwrap_or_else(|| Location::File(crate::journal::default_path(&layout.launch.id)))
}

/// The event that pins `layout`; `before` is the text pinned until now.
pub fn pin_event(layout: &Layout, before: Option<&str>) -> EventKind {
    let diff = before.map_or_else(String::new, |old| {
        similar::TextDiff::from_lines(old, &*layout.source)
            .unified_diff()
            .context_radius(2)
            .header("pinned", "adopted")
            .to_string()
    });
    // Where its relative paths resolve (beside the real file, when the
    // given path was a symlink), absolute: the pinned copy must resolve
    // them alike for a process started in another directory.
    let dir = std::fs::canonicalize(&layout.dir).unwrap_or_else(|_| layout.dir.clone());
    let path = match layout.path.file_name() {
        Some(name) => dir.join(name),
        None => layout.path.clone(),
    };
    EventKind::LayoutPinned {
        digest: layout.digest().to_string(),
        path: path.display().to_string(),
        text: layout.source.to_string(),
        diff,
    }
}

/// The layout in force for a journal folded to `state`, and the proposal.
///
/// The layout in force is the pinned one: `file` itself when it is the
/// pinned text, `current` when that is, else parsed from the pinned text.
/// `file` is the operator's own layout file, which passed the
/// trusted-layout rule: the pinned layout's commands that it does not
/// hold are marked never to run here ([`Layout::distrust`]). The proposal
/// is `file` when it differs from the pin. Installs the layout's secrets.
///
/// # Errors
/// A pinned layout that does not validate with this gonogo.
pub fn in_force(
    state: &State,
    current: &Layout,
    file: &Layout,
) -> Result<(Layout, Option<Layout>), String> {
    let Some(pinned) = &state.pinned else {
        crate::text::Secrets::from_layout(file, &crate::layout::template::ProcessEnv).install();
        return Ok((file.clone(), None));
    };
    let layout = if file.digest() == pinned.digest {
        file.clone()
    } else {
        let mut layout = if current.digest() == pinned.digest {
            current.clone()
        } else {
            crate::layout::parse(Path::new(&pinned.path), &pinned.text).map_err(|e| {
                let first = e.to_string();
                let first = first.lines().next().unwrap_or_default().to_string();
                format!(
                    "the layout pinned in the journal (sha256 {}…) does not validate with this gonogo: {first}",
                    &pinned.digest[..12.min(pinned.digest.len())]
                )
            })?
        };
        layout.distrust(file);
        layout
    };
    let proposed = (file.digest() != pinned.digest).then(|| file.clone());
    // Its `${VAR}` values are secrets too.
    crate::text::Secrets::from_layout(&layout, &crate::layout::template::ProcessEnv).install();
    Ok((layout, proposed))
}

impl Session {
    /// Opens (creating if need be) the journal `file` names, replays it,
    /// and settles on the pinned layout. A new journal pins `file`, with
    /// the caller as its creator and default owner.
    ///
    /// # Errors
    /// Journal failures; a pinned layout that does not validate.
    pub fn open(file: Layout, journal: Option<&Path>) -> Result<Session, SessionError> {
        let path = journal_path(&file, journal);
        let first = Entry {
            kind: pin_event(&file, None),
            gates: Vec::new(),
            claim: None,
        };
        let (journal, _) = Journal::open_or_create(&path, &file.launch.id, &first)?;
        let mut s = Session::settle(file, journal)?;
        if s.state.pinned.is_none() {
            // A journal from before pinning: pin the file now, once.
            match s.journal.append(&Entry {
                claim: Some("pin:first".into()),
                ..first
            }) {
                Ok(_) | Err(JournalError::Claimed(_)) => {}
                Err(e) => return Err(e.into()),
            }
            s.refresh()?;
        }
        // Rollbacks run here while the database could not be reached, by
        // processes that have ended since: on the record now.
        if matches!(s.journal.location(), Location::Postgres(_)) {
            let launch = s.layout.launch.id.clone();
            if let Ok(drained) = crate::journal::spool::drain(&mut s.journal, &launch)
                && !drained.is_empty()
            {
                s.drained = drained;
                s.refresh()?;
            }
        }
        Ok(s)
    }

    /// Opens the existing journal `file` names without writing anything:
    /// `Ok(None)` when there is no journal yet.
    ///
    /// # Errors
    /// Journal failures; a pinned layout that does not validate.
    pub fn open_read_only(
        file: Layout,
        journal: Option<&Path>,
    ) -> Result<Option<Session>, SessionError> {
        let path = journal_path(&file, journal);
        let journal = match Journal::open_read_only(&path, &file.launch.id) {
            Ok(j) => j,
            Err(JournalError::Missing(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Session::settle(file, journal).map(Some)
    }

    fn settle(file: Layout, journal: Journal) -> Result<Session, SessionError> {
        // A journal pinning this very text replays without parsing it again.
        crate::launch::remember_authority(&file);
        let mut s = Session {
            state: State::new(&file.phases[0].id),
            layout: file.clone(),
            journal,
            proposed: None,
            file: file.clone(),
            drained: Vec::new(),
        };
        let events = s.journal.since(0)?;
        for e in &events {
            s.state.apply(e);
        }
        s.follow_pin().map_err(SessionError::Pinned)?;
        // A team journal's launch, kept here for a rollback while the
        // database cannot be reached.
        cache::save(
            s.journal.location(),
            &s.layout.launch.id,
            &s.journal.actor(),
            &events,
        );
        Ok(s)
    }

    /// Switches to the layout the journal pins, keeping the file as a
    /// proposal when it differs.
    fn follow_pin(&mut self) -> Result<(), String> {
        let (layout, proposed) = in_force(&self.state, &self.layout, &self.file)?;
        self.layout = layout;
        self.proposed = proposed;
        // Before the start, the launch stands at the pinned layout's first
        // phase.
        if !self.state.started() {
            self.state.phase.clone_from(&self.layout.phases[0].id);
        }
        Ok(())
    }

    /// Folds in events other processes appended; returns them. An adopted
    /// layout among them takes effect at once.
    ///
    /// # Errors
    /// Journal failures; an adopted layout that does not validate here.
    pub fn refresh(&mut self) -> Result<Vec<Event>, SessionError> {
        let events = self.journal.since(self.state.seq)?;
        for e in &events {
            self.state.apply(e);
        }
        if !events.is_empty() {
            cache::extend(self.journal.location(), &self.layout.launch.id, &events);
        }
        if events
            .iter()
            .any(|e| matches!(e.kind, EventKind::LayoutPinned { .. }))
        {
            self.follow_pin().map_err(SessionError::Pinned)?;
        }
        Ok(events)
    }

    /// A note for the operator when the file they gave is not the layout in
    /// force.
    pub fn proposal_note(&self) -> Option<String> {
        proposal_note(self.proposed.as_ref(), &self.state)
    }
}

/// A note for the operator when `file`, the layout they gave, is not the
/// layout pinned in the journal folded to `state`.
pub fn proposal_note(file: Option<&Layout>, state: &State) -> Option<String> {
    let file = file?;
    let pinned = state.pinned.as_ref()?;
    Some(format!(
        "{} differs from the layout pinned in the journal (sha256 {}…, pinned by {}); acting on the pinned layout — an owner adopts the file with `gonogo adopt {}`",
        file.path.display(),
        &pinned.digest[..12.min(pinned.digest.len())],
        pinned.by,
        file.path.display()
    ))
}
