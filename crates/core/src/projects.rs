//! Major projects (重大项目): their record, the order of their stages, and the five rates the
//! district watches — 签约率, 落地率, 开工率, 投达产率 and 综合贡献率 — for a period, per department
//! or per park. Pure functions only; `docs/projects.md` gives every formula and denominator.
//!
//! A project passes four stages in order: 签约 (signing) → 落地 (landing: registered, land secured)
//! → 开工 (construction start) → 投产/达产 (production). Each stage has a planned and an actual
//! date (China calendar dates). A period is `[from, to)`: `from` inclusive, `to` exclusive.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::org::{DepartmentCode, Departments};

/// The longest project name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// The longest park text, in characters.
pub const MAX_PARK_CHARS: usize = 100;

/// A stage of a project, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// 签约
    Signing,
    /// 落地 (registered, land secured)
    Landing,
    /// 开工
    Start,
    /// 投产/达产
    Production,
}

impl Stage {
    pub const ALL: [Stage; 4] = [
        Stage::Signing,
        Stage::Landing,
        Stage::Start,
        Stage::Production,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Signing => "signing",
            Stage::Landing => "landing",
            Stage::Start => "start",
            Stage::Production => "production",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Stage::Signing => "签约",
            Stage::Landing => "落地",
            Stage::Start => "开工",
            Stage::Production => "投产",
        }
    }

    /// The stage before this one, None for signing.
    pub fn previous(self) -> Option<Stage> {
        match self {
            Stage::Signing => None,
            Stage::Landing => Some(Stage::Signing),
            Stage::Start => Some(Stage::Landing),
            Stage::Production => Some(Stage::Start),
        }
    }
}

/// The planned and actual date of one stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageDates {
    #[serde(default)]
    pub planned: Option<NaiveDate>,
    #[serde(default)]
    pub actual: Option<NaiveDate>,
}

/// What a person records about a project (the store adds its id, cell, version and times).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectFields {
    /// 项目名称
    pub name: String,
    /// 总投资, in 亿元 (hundred million yuan).
    pub investment: f64,
    /// 责任单位: the lead department.
    pub department: DepartmentCode,
    /// 所在园区: a park's area code or its name as free text; None when outside any park.
    #[serde(default)]
    pub park: Option<String>,
    /// Where the project is (WGS84).
    pub lon: f64,
    pub lat: f64,
    #[serde(default)]
    pub signing: StageDates,
    #[serde(default)]
    pub landing: StageDates,
    #[serde(default)]
    pub start: StageDates,
    #[serde(default)]
    pub production: StageDates,
    /// 计划年贡献: the annual contribution (output value or tax, 亿元) planned once in production.
    #[serde(default)]
    pub planned_contribution: Option<f64>,
    /// 实际年贡献: the latest annual contribution actually achieved (亿元).
    #[serde(default)]
    pub actual_contribution: Option<f64>,
}

impl ProjectFields {
    pub fn stage(&self, stage: Stage) -> &StageDates {
        match stage {
            Stage::Signing => &self.signing,
            Stage::Landing => &self.landing,
            Stage::Start => &self.start,
            Stage::Production => &self.production,
        }
    }

    pub fn stage_mut(&mut self, stage: Stage) -> &mut StageDates {
        match stage {
            Stage::Signing => &mut self.signing,
            Stage::Landing => &mut self.landing,
            Stage::Start => &mut self.start,
            Stage::Production => &mut self.production,
        }
    }

    /// The last stage actually reached (None before signing).
    pub fn current_stage(&self) -> Option<Stage> {
        Stage::ALL
            .into_iter()
            .rev()
            .find(|s| self.stage(*s).actual.is_some())
    }

    /// The last stage reached before `day` (its actual date is earlier than `day`).
    pub fn stage_before(&self, day: NaiveDate) -> Option<Stage> {
        Stage::ALL
            .into_iter()
            .rev()
            .find(|s| self.stage(*s).actual.is_some_and(|d| d < day))
    }
}

