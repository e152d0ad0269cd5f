//! Supervision tasks (督办任务) made from a work report's targets for its year, and the 实效表
//! (planned vs actual) exported as XLSX and CSV. The rules are in `onegrid_core::supervision`;
//! `docs/supervision.md` states them.
//!
//! Access: supervisors and commanders see and change every task, import reports and issue 督办
//! notices; a department handler sees the tasks its department leads (主办) or co-handles (协办) and
//! reports progress on those it leads; everyone else is refused.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, NaiveDate, Utc};
use onegrid_core::calendar::TIMEZONE;
use onegrid_core::history::ActorRef;
use onegrid_core::supervision::{
    default_deadline, reminder_due, suggest_departments, verify_task_chain, Assessment, Cmp,
    NewTask, Status, Task, TaskChange, TaskError, TaskEvent, TaskId, REMIND_EVERY_WORKING_DAYS,
};
use onegrid_core::{DepartmentCode, Reference, Role};
use onegrid_store::supervision::SupervisionError;
use onegrid_text::workreport::{
    extract, read_report, CleaningStep, Comparator, Extraction, Item, Kind, Period,
    DEFAULT_MAX_BYTES,
};
use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiMultipart, ApiPath, ApiQuery};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/supervision/tasks", get(list))
        .route("/api/supervision/tasks/{id}", get(show).put(edit))
        .route("/api/supervision/tasks/{id}/progress", post(progress))
        .route("/api/supervision/tasks/{id}/notices", post(notice))
        .route("/api/supervision/import", post(import))
        .route("/api/supervision/reminders", get(reminders))
        .route("/api/supervision/export.xlsx", get(export_xlsx))
        .route("/api/supervision/export.csv", get(export_csv))
}

#[derive(OpenApi)]
#[openapi(
    paths(list, show, edit, progress, notice, import, reminders, export_xlsx, export_csv),
    components(schemas(
        TaskView,
        TaskDetail,
        ChainCheck,
        ProgressView,
        NoticeView,
        EditRequest,
        ProgressRequest,
        NoticeRequest,
        ImportRequest,
        ImportAnswer,
        ImportItem,
        OtherItem,
        CleaningStepView,
        ReminderView,
        Reminder
    )),
    tags((name = "supervision", description = "督办任务: work-report targets, progress, 督办, 实效表"))
)]
struct SupervisionDoc;

/// This module's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    SupervisionDoc::openapi()
}

/// Default time a 督办 notice gives the lead department to report progress, in working days.
pub const DEFAULT_RESPOND_DAYS: u32 = 5;

const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

// ---------------------------------------------------------------- access

/// What a caller may do with tasks.
enum Access {
    /// Supervisor or commander: everything.
    All,
    /// A department handler: the tasks the department leads or co-handles.
    Department(DepartmentCode),
}

fn access(caller: &Caller) -> Result<Access, ApiError> {
    match caller.role() {
        Role::Supervisor | Role::Commander => Ok(Access::All),
        Role::DepartmentHandler => caller
            .person
            .scope
            .department
            .clone()
            .map(Access::Department)
            .ok_or_else(|| {
                ApiError::forbidden(format!(
                    "{} is a department handler without a department, so no supervision task is theirs",
                    caller.person.id
                ))
            }),
        other => Err(ApiError::forbidden(format!(
            "{} ({}) may not see supervision tasks; this needs the role supervisor (督查员), commander (指挥长) or department_handler (部门处置人员)",
            caller.person.id,
            other.name_zh()
        ))),
    }
}

fn require_all(caller: &Caller, what: &str) -> Result<(), ApiError> {
    match access(caller)? {
        Access::All => Ok(()),
        Access::Department(_) => Err(ApiError::forbidden(format!(
            "{} (部门处置人员) may not {what}; this needs the role supervisor (督查员) or commander (指挥长)",
            caller.person.id
        ))),
    }
}

fn may_see(access: &Access, task: &Task) -> bool {
    match access {
        Access::All => true,
        Access::Department(department) => task.involves(department),
    }
}

fn actor_ref(caller: &Caller) -> ActorRef {
    ActorRef {
        person: caller.person.id.clone(),
        role: caller.role(),
    }
}

impl From<SupervisionError> for ApiError {
    fn from(error: SupervisionError) -> ApiError {
        let detail = error.to_string();
        match error {
            SupervisionError::NotFound(_) => ApiError::not_found(detail),
            SupervisionError::VersionConflict { .. } => {
                ApiError::conflict("version_conflict", detail)
            }
            SupervisionError::Task(TaskError::Invalid(_)) => ApiError::invalid(detail),
            SupervisionError::Task(_) => ApiError::internal(detail),
            SupervisionError::Store(inner) => inner.into(),
        }
    }
}

// ---------------------------------------------------------------- views

/// One progress report (进度报送).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProgressView {
    pub value: f64,
    pub evidence: Vec<String>,
    pub note: String,
    pub at: DateTime<Utc>,
    pub by: String,
}

/// One 督办 notice.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NoticeView {
    pub note: String,
    pub at: DateTime<Utc>,
    pub by: String,
    /// The lead department must report progress by then (counted in working days).
    pub respond_by: Option<DateTime<Utc>>,
    /// A progress report came after the notice.
    pub answered: bool,
}

/// One reminder recorded by the reminder sweep.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReminderView {
    pub at: DateTime<Utc>,
    /// at_risk or overdue, when it was recorded.
    pub status: String,
    pub status_zh: String,
    /// Why (Chinese).
    pub reason: String,
}

/// A task with its status now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskView {
    pub id: u64,
    pub version: u64,
    /// The report's name.
    pub report: String,
    pub year: i32,
    pub section: String,
    pub indicator: String,
    /// The target value, compared with `cmp` (`>=`, `>`, `<=`, `<`, `=`).
    pub value: f64,
    pub unit: String,
    pub cmp: String,
    /// The target written out: `≥ 60 家`.
    pub target: String,
    /// The source text and its character span in the report.
    pub quote: String,
    pub start: usize,
    pub end: usize,
    /// 主办 (None until someone assigns one when no keyword rule matched).
    pub lead: Option<String>,
    pub lead_name: Option<String>,
    /// 协办
    pub co_departments: Vec<String>,
    pub co_names: Vec<String>,
    /// The last day (China time).
    #[schema(value_type = String, format = Date)]
    pub deadline: NaiveDate,
    pub baseline: Option<f64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub latest: Option<ProgressView>,
    pub progress: Vec<ProgressView>,
    pub notices: Vec<NoticeView>,
    /// Reminders the reminder sweep recorded (催办提醒), oldest first.
    pub reminders: Vec<ReminderView>,
    pub done_at: Option<DateTime<Utc>>,
    /// on_track, at_risk, overdue or done.
    pub status: String,
    pub status_zh: String,
    /// Time elapsed and progress made, as fractions of the whole (0–1).
    pub elapsed: f64,
    pub progress_fraction: f64,
    /// How far progress trails time, in percentage points.
    pub behind_points: f64,
    pub days_since_report: i64,
    pub days_overdue: i64,
    /// No progress report for more than 60 days.
    pub stale: bool,
    /// How far behind, as a sentence (Chinese), empty when on track or done.
    pub behind_zh: String,
    pub behind_en: String,
}

