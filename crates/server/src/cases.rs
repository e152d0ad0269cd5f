//! Case endpoints: report (JSON, or multipart with photos), list with filters and cursor pages, one
//! case with its history, workflow commands and merges. Reading goes through `policy`; what a role may
//! do to a case is decided by the domain core, which the store runs inside its transaction.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use onegrid_core::deadline::{colour, DeadlineColour};
use onegrid_core::history::verify_chain;
use onegrid_core::workflow::allowed_commands;
use onegrid_core::{
    AreaCode, CaseId, CaseState, CategoryCode, Channel, Command, DepartmentCode, Tier,
};
use onegrid_store::CaseFilter;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::intake::{self, IntakeOutcome, ReportRequest};
use crate::policy::{self, case_view, CaseView};
use crate::{AppState, ClientAddr};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/cases", post(report).get(list))
        .route("/api/cases/{id}", get(show))
        .route("/api/cases/{id}/commands", post(act))
        .route("/api/cases/{id}/merge", post(merge))
        .route("/api/cases/{id}/duplicates", get(duplicates))
}

/// Routes whose bodies carry photos (a larger body limit applies).
pub fn upload_routes() -> Router<AppState> {
    Router::new().route("/api/cases/upload", post(report_with_photos))
}

fn is_public_channel(caller: &Caller) -> bool {
    caller.role() == onegrid_core::Role::Citizen
}

/// 上报: reports a case. The cell is found from `location` (or given as `cell`); the category, when
/// absent, is the one suggested from the text; severity words raise the tier.
#[utoipa::path(post, path = "/api/cases", tag = "cases", security(("bearer" = [])),
    request_body = ReportRequest,
    responses((status = 201, body = IntakeOutcome), (status = 422, body = crate::error::Problem),
        (status = 429, body = crate::error::Problem)))]
pub async fn report(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    caller: Caller,
    ApiJson(request): ApiJson<ReportRequest>,
) -> Result<impl IntoResponse, ApiError> {
    if is_public_channel(&caller) {
        state.check_public_rate(client)?;
    }
    let outcome = intake::report(&state, &caller.person, request, state.clock.now()).await?;
    Ok((StatusCode::CREATED, ApiJson(outcome)))
}

/// 上报 with photos: a multipart body with a `report` part (the JSON of POST /api/cases) and up to
/// nine `photo` file parts.
#[utoipa::path(post, path = "/api/cases/upload", tag = "cases", security(("bearer" = [])),
    request_body(content_type = "multipart/form-data",
        description = "`report`: the JSON of POST /api/cases; `photo`: image files (JPEG, PNG, WebP, GIF, HEIF)"),
    responses((status = 201, body = IntakeOutcome), (status = 415, body = crate::error::Problem),
        (status = 413, body = crate::error::Problem)))]
pub async fn report_with_photos(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    caller: Caller,
    crate::error::ApiMultipart(mut multipart): crate::error::ApiMultipart,
) -> Result<impl IntoResponse, ApiError> {
    if is_public_channel(&caller) {
        state.check_public_rate(client)?;
    }
    let mut report_json: Option<String> = None;
    let photos = crate::photos::read_photo_parts(&state, &mut multipart, |name, text| {
        if name == "report" {
            report_json = Some(text);
            Ok(())
        } else {
            Err(ApiError::invalid(format!(
                "unexpected part {name:?}: send a `report` part and `photo` parts"
            )))
        }
    })
    .await?;
    let text = report_json.ok_or_else(|| {
        ApiError::invalid("send the report as a `report` part holding the JSON of POST /api/cases")
    })?;
    let mut request: ReportRequest = serde_json::from_str(&text)
        .map_err(|e| ApiError::invalid(format!("the `report` part is not a valid report: {e}")))?;
    request.photos.extend(photos);
    let outcome = intake::report(&state, &caller.person, request, state.clock.now()).await?;
    Ok((StatusCode::CREATED, ApiJson(outcome)))
}

/// Filters of the case list. Every one narrows it; the caller's scope always applies.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// An area code: its whole subtree (street 9 digits, community 12, cell 15).
    pub area: Option<String>,
    pub category: Option<String>,
    /// reported, accepted, rejected, handling, awaiting_verification, verified, closed, long_term, merged.
    pub state: Option<String>,
    /// grid, street or district.
    pub tier: Option<String>,
    /// The running deadline's colour now: green, yellow or red.
    pub colour: Option<String>,
    pub channel: Option<String>,
    /// Lead department code.
    pub department: Option<String>,
    /// Reported at or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Reported before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Words in the title or description.
    pub text: Option<String>,
    /// Cursor: the `next_after` of the previous page.
    pub after: Option<u64>,
    /// Page size (default 50, at most 500).
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CasePage {
    pub items: Vec<CaseView>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<u64>,
}