/// Why a project's record is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProjectError {
    #[error("name: a project needs a name (项目名称)")]
    EmptyName,
    #[error("name: at most {MAX_NAME_CHARS} characters, this one has {0}")]
    NameTooLong(usize),
    #[error("park: at most {MAX_PARK_CHARS} characters, this one has {0}")]
    ParkTooLong(usize),
    #[error("investment: the total investment (总投资) must be a number of 亿元 greater than 0, not {0}")]
    BadInvestment(f64),
    #[error("{field}: a contribution must be a number of 亿元, 0 or more, not {value}")]
    BadContribution { field: &'static str, value: f64 },
    #[error("lon/lat: {0} is not a WGS84 point (longitude −180…180, latitude −90…90)")]
    BadPoint(String),
    #[error("department: {0} is not a department; choose one from GET /api/departments")]
    UnknownDepartment(DepartmentCode),
    #[error("{}: the project cannot reach {} ({}) before {} ({}): give the {} date first", stage.as_str(), stage.name_zh(), stage.as_str(), previous.name_zh(), previous.as_str(), previous.name_zh())]
    StageSkipped { stage: Stage, previous: Stage },
    #[error("{}: the {kind} {} date {date} is before the {kind} {} date {previous_date}; stages follow 签约 → 落地 → 开工 → 投产", stage.as_str(), stage.name_zh(), previous.name_zh())]
    OutOfOrder {
        stage: Stage,
        previous: Stage,
        /// "actual" or "planned".
        kind: &'static str,
        date: NaiveDate,
        previous_date: NaiveDate,
    },
    #[error("{}: the actual {} date {date} is in the future (today is {today}); record a stage once it happened, and plan it with the planned date", stage.as_str(), stage.name_zh())]
    InFuture {
        stage: Stage,
        date: NaiveDate,
        today: NaiveDate,
    },
    #[error("actual_contribution: an actual contribution is recorded once the project is in production (投产); give the production date first")]
    ContributionBeforeProduction,
    #[error("{}: the {kind} {} date {date} is not a plausible project date; give a year from {FIRST_YEAR} to {LAST_YEAR}", stage.as_str(), stage.name_zh())]
    DateOutOfRange {
        stage: Stage,
        /// "actual" or "planned".
        kind: &'static str,
        date: NaiveDate,
    },
}

/// The years a project date may fall in: a typing slip (0470 for 2470, 20255 for 2025) is refused
/// rather than stored, and every stored date can be written to a spreadsheet (Excel starts at 1900).
pub const FIRST_YEAR: i32 = 1950;
pub const LAST_YEAR: i32 = 2199;

/// Checks a record: a name, a positive investment, a known department, a WGS84 point, non-negative
/// contributions, and the stage order — each actual stage needs the previous stage's actual date,
/// actual dates are in stage order and not after `today`, planned dates are in stage order.
pub fn validate(
    fields: &ProjectFields,
    departments: &Departments,
    today: NaiveDate,
) -> Result<(), ProjectError> {
    let name = fields.name.trim();
    if name.is_empty() {
        return Err(ProjectError::EmptyName);
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(ProjectError::NameTooLong(chars));
    }
    if let Some(park) = &fields.park {
        let chars = park.chars().count();
        if chars > MAX_PARK_CHARS {
            return Err(ProjectError::ParkTooLong(chars));
        }
    }
    if !fields.investment.is_finite() || fields.investment <= 0.0 {
        return Err(ProjectError::BadInvestment(fields.investment));
    }
    for (field, value) in [
        ("planned_contribution", fields.planned_contribution),
        ("actual_contribution", fields.actual_contribution),
    ] {
        if let Some(value) = value {
            if !value.is_finite() || value < 0.0 {
                return Err(ProjectError::BadContribution { field, value });
            }
        }
    }
    if !(fields.lon.is_finite()
        && fields.lat.is_finite()
        && (-180.0..=180.0).contains(&fields.lon)
        && (-90.0..=90.0).contains(&fields.lat))
    {
        return Err(ProjectError::BadPoint(format!(
            "{},{}",
            fields.lon, fields.lat
        )));
    }
    if departments.get(&fields.department).is_none() {
        return Err(ProjectError::UnknownDepartment(fields.department.clone()));
    }
    check_order(fields, today)?;
    if fields.actual_contribution.is_some() && fields.production.actual.is_none() {
        return Err(ProjectError::ContributionBeforeProduction);
    }
    Ok(())
}