fn department_name(reference: &Reference, code: &DepartmentCode) -> String {
    reference
        .departments
        .get(code)
        .map(|d| d.name.clone())
        .unwrap_or_else(|| code.as_str().to_string())
}

fn number(value: f64) -> String {
    onegrid_text::workreport::format_value(value)
}

/// `≥ 60 家`
pub fn target_text(cmp: Cmp, value: f64, unit: &str) -> String {
    format!(
        "{} {}{}{}",
        cmp.sign(),
        number(value),
        if unit.is_empty() { "" } else { " " },
        unit
    )
}

fn behind_sentences(a: &Assessment) -> (String, String) {
    match a.status {
        Status::Done => (String::new(), String::new()),
        Status::Overdue => (
            format!(
                "已逾期 {} 天，完成进度 {:.0}%",
                a.days_overdue,
                a.progress * 100.0
            ),
            format!(
                "{} days past the deadline, {:.0}% done",
                a.days_overdue,
                a.progress * 100.0
            ),
        ),
        Status::AtRisk | Status::OnTrack => {
            let mut zh = Vec::new();
            let mut en = Vec::new();
            if a.behind_points > 0.0 && (a.status == Status::AtRisk || a.behind_points >= 1.0) {
                zh.push(format!(
                    "进度 {:.0}%，时间已过 {:.0}%，落后 {:.0} 个百分点",
                    a.progress * 100.0,
                    a.elapsed * 100.0,
                    a.behind_points
                ));
                en.push(format!(
                    "{:.0}% done with {:.0}% of the time gone: {:.0} points behind",
                    a.progress * 100.0,
                    a.elapsed * 100.0,
                    a.behind_points
                ));
            }
            if a.stale {
                zh.push(format!("已 {} 天未报送进度", a.days_since_report));
                en.push(format!(
                    "no progress report for {} days",
                    a.days_since_report
                ));
            }
            if a.status == Status::OnTrack {
                return (String::new(), String::new());
            }
            (zh.join("；"), en.join("; "))
        }
    }
}

fn progress_view(p: &onegrid_core::supervision::ProgressReport) -> ProgressView {
    ProgressView {
        value: p.value,
        evidence: p.evidence.clone(),
        note: p.note.clone(),
        at: p.at,
        by: p.by.clone(),
    }
}

pub fn view(task: &Task, reference: &Reference, now: DateTime<Utc>) -> TaskView {
    let a = task.assess(now);
    let (behind_zh, behind_en) = behind_sentences(&a);
    let spec = &task.spec;
    TaskView {
        id: task.id.0,
        version: task.version,
        report: spec.report.clone(),
        year: spec.year,
        section: spec.section.clone(),
        indicator: spec.indicator.clone(),
        value: spec.value,
        unit: spec.unit.clone(),
        cmp: spec.cmp.as_str().to_string(),
        target: target_text(spec.cmp, spec.value, &spec.unit),
        quote: spec.quote.clone(),
        start: spec.start,
        end: spec.end,
        lead: spec.lead.as_ref().map(|d| d.as_str().to_string()),
        lead_name: spec.lead.as_ref().map(|d| department_name(reference, d)),
        co_departments: spec
            .co_departments
            .iter()
            .map(|d| d.as_str().to_string())
            .collect(),
        co_names: spec
            .co_departments
            .iter()
            .map(|d| department_name(reference, d))
            .collect(),
        deadline: spec.deadline,
        baseline: task.baseline,
        created_at: task.created_at,
        updated_at: task.updated_at,
        latest: task.latest().map(progress_view),
        progress: task.progress.iter().map(progress_view).collect(),
        notices: task
            .notices
            .iter()
            .map(|n| NoticeView {
                note: n.note.clone(),
                at: n.at,
                by: n.by.clone(),
                respond_by: n.respond_by,
                answered: task.progress.iter().any(|p| p.at >= n.at),
            })
            .collect(),
        reminders: task
            .reminders
            .iter()
            .map(|r| ReminderView {
                at: r.at,
                status: r.status.as_str().to_string(),
                status_zh: r.status.name_zh().to_string(),
                reason: r.reason.clone(),
            })
            .collect(),
        done_at: task.done_at,
        status: a.status.as_str().to_string(),
        status_zh: a.status.name_zh().to_string(),
        elapsed: a.elapsed,
        progress_fraction: a.progress,
        behind_points: a.behind_points,
        days_since_report: a.days_since_report,
        days_overdue: a.days_overdue,
        stale: a.stale,
        behind_zh,
        behind_en,
    }
}

// ---------------------------------------------------------------- list

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ListQuery {
    /// Tasks this department leads or co-handles.
    pub department: Option<String>,
    /// Tasks whose section contains this text.
    pub section: Option<String>,
    /// on_track, at_risk, overdue or done.
    pub status: Option<String>,
    /// The report's year.
    pub year: Option<i32>,
    /// The report's name.
    pub report: Option<String>,
}

