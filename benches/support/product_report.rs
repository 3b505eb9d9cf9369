//! The product bench's bars (SPEC §6) and its report: a line of details
//! per run as it ends, then one table and the linear-cost bar.
//!
//! Included with `#[path = "support/product_report.rs"] mod report;`.

use crate::{Config, EVERY, Measured, Mode, ON_TIME, process};

/// SPEC §6 states the CPU, memory and schedule bars at this many signals.
const BAR_AT_N: usize = 1000;
const BAR_ON_TIME_PCT: f64 = 99.9;
const BAR_WATCH_CPU_PCT: f64 = 15.0;
const BAR_WATCH_RSS_MIB: f64 = 48.0;
const BAR_SCREEN_CPU_PCT: f64 = 20.0;
/// `watch`'s CPU per sample at a larger N over that at `BAR_AT_N`.
const BAR_LINEAR: f64 = 1.25;

pub struct Row {
    pub bin: String,
    pub mode: Mode,
    pub n: usize,
    pub outcome: Result<Measured, String>,
}

impl Row {
    /// The bars that apply to this row: (which, passed).
    fn bars(&self) -> Vec<(&'static str, bool)> {
        let Ok(m) = &self.outcome else {
            return vec![("ran", false)];
        };
        if self.n != BAR_AT_N {
            return Vec::new();
        }
        let mut bars = vec![("on time", m.schedule.on_time_pct() >= BAR_ON_TIME_PCT)];
        match self.mode {
            Mode::Watch => {
                bars.push(("CPU", m.cpu_pct() <= BAR_WATCH_CPU_PCT));
                bars.push(("RSS", m.peak_mib().is_some_and(|p| p <= BAR_WATCH_RSS_MIB)));
            }
            Mode::Screen => bars.push(("CPU", m.cpu_pct() <= BAR_SCREEN_CPU_PCT)),
        }
        bars
    }

    fn verdict(&self) -> String {
        let bars = self.bars();
        if bars.is_empty() {
            return "(no bar at this N)".into();
        }
        let failed: Vec<_> = bars.iter().filter(|b| !b.1).map(|b| b.0).collect();
        if failed.is_empty() {
            "PASS".into()
        } else {
            format!("FAIL ({})", failed.join(", "))
        }
    }

