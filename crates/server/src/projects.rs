//! Major projects (重大项目监督管理): register projects, record their stage dates, import them from
//! Excel, and read the five rates (签约率, 落地率, 开工率, 投达产率, 综合贡献率) per department or park.
//! `docs/projects.md` gives the workbook layout and every formula (`onegrid_core::projects`).
//!
//! Access: the command center and supervisors see and edit every project; a department handler
//! sees and edits the projects of their own department (and may not hand one to another); everyone
//! else is refused.

use std::io::Cursor;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use calamine::{Data, Reader, Xlsx};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use onegrid_core::projects::{
    rates, rates_by, validate, ProjectError, ProjectFields, ProjectRates, RateGrouping, Stage,
    StageDates,
};
use onegrid_core::{AreaCode, DepartmentCode, PersonId, Reference, Role};
use onegrid_store::projects::{
    china_today, verify_events, NewProject, Project, ProjectEvent, ProjectFilter, ProjectStoreError,
};
use onegrid_store::{CellIndex, Store, StoreError};
use rust_xlsxwriter::{Format, FormatAlign, Workbook, Worksheet, XlsxError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiMultipart, ApiPath, ApiQuery};
use crate::excel::{date_from_serial, excel_date};
use crate::policy::require_role;
use crate::AppState;

/// Largest workbook accepted for import.
pub const MAX_IMPORT_BYTES: usize = 16 * 1024 * 1024;
/// Most rows of one import.
pub const MAX_IMPORT_ROWS: usize = 5000;

const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/projects", get(list).post(create))
        .route("/api/projects/rates", get(project_rates))
        .route("/api/projects/export.xlsx", get(export_xlsx))
        .route("/api/projects/export.csv", get(export_csv))
        .route(
            "/api/projects/import",
            post(import).layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES)),
        )
        .route("/api/projects/{id}", get(show).put(update))
}

/// Who may read and edit projects.
const PROJECT_ROLES: [Role; 3] = [Role::Commander, Role::Supervisor, Role::DepartmentHandler];

/// The department a caller is limited to (department handlers), or None (everything).
fn limited_to(caller: &Caller) -> Result<Option<DepartmentCode>, ApiError> {
    require_role(caller, &PROJECT_ROLES, "read or edit major projects")?;
    if caller.role() == Role::DepartmentHandler {
        caller
            .person
            .scope
            .department
            .clone()
            .map(Some)
            .ok_or_else(|| {
                ApiError::forbidden(format!(
                    "{} is a department handler without a department, so no project is theirs",
                    caller.person.id
                ))
            })
    } else {
        Ok(None)
    }
}

impl From<ProjectStoreError> for ApiError {
    fn from(error: ProjectStoreError) -> ApiError {
        let detail = error.to_string();
        match error {
            ProjectStoreError::Invalid(inner)
            | ProjectStoreError::InvalidInBatch { error: inner, .. } => {
                project_error(&inner, detail)
            }
            ProjectStoreError::NotFound(_) => ApiError::not_found(detail),
            ProjectStoreError::VersionConflict { .. } => {
                ApiError::conflict("version_conflict", detail)
            }
            ProjectStoreError::OutOfScope { .. } => out_of_scope(detail),
            ProjectStoreError::Store(inner) => inner.into(),
        }
    }
}

/// A refusal for a project of another department than the caller's; the UI maps `out_of_scope`
/// to its sentence.
fn out_of_scope(detail: String) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "out_of_scope", "Not allowed", detail)
}

fn project_error(error: &ProjectError, detail: String) -> ApiError {
    match error {
        ProjectError::StageSkipped { .. }
        | ProjectError::OutOfOrder { .. }
        | ProjectError::InFuture { .. }
        | ProjectError::ContributionBeforeProduction => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "stage_order",
            "Stages out of order",
            detail,
        ),
        _ => ApiError::invalid(detail),
    }
}

// ---------------------------------------------------------------- views

/// The planned and actual date of a stage (YYYY-MM-DD, China calendar).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageView {
    pub planned: Option<NaiveDate>,
    pub actual: Option<NaiveDate>,
}

impl From<StageDates> for StageView {
    fn from(d: StageDates) -> StageView {
        StageView {
            planned: d.planned,
            actual: d.actual,
        }
    }
}

