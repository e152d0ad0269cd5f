//! KPIs, computed from case histories only, so that every figure can be audited against the
//! hash-chained events. The formulas are written out in `docs/kpis.md`; keep the two in step.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::area::AreaLevel;
use crate::calendar::{CalendarError, WorkCalendar};
use crate::case::Handler;
use crate::history::{evolve, Event, EventKind};

/// How KPI rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KpiGrouping {
    District,
    Street,
    Community,
    Cell,
    /// By the case's handler at the end of the window: its lead department (主办), `grid` for cases
    /// settled in the grid, `unassigned` for cases not (or no longer) dispatched.
    Department,
}

impl KpiGrouping {
    /// The area level the rows are keyed by, or `None` for departments.
    pub fn area_level(self) -> Option<AreaLevel> {
        match self {
            KpiGrouping::District => Some(AreaLevel::District),
            KpiGrouping::Street => Some(AreaLevel::Street),
            KpiGrouping::Community => Some(AreaLevel::Community),
            KpiGrouping::Cell => Some(AreaLevel::Cell),
            KpiGrouping::Department => None,
        }
    }

    pub fn parse(text: &str) -> Option<KpiGrouping> {
        match text {
            "district" => Some(KpiGrouping::District),
            "street" => Some(KpiGrouping::Street),
            "community" => Some(KpiGrouping::Community),
            "cell" => Some(KpiGrouping::Cell),
            "department" => Some(KpiGrouping::Department),
            _ => None,
        }
    }
}

/// The counts behind one KPI row, and the rates derived from them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KpiRow {
    pub key: String,
    /// Cases reported in the window (merged duplicates excluded).
    pub reported: u64,
    /// Reported cases answered (accepted, rejected or settled in the grid) within the accept limit.
    pub responded_on_time: u64,
    /// Cases accepted (立案): accepted, or settled in the grid.
    pub accepted: u64,
    /// Accepted cases closed by the end of the window.
    pub closed: u64,
    /// Cases whose handling ended at least once with feedback.
    pub handled: u64,
    /// Handled cases whose every handling stage ended by its (possibly extended) deadline.
    pub handled_on_time: u64,
    /// Cases verified at least once.
    pub verified: u64,
    /// Verified cases that failed verification at least once (返工).
    pub reworked: u64,
    /// Cases still open at the end of the window whose current stage is overdue.
    pub overdue: u64,
    /// Sum of working minutes spent in handling stages, over handled cases.
    pub handling_minutes: i64,
    /// Closed cases with a rating.
    pub rated: u64,
    /// Ratings of 3 or more (the reporter considers it solved).
    pub solved: u64,
    /// Ratings of 4 or 5 (satisfied).
    pub satisfied: u64,
    pub on_time_handling_rate: Option<f64>,
    pub closure_rate: Option<f64>,
    pub rework_rate: Option<f64>,
    pub mean_handling_hours: Option<f64>,
    pub response_rate: Option<f64>,
    pub solution_rate: Option<f64>,
    pub satisfaction_rate: Option<f64>,
}

fn ratio(numerator: u64, denominator: u64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

impl KpiRow {
    fn finish(&mut self) {
        self.on_time_handling_rate = ratio(self.handled_on_time, self.handled);
        self.closure_rate = ratio(self.closed, self.accepted);
        self.rework_rate = ratio(self.reworked, self.verified);
        self.mean_handling_hours =
            (self.handled > 0).then(|| self.handling_minutes as f64 / 60.0 / self.handled as f64);
        self.response_rate = ratio(self.responded_on_time, self.reported);
        self.solution_rate = ratio(self.solved, self.rated);
        self.satisfaction_rate = ratio(self.satisfied, self.rated);
    }

    fn add(&mut self, facts: &CaseFacts) {
        self.reported += 1;
        self.responded_on_time += u64::from(facts.responded_on_time);
        self.accepted += u64::from(facts.accepted);
        self.closed += u64::from(facts.accepted && facts.closed);
        self.handled += u64::from(facts.handled);
        self.handled_on_time += u64::from(facts.handled && facts.all_handling_on_time);
        self.verified += u64::from(facts.verified);
        self.reworked += u64::from(facts.verified && facts.reworked);
        self.overdue += u64::from(facts.overdue);
        if facts.handled {
            self.handling_minutes += facts.handling_minutes;
        }
        if let Some(score) = facts.rating {
            self.rated += 1;
            self.solved += u64::from(score >= 3);
            self.satisfied += u64::from(score >= 4);
        }
    }
}

/// What one case's history says, as of a moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseFacts {
    pub reported_at: Option<DateTime<Utc>>,
    pub merged: bool,
    pub responded_on_time: bool,
    pub accepted: bool,
    pub closed: bool,
    pub handled: bool,
    pub all_handling_on_time: bool,
    pub verified: bool,
    pub reworked: bool,
    pub overdue: bool,
    pub handling_minutes: i64,
    pub rating: Option<u8>,
    pub department_key: String,
    pub cell: Option<String>,
}

