//! KPI endpoints (考核统计): the KPI table, its trend over time and the Excel workbook of both.
//!
//! Every figure comes from `onegrid_core::kpi::compute` over the case histories the caller may
//! read (`docs/kpis.md` gives every formula). A request fetches the histories of its window once and
//! filters them by visibility once; the trend then hands each bucket only the histories reported in
//! it, so each history is read once per computation it belongs to.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use onegrid_core::calendar::TIMEZONE;
use onegrid_core::kpi::{compute, KpiGrouping, KpiRow};
use onegrid_core::{AreaCode, DepartmentCode, Event, Reference, Role, WorkflowError};
use rust_xlsxwriter::{
    Color, ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiQuery};
use crate::excel::excel_date_time;
use crate::policy::require_role;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/kpis", get(kpis))
        .route("/api/kpis/trend", get(trend))
        .route("/api/kpis/export.xlsx", get(export))
}

/// Who may read KPIs: staff who supervise work.
const KPI_ROLES: [Role; 4] = [
    Role::Commander,
    Role::Supervisor,
    Role::Dispatcher,
    Role::DepartmentHandler,
];

/// The longest window, in days.
const MAX_DAYS: i64 = 3660;

const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

// ---------------------------------------------------------------- parameters

fn grouping(by: Option<&str>, default: KpiGrouping) -> Result<KpiGrouping, ApiError> {
    match by {
        None => Ok(default),
        Some(by) => KpiGrouping::parse(by).ok_or_else(|| {
            ApiError::bad_request(format!(
                "by: {by:?} is not one of: district, street, community, cell, department"
            ))
        }),
    }
}

fn window_days(days: Option<i64>) -> Result<i64, ApiError> {
    let days = days.unwrap_or(30);
    if (1..=MAX_DAYS).contains(&days) {
        Ok(days)
    } else {
        Err(ApiError::bad_request(format!(
            "days: give 1 to {MAX_DAYS} days"
        )))
    }
}

fn grouping_name(grouping: KpiGrouping) -> &'static str {
    match grouping {
        KpiGrouping::District => "district",
        KpiGrouping::Street => "street",
        KpiGrouping::Community => "community",
        KpiGrouping::Cell => "cell",
        KpiGrouping::Department => "department",
    }
}

fn grouping_zh(grouping: KpiGrouping) -> &'static str {
    match grouping {
        KpiGrouping::District => "区",
        KpiGrouping::Street => "街道",
        KpiGrouping::Community => "社区",
        KpiGrouping::Cell => "网格",
        KpiGrouping::Department => "部门",
    }
}

/// The length of a trend bucket. Buckets follow the calendar of Asia/Shanghai: a day starts at
/// 00:00, a week on Monday at 00:00 (China time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Day,
    Week,
}

impl Interval {
    fn parse(text: Option<&str>, name: &str) -> Result<Interval, ApiError> {
        match text {
            None | Some("day") => Ok(Interval::Day),
            Some("week") => Ok(Interval::Week),
            Some(other) => Err(ApiError::bad_request(format!(
                "{name}: {other:?} is not one of: day, week"
            ))),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Interval::Day => "day",
            Interval::Week => "week",
        }
    }

    fn zh(self) -> &'static str {
        match self {
            Interval::Day => "按日",
            Interval::Week => "按周（周一起）",
        }
    }
}

/// When the cases of a trend bucket are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {
    /// At the end of the window, like `/api/kpis`: every count of the buckets adds up to the
    /// window's, and recent buckets show the cases still being handled.
    Window,
    /// At the end of each bucket: what the figures were when the bucket ended; a past point never
    /// changes.
    Bucket,
}

impl AsOf {
    fn parse(text: Option<&str>) -> Result<AsOf, ApiError> {
        match text {
            None | Some("window") => Ok(AsOf::Window),
            Some("bucket") => Ok(AsOf::Bucket),
            Some(other) => Err(ApiError::bad_request(format!(
                "as_of: {other:?} is not one of: window, bucket"
            ))),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            AsOf::Window => "window",
            AsOf::Bucket => "bucket",
        }
    }
}

// ---------------------------------------------------------------- the window

/// The histories of the cases reported in `[from, to)` that the caller may read, ordered by the
/// time of their report (their first event).
struct Window {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    days: i64,
    histories: Vec<Vec<Event>>,
}

fn reported_at(events: &[Event]) -> DateTime<Utc> {
    events.first().map_or(DateTime::<Utc>::MIN_UTC, |e| e.at)
}