impl From<StageView> for StageDates {
    fn from(d: StageView) -> StageDates {
        StageDates {
            planned: d.planned,
            actual: d.actual,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProjectView {
    pub id: u64,
    pub version: u64,
    pub name: String,
    /// 总投资 (亿元).
    pub investment: f64,
    pub department: String,
    pub department_name: Option<String>,
    /// The park as stored: an area code or free text.
    pub park: Option<String>,
    /// The park's name (the area's name when `park` is a code).
    pub park_name: Option<String>,
    pub lon: f64,
    pub lat: f64,
    pub cell: String,
    pub signing: StageView,
    pub landing: StageView,
    pub start: StageView,
    pub production: StageView,
    /// The last stage actually reached: signing, landing, start, production; None before signing.
    pub stage: Option<String>,
    pub planned_contribution: Option<f64>,
    pub actual_contribution: Option<f64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn department_name(reference: &Reference, code: &DepartmentCode) -> Option<String> {
    reference.departments.get(code).map(|d| d.name.clone())
}

/// The name of a park as stored: an area's name for a code, else the text itself.
fn park_name(reference: &Reference, park: &str) -> String {
    AreaCode::parse(park)
        .ok()
        .and_then(|code| reference.areas.get(&code).map(|a| a.name.clone()))
        .unwrap_or_else(|| park.to_string())
}

/// How a park is stored: a code as given; a name that is exactly an area's name becomes its code;
/// any other text stays as it is.
fn normalise_park(reference: &Reference, park: Option<&str>) -> Option<String> {
    let park = park.map(str::trim).filter(|p| !p.is_empty())?;
    if AreaCode::parse(park).is_ok() {
        return Some(park.to_string());
    }
    Some(
        reference
            .areas
            .iter()
            .find(|a| a.name == park && a.code.as_str().len() == 9)
            .map(|a| a.code.as_str().to_string())
            .unwrap_or_else(|| park.to_string()),
    )
}

pub fn project_view(reference: &Reference, project: &Project) -> ProjectView {
    let f = &project.fields;
    ProjectView {
        id: project.id,
        version: project.version,
        name: f.name.clone(),
        investment: f.investment,
        department: f.department.as_str().to_string(),
        department_name: department_name(reference, &f.department),
        park: f.park.clone(),
        park_name: f.park.as_deref().map(|p| park_name(reference, p)),
        lon: f.lon,
        lat: f.lat,
        cell: project.cell.as_str().to_string(),
        signing: f.signing.into(),
        landing: f.landing.into(),
        start: f.start.into(),
        production: f.production.into(),
        stage: f.current_stage().map(|s| s.as_str().to_string()),
        planned_contribution: f.planned_contribution,
        actual_contribution: f.actual_contribution,
        created_at: project.created_at,
        updated_at: project.updated_at,
    }
}

// ---------------------------------------------------------------- GET /api/projects

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Lead department code.
    pub department: Option<String>,
    /// Park as stored (a code or the text).
    pub park: Option<String>,
    /// Text in the name.
    pub text: Option<String>,
    /// The project's cell lies in this area (district, street, community or cell code).
    pub area: Option<String>,
    /// Current stage: none (not signed yet), signing, landing, start or production.
    pub stage: Option<String>,
}

fn parse_department(text: &str) -> Result<DepartmentCode, ApiError> {
    DepartmentCode::parse(text).map_err(|e| ApiError::bad_request(format!("department: {e}")))
}

async fn visible_projects(
    state: &AppState,
    caller: &Caller,
    mut filter: ProjectFilter,
) -> Result<Vec<Project>, ApiError> {
    if let Some(own) = limited_to(caller)? {
        if filter.department.as_ref().is_some_and(|d| *d != own) {
            return Err(ApiError::forbidden(format!(
                "{} may see the projects of {} only",
                caller.person.id, own
            )));
        }
        filter.department = Some(own);
    }
    Ok(state.store.projects().list_projects(&filter).await?)
}

/// The projects the caller may see (every project for the command center and supervisors, their
/// department's for a department handler), by id, with optional filters.
#[utoipa::path(get, path = "/api/projects", tag = "projects", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, body = Vec<ProjectView>), (status = 403, body = crate::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<ApiJson<Vec<ProjectView>>, ApiError> {
    let filter = ProjectFilter {
        department: query
            .department
            .as_deref()
            .map(parse_department)
            .transpose()?,
        park: query.park.clone().filter(|p| !p.trim().is_empty()),
        text: query.text.clone().filter(|t| !t.trim().is_empty()),
        area: query
            .area
            .as_deref()
            .map(|a| AreaCode::parse(a).map_err(|e| ApiError::bad_request(format!("area: {e}"))))
            .transpose()?,
    };
    let stage = match query.stage.as_deref() {
        None => None,
        Some("none") => Some(None),
        Some(text) => Some(Some(
            Stage::ALL
                .into_iter()
                .find(|s| s.as_str() == text)
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "stage: {text:?} is not one of: none, signing, landing, start, production"
                    ))
                })?,
        )),
    };
    let reference = state.store.reference();
    let projects = visible_projects(&state, &caller, filter).await?;
    Ok(ApiJson(
        projects
            .iter()
            .filter(|p| stage.is_none_or(|s| p.fields.current_stage() == s))
            .map(|p| project_view(&reference, p))
            .collect(),
    ))
}

// ---------------------------------------------------------------- POST / PUT

/// A project as sent by a client.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectInput {
    /// 项目名称
    pub name: String,
    /// 总投资 (亿元), above 0.
    pub investment: f64,
    /// 责任单位: a department code (GET /api/departments).
    pub department: String,
    /// 所在园区: an area code or a name; a name equal to an area's name is stored as its code.
    #[serde(default)]
    pub park: Option<String>,
    /// WGS84 point; it must lie in the district's grid.
    pub lon: f64,
    pub lat: f64,
    #[serde(default)]
    pub signing: StageView,
    #[serde(default)]
    pub landing: StageView,
    #[serde(default)]
    pub start: StageView,
    #[serde(default)]
    pub production: StageView,
    /// 计划年贡献 (亿元): output value or tax planned per year once in production.
    #[serde(default)]
    pub planned_contribution: Option<f64>,
    /// 实际年贡献 (亿元): the latest annual figure achieved; only once in production.
    #[serde(default)]
    pub actual_contribution: Option<f64>,
    /// For an update: the version you saw; refused if the project changed meanwhile.
    #[serde(default)]
    pub version: Option<u64>,
}

