//! gonogo's integration tests: one crate, one binary, linked once.
//!
//! Each module is one area, tested the way an operator meets it (the real
//! binary, real servers on 127.0.0.1:0, real SQLite journals, a real
//! terminal in tmux); [`util`] holds what several of them share.
//!
//! Run one area with `cargo test --test integration <module>::`.

mod util;

mod acts;
mod auto_rollback;
mod bad_inputs;
mod bounded_memory;
mod cli;
mod durability;
mod exits;
mod gate_scenarios;
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
mod scheduling;
mod screen;
mod tmux;
mod trust;
mod validate;