/// The stage-order rules alone (see `validate`).
pub fn check_order(fields: &ProjectFields, today: NaiveDate) -> Result<(), ProjectError> {
    for stage in Stage::ALL {
        let dates = fields.stage(stage);
        for (kind, date) in [("planned", dates.planned), ("actual", dates.actual)] {
            if let Some(date) = date {
                if !(FIRST_YEAR..=LAST_YEAR).contains(&date.year()) {
                    return Err(ProjectError::DateOutOfRange { stage, kind, date });
                }
            }
        }
        if let Some(date) = dates.actual {
            if date > today {
                return Err(ProjectError::InFuture { stage, date, today });
            }
        }
        let Some(previous) = stage.previous() else {
            continue;
        };
        let before = fields.stage(previous);
        match (dates.actual, before.actual) {
            (Some(_), None) => return Err(ProjectError::StageSkipped { stage, previous }),
            (Some(date), Some(previous_date)) if date < previous_date => {
                return Err(ProjectError::OutOfOrder {
                    stage,
                    previous,
                    kind: "actual",
                    date,
                    previous_date,
                })
            }
            _ => {}
        }
        // Planned dates: each one not before the latest planned date of the stages before it.
        if let Some(date) = dates.planned {
            let earlier = Stage::ALL
                .into_iter()
                .take_while(|s| *s != stage)
                .filter_map(|s| fields.stage(s).planned.map(|d| (s, d)))
                .max_by_key(|(_, d)| *d);
            if let Some((previous, previous_date)) = earlier {
                if date < previous_date {
                    return Err(ProjectError::OutOfOrder {
                        stage,
                        previous,
                        kind: "planned",
                        date,
                        previous_date,
                    });
                }
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- rates

/// Why a period is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("the period [{from}, {to}) is empty: `to` must be after `from`")]
    Empty { from: NaiveDate, to: NaiveDate },
}

/// One stage's rate over a period (`docs/projects.md` §3).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct StageRate {
    /// The denominator: projects due to reach the stage by the end of the period and that had not
    /// reached it before the period began.
    pub due: u64,
    /// The numerator: of those, the ones that reached it within the period.
    pub reached: u64,
    /// Projects that reached the stage within the period ahead of a plan that put it after the
    /// period (not in the rate; shown apart).
    pub ahead: u64,
    /// `reached / due`; None when `due` is 0.
    pub rate: Option<f64>,
}

/// How many projects had reached each stage before the end of the period (the funnel).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pipeline {
    pub registered: u64,
    pub signed: u64,
    pub landed: u64,
    pub started: u64,
    pub producing: u64,
}

/// The five rates of a group of projects over a period, with every count behind them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectRates {
    /// The group: a department code, a park, `none` (no park), or `total`.
    pub key: String,
    pub projects: u64,
    /// 总投资 of the group's projects (亿元).
    pub investment: f64,
    pub pipeline: Pipeline,
    /// 签约率
    pub signing: StageRate,
    /// 落地率
    pub landing: StageRate,
    /// 开工率
    pub start: StageRate,
    /// 投达产率
    pub production: StageRate,
    /// Projects in production before the end of the period with a planned contribution above 0:
    /// the population of 综合贡献率.
    pub contributing: u64,
    /// Of them, those with no actual contribution recorded (counted as 0).
    pub contribution_unreported: u64,
    /// Σ planned annual contribution of `contributing` (亿元).
    pub planned_contribution: f64,
    /// Σ actual annual contribution of `contributing` (亿元; unreported counts 0).
    pub actual_contribution: f64,
    /// 综合贡献率 = `actual_contribution / planned_contribution`; None when nothing is planned.
    pub contribution_rate: Option<f64>,
}

impl ProjectRates {
    pub fn stage(&self, stage: Stage) -> &StageRate {
        match stage {
            Stage::Signing => &self.signing,
            Stage::Landing => &self.landing,
            Stage::Start => &self.start,
            Stage::Production => &self.production,
        }
    }

    fn stage_mut(&mut self, stage: Stage) -> &mut StageRate {
        match stage {
            Stage::Signing => &mut self.signing,
            Stage::Landing => &mut self.landing,
            Stage::Start => &mut self.start,
            Stage::Production => &mut self.production,
        }
    }
}

/// How rates are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateGrouping {
    Department,
    Park,
}

impl RateGrouping {
    pub fn parse(text: &str) -> Option<RateGrouping> {
        match text {
            "department" => Some(RateGrouping::Department),
            "park" => Some(RateGrouping::Park),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RateGrouping::Department => "department",
            RateGrouping::Park => "park",
        }
    }

    /// The group key of a project.
    pub fn key(self, fields: &ProjectFields) -> String {
        match self {
            RateGrouping::Department => fields.department.as_str().to_string(),
            RateGrouping::Park => match fields.park.as_deref().map(str::trim) {
                Some(park) if !park.is_empty() => park.to_string(),
                _ => "none".to_string(),
            },
        }
    }
}

fn ratio(numerator: f64, denominator: f64) -> Option<f64> {
    (denominator > 0.0).then(|| numerator / denominator)
}

fn within(date: Option<NaiveDate>, from: NaiveDate, to: NaiveDate) -> bool {
    date.is_some_and(|d| from <= d && d < to)
}

fn before(date: Option<NaiveDate>, day: NaiveDate) -> bool {
    date.is_some_and(|d| d < day)
}