impl ProjectInput {
    fn fields(&self, reference: &Reference) -> Result<ProjectFields, ApiError> {
        Ok(ProjectFields {
            name: self.name.trim().to_string(),
            investment: self.investment,
            department: parse_department(&self.department)?,
            park: normalise_park(reference, self.park.as_deref()),
            lon: self.lon,
            lat: self.lat,
            signing: self.signing.into(),
            landing: self.landing.into(),
            start: self.start.into(),
            production: self.production.into(),
            planned_contribution: self.planned_contribution,
            actual_contribution: self.actual_contribution,
        })
    }
}

/// Validates the record and locates its point in the grid.
fn prepare(state: &AppState, fields: ProjectFields) -> Result<NewProject, ApiError> {
    let reference = state.store.reference();
    validate(
        &fields,
        &reference.departments,
        china_today(state.clock.now()),
    )
    .map_err(|e| project_error(&e, e.to_string()))?;
    let located = onegrid_store::locate(state.store.as_ref(), fields.lon, fields.lat)?;
    Ok(NewProject {
        fields,
        cell: located.cell,
    })
}

fn own_department(own: &Option<DepartmentCode>, fields: &ProjectFields) -> Result<(), ApiError> {
    match own {
        Some(own) if *own != fields.department => Err(out_of_scope(format!(
            "department: you work for {own} and may register or keep projects of {own} only, not of {}",
            fields.department
        ))),
        _ => Ok(()),
    }
}

/// Registers a project. Its point must lie in the district; its stages must be in order.
#[utoipa::path(post, path = "/api/projects", tag = "projects", security(("bearer" = [])),
    request_body = ProjectInput,
    responses((status = 201, body = ProjectView), (status = 403, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<ProjectInput>,
) -> Result<(StatusCode, ApiJson<ProjectView>), ApiError> {
    let own = limited_to(&caller)?;
    let reference = state.store.reference();
    let fields = input.fields(&reference)?;
    own_department(&own, &fields)?;
    let new = prepare(&state, fields)?;
    let project = state
        .store
        .projects()
        .create_project(new, &caller.person.id, state.clock.now())
        .await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(project_view(&reference, &project)),
    ))
}

/// Replaces a project's record (typically to record a stage date). Give the `version` you saw.
#[utoipa::path(put, path = "/api/projects/{id}", tag = "projects", security(("bearer" = [])),
    params(("id" = u64, Path, description = "project id")), request_body = ProjectInput,
    responses((status = 200, body = ProjectView), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<u64>,
    ApiJson(input): ApiJson<ProjectInput>,
) -> Result<ApiJson<ProjectView>, ApiError> {
    let own = limited_to(&caller)?;
    let reference = state.store.reference();
    let fields = input.fields(&reference)?;
    own_department(&own, &fields)?;
    let new = prepare(&state, fields)?;
    let project = state
        .store
        .projects()
        .update_project(
            id,
            input.version,
            own,
            new,
            &caller.person.id,
            state.clock.now(),
        )
        .await
        .map_err(|e| match e {
            // A handler learns nothing about other departments' projects.
            ProjectStoreError::OutOfScope { .. } => ProjectStoreError::NotFound(id),
            other => other,
        })?;
    Ok(ApiJson(project_view(&reference, &project)))
}

// ---------------------------------------------------------------- GET /api/projects/{id}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectEventView {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub actor_name: Option<String>,
    /// created, imported or updated.
    pub kind: String,
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
    pub hash: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectDetail {
    pub project: ProjectView,
    /// Every change, oldest first.
    pub events: Vec<ProjectEventView>,
    /// Whether the change record's hash chain verifies.
    pub chain_ok: bool,
    pub chain_problem: Option<String>,
}

fn event_view(reference: &Reference, event: &ProjectEvent) -> ProjectEventView {
    ProjectEventView {
        seq: event.seq,
        at: event.at,
        actor: event.actor.as_str().to_string(),
        actor_name: reference.person(&event.actor).map(|p| p.name.clone()),
        kind: event.kind.clone(),
        body: event.body.clone(),
        hash: event.hash.clone(),
    }
}

/// One project with its change record.
#[utoipa::path(get, path = "/api/projects/{id}", tag = "projects", security(("bearer" = [])),
    params(("id" = u64, Path, description = "project id")),
    responses((status = 200, body = ProjectDetail), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem)))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<ProjectDetail>, ApiError> {
    let own = limited_to(&caller)?;
    let project = state.store.projects().project(id).await?;
    if own.is_some_and(|d| d != project.fields.department) {
        return Err(ProjectStoreError::NotFound(id).into());
    }
    let events = state.store.projects().project_events(id).await?;
    let reference = state.store.reference();
    let check = verify_events(&events);
    Ok(ApiJson(ProjectDetail {
        project: project_view(&reference, &project),
        events: events.iter().map(|e| event_view(&reference, e)).collect(),
        chain_ok: check.is_ok(),
        chain_problem: check.err(),
    }))
}