    pub fn print_details(&self) {
        let head = format!("  {} {} N={}", self.bin, self.mode.name(), self.n);
        let m = match &self.outcome {
            Ok(m) => m,
            Err(e) => {
                println!("{head}: ERROR {e}");
                return;
            }
        };
        let s = &m.schedule;
        println!(
            "{head}: CPU {:.1} % of one core ({:.2} s over {:.1} s), {:.1} µs per sample; peak RSS {} (RSS {} → {} over the window, {} threads); {}",
            m.cpu_pct(),
            m.cpu.as_secs_f64(),
            m.wall.as_secs_f64(),
            m.us_per_sample(self.n),
            mib(m.peak_rss_kib),
            mib(m.rss_kib.0),
            mib(m.rss_kib.1),
            m.threads.map_or("?".into(), |t| t.to_string()),
            self.verdict(),
        );
        println!(
            "      schedule: {} of {} slots within {} ms = {:.3} %; from schedule p50 {}, p99 {}, max {}; {} missed, {} extra requests",
            s.on_time,
            s.slots,
            ON_TIME.as_millis(),
            s.on_time_pct(),
            late(s.quantile(0.5)),
            late(s.quantile(0.99)),
            late(s.deviation.last().copied()),
            s.missed,
            s.extra,
        );
        println!(
            "      start: every signal polled once {} after spawn{}; {}; ended: {}",
            m.all_polled
                .map_or("—".into(), |d| format!("{:.2} s", d.as_secs_f64())),
            if m.never_polled > 0 {
                format!(" ({} never polled)", m.never_polled)
            } else {
                String::new()
            },
            match (self.mode, m.reaction) {
                (Mode::Watch, Some(r)) => format!(
                    "an endpoint's first 503 to watch's NO-GO line: {r}; {} stdout lines in the window, {} of them STALE or BLIND",
                    m.output_lines,
                    m.stale_lines.unwrap_or(0)
                ),
                (Mode::Watch, None) => {
                    format!("{} stdout lines in the window", m.output_lines)
                }
                (Mode::Screen, _) => {
                    format!("terminal output {:.0} B/s", m.output_bytes_per_sec)
                }
            },
            m.ended,
        );
        println!(
            "      machine: load average {} → {}; server {:.1} % of one core; everything else {:.1} % of one core; compilers running {} → {}{}{}",
            m.load.0,
            m.load.1,
            m.server_cpu_pct,
            m.others_cpu_pct,
            m.compilers.0,
            m.compilers.1,
            if m.stray_requests > 0 {
                format!("; {} requests for other paths", m.stray_requests)
            } else {
                String::new()
            },
            if m.compilers.0 + m.compilers.1 > 0 {
                "   ⚠ builds were running: figures are suspect"
            } else {
                ""
            },
        );
    }
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("?".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

fn late(us: Option<u64>) -> String {
    us.map_or("missed".into(), |us| {
        format!("{:.1} ms", us as f64 / 1000.0)
    })
}

/// Prints the table and the linearity bar; whether every bar passed.
pub fn report(config: &Config, rows: &[Row]) -> bool {
    println!();
    println!(
        "bars (SPEC §6) at N = {BAR_AT_N}: on time ≥ {BAR_ON_TIME_PCT} % (within {} ms); watch ≤ {BAR_WATCH_CPU_PCT} % of one core and ≤ {BAR_WATCH_RSS_MIB} MiB peak RSS; screen ≤ {BAR_SCREEN_CPU_PCT} % of one core",
        ON_TIME.as_millis()
    );
    println!();
    println!(
        "| binary | mode | N | CPU % of one core | CPU µs per sample | peak RSS MiB | on time % | p99 from schedule | 503 → NO-GO line | bars |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---|");
    let mut pass = true;
    for row in rows {
        pass &= row.bars().iter().all(|b| b.1);
        match &row.outcome {
            Ok(m) => println!(
                "| {} | {} | {} | {:.1} | {:.1} | {} | {:.3} | {} | {} | {} |",
                row.bin,
                row.mode.name(),
                row.n,
                m.cpu_pct(),
                m.us_per_sample(row.n),
                m.peak_mib().map_or("?".into(), |p| format!("{p:.1}")),
                m.schedule.on_time_pct(),
                late(m.schedule.quantile(0.99)),
                m.reaction.map_or("—".into(), |r| r.to_string()),
                row.verdict(),
            ),
            Err(_) => println!(
                "| {} | {} | {} | — | — | — | — | — | — | FAIL (error) |",
                row.bin,
                row.mode.name(),
                row.n
            ),
        }
    }
    println!();
    // Linear cost: CPU per sample at each larger N over that at BAR_AT_N.
    for bin in &config.bins {
        for &mode in &config.modes {
            let at = |n: usize| {
                rows.iter()
                    .find(|r| r.bin == bin.label && r.mode == mode && r.n == n)
                    .and_then(|r| r.outcome.as_ref().ok())
            };
            let Some(base) = at(BAR_AT_N) else { continue };
            for &n in config.ns.iter().filter(|&&n| n > BAR_AT_N) {
                let Some(big) = at(n) else { continue };
                let (base_us, big_us) = (base.us_per_sample(BAR_AT_N), big.us_per_sample(n));
                let ratio = big_us / base_us.max(f64::EPSILON);
                // CPU per sample means something only while the process
                // keeps up with its samples: a saturated loop does less
                // work per sample by falling behind.
                let behind: Vec<String> = [(BAR_AT_N, base), (n, big)]
                    .iter()
                    .filter_map(|(n, m)| {
                        let r = m.reaction?;
                        (!r.keeps_up()).then(|| format!("N={n} says a 503 after {r}"))
                    })
                    .collect();
                let verdict = if mode == Mode::Watch {
                    let ok = ratio <= BAR_LINEAR && behind.is_empty();
                    pass &= ok;
                    format!(
                        "(bar ≤ {BAR_LINEAR}, keeping up: an endpoint's failure said within {} s)   {}{}",
                        EVERY.as_secs(),
                        if ok { "PASS" } else { "FAIL" },
                        if behind.is_empty() {
                            String::new()
                        } else {
                            format!(" — falls behind its samples: {}", behind.join(", "))
                        }
                    )
                } else {
                    "(no bar for the screen)".to_string()
                };
                println!(
                    "  linear cost   {} {}: CPU per sample at N={n} / at N={BAR_AT_N} = {big_us:.1} / {base_us:.1} µs = {ratio:.2}   {verdict}",
                    bin.label,
                    mode.name()
                );
            }
        }
    }
    println!(
        "  load average {} at end; compilers running now: {}",
        process::loadavg(),
        process::compilers_running()
    );
    println!("  RESULT        {}", if pass { "PASS" } else { "FAIL" });
    println!();
    pass
}
