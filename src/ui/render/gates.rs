//! The gates pane and the sign-off poll: what the launch waits on. Each
//! gate's state in glyph and word, its condition, live value, trend
//! sparkline, age of data and the reason (wrapped, never cut silently);
//! each required role signed by whom and when, or waiting.
//!
//! BLOCKED gates (`depends_on`) are grouped under their root cause: one
//! row `⊘ BLOCKED by api … 17 gates` with the gates it blocks indented
//! below it. When the pane cannot show every gate, the root's row ranks
//! with UNKNOWN and stands for its gates, which go last (collapsed): the
//! other gates are seen first, and the hidden ones are counted twice, on
//! the root's row and in the "+N more" line.

use std::time::Duration;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::pane;
use super::text::{shown, with_more, wrap};
use crate::gate::{Judgement, State};
use crate::live::BlockedGroup;
use crate::text::cut_to;
use crate::ui::app::{Focus, View};
use crate::ui::theme::{Hue, Theme};
use crate::unit::format_seconds;

fn age(d: Option<Duration>) -> String {
    d.map_or_else(|| "—".into(), format_seconds)
}

/// Rows the gates pane needs to show every gate of the phase in `width`
/// columns, borders and heading included; at most `max` (judging stops
/// there, so a thousand gates cost no more than a screenful). The
/// composer gives what is left of the gates' share to other panes.
pub(super) fn rows_needed(app: &View<'_>, width: u16, max: u16) -> u16 {
    let room = usize::from(max.saturating_sub(CHROME));
    let groups = Groups::new(app);
    let judged: Vec<(Entry, Judgement)> = in_place(app, &groups)
        .into_iter()
        .take(room + 1)
        .filter_map(|e| Some((e, groups.judge(app, e)?)))
        .collect();
    let needed: usize = Columns::new(app, &groups, &judged, width)
        .heights
        .iter()
        .sum();
    u16::try_from(needed)
        .unwrap_or(u16::MAX)
        .saturating_add(CHROME)
        .min(max)
}

/// Borders and the heading row.
const CHROME: u16 = 3;
/// Lines a gate's reason may wrap onto.
const REASON_LINES: usize = 3;
/// Under 100 columns the trend goes: the reason matters more.
const TREND: usize = 4;

/// A row of the pane: a gate, or a root cause heading the gates it
/// blocks (its index in [`Groups::list`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    Gate(usize),
    Root(usize),
}

/// The current phase's BLOCKED gates by root cause, and each gate's group.
struct Groups {
    list: Vec<BlockedGroup>,
    of: Vec<Option<usize>>,
}

impl Groups {
    fn new(app: &View<'_>) -> Groups {
        let list = app.live.blocked(app.now);
        let mut of = vec![None; app.phase().gates.len()];
        for (k, g) in list.iter().enumerate() {
            for &i in &g.gates {
                if let Some(slot) = of.get_mut(i) {
                    *slot = Some(k);
                }
            }
        }
        Groups { list, of }
    }

    /// An entry judged in words; a root's row says what is wrong with it
    /// and how many gates wait on it.
    fn judge(&self, app: &View<'_>, e: Entry) -> Option<Judgement> {
        match e {
            Entry::Gate(i) => app.live.judge(i, app.now),
            Entry::Root(k) => {
                let g = self.list.get(k)?;
                Some(Judgement {
                    state: State::Blocked,
                    value: Some(gates_count(g.gates.len())),
                    reason: g.blocker.trouble.to_string(),
                    remaining: None,
                    age: None,
                    blocked_by: Some(g.blocker.clone()),
                })
            }
        }
    }

    fn name(&self, app: &View<'_>, e: Entry) -> String {
        match e {
            Entry::Gate(i) if self.of.get(i).copied().flatten().is_some() => {
                format!("↳ {}", gate_name(&app.phase().gates[i]))
            }
            Entry::Gate(i) => gate_name(&app.phase().gates[i]),
            Entry::Root(k) => self
                .list
                .get(k)
                .map(|g| format!("by {}", g.blocker.id))
                .unwrap_or_default(),
        }
    }
}

fn gates_count(n: usize) -> String {
    if n == 1 {
        "1 gate".into()
    } else {
        format!("{n} gates")
    }
}

fn condition(app: &View<'_>, e: Entry) -> String {
    match e {
        Entry::Gate(i) => app.phase().gates[i].condition_text(),
        Entry::Root(_) => "root cause".into(),
    }
}