// ---------------------------------------------------------------- rates

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RatesQuery {
    /// First day of the period (YYYY-MM-DD, inclusive); default 1 January of this year.
    pub from: Option<NaiveDate>,
    /// Day after the period (exclusive); default tomorrow (China time).
    pub to: Option<NaiveDate>,
    /// department (default) or park.
    pub by: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RatesRow {
    /// Department code, park (code or text), `none` (no park) or `total`.
    pub key: String,
    pub name: String,
    #[schema(value_type = Object)]
    pub figures: ProjectRates,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RatesView {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub by: String,
    pub total: RatesRow,
    pub rows: Vec<RatesRow>,
}

/// The default period: this year so far (China calendar) at `now`, `to` exclusive.
pub fn period(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let today = china_today(now);
    let to = to.unwrap_or_else(|| today.succ_opt().unwrap_or(today));
    let from = from.unwrap_or_else(|| NaiveDate::from_ymd_opt(to.year(), 1, 1).unwrap_or(to));
    if from >= to {
        return Err(ApiError::bad_request(format!(
            "the period [{from}, {to}) is empty: `to` (exclusive) must be after `from`"
        )));
    }
    Ok((from, to))
}

fn group_name(reference: &Reference, grouping: RateGrouping, key: &str) -> String {
    match (grouping, key) {
        (_, "total") => "合计".to_string(),
        (RateGrouping::Park, "none") => "园区外".to_string(),
        (RateGrouping::Park, park) => park_name(reference, park),
        (RateGrouping::Department, code) => DepartmentCode::parse(code)
            .ok()
            .and_then(|c| department_name(reference, &c))
            .unwrap_or_else(|| code.to_string()),
    }
}

pub fn rates_view(
    reference: &Reference,
    projects: &[Project],
    grouping: RateGrouping,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<RatesView, ApiError> {
    let fields = || projects.iter().map(|p| &p.fields);
    let bad = |e: onegrid_core::projects::PeriodError| ApiError::bad_request(e.to_string());
    let total = rates(fields(), from, to).map_err(bad)?;
    let rows = rates_by(fields(), grouping, from, to).map_err(bad)?;
    let row = |figures: ProjectRates| RatesRow {
        name: group_name(reference, grouping, &figures.key),
        key: figures.key.clone(),
        figures,
    };
    Ok(RatesView {
        from,
        to,
        by: grouping.as_str().to_string(),
        total: row(total),
        rows: rows.into_iter().map(row).collect(),
    })
}

fn grouping(by: Option<&str>) -> Result<RateGrouping, ApiError> {
    let by = by.unwrap_or("department");
    RateGrouping::parse(by)
        .ok_or_else(|| ApiError::bad_request(format!("by: {by:?} is not one of: department, park")))
}

/// The five rates over a period `[from, to)` (docs/projects.md), all visible projects together and
/// per department or park.
#[utoipa::path(get, path = "/api/projects/rates", tag = "projects", security(("bearer" = [])),
    params(RatesQuery),
    responses((status = 200, body = RatesView), (status = 400, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem)))]
pub async fn project_rates(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<RatesQuery>,
) -> Result<ApiJson<RatesView>, ApiError> {
    let grouping = grouping(query.by.as_deref())?;
    let (from, to) = period(query.from, query.to, state.clock.now())?;
    let projects = visible_projects(&state, &caller, ProjectFilter::default()).await?;
    let reference = state.store.reference();
    Ok(ApiJson(rates_view(
        &reference, &projects, grouping, from, to,
    )?))
}

// ---------------------------------------------------------------- the workbook layout

/// The columns of the project sheet, in order: import reads them by header (any order), export
/// writes them in this order. `docs/projects.md` §4.
pub const COLUMNS: [&str; 15] = [
    "项目名称",
    "总投资(亿元)",
    "责任单位",
    "所在园区",
    "经度",
    "纬度",
    "计划签约日期",
    "签约日期",
    "计划落地日期",
    "落地日期",
    "计划开工日期",
    "开工日期",
    "计划投产日期",
    "投产日期",
    "计划年贡献(亿元)",
];
/// The last column, after `COLUMNS`.
pub const ACTUAL_CONTRIBUTION: &str = "实际年贡献(亿元)";
/// Columns export adds before the layout and import ignores.
pub const EXPORT_ONLY: [&str; 4] = ["项目编号", "所在网格", "当前阶段", "责任单位名称"];

fn normalise_header(text: &str) -> String {
    text.trim()
        .replace(['（', '('], "(")
        .replace(['）', ')'], ")")
        .replace(' ', "")
}

/// One refused row of an import.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BadRow {
    /// The row number as Excel shows it (the header is row 1).
    pub row: u32,
    pub problem: String,
}

/// The rows read from a workbook.
#[derive(Debug, Default)]
pub struct ParsedImport {
    pub good: Vec<(u32, NewProject)>,
    pub bad: Vec<BadRow>,
    /// Headers that are not in the layout (ignored).
    pub ignored_columns: Vec<String>,
}

fn cell_text(data: &Data) -> String {
    match data {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.trim().to_string(),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => d.to_string(),
        Data::Error(e) => format!("{e:?}"),
    }
}

fn number(data: &Data, column: &str) -> Result<Option<f64>, String> {
    match data {
        Data::Empty => Ok(None),
        Data::Float(f) => Ok(Some(*f)),
        Data::Int(i) => Ok(Some(*i as f64)),
        Data::String(s) if s.trim().is_empty() => Ok(None),
        Data::String(s) => s
            .trim()
            .replace(',', "")
            .parse::<f64>()
            .map(Some)
            .map_err(|_| format!("{column}: {s:?} is not a number")),
        other => Err(format!("{column}: {} is not a number", cell_text(other))),
    }
}

fn parse_date_text(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    let text = text.split(['T', ' ']).next().unwrap_or(text);
    for format in ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"] {
        if let Ok(date) = NaiveDate::parse_from_str(text, format) {
            return Some(date);
        }
    }
    None
}

