//! Charts: the current phase's numeric gated signals over the last
//! minutes, so the control room replaces the dashboards it is watched
//! beside. Each chart draws the signal's line, every gate's threshold on
//! it as a dotted line, the time in breach as a strip along the bottom and
//! a running `for` window's start as a solid upright. Every
//! mark has a different glyph, named in the key on the bottom border, so
//! the chart reads the same without colour.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::Span;
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph};

use super::pane;
use crate::layout::{Condition, Gate, Signal};
use crate::signal::{Outcome, Sample};
use crate::ui::app::View;
use crate::ui::theme::{Hue, Theme};
use crate::unit::Unit;
use crate::unit::format_seconds;

/// The chart's time spans, in seconds: the shortest that covers the
/// samples. A span that grew with every second would redraw every cell
/// every second; so would a time axis sliding with the clock, so the axis
/// moves in steps of a sixth of the span and new points are added at the
/// right in between (the idle-output bar, SPEC §6).
const SPANS: [i64; 4] = [60, 120, 180, 300];
const STEPS_PER_SPAN: i64 = 6;
/// Below this a chart is a smear, not a picture.
pub(super) const MIN_ROWS: u16 = 8;
const MIN_COLS: u16 = 36;

/// One signal's chart: the signal and the gates of this phase on it.
pub(super) struct Spec<'a> {
    pub signal: usize,
    pub gates: Vec<&'a Gate>,
}

/// A numeric condition's threshold, in the signal's unit.
fn threshold(c: &Condition) -> Option<f64> {
    match c {
        Condition::Below(t)
        | Condition::Above(t)
        | Condition::AtMost(t)
        | Condition::AtLeast(t) => Some(t.value),
        _ => None,
    }
}

/// The number a gate compares (the value, an answer's latency in ms, a
/// certificate's days left), and whether the sample was rejected outright
/// (a certificate that failed: NO-GO whatever its days say).
fn number(s: &Sample) -> Option<(f64, bool)> {
    match &s.outcome {
        Outcome::Number(v) => Some((*v, false)),
        Outcome::Health {
            latency: Some(l), ..
        } => Some((l.as_secs_f64() * 1000.0, false)),
        Outcome::Certificate {
            up, days: Some(d), ..
        } => Some((*d, !up)),
        _ => None,
    }
    .filter(|(v, _)| v.is_finite())
}

/// The current phase's signals with a numeric threshold gate, one chart
/// per signal, in the order their first gate is listed.
pub(super) fn specs<'a>(app: &View<'a>) -> Vec<Spec<'a>> {
    let mut out: Vec<Spec<'a>> = Vec::new();
    for g in &app.phase().gates {
        if threshold(&g.condition).is_none() {
            continue;
        }
        match out.iter_mut().find(|s| s.signal == g.signal) {
            Some(s) => s.gates.push(g),
            None => out.push(Spec {
                signal: g.signal,
                gates: vec![g],
            }),
        }
    }
    out
}

/// How many charts fit side by side in `area`.
pub(super) fn fitting(area: Rect, count: usize) -> usize {
    if area.height < MIN_ROWS {
        return 0;
    }
    count.min(usize::from(area.width / MIN_COLS))
}