/// Reads the facts of one case from its history, ignoring events after `as_of`.
pub fn case_facts(
    calendar: &WorkCalendar,
    events: &[Event],
    as_of: DateTime<Utc>,
) -> Result<CaseFacts, CalendarError> {
    let mut facts = CaseFacts {
        all_handling_on_time: true,
        department_key: "unassigned".to_string(),
        ..CaseFacts::default()
    };
    let mut case = None;
    let mut responded = false;
    for event in events.iter().take_while(|e| e.at <= as_of) {
        // The deadline that was running when this event happened.
        let running = case.as_ref().and_then(|c: &crate::case::Case| c.deadline);
        // A history that does not fold is caught by `verify`; KPIs count what folds.
        let Ok(next) = evolve(case.take(), event) else {
            break;
        };
        match &event.kind {
            EventKind::Reported { report, .. } => {
                facts.reported_at = Some(event.at);
                facts.cell = Some(report.cell.to_string());
            }
            EventKind::Accepted { .. } | EventKind::Rejected { .. } => {
                if !responded {
                    responded = true;
                    facts.responded_on_time = running.is_some_and(|d| event.at <= d.due_at);
                }
                facts.accepted |= matches!(event.kind, EventKind::Accepted { .. });
            }
            EventKind::SelfSettled { .. } => {
                if !responded {
                    responded = true;
                    facts.responded_on_time = running.is_some_and(|d| event.at <= d.due_at);
                }
                facts.accepted = true;
            }
            EventKind::FeedbackGiven { .. } => {
                facts.handled = true;
                if let Some(deadline) = running {
                    facts.all_handling_on_time &= event.at <= deadline.due_at;
                    facts.handling_minutes +=
                        calendar.working_minutes_between(deadline.started_at, event.at)?;
                }
            }
            EventKind::Verified { .. } => facts.verified = true,
            EventKind::VerificationFailed { .. } => {
                facts.verified = true;
                facts.reworked = true;
            }
            EventKind::Closed { .. } => facts.closed = true,
            EventKind::Rated { rating } => facts.rating = Some(rating.score),
            EventKind::MergedInto { .. } => facts.merged = true,
            _ => {}
        }
        case = Some(next);
    }
    if let Some(case) = &case {
        facts.department_key = match &case.handler {
            Some(Handler::Department(code)) => code.to_string(),
            Some(Handler::Grid) => "grid".to_string(),
            None => "unassigned".to_string(),
        };
        facts.overdue = !case.state.is_final() && case.deadline.is_some_and(|d| as_of > d.due_at);
    }
    Ok(facts)
}

/// KPIs over the cases reported in `[from, to)`, as of `to`, grouped as asked. Rows are sorted by key.
pub fn compute<'a>(
    calendar: &WorkCalendar,
    histories: impl IntoIterator<Item = &'a [Event]>,
    grouping: KpiGrouping,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<KpiRow>, CalendarError> {
    let mut rows: BTreeMap<String, KpiRow> = BTreeMap::new();
    for events in histories {
        let Some(first) = events.first() else {
            continue;
        };
        if first.at < from || first.at >= to {
            continue;
        }
        let facts = case_facts(calendar, events, to)?;
        if facts.merged {
            continue;
        }
        let key = match grouping.area_level() {
            None => facts.department_key.clone(),
            Some(level) => facts
                .cell
                .as_deref()
                .map(|cell| cell.chars().take(level.code_len()).collect())
                .unwrap_or_default(),
        };
        rows.entry(key.clone())
            .or_insert_with(|| KpiRow {
                key,
                ..KpiRow::default()
            })
            .add(&facts);
    }
    let mut rows: Vec<KpiRow> = rows.into_values().collect();
    for row in &mut rows {
        row.finish();
    }
    Ok(rows)
}