/// Adds one project to a group's counts.
fn count(rates: &mut ProjectRates, fields: &ProjectFields, from: NaiveDate, to: NaiveDate) {
    rates.projects += 1;
    rates.investment += fields.investment;
    rates.pipeline.registered += 1;
    let reached_by_end = |s: Stage| before(fields.stage(s).actual, to);
    rates.pipeline.signed += u64::from(reached_by_end(Stage::Signing));
    rates.pipeline.landed += u64::from(reached_by_end(Stage::Landing));
    rates.pipeline.started += u64::from(reached_by_end(Stage::Start));
    rates.pipeline.producing += u64::from(reached_by_end(Stage::Production));
    for stage in Stage::ALL {
        let dates = fields.stage(stage);
        // The previous stage reached before the end of the period (signing has none to wait for).
        let open = stage.previous().is_none_or(reached_by_end);
        // Due by plan: no planned date (then always expected), or one before the end of the period.
        let planned_due = dates.planned.is_none_or(|d| d < to);
        // Not already reached before the period began.
        let pending = !before(dates.actual, from);
        let in_period = within(dates.actual, from, to);
        let rate = rates.stage_mut(stage);
        if open && pending {
            if planned_due {
                rate.due += 1;
                rate.reached += u64::from(in_period);
            } else if in_period {
                rate.ahead += 1;
            }
        }
    }
    if let Some(planned) = fields.planned_contribution.filter(|p| *p > 0.0) {
        if reached_by_end(Stage::Production) {
            rates.contributing += 1;
            rates.planned_contribution += planned;
            match fields.actual_contribution {
                Some(actual) => rates.actual_contribution += actual,
                None => rates.contribution_unreported += 1,
            }
        }
    }
}

fn finish(rates: &mut ProjectRates) {
    for stage in Stage::ALL {
        let rate = rates.stage_mut(stage);
        rate.rate = ratio(rate.reached as f64, rate.due as f64);
    }
    rates.contribution_rate = ratio(rates.actual_contribution, rates.planned_contribution);
}

fn check_period(from: NaiveDate, to: NaiveDate) -> Result<(), PeriodError> {
    if from < to {
        Ok(())
    } else {
        Err(PeriodError::Empty { from, to })
    }
}

/// The rates of all `projects` together over `[from, to)`, keyed `total`.
pub fn rates<'a>(
    projects: impl IntoIterator<Item = &'a ProjectFields>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<ProjectRates, PeriodError> {
    check_period(from, to)?;
    let mut total = ProjectRates {
        key: "total".to_string(),
        ..ProjectRates::default()
    };
    for fields in projects {
        count(&mut total, fields, from, to);
    }
    finish(&mut total);
    Ok(total)
}

/// The rates per group over `[from, to)`, ordered by key (one row per group with a project).
pub fn rates_by<'a>(
    projects: impl IntoIterator<Item = &'a ProjectFields>,
    grouping: RateGrouping,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<ProjectRates>, PeriodError> {
    check_period(from, to)?;
    let mut groups: BTreeMap<String, ProjectRates> = BTreeMap::new();
    for fields in projects {
        let key = grouping.key(fields);
        let rates = groups.entry(key.clone()).or_insert_with(|| ProjectRates {
            key,
            ..ProjectRates::default()
        });
        count(rates, fields, from, to);
    }
    let mut rows: Vec<ProjectRates> = groups.into_values().collect();
    rows.iter_mut().for_each(finish);
    Ok(rows)
}

// ---------------------------------------------------------------- the change record

/// The hash of a project event: SHA-256 (hex) over the previous event's hash (empty for the first)
/// and the event's body, so that a change to any recorded event breaks every later hash.
pub fn event_hash(previous: &str, body: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(previous.as_bytes());
    hasher.update(b"\n");
    hasher.update(body.as_bytes());
    hex::encode(hasher.finalize())
}