/// Every gate in layout order, each group of BLOCKED gates under its
/// root's row where its first gate stands: what a pane that fits shows.
fn in_place(app: &View<'_>, groups: &Groups) -> Vec<Entry> {
    let n = app.phase().gates.len();
    let mut out = Vec::with_capacity(n + groups.list.len());
    let mut placed = vec![false; groups.list.len()];
    for i in 0..n {
        match groups.of.get(i).copied().flatten() {
            None => out.push(Entry::Gate(i)),
            Some(k) if !placed[k] => {
                placed[k] = true;
                out.push(Entry::Root(k));
                out.extend(groups.list[k].gates.iter().map(|&g| Entry::Gate(g)));
            }
            Some(_) => {}
        }
    }
    out
}

/// Rows ranked for a pane that cannot show them all: NO-GO, then UNKNOWN,
/// STALE and the roots of BLOCKED gates (standing for them), then
/// PENDING, then GO, each in layout order; the gates behind a root last.
/// From the runtime's states (no words), in one pass over the gates.
fn by_urgency(app: &View<'_>, groups: &Groups) -> Vec<Entry> {
    let mut ranks: [Vec<Entry>; 5] = Default::default();
    let mut placed = vec![false; groups.list.len()];
    for i in 0..app.phase().gates.len() {
        if let Some(k) = groups.of.get(i).copied().flatten() {
            if !placed[k] {
                placed[k] = true;
                ranks[1].push(Entry::Root(k));
            }
            ranks[4].push(Entry::Gate(i));
            continue;
        }
        let rank = match app.live.gate_state(i) {
            Some(State::NoGo) => 0,
            Some(State::Unknown | State::Stale | State::Blocked) | None => 1,
            Some(State::Pending) => 2,
            Some(State::Go) => 3,
        };
        ranks[rank].push(Entry::Gate(i));
    }
    ranks.concat()
}

/// What the pane shows: which gates, in which order, judged in words.
struct Plan {
    /// Entry and judgement, top to bottom.
    rows: Vec<(Entry, Judgement)>,
    /// Position (in the pane's order) of the first row shown.
    first: usize,
    /// Gates out of view above and below the rows shown (roots' rows are
    /// not gates, and not counted).
    above: usize,
    below: usize,
    /// How many of those are not GO.
    hidden_not_go: usize,
}

/// Every gate in layout order when they fit; else the most urgent first,
/// scrolled so the cursor's row is in view, and a row kept for the line
/// that counts the rest. Only the gates that can be shown are judged in
/// words (a screenful, however many gates the phase has).
fn plan(app: &View<'_>, groups: &Groups, area: Rect) -> (Plan, Columns) {
    let n = app.phase().gates.len() + groups.list.len();
    let room = usize::from(area.height.saturating_sub(CHROME));
    let judge = |e: Entry| groups.judge(app, e).map(|j| (e, j));
    if n <= room {
        let rows: Vec<(Entry, Judgement)> = in_place(app, groups)
            .into_iter()
            .filter_map(judge)
            .collect();
        let cols = Columns::new(app, groups, &rows, area.width);
        if cols.heights.iter().sum::<usize>() <= room {
            let plan = Plan {
                rows,
                first: 0,
                above: 0,
                below: 0,
                hidden_not_go: 0,
            };
            return (plan, cols);
        }
    }
    let order = by_urgency(app, groups);
    let n = order.len();
    let room = room.saturating_sub(1).max(1);
    let cursor = if app.focus == Focus::Gates {
        app.cursor.min(n.saturating_sub(1))
    } else {
        0
    };
    // Candidates: a screenful either side of the cursor.
    let lo = cursor.saturating_sub(room);
    let hi = (lo + 2 * room).max(cursor + 1).min(n);
    let candidates: Vec<(Entry, Judgement)> =
        order[lo..hi].iter().filter_map(|&e| judge(e)).collect();
    // Columns fitted to the candidates, then to the rows chosen with them,
    // and the rows chosen again: the reason gets what the rows shown do
    // not need.
    let (start, mut end) = scroll(
        &Columns::new(app, groups, &candidates, area.width).heights,
        lo,
        cursor,
        room,
    );
    // Fitted to the rows chosen, the columns are no wider, so the reasons
    // wrap on no more lines: the rows still fit, and perhaps a few more.
    let mut cols = Columns::new(app, groups, &candidates[start - lo..end - lo], area.width);
    while end < hi {
        let more = &candidates[start - lo..=end - lo];
        let wider = Columns::new(app, groups, more, area.width);
        if wider.heights.iter().sum::<usize>() <= room {
            cols = wider;
            end += 1;
            continue;
        }
        // Widened for the next row, the reasons wrap onto more lines and
        // it no longer fits; in the columns as they are, its condition
        // and value are cut with `…` instead, and it may: a row left
        // blank would have hidden a gate that fits.
        let same = cols.clone().measure(more);
        if same.heights.iter().sum::<usize>() > room {
            break;
        }
        cols = same;
        end += 1;
    }
    let gates = |part: &[Entry]| {
        part.iter()
            .filter_map(|e| match e {
                Entry::Gate(i) => Some(*i),
                Entry::Root(_) => None,
            })
            .collect::<Vec<usize>>()
    };
    let (above, below) = (gates(&order[..start]), gates(&order[end..]));
    let hidden_not_go = above
        .iter()
        .chain(&below)
        .filter(|&&i| app.live.gate_state(i) != Some(State::Go))
        .count();
    let rows: Vec<(Entry, Judgement)> = candidates
        .into_iter()
        .skip(start - lo)
        .take(end - start)
        .collect();
    let plan = Plan {
        rows,
        first: start,
        above: above.len(),
        below: below.len(),
        hidden_not_go,
    };
    (plan, cols)
}

