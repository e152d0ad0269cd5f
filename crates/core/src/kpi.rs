//! KPIs, computed from case histories only, so that every figure can be audited against the
//! hash-chained events. The formulas are written out in `docs/kpis.md`; keep the two in step.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::area::AreaLevel;
use crate::calendar::{CalendarError, WorkCalendar};
use crate::case::Handler;
use crate::category::{CategoryCode, Taxonomy};
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
    /// By the case's subcategory (小类) at the end of the window, e.g. `Z9901`: the category of the
    /// report, or the one the dispatcher chose on accepting it.
    Category,
}

impl KpiGrouping {
    pub const ALL: [KpiGrouping; 6] = [
        KpiGrouping::District,
        KpiGrouping::Street,
        KpiGrouping::Community,
        KpiGrouping::Cell,
        KpiGrouping::Department,
        KpiGrouping::Category,
    ];

    /// The area level the rows are keyed by, or `None` for departments and categories.
    pub fn area_level(self) -> Option<AreaLevel> {
        match self {
            KpiGrouping::District => Some(AreaLevel::District),
            KpiGrouping::Street => Some(AreaLevel::Street),
            KpiGrouping::Community => Some(AreaLevel::Community),
            KpiGrouping::Cell => Some(AreaLevel::Cell),
            KpiGrouping::Department | KpiGrouping::Category => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KpiGrouping::District => "district",
            KpiGrouping::Street => "street",
            KpiGrouping::Community => "community",
            KpiGrouping::Cell => "cell",
            KpiGrouping::Department => "department",
            KpiGrouping::Category => "category",
        }
    }

    pub fn parse(text: &str) -> Option<KpiGrouping> {
        KpiGrouping::ALL.into_iter().find(|g| g.as_str() == text)
    }

    /// The key of the row a case counts in (`docs/kpis.md` §6).
    fn key(self, facts: &CaseFacts) -> String {
        match self {
            KpiGrouping::Department => facts.department_key.clone(),
            KpiGrouping::Category => facts
                .category
                .as_ref()
                .map(|c| c.as_str().to_string())
                .unwrap_or_default(),
            area => facts
                .cell
                .as_deref()
                .map(|cell| {
                    let len = area.area_level().map_or(cell.len(), |l| l.code_len());
                    cell.chars().take(len).collect()
                })
                .unwrap_or_default(),
        }
    }
}

// ---------------------------------------------------------------- category filter

/// Which cases count, by their category as of the end of the window (`docs/kpis.md` §2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CategoryFilter {
    /// Every category.
    #[default]
    All,
    /// The subcategories (小类) of one major class (大类), e.g. `Z99` 建议提案.
    Major(String),
    /// One subcategory, e.g. `Z9901` 人大代表建议.
    Subcategory(CategoryCode),
}

/// Why a category filter was refused. Both name the code as it was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CategoryFilterError {
    #[error("category {code:?} is not a category code: give a subcategory (小类) such as Z9901 or a major class (大类) such as Z99")]
    Malformed { code: String },
    #[error(
        "category {code:?} is not in the taxonomy: no subcategory or major class has this code"
    )]
    Unknown { code: String },
}

impl CategoryFilter {
    /// A subcategory code (`Z9901`) or a major class code (`Z99`, `S01`) of `taxonomy`; letters
    /// may be lower case. A well-formed code the taxonomy does not hold is refused too: a filter
    /// that can match no case is a typing error, not an empty answer.
    pub fn parse(text: &str, taxonomy: &Taxonomy) -> Result<CategoryFilter, CategoryFilterError> {
        let given = text.trim();
        let code = given.to_ascii_uppercase();
        let malformed = || CategoryFilterError::Malformed {
            code: given.to_string(),
        };
        let unknown = || CategoryFilterError::Unknown {
            code: given.to_string(),
        };
        match code.len() {
            5 => {
                let sub = CategoryCode::parse(&code).map_err(|_| malformed())?;
                taxonomy
                    .get(&sub)
                    .map(|_| CategoryFilter::Subcategory(sub))
                    .ok_or_else(unknown)
            }
            3 => {
                // A major class is the first three characters of a subcategory code.
                CategoryCode::parse(&format!("{code}00")).map_err(|_| malformed())?;
                if taxonomy.iter().any(|c| c.code.major() == code) {
                    Ok(CategoryFilter::Major(code))
                } else {
                    Err(unknown())
                }
            }
            _ => Err(malformed()),
        }
    }