/// The fields that differ between two records, as (field, before, after) in JSON.
pub fn changes(
    before: &ProjectFields,
    after: &ProjectFields,
) -> Vec<(String, serde_json::Value, serde_json::Value)> {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, old) in &a {
        let new = b.get(key).cloned().unwrap_or(serde_json::Value::Null);
        if *old != new {
            match (old, &new) {
                // Stage dates: name the date that changed (e.g. `landing.actual`).
                (serde_json::Value::Object(o), serde_json::Value::Object(n)) => {
                    for (part, value) in o {
                        let next = n.get(part).cloned().unwrap_or(serde_json::Value::Null);
                        if *value != next {
                            out.push((format!("{key}.{part}"), value.clone(), next));
                        }
                    }
                }
                _ => out.push((key.clone(), old.clone(), new)),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
    }

    fn departments() -> Departments {
        Departments::default_departments().expect("departments")
    }

    fn dates(planned: Option<&str>, actual: Option<&str>) -> StageDates {
        StageDates {
            planned: planned.map(day),
            actual: actual.map(day),
        }
    }

    fn project() -> ProjectFields {
        ProjectFields {
            name: "智能装备产业园（示例）".to_string(),
            investment: 12.5,
            department: DepartmentCode::parse("chengguan").expect("code"),
            park: Some("东丽经济技术开发区".to_string()),
            lon: 117.31,
            lat: 39.1,
            signing: StageDates::default(),
            landing: StageDates::default(),
            start: StageDates::default(),
            production: StageDates::default(),
            planned_contribution: None,
            actual_contribution: None,
        }
    }

    /// A project with the four (planned, actual) pairs.
    fn staged(stages: [(Option<&str>, Option<&str>); 4]) -> ProjectFields {
        let mut p = project();
        for (stage, (planned, actual)) in Stage::ALL.into_iter().zip(stages) {
            *p.stage_mut(stage) = dates(planned, actual);
        }
        p
    }

    const TODAY: &str = "2025-06-30";

    fn check(p: &ProjectFields) -> Result<(), ProjectError> {
        validate(p, &departments(), day(TODAY))
    }

    // ---- validation

    #[test]
    fn a_plain_project_is_valid() {
        assert_eq!(check(&project()), Ok(()));
        let full = staged([
            (Some("2025-01-10"), Some("2025-01-12")),
            (Some("2025-02-01"), Some("2025-02-01")),
            (Some("2025-03-01"), Some("2025-03-05")),
            (Some("2025-06-01"), Some("2025-06-30")),
        ]);
        assert_eq!(check(&full), Ok(()));
    }

    #[test]
    fn names_investment_contributions_points_and_departments_are_checked() {
        let mut p = project();
        p.name = "  ".to_string();
        assert_eq!(check(&p), Err(ProjectError::EmptyName));
        p.name = "项".repeat(MAX_NAME_CHARS + 1);
        assert_eq!(
            check(&p),
            Err(ProjectError::NameTooLong(MAX_NAME_CHARS + 1))
        );
        let mut p = project();
        p.park = Some("园".repeat(MAX_PARK_CHARS + 1));
        assert_eq!(
            check(&p),
            Err(ProjectError::ParkTooLong(MAX_PARK_CHARS + 1))
        );
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let mut p = project();
            p.investment = bad;
            assert!(
                matches!(check(&p), Err(ProjectError::BadInvestment(_))),
                "{bad}"
            );
        }
        let mut p = project();
        p.planned_contribution = Some(-0.5);
        assert!(matches!(
            check(&p),
            Err(ProjectError::BadContribution {
                field: "planned_contribution",
                ..
            })
        ));
        p.planned_contribution = Some(0.0);
        assert_eq!(check(&p), Ok(()));
        for (lon, lat) in [(200.0, 39.0), (117.0, 91.0), (f64::NAN, 39.0)] {
            let mut p = project();
            p.lon = lon;
            p.lat = lat;
            assert!(matches!(check(&p), Err(ProjectError::BadPoint(_))));
        }
        let mut p = project();
        p.department = DepartmentCode::parse("nosuch").expect("code");
        assert!(matches!(check(&p), Err(ProjectError::UnknownDepartment(_))));
    }

    #[test]
    fn a_stage_cannot_be_reached_before_the_previous_one() {
        let p = staged([
            (None, Some("2025-01-10")),
            (None, None),
            (None, Some("2025-03-01")),
            (None, None),
        ]);
        assert_eq!(
            check(&p),
            Err(ProjectError::StageSkipped {
                stage: Stage::Start,
                previous: Stage::Landing
            })
        );
        let p = staged([
            (None, None),
            (None, Some("2025-01-10")),
            (None, None),
            (None, None),
        ]);
        assert_eq!(
            check(&p),
            Err(ProjectError::StageSkipped {
                stage: Stage::Landing,
                previous: Stage::Signing
            })
        );
    }

    #[test]
    fn actual_dates_follow_the_stage_order() {
        let p = staged([
            (None, Some("2025-02-10")),
            (None, Some("2025-02-01")),
            (None, None),
            (None, None),
        ]);
        assert_eq!(
            check(&p),
            Err(ProjectError::OutOfOrder {
                stage: Stage::Landing,
                previous: Stage::Signing,
                kind: "actual",
                date: day("2025-02-01"),
                previous_date: day("2025-02-10"),
            })
        );
        // The same day is in order.
        let p = staged([
            (None, Some("2025-02-10")),
            (None, Some("2025-02-10")),
            (None, Some("2025-02-10")),
            (None, Some("2025-02-10")),
        ]);
        assert_eq!(check(&p), Ok(()));
    }

    #[test]
    fn planned_dates_follow_the_stage_order_skipping_missing_ones() {
        let p = staged([
            (Some("2025-03-01"), None),
            (None, None),
            (Some("2025-02-01"), None),
            (None, None),
        ]);
        assert_eq!(
            check(&p),
            Err(ProjectError::OutOfOrder {
                stage: Stage::Start,
                previous: Stage::Signing,
                kind: "planned",
                date: day("2025-02-01"),
                previous_date: day("2025-03-01"),
            })
        );
        // Planned dates may lie in the future and stand without actual ones.
        let p = staged([
            (Some("2026-03-01"), None),
            (Some("2026-04-01"), None),
            (Some("2026-05-01"), None),
            (Some("2027-01-01"), None),
        ]);
        assert_eq!(check(&p), Ok(()));
    }

    #[test]
    fn actual_dates_are_not_in_the_future() {
        let p = staged([
            (None, Some("2025-07-01")),
            (None, None),
            (None, None),
            (None, None),
        ]);
        assert_eq!(
            check(&p),
            Err(ProjectError::InFuture {
                stage: Stage::Signing,
                date: day("2025-07-01"),
                today: day(TODAY)
            })
        );
    }

    #[test]
    fn dates_outside_the_plausible_years_are_refused() {
        for (planned, actual) in [
            (Some("0470-03-01"), None),
            (None, Some("1899-12-31")),
            (Some("2200-01-01"), None),
        ] {
            let p = staged([(planned, actual), (None, None), (None, None), (None, None)]);
            assert!(
                matches!(
                    check(&p),
                    Err(ProjectError::DateOutOfRange {
                        stage: Stage::Signing,
                        ..
                    })
                ),
                "{planned:?} {actual:?}"
            );
        }
        let p = staged([
            (Some("1950-01-01"), Some("1950-01-01")),
            (Some("2199-12-31"), None),
            (None, None),
            (None, None),
        ]);
        assert_eq!(check(&p), Ok(()));
    }

    #[test]
    fn an_actual_contribution_needs_production() {
        let mut p = staged([
            (None, Some("2025-01-01")),
            (None, Some("2025-01-02")),
            (None, Some("2025-01-03")),
            (None, None),
        ]);
        p.actual_contribution = Some(1.0);
        assert_eq!(check(&p), Err(ProjectError::ContributionBeforeProduction));
        p.production.actual = Some(day("2025-05-01"));
        assert_eq!(check(&p), Ok(()));
    }

    #[test]
    fn errors_are_sentences() {
        let text = ProjectError::StageSkipped {
            stage: Stage::Start,
            previous: Stage::Landing,
        }
        .to_string();
        assert!(text.contains("开工") && text.contains("落地"), "{text}");
    }

    #[test]
    fn current_stage_and_stage_before() {
        let p = staged([
            (None, Some("2025-01-01")),
            (None, Some("2025-02-01")),
            (None, None),
            (None, None),
        ]);
        assert_eq!(p.current_stage(), Some(Stage::Landing));
        assert_eq!(p.stage_before(day("2025-02-01")), Some(Stage::Signing));
        assert_eq!(p.stage_before(day("2025-01-01")), None);
        assert_eq!(project().current_stage(), None);
    }

    // ---- rates

    const FROM: &str = "2025-01-01";
    const TO: &str = "2025-07-01";

    fn total(projects: &[ProjectFields]) -> ProjectRates {
        rates(projects, day(FROM), day(TO)).expect("rates")
    }

    #[test]
    fn an_empty_period_is_refused() {
        assert!(matches!(
            rates(&[project()], day(TO), day(TO)),
            Err(PeriodError::Empty { .. })
        ));
        assert!(rates_by(&[project()], RateGrouping::Park, day(TO), day(FROM)).is_err());
    }

    #[test]
    fn no_projects_give_no_rates_not_zero() {
        let r = total(&[]);
        assert_eq!(r.projects, 0);
        for stage in Stage::ALL {
            assert_eq!(r.stage(stage).rate, None);
            assert_eq!(r.stage(stage).due, 0);
        }
        assert_eq!(r.contribution_rate, None);
    }

    #[test]
    fn signing_rate_counts_projects_due_by_the_end_still_unsigned_at_the_start() {
        let projects = [
            // Planned and signed in the period: due, reached.
            staged([
                (Some("2025-03-01"), Some("2025-03-05")),
                (None, None),
                (None, None),
                (None, None),
            ]),
            // Planned in the period, not signed: due, not reached.
            staged([
                (Some("2025-04-01"), None),
                (None, None),
                (None, None),
                (None, None),
            ]),
            // Planned last year, still unsigned: overdue, due, not reached.
            staged([
                (Some("2024-10-01"), None),
                (None, None),
                (None, None),
                (None, None),
            ]),
            // Planned last year, signed late within the period: due, reached.
            staged([
                (Some("2024-11-01"), Some("2025-02-01")),
                (None, None),
                (None, None),
                (None, None),
            ]),
            // Signed before the period: done already, not counted.
            staged([
                (Some("2024-11-01"), Some("2024-12-01")),
                (None, None),
                (None, None),
                (None, None),
            ]),
            // Planned after the period, signed in it: ahead of plan, not in the rate.
            staged([
                (Some("2025-09-01"), Some("2025-05-01")),
                (None, None),
                (None, None),
                (None, None),
            ]),
            // Planned after the period, not signed: not due.
            staged([
                (Some("2025-09-01"), None),
                (None, None),
                (None, None),
                (None, None),
            ]),
            // No planned date and unsigned: expected, due.
            staged([(None, None), (None, None), (None, None), (None, None)]),
            // Planned on `to` (exclusive): not due.
            staged([(Some(TO), None), (None, None), (None, None), (None, None)]),
            // Planned on `from` (inclusive): due.
            staged([(Some(FROM), None), (None, None), (None, None), (None, None)]),
        ];
        let r = total(&projects);
        assert_eq!(r.signing.due, 6);
        assert_eq!(r.signing.reached, 2);
        assert_eq!(r.signing.ahead, 1);
        assert_eq!(r.signing.rate, Some(2.0 / 6.0));
        assert_eq!(r.projects, 10);
        assert_eq!(r.pipeline.signed, 4);
    }

    #[test]
    fn landing_rate_is_landed_over_signed_and_waiting() {
        let projects = [
            // Signed in the period, landed in it.
            staged([
                (None, Some("2025-02-01")),
                (None, Some("2025-03-01")),
                (None, None),
                (None, None),
            ]),
            // Signed last year, landed in the period.
            staged([
                (None, Some("2024-06-01")),
                (None, Some("2025-01-01")),
                (None, None),
                (None, None),
            ]),
            // Signed in the period, waiting.
            staged([
                (None, Some("2025-05-01")),
                (Some("2025-06-01"), None),
                (None, None),
                (None, None),
            ]),
            // Signed, landing planned after the period: not due.
            staged([
                (None, Some("2025-05-01")),
                (Some("2025-12-01"), None),
                (None, None),
                (None, None),
            ]),
            // Landed before the period: not counted.
            staged([
                (None, Some("2024-05-01")),
                (None, Some("2024-06-01")),
                (None, None),
                (None, None),
            ]),
            // Not signed: cannot land yet, not counted.
            staged([
                (Some("2025-02-01"), None),
                (Some("2025-03-01"), None),
                (None, None),
                (None, None),
            ]),
        ];
        let r = total(&projects);
        assert_eq!(r.landing.due, 3);
        assert_eq!(r.landing.reached, 2);
        assert_eq!(r.landing.rate, Some(2.0 / 3.0));
        assert_eq!(r.landing.ahead, 0);
    }

    #[test]
    fn start_and_production_rates_follow_the_same_rule() {
        let projects = [
            staged([
                (None, Some("2024-01-01")),
                (None, Some("2024-02-01")),
                (None, Some("2025-02-01")),
                (None, Some("2025-06-30")),
            ]),
            staged([
                (None, Some("2024-01-01")),
                (None, Some("2024-12-31")),
                (None, None),
                (None, None),
            ]),
            staged([
                (None, Some("2024-01-01")),
                (None, Some("2024-02-01")),
                (None, Some("2024-03-01")),
                (Some("2026-01-01"), Some("2025-01-15")),
            ]),
            staged([
                (None, Some("2024-01-01")),
                (None, Some("2024-02-01")),
                (None, Some("2024-03-01")),
                (Some("2025-03-01"), None),
            ]),
        ];
        let r = total(&projects);
        assert_eq!((r.start.due, r.start.reached), (2, 1));
        assert_eq!(r.start.rate, Some(0.5));
        // Production: #1 due and reached (on the last day), #3 ahead of plan, #4 due not reached.
        assert_eq!(
            (r.production.due, r.production.reached, r.production.ahead),
            (2, 1, 1)
        );
        assert_eq!(r.production.rate, Some(0.5));
        assert_eq!(
            r.pipeline,
            Pipeline {
                registered: 4,
                signed: 4,
                landed: 4,
                started: 3,
                producing: 2
            }
        );
    }

    #[test]
    fn a_stage_reached_on_the_last_day_or_after_the_period() {
        // Reached on `to` itself: outside the period, due and not reached.
        let p = staged([
            (Some("2025-06-01"), Some(TO)),
            (None, None),
            (None, None),
            (None, None),
        ]);
        let r = rates(&[p], day(FROM), day("2025-07-02")).expect("rates");
        assert_eq!((r.signing.due, r.signing.reached), (1, 1));
        let p = staged([
            (Some("2025-06-01"), Some(TO)),
            (None, None),
            (None, None),
            (None, None),
        ]);
        let r = total(&[p]);
        assert_eq!((r.signing.due, r.signing.reached), (1, 0));
        assert_eq!(r.signing.rate, Some(0.0));
    }

    #[test]
    fn contribution_rate_is_actual_over_planned_of_producing_projects() {
        let producing = |planned: Option<f64>, actual: Option<f64>, on: &str| {
            let mut p = staged([
                (None, Some("2024-01-01")),
                (None, Some("2024-01-02")),
                (None, Some("2024-01-03")),
                (None, Some(on)),
            ]);
            p.planned_contribution = planned;
            p.actual_contribution = actual;
            p
        };
        let projects = [
            producing(Some(10.0), Some(8.0), "2024-06-01"),
            producing(Some(5.0), Some(6.0), "2025-03-01"),
            // Unreported: counts 0 in the numerator.
            producing(Some(5.0), None, "2025-03-01"),
            // Nothing planned: left out.
            producing(None, Some(3.0), "2025-03-01"),
            producing(Some(0.0), Some(3.0), "2025-03-01"),
            // In production only after the period: left out.
            producing(Some(7.0), Some(7.0), "2025-07-01"),
        ];
        let r = total(&projects);
        assert_eq!(r.contributing, 3);
        assert_eq!(r.contribution_unreported, 1);
        assert_eq!(r.planned_contribution, 20.0);
        assert_eq!(r.actual_contribution, 14.0);
        assert_eq!(r.contribution_rate, Some(0.7));
        // Above 100% is possible and kept.
        let r = total(&[producing(Some(2.0), Some(3.0), "2025-01-01")]);
        assert_eq!(r.contribution_rate, Some(1.5));
        // No producing project: no rate.
        let r = total(&[project()]);
        assert_eq!(r.contribution_rate, None);
    }

    #[test]
    fn groups_by_department_and_park_add_up_to_the_total() {
        let mut a = staged([
            (Some("2025-02-01"), Some("2025-02-01")),
            (None, None),
            (None, None),
            (None, None),
        ]);
        let mut b = staged([
            (Some("2025-02-01"), None),
            (None, None),
            (None, None),
            (None, None),
        ]);
        let mut c = staged([
            (Some("2025-02-01"), Some("2025-03-01")),
            (None, None),
            (None, None),
            (None, None),
        ]);
        a.department = DepartmentCode::parse("zhujian").expect("code");
        b.park = None;
        c.park = Some("  ".to_string());
        a.investment = 1.0;
        b.investment = 2.0;
        c.investment = 4.0;
        let projects = [a, b, c];
        let by_department =
            rates_by(&projects, RateGrouping::Department, day(FROM), day(TO)).expect("rates");
        let keys: Vec<&str> = by_department.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["chengguan", "zhujian"]);
        assert_eq!(by_department[0].signing.rate, Some(0.5));
        assert_eq!(by_department[1].signing.rate, Some(1.0));
        assert_eq!(by_department[0].investment, 6.0);
        let by_park = rates_by(&projects, RateGrouping::Park, day(FROM), day(TO)).expect("rates");
        let keys: Vec<&str> = by_park.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["none", "东丽经济技术开发区"]);
        assert_eq!(by_park[0].projects, 2);
        let all = total(&projects);
        let due: u64 = by_park.iter().map(|r| r.signing.due).sum();
        assert_eq!(due, all.signing.due);
        assert_eq!(all.signing.rate, Some(2.0 / 3.0));
        assert_eq!(RateGrouping::parse("park"), Some(RateGrouping::Park));
        assert_eq!(RateGrouping::parse("street"), None);
        assert_eq!(RateGrouping::Department.as_str(), "department");
    }

    #[test]
    fn the_change_record_names_what_changed_and_chains() {
        let before = project();
        let mut after = before.clone();
        after.landing.planned = Some(day("2025-05-01"));
        after.investment = 13.0;
        let changed = changes(&before, &after);
        let fields: Vec<&str> = changed.iter().map(|(f, _, _)| f.as_str()).collect();
        assert_eq!(fields, ["investment", "landing.planned"]);
        assert!(changes(&before, &before).is_empty());
        let first = event_hash("", "{}");
        assert_eq!(first.len(), 64);
        assert_ne!(event_hash(&first, "{}"), first);
        assert_eq!(event_hash("", "{}"), first);
    }
}