/// The tasks the caller may see, as views, filtered.
async fn visible(
    state: &AppState,
    caller: &Caller,
    query: &ListQuery,
    now: DateTime<Utc>,
) -> Result<Vec<TaskView>, ApiError> {
    let access = access(caller)?;
    let status = match query.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => Some(Status::parse(text).ok_or_else(|| {
            ApiError::bad_request(format!(
                "status: {text:?} is not one of: on_track, at_risk, overdue, done"
            ))
        })?),
    };
    let department = match query.department.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => Some(
            DepartmentCode::parse(text)
                .map_err(|e| ApiError::bad_request(format!("department: {e}")))?,
        ),
    };
    let reference = state.store.reference();
    let tasks = state.store.supervision().tasks().await?;
    Ok(tasks
        .iter()
        .filter(|t| may_see(&access, t))
        .filter(|t| department.as_ref().is_none_or(|d| t.involves(d)))
        .filter(|t| {
            query
                .section
                .as_deref()
                .filter(|s| !s.is_empty())
                .is_none_or(|s| t.spec.section.contains(s))
        })
        .filter(|t| query.year.is_none_or(|y| t.spec.year == y))
        .filter(|t| {
            query
                .report
                .as_deref()
                .filter(|s| !s.is_empty())
                .is_none_or(|r| t.spec.report == r)
        })
        .map(|t| view(t, &reference, now))
        .filter(|v| status.is_none_or(|s| v.status == s.as_str()))
        .collect())
}

/// The supervision tasks the caller may see (a handler: its department's), with their status now.
#[utoipa::path(get, path = "/api/supervision/tasks", tag = "supervision", params(ListQuery),
    responses((status = 200, body = [TaskView])), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<ApiJson<Vec<TaskView>>, ApiError> {
    Ok(ApiJson(
        visible(&state, &caller, &query, state.clock.now()).await?,
    ))
}

/// The outcome of checking a task's hash chain.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChainCheck {
    pub ok: bool,
    pub events: usize,
    pub problem: Option<String>,
}

/// A task with its whole history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskDetail {
    pub task: TaskView,
    /// Events oldest first: {task_id, seq, at, actor, kind: {type, …}, prev_hash, hash}.
    #[schema(value_type = Vec<Object>)]
    pub history: Vec<TaskEvent>,
    pub chain: ChainCheck,
}

async fn load_visible(state: &AppState, caller: &Caller, id: u64) -> Result<Task, ApiError> {
    let access = access(caller)?;
    let task = state.store.supervision().task(TaskId(id)).await?;
    if !may_see(&access, &task) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "out_of_scope",
            "Not allowed",
            format!(
                "task {id} is neither led nor co-handled by {}'s department",
                caller.person.id
            ),
        ));
    }
    Ok(task)
}

/// Records one change on a task (refused when `version` is given and stale) and answers the task as
/// it is now: the one write path of the edit, progress and notice endpoints.
async fn apply_change(
    state: &AppState,
    caller: &Caller,
    id: u64,
    version: Option<u64>,
    change: TaskChange,
    now: chrono::DateTime<Utc>,
) -> Result<ApiJson<TaskDetail>, ApiError> {
    let task = state
        .store
        .supervision()
        .change_task(TaskId(id), version, change, actor_ref(caller), now)
        .await?;
    Ok(ApiJson(detail(state, &task).await?))
}

async fn detail(state: &AppState, task: &Task) -> Result<TaskDetail, ApiError> {
    let history = state.store.supervision().task_history(task.id).await?;
    let check = verify_task_chain(task.id, &history);
    Ok(TaskDetail {
        task: view(task, &state.store.reference(), state.clock.now()),
        chain: ChainCheck {
            ok: check.is_ok(),
            events: history.len(),
            problem: check.err().map(|e| e.to_string()),
        },
        history,
    })
}

/// One task with its history and the check of its hash chain.
#[utoipa::path(get, path = "/api/supervision/tasks/{id}", tag = "supervision",
    params(("id" = u64, Path, description = "task number")),
    responses((status = 200, body = TaskDetail)), security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<TaskDetail>, ApiError> {
    let task = load_visible(&state, &caller, id).await?;
    Ok(ApiJson(detail(&state, &task).await?))
}

// ---------------------------------------------------------------- changes

/// A change of lead, co-departments, deadline or baseline; absent fields stay as they are.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct EditRequest {
    /// The lead department's code; `""` removes the lead.
    pub lead: Option<String>,
    pub co_departments: Option<Vec<String>>,
    /// The new last day, `YYYY-MM-DD`.
    #[schema(value_type = Option<String>, format = Date)]
    pub deadline: Option<NaiveDate>,
    /// The value progress is counted from; null keeps it (send `clear_baseline` to remove it).
    pub baseline: Option<f64>,
    #[serde(default)]
    pub clear_baseline: bool,
    /// The version you saw; refused if the task changed meanwhile.
    pub version: Option<u64>,
}

fn known_department(reference: &Reference, text: &str) -> Result<DepartmentCode, ApiError> {
    let code = DepartmentCode::parse(text.trim())
        .map_err(|e| ApiError::invalid(format!("department {text:?}: {e}")))?;
    if reference.departments.get(&code).is_none() {
        return Err(ApiError::invalid(format!(
            "there is no department {code}; see GET /api/departments"
        )));
    }
    Ok(code)
}

/// 调整: lead (主办), co-departments (协办), deadline, baseline. Supervisors and commanders only.
#[utoipa::path(put, path = "/api/supervision/tasks/{id}", tag = "supervision",
    params(("id" = u64, Path, description = "task number")), request_body = EditRequest,
    responses((status = 200, body = TaskDetail)), security(("bearer" = [])))]
pub async fn edit(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<u64>,
    ApiJson(request): ApiJson<EditRequest>,
) -> Result<ApiJson<TaskDetail>, ApiError> {
    require_all(&caller, "change a supervision task")?;
    let reference = state.store.reference();
    let lead = match request.lead.as_deref() {
        None => None,
        Some(text) if text.trim().is_empty() => Some(None),
        Some(text) => Some(Some(known_department(&reference, text)?)),
    };
    let co_departments = request
        .co_departments
        .as_ref()
        .map(|list| {
            list.iter()
                .filter(|t| !t.trim().is_empty())
                .map(|t| known_department(&reference, t))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let baseline = if request.clear_baseline {
        Some(None)
    } else {
        request.baseline.map(Some)
    };
    let change = TaskChange::Edit {
        lead,
        co_departments,
        deadline: request.deadline,
        baseline,
    };
    apply_change(
        &state,
        &caller,
        id,
        request.version,
        change,
        state.clock.now(),
    )
    .await
}

/// A progress report: the value reached so far, with evidence and a note.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ProgressRequest {
    /// The value to date, in the target's unit.
    pub value: f64,
    #[serde(default)]
    pub evidence: Vec<String>,
    #[serde(default)]
    pub note: String,
    pub version: Option<u64>,
}

/// 进度报送, by a handler of the task's lead department. A value that meets the target also
/// records the task as done.
#[utoipa::path(post, path = "/api/supervision/tasks/{id}/progress", tag = "supervision",
    params(("id" = u64, Path, description = "task number")), request_body = ProgressRequest,
    responses((status = 200, body = TaskDetail)), security(("bearer" = [])))]
