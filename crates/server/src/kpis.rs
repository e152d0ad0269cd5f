//! KPI endpoints (考核统计): the KPI table, its trend over time and the Excel workbook of both.
//!
//! Every figure comes from `onegrid_core::kpi::compute_filtered` over the case histories the caller
//! may read (`docs/kpis.md` gives every formula), optionally of one category (`?category=Z99`). A
//! request fetches the histories of its window once and filters them by visibility once; the trend
//! then hands each bucket only the histories reported in it, so each history is read once per
//! computation it belongs to. Rows are ordered by `onegrid_core::kpi::RowOrder`, the order of the
//! dashboard's table, so that the workbook lists them as the page shows them.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use onegrid_core::calendar::TIMEZONE;
use onegrid_core::kpi::{
    compute_filtered, total, CategoryFilter, KpiFigure, KpiGrouping, KpiRow, RowOrder, SortBy,
};
use onegrid_core::{AreaCode, CategoryCode, DepartmentCode, Event, Reference, Role, WorkflowError};
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
            let names: Vec<&str> = KpiGrouping::ALL.iter().map(|g| g.as_str()).collect();
            ApiError::bad_request(format!("by: {by:?} is not one of: {}", names.join(", ")))
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

/// `?category=`: a subcategory (`Z9901`) or a major class (`Z99`) of the taxonomy, or every
/// category when absent or blank. An unknown code is a 422 that names it.
fn category_filter(
    reference: &Reference,
    category: Option<&str>,
) -> Result<CategoryFilter, ApiError> {
    match category.map(str::trim) {
        None | Some("") => Ok(CategoryFilter::All),
        Some(code) => CategoryFilter::parse(code, &reference.taxonomy)
            .map_err(|e| ApiError::invalid(e.to_string())),
    }
}

/// `?sort=` (`key`, the default, or a figure's field name) and `?dir=` (`asc` or `desc`; by
/// default ascending for the key, descending for a figure).
fn row_order(sort: Option<&str>, dir: Option<&str>) -> Result<RowOrder, ApiError> {
    let by = match sort {
        None => SortBy::Key,
        Some(text) => SortBy::parse(text).ok_or_else(|| {
            let names: Vec<&str> = KpiFigure::ALL.iter().map(|f| f.as_str()).collect();
            ApiError::bad_request(format!(
                "sort: {text:?} is not key nor one of the figures: {}",
                names.join(", ")
            ))
        })?,
    };
    let descending = match dir {
        None => by != SortBy::Key,
        Some("asc") => false,
        Some("desc") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "dir: {other:?} is not one of: asc, desc"
            )))
        }
    };
    Ok(RowOrder { by, descending })
}

/// The language of the workbook: its sheet names, headers and notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    Zh,
    En,
}

impl Lang {
    fn parse(text: Option<&str>) -> Result<Lang, ApiError> {
        match text {
            None | Some("zh") => Ok(Lang::Zh),
            Some("en") => Ok(Lang::En),
            Some(other) => Err(ApiError::bad_request(format!(
                "lang: {other:?} is not one of: zh, en"
            ))),
        }
    }

    fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    fn content_language(self) -> &'static str {
        self.pick("zh-CN", "en")
    }
}