    /// Whether a case of `category` counts. A case without a category (a history with no report)
    /// counts only when every category does.
    pub fn matches(&self, category: Option<&CategoryCode>) -> bool {
        match self {
            CategoryFilter::All => true,
            CategoryFilter::Major(major) => category.is_some_and(|c| c.major() == major),
            CategoryFilter::Subcategory(sub) => category == Some(sub),
        }
    }

    /// The code filtered on, `None` for every category.
    pub fn code(&self) -> Option<&str> {
        match self {
            CategoryFilter::All => None,
            CategoryFilter::Major(major) => Some(major),
            CategoryFilter::Subcategory(sub) => Some(sub.as_str()),
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

/// All rows together: the counts summed and the rates derived from the sums (§5), keyed `total`.
/// Every counted case is in exactly one row of any grouping, so the total of the rows of any
/// grouping is the same: the whole population.
pub fn total<'a>(rows: impl IntoIterator<Item = &'a KpiRow>) -> KpiRow {
    let mut sum = KpiRow {
        key: "total".to_string(),
        ..KpiRow::default()
    };
    for row in rows {
        sum.reported += row.reported;
        sum.responded_on_time += row.responded_on_time;
        sum.accepted += row.accepted;
        sum.closed += row.closed;
        sum.handled += row.handled;
        sum.handled_on_time += row.handled_on_time;
        sum.verified += row.verified;
        sum.reworked += row.reworked;
        sum.overdue += row.overdue;
        sum.handling_minutes += row.handling_minutes;
        sum.rated += row.rated;
        sum.solved += row.solved;
        sum.satisfied += row.satisfied;
    }
    sum.finish();
    sum
}

/// One figure of a `KpiRow`, named as its JSON field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KpiFigure {
    Reported,
    RespondedOnTime,
    Accepted,
    Closed,
    Handled,
    HandledOnTime,
    Verified,
    Reworked,
    Overdue,
    HandlingMinutes,
    Rated,
    Solved,
    Satisfied,
    OnTimeHandlingRate,
    ClosureRate,
    ReworkRate,
    MeanHandlingHours,
    ResponseRate,
    SolutionRate,
    SatisfactionRate,
}

impl KpiFigure {
    /// Every figure, counts first, in the order of `docs/kpis.md` §4 and §5.
    pub const ALL: [KpiFigure; 20] = [
        KpiFigure::Reported,
        KpiFigure::RespondedOnTime,
        KpiFigure::Accepted,
        KpiFigure::Closed,
        KpiFigure::Handled,
        KpiFigure::HandledOnTime,
        KpiFigure::Verified,
        KpiFigure::Reworked,
        KpiFigure::Overdue,
        KpiFigure::HandlingMinutes,
        KpiFigure::Rated,
        KpiFigure::Solved,
        KpiFigure::Satisfied,
        KpiFigure::OnTimeHandlingRate,
        KpiFigure::ClosureRate,
        KpiFigure::ReworkRate,
        KpiFigure::MeanHandlingHours,
        KpiFigure::ResponseRate,
        KpiFigure::SolutionRate,
        KpiFigure::SatisfactionRate,
    ];

    /// The JSON field of `KpiRow` that holds the figure.
    pub fn as_str(self) -> &'static str {
        match self {
            KpiFigure::Reported => "reported",
            KpiFigure::RespondedOnTime => "responded_on_time",
            KpiFigure::Accepted => "accepted",
            KpiFigure::Closed => "closed",
            KpiFigure::Handled => "handled",
            KpiFigure::HandledOnTime => "handled_on_time",
            KpiFigure::Verified => "verified",
            KpiFigure::Reworked => "reworked",
            KpiFigure::Overdue => "overdue",
            KpiFigure::HandlingMinutes => "handling_minutes",
            KpiFigure::Rated => "rated",
            KpiFigure::Solved => "solved",
            KpiFigure::Satisfied => "satisfied",
            KpiFigure::OnTimeHandlingRate => "on_time_handling_rate",
            KpiFigure::ClosureRate => "closure_rate",
            KpiFigure::ReworkRate => "rework_rate",
            KpiFigure::MeanHandlingHours => "mean_handling_hours",
            KpiFigure::ResponseRate => "response_rate",
            KpiFigure::SolutionRate => "solution_rate",
            KpiFigure::SatisfactionRate => "satisfaction_rate",
        }
    }