pub async fn progress(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<u64>,
    ApiJson(request): ApiJson<ProgressRequest>,
) -> Result<ApiJson<TaskDetail>, ApiError> {
    let task = load_visible(&state, &caller, id).await?;
    let leads = match (&caller.person.scope.department, caller.role()) {
        (Some(department), Role::DepartmentHandler) => task.spec.lead.as_ref() == Some(department),
        _ => false,
    };
    if !leads {
        return Err(ApiError::forbidden(format!(
            "progress on task {id} is reported by its lead department ({}); {} is not one of its handlers",
            task.spec
                .lead
                .as_ref()
                .map(|d| department_name(&state.store.reference(), d))
                .unwrap_or_else(|| "not assigned yet".to_string()),
            caller.person.id
        )));
    }
    if request.evidence.len() > 20 || request.note.chars().count() > 2000 {
        return Err(ApiError::invalid(
            "give at most 20 pieces of evidence and a note of at most 2,000 characters",
        ));
    }
    let change = TaskChange::Progress {
        value: request.value,
        evidence: request
            .evidence
            .iter()
            .map(|e| e.trim().to_string())
            .filter(|e| !e.is_empty())
            .collect(),
        note: request.note.trim().to_string(),
    };
    apply_change(
        &state,
        &caller,
        id,
        request.version,
        change,
        state.clock.now(),
    )
    .await
}

/// A 督办 notice.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NoticeRequest {
    /// What is expected of the lead department.
    pub note: String,
    /// Working days the lead department has to report progress (default 5; 0: no limit).
    pub respond_within_working_days: Option<u32>,
    pub version: Option<u64>,
}

/// 督办: a supervisor or commander issues a notice on a task; the lead department must report
/// progress within the given working days (the district's working calendar).
#[utoipa::path(post, path = "/api/supervision/tasks/{id}/notices", tag = "supervision",
    params(("id" = u64, Path, description = "task number")), request_body = NoticeRequest,
    responses((status = 200, body = TaskDetail)), security(("bearer" = [])))]
pub async fn notice(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<u64>,
    ApiJson(request): ApiJson<NoticeRequest>,
) -> Result<ApiJson<TaskDetail>, ApiError> {
    require_all(&caller, "issue a 督办 notice")?;
    if request.note.chars().count() > 2000 {
        return Err(ApiError::invalid(
            "the note is longer than 2,000 characters",
        ));
    }
    let now = state.clock.now();
    let days = request
        .respond_within_working_days
        .unwrap_or(DEFAULT_RESPOND_DAYS);
    if days > 250 {
        return Err(ApiError::invalid(
            "respond_within_working_days: give at most 250 working days",
        ));
    }
    let respond_by = if days == 0 {
        None
    } else {
        let reference = state.store.reference();
        let minutes = i64::from(days) * reference.calendar.hours().minutes_per_day();
        Some(
            reference
                .calendar
                .add_working_minutes(now, minutes)
                .map_err(onegrid_core::WorkflowError::from)?,
        )
    };
    let change = TaskChange::Notice {
        note: request.note,
        respond_by,
    };
    apply_change(&state, &caller, id, request.version, change, now).await
}

// ---------------------------------------------------------------- import

/// The report as JSON (or send multipart/form-data with `file`, `name`, `year`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ImportRequest {
    /// The report's text.
    pub text: String,
    /// The report's name (default: 「<year>年政府工作报告」).
    pub name: Option<String>,
    /// The year the report plans for (default: the year its headings name).
    pub year: Option<i32>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ImportQuery {
    /// Only extract and show the targets; store nothing.
    #[serde(default)]
    pub preview: bool,
}

/// One target that becomes a task.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportItem {
    pub indicator: String,
    pub value: f64,
    pub unit: String,
    pub cmp: String,
    pub target: String,
    pub section: String,
    pub quote: String,
    pub start: usize,
    pub end: usize,
    /// The line (from 1) of the report where the quote starts.
    pub line: usize,
    /// The suggested lead department (keyword rules; docs/supervision.md).
    pub lead: Option<String>,
    pub lead_name: Option<String>,
    pub co_departments: Vec<String>,
    pub co_names: Vec<String>,
}

/// A quantified item that does not become a task: an achievement (`kind` achievement, period
/// `past`) or a target of another period (a plan period such as `十四五`, or a later year).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OtherItem {
    pub indicator: String,
    pub value: f64,
    pub unit: String,
    pub cmp: String,
    /// `≥ 60 家`
    pub target: String,
    /// target or achievement
    pub kind: String,
    /// past, a plan period (`十四五`) or a year (`2025`).
    pub period: String,
    pub section: String,
    pub quote: String,
    pub start: usize,
    pub end: usize,
    pub line: usize,
}

/// One cleaning step, as `onegrid report extract` reports it, with where it is in the report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CleaningStepView {
    /// encoding, invisible_character, full_width, footnote_mark, traditional_form, page_header,
    /// continuation_mark, running_title, page_furniture, column_break_join, space_between_hanzi,
    /// repeated_passage (docs/workreport.md).
    pub kind: String,
    /// Character offsets into the report (after decoding; 0–0 for the encoding step).
    pub start: usize,
    pub end: usize,
    /// Line (from 1) and column (characters, from 1) of `start`.
    pub line: usize,
    pub column: usize,
    /// What was removed or replaced (line ends shown as ⏎; a long passage keeps its first and
    /// last 60 characters around an ellipsis) and how many characters it had.
    pub original: String,
    pub original_chars: usize,
    /// What replaced it; empty when it was removed.
    pub replacement: String,
    /// Up to 16 characters of the report on each side, for context.
    pub before: String,
    pub after: String,
    pub note: String,
    /// The step as `onegrid report extract` prints it: `at 2–9 page_header: 「14 | 要闻」 removed`.
    pub text: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportAnswer {
    pub name: String,
    pub year: i32,
    /// Whether tasks were stored (false for a preview).
    pub stored: bool,
    /// The encoding the file was read in: `UTF-8`, `GB18030` (GBK is its subset), `Big5`,
    /// `UTF-16LE`, `UTF-16BE`. A JSON body is UTF-8.
    pub encoding: String,
    /// The file was converted to UTF-8 from `encoding`.
    pub converted: bool,
    /// Every cleaning step, in the extractor's order (the encoding first when the file was converted).
    pub steps: Vec<CleaningStepView>,
    /// Quantified items found in the report (targets and achievements of every period).
    pub items_found: usize,
    /// This year's targets: each becomes a task.
    pub targets: Vec<ImportItem>,
    /// The other quantified items (achievements, targets of a plan period or a later year), which
    /// do not become tasks.
    pub others: Vec<OtherItem>,
    /// Tasks per lead department code (`""` for tasks without a lead yet).
    pub per_department: BTreeMap<String, usize>,
    /// The stored tasks' numbers.
    pub task_ids: Vec<u64>,
}