/// The rows `start..end` (positions in the pane's order) that fit in
/// `room` lines, given the heights of the rows from `lo` on: from the top,
/// or running down to the cursor's row once it is past the first
/// screenful.
fn scroll(heights: &[usize], lo: usize, cursor: usize, room: usize) -> (usize, usize) {
    let hi = lo + heights.len();
    let h = |pos: usize| heights.get(pos - lo).copied().unwrap_or(1);
    let (mut start, mut used) = (cursor, h(cursor));
    while start > lo && used + h(start - 1) <= room {
        start -= 1;
        used += h(start);
    }
    let mut end = cursor + 1;
    while end < hi && used + h(end) <= room {
        used += h(end);
        end += 1;
    }
    (start, end)
}

/// Column widths for a set of judged gates, and the lines each takes.
#[derive(Clone)]
struct Columns {
    widths: Vec<u16>,
    trend: bool,
    reason: u16,
    heights: Vec<usize>,
}

impl Columns {
    fn new(app: &View<'_>, groups: &Groups, judged: &[(Entry, Judgement)], width: u16) -> Columns {
        // Columns as wide as their widest entry (within bounds), so the
        // reason — what an operator reads first on a NO-GO — gets the
        // rest, and wraps onto a second and third line rather than being
        // cut.
        let widest = |f: &dyn Fn(Entry, &Judgement) -> usize, header: &str, max: usize| {
            let w = judged.iter().map(|(i, j)| f(*i, j)).max().unwrap_or(0);
            w.max(header.len()).min(max) as u16
        };
        let trend = width >= 100;
        let mut widths = vec![
            11,
            widest(&|e, _| groups.name(app, e).chars().count(), "GATE", 28),
            widest(&|e, _| condition(app, e).chars().count(), "CONDITION", 22),
            widest(
                &|_, j| j.value.as_deref().map_or(1, |v| v.chars().count()),
                "VALUE",
                22,
            ),
            10,
            5,
        ];
        if !trend {
            widths.remove(TREND);
        }
        // Narrow panes: the name, condition and value columns give way
        // (the widest first) before the reason drops under its least, so
        // every cell is cut here, with `…`, not clipped by the table.
        let spacing = widths.len() as u16;
        let budget = width.saturating_sub(2 + spacing + 10);
        while widths.iter().sum::<u16>() > budget {
            let Some(k) = (1..=3)
                .filter(|&k| widths[k] > 5)
                .max_by_key(|&k| widths[k])
            else {
                break;
            };
            widths[k] -= 1;
        }
        let used: u16 = widths.iter().sum::<u16>() + widths.len() as u16;
        let reason = width.saturating_sub(2).saturating_sub(used).max(10);
        Columns {
            widths,
            trend,
            reason,
            heights: Vec::new(),
        }
        .measure(judged)
    }