impl Window {
    /// One fetch of the histories and one visibility filter, for every figure of a request.
    async fn load(state: &AppState, caller: &Caller, days: i64) -> Result<Window, ApiError> {
        let to = state.clock.now();
        let from = to - Duration::days(days);
        let mut histories = state.store.histories(from, to).await?;
        let actor = caller.actor();
        // Only the cases the caller may read count towards their figures.
        histories.retain(|events| {
            events
                .first()
                .and_then(|first| onegrid_core::history::replay(first.case_id, events).ok())
                .is_some_and(|case| crate::policy::may_read_case(&actor, &case))
        });
        histories.sort_by_key(|events| reported_at(events));
        Ok(Window {
            from,
            to,
            days,
            histories,
        })
    }

    /// The histories whose report is in `[start, end)`.
    fn reported_in(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> &[Vec<Event>] {
        let lo = self
            .histories
            .partition_point(|events| reported_at(events) < start);
        let hi = self
            .histories
            .partition_point(|events| reported_at(events) < end);
        &self.histories[lo..hi.max(lo)]
    }

    /// `compute` over the histories reported in `[start, end)`, read as of `as_of`. The population
    /// is cut here, from the ordered histories, so that `compute` reads only the cases of the
    /// bucket; its own window is then `[start, as_of)`, which holds them all.
    fn compute(
        &self,
        reference: &Reference,
        grouping: KpiGrouping,
        (start, end): (DateTime<Utc>, DateTime<Utc>),
        as_of: DateTime<Utc>,
    ) -> Result<Vec<KpiRow>, ApiError> {
        let histories = self.reported_in(start, end).iter().map(Vec::as_slice);
        compute(&reference.calendar, histories, grouping, start, as_of)
            .map_err(|e| ApiError::from(WorkflowError::from(e)))
    }

    /// The rows of the whole window.
    fn rows(&self, reference: &Reference, grouping: KpiGrouping) -> Result<Vec<KpiRow>, ApiError> {
        self.compute(reference, grouping, (self.from, self.to), self.to)
    }

    /// The trend's rows: for each bucket, `compute` over the cases reported in it, read as of the
    /// end of the window or of the bucket. Each history is read once.
    fn trend(
        &self,
        reference: &Reference,
        grouping: KpiGrouping,
        interval: Interval,
        as_of: AsOf,
    ) -> Result<Vec<Bucket>, ApiError> {
        buckets(self.from, self.to, interval)
            .into_iter()
            .map(|bounds| {
                let moment = match as_of {
                    AsOf::Window => self.to,
                    AsOf::Bucket => bounds.1,
                };
                Ok(Bucket {
                    start: bounds.0,
                    end: bounds.1,
                    rows: self.compute(reference, grouping, bounds, moment)?,
                })
            })
            .collect()
    }
}

/// One bucket of the trend with its rows.
struct Bucket {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    rows: Vec<KpiRow>,
}

impl Bucket {
    fn point(&self, reference: &Reference, grouping: KpiGrouping) -> TrendPoint {
        TrendPoint {
            start: self.start,
            end: self.end,
            label: local(self.start).date().format("%Y-%m-%d").to_string(),
            figures: TrendFigures::of(&total(&self.rows)),
            groups: self
                .rows
                .iter()
                .map(|row| TrendGroup {
                    key: row.key.clone(),
                    name: group_name(reference, grouping, &row.key),
                    figures: TrendFigures::of(row),
                })
                .collect(),
        }
    }
}

/// Shanghai wall-clock time of an instant.
fn local(instant: DateTime<Utc>) -> NaiveDateTime {
    instant.with_timezone(&TIMEZONE).naive_local()
}

/// The instant of a Shanghai wall-clock time (Shanghai has had no DST since 1991: every local time
/// exists once).
fn instant(local: NaiveDateTime) -> Option<DateTime<Utc>> {
    TIMEZONE
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// The bucket bounds that cut `[from, to)` at each Shanghai midnight (day) or Monday midnight
/// (week). The first and last buckets may be partial, so that the buckets cover the window exactly.
fn buckets(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    interval: Interval,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut bounds = Vec::new();
    let mut start = from;
    while start < to {
        let date: NaiveDate = local(start).date();
        let step = match interval {
            Interval::Day => 1,
            Interval::Week => 7 - i64::from(date.weekday().num_days_from_monday()),
        };
        let next = (date + Duration::days(step))
            .and_hms_opt(0, 0, 0)
            .and_then(instant)
            .unwrap_or(to);
        let end = next.min(to).max(start + Duration::seconds(1));
        bounds.push((start, end));
        start = end;
    }
    bounds
}

/// All rows together: the counts summed, the rates derived from the sums with the formulas of
/// `KpiRow::finish` (`docs/kpis.md` §5). Every counted case is in exactly one row of any grouping, so
/// the sum of the rows of any grouping is the same: the whole window.
fn total(rows: &[KpiRow]) -> KpiRow {
    if let [only] = rows {
        return KpiRow {
            key: "total".to_string(),
            ..only.clone()
        };
    }
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
    let ratio = |n: u64, d: u64| (d > 0).then(|| n as f64 / d as f64);
    sum.on_time_handling_rate = ratio(sum.handled_on_time, sum.handled);
    sum.closure_rate = ratio(sum.closed, sum.accepted);
    sum.rework_rate = ratio(sum.reworked, sum.verified);
    sum.mean_handling_hours =
        (sum.handled > 0).then(|| sum.handling_minutes as f64 / 60.0 / sum.handled as f64);
    sum.response_rate = ratio(sum.responded_on_time, sum.reported);
    sum.solution_rate = ratio(sum.solved, sum.rated);
    sum.satisfaction_rate = ratio(sum.satisfied, sum.rated);
    sum
}

/// The name of a group: the area's or the department's, `None` for `grid` and `unassigned` and for
/// codes no longer in the reference data.
fn group_name(reference: &Reference, grouping: KpiGrouping, key: &str) -> Option<String> {
    match grouping {
        KpiGrouping::Department => DepartmentCode::parse(key)
            .ok()
            .and_then(|c| reference.departments.get(&c).map(|d| d.name.clone())),
        _ => AreaCode::parse(key)
            .ok()
            .and_then(|c| reference.areas.get(&c).map(|a| a.name.clone())),
    }
}

/// The name shown in the workbook: as `group_name`, with the department keys that are not
/// departments spelled out.
fn group_label(reference: &Reference, grouping: KpiGrouping, key: &str) -> String {
    group_name(reference, grouping, key).unwrap_or_else(|| match (grouping, key) {
        (KpiGrouping::Department, "grid") => "网格自处置".to_string(),
        (KpiGrouping::Department, "unassigned") => "未派遣".to_string(),
        _ => key.to_string(),
    })
}

// ---------------------------------------------------------------- GET /api/kpis

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct KpiQuery {
    /// district, street, community, cell or department (default street).
    pub by: Option<String>,
    /// The window: cases reported in the last N days (default 30, at most 3660).
    pub days: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KpiRowView {
    pub key: String,
    pub name: Option<String>,
    #[schema(value_type = Object)]
    pub figures: KpiRow,
}

/// KPIs (docs/kpis.md gives every formula), computed from the case histories of the window, for the
/// command center and supervisors (everything in their area), dispatchers (their areas) and
/// department handlers (their department).
#[utoipa::path(get, path = "/api/kpis", tag = "kpis", security(("bearer" = [])), params(KpiQuery),
    responses((status = 200, body = Vec<KpiRowView>), (status = 403, body = crate::error::Problem)))]
pub async fn kpis(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<KpiQuery>,
) -> Result<ApiJson<Vec<KpiRowView>>, ApiError> {
    require_role(&caller, &KPI_ROLES, "read KPIs")?;
    let grouping = grouping(query.by.as_deref(), KpiGrouping::Street)?;
    let days = window_days(query.days)?;
    let window = Window::load(&state, &caller, days).await?;
    let reference = state.store.reference();
    let rows = window.rows(&reference, grouping)?;
    Ok(ApiJson(
        rows.into_iter()
            .map(|row| KpiRowView {
                name: group_name(&reference, grouping, &row.key),
                key: row.key.clone(),
                figures: row,
            })
            .collect(),
    ))
}

// ---------------------------------------------------------------- GET /api/kpis/trend

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TrendQuery {
    /// The window: cases reported in the last N days (default 30, at most 3660).
    pub days: Option<i64>,
    /// The bucket: day (default) or week (Monday to Sunday), in China time (Asia/Shanghai).
    pub interval: Option<String>,
    /// How each point is broken down in `groups`: district (default), street, community, cell or
    /// department.
    pub by: Option<String>,
    /// When each bucket's cases are read: `window` (default), at the end of the window like
    /// `/api/kpis`, so that every count of the buckets adds up to the window's; or `bucket`, at the
    /// end of each bucket, so that a past point never changes.
    pub as_of: Option<String>,
}

/// The figures of a trend point (or of one group in it).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrendFigures {
    /// Cases reported in the bucket (merged duplicates excluded).
    pub reported: u64,
    /// Of them, accepted and closed (as of the end of the window, or of the bucket).
    pub closed: u64,
    /// Of them, overdue (as of the end of the window, or of the bucket).
    pub overdue: u64,
    pub on_time_handling_rate: Option<f64>,
    pub closure_rate: Option<f64>,
    pub satisfaction_rate: Option<f64>,
}

