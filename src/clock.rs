//! One timeline for a team launch.
//!
//! On a database journal the server stamps every event and every sample;
//! this machine's clock may be off it (a laptop a minute fast, a bastion
//! whose NTP died). Each process measures its offset to the server when it
//! connects and every minute after ([`crate::journal::Journal::measure_clock`]),
//! and judges samples, windows, soak and staleness by [`now`]: this
//! machine's time moved onto the server's. A file journal has no other
//! clock: the offset stays zero.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

/// An offset above this is shown (`CLOCK +60s` in the header, a `watch`
/// line, `check --json`).
pub const SHOWN: Duration = Duration::from_secs(2);

/// An offset above this makes the process refuse to poll or act: a clock
/// that far off is broken, and its measured correction is not to be
/// trusted either.
pub const REFUSED: Duration = Duration::from_secs(30);

/// Server minus local, in milliseconds.
static OFFSET_MS: AtomicI64 = AtomicI64::new(0);
static MEASURED: AtomicBool = AtomicBool::new(false);

/// Now on the journal server's timeline (this machine's clock when no
/// server was measured).
pub fn now() -> DateTime<Utc> {
    Utc::now() + chrono::Duration::milliseconds(OFFSET_MS.load(Ordering::Relaxed))
}

/// Records a measured offset: the server's time minus this machine's.
pub fn set_offset(server_minus_local: chrono::Duration) {
    OFFSET_MS.store(server_minus_local.num_milliseconds(), Ordering::Relaxed);
    MEASURED.store(true, Ordering::Relaxed);
}

/// This machine's clock against the server's, once measured: positive
/// when this machine is ahead.
pub fn skew() -> Option<chrono::Duration> {
    MEASURED
        .load(Ordering::Relaxed)
        .then(|| -chrono::Duration::milliseconds(OFFSET_MS.load(Ordering::Relaxed)))
}

/// Whole seconds, rounded (a skew measured as 59.98 s is a minute).
pub fn secs(d: chrono::Duration) -> i64 {
    let ms = d.num_milliseconds();
    (ms + ms.signum() * 500) / 1000
}

/// `+60s`, `-3s`: how this machine's clock stands against the server's.
pub fn words(skew: chrono::Duration) -> String {
    format!("{:+}s", secs(skew))
}

/// `CLOCK +60s` when the skew is worth showing.
pub fn badge() -> Option<String> {
    let skew = skew()?;
    (skew.abs().to_std().unwrap_or_default() > SHOWN).then(|| format!("CLOCK {}", words(skew)))
}

/// Why this process may not poll or act, when its clock is too far off.
pub fn refusal() -> Option<String> {
    let skew = skew()?;
    (skew.abs().to_std().unwrap_or_default() > REFUSED).then(|| {
        let side = if skew > chrono::Duration::zero() {
            "ahead of"
        } else {
            "behind"
        };
        format!(
            "this machine's clock is {}s {side} the journal server's (more than {}s): set its time right (NTP) before polling or acting",
            secs(skew).abs(),
            REFUSED.as_secs()
        )
    })
}