fn date(data: &Data, column: &str) -> Result<Option<NaiveDate>, String> {
    match data {
        Data::Empty => Ok(None),
        Data::String(s) if s.trim().is_empty() => Ok(None),
        Data::DateTime(_) | Data::Float(_) | Data::Int(_) => {
            // An Excel serial date (formatted as a date, or not).
            let serial = match data {
                Data::DateTime(d) => d.as_f64(),
                _ => number(data, column)?.unwrap_or_default(),
            };
            date_from_serial(serial)
                .map(Some)
                .ok_or_else(|| format!("{column}: {serial} is not a date"))
        }
        Data::String(s) | Data::DateTimeIso(s) => parse_date_text(s)
            .map(Some)
            .ok_or_else(|| format!("{column}: {s:?} is not a date; write it as 2025-03-01")),
        other => Err(format!("{column}: {} is not a date", cell_text(other))),
    }
}

/// A department by code, full name or short name.
fn find_department(reference: &Reference, text: &str) -> Option<DepartmentCode> {
    let text = text.trim();
    reference
        .departments
        .iter()
        .find(|d| d.code.as_str() == text || d.name == text || d.short_name == text)
        .map(|d| d.code.clone())
}

/// Reads the first sheet of a workbook in the layout of `COLUMNS`: every row is checked (fields,
/// stage order, point in the district) and either kept or reported with its row number.
pub fn parse_workbook(
    bytes: &[u8],
    reference: &Reference,
    cells: Option<&CellIndex>,
    today: NaiveDate,
) -> Result<ParsedImport, String> {
    let mut workbook: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e| format!("the file is not an Excel workbook (.xlsx): {e}"))?;
    let sheet = workbook
        .sheet_names()
        .first()
        .cloned()
        .ok_or("the workbook has no sheet")?;
    let range = workbook
        .worksheet_range(&sheet)
        .map_err(|e| format!("cannot read the sheet {sheet:?}: {e}"))?;
    let mut rows = range.rows();
    let header = rows
        .next()
        .ok_or("the sheet is empty: the first row must hold the column headers")?;
    let (first_row, _) = range.start().unwrap_or((0, 0));
    let headers: Vec<String> = header
        .iter()
        .map(|d| normalise_header(&cell_text(d)))
        .collect();
    let column = |name: &str| headers.iter().position(|h| *h == normalise_header(name));
    let mut missing = Vec::new();
    for required in ["项目名称", "总投资(亿元)", "责任单位", "经度", "纬度"] {
        if column(required).is_none() {
            missing.push(required);
        }
    }
    if !missing.is_empty() {
        return Err(format!(
            "the first row lacks the column(s) {}; the layout is: {}, {ACTUAL_CONTRIBUTION}",
            missing.join(", "),
            COLUMNS.join(", ")
        ));
    }
    let known: Vec<String> = COLUMNS
        .iter()
        .chain([ACTUAL_CONTRIBUTION].iter())
        .chain(EXPORT_ONLY.iter())
        .map(|c| normalise_header(c))
        .collect();
    let mut parsed = ParsedImport {
        ignored_columns: headers
            .iter()
            .filter(|h| !h.is_empty() && !known.contains(h))
            .cloned()
            .collect(),
        ..ParsedImport::default()
    };
    for (offset, row) in rows.enumerate() {
        let number_in_sheet = first_row + 2 + offset as u32;
        if row.iter().all(|d| cell_text(d).is_empty()) {
            continue;
        }
        if parsed.good.len() + parsed.bad.len() >= MAX_IMPORT_ROWS {
            return Err(format!(
                "at most {MAX_IMPORT_ROWS} projects may be imported at once"
            ));
        }
        let get = |name: &str| {
            column(name)
                .and_then(|i| row.get(i))
                .unwrap_or(&Data::Empty)
        };
        match parse_row(&get, reference, cells, today) {
            Ok(project) => parsed.good.push((number_in_sheet, project)),
            Err(problem) => parsed.bad.push(BadRow {
                row: number_in_sheet,
                problem,
            }),
        }
    }
    Ok(parsed)
}

fn parse_row<'a>(
    get: &dyn Fn(&str) -> &'a Data,
    reference: &Reference,
    cells: Option<&CellIndex>,
    today: NaiveDate,
) -> Result<NewProject, String> {
    let name = cell_text(get("项目名称"));
    let investment = number(get("总投资(亿元)"), "总投资(亿元)")?
        .ok_or("总投资(亿元): empty; give the total investment in 亿元")?;
    let department_text = cell_text(get("责任单位"));
    if department_text.is_empty() {
        return Err("责任单位: empty; give a department's code or name".to_string());
    }
    let department = find_department(reference, &department_text).ok_or_else(|| {
        format!(
            "责任单位: {department_text:?} is not a department (give its code, name or short name)"
        )
    })?;
    let park = normalise_park(reference, Some(&cell_text(get("所在园区"))));
    let lon = number(get("经度"), "经度")?.ok_or("经度: empty; give the longitude (WGS84)")?;
    let lat = number(get("纬度"), "纬度")?.ok_or("纬度: empty; give the latitude (WGS84)")?;
    let stage = |planned: &str, actual: &str| -> Result<StageDates, String> {
        Ok(StageDates {
            planned: date(get(planned), planned)?,
            actual: date(get(actual), actual)?,
        })
    };
    let fields = ProjectFields {
        name,
        investment,
        department,
        park,
        lon,
        lat,
        signing: stage("计划签约日期", "签约日期")?,
        landing: stage("计划落地日期", "落地日期")?,
        start: stage("计划开工日期", "开工日期")?,
        production: stage("计划投产日期", "投产日期")?,
        planned_contribution: number(get("计划年贡献(亿元)"), "计划年贡献(亿元)")?,
        actual_contribution: number(get(ACTUAL_CONTRIBUTION), ACTUAL_CONTRIBUTION)?,
    };
    validate(&fields, &reference.departments, today).map_err(|e| e.to_string())?;
    let cells = cells.ok_or_else(|| StoreError::NoGrid.to_string())?;
    let located = onegrid_store::locate_in(cells, lon, lat).map_err(|e| e.to_string())?;
    Ok(NewProject {
        fields,
        cell: located.cell,
    })
}

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    /// Ids of the projects stored, in the order of their rows.
    pub stored: Vec<u64>,
    /// The rows refused (with `skip_bad`; without it, any bad row refuses the whole file).
    pub bad: Vec<BadRow>,
    pub ignored_columns: Vec<String>,
}