impl TrendFigures {
    fn of(row: &KpiRow) -> TrendFigures {
        TrendFigures {
            reported: row.reported,
            closed: row.closed,
            overdue: row.overdue,
            on_time_handling_rate: row.on_time_handling_rate,
            closure_rate: row.closure_rate,
            satisfaction_rate: row.satisfaction_rate,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrendGroup {
    pub key: String,
    pub name: Option<String>,
    #[serde(flatten)]
    pub figures: TrendFigures,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrendPoint {
    /// The bucket `[start, end)`.
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The China date (YYYY-MM-DD) the bucket starts on.
    pub label: String,
    /// All groups together.
    #[serde(flatten)]
    pub figures: TrendFigures,
    /// The groups with cases reported in the bucket, by key.
    pub groups: Vec<TrendGroup>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KpiTrend {
    /// The window `[from, to)`.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub days: i64,
    /// day or week.
    pub interval: String,
    /// The grouping of each point's `groups`.
    pub by: String,
    /// window or bucket: when each bucket's cases are read.
    pub as_of: String,
    /// The time zone of the buckets' calendar.
    pub time_zone: String,
    /// The whole window, as of `to`, all groups together: the sum of the rows of `/api/kpis` for the
    /// same window.
    #[schema(value_type = Object)]
    pub total: KpiRow,
    /// One point per bucket, oldest first.
    pub points: Vec<TrendPoint>,
}

/// The KPIs over time: one point per day or week of the window (China time; the first and last
/// buckets may be partial, so that the buckets cover the window exactly). Each point counts the
/// cases reported in its bucket, read as of the end of the window (default: the counts of the
/// buckets add up to the window's) or of the bucket (`as_of=bucket`). The same access rules as
/// `/api/kpis`.
#[utoipa::path(get, path = "/api/kpis/trend", tag = "kpis", security(("bearer" = [])),
    params(TrendQuery),
    responses((status = 200, body = KpiTrend), (status = 400, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem)))]
pub async fn trend(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<TrendQuery>,
) -> Result<ApiJson<KpiTrend>, ApiError> {
    require_role(&caller, &KPI_ROLES, "read KPIs")?;
    let grouping = grouping(query.by.as_deref(), KpiGrouping::District)?;
    let interval = Interval::parse(query.interval.as_deref(), "interval")?;
    let as_of = AsOf::parse(query.as_of.as_deref())?;
    let days = window_days(query.days)?;
    let window = Window::load(&state, &caller, days).await?;
    let reference = state.store.reference();
    let buckets = window.trend(&reference, grouping, interval, as_of)?;
    let total = match as_of {
        // Read as of the window's end, the buckets' rows are the window's cases: no second pass.
        AsOf::Window => total(
            &buckets
                .iter()
                .flat_map(|b| b.rows.iter().cloned())
                .collect::<Vec<_>>(),
        ),
        AsOf::Bucket => total(&window.rows(&reference, grouping)?),
    };
    Ok(ApiJson(KpiTrend {
        from: window.from,
        to: window.to,
        days,
        interval: interval.as_str().to_string(),
        by: grouping_name(grouping).to_string(),
        as_of: as_of.as_str().to_string(),
        time_zone: TIMEZONE.name().to_string(),
        total,
        points: buckets
            .iter()
            .map(|b| b.point(&reference, grouping))
            .collect(),
    }))
}

// ---------------------------------------------------------------- GET /api/kpis/export.xlsx

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// district, street, community, cell or department (default street).
    pub by: Option<String>,
    /// The window: cases reported in the last N days (default 30, at most 3660).
    pub days: Option<i64>,
    /// The trend's bucket: day (default) or week.
    pub trend: Option<String>,
}

/// The KPIs as an Excel workbook: 「考核指标」 (one row per group, as `/api/kpis`, and the total),
/// 「趋势」 (as `/api/kpis/trend`) and 「说明」 (the window, the grouping, who exported it and when,
/// and the formulas). The same access rules as `/api/kpis`.
#[utoipa::path(get, path = "/api/kpis/export.xlsx", tag = "kpis", security(("bearer" = [])),
    params(ExportQuery),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            description = "the workbook, as an attachment"),
        (status = 400, body = crate::error::Problem), (status = 403, body = crate::error::Problem)))]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    require_role(&caller, &KPI_ROLES, "read KPIs")?;
    let grouping = grouping(query.by.as_deref(), KpiGrouping::Street)?;
    let interval = Interval::parse(query.trend.as_deref(), "trend")?;
    let days = window_days(query.days)?;
    let window = Window::load(&state, &caller, days).await?;
    let reference = state.store.reference();
    let rows = window.rows(&reference, grouping)?;
    let points: Vec<TrendPoint> = window
        .trend(&reference, grouping, interval, AsOf::Window)?
        .iter()
        .map(|b| b.point(&reference, grouping))
        .collect();
    let export = Export {
        reference: &reference,
        window: &window,
        grouping,
        interval,
        rows: &rows,
        points: &points,
        caller: &caller,
        at: state.clock.now(),
    };
    let bytes = export.workbook().map_err(ApiError::internal)?;
    let filename = format!(
        "onegrid-kpi-{}-{}d-{}.xlsx",
        grouping_name(grouping),
        days,
        local(export.at).format("%Y%m%d")
    );
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
        .map_err(ApiError::internal)?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(XLSX_TYPE)),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        bytes,
    )
        .into_response())
}