/// Draws as many of the charts as fit in `area`, side by side; says how
/// many more there are in the last one's title rather than drop them
/// silently.
pub(super) fn draw_charts(
    app: &View<'_>,
    theme: &Theme,
    specs: &[Spec<'_>],
    f: &mut Frame,
    area: Rect,
) {
    let n = fitting(area, specs.len());
    if n == 0 {
        return;
    }
    let cells =
        ratatui::layout::Layout::horizontal(vec![Constraint::Ratio(1, n as u32); n]).split(area);
    for (k, (spec, cell)) in specs.iter().zip(cells.iter()).enumerate() {
        let more = if k + 1 == n { specs.len() - n } else { 0 };
        draw_one(app, theme, spec, more, f, *cell);
    }
}

/// A chart for signal `id`, wherever a layout's `[screen]` asks for one.
pub(super) fn draw_signal(app: &View<'_>, theme: &Theme, id: &str, f: &mut Frame, area: Rect) {
    let Some(signal) = app.board().index_of(id) else {
        return;
    };
    let gates = app
        .phase()
        .gates
        .iter()
        .filter(|g| g.signal == signal && threshold(&g.condition).is_some())
        .collect();
    draw_one(app, theme, &Spec { signal, gates }, 0, f, area);
}

/// The smallest of 1, 2, 2.5 or 5 × 10ⁿ at or above `x` (> 0): the value
/// axis moves only when the numbers outgrow it, not with every sample.
fn nice_ceil(x: f64) -> f64 {
    let magnitude = 10_f64.powf(x.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|&v| v >= x)
        .unwrap_or(10.0 * magnitude)
}

/// The start of the trailing run of samples that pass `gate`, not before
/// the phase was entered: where a running `for` window began.
fn run_start(
    gate: &Gate,
    samples: &[Sample],
    entered: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    let mut start = None;
    for s in samples.iter().rev() {
        if entered.is_some_and(|e| s.at < e) {
            break;
        }
        match number(s).and_then(|(v, rejected)| Some(!rejected && gate.condition.holds_for(v)?)) {
            Some(true) => start = Some(s.at),
            _ => break,
        }
    }
    start
}

fn draw_one(
    app: &View<'_>,
    theme: &Theme,
    spec: &Spec<'_>,
    more: usize,
    f: &mut Frame,
    area: Rect,
) {
    let signal: &Signal = &app.layout().signals[spec.signal];
    let unit: Unit = signal.unit;
    let now = app.app.now;
    let samples = app.board().samples(spec.signal);
    let oldest = samples.first().map_or(0, |s| (now - s.at).num_seconds());
    let span_secs = SPANS
        .iter()
        .copied()
        .find(|&s| s >= oldest)
        .unwrap_or(SPANS[SPANS.len() - 1]);
    let step_ms = span_secs * 1000 / STEPS_PER_SPAN;
    let end_ms = (now.timestamp_millis().div_euclid(step_ms) + 1) * step_ms;
    let end = DateTime::<Utc>::from_timestamp_millis(end_ms).unwrap_or(now);
    let secs = |at: DateTime<Utc>| (at - end).num_milliseconds() as f64 / 1000.0;
    let span = span_secs as f64;
    let (points, rejected): (Vec<(f64, f64)>, Vec<bool>) = samples
        .iter()
        .filter_map(|s| {
            let (v, rejected) = number(s)?;
            Some(((secs(s.at), v), rejected))
        })
        .filter(|((x, _), _)| *x >= -span)
        .unzip();
    let thresholds: Vec<(f64, String)> = spec
        .gates
        .iter()
        .filter_map(|g| Some((threshold(&g.condition)?, g.condition.to_string())))
        .collect();

    // Breach: a sample some gate on this chart fails. Time in breach runs
    // from a breaching sample to the next sample (or now).
    let breaching = |k: usize| {
        let v = points[k].1;
        rejected[k]
            || spec
                .gates
                .iter()
                .any(|g| g.condition.holds_for(v) == Some(false))
    };
    let mut in_breach = 0.0;
    for (k, (x, _)) in points.iter().enumerate() {
        if breaching(k) {
            let next = points.get(k + 1).map_or_else(|| secs(now), |p| p.0);
            in_breach += (next - x).max(0.0);
        }
    }

    let values = points.iter().map(|p| p.1);
    let lo = values
        .clone()
        .chain(thresholds.iter().map(|t| t.0))
        .fold(0.0_f64, f64::min);
    let mut hi = values
        .chain(thresholds.iter().map(|t| t.0))
        .fold(f64::MIN, f64::max);
    if hi <= lo {
        hi = lo + 1.0;
    }
    let hi = lo + nice_ceil((hi - lo) * 1.1);
    let breach_strip: Vec<(f64, f64)> = points
        .iter()
        .enumerate()
        .filter(|(k, _)| breaching(*k))
        .map(|(_, (x, _))| (*x, lo))
        .collect();
    let threshold_lines: Vec<Vec<(f64, f64)>> = thresholds
        .iter()
        .map(|(t, _)| vec![(-span, *t), (0.0, *t)])
        .collect();
    let windows: Vec<(Vec<(f64, f64)>, String)> = spec
        .gates
        .iter()
        .filter_map(|g| {
            let w = g.window?;
            let start = run_start(g, samples, app.live.entered())?;
            // Only a window still running: one already met is just GO.
            if now - start >= chrono::Duration::from_std(w).ok()? {
                return None;
            }
            let x = secs(start).max(-span);
            Some((
                vec![(x, lo), (x, hi)],
                format!(
                    "{} window from -{}",
                    format_seconds(w),
                    format_seconds((now - start).to_std().unwrap_or_default())
                ),
            ))
        })
        .collect();

    // The key rides on the bottom border: a legend box inside the plot
    // would be drawn over by the lines it explains.
    let mut key: Vec<String> = vec![format!("⠤ {}", signal.id)];
    let mut datasets = vec![
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme.fg(Hue::Info))
            .data(&points),
    ];
    for ((_, label), line) in thresholds.iter().zip(&threshold_lines) {
        key.push(format!("• {label}"));
        datasets.push(
            Dataset::default()
                .marker(Marker::Dot)
                .graph_type(GraphType::Line)
                .style(theme.fg(Hue::Pending))
                .data(line),
        );
    }
    if !breach_strip.is_empty() {
        key.push(format!(
            "▄ in breach {}",
            format_seconds(std::time::Duration::from_secs_f64(in_breach))
        ));
        datasets.push(
            Dataset::default()
                .marker(Marker::Bar)
                .graph_type(GraphType::Scatter)
                .style(theme.fg(Hue::NoGo))
                .data(&breach_strip),
        );
    }
    for (line, label) in &windows {
        key.push(format!("█ {label}"));
        datasets.push(
            Dataset::default()
                .marker(Marker::Block)
                .graph_type(GraphType::Line)
                .style(theme.fg(Hue::Stale))
                .data(line),
        );
    }

    let latest = points
        .last()
        .map_or_else(|| "no data yet".to_string(), |p| unit.format(p.1));
    let mut title = format!(" {} {latest} ", signal.id);
    if !points.is_empty() {
        title.push_str(&format!(
            "· breach {}/{} ",
            format_seconds(std::time::Duration::from_secs_f64(in_breach)),
            format_seconds(std::time::Duration::from_secs_f64(span))
        ));
    }
    // The count of charts left out is never what gets cut.
    let more = if more > 0 {
        format!("+{more} more ")
    } else {
        String::new()
    };
    let room = usize::from(area.width.saturating_sub(2)).saturating_sub(more.chars().count());
    let title = format!("{}{more}", crate::text::cut_to(&title, room));
    let key = format!(" {} ", key.join(" "));
    let block = pane(&title, false).title_bottom(
        crate::text::cut_to(&key, usize::from(area.width.saturating_sub(2))).into_owned(),
    );
    if points.is_empty() {
        f.render_widget(Paragraph::new("waiting for numbers").block(block), area);
        return;
    }
    let dim = Style::default();
    // Clock times, not "now": the right end is up to a step ahead of it.
    let clock = |at: DateTime<Utc>| Span::styled(at.format("%H:%M:%S").to_string(), dim);
    let x_labels = vec![
        clock(end - chrono::Duration::seconds(span_secs)),
        clock(end),
    ];
    let y_labels = vec![Span::raw(unit.format(lo)), Span::raw(unit.format(hi))];
    let chart = Chart::new(datasets)
        .block(block)
        .x_axis(Axis::default().bounds([-span, 0.0]).labels(x_labels))
        .y_axis(Axis::default().bounds([lo, hi]).labels(y_labels))
        .legend_position(None);
    f.render_widget(chart, area);
}

#[cfg(test)]
mod tests {
    use super::{nice_ceil, number};
    use crate::signal::{Outcome, Sample};

    #[test]
    fn a_rejected_certificate_is_charted_as_a_breach() {
        let at = crate::clock::now();
        let cert = |up| Sample {
            at,
            outcome: Outcome::Certificate {
                up,
                days: Some(40.0),
                detail: String::new(),
            },
        };
        assert_eq!(number(&cert(true)), Some((40.0, false)));
        assert_eq!(number(&cert(false)), Some((40.0, true)));
    }

    #[test]
    fn value_axes_end_on_round_numbers() {
        for (x, want) in [
            (0.033, 0.05),
            (1.0, 1.0),
            (110.0, 200.0),
            (550.0, 1000.0),
            (21.0, 25.0),
        ] {
            assert!(
                (nice_ceil(x) - want).abs() < 1e-12,
                "{x} → {}",
                nice_ceil(x)
            );
        }
    }
}