/// Why an import stored nothing.
#[derive(Debug)]
pub enum ImportError {
    /// The file cannot be read as the layout.
    File(String),
    /// Some rows are bad and `skip_bad` was not given.
    BadRows(Vec<BadRow>),
    /// Some rows belong to another department than the importer's.
    Store(ProjectStoreError),
}

impl ImportError {
    pub fn sentence(&self) -> String {
        match self {
            ImportError::File(text) => text.clone(),
            ImportError::BadRows(rows) => {
                let shown: Vec<String> = rows
                    .iter()
                    .take(50)
                    .map(|r| format!("row {}: {}", r.row, r.problem))
                    .collect();
                format!(
                    "{} row(s) are bad, so nothing was stored (fix them, or import with skip_bad to store the good rows only): {}{}",
                    rows.len(),
                    shown.join("; "),
                    if rows.len() > 50 { "; …" } else { "" }
                )
            }
            ImportError::Store(error) => error.to_string(),
        }
    }
}

/// Imports a workbook: all rows or nothing, unless `skip_bad` (then the good rows). With
/// `department`, every row must be of that department.
pub async fn import_workbook(
    store: &dyn Store,
    bytes: &[u8],
    skip_bad: bool,
    department: Option<&DepartmentCode>,
    actor: &PersonId,
    now: DateTime<Utc>,
) -> Result<ImportReport, ImportError> {
    let reference = store.reference();
    let index = store.cell_index();
    let mut parsed = parse_workbook(bytes, &reference, index.as_deref(), china_today(now))
        .map_err(ImportError::File)?;
    if let Some(own) = department {
        let (mine, others): (Vec<_>, Vec<_>) = parsed
            .good
            .into_iter()
            .partition(|(_, p)| p.fields.department == *own);
        parsed.good = mine;
        parsed.bad.extend(others.into_iter().map(|(row, p)| BadRow {
            row,
            problem: format!(
                "责任单位: {} is not your department ({own}); you may import your department's projects only",
                p.fields.department
            ),
        }));
        parsed.bad.sort_by_key(|b| b.row);
    }
    if !parsed.bad.is_empty() && !skip_bad {
        return Err(ImportError::BadRows(parsed.bad));
    }
    let stored = store
        .projects()
        .create_projects(
            parsed.good.into_iter().map(|(_, p)| p).collect(),
            actor,
            now,
        )
        .await
        .map_err(ImportError::Store)?;
    Ok(ImportReport {
        stored: stored.iter().map(|p| p.id).collect(),
        bad: parsed.bad,
        ignored_columns: parsed.ignored_columns,
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Store the good rows and report the bad ones (default: any bad row stores nothing).
    pub skip_bad: Option<bool>,
}

/// Imports projects from an Excel workbook (multipart part `file`; layout in docs/projects.md §4).
/// Every bad row is reported with its row number; without `skip_bad`, nothing is stored then.
#[utoipa::path(post, path = "/api/projects/import", tag = "projects", security(("bearer" = [])),
    params(ImportQuery),
    request_body(content_type = "multipart/form-data", description = "one `file` part: the .xlsx workbook"),
    responses((status = 201, body = ImportReport), (status = 403, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ImportQuery>,
    ApiMultipart(mut multipart): ApiMultipart,
) -> Result<(StatusCode, ApiJson<ImportReport>), ApiError> {
    let own = limited_to(&caller)?;
    let mut file = None;
    while let Some(field) = multipart.next_field().await? {
        if field.name() == Some("file") {
            file = Some(field.bytes().await?);
        }
    }
    let file = file.ok_or_else(|| {
        ApiError::invalid("file: send the workbook as a multipart part named `file`")
    })?;
    let report = import_workbook(
        state.store.as_ref(),
        &file,
        query.skip_bad.unwrap_or(false),
        own.as_ref(),
        &caller.person.id,
        state.clock.now(),
    )
    .await
    .map_err(|e| match e {
        ImportError::Store(inner) => ApiError::from(inner),
        other => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_import",
            "Import refused",
            other.sentence(),
        ),
    })?;
    Ok((StatusCode::CREATED, ApiJson(report)))
}

// ---------------------------------------------------------------- export

/// The text of each column of a project row, in the order `EXPORT_ONLY` then `COLUMNS` then the
/// actual contribution. Numbers and dates are typed in the workbook.
enum Value {
    Text(String),
    Number(Option<f64>),
    Date(Option<NaiveDate>),
}

fn row_values(reference: &Reference, project: Option<&Project>, f: &ProjectFields) -> Vec<Value> {
    let d = |x: Option<NaiveDate>| Value::Date(x);
    let mut values = Vec::new();
    if let Some(p) = project {
        values.push(Value::Number(Some(p.id as f64)));
        values.push(Value::Text(p.cell.as_str().to_string()));
        values.push(Value::Text(
            f.current_stage()
                .map_or("未签约", |s| s.name_zh())
                .to_string(),
        ));
        values.push(Value::Text(
            department_name(reference, &f.department).unwrap_or_default(),
        ));
    }
    values.extend([
        Value::Text(f.name.clone()),
        Value::Number(Some(f.investment)),
        Value::Text(f.department.as_str().to_string()),
        Value::Text(
            f.park
                .as_deref()
                .map(|p| park_name(reference, p))
                .unwrap_or_default(),
        ),
        Value::Number(Some(f.lon)),
        Value::Number(Some(f.lat)),
        d(f.signing.planned),
        d(f.signing.actual),
        d(f.landing.planned),
        d(f.landing.actual),
        d(f.start.planned),
        d(f.start.actual),
        d(f.production.planned),
        d(f.production.actual),
        Value::Number(f.planned_contribution),
        Value::Number(f.actual_contribution),
    ]);
    values
}

fn headers(with_ids: bool) -> Vec<&'static str> {
    let mut out: Vec<&str> = Vec::new();
    if with_ids {
        out.extend(EXPORT_ONLY);
    }
    out.extend(COLUMNS);
    out.push(ACTUAL_CONTRIBUTION);
    out
}

fn write_project_sheet(
    sheet: &mut Worksheet,
    reference: &Reference,
    rows: &[(Option<&Project>, &ProjectFields)],
    with_ids: bool,
) -> Result<(), XlsxError> {
    let header = Format::new().set_bold().set_align(FormatAlign::Center);
    let date_format = Format::new().set_num_format("yyyy-mm-dd");
    for (c, name) in headers(with_ids).iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *name, &header)?;
        sheet.set_column_width(c as u16, if name.contains("名称") { 34 } else { 14 })?;
    }
    for (r, (project, fields)) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, value) in row_values(reference, *project, fields)
            .into_iter()
            .enumerate()
        {
            let c = c as u16;
            match value {
                Value::Text(text) => {
                    sheet.write_string(r, c, text)?;
                }
                Value::Number(Some(n)) => {
                    sheet.write_number(r, c, n)?;
                }
                Value::Date(Some(day)) => {
                    // Excel dates start in 1900; a date stored before the year check existed is
                    // written as text rather than failing the whole export.
                    match excel_date(&day) {
                        Ok(at) => {
                            sheet.write_datetime_with_format(r, c, &at, &date_format)?;
                        }
                        Err(_) => {
                            sheet.write_string(r, c, day.to_string())?;
                        }
                    }
                }
                Value::Number(None) | Value::Date(None) => {}
            }
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

/// A workbook of project records in the import layout (no ids): the sample file and templates.
pub fn layout_workbook(
    reference: &Reference,
    projects: &[ProjectFields],
) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("项目")?;
    let rows: Vec<(Option<&Project>, &ProjectFields)> =
        projects.iter().map(|f| (None, f)).collect();
    write_project_sheet(sheet, reference, &rows, false)?;
    workbook.save_to_buffer()
}