/// Where characters are in a text: line starts, for line and column numbers.
struct Lines {
    chars: Vec<char>,
    /// Character offset of each line's first character.
    starts: Vec<usize>,
}

impl Lines {
    fn new(text: &str) -> Lines {
        let chars: Vec<char> = text.chars().collect();
        let mut starts = vec![0];
        starts.extend(
            chars
                .iter()
                .enumerate()
                .filter(|(_, c)| **c == '\n')
                .map(|(i, _)| i + 1),
        );
        Lines { chars, starts }
    }

    /// Line and column (both from 1) of a character offset.
    fn position(&self, offset: usize) -> (usize, usize) {
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        (line, offset - self.starts[line - 1] + 1)
    }

    fn visible(&self, from: usize, to: usize) -> String {
        let to = to.min(self.chars.len());
        self.chars[from.min(to)..to]
            .iter()
            .map(|&c| if c == '\n' { '⏎' } else { c })
            .filter(|&c| c != '\r')
            .collect()
    }
}

/// Line ends as ⏎; more than 160 characters keep their first and last 60 around an ellipsis.
fn excerpt(text: &str) -> String {
    let chars: Vec<char> = text
        .chars()
        .filter(|&c| c != '\r')
        .map(|c| if c == '\n' { '⏎' } else { c })
        .collect();
    if chars.len() <= 160 {
        return chars.into_iter().collect();
    }
    let head: String = chars[..60].iter().collect();
    let tail: String = chars[chars.len() - 60..].iter().collect();
    format!("{head} … {tail}")
}

fn step_view(step: &CleaningStep, lines: &Lines) -> CleaningStepView {
    let (line, column) = lines.position(step.start);
    const CONTEXT: usize = 16;
    CleaningStepView {
        kind: step.kind.name().to_string(),
        start: step.start,
        end: step.end,
        line,
        column,
        original: excerpt(&step.original),
        original_chars: step.original.chars().count(),
        replacement: excerpt(&step.replacement),
        before: lines.visible(step.start.saturating_sub(CONTEXT), step.start),
        after: lines.visible(step.end, step.end + CONTEXT),
        note: step.note.clone(),
        text: step.to_string(),
    }
}

fn other_item(item: &Item, lines: &Lines) -> OtherItem {
    let cmp = cmp_of(item.cmp);
    OtherItem {
        indicator: item.indicator.clone(),
        value: item.value,
        unit: item.unit.clone(),
        cmp: cmp.as_str().to_string(),
        target: target_text(cmp, item.value, &item.unit),
        kind: item.kind.as_str().to_string(),
        period: item.period.label(),
        section: item.section.clone(),
        quote: item.quote.clone(),
        start: item.start,
        end: item.end,
        line: lines.position(item.start).0,
    }
}

fn cmp_of(comparator: Comparator) -> Cmp {
    match comparator {
        Comparator::AtLeast => Cmp::AtLeast,
        Comparator::MoreThan => Cmp::MoreThan,
        Comparator::AtMost => Cmp::AtMost,
        Comparator::LessThan => Cmp::LessThan,
        Comparator::Equal => Cmp::Equal,
    }
}

/// Why a report cannot become tasks.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the report names no year in its headings (such as 「三、2021年主要工作安排」); give the year")]
    NoYear,
    #[error("the year {0} is not plausible; give the year the report plans for, such as 2021")]
    BadYear(i32),
    #[error("the report has no target for its year (no quantified item in this year's sections), so there is nothing to supervise")]
    NoTargets,
}

/// The tasks a report's extraction makes: its year's targets (kind `target`, period `this_year`),
/// each with departments suggested by `suggest_departments` among `reference`'s departments and
/// the deadline at the end of the year.
pub fn tasks_from_extraction(
    extraction: &Extraction,
    name: Option<&str>,
    year: Option<i32>,
    reference: &Reference,
) -> Result<(String, i32, Vec<NewTask>), ImportError> {
    let year = year.or(extraction.report_year).ok_or(ImportError::NoYear)?;
    if !(1949..=2200).contains(&year) {
        return Err(ImportError::BadYear(year));
    }
    let name = name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| format!("{year}年政府工作报告"));
    let known = |code: &str| {
        DepartmentCode::parse(code)
            .ok()
            .is_some_and(|c| reference.departments.get(&c).is_some())
    };
    let tasks: Vec<NewTask> = extraction
        .items
        .iter()
        .filter(|item| item.kind == Kind::Target && item.period == Period::ThisYear)
        .map(|item| {
            let (lead, co_departments) = suggest_departments(&item.indicator, &item.quote, &known);
            NewTask {
                report: name.clone(),
                year,
                section: item.section.clone(),
                indicator: item.indicator.clone(),
                value: item.value,
                unit: item.unit.clone(),
                cmp: cmp_of(item.cmp),
                quote: item.quote.clone(),
                start: item.start,
                end: item.end,
                lead,
                co_departments,
                deadline: default_deadline(year),
            }
        })
        .collect();
    if tasks.is_empty() {
        return Err(ImportError::NoTargets);
    }
    Ok((name, year, tasks))
}

/// Tasks per lead department code (`""`: no lead yet).
pub fn per_department(tasks: &[NewTask]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for task in tasks {
        *counts
            .entry(
                task.lead
                    .as_ref()
                    .map(|d| d.as_str().to_string())
                    .unwrap_or_default(),
            )
            .or_insert(0) += 1;
    }
    counts
}