/// A cell of the KPI sheet.
enum Figure {
    Count(f64),
    Rate(Option<f64>),
    Hours(Option<f64>),
}

type Column = (&'static str, fn(&KpiRow) -> Figure);

/// Every count and rate of `KpiRow`, in the order of `docs/kpis.md` §4 and §5.
const KPI_COLUMNS: [Column; 20] = [
    ("上报数", |r| Figure::Count(r.reported as f64)),
    ("按期响应数", |r| {
        Figure::Count(r.responded_on_time as f64)
    }),
    ("立案数", |r| Figure::Count(r.accepted as f64)),
    ("结案数", |r| Figure::Count(r.closed as f64)),
    ("处置数", |r| Figure::Count(r.handled as f64)),
    ("按期处置数", |r| {
        Figure::Count(r.handled_on_time as f64)
    }),
    ("核查数", |r| Figure::Count(r.verified as f64)),
    ("返工数", |r| Figure::Count(r.reworked as f64)),
    ("超期数", |r| Figure::Count(r.overdue as f64)),
    ("处置工时（工作分钟）", |r| {
        Figure::Count(r.handling_minutes as f64)
    }),
    ("评价数", |r| Figure::Count(r.rated as f64)),
    ("解决数（3–5分）", |r| {
        Figure::Count(r.solved as f64)
    }),
    ("满意数（4–5分）", |r| {
        Figure::Count(r.satisfied as f64)
    }),
    ("按期处置率", |r| Figure::Rate(r.on_time_handling_rate)),
    ("结案率", |r| Figure::Rate(r.closure_rate)),
    ("返工率", |r| Figure::Rate(r.rework_rate)),
    ("平均处置时长（工作小时）", |r| {
        Figure::Hours(r.mean_handling_hours)
    }),
    ("响应率", |r| Figure::Rate(r.response_rate)),
    ("解决率", |r| Figure::Rate(r.solution_rate)),
    ("满意率", |r| Figure::Rate(r.satisfaction_rate)),
];

/// The formulas, as `docs/kpis.md` §5 states them.
const FORMULAS: [(&str, &str, &str); 8] = [
    (
        "按期处置率",
        "on_time_handling_rate",
        "按期处置数 ÷ 处置数（每次处置反馈都不晚于当时的处置时限，含批准的延期）",
    ),
    (
        "结案率",
        "closure_rate",
        "结案数 ÷ 立案数（立案含网格自处置；不予立案的不计入分母）",
    ),
    (
        "返工率",
        "rework_rate",
        "返工数 ÷ 核查数（核查未通过至少一次）",
    ),
    (
        "超期",
        "overdue",
        "窗口结束时未办结、当前环节已过时限的案件数（挂账案件不计）",
    ),
    (
        "平均处置时长",
        "mean_handling_hours",
        "处置工时（工作分钟）÷ 60 ÷ 处置数，按工作时间日历计",
    ),
    (
        "响应率",
        "response_rate",
        "按期响应数 ÷ 上报数（首次受理、不予立案或自处置不晚于受理时限）",
    ),
    ("解决率", "solution_rate", "解决数（评价 3–5 分）÷ 评价数"),
    (
        "满意率",
        "satisfaction_rate",
        "满意数（评价 4–5 分）÷ 评价数",
    ),
];

/// What the workbook shows.
struct Export<'a> {
    reference: &'a Reference,
    window: &'a Window,
    grouping: KpiGrouping,
    interval: Interval,
    rows: &'a [KpiRow],
    points: &'a [TrendPoint],
    caller: &'a Caller,
    at: DateTime<Utc>,
}