    pub fn parse(text: &str) -> Option<KpiFigure> {
        KpiFigure::ALL.into_iter().find(|f| f.as_str() == text)
    }

    /// The figure of a row: `None` for a rate or mean without denominator (shown as "—").
    pub fn of(self, row: &KpiRow) -> Option<f64> {
        let count = |n: u64| Some(n as f64);
        match self {
            KpiFigure::Reported => count(row.reported),
            KpiFigure::RespondedOnTime => count(row.responded_on_time),
            KpiFigure::Accepted => count(row.accepted),
            KpiFigure::Closed => count(row.closed),
            KpiFigure::Handled => count(row.handled),
            KpiFigure::HandledOnTime => count(row.handled_on_time),
            KpiFigure::Verified => count(row.verified),
            KpiFigure::Reworked => count(row.reworked),
            KpiFigure::Overdue => count(row.overdue),
            KpiFigure::HandlingMinutes => Some(row.handling_minutes as f64),
            KpiFigure::Rated => count(row.rated),
            KpiFigure::Solved => count(row.solved),
            KpiFigure::Satisfied => count(row.satisfied),
            KpiFigure::OnTimeHandlingRate => row.on_time_handling_rate,
            KpiFigure::ClosureRate => row.closure_rate,
            KpiFigure::ReworkRate => row.rework_rate,
            KpiFigure::MeanHandlingHours => row.mean_handling_hours,
            KpiFigure::ResponseRate => row.response_rate,
            KpiFigure::SolutionRate => row.solution_rate,
            KpiFigure::SatisfactionRate => row.satisfaction_rate,
        }
    }
}

/// What rows are ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortBy {
    /// The group's key (its code) in string order: areas in the order of their codes, categories
    /// by code (B… before S… before Z…).
    Key,
    Figure(KpiFigure),
}

impl SortBy {
    /// `key` or a figure's JSON name.
    pub fn parse(text: &str) -> Option<SortBy> {
        match text {
            "key" => Some(SortBy::Key),
            other => KpiFigure::parse(other).map(SortBy::Figure),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SortBy::Key => "key",
            SortBy::Figure(figure) => figure.as_str(),
        }
    }
}

/// An order of KPI rows (`docs/kpis.md` §6): the order of the dashboard's table and of the
/// workbook's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RowOrder {
    pub by: SortBy,
    pub descending: bool,
}

impl Default for RowOrder {
    /// By key, ascending: the order `compute` returns.
    fn default() -> RowOrder {
        RowOrder {
            by: SortBy::Key,
            descending: false,
        }
    }
}

impl RowOrder {
    /// Compares two rows. By key: the keys. By a figure: rows that have it first, by its value in
    /// the direction asked, ties broken by more cases reported and then by key; rows without it
    /// (a rate without denominator) last, by key, whichever the direction.
    pub fn compare(&self, a: &KpiRow, b: &KpiRow) -> Ordering {
        let by_key = || a.key.cmp(&b.key);
        let direct = |ordering: Ordering| {
            if self.descending {
                ordering.reverse()
            } else {
                ordering
            }
        };
        match self.by {
            SortBy::Key => direct(by_key()),
            SortBy::Figure(figure) => match (figure.of(a), figure.of(b)) {
                (Some(x), Some(y)) => direct(x.total_cmp(&y))
                    .then_with(|| b.reported.cmp(&a.reported))
                    .then_with(by_key),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => by_key(),
            },
        }
    }

    /// Sorts rows in this order (a total order: keys are unique).
    pub fn sort(&self, rows: &mut [KpiRow]) {
        rows.sort_by(|a, b| self.compare(a, b));
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
    /// The subcategory as of the moment read: the report's, or the one chosen on acceptance.
    pub category: Option<CategoryCode>,
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
        facts.category = Some(case.category.clone());
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
    compute_filtered(
        calendar,
        histories,
        grouping,
        &CategoryFilter::All,
        from,
        to,
    )
}

/// As `compute`, over the cases whose category (as of `to`) `category` matches.
pub fn compute_filtered<'a>(
    calendar: &WorkCalendar,
    histories: impl IntoIterator<Item = &'a [Event]>,
    grouping: KpiGrouping,
    category: &CategoryFilter,
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
        if facts.merged || !category.matches(facts.category.as_ref()) {
            continue;
        }
        let key = grouping.key(&facts);
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::org::Departments;