/// Refuses a second import of the same report (name and year).
pub async fn check_not_imported(
    store: &dyn onegrid_store::Store,
    name: &str,
    year: i32,
) -> Result<(), ApiError> {
    let existing = store.supervision().tasks().await?;
    if existing
        .iter()
        .any(|t| t.spec.report == name && t.spec.year == year)
    {
        return Err(ApiError::conflict(
            "already_imported",
            format!("the report 「{name}」 of {year} was imported already; its tasks are in the list (give another name to import a different report)"),
        ));
    }
    Ok(())
}

/// Import a work report: its year's targets become supervision tasks (`?preview=true`: only show
/// them). JSON `{text, name?, year?}` or multipart/form-data with `file` (UTF-8 or GBK text),
/// `name`, `year`. Supervisors and commanders only.
#[utoipa::path(post, path = "/api/supervision/import", tag = "supervision", params(ImportQuery),
    request_body(content = ImportRequest, description = "JSON, or multipart/form-data with file, name, year"),
    responses((status = 200, body = ImportAnswer), (status = 201, body = ImportAnswer)),
    security(("bearer" = [])))]
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ImportQuery>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    require_all(&caller, "import a work report")?;
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let (text, encoding, extraction, name, year) = if is_multipart {
        let ApiMultipart(mut multipart) =
            <ApiMultipart as axum::extract::FromRequest<AppState>>::from_request(request, &state)
                .await?;
        let (mut bytes, mut name, mut year) = (None, None, None);
        while let Some(field) = multipart.next_field().await? {
            match field.name().unwrap_or_default() {
                "file" | "text" => bytes = Some(field.bytes().await?.to_vec()),
                "name" => name = Some(field.text().await?),
                "year" => {
                    let text = field.text().await?;
                    if !text.trim().is_empty() {
                        year = Some(text.trim().parse::<i32>().map_err(|_| {
                            ApiError::invalid(format!("year: {text:?} is not a year"))
                        })?);
                    }
                }
                _ => {}
            }
        }
        let bytes =
            bytes.ok_or_else(|| ApiError::invalid("send the report as the form field `file`"))?;
        let (decoded, extraction) = read_report(&bytes, DEFAULT_MAX_BYTES)
            .map_err(|e| ApiError::invalid(format!("the file cannot be read as a report: {e}")))?;
        (decoded.text, decoded.encoding, extraction, name, year)
    } else {
        let ApiJson(body) =
            <ApiJson<ImportRequest> as axum::extract::FromRequest<AppState>>::from_request(
                request, &state,
            )
            .await?;
        if body.text.trim().is_empty() {
            return Err(ApiError::invalid("the report text is empty"));
        }
        let extraction = extract(&body.text);
        (body.text, "UTF-8", extraction, body.name, body.year)
    };
    let lines = Lines::new(&text);
    drop(text);
    let reference = state.store.reference();
    let (name, year, tasks) = tasks_from_extraction(&extraction, name.as_deref(), year, &reference)
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    let targets = tasks
        .iter()
        .map(|t| ImportItem {
            indicator: t.indicator.clone(),
            value: t.value,
            unit: t.unit.clone(),
            cmp: t.cmp.as_str().to_string(),
            target: target_text(t.cmp, t.value, &t.unit),
            section: t.section.clone(),
            quote: t.quote.clone(),
            start: t.start,
            end: t.end,
            line: lines.position(t.start).0,
            lead: t.lead.as_ref().map(|d| d.as_str().to_string()),
            lead_name: t.lead.as_ref().map(|d| department_name(&reference, d)),
            co_departments: t
                .co_departments
                .iter()
                .map(|d| d.as_str().to_string())
                .collect(),
            co_names: t
                .co_departments
                .iter()
                .map(|d| department_name(&reference, d))
                .collect(),
        })
        .collect();
    let mut answer = ImportAnswer {
        name: name.clone(),
        year,
        stored: false,
        encoding: encoding.to_string(),
        converted: encoding != "UTF-8",
        steps: extraction
            .steps
            .iter()
            .map(|step| step_view(step, &lines))
            .collect(),
        items_found: extraction.items.len(),
        targets,
        others: extraction
            .items
            .iter()
            .filter(|item| !(item.kind == Kind::Target && item.period == Period::ThisYear))
            .map(|item| other_item(item, &lines))
            .collect(),
        per_department: per_department(&tasks),
        task_ids: Vec::new(),
    };
    if query.preview {
        return Ok((StatusCode::OK, ApiJson(answer)).into_response());
    }
    check_not_imported(state.store.as_ref(), &name, year).await?;
    let created = state
        .store
        .supervision()
        .create_tasks(tasks, actor_ref(&caller), state.clock.now())
        .await?;
    answer.stored = true;
    answer.task_ids = created.iter().map(|t| t.id.0).collect();
    Ok((StatusCode::CREATED, ApiJson(answer)).into_response())
}

// ---------------------------------------------------------------- reminders

/// A task that needs attention, and why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Reminder {
    pub task: TaskView,
    /// Why, in Chinese and English (behind, stale, overdue, a 督办 notice unanswered past its limit).
    pub reasons_zh: Vec<String>,
    pub reasons_en: Vec<String>,
}

/// Why a task needs a reminder now, in Chinese and English: how far behind it is, and each 督办
/// notice whose response limit passed without a progress report. Empty when it needs none.
pub fn reasons(task: &TaskView, now: DateTime<Utc>) -> (Vec<String>, Vec<String>) {
    let mut zh = Vec::new();
    let mut en = Vec::new();
    if !task.behind_zh.is_empty() {
        zh.push(task.behind_zh.clone());
        en.push(task.behind_en.clone());
    }
    if task.status != "done" {
        for notice in &task.notices {
            if let Some(by) = notice.respond_by {
                if !notice.answered && by < now {
                    let day = by.with_timezone(&TIMEZONE).format("%Y-%m-%d %H:%M");
                    zh.push(format!("督办要求 {day} 前报送进度，尚未报送"));
                    en.push(format!(
                        "a 督办 notice asked for progress by {day}; none came"
                    ));
                }
            }
        }
    }
    (zh, en)
}

