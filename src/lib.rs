//! gonogo — a terminal control room for launch day.
//!
//! How the pieces fit:
//!
//! ```text
//!  layouts/*.toml ──► layout (parse, validate) ──► Layout
//!                                                    │
//!  engine: one tokio task per signal (signal::Prober: http, json,
//!          prometheus, command, checklist; bounded time and memory)
//!            │ SampleTaken
//!            ▼
//!  runtime ── the one loop, on its own task ─────────────────────────┐
//!    owns: journal (one Store: a SQLite file or PostgreSQL; hash-    │
//!          chained; rollbacks spooled offline) · sampler (who polls: │
//!          the lease; evidence recorded) · the guard's duties        │
//!          (guard: timebox, auto-rollback, a lost rollback) · acts   │
//!          ordered by a front end (act: decided the same way as the  │
//!          CLI's) · notifications                                     │
//!    keeps: live::Live — layout in force, launch::State (a fold of   │
//!          journal events), board::Board (samples), every gate and    │
//!          trigger judged incrementally (gate: pure judgement)        │
//!            │ typed runtime::Update (sampled, changed, appended, …)  │
//!            ▼                                                        │
//!  front ends: cli::watch prints updates; ui (the screen) draws the  │
//!              runtime's SharedLive and hears updates as messages ◄──┘
//!              cli check/acts/log: one-shot, on the same pieces
//!  session: a journal opened and the layout it pins
//!  demo: an embedded simulated service for demos and tests
//!  text: the one gate for outside text — escape sequences stripped and
//!        `${VAR}` secrets redacted, at the source (samples, command
//!        output) and at every printer (cli, screen, notifications)
//!
//!  ui: app (screen model, pure update) ──► render (reads only) ──► terminal
//!       ▲ Msg (keys, ticks, runtime updates)
//! ```
//!
//! The engine (`layout`, `signal`, `gate`, `board`, `live`) knows nothing of
//! any screen or runtime: judgement is a pure function of samples and a
//! given `now`, and the picture is plain data a front end reads without
//! waiting on I/O.

// Operator input never panics the control room: no unwrap/expect on what
// can fail, and nothing left unfinished. (Tests may unwrap.)
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::todo,
        clippy::unimplemented,
        clippy::panic
    )
)]

pub mod act;
pub mod board;
pub mod cli;
pub mod clock;
pub mod demo;
pub mod engine;
pub mod gate;
pub mod guard;
pub mod journal;
pub mod launch;
pub mod layout;
pub mod live;
pub mod notify;
pub mod runtime;
pub mod session;
pub mod signal;
pub mod signoff;
pub mod text;
pub mod ui;
pub mod unit;