/// The formats of the workbook.
struct Formats {
    header: Format,
    text: Format,
    count: Format,
    rate: Format,
    hours: Format,
    none: Format,
    time: Format,
    total_text: Format,
    total_count: Format,
    total_rate: Format,
    total_hours: Format,
    total_none: Format,
    title: Format,
    key: Format,
    wrap: Format,
}

impl Formats {
    fn new() -> Formats {
        let header = Format::new()
            .set_bold()
            .set_background_color(Color::RGB(0x0B4F8A))
            .set_font_color(Color::White)
            .set_align(FormatAlign::Center)
            .set_align(FormatAlign::VerticalCenter)
            .set_border_bottom(FormatBorder::Thin);
        let total = Format::new()
            .set_bold()
            .set_background_color(Color::RGB(0xE3EEFA))
            .set_border_top(FormatBorder::Thin);
        Formats {
            header,
            text: Format::new(),
            count: Format::new().set_num_format("#,##0"),
            rate: Format::new().set_num_format("0.0%"),
            hours: Format::new().set_num_format("0.0"),
            none: Format::new().set_align(FormatAlign::Right),
            time: Format::new().set_num_format("yyyy-mm-dd hh:mm"),
            total_text: total.clone(),
            total_count: total.clone().set_num_format("#,##0"),
            total_rate: total.clone().set_num_format("0.0%"),
            total_hours: total.clone().set_num_format("0.0"),
            total_none: total.set_align(FormatAlign::Right),
            title: Format::new().set_bold().set_font_size(14),
            key: Format::new().set_bold().set_align(FormatAlign::Top),
            wrap: Format::new().set_text_wrap().set_align(FormatAlign::Top),
        }
    }
}