    fn taxonomy() -> Taxonomy {
        let departments = Departments::default_departments().expect("default departments");
        Taxonomy::default_taxonomy(&departments).expect("default taxonomy")
    }

    fn code(text: &str) -> CategoryCode {
        CategoryCode::parse(text).expect("a category code")
    }

    #[test]
    fn groupings_parse_and_name_themselves() {
        for grouping in KpiGrouping::ALL {
            assert_eq!(KpiGrouping::parse(grouping.as_str()), Some(grouping));
            // The JSON name is the parsed name.
            assert_eq!(
                serde_json::to_value(grouping).expect("json"),
                serde_json::Value::from(grouping.as_str())
            );
        }
        let names: BTreeSet<&str> = KpiGrouping::ALL.iter().map(|g| g.as_str()).collect();
        assert_eq!(names.len(), KpiGrouping::ALL.len());
        for bad in ["", "Street", "categories", "major", "planet"] {
            assert_eq!(KpiGrouping::parse(bad), None, "{bad:?}");
        }
        assert_eq!(KpiGrouping::Category.area_level(), None);
        assert_eq!(KpiGrouping::Department.area_level(), None);
        assert_eq!(KpiGrouping::Cell.area_level(), Some(AreaLevel::Cell));
    }

    #[test]
    fn each_grouping_keys_a_case_by_its_own_fact() {
        let facts = CaseFacts {
            cell: Some("120110001002003".to_string()),
            department_key: "chengguan".to_string(),
            category: Some(code("Z9901")),
            ..CaseFacts::default()
        };
        let keys: Vec<String> = KpiGrouping::ALL.iter().map(|g| g.key(&facts)).collect();
        assert_eq!(
            keys,
            [
                "120110",
                "120110001",
                "120110001002",
                "120110001002003",
                "chengguan",
                "Z9901"
            ]
        );
        // A history without a report has no cell and no category: an empty key, never a panic.
        let bare = CaseFacts {
            department_key: "unassigned".to_string(),
            ..CaseFacts::default()
        };
        let keys: Vec<String> = KpiGrouping::ALL.iter().map(|g| g.key(&bare)).collect();
        assert_eq!(keys, ["", "", "", "", "unassigned", ""]);
    }

    #[test]
    fn a_category_filter_is_a_known_subcategory_or_major_class() {
        let taxonomy = taxonomy();
        let parse = |text: &str| CategoryFilter::parse(text, &taxonomy);
        assert_eq!(
            parse("Z9901"),
            Ok(CategoryFilter::Subcategory(code("Z9901")))
        );
        assert_eq!(
            parse("z9902"),
            Ok(CategoryFilter::Subcategory(code("Z9902")))
        );
        assert_eq!(
            parse(" S0101 "),
            Ok(CategoryFilter::Subcategory(code("S0101")))
        );
        assert_eq!(parse("Z99"), Ok(CategoryFilter::Major("Z99".to_string())));
        assert_eq!(parse("s01"), Ok(CategoryFilter::Major("S01".to_string())));
        assert_eq!(parse("B01"), Ok(CategoryFilter::Major("B01".to_string())));
        // Every subcategory and every major class of the taxonomy is accepted.
        for category in taxonomy.iter() {
            assert_eq!(
                parse(category.code.as_str()),
                Ok(CategoryFilter::Subcategory(category.code.clone()))
            );
            assert_eq!(
                parse(category.code.major()),
                Ok(CategoryFilter::Major(category.code.major().to_string()))
            );
        }
        // Well formed but not in the taxonomy.
        for unknown in ["Z9999", "Z9903", "S0100", "Z98", "S99", "b99"] {
            assert_eq!(
                parse(unknown),
                Err(CategoryFilterError::Unknown {
                    code: unknown.to_string()
                }),
                "{unknown}"
            );
        }
        // Not a code at all.
        for malformed in [
            "",
            "Z",
            "Z9",
            "Z990",
            "Z99011",
            "X99",
            "X9901",
            "ZZ9",
            "Z9A",
            "9901",
            "建议提案",
            "Z99 01",
        ] {
            assert_eq!(
                parse(malformed),
                Err(CategoryFilterError::Malformed {
                    code: malformed.trim().to_string()
                }),
                "{malformed:?}"
            );
        }
        // The message names the code as given.
        let message = parse("Z9999").expect_err("unknown").to_string();
        assert!(message.contains("\"Z9999\""), "{message}");
        let message = parse("q1").expect_err("malformed").to_string();
        assert!(
            message.contains("\"q1\"") && message.contains("Z99"),
            "{message}"
        );
    }