/// The reminders among `views`: tasks overdue or at risk, and tasks with a 督办 notice whose
/// response limit passed without a progress report; overdue first, then the most behind.
pub fn reminders_of(views: Vec<TaskView>, now: DateTime<Utc>) -> Vec<Reminder> {
    let mut out: Vec<Reminder> = views
        .into_iter()
        .filter_map(|task| {
            let (zh, en) = reasons(&task, now);
            (!zh.is_empty()).then_some(Reminder {
                task,
                reasons_zh: zh,
                reasons_en: en,
            })
        })
        .collect();
    let rank = |s: &str| match s {
        "overdue" => 0,
        "at_risk" => 1,
        _ => 2,
    };
    out.sort_by(|a, b| {
        rank(&a.task.status)
            .cmp(&rank(&b.task.status))
            .then(b.task.days_overdue.cmp(&a.task.days_overdue))
            .then(b.task.behind_points.total_cmp(&a.task.behind_points))
            .then(a.task.id.cmp(&b.task.id))
    });
    out
}

/// Tasks that need a reminder or a 督办 notice: overdue, at risk (behind time or without a
/// progress report for 60 days), or with a notice unanswered past its limit. Each task carries
/// the reminders the sweep recorded (`task.reminders`).
#[utoipa::path(get, path = "/api/supervision/reminders", tag = "supervision", params(ListQuery),
    responses((status = 200, body = [Reminder])), security(("bearer" = [])))]
pub async fn reminders(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<ApiJson<Vec<Reminder>>, ApiError> {
    let now = state.clock.now();
    let views = visible(&state, &caller, &query, now).await?;
    Ok(ApiJson(reminders_of(views, now)))
}

/// How often `onegrid serve` runs the reminder sweep (and at start, and whenever the business
/// clock is moved on a test server). Reminders are days apart, so an hour is prompt enough.
pub const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// The person the sweep records its reminders as.
pub const SWEEP_ACTOR: &str = "onegrid-reminders";

/// One reminder the sweep recorded.
#[derive(Debug, Clone, Serialize)]
pub struct Recorded {
    pub task: u64,
    pub indicator: String,
    pub target: String,
    pub lead: Option<String>,
    pub status: String,
    pub reason: String,
}

/// The reminder sweep: records a `reminded` event in the history of every task that
/// `onegrid_core::supervision::reminder_due` says is due at `now` (at risk or overdue, and not
/// reminded nor given a 督办 notice within `REMIND_EVERY_WORKING_DAYS` working days; at once when
/// it fell overdue since). The reason is the reminder list's (how far behind, unanswered notices).
/// A task that changed between the read and the write is left to the next sweep.
pub async fn sweep_reminders(
    store: &dyn onegrid_store::Store,
    now: DateTime<Utc>,
) -> Result<Vec<Recorded>, SupervisionError> {
    let reference = store.reference();
    let actor = ActorRef {
        person: onegrid_core::PersonId::parse(SWEEP_ACTOR)
            .map_err(|e| SupervisionError::Task(TaskError::Invalid(e.to_string())))?,
        role: Role::Admin,
    };
    let mut recorded = Vec::new();
    for task in store.supervision().tasks().await? {
        let assessment = task.assess(now);
        match reminder_due(&task, &assessment, now, &reference.calendar) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(error) => {
                tracing::warn!(task = task.id.0, %error, "reminder sweep: the working calendar does not cover this task's time");
                continue;
            }
        }
        let shown = view(&task, &reference, now);
        let (zh, _) = reasons(&shown, now);
        let change = TaskChange::Remind {
            status: assessment.status,
            reason: zh.join("；"),
        };
        match store
            .supervision()
            .change_task(task.id, Some(task.version), change, actor.clone(), now)
            .await
        {
            Ok(_) => recorded.push(Recorded {
                task: task.id.0,
                indicator: shown.indicator,
                target: shown.target,
                lead: shown.lead_name,
                status: shown.status,
                reason: zh.join("；"),
            }),
            // Changed meanwhile (someone acted on it): the next sweep looks again.
            Err(SupervisionError::VersionConflict { .. }) => {}
            Err(SupervisionError::Task(error)) => {
                tracing::warn!(task = task.id.0, %error, "reminder sweep: the task refused a reminder");
            }
            Err(error) => return Err(error),
        }
    }
    Ok(recorded)
}

/// Runs the reminder sweep beside the server: at start, every [`SWEEP_EVERY`], and whenever the
/// business clock is moved (a training or test server), with the business clock's time.
pub async fn run_reminders(state: AppState) {
    let mut moved = state.clock.subscribe();
    loop {
        match sweep_reminders(state.store.as_ref(), state.clock.now()).await {
            Ok(recorded) if !recorded.is_empty() => tracing::info!(
                reminders = recorded.len(),
                every_working_days = REMIND_EVERY_WORKING_DAYS,
                "supervision tasks behind: reminders recorded"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "reminder sweep failed; retrying later"),
        }
        tokio::select! {
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
            changed = moved.changed() => {
                if changed.is_err() {
                    // The clock is gone with the state: keep the hourly sweep only.
                    tokio::time::sleep(SWEEP_EVERY).await;
                }
            }
        }
    }
}

// ---------------------------------------------------------------- 实效表

/// The 实效表 columns, one row per task.
pub const SHEET_HEADERS: [&str; 12] = [
    "编号",
    "篇章",
    "指标",
    "目标",
    "最新实际",
    "完成进度",
    "状态",
    "主办",
    "协办",
    "截止日期",
    "落后情况",
    "原文",
];

/// One row of the 实效表, as text (the CSV and the XLSX hold the same text).
pub fn sheet_row(task: &TaskView) -> [String; 12] {
    [
        task.id.to_string(),
        task.section.clone(),
        task.indicator.clone(),
        task.target.clone(),
        task.latest
            .as_ref()
            .map(|p| {
                format!(
                    "{}{}{}",
                    number(p.value),
                    if task.unit.is_empty() { "" } else { " " },
                    task.unit
                )
            })
            .unwrap_or_default(),
        format!("{:.0}%", task.progress_fraction * 100.0),
        task.status_zh.clone(),
        task.lead_name.clone().unwrap_or_default(),
        task.co_names.join("、"),
        task.deadline.to_string(),
        task.behind_zh.clone(),
        task.quote.clone(),
    ]
}

/// Counts by status for one group (a department or a section).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub total: usize,
    pub on_track: usize,
    pub at_risk: usize,
    pub overdue: usize,
    pub done: usize,
}

impl StatusCounts {
    fn add(&mut self, status: &str) {
        self.total += 1;
        match status {
            "on_track" => self.on_track += 1,
            "at_risk" => self.at_risk += 1,
            "overdue" => self.overdue += 1,
            _ => self.done += 1,
        }
    }

    fn cells(&self) -> [usize; 5] {
        [
            self.total,
            self.on_track,
            self.at_risk,
            self.overdue,
            self.done,
        ]
    }
}