const RATE_HEADERS: [&str; 18] = [
    "分组",
    "项目数",
    "总投资(亿元)",
    "应签约",
    "已签约",
    "签约率",
    "应落地",
    "已落地",
    "落地率",
    "应开工",
    "已开工",
    "开工率",
    "应投产",
    "已投产",
    "投达产率",
    "计划年贡献(亿元)",
    "实际年贡献(亿元)",
    "综合贡献率",
];

fn write_rates_sheet(sheet: &mut Worksheet, view: &RatesView) -> Result<(), XlsxError> {
    let header = Format::new().set_bold().set_align(FormatAlign::Center);
    let rate = Format::new().set_num_format("0.0%");
    let money = Format::new().set_num_format("#,##0.00");
    for (c, name) in RATE_HEADERS.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *name, &header)?;
        sheet.set_column_width(c as u16, if c == 0 { 30 } else { 11 })?;
    }
    for (r, row) in view.rows.iter().chain([&view.total]).enumerate() {
        let r = r as u32 + 1;
        let f = &row.figures;
        sheet.write_string(r, 0, &row.name)?;
        sheet.write_number(r, 1, f.projects as f64)?;
        sheet.write_number_with_format(r, 2, f.investment, &money)?;
        for (i, stage) in Stage::ALL.into_iter().enumerate() {
            let s = f.stage(stage);
            let c = 3 + 3 * i as u16;
            sheet.write_number(r, c, s.due as f64)?;
            sheet.write_number(r, c + 1, s.reached as f64)?;
            match s.rate {
                Some(v) => sheet.write_number_with_format(r, c + 2, v, &rate)?,
                None => sheet.write_string(r, c + 2, "—")?,
            };
        }
        sheet.write_number_with_format(r, 15, f.planned_contribution, &money)?;
        sheet.write_number_with_format(r, 16, f.actual_contribution, &money)?;
        match f.contribution_rate {
            Some(v) => sheet.write_number_with_format(r, 17, v, &rate)?,
            None => sheet.write_string(r, 17, "—")?,
        };
    }
    sheet.set_freeze_panes(1, 1)?;
    Ok(())
}