    #[test]
    fn a_category_filter_matches_by_major_class_or_exactly() {
        let all = CategoryFilter::All;
        let proposals = CategoryFilter::Major("Z99".to_string());
        let npc = CategoryFilter::Subcategory(code("Z9901"));
        let cases = [
            (Some(code("Z9901")), [true, true, true]),
            (Some(code("Z9902")), [true, true, false]),
            (Some(code("Z0101")), [true, false, false]),
            (Some(code("S9901")), [true, false, false]),
            (Some(code("S0101")), [true, false, false]),
            (None, [true, false, false]),
        ];
        for (category, expected) in cases {
            let got = [&all, &proposals, &npc].map(|f| f.matches(category.as_ref()));
            assert_eq!(got, expected, "{category:?}");
        }
        assert_eq!(all.code(), None);
        assert_eq!(proposals.code(), Some("Z99"));
        assert_eq!(npc.code(), Some("Z9901"));
        assert_eq!(CategoryFilter::default(), CategoryFilter::All);
    }

    /// A row whose every figure is different, so that a figure read from the wrong field shows.
    fn distinct_row(key: &str) -> KpiRow {
        let mut row = KpiRow {
            key: key.to_string(),
            reported: 101,
            responded_on_time: 97,
            accepted: 89,
            closed: 83,
            handled: 79,
            handled_on_time: 73,
            verified: 71,
            reworked: 67,
            overdue: 61,
            handling_minutes: 5903,
            rated: 59,
            solved: 53,
            satisfied: 47,
            ..KpiRow::default()
        };
        row.finish();
        row
    }

    #[test]
    fn every_figure_is_the_json_field_of_its_name() {
        let row = distinct_row("120110001");
        let json = serde_json::to_value(&row).expect("json");
        let fields: BTreeSet<&str> = json
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .filter(|k| *k != "key")
            .collect();
        let names: BTreeSet<&str> = KpiFigure::ALL.iter().map(|f| f.as_str()).collect();
        assert_eq!(names, fields, "KpiFigure covers every figure of KpiRow");
        assert_eq!(names.len(), KpiFigure::ALL.len(), "no figure twice");
        for figure in KpiFigure::ALL {
            assert_eq!(KpiFigure::parse(figure.as_str()), Some(figure));
            assert_eq!(SortBy::parse(figure.as_str()), Some(SortBy::Figure(figure)));
            assert_eq!(SortBy::Figure(figure).as_str(), figure.as_str());
            assert_eq!(
                figure.of(&row),
                json[figure.as_str()].as_f64(),
                "{}",
                figure.as_str()
            );
        }
        // Rates and means without denominator are absent; counts never are.
        let empty = KpiRow::default();
        for figure in KpiFigure::ALL {
            let is_count = KpiFigure::ALL[..13].contains(&figure);
            assert_eq!(figure.of(&empty).is_some(), is_count, "{}", figure.as_str());
        }
        assert_eq!(SortBy::parse("key"), Some(SortBy::Key));
        assert_eq!(SortBy::Key.as_str(), "key");
        for bad in ["", "name", "Key", "closure", "total"] {
            assert_eq!(SortBy::parse(bad), None, "{bad:?}");
            assert_eq!(KpiFigure::parse(bad), None, "{bad:?}");
        }
    }

    fn rated(key: &str, reported: u64, rated: u64, satisfied: u64) -> KpiRow {
        let mut row = KpiRow {
            key: key.to_string(),
            reported,
            rated,
            satisfied,
            ..KpiRow::default()
        };
        row.finish();
        row
    }

