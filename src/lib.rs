//! gonogo — a terminal control room for launch day.
//!
//! How the pieces fit:
//!
//! ```text
//!  layouts/*.toml ──► layout (parse, validate) ──► Layout
//!                                                    │
//!  engine::start ── one tokio task per signal ──► SampleTaken ──► Board
//!      (signal::Prober: http, json, prometheus,                    │
//!       command, checklist; bounded time and memory)               ▼
//!                                      gate::judge(gate, samples, now) → Judgement
//!                                                    │
//!  front ends:  cli (check, validate, watch, acts) ◄─┤
//!               ui (the screen) ◄─────────────────────┘
//!  act: every act decided and recorded the same way for both;
//!  journal: SQLite, hash-chained; guard: lease, evidence, auto-rollback
//!  demo: an embedded simulated service for demos and tests
//!  text: the one gate for outside text — escape sequences stripped and
//!        `${VAR}` secrets redacted, at the source (samples, command
//!        output) and at every printer (cli, screen, notifications)
//!
//!  ui: app (model, pure update) ──► render (reads only) ──► terminal
//!       ▲ Msg (keys, samples, events, command output)
//!       └── backstage task: journal reads/writes, guard, notifications
//! ```
//!
//! The engine (`layout`, `signal`, `gate`, `engine`) knows nothing of any
//! screen: judgement is a pure function of samples and a given `now`, and
//! the board is plain data a front end can read without waiting on I/O.

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
pub mod text;
pub mod ui;
pub mod unit;
