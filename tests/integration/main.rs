//! gonogo's integration tests: one crate, one binary, linked once.
//!
//! Each module is one area, tested the way an operator meets it (the real
//! binary, real servers on 127.0.0.1:0, real SQLite journals, a real
//! terminal in tmux); [`util`] holds what several of them share. Run one
//! area with `cargo test --test integration <module>::`.
//!
//! Every test runs on a thread of one process, beside tests of every other
//! module, so none may lean on being alone:
//!
//! - The environment and the working directory are never changed: a child
//!   gets its variables through `Command::env`, a template its values
//!   through `Overlay`.
//! - Ports are `127.0.0.1:0`, Prometheus's too (it says in its log which
//!   one it got); an address that must refuse connections is held bound
//!   (`util::server::Refused`). tmux servers, OS users and temporary files
//!   are named per test.
//! - Every value a template expands to is a secret for the rest of the
//!   process (`gonogo::text::remember`): tests expand only values no other
//!   test prints.
//! - `layout_fuzz` installs the process's one panic hook, once; it passes
//!   on every panic but those of its own quiet cases.
//! - What measures the whole process (peak RSS) runs in a process of its
//!   own (`util::procs::alone`).
//! - A test that cannot run here (no tmux, no Prometheus, not root) goes
//!   through `util::require`: skipped, saying so, on a laptop; failed under
//!   CI (`CI=true`).

mod util;

mod acts;
mod auto_rollback;
mod bad_inputs;
mod blocked;
mod bounded_memory;
mod cli;
mod clock_skew;
mod demo_screen;
mod dns;
mod durability;
mod evidence;
mod exits;
mod gate_scenarios;
mod gnu_screen;
mod hold_triggers;
mod journal_backends;
mod launch_plans;
mod layout_bounds;
mod layout_fuzz;
mod lease;
mod no_false_go;
mod notify;
mod output_safety;
mod phases;
mod prometheus;
mod roles;
mod runtime;
mod scheduling;
mod screen;
mod screen_blocked;
mod screen_charts;
mod screen_fit;
mod screen_hold;
mod screen_kinds;
mod signoffs;
mod strings;
mod tcp;
mod team_journal;
mod tls;
mod tmux;
mod trust;
mod validate;