/// What a group of this grouping is called.
fn grouping_noun(grouping: KpiGrouping, lang: Lang) -> &'static str {
    match grouping {
        KpiGrouping::District => lang.pick("区", "District"),
        KpiGrouping::Street => lang.pick("街道", "Street"),
        KpiGrouping::Community => lang.pick("社区", "Community"),
        KpiGrouping::Cell => lang.pick("网格", "Cell"),
        KpiGrouping::Department => lang.pick("部门", "Department"),
        KpiGrouping::Category => lang.pick("类别", "Category"),
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

    fn name(self, lang: Lang) -> &'static str {
        match self {
            Interval::Day => lang.pick("按日", "Daily"),
            Interval::Week => lang.pick("按周（周一起）", "Weekly, from Monday"),
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
    /// The cases counted, by their category as of the moment each computation reads them.
    category: CategoryFilter,
}

fn reported_at(events: &[Event]) -> DateTime<Utc> {
    events.first().map_or(DateTime::<Utc>::MIN_UTC, |e| e.at)
}

impl Window {
    /// One fetch of the histories and one visibility filter, for every figure of a request.
    async fn load(
        state: &AppState,
        caller: &Caller,
        days: i64,
        category: CategoryFilter,
    ) -> Result<Window, ApiError> {
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
            category,
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

    /// `compute_filtered` over the histories reported in `[start, end)`, read as of `as_of`. The
    /// population is cut here, from the ordered histories, so that the core reads only the cases of
    /// the bucket; its own window is then `[start, as_of)`, which holds them all.
    fn compute(
        &self,
        reference: &Reference,
        grouping: KpiGrouping,
        (start, end): (DateTime<Utc>, DateTime<Utc>),
        as_of: DateTime<Utc>,
    ) -> Result<Vec<KpiRow>, ApiError> {
        let histories = self.reported_in(start, end).iter().map(Vec::as_slice);
        compute_filtered(
            &reference.calendar,
            histories,
            grouping,
            &self.category,
            start,
            as_of,
        )
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

/// The name of a group: the area's, the department's or the category's; `None` for `grid` and
/// `unassigned` and for codes no longer in the reference data.
fn group_name(reference: &Reference, grouping: KpiGrouping, key: &str) -> Option<String> {
    match grouping {
        KpiGrouping::Department => DepartmentCode::parse(key)
            .ok()
            .and_then(|c| reference.departments.get(&c).map(|d| d.name.clone())),
        KpiGrouping::Category => CategoryCode::parse(key)
            .ok()
            .and_then(|c| reference.taxonomy.get(&c).map(|c| c.name.clone())),
        _ => AreaCode::parse(key)
            .ok()
            .and_then(|c| reference.areas.get(&c).map(|a| a.name.clone())),
    }
}

/// The name shown in the workbook: as `group_name`, with the department keys that are not
/// departments spelled out.
fn group_label(reference: &Reference, grouping: KpiGrouping, key: &str, lang: Lang) -> String {
    group_name(reference, grouping, key).unwrap_or_else(|| match (grouping, key) {
        (KpiGrouping::Department, "grid") => {
            lang.pick("网格自处置", "Settled in the grid").to_string()
        }
        (KpiGrouping::Department, "unassigned") => {
            lang.pick("未派遣", "Not dispatched").to_string()
        }
        _ => key.to_string(),
    })
}

/// The code and name of the category filtered on, e.g. 「Z99 建议提案」; `None` for every category.
fn category_name(reference: &Reference, category: &CategoryFilter) -> Option<String> {
    let code = category.code()?;
    let name = reference.taxonomy.iter().find_map(|c| match category {
        CategoryFilter::Subcategory(sub) => (&c.code == sub).then_some(c.name.as_str()),
        _ => (c.code.major() == code).then_some(c.major_name.as_str()),
    });
    Some(match name {
        Some(name) => format!("{code} {name}"),
        None => code.to_string(),
    })
}

/// The category filter in words for the notes: its code and name, with the major class of a
/// subcategory or the subcategories of a major class.
fn category_label(reference: &Reference, category: &CategoryFilter, lang: Lang) -> String {
    let Some(name) = category_name(reference, category) else {
        return lang.pick("全部类别", "All categories").to_string();
    };
    match category {
        CategoryFilter::Subcategory(code) => {
            let major = CategoryFilter::Major(code.major().to_string());
            let major = category_name(reference, &major).unwrap_or_default();
            match lang {
                Lang::Zh => format!("{name}（属 {major}）"),
                Lang::En => format!("{name} (in {major})"),
            }
        }
        _ => {
            let subs: Vec<String> = reference
                .taxonomy
                .iter()
                .filter(|c| category.matches(Some(&c.code)))
                .map(|c| format!("{} {}", c.code, c.name))
                .collect();
            match lang {
                Lang::Zh => format!("{name}（大类，含 {}）", subs.join("、")),
                Lang::En => format!("{name} (major class: {})", subs.join(", ")),
            }
        }
    }
}

// ---------------------------------------------------------------- GET /api/kpis

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct KpiQuery {
    /// district, street, community, cell, department or category (default street).
    pub by: Option<String>,
    /// The window: cases reported in the last N days (default 30, at most 3660).
    pub days: Option<i64>,
    /// Only the cases of a category, as of the end of the window: a subcategory (小类) such as
    /// `Z9901` or a major class (大类) such as `Z99` (建议提案) or `S01`. An unknown code is a 422.
    pub category: Option<String>,
    /// The order of the rows: `key` (default) or a figure's field name, e.g. `closure_rate`.
    pub sort: Option<String>,
    /// `asc` or `desc` (default: ascending by key, descending by a figure). Rows without the figure
    /// come last either way; ties go to the group with more cases, then by key.
    pub dir: Option<String>,
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
/// department handlers (their department); optionally of one category, and grouped by area,
/// department or category.
#[utoipa::path(get, path = "/api/kpis", tag = "kpis", security(("bearer" = [])), params(KpiQuery),
    responses((status = 200, body = Vec<KpiRowView>), (status = 400, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn kpis(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<KpiQuery>,
) -> Result<ApiJson<Vec<KpiRowView>>, ApiError> {
    require_role(&caller, &KPI_ROLES, "read KPIs")?;
    let grouping = grouping(query.by.as_deref(), KpiGrouping::Street)?;
    let days = window_days(query.days)?;
    let order = row_order(query.sort.as_deref(), query.dir.as_deref())?;
    let reference = state.store.reference();
    let category = category_filter(&reference, query.category.as_deref())?;
    let window = Window::load(&state, &caller, days, category).await?;
    let mut rows = window.rows(&reference, grouping)?;
    order.sort(&mut rows);
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
    /// How each point is broken down in `groups`: district (default), street, community, cell,
    /// department or category.
    pub by: Option<String>,
    /// Only the cases of a category (as `/api/kpis`): `Z9901`, `Z99`, `S01`…
    pub category: Option<String>,
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
    /// The category filter (`Z99`, `Z9901`…), `null` for every category.
    pub category: Option<String>,
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
        (status = 403, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
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
    let reference = state.store.reference();
    let category = category_filter(&reference, query.category.as_deref())?;
    let window = Window::load(&state, &caller, days, category).await?;
    let buckets = window.trend(&reference, grouping, interval, as_of)?;
    let total = match as_of {
        // Read as of the window's end, the buckets' rows are the window's cases: no second pass.
        AsOf::Window => total(buckets.iter().flat_map(|b| &b.rows)),
        AsOf::Bucket => total(&window.rows(&reference, grouping)?),
    };
    Ok(ApiJson(KpiTrend {
        from: window.from,
        to: window.to,
        days,
        interval: interval.as_str().to_string(),
        by: grouping.as_str().to_string(),
        category: window.category.code().map(str::to_string),
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
    /// district, street, community, cell, department or category (default street).
    pub by: Option<String>,
    /// The window: cases reported in the last N days (default 30, at most 3660).
    pub days: Option<i64>,
    /// The trend's bucket: day (default) or week.
    pub trend: Option<String>,
    /// Only the cases of a category (as `/api/kpis`): `Z9901`, `Z99`, `S01`…
    pub category: Option<String>,
    /// The order of the rows, as `/api/kpis`: `key` (default) or a figure's field name.
    pub sort: Option<String>,
    /// `asc` or `desc`, as `/api/kpis`.
    pub dir: Option<String>,
    /// The language of sheet names, headers and notes: `zh` (default) or `en`.
    pub lang: Option<String>,
}

/// The KPIs as an Excel workbook: 「考核指标」 (one row per group, as `/api/kpis` in the same order,
/// and the total), 「趋势」 (as `/api/kpis/trend`) and 「说明」 (the window, the grouping, the
/// category, the order, who exported it and when, and the formulas); in English with `lang=en`
/// (KPIs, Trend, Notes). The same access rules as `/api/kpis`.
#[utoipa::path(get, path = "/api/kpis/export.xlsx", tag = "kpis", security(("bearer" = [])),
    params(ExportQuery),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            description = "the workbook, as an attachment"),
        (status = 400, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    require_role(&caller, &KPI_ROLES, "read KPIs")?;
    let grouping = grouping(query.by.as_deref(), KpiGrouping::Street)?;
    let interval = Interval::parse(query.trend.as_deref(), "trend")?;
    let days = window_days(query.days)?;
    let order = row_order(query.sort.as_deref(), query.dir.as_deref())?;
    let lang = Lang::parse(query.lang.as_deref())?;
    let reference = state.store.reference();
    let category = category_filter(&reference, query.category.as_deref())?;
    let window = Window::load(&state, &caller, days, category).await?;
    let mut rows = window.rows(&reference, grouping)?;
    order.sort(&mut rows);
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
        order,
        lang,
        rows: &rows,
        points: &points,
        caller: &caller,
        at: state.clock.now(),
    };
    let bytes = export.workbook().map_err(ApiError::internal)?;
    let category = window
        .category
        .code()
        .map(|code| format!("-{code}"))
        .unwrap_or_default();
    let filename = format!(
        "onegrid-kpi-{}{category}-{}d-{}.xlsx",
        grouping.as_str(),
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
            (
                header::CONTENT_LANGUAGE,
                HeaderValue::from_static(lang.content_language()),
            ),
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

impl Figure {
    fn of(figure: KpiFigure, row: &KpiRow) -> Figure {
        let value = figure.of(row);
        match figure {
            KpiFigure::MeanHandlingHours => Figure::Hours(value),
            KpiFigure::OnTimeHandlingRate
            | KpiFigure::ClosureRate
            | KpiFigure::ReworkRate
            | KpiFigure::ResponseRate
            | KpiFigure::SolutionRate
            | KpiFigure::SatisfactionRate => Figure::Rate(value),
            _ => Figure::Count(value.unwrap_or_default()),
        }
    }
}

/// The header of each figure's column, Chinese and English. The Chinese names are what readers of
/// the workbook (and web/e2e/flow.test.mjs) look for.
fn figure_header(figure: KpiFigure, lang: Lang) -> &'static str {
    match figure {
        KpiFigure::Reported => lang.pick("上报数", "Reported"),
        KpiFigure::RespondedOnTime => lang.pick("按期响应数", "Responded on time"),
        KpiFigure::Accepted => lang.pick("立案数", "Accepted"),
        KpiFigure::Closed => lang.pick("结案数", "Closed"),
        KpiFigure::Handled => lang.pick("处置数", "Handled"),
        KpiFigure::HandledOnTime => lang.pick("按期处置数", "Handled on time"),
        KpiFigure::Verified => lang.pick("核查数", "Verified"),
        KpiFigure::Reworked => lang.pick("返工数", "Reworked"),
        KpiFigure::Overdue => lang.pick("超期数", "Overdue"),
        KpiFigure::HandlingMinutes => {
            lang.pick("处置工时（工作分钟）", "Handling time (working minutes)")
        }
        KpiFigure::Rated => lang.pick("评价数", "Rated"),
        KpiFigure::Solved => lang.pick("解决数（3–5分）", "Solved (rated 3–5)"),
        KpiFigure::Satisfied => lang.pick("满意数（4–5分）", "Satisfied (rated 4–5)"),
        KpiFigure::OnTimeHandlingRate => lang.pick("按期处置率", "On-time handling rate"),
        KpiFigure::ClosureRate => lang.pick("结案率", "Closure rate"),
        KpiFigure::ReworkRate => lang.pick("返工率", "Rework rate"),
        KpiFigure::MeanHandlingHours => lang.pick(
            "平均处置时长（工作小时）",
            "Mean handling time (working hours)",
        ),
        KpiFigure::ResponseRate => lang.pick("响应率", "Response rate"),
        KpiFigure::SolutionRate => lang.pick("解决率", "Solution rate"),
        KpiFigure::SatisfactionRate => lang.pick("满意率", "Satisfaction rate"),
    }
}

/// A formula as `docs/kpis.md` §5 states it: the KPI, its field, the formula in each language.
struct Formula {
    zh: &'static str,
    en: &'static str,
    field: &'static str,
    formula_zh: &'static str,
    formula_en: &'static str,
}

const FORMULAS: [Formula; 8] = [
    Formula {
        zh: "按期处置率",
        en: "On-time handling rate",
        field: "on_time_handling_rate",
        formula_zh: "按期处置数 ÷ 处置数（每次处置反馈都不晚于当时的处置时限，含批准的延期）",
        formula_en: "handled on time ÷ handled (every feedback no later than the handling deadline then running, approved extensions included)",
    },
    Formula {
        zh: "结案率",
        en: "Closure rate",
        field: "closure_rate",
        formula_zh: "结案数 ÷ 立案数（立案含网格自处置；不予立案的不计入分母）",
        formula_en: "closed ÷ accepted (accepted includes cases settled in the grid; rejected cases are not in the denominator)",
    },
    Formula {
        zh: "返工率",
        en: "Rework rate",
        field: "rework_rate",
        formula_zh: "返工数 ÷ 核查数（核查未通过至少一次）",
        formula_en: "reworked ÷ verified (failed verification at least once)",
    },
    Formula {
        zh: "超期",
        en: "Overdue",
        field: "overdue",
        formula_zh: "窗口结束时未办结、当前环节已过时限的案件数（挂账案件不计）",
        formula_en: "cases still open at the end of the window whose current stage is past its deadline (long-term cases excluded)",
    },
    Formula {
        zh: "平均处置时长",
        en: "Mean handling time",
        field: "mean_handling_hours",
        formula_zh: "处置工时（工作分钟）÷ 60 ÷ 处置数，按工作时间日历计",
        formula_en: "handling time (working minutes) ÷ 60 ÷ handled, on the working-time calendar",
    },
    Formula {
        zh: "响应率",
        en: "Response rate",
        field: "response_rate",
        formula_zh: "按期响应数 ÷ 上报数（首次受理、不予立案或自处置不晚于受理时限）",
        formula_en: "responded on time ÷ reported (the first acceptance, rejection or grid settlement within the accept limit)",
    },
    Formula {
        zh: "解决率",
        en: "Solution rate",
        field: "solution_rate",
        formula_zh: "解决数（评价 3–5 分）÷ 评价数",
        formula_en: "solved (rated 3–5) ÷ rated",
    },
    Formula {
        zh: "满意率",
        en: "Satisfaction rate",
        field: "satisfaction_rate",
        formula_zh: "满意数（评价 4–5 分）÷ 评价数",
        formula_en: "satisfied (rated 4–5) ÷ rated",
    },
];

/// What the workbook shows.
struct Export<'a> {
    reference: &'a Reference,
    window: &'a Window,
    grouping: KpiGrouping,
    interval: Interval,
    /// The order of `rows` (already sorted), said in the notes.
    order: RowOrder,
    lang: Lang,
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
    fn say<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        self.lang.pick(zh, en)
    }

    fn workbook(&self) -> Result<Vec<u8>, XlsxError> {
        let formats = Formats::new();
        let mut workbook = Workbook::new();
        let title = self.say("onegrid 考核指标", "onegrid KPIs");
        let title = match category_name(self.reference, &self.window.category) {
            Some(category) => format!("{title} · {category}"),
            None => title.to_string(),
        };
        workbook.set_properties(
            &rust_xlsxwriter::DocProperties::new()
                .set_title(&title)
                .set_author(format!("onegrid · {}", self.caller.person.name))
                .set_comment("docs/kpis.md"),
        );
        self.kpi_sheet(workbook.add_worksheet(), &formats, &title)?;
        self.trend_sheet(workbook.add_worksheet(), &formats)?;
        self.notes_sheet(workbook.add_worksheet(), &formats)?;
        workbook.save_to_buffer()
    }

    fn kpi_sheet(&self, sheet: &mut Worksheet, f: &Formats, title: &str) -> Result<(), XlsxError> {
        sheet.set_name(self.say("考核指标", "KPIs"))?;
        // Printed, each page says what it is (the category included); `&` is a field code there.
        sheet.set_header(format!("&C{}", title.replace('&', "&&")));
        let mut widths = Widths::default();
        let noun = grouping_noun(self.grouping, self.lang);
        let name_header = match self.lang {
            Lang::Zh => format!("{noun}名称"),
            Lang::En => noun.to_string(),
        };
        let headers = [name_header.as_str(), self.say("代码", "Code")]
            .into_iter()
            .chain(KpiFigure::ALL.map(|figure| figure_header(figure, self.lang)));
        for (column, header) in (0u16..).zip(headers) {
            sheet.write_string_with_format(0, column, header, &f.header)?;
            widths.see(column, header);
        }
        sheet.set_row_height(0, 22)?;
        let mut row_index = 1u32;
        for row in self.rows {
            let name = group_label(self.reference, self.grouping, &row.key, self.lang);
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
        let total_name = self.say("合计", "Total");
        self.kpi_row(
            sheet,
            &mut widths,
            row_index,
            total_name,
            "",
            &total,
            true,
            f,
        )?;
        if last_data_row >= 1 {
            sheet.autofilter(0, 0, last_data_row, 1 + KpiFigure::ALL.len() as u16)?;
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
        for (column, figure) in (2u16..).zip(KpiFigure::ALL) {
            let shown = match Figure::of(figure, row) {
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
        sheet.set_name(self.say("趋势", "Trend"))?;
        let mut widths = Widths::default();
        let headers = [
            self.say("时段开始", "Period start"),
            self.say("时段结束", "Period end"),
            figure_header(KpiFigure::Reported, self.lang),
            figure_header(KpiFigure::Closed, self.lang),
            figure_header(KpiFigure::Overdue, self.lang),
            figure_header(KpiFigure::OnTimeHandlingRate, self.lang),
            figure_header(KpiFigure::ClosureRate, self.lang),
            figure_header(KpiFigure::SatisfactionRate, self.lang),
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

    /// The row order in words, e.g. 「按「结案率」由高到低」.
    fn order_text(&self) -> String {
        let RowOrder { by, descending } = self.order;
        match (self.lang, by) {
            (Lang::Zh, SortBy::Key) => {
                format!("按代码{}", if descending { "降序" } else { "升序" })
            }
            (Lang::En, SortBy::Key) => {
                format!(
                    "by code, {}",
                    if descending {
                        "descending"
                    } else {
                        "ascending"
                    }
                )
            }
            (Lang::Zh, SortBy::Figure(figure)) => format!(
                "按「{}」{}（无可计算案件的组列在最后）",
                figure_header(figure, Lang::Zh),
                if descending {
                    "由高到低"
                } else {
                    "由低到高"
                }
            ),
            (Lang::En, SortBy::Figure(figure)) => format!(
                "by {}, {} (groups without it last)",
                figure_header(figure, Lang::En).to_lowercase(),
                if descending {
                    "highest first"
                } else {
                    "lowest first"
                }
            ),
        }
    }

    fn notes_sheet(&self, sheet: &mut Worksheet, f: &Formats) -> Result<(), XlsxError> {
        sheet.set_name(self.say("说明", "Notes"))?;
        let person = &self.caller.person;
        let lang = self.lang;
        sheet.write_string_with_format(
            0,
            0,
            self.say("onegrid 考核指标导出说明", "onegrid KPI export: notes"),
            &f.title,
        )?;
        let (from, to, days) = (
            shanghai_text(self.window.from),
            shanghai_text(self.window.to),
            self.window.days,
        );
        let noun = grouping_noun(self.grouping, lang);
        let exported = local(self.at).format("%Y-%m-%d %H:%M:%S");
        let facts = [
            (
                self.say("统计窗口", "Window"),
                match lang {
                    Lang::Zh => format!("{from} 至 {to}（北京时间，含起点不含终点，共 {days} 天）"),
                    Lang::En => format!("{from} to {to} (China time; the start included, the end not; {days} days)"),
                },
            ),
            (
                self.say("分组", "Grouping"),
                match lang {
                    Lang::Zh => format!("按{noun}（{}）", self.grouping.as_str()),
                    Lang::En => format!("by {} ({})", noun.to_lowercase(), self.grouping.as_str()),
                },
            ),
            (
                self.say("类别", "Category"),
                category_label(self.reference, &self.window.category, lang),
            ),
            (self.say("排序", "Row order"), self.order_text()),
            (
                self.say("趋势时段", "Trend periods"),
                match lang {
                    Lang::Zh => format!("{}（{}），北京时间", self.interval.name(lang), self.interval.as_str()),
                    Lang::En => format!("{} ({}), China time", self.interval.name(lang), self.interval.as_str()),
                },
            ),
            (
                self.say("导出人", "Exported by"),
                match lang {
                    Lang::Zh => format!("{}（{}，{}）", person.name, person.id, person.role.name_zh()),
                    Lang::En => format!("{} ({}, {})", person.name, person.id, person.role.as_str().replace('_', " ")),
                },
            ),
            (
                self.say("导出时间", "Exported at"),
                match lang {
                    Lang::Zh => format!("{exported}（北京时间）"),
                    Lang::En => format!("{exported} (China time)"),
                },
            ),
            (
                self.say("统计范围", "Scope"),
                self.say(
                    "仅包括导出人有权查看的案件；合并到其他案件的重复案件不计。",
                    "Only the cases the exporter may read; duplicates merged into another case are not counted.",
                )
                .to_string(),
            ),
            (
                self.say("统计口径", "Counting"),
                self.say(
                    "按上报时间统计：「考核指标」统计窗口内上报的案件，按窗口结束时的状态计算；「趋势」的每个时段统计该时段内上报的案件，同样按窗口结束时的状态计算，各时段的件数相加等于窗口合计。案件按窗口结束时的类别计入（受理时改正的类别为准）。",
                    "By report time: the KPIs sheet counts the cases reported in the window, as they stand at its end; each period of the Trend sheet counts the cases reported in it, also as they stand at the end of the window, so the periods add up to the window's total. A case counts under its category at the end of the window (as corrected on acceptance).",
                )
                .to_string(),
            ),
            (
                self.say("数据来源", "Source"),
                self.say(
                    "全部指标只由案件的哈希链事件历史计算，可逐案审计（onegrid verify、onegrid case show）。",
                    "Every figure is computed from the cases' hash-chained event histories alone and can be audited case by case (onegrid verify, onegrid case show).",
                )
                .to_string(),
            ),
        ];
        let mut row = 2u32;
        for (key, value) in &facts {
            sheet.write_string_with_format(row, 0, *key, &f.key)?;
            sheet.write_string_with_format(row, 1, value, &f.wrap)?;
            row += 1;
        }
        row += 1;
        sheet.write_string_with_format(
            row,
            0,
            self.say("指标公式（docs/kpis.md §5）", "Formulas (docs/kpis.md §5)"),
            &f.title,
        )?;
        row += 1;
        let headers = [
            self.say("指标", "KPI"),
            self.say("字段", "Field"),
            self.say("公式", "Formula"),
        ];
        for (column, header) in (0u16..).zip(headers) {
            sheet.write_string_with_format(row, column, header, &f.header)?;
        }
        row += 1;
        for formula in &FORMULAS {
            sheet.write_string_with_format(row, 0, self.say(formula.zh, formula.en), &f.key)?;
            sheet.write_string_with_format(row, 1, formula.field, &f.text)?;
            sheet.write_string_with_format(
                row,
                2,
                self.say(formula.formula_zh, formula.formula_en),
                &f.wrap,
            )?;
            row += 1;
        }
        row += 1;
        sheet.write_string_with_format(
            row,
            0,
            self.say(
                "比率为 0 到 1 之间的小数，显示为百分比；分母为 0 时显示“—”。完整定义见 docs/kpis.md。",
                "Rates are fractions from 0 to 1, shown as percentages; “—” when the denominator is 0. Full definitions: docs/kpis.md.",
            ),
            &f.text,
        )?;
        sheet.set_column_width(
            0,
            match lang {
                Lang::Zh => 16,
                Lang::En => 22,
            },
        )?;
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
    fn the_row_order_defaults_to_the_key_and_a_figure_to_highest_first() {
        let order = |sort, dir| row_order(sort, dir).map_err(|e| e.detail);
        assert_eq!(order(None, None), Ok(RowOrder::default()));
        assert_eq!(
            order(Some("closure_rate"), None),
            Ok(RowOrder {
                by: SortBy::Figure(KpiFigure::ClosureRate),
                descending: true
            })
        );
        assert_eq!(
            order(Some("overdue"), Some("asc")),
            Ok(RowOrder {
                by: SortBy::Figure(KpiFigure::Overdue),
                descending: false
            })
        );
        assert_eq!(
            order(Some("key"), Some("desc")),
            Ok(RowOrder {
                by: SortBy::Key,
                descending: true
            })
        );
        let bad = order(Some("name"), None).expect_err("not a figure");
        assert!(bad.starts_with("sort: \"name\" is not key nor one of the figures: reported, "));
        let bad = order(None, Some("up")).expect_err("not a direction");
        assert_eq!(bad, "dir: \"up\" is not one of: asc, desc");
    }

    #[test]
    fn every_figure_has_a_header_in_each_language() {
        let zh: Vec<&str> = KpiFigure::ALL.map(|f| figure_header(f, Lang::Zh)).to_vec();
        let en: Vec<&str> = KpiFigure::ALL.map(|f| figure_header(f, Lang::En)).to_vec();
        for headers in [&zh, &en] {
            let distinct: std::collections::BTreeSet<&&str> = headers.iter().collect();
            assert_eq!(distinct.len(), headers.len(), "{headers:?}");
        }
        // The names readers of the Chinese workbook look for.
        for name in [
            "上报数",
            "结案数",
            "超期数",
            "结案率",
            "按期处置率",
            "返工率",
            "满意率",
        ] {
            assert!(zh.contains(&name), "{name}");
        }
        assert!(en.iter().all(|h| h.is_ascii() || h.contains('–')), "{en:?}");
        assert_eq!(Lang::parse(None).map_err(|e| e.detail), Ok(Lang::Zh));
        assert_eq!(Lang::parse(Some("en")).map_err(|e| e.detail), Ok(Lang::En));
        assert!(Lang::parse(Some("fr")).is_err());
    }
}