/// The width of a text in Excel's character units, counting CJK and other wide characters as two
/// (rust_xlsxwriter's own autofit counts them as one, and sizes numbers by their unformatted digits).
fn text_width(text: &str) -> f64 {
    text.chars()
        .map(|c| if (c as u32) < 0x1100 { 1.0 } else { 2.0 })
        .sum()
}

/// Fits column widths to the widest text written in each column (as it is displayed).
#[derive(Default)]
struct Widths(BTreeMap<u16, f64>);

impl Widths {
    fn see(&mut self, column: u16, text: &str) {
        let width = text_width(text);
        let entry = self.0.entry(column).or_insert(0.0);
        *entry = entry.max(width);
    }

    fn apply(&self, sheet: &mut Worksheet, max: f64) -> Result<(), XlsxError> {
        for (&column, &width) in &self.0 {
            sheet.set_column_width(column, (width + 2.0).clamp(6.0, max))?;
        }
        Ok(())
    }
}

/// A count as Excel shows it with `#,##0`.
fn count_text(n: f64) -> String {
    let digits = format!("{n:.0}");
    let mut text = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 && c.is_ascii_digit() {
            text.push(',');
        }
        text.push(c);
    }
    text
}

fn rate_text(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

/// A Shanghai wall-clock time as an Excel date-time.
fn excel_time(at: DateTime<Utc>) -> Result<ExcelDateTime, XlsxError> {
    excel_date_time(local(at))
}

fn shanghai_text(at: DateTime<Utc>) -> String {
    local(at).format("%Y-%m-%d %H:%M").to_string()
}

impl Export<'_> {
    fn workbook(&self) -> Result<Vec<u8>, XlsxError> {
        let formats = Formats::new();
        let mut workbook = Workbook::new();
        workbook.set_properties(
            &rust_xlsxwriter::DocProperties::new()
                .set_title("onegrid 考核指标")
                .set_author(format!("onegrid · {}", self.caller.person.name))
                .set_comment("docs/kpis.md"),
        );
        self.kpi_sheet(workbook.add_worksheet(), &formats)?;
        self.trend_sheet(workbook.add_worksheet(), &formats)?;
        self.notes_sheet(workbook.add_worksheet(), &formats)?;
        workbook.save_to_buffer()
    }

    fn kpi_sheet(&self, sheet: &mut Worksheet, f: &Formats) -> Result<(), XlsxError> {
        sheet.set_name("考核指标")?;
        let mut widths = Widths::default();
        let name_header = format!("{}名称", grouping_zh(self.grouping));
        let headers = [name_header.as_str(), "代码"]
            .into_iter()
            .chain(KPI_COLUMNS.iter().map(|(header, _)| *header));
        for (column, header) in (0u16..).zip(headers) {
            sheet.write_string_with_format(0, column, header, &f.header)?;
            widths.see(column, header);
        }
        sheet.set_row_height(0, 22)?;
        let mut row_index = 1u32;
        for row in self.rows {
            let name = group_label(self.reference, self.grouping, &row.key);
            self.kpi_row(
                sheet,
                &mut widths,
                row_index,
                &name,
                &row.key,
                row,
                false,
                f,
            )?;
            row_index += 1;
        }
        let last_data_row = row_index - 1;
        let total = total(self.rows);
        self.kpi_row(sheet, &mut widths, row_index, "合计", "", &total, true, f)?;
        if last_data_row >= 1 {
            sheet.autofilter(0, 0, last_data_row, 1 + KPI_COLUMNS.len() as u16)?;
        }
        sheet.set_freeze_panes(1, 1)?;
        widths.apply(sheet, 40.0)?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn kpi_row(
        &self,
        sheet: &mut Worksheet,
        widths: &mut Widths,
        at: u32,
        name: &str,
        key: &str,
        row: &KpiRow,
        is_total: bool,
        f: &Formats,
    ) -> Result<(), XlsxError> {
        let pick = |plain: &Format, total: &Format| {
            if is_total {
                total.clone()
            } else {
                plain.clone()
            }
        };
        let text = pick(&f.text, &f.total_text);
        sheet.write_string_with_format(at, 0, name, &text)?;
        widths.see(0, name);
        sheet.write_string_with_format(at, 1, key, &text)?;
        widths.see(1, key);
        for (column, (_, value)) in (2u16..).zip(KPI_COLUMNS.iter()) {
            let shown = match value(row) {
                Figure::Count(n) => {
                    sheet.write_number_with_format(
                        at,
                        column,
                        n,
                        &pick(&f.count, &f.total_count),
                    )?;
                    count_text(n)
                }
                Figure::Rate(Some(r)) => {
                    sheet.write_number_with_format(at, column, r, &pick(&f.rate, &f.total_rate))?;
                    rate_text(r)
                }
                Figure::Hours(Some(h)) => {
                    sheet.write_number_with_format(
                        at,
                        column,
                        h,
                        &pick(&f.hours, &f.total_hours),
                    )?;
                    format!("{h:.1}")
                }
                Figure::Rate(None) | Figure::Hours(None) => {
                    sheet.write_string_with_format(
                        at,
                        column,
                        "—",
                        &pick(&f.none, &f.total_none),
                    )?;
                    "—".to_string()
                }
            };
            widths.see(column, &shown);
        }
        Ok(())
    }

    fn trend_sheet(&self, sheet: &mut Worksheet, f: &Formats) -> Result<(), XlsxError> {
        sheet.set_name("趋势")?;
        let mut widths = Widths::default();
        let headers = [
            "时段开始",
            "时段结束",
            "上报数",
            "结案数",
            "超期数",
            "按期处置率",
            "结案率",
            "满意率",
        ];
        for (column, header) in (0u16..).zip(headers) {
            sheet.write_string_with_format(0, column, header, &f.header)?;
            widths.see(column, header);
        }
        sheet.set_row_height(0, 22)?;
        for (row, point) in (1u32..).zip(self.points) {
            sheet.write_datetime_with_format(row, 0, excel_time(point.start)?, &f.time)?;
            sheet.write_datetime_with_format(row, 1, excel_time(point.end)?, &f.time)?;
            widths.see(0, &shanghai_text(point.start));
            widths.see(1, &shanghai_text(point.end));
            let figures = &point.figures;
            for (column, n) in [
                (2u16, figures.reported),
                (3, figures.closed),
                (4, figures.overdue),
            ] {
                sheet.write_number_with_format(row, column, n as f64, &f.count)?;
                widths.see(column, &n.to_string());
            }
            let rates = [
                figures.on_time_handling_rate,
                figures.closure_rate,
                figures.satisfaction_rate,
            ];
            for (column, rate) in (5u16..).zip(rates) {
                match rate {
                    Some(r) => {
                        sheet.write_number_with_format(row, column, r, &f.rate)?;
                        widths.see(column, &rate_text(r));
                    }
                    None => {
                        sheet.write_string_with_format(row, column, "—", &f.none)?;
                    }
                }
            }
        }
        sheet.set_freeze_panes(1, 0)?;
        widths.apply(sheet, 30.0)?;
        Ok(())
    }

    fn notes_sheet(&self, sheet: &mut Worksheet, f: &Formats) -> Result<(), XlsxError> {
        sheet.set_name("说明")?;
        let person = &self.caller.person;
        sheet.write_string_with_format(0, 0, "onegrid 考核指标导出说明", &f.title)?;
        let facts = [
            (
                "统计窗口",
                format!(
                    "{} 至 {}（北京时间，含起点不含终点，共 {} 天）",
                    shanghai_text(self.window.from),
                    shanghai_text(self.window.to),
                    self.window.days
                ),
            ),
            (
                "分组",
                format!(
                    "按{}（{}）",
                    grouping_zh(self.grouping),
                    grouping_name(self.grouping)
                ),
            ),
            (
                "趋势时段",
                format!("{}（{}），北京时间", self.interval.zh(), self.interval.as_str()),
            ),
            (
                "导出人",
                format!("{}（{}，{}）", person.name, person.id, person.role.name_zh()),
            ),
            (
                "导出时间",
                format!(
                    "{}（北京时间）",
                    local(self.at).format("%Y-%m-%d %H:%M:%S")
                ),
            ),
            (
                "统计范围",
                "仅包括导出人有权查看的案件；合并到其他案件的重复案件不计。".to_string(),
            ),
            (
                "统计口径",
                "按上报时间统计：「考核指标」统计窗口内上报的案件，按窗口结束时的状态计算；「趋势」的每个时段统计该时段内上报的案件，同样按窗口结束时的状态计算，各时段的件数相加等于窗口合计。".to_string(),
            ),
            (
                "数据来源",
                "全部指标只由案件的哈希链事件历史计算，可逐案审计（onegrid verify、onegrid case show）。".to_string(),
            ),
        ];
        let mut row = 2u32;
        for (key, value) in &facts {
            sheet.write_string_with_format(row, 0, *key, &f.key)?;
            sheet.write_string_with_format(row, 1, value, &f.wrap)?;
            row += 1;
        }
        row += 1;
        sheet.write_string_with_format(row, 0, "指标公式（docs/kpis.md §5）", &f.title)?;
        row += 1;
        for (column, header) in (0u16..).zip(["指标", "字段", "公式"]) {
            sheet.write_string_with_format(row, column, header, &f.header)?;
        }
        row += 1;
        for (name, field, formula) in FORMULAS {
            sheet.write_string_with_format(row, 0, name, &f.key)?;
            sheet.write_string_with_format(row, 1, field, &f.text)?;
            sheet.write_string_with_format(row, 2, formula, &f.wrap)?;
            row += 1;
        }
        row += 1;
        sheet.write_string_with_format(
            row,
            0,
            "比率为 0 到 1 之间的小数，显示为百分比；分母为 0 时显示“—”。完整定义见 docs/kpis.md。",
            &f.text,
        )?;
        sheet.set_column_width(0, 16)?;
        sheet.set_column_width(1, 24)?;
        sheet.set_column_width(2, 64)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        TIMEZONE
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    #[test]
    fn day_buckets_cut_at_china_midnight_and_cover_the_window() {
        let from = at(2024, 3, 4, 14, 30);
        let to = at(2024, 3, 7, 9, 15);
        let b = buckets(from, to, Interval::Day);
        assert_eq!(
            b,
            vec![
                (from, at(2024, 3, 5, 0, 0)),
                (at(2024, 3, 5, 0, 0), at(2024, 3, 6, 0, 0)),
                (at(2024, 3, 6, 0, 0), at(2024, 3, 7, 0, 0)),
                (at(2024, 3, 7, 0, 0), to),
            ]
        );
    }

    #[test]
    fn week_buckets_start_on_monday() {
        // Wednesday 2024-03-06 to Tuesday 2024-03-19.
        let from = at(2024, 3, 6, 10, 0);
        let to = at(2024, 3, 19, 10, 0);
        let b = buckets(from, to, Interval::Week);
        assert_eq!(
            b,
            vec![
                (from, at(2024, 3, 11, 0, 0)),
                (at(2024, 3, 11, 0, 0), at(2024, 3, 18, 0, 0)),
                (at(2024, 3, 18, 0, 0), to),
            ]
        );
    }

    #[test]
    fn the_total_of_rows_uses_the_core_formulas() {
        let row = |key: &str, closed, accepted| KpiRow {
            key: key.to_string(),
            reported: accepted,
            accepted,
            closed,
            closure_rate: Some(closed as f64 / accepted as f64),
            ..KpiRow::default()
        };
        let sum = total(&[row("a", 1, 2), row("b", 2, 2)]);
        assert_eq!((sum.closed, sum.accepted, sum.reported), (3, 4, 4));
        assert_eq!(sum.closure_rate, Some(0.75));
        assert_eq!(sum.on_time_handling_rate, None, "no denominator");
        assert_eq!(total(&[]).reported, 0);
    }
}