const COUNT_HEADERS: [&str; 6] = ["正常推进", "进度滞后", "逾期未完成", "已完成", "完成率", ""];

/// Counts per lead department (name; 「未分配」 without one), in name order.
pub fn by_department(tasks: &[TaskView]) -> BTreeMap<String, StatusCounts> {
    let mut out: BTreeMap<String, StatusCounts> = BTreeMap::new();
    for task in tasks {
        out.entry(
            task.lead_name
                .clone()
                .unwrap_or_else(|| "未分配".to_string()),
        )
        .or_default()
        .add(&task.status);
    }
    out
}

/// Counts per section (the top heading), in order of first appearance.
pub fn by_section(tasks: &[TaskView]) -> Vec<(String, StatusCounts)> {
    let mut out: Vec<(String, StatusCounts)> = Vec::new();
    for task in tasks {
        let top = task
            .section
            .split(" › ")
            .next()
            .unwrap_or_default()
            .to_string();
        match out.iter_mut().find(|(name, _)| *name == top) {
            Some((_, counts)) => counts.add(&task.status),
            None => {
                let mut counts = StatusCounts::default();
                counts.add(&task.status);
                out.push((top, counts));
            }
        }
    }
    out
}

fn write_counts(
    sheet: &mut Worksheet,
    first: &str,
    rows: &[(String, StatusCounts)],
    header: &Format,
    wrap: &Format,
) -> Result<(), XlsxError> {
    let headers = [first, "任务数"]
        .into_iter()
        .chain(COUNT_HEADERS.into_iter().take(5));
    for (column, text) in (0u16..).zip(headers) {
        sheet.write_string_with_format(0, column, text, header)?;
    }
    for (row, (name, counts)) in (1u32..).zip(rows) {
        sheet.write_string_with_format(row, 0, name, wrap)?;
        for (column, value) in (1u16..).zip(counts.cells()) {
            sheet.write_number(row, column, value as f64)?;
        }
        let rate = if counts.total == 0 {
            0.0
        } else {
            counts.done as f64 / counts.total as f64
        };
        sheet.write_string(row, 6, format!("{:.0}%", rate * 100.0))?;
    }
    sheet.set_column_width(0, 40)?;
    sheet.set_column_range_width(1, 6, 11)?;
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

fn workbook(tasks: &[TaskView], caller: &Caller) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    workbook.set_properties(
        &rust_xlsxwriter::DocProperties::new()
            .set_title("实效表")
            .set_author(format!("onegrid · {}", caller.person.name))
            .set_comment("docs/supervision.md"),
    );
    let header = Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0xE8EEF5))
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
        .set_text_wrap();
    let wrap = Format::new().set_text_wrap().set_align(FormatAlign::Top);
    let colours = [
        ("正常推进", 0xDFF3E4),
        ("进度滞后", 0xFFF4CC),
        ("逾期未完成", 0xFBDADA),
        ("已完成", 0xE6E6E6),
    ];
    let sheet = workbook.add_worksheet();
    sheet.set_name("实效表")?;
    for (column, text) in (0u16..).zip(SHEET_HEADERS) {
        sheet.write_string_with_format(0, column, text, &header)?;
    }
    for (row, task) in (1u32..).zip(tasks) {
        for (column, text) in (0u16..).zip(sheet_row(task)) {
            let format = match column {
                6 => colours
                    .iter()
                    .find(|(name, _)| *name == text)
                    .map(|(_, rgb)| wrap.clone().set_background_color(Color::RGB(*rgb)))
                    .unwrap_or_else(|| wrap.clone()),
                _ => wrap.clone(),
            };
            sheet.write_string_with_format(row, column, &text, &format)?;
        }
    }
    for (column, width) in (0u16..).zip([6, 30, 24, 14, 12, 9, 10, 20, 20, 11, 28, 50]) {
        sheet.set_column_width(column, width)?;
    }
    sheet.set_freeze_panes(1, 3)?;
    sheet.autofilter(0, 0, tasks.len() as u32, SHEET_HEADERS.len() as u16 - 1)?;

    let departments: Vec<(String, StatusCounts)> = by_department(tasks).into_iter().collect();
    let sheet = workbook.add_worksheet();
    sheet.set_name("按部门")?;
    write_counts(sheet, "主办部门", &departments, &header, &wrap)?;
    let sections = by_section(tasks);
    let sheet = workbook.add_worksheet();
    sheet.set_name("按篇章")?;
    write_counts(sheet, "篇章", &sections, &header, &wrap)?;
    workbook.save_to_buffer()
}

fn attachment(kind: &'static str, name: &str, bytes: Vec<u8>) -> Result<Response, ApiError> {
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .map_err(ApiError::internal)?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        bytes,
    )
        .into_response())
}

fn file_day(now: DateTime<Utc>) -> String {
    now.with_timezone(&TIMEZONE).format("%Y%m%d").to_string()
}

/// The 实效表 as an Excel workbook: sheets 实效表 (one row per task, with the source quote),
/// 按部门 and 按篇章 (counts by status). Takes the list's filters; scoped like the list.
#[utoipa::path(get, path = "/api/supervision/export.xlsx", tag = "supervision", params(ListQuery),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>)),
    security(("bearer" = [])))]
pub async fn export_xlsx(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let tasks = visible(&state, &caller, &query, now).await?;
    let bytes = workbook(&tasks, &caller).map_err(ApiError::internal)?;
    attachment(
        XLSX_TYPE,
        &format!("onegrid-shixiaobiao-{}.xlsx", file_day(now)),
        bytes,
    )
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The 实效表 sheet as CSV (UTF-8 with a byte-order mark, so that Excel reads the Chinese).
#[utoipa::path(get, path = "/api/supervision/export.csv", tag = "supervision", params(ListQuery),
    responses((status = 200, content_type = "text/csv", body = String)),
    security(("bearer" = [])))]
pub async fn export_csv(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let tasks = visible(&state, &caller, &query, now).await?;
    let mut out = String::from("\u{feff}");
    out.push_str(&SHEET_HEADERS.join(","));
    out.push_str("\r\n");
    for task in &tasks {
        let row = sheet_row(task);
        out.push_str(
            &row.iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    attachment(
        "text/csv; charset=utf-8",
        &format!("onegrid-shixiaobiao-{}.csv", file_day(now)),
        out.into_bytes(),
    )
}