fn parse_with<T>(
    field: &str,
    value: Option<&str>,
    parse: impl Fn(&str) -> Option<T>,
    allowed: &str,
) -> Result<Option<T>, ApiError> {
    value
        .map(|v| {
            parse(v).ok_or_else(|| {
                ApiError::bad_request(format!("{field}: {v:?} is not one of: {allowed}"))
            })
        })
        .transpose()
}

/// The case list, oldest id first, one page at a time.
#[utoipa::path(get, path = "/api/cases", tag = "cases", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = CasePage), (status = 400, body = crate::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<ApiJson<CasePage>, ApiError> {
    let page = query.limit.unwrap_or(50);
    if page == 0 || page > state.config.max_page {
        return Err(ApiError::bad_request(format!(
            "limit: a page holds 1 to {} cases",
            state.config.max_page
        )));
    }
    let colour_wanted = parse_with(
        "colour",
        query.colour.as_deref(),
        DeadlineColour::parse,
        "green, yellow, red",
    )?;
    let mut filter = CaseFilter {
        area: query
            .area
            .as_deref()
            .map(AreaCode::parse)
            .transpose()
            .map_err(|e| ApiError::bad_request(format!("area: {e}")))?,
        state: parse_with(
            "state",
            query.state.as_deref(),
            CaseState::parse,
            &CaseState::ALL.map(CaseState::as_str).join(", "),
        )?,
        category: query
            .category
            .as_deref()
            .map(CategoryCode::parse)
            .transpose()
            .map_err(|e| ApiError::bad_request(format!("category: {e}")))?,
        department: query
            .department
            .as_deref()
            .map(DepartmentCode::parse)
            .transpose()
            .map_err(|e| ApiError::bad_request(format!("department: {e}")))?,
        tier: parse_with(
            "tier",
            query.tier.as_deref(),
            Tier::parse,
            "grid, street, district",
        )?,
        channel: parse_with(
            "channel",
            query.channel.as_deref(),
            Channel::parse,
            "a channel name",
        )?,
        reported_from: query.from,
        reported_to: query.to,
        text: query
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| t.chars().take(100).collect()),
        after: query.after.map(CaseId),
        limit: Some(page),
        ..CaseFilter::default()
    };
    let actor = caller.actor();
    policy::restrict_filter(&actor, &mut filter)?;
    let reference = state.store.reference();
    let now = state.clock.now();
    let mut items = Vec::new();
    let mut next_after = None;
    // The colour depends on the clock and the working calendar, so it is filtered here, scanning on
    // until the page is full (bounded, so a rare colour cannot make one request read everything).
    let mut scanned = 0usize;
    loop {
        let batch = state.store.list_cases(&filter).await?;
        let full_batch = batch.len() == filter.limit.unwrap_or(page);
        scanned += batch.len();
        for case in &batch {
            filter.after = Some(case.id);
            let keep = match colour_wanted {
                None => true,
                Some(wanted) => case.deadline.is_some_and(|d| {
                    !case.state.is_final()
                        && colour(&reference.calendar, &d, now).ok() == Some(wanted)
                }),
            };
            if keep && policy::may_read_case(&actor, case) {
                items.push(case_view(case, &actor, &reference, now));
                if items.len() == page {
                    break;
                }
            }
        }
        if items.len() == page {
            next_after = items.last().map(|c| c.id);
            break;
        }
        if !full_batch {
            break;
        }
        if scanned >= 20_000 {
            // Tell the client where the scan stopped, so it can go on.
            next_after = filter.after.map(|id| id.0);
            break;
        }
        filter.limit = Some(state.config.max_page);
    }
    Ok(ApiJson(CasePage { items, next_after }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDetail {
    pub case: CaseView,
    /// Every event, oldest first (personal data treated as for the case).
    #[schema(value_type = Vec<Object>)]
    pub history: Vec<Value>,
    /// Whether the hash chain of the history verifies.
    pub chain_verifies: bool,
    /// The commands the caller may give on the case now (for buttons).
    pub allowed_commands: Vec<String>,
}

/// One case with its history.
#[utoipa::path(get, path = "/api/cases/{id}", tag = "cases", security(("bearer" = [])),
    params(("id" = u64, Path, description = "case number")),
    responses((status = 200, body = CaseDetail), (status = 404, body = crate::error::Problem)))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<CaseDetail>, ApiError> {
    let case = load_readable(&state, &caller, id).await?;
    let history = state.store.history(case.id).await?;
    let actor = caller.actor();
    let reference = state.store.reference();
    let now = state.clock.now();
    let disclosure = policy::disclosure(&actor);
    Ok(ApiJson(CaseDetail {
        chain_verifies: verify_chain(case.id, &history).is_ok(),
        history: history
            .iter()
            .map(|e| policy::event_json(e, Some(&actor), disclosure))
            .collect(),
        allowed_commands: allowed_commands(&reference.rules(), &case, &actor, now)
            .into_iter()
            .map(str::to_string)
            .collect(),
        case: case_view(&case, &actor, &reference, now),
    }))
}

async fn load_readable(
    state: &AppState,
    caller: &Caller,
    id: u64,
) -> Result<onegrid_core::Case, ApiError> {
    match state.store.case(CaseId(id)).await {
        Ok(case) => policy::readable(caller, case),
        Err(onegrid_store::StoreError::CaseNotFound(_)) => Err(policy::not_visible(id)),
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActQuery {
    /// The case version you saw; the command is refused if the case changed since.
    pub expected_version: Option<u64>,
}

/// Gives a workflow command: `{"command": "accept"}`, `{"command": "dispatch", "department":
/// "chengguan"}`, `{"command": "feedback", "evidence": ["<photo id>"], "note": "已清理"}`,
/// `{"command": "verify", "passed": true}`, `{"command": "close"}`, `{"command": "rate", "score": 5}`…
/// The role, scope and state decide; a refusal says why and changes nothing.
#[utoipa::path(post, path = "/api/cases/{id}/commands", tag = "cases", security(("bearer" = [])),
    params(("id" = u64, Path, description = "case number"), ActQuery),
    request_body(content = Object, description = "a command: `command` names it (accept, reject, dispatch, self_settle, return, feedback, verify, close, rate, request_extension, approve_extension, deny_extension, set_long_term, resume_from_long_term, supervise, escalate) and the other fields are its input"),
    responses((status = 200, body = CaseView), (status = 403, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem)))]
pub async fn act(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<u64>,
    ApiQuery(query): ApiQuery<ActQuery>,
    ApiJson(command): ApiJson<Command>,
) -> Result<ApiJson<CaseView>, ApiError> {
    match command {
        Command::Report { .. } => {
            return Err(ApiError::invalid(
                "command: report a new case with POST /api/cases",
            ))
        }
        Command::MergeInto { .. } | Command::AbsorbDuplicate { .. } => {
            return Err(ApiError::invalid(
                "command: merge cases with POST /api/cases/{id}/merge",
            ))
        }
        _ => {}
    }
    load_readable(&state, &caller, id).await?;
    let actor = caller.actor();
    let now = state.clock.now();
    let case = state
        .store
        .act(CaseId(id), query.expected_version, command, &actor, now)
        .await?;
    if case.state.is_final() {
        state.duplicates.forget(case.id.0);
    }
    Ok(ApiJson(case_view(
        &case,
        &actor,
        &state.store.reference(),
        now,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The case this one duplicates; it keeps every reporter.
    pub into: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MergeOutcome {
    pub source: CaseView,
    pub target: CaseView,
}

/// 合并: merges this case into the case it duplicates.
#[utoipa::path(post, path = "/api/cases/{id}/merge", tag = "cases", security(("bearer" = [])),
    params(("id" = u64, Path, description = "the duplicate")), request_body = MergeRequest,
    responses((status = 200, body = MergeOutcome), (status = 409, body = crate::error::Problem)))]
pub async fn merge(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<u64>,
    ApiJson(request): ApiJson<MergeRequest>,
) -> Result<ApiJson<MergeOutcome>, ApiError> {
    load_readable(&state, &caller, id).await?;
    load_readable(&state, &caller, request.into).await?;
    let actor = caller.actor();
    let now = state.clock.now();
    let (source, target) = state
        .store
        .merge(CaseId(id), CaseId(request.into), &actor, now)
        .await?;
    state.duplicates.forget(source.id.0);
    let reference = state.store.reference();
    Ok(ApiJson(MergeOutcome {
        source: case_view(&source, &actor, &reference, now),
        target: case_view(&target, &actor, &reference, now),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DuplicateCandidate {
    pub case: CaseView,
    /// Text similarity, 0 to 1.
    pub similarity: f32,
    pub distance_m: Option<f64>,
    pub hours_apart: f64,
}

/// Open cases that may report the same matter as this one (near in space, time and text), best
/// first, among those the caller may read: the dispatcher's merge suggestions.
#[utoipa::path(get, path = "/api/cases/{id}/duplicates", tag = "cases", security(("bearer" = [])),
    params(("id" = u64, Path, description = "case number")),
    responses((status = 200, body = Vec<DuplicateCandidate>), (status = 404, body = crate::error::Problem)))]
pub async fn duplicates(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<Vec<DuplicateCandidate>>, ApiError> {
    let case = load_readable(&state, &caller, id).await?;
    let actor = caller.actor();
    let reference = state.store.reference();
    let now = state.clock.now();
    let mut out = Vec::new();
    for candidate in state.duplicates.for_case(&case, 10) {
        let Ok(other) = state.store.case(CaseId(candidate.id)).await else {
            continue;
        };
        if other.state.is_final() || !policy::may_read_case(&actor, &other) {
            continue;
        }
        out.push(DuplicateCandidate {
            case: case_view(&other, &actor, &reference, now),
            similarity: candidate.similarity,
            distance_m: candidate.distance_m,
            hours_apart: candidate.hours_apart,
        });
    }
    Ok(ApiJson(out))
}