    /// The lines each of `judged` takes in these columns.
    fn measure(self, judged: &[(Entry, Judgement)]) -> Columns {
        let heights = judged
            .iter()
            .map(|(_, j)| {
                wrap(&j.reason, usize::from(self.reason), REASON_LINES)
                    .len()
                    .max(1)
            })
            .collect();
        Columns { heights, ..self }
    }
}

fn gate_name(g: &crate::layout::Gate) -> String {
    let mut name = g.name.clone().unwrap_or_else(|| g.signal_id.clone());
    if !g.blocking {
        name.push_str(" (advisory)");
    }
    name
}

/// Draws the gates pane into `area`; returns the state each gate shown
/// was judged in (the verdict counts them as the operator sees them).
pub(super) fn draw_gates(
    app: &View<'_>,
    theme: &Theme,
    f: &mut Frame,
    area: Rect,
) -> Vec<(usize, State)> {
    let phase = app.phase();
    let waived = app.state().waivers.get(&phase.id);
    let groups = Groups::new(app);
    let (plan, cols) = plan(app, &groups, area);
    struct Cells {
        state: (String, Style),
        name: String,
        condition: String,
        value: String,
        reason: String,
    }
    let cells: Vec<Cells> = plan
        .rows
        .iter()
        .map(|(e, j)| {
            let is_waived = match e {
                Entry::Gate(i) => waived.is_some_and(|(w, _)| w.contains(&phase.gates[*i].label())),
                Entry::Root(_) => false,
            };
            let state = if is_waived {
                ("⚠ WAIVED".to_string(), theme.fg(Hue::Waived))
            } else {
                (
                    format!("{} {}", j.state.glyph(), j.state.word()),
                    theme.state(j.state),
                )
            };
            Cells {
                state,
                name: groups.name(app, *e),
                condition: condition(app, *e),
                value: shown(app, j.value.as_deref().unwrap_or("—")).into_owned(),
                // It already says how long a running window has left.
                reason: shown(app, &j.reason).into_owned(),
            }
        })
        .collect();
    let w = |k: usize| usize::from(cols.widths[k]);
    let rows: Vec<Row> = cells
        .into_iter()
        .zip(&plan.rows)
        .enumerate()
        .map(|(k, (c, (e, j)))| {
            let reason = wrap(&c.reason, usize::from(cols.reason), REASON_LINES);
            let height = reason.len().max(1) as u16;
            let mut cells = vec![
                Cell::from(Span::styled(c.state.0, c.state.1)),
                Cell::from(cut_to(&c.name, w(1)).into_owned()),
                Cell::from(cut_to(&c.condition, w(2)).into_owned()),
                Cell::from(cut_to(&c.value, w(3)).into_owned()),
                Cell::from(spark(app, signal_of(app, &groups, *e))),
                Cell::from(age(j.age)),
                Cell::from(reason.into_iter().map(Line::from).collect::<Vec<_>>()),
            ];
            if !cols.trend {
                cells.remove(TREND);
            }
            let row = Row::new(cells).height(height);
            if app.focus == Focus::Gates && app.cursor == plan.first + k {
                row.style(Style::default().add_modifier(Modifier::REVERSED))
            } else {
                row
            }
        })
        .collect();
    let mut constraints: Vec<Constraint> =
        cols.widths.iter().map(|&w| Constraint::Length(w)).collect();
    constraints.push(Constraint::Min(10));
    let table = Table::new(rows, constraints)
        .header(
            Row::new(
                [
                    "STATE",
                    "GATE",
                    "CONDITION",
                    "VALUE",
                    "TREND",
                    "AGE",
                    "REASON",
                ]
                .into_iter()
                .enumerate()
                .filter(|&(i, _)| cols.trend || i != TREND)
                .map(|(_, h)| h),
            )
            .style(Style::default().add_modifier(Modifier::BOLD)),
        )
        .block(pane(" Gates ", app.focus == Focus::Gates));
    f.render_widget(table, area);
    // Under the rows, across the columns: the count of the rest.
    if plan.above + plan.below > 0 {
        let line_y = (area.y + CHROME - 1)
            .saturating_add(u16::try_from(rows_used(&cols)).unwrap_or(u16::MAX));
        if line_y < area.bottom().saturating_sub(1) {
            let line = Rect::new(area.x + 1, line_y, area.width.saturating_sub(2), 1);
            let text = more_line(app, &plan);
            f.render_widget(
                Paragraph::new(cut_to(&text, usize::from(line.width)).into_owned())
                    .style(Style::default().add_modifier(Modifier::BOLD)),
                line,
            );
        }
    }
    plan.rows
        .iter()
        .filter_map(|(e, j)| match e {
            Entry::Gate(i) => Some((*i, j.state)),
            Entry::Root(_) => None,
        })
        .collect()
}