    fn sorted(rows: &[KpiRow], order: RowOrder) -> Vec<String> {
        let mut rows = rows.to_vec();
        order.sort(&mut rows);
        rows.into_iter().map(|r| r.key).collect()
    }

    #[test]
    fn rows_sort_by_a_figure_with_ties_and_blanks_settled() {
        let rows = [
            rated("c", 3, 2, 1), // 50 %
            rated("a", 5, 0, 0), // no rating: —
            rated("d", 9, 4, 2), // 50 %, more cases than c
            rated("b", 1, 1, 1), // 100 %
            rated("e", 2, 0, 0), // —
            rated("f", 3, 2, 0), // 0 %
            rated("g", 3, 4, 2), // 50 %, as many cases as c: by key
        ];
        let satisfaction = |descending| RowOrder {
            by: SortBy::Figure(KpiFigure::SatisfactionRate),
            descending,
        };
        assert_eq!(
            sorted(&rows, satisfaction(true)),
            ["b", "d", "c", "g", "f", "a", "e"]
        );
        // Ascending: the values turn round; ties and blanks keep their own order.
        assert_eq!(
            sorted(&rows, satisfaction(false)),
            ["f", "d", "c", "g", "b", "a", "e"]
        );
        let reported = |descending| RowOrder {
            by: SortBy::Figure(KpiFigure::Reported),
            descending,
        };
        assert_eq!(
            sorted(&rows, reported(true)),
            ["d", "a", "c", "f", "g", "e", "b"]
        );
        assert_eq!(
            sorted(&rows, reported(false)),
            ["b", "e", "c", "f", "g", "a", "d"]
        );
        assert_eq!(
            sorted(&rows, RowOrder::default()),
            ["a", "b", "c", "d", "e", "f", "g"]
        );
        assert_eq!(
            sorted(
                &rows,
                RowOrder {
                    by: SortBy::Key,
                    descending: true
                }
            ),
            ["g", "f", "e", "d", "c", "b", "a"]
        );
    }

    #[test]
    fn every_order_is_total_whatever_order_the_rows_come_in() {
        let rows: Vec<KpiRow> = (0u64..12)
            .map(|i| {
                let mut row = distinct_row(&format!("k{:02}", (i * 7) % 12));
                row.reported = i % 3;
                row.rated = i % 4;
                row.satisfied = (i % 4).min(i % 2);
                row.handled = i % 2;
                row.handling_minutes = (i % 5) as i64 * 60;
                row.finish();
                row
            })
            .collect();
        let mut reversed = rows.clone();
        reversed.reverse();
        let mut rotated = rows.clone();
        rotated.rotate_left(5);
        let bys = std::iter::once(SortBy::Key).chain(KpiFigure::ALL.map(SortBy::Figure));
        for by in bys {
            for descending in [false, true] {
                let order = RowOrder { by, descending };
                let first = sorted(&rows, order);
                assert_eq!(first, sorted(&reversed, order), "{order:?}");
                assert_eq!(first, sorted(&rotated, order), "{order:?}");
                // Every adjacent pair is in order, and no two rows compare equal.
                let mut again = rows.clone();
                order.sort(&mut again);
                for pair in again.windows(2) {
                    assert_eq!(
                        order.compare(&pair[0], &pair[1]),
                        Ordering::Less,
                        "{order:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_total_sums_counts_and_derives_rates() {
        let rows = [
            rated("a", 3, 2, 1),
            rated("b", 1, 2, 2),
            rated("c", 4, 0, 0),
        ];
        let sum = total(&rows);
        assert_eq!(sum.key, "total");
        assert_eq!((sum.reported, sum.rated, sum.satisfied), (8, 4, 3));
        assert_eq!(sum.satisfaction_rate, Some(0.75));
        assert_eq!(sum.closure_rate, None, "no denominator");
        let one = distinct_row("x");
        let alone = total([&one]);
        assert_eq!(
            KpiRow {
                key: "x".to_string(),
                ..alone
            },
            one,
            "the total of one row is that row"
        );
        assert_eq!(
            total(&[]),
            KpiRow {
                key: "total".to_string(),
                ..KpiRow::default()
            }
        );
    }
}