/// The export workbook: 「项目」 (every visible project), 「按责任单位」 and 「按园区」 (the rates of
/// the period), 「说明」 (period and formulas).
pub fn export_workbook(
    reference: &Reference,
    projects: &[Project],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<u8>, ApiError> {
    let by_department = rates_view(reference, projects, RateGrouping::Department, from, to)?;
    let by_park = rates_view(reference, projects, RateGrouping::Park, from, to)?;
    let build = || -> Result<Vec<u8>, XlsxError> {
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        sheet.set_name("项目")?;
        let rows: Vec<(Option<&Project>, &ProjectFields)> =
            projects.iter().map(|p| (Some(p), &p.fields)).collect();
        write_project_sheet(sheet, reference, &rows, true)?;
        let sheet = workbook.add_worksheet();
        sheet.set_name("按责任单位")?;
        write_rates_sheet(sheet, &by_department)?;
        let sheet = workbook.add_worksheet();
        sheet.set_name("按园区")?;
        write_rates_sheet(sheet, &by_park)?;
        let sheet = workbook.add_worksheet();
        sheet.set_name("说明")?;
        let notes = [
            format!("统计期：{from} 至 {to}（不含 {to}）"),
            "签约率 = 期内签约数 ÷ 应签约数（计划签约日期早于期末或未定、期初前尚未签约的项目）".to_string(),
            "落地率 = 期内落地数 ÷ 应落地数（期末前已签约、计划落地日期早于期末或未定、期初前尚未落地）".to_string(),
            "开工率 = 期内开工数 ÷ 应开工数（期末前已落地、计划开工日期早于期末或未定、期初前尚未开工）".to_string(),
            "投达产率 = 期内投产数 ÷ 应投产数（期末前已开工、计划投产日期早于期末或未定、期初前尚未投产）".to_string(),
            "综合贡献率 = Σ实际年贡献 ÷ Σ计划年贡献（期末前已投产、计划年贡献大于 0 的项目；未填实际的计 0）".to_string(),
            "分母为 0 时不计算比率（显示 —）。详见 docs/projects.md。".to_string(),
        ];
        for (r, line) in notes.iter().enumerate() {
            sheet.write_string(r as u32, 0, line)?;
        }
        sheet.set_column_width(0, 100)?;
        workbook.save_to_buffer()
    };
    build().map_err(ApiError::internal)
}

/// The projects as CSV (UTF-8 with a byte-order mark, so that Excel reads the Chinese), in the
/// export layout.
pub fn export_csv_text(reference: &Reference, projects: &[Project]) -> String {
    fn quote(text: &str) -> String {
        if text.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text.to_string()
        }
    }
    let mut out = String::from("\u{feff}");
    out.push_str(&headers(true).join(","));
    out.push_str("\r\n");
    for p in projects {
        let cells: Vec<String> = row_values(reference, Some(p), &p.fields)
            .into_iter()
            .map(|v| match v {
                Value::Text(t) => quote(&t),
                Value::Number(n) => n.map(|n| n.to_string()).unwrap_or_default(),
                Value::Date(d) => d.map(|d| d.to_string()).unwrap_or_default(),
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// First day of the rates' period (inclusive); default 1 January of this year.
    pub from: Option<NaiveDate>,
    /// Day after the period (exclusive); default tomorrow.
    pub to: Option<NaiveDate>,
}

fn attachment(
    content_type: &'static str,
    name: String,
    bytes: Vec<u8>,
) -> Result<Response, ApiError> {
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .map_err(ApiError::internal)?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        bytes,
    )
        .into_response())
}

/// The visible projects and their rates as an Excel workbook (sheets 项目, 按责任单位, 按园区, 说明).
#[utoipa::path(get, path = "/api/projects/export.xlsx", tag = "projects", security(("bearer" = [])),
    params(ExportQuery),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            description = "the workbook, as an attachment"),
        (status = 403, body = crate::error::Problem)))]
pub async fn export_xlsx(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let (from, to) = period(query.from, query.to, state.clock.now())?;
    let projects = visible_projects(&state, &caller, ProjectFilter::default()).await?;
    let reference = state.store.reference();
    let bytes = export_workbook(&reference, &projects, from, to)?;
    attachment(
        XLSX_TYPE,
        format!("onegrid-projects-{from}-{to}.xlsx"),
        bytes,
    )
}

/// The visible projects as CSV (UTF-8 with BOM), one row per project.
#[utoipa::path(get, path = "/api/projects/export.csv", tag = "projects", security(("bearer" = [])),
    responses((status = 200, content_type = "text/csv", description = "the projects, as an attachment"),
        (status = 403, body = crate::error::Problem)))]
pub async fn export_csv(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let projects = visible_projects(&state, &caller, ProjectFilter::default()).await?;
    let reference = state.store.reference();
    let text = export_csv_text(&reference, &projects);
    attachment(
        "text/csv; charset=utf-8",
        format!("onegrid-projects-{}.csv", china_today(state.clock.now())),
        text.into_bytes(),
    )
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list, create, show, update, project_rates, import, export_xlsx, export_csv),
    components(schemas(ProjectView, ProjectInput, StageView, ProjectDetail, ProjectEventView,
        RatesView, RatesRow, ImportReport, BadRow)),
    tags((name = "projects", description = "重大项目: records, stage dates, import/export, rates"))
)]
struct ProjectsDoc;

/// This module's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    <ProjectsDoc as utoipa::OpenApi>::openapi()
}