/// The signal a row's trend draws: a root's row shows the root's.
fn signal_of(app: &View<'_>, groups: &Groups, e: Entry) -> usize {
    match e {
        Entry::Gate(i) => app.phase().gates[i].signal,
        Entry::Root(k) => groups.list.get(k).map_or(0, |g| g.blocker.root),
    }
}

fn rows_used(cols: &Columns) -> usize {
    cols.heights.iter().sum()
}

/// `+6 more (2 not GO)`: what is out of view, and how to see it.
fn more_line(app: &View<'_>, plan: &Plan) -> String {
    let hidden = plan.above + plan.below;
    let mut text = format!("+{hidden} more ({} not GO)", plan.hidden_not_go);
    if plan.above > 0 {
        text.push_str(&format!(": {} above, {} below", plan.above, plan.below));
    }
    text.push_str(if app.focus == Focus::Gates {
        " · j/k scroll"
    } else {
        " · Tab here, j/k scroll"
    });
    text
}

/// A sparkline of the signal's recent numeric values.
fn spark(app: &View<'_>, signal: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let values: Vec<f64> = app
        .board()
        .samples(signal)
        .iter()
        .rev()
        .take(10)
        .filter_map(|s| match &s.outcome {
            crate::signal::Outcome::Number(v) => Some(*v),
            crate::signal::Outcome::Health {
                latency: Some(l), ..
            } => Some(l.as_secs_f64()),
            _ => None,
        })
        .collect();
    if values.is_empty() {
        return String::new();
    }
    let (lo, hi) = values
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    values
        .iter()
        .rev()
        .map(|v| {
            if (hi - lo).abs() < f64::EPSILON {
                BARS[3]
            } else {
                let i = ((v - lo) / (hi - lo) * 7.0).round();
                BARS[(i.clamp(0.0, 7.0)) as usize]
            }
        })
        .collect()
}

fn short(t: DateTime<Utc>) -> String {
    t.format("%H:%M").to_string()
}

pub(super) fn draw_signoffs(app: &View<'_>, theme: &Theme, f: &mut Frame, area: Rect) {
    let phase = app.phase();
    let width = usize::from(area.width.saturating_sub(2));
    // Each entry a glyph and its words, wrapped under itself.
    let mut entries: Vec<(&str, Style, String)> = phase
        .signoff
        .iter()
        .map(|role| match app.state().signed(role) {
            Some(s) => match &s.stale {
                None => (
                    "✔ ",
                    theme.fg(Hue::Go),
                    format!("{role}: {} {}", shown(app, &s.user), short(s.at)),
                ),
                // Glyph and word: it no longer counts, whatever the colour.
                Some(w) => (
                    "⚠ ",
                    theme.fg(Hue::NoGo),
                    format!(
                        "STALE {role}: {} {} — {} {} {}",
                        shown(app, &s.user),
                        short(s.at),
                        shown(app, &w.gate),
                        w.state,
                        short(w.seen)
                    ),
                ),
            },
            None => ("… ", theme.fg(Hue::Pending), format!("{role}: waiting")),
        })
        .collect();
    if entries.is_empty() {
        entries.push(("", Style::default(), "no sign-off needed".into()));
    }
    if let Some(h) = &app.state().hold {
        entries.push((
            "⏸ ",
            theme.fg(Hue::Hold),
            format!("HOLD by {}: {}", h.by, shown(app, &h.reason)),
        ));
    }
    let mut lines: Vec<Line> = Vec::new();
    for (glyph, style, text) in entries {
        let indent = glyph.chars().count();
        for (k, part) in wrap(&text, width.saturating_sub(indent), 3)
            .into_iter()
            .enumerate()
        {
            let lead = if k == 0 {
                Span::styled(glyph, style)
            } else {
                Span::raw(" ".repeat(indent))
            };
            lines.push(Line::from(vec![lead, Span::raw(part)]));
        }
    }
    let lines = with_more(lines, usize::from(area.height.saturating_sub(2)), width);
    f.render_widget(Paragraph::new(lines).block(pane(" Sign-off ", false)), area);
}
