//! Public opinion (舆情): short posts from the district's monitoring system (or entered by the desk)
//! are judged for relevance to the district's governance (`onegrid_text::relevance`), classified, and
//! either dismissed, opened as cases through the same intake as REST reports, attached to an open case
//! they duplicate, or left for a desk to place. Every post is recorded with what was decided
//! (`onegrid_store::opinions`), so the relevance model's misses can be counted from the desk's
//! overrides.
//!
//! Routes: `POST /api/opinions`, `GET /api/opinions`, `GET /api/opinions/{id}`,
//! `POST /api/opinions/{id}/place`. Guide: docs/api.md, "Public opinion (舆情)".

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Datelike, Utc};
use onegrid_core::area::AreaLevel;
use onegrid_core::{AreaCode, CaseId, Channel, Reporter, Role};
use onegrid_store::opinions::{
    Decision, GivenPlace, NewOpinion, Opinion, OpinionError, OpinionFilter, Placement, Settlement,
};
use onegrid_store::StoreError;
use onegrid_text::TextError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::intake::{self, IntakeOutcome, LocationInput, ReportRequest, Suggestion};
use crate::policy::{self, CaseView};
use crate::AppState;

/// Longest post text, in characters (after trimming).
pub const MAX_TEXT_CHARS: usize = 2_000;
/// Longest source name, in characters.
pub const MAX_SOURCE_CHARS: usize = 40;
/// Longest post URL, in characters.
pub const MAX_URL_CHARS: usize = 500;
/// Longest address, in characters.
pub const MAX_ADDRESS_CHARS: usize = 200;
/// Longest case title made from a post, in characters.
pub const MAX_TITLE_CHARS: usize = 60;
/// How far ahead of the server's clock `posted_at` may be (clock skew).
const FUTURE_SLACK_MINUTES: i64 = 5;
/// Posts dated before this year are refused as a wrong field.
const EARLIEST_POST_YEAR: i32 = 2000;

/// Who may send posts: the monitoring system's account and the desk.
const SENDERS: [Role; 3] = [Role::Integrator, Role::Commander, Role::Dispatcher];
/// Who may read the posts received.
const READERS: [Role; 3] = [Role::Dispatcher, Role::Commander, Role::Supervisor];
/// Who may place a post.
const PLACERS: [Role; 2] = [Role::Dispatcher, Role::Commander];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/opinions", post(submit).get(list))
        .route("/api/opinions/{id}", get(show))
        .route("/api/opinions/{id}/place", post(place))
}

/// A post as the monitoring system sends it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpinionRequest {
    /// The post's text (1–2,000 characters after trimming).
    #[schema(min_length = 1, max_length = 2000)]
    pub text: String,
    /// Where it was posted (1–40 characters), e.g. 微博, 抖音, 本地论坛.
    #[schema(min_length = 1, max_length = 40)]
    pub source: String,
    /// When it was posted (RFC 3339); not more than 5 minutes in the future.
    #[serde(default)]
    pub posted_at: Option<DateTime<Utc>>,
    /// The post's address (http or https, up to 500 characters).
    #[serde(default)]
    #[schema(max_length = 500)]
    pub url: Option<String>,
    /// Where it is about, when the post says (e.g. a geotag).
    #[serde(default)]
    pub location: Option<LocationInput>,
    /// The grid cell (15 digits), when known instead of a point.
    #[serde(default)]
    pub cell: Option<String>,
    /// The place as written (up to 200 characters).
    #[serde(default)]
    #[schema(max_length = 200)]
    pub address: Option<String>,
}

/// What the relevance model said.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct RelevanceView {
    /// `score >= threshold`: the post is about the district's governance.
    pub relevant: bool,
    /// The model's probability (0–1) that the post is about the district's governance.
    pub score: f32,
    /// The score from which a post is kept.
    pub threshold: f32,
}

/// What became of a post.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpinionOutcome {
    /// The post's number.
    pub id: u64,
    /// dismissed (not about governance), opened (a new case), attached (merged into an open case),
    /// needs_place (relevant, but a desk must say where it is).
    #[schema(value_type = String, example = "opened")]
    pub decision: Decision,
    pub relevance: RelevanceView,
    /// The category suggested from the text (relevant posts).
    pub suggestion: Option<Suggestion>,
    /// The case made from the post (opened; attached: the report, now merged).
    pub case: Option<CaseView>,
    /// The open case the post was attached to.
    pub merged_into: Option<u64>,
}

/// A coordinate pair as it was sent.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GivenLocation {
    pub lon: f64,
    pub lat: f64,
    pub crs: Option<String>,
}

/// An open case a post without a place resembles.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct CandidateView {
    pub case_id: u64,
    /// Text similarity, 0 to 1.
    pub similarity: f32,
}

/// A recorded post.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpinionView {
    pub id: u64,
    pub received_at: DateTime<Utc>,
    /// The account that sent it.
    pub received_by: String,
    pub posted_at: Option<DateTime<Utc>>,
    pub source: String,
    pub url: Option<String>,
    pub text: String,
    pub location: Option<GivenLocation>,
    pub cell: Option<String>,
    pub address: Option<String>,
    pub relevance: RelevanceView,
    /// The classifier's label and confidence (relevant or placed posts).
    pub label: Option<String>,
    pub confidence: Option<f32>,
    /// For a post without a place: the open case it resembles most.
    pub candidate: Option<CandidateView>,
    /// What intake decided on its own (a desk placing the post never changes it).
    #[schema(value_type = String, example = "needs_place")]
    pub auto_decision: Decision,
    /// The decision now (a desk may have placed it since).
    #[schema(value_type = String, example = "opened")]
    pub decision: Decision,
    /// The case it opened or was attached to.
    pub case_id: Option<u64>,
    /// The desk account that placed it, and when.
    pub placed_by: Option<String>,
    pub placed_at: Option<DateTime<Utc>>,
}

impl From<OpinionError> for ApiError {
    fn from(error: OpinionError) -> ApiError {
        let detail = error.to_string();
        match error {
            OpinionError::NotFound(_) => ApiError::not_found(detail),
            OpinionError::NotPlaceable { .. } => ApiError::conflict("not_placeable", detail),
            OpinionError::Invalid(_) => ApiError::invalid(detail),
            OpinionError::Store(inner) => inner.into(),
        }
    }
}

fn view(opinion: Opinion, threshold: f32) -> OpinionView {
    let location = match (opinion.place.lon, opinion.place.lat) {
        (Some(lon), Some(lat)) => Some(GivenLocation {
            lon,
            lat,
            crs: opinion.place.crs.clone(),
        }),
        _ => None,
    };
    OpinionView {
        id: opinion.id,
        received_at: opinion.received_at,
        received_by: opinion.received_by.to_string(),
        posted_at: opinion.posted_at,
        source: opinion.source,
        url: opinion.url,
        text: opinion.text,
        location,
        cell: opinion.place.cell,
        address: opinion.place.address,
        relevance: RelevanceView {
            relevant: opinion.relevant,
            score: opinion.relevance,
            threshold,
        },
        label: opinion.label,
        confidence: opinion.confidence,
        candidate: opinion.candidate.map(|(case, similarity)| CandidateView {
            case_id: case.0,
            similarity,
        }),
        auto_decision: opinion.auto_decision,
        decision: opinion.decision,
        case_id: opinion.case_id.map(|c| c.0),
        placed_by: opinion.placed_by.map(|p| p.to_string()),
        placed_at: opinion.placed_at,
    }
}

/// A post's fields, checked.
struct Checked {
    text: String,
    source: String,
    posted_at: Option<DateTime<Utc>>,
    url: Option<String>,
    place: GivenPlace,
    location: Option<LocationInput>,
    cell: Option<String>,
}

fn optional_text(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Checks a post's URL: absolute, http or https, with a host.
fn check_url(text: &str) -> Result<String, ApiError> {
    if text.chars().count() > MAX_URL_CHARS {
        return Err(ApiError::invalid(format!(
            "url: at most {MAX_URL_CHARS} characters"
        )));
    }
    let url = reqwest::Url::parse(text)
        .map_err(|e| ApiError::invalid(format!("url: {text:?} is not a web address ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ApiError::invalid(format!(
            "url: must start with http:// or https://, not {}://",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ApiError::invalid("url: the address has no host"));
    }
    Ok(url.to_string())
}

/// Checks a place: the point is placed in its cell (so a point outside the district is refused
/// before anything is recorded), a given cell must be one of the district's, and both must agree.
/// Returns the cell the place names, if any.
fn check_place(
    state: &AppState,
    location: Option<&LocationInput>,
    cell: Option<&str>,
) -> Result<Option<AreaCode>, ApiError> {
    let located = location
        .map(|location| intake::locate_input(state, location))
        .transpose()?;
    let given = match cell {
        Some(text) => {
            let code = AreaCode::parse(text.trim())
                .map_err(|e| ApiError::invalid(format!("cell: {e}")))?;
            let known = state.store.reference().areas.get(&code).is_some();
            if !known || code.level() != AreaLevel::Cell {
                return Err(ApiError::invalid(format!(
                    "cell: {code} is not a grid cell of this district; GET /api/areas lists them"
                )));
            }
            Some(code)
        }
        None => None,
    };
    match (located, given) {
        (Some((point, located)), Some(given)) if located != given => {
            Err(StoreError::PointNotInCell {
                lon: point.lon,
                lat: point.lat,
                given,
                located,
            }
            .into())
        }
        (_, Some(given)) => Ok(Some(given)),
        (Some((_, located)), None) => Ok(Some(located)),
        (None, None) => Ok(None),
    }
}

fn check(
    state: &AppState,
    request: OpinionRequest,
    now: DateTime<Utc>,
) -> Result<Checked, ApiError> {
    let text = request.text.trim().to_string();
    let chars = text.chars().count();
    if chars == 0 {
        return Err(ApiError::invalid("text: the post's text is empty"));
    }
    if chars > MAX_TEXT_CHARS {
        return Err(ApiError::invalid(format!(
            "text: the post is {chars} characters long; at most {MAX_TEXT_CHARS} are accepted"
        )));
    }
    let source = request.source.trim().to_string();
    if source.is_empty() || source.chars().count() > MAX_SOURCE_CHARS {
        return Err(ApiError::invalid(format!(
            "source: say where it was posted (e.g. 微博, 抖音, 本地论坛) in 1 to {MAX_SOURCE_CHARS} characters"
        )));
    }
    if let Some(posted_at) = request.posted_at {
        // Before any social network existed: a wrong field, not a post. (chrono also accepts signed
        // years such as -0001, which would not read back from the store.)
        if posted_at.year() < EARLIEST_POST_YEAR {
            return Err(ApiError::invalid(format!(
                "posted_at: {} is before {EARLIEST_POST_YEAR}; send the time the post was published",
                posted_at.to_rfc3339()
            )));
        }
        if posted_at > now + chrono::Duration::minutes(FUTURE_SLACK_MINUTES) {
            return Err(ApiError::invalid(format!(
                "posted_at: {} is in the future (the server's clock says {}); send the time the post was published",
                posted_at.to_rfc3339(),
                now.to_rfc3339()
            )));
        }
    }
    let url = optional_text(request.url)
        .map(|u| check_url(&u))
        .transpose()?;
    let address = optional_text(request.address);
    if address
        .as_ref()
        .is_some_and(|a| a.chars().count() > MAX_ADDRESS_CHARS)
    {
        return Err(ApiError::invalid(format!(
            "address: at most {MAX_ADDRESS_CHARS} characters"
        )));
    }
    let cell = optional_text(request.cell);
    check_place(state, request.location.as_ref(), cell.as_deref())?;
    Ok(Checked {
        text,
        source,
        posted_at: request.posted_at,
        url,
        place: GivenPlace {
            lon: request.location.as_ref().map(|l| l.lon),
            lat: request.location.as_ref().map(|l| l.lat),
            crs: request
                .location
                .as_ref()
                .and_then(|l| l.crs.as_deref())
                .map(|c| c.trim().to_string()),
            cell: cell.clone(),
            address,
        },
        location: request.location,
        cell,
    })
}

/// The case title of a post: its first clause, at most 60 characters.
pub fn title_of(text: &str) -> String {
    let first = text
        .split(['。', '！', '？', '!', '?', '\n', '；', ';'])
        .map(str::trim)
        .find(|part| !part.is_empty())
        .unwrap_or(text.trim());
    if first.chars().count() <= MAX_TITLE_CHARS {
        return first.to_string();
    }
    // Too long for one line: cut at the last comma that leaves a readable clause, else hard.
    let head: String = first.chars().take(MAX_TITLE_CHARS).collect();
    match head.rfind(['，', ',', '、']) {
        Some(at) if head[..at].chars().count() >= 8 => head[..at].to_string(),
        _ => head,
    }
}

/// The case description of a post: its text and where it came from.
pub fn description_of(text: &str, source: &str, url: Option<&str>) -> String {
    match url {
        Some(url) => format!("{text}（来源：{source} {url}）"),
        None => format!("{text}（来源：{source}）"),
    }
}

/// The report a post becomes, placed by `location` or `cell`.
fn report_request(
    text: &str,
    source: &str,
    url: Option<&str>,
    location: Option<LocationInput>,
    cell: Option<String>,
    address: Option<String>,
) -> ReportRequest {
    ReportRequest {
        title: title_of(text),
        description: description_of(text, source, url),
        channel: Some(Channel::PublicOpinion.as_str().to_string()),
        location,
        cell,
        address,
        ..ReportRequest::default()
    }
}

fn decision_of(outcome: &IntakeOutcome) -> (Decision, CaseId) {
    match outcome.merged_into {
        Some(target) => (Decision::Attached, CaseId(target)),
        None => (Decision::Opened, CaseId(outcome.case.id)),
    }
}

/// 舆情 intake: judges a post's relevance; a relevant one with a place opens a case through the
/// same intake as POST /api/cases (classification, severity, duplicates, automatic merge); one
/// without a place is attached to the open case it duplicates by text and time, or left for a desk
/// (`needs_place`). Every post is recorded, dismissed ones too. 201 when a case was made, else 200.
#[utoipa::path(post, path = "/api/opinions", tag = "opinions", security(("bearer" = [])),
    request_body = OpinionRequest,
    responses(
        (status = 200, body = OpinionOutcome, description = "recorded without a case: dismissed or needs_place"),
        (status = 201, body = OpinionOutcome, description = "a case was opened, or the post was attached to one"),
        (status = 403, body = crate::error::Problem, description = "only the monitoring system's account (integrator), a dispatcher or the command center send posts"),
        (status = 422, body = crate::error::Problem, description = "a field is invalid (e.g. a text with no words, only symbols or emoji), or the point is outside the district")))]
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<OpinionRequest>,
) -> Result<impl IntoResponse, ApiError> {
    policy::require_role(&caller, &SENDERS, "send public-opinion posts (舆情)")?;
    let now = state.clock.now();
    let post = check(&state, request, now)?;
    let judgement = state
        .relevance
        .judge(&post.text)
        .map_err(|error| match error {
            // Nothing to read (only symbols, emoji or punctuation): the sender's input, not our fault.
            TextError::Empty | TextError::NoContent => ApiError::invalid(format!("text: {error}")),
            other => ApiError::internal(other),
        })?;
    let relevance = RelevanceView {
        relevant: judgement.relevant,
        score: judgement.score,
        threshold: state.relevance.threshold(),
    };
    let mut record = NewOpinion {
        received_at: now,
        received_by: caller.person.id.clone(),
        posted_at: post.posted_at,
        source: post.source.clone(),
        url: post.url.clone(),
        text: post.text.clone(),
        place: post.place.clone(),
        relevance: judgement.score,
        relevant: judgement.relevant,
        label: None,
        confidence: None,
        candidate: None,
        decision: Decision::Dismissed,
        case_id: None,
    };
    let mut outcome = OpinionOutcome {
        id: 0,
        decision: Decision::Dismissed,
        relevance,
        suggestion: None,
        case: None,
        merged_into: None,
    };
    if judgement.relevant {
        // Its own place, or else the cell of the open case it duplicates (intake then merges it there).
        let place = if post.location.is_some() || post.cell.is_some() {
            Some((post.location.clone(), post.cell.clone()))
        } else {
            attach_target(&state, &post, &mut record, now)
                .await?
                .map(|cell| (None, Some(cell.to_string())))
        };
        let request = place.map(|(location, cell)| {
            report_request(
                &post.text,
                &post.source,
                post.url.as_deref(),
                location,
                cell,
                post.place.address.clone(),
            )
        });
        // Recorded first, as waiting for a place: if making its case fails, the desk still sees the
        // post (and can place it), rather than a case existing with no post behind it.
        record.decision = Decision::NeedsPlace;
        if request.is_none() {
            outcome.suggestion =
                intake::suggest(&state.classifier, &state.store.reference(), &post.text);
            record.label = outcome.suggestion.as_ref().map(|s| s.label.clone());
            record.confidence = outcome.suggestion.as_ref().map(|s| s.confidence);
        }
        let stored = state.store.opinions().record_opinion(record).await?;
        outcome.id = stored.id;
        outcome.decision = stored.decision;
        if let Some(request) = request {
            let intake = intake::report(&state, &caller.person, request, now)
                .await
                .inspect_err(|error| {
                    tracing::warn!(%error, post = stored.id, "no case for a relevant post; it waits for the desk");
                })?;
            let (decision, case_id) = decision_of(&intake);
            let settlement = Settlement {
                decision,
                case_id,
                label: intake.suggestion.as_ref().map(|s| s.label.clone()),
                confidence: intake.suggestion.as_ref().map(|s| s.confidence),
            };
            match state
                .store
                .opinions()
                .settle_opinion(stored.id, settlement)
                .await
            {
                Ok(settled) => outcome.decision = settled.decision,
                // A desk placed the post in the moment between: its case stands, and this one
                // duplicates it (the duplicate check proposes the pair).
                Err(OpinionError::NotPlaceable { .. }) => {
                    tracing::warn!(
                        post = stored.id,
                        case = case_id.0,
                        "post placed by the desk while intake made its case"
                    )
                }
                Err(other) => return Err(other.into()),
            }
            outcome.merged_into = intake.merged_into;
            outcome.case = Some(intake.case);
            outcome.suggestion = intake.suggestion;
        }
    } else {
        let stored = state.store.opinions().record_opinion(record).await?;
        outcome.id = stored.id;
        outcome.decision = stored.decision;
    }
    let status = if outcome.case.is_some() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, ApiJson(outcome)))
}

/// For a relevant post without a place: the cell of the open case it duplicates by text and time
/// (similarity at or above `merge_at`, automatic merging on), so that intake, reporting it there,
/// merges it into that case. The best candidate is remembered on the record either way, for the desk.
async fn attach_target(
    state: &AppState,
    post: &Checked,
    record: &mut NewOpinion,
    now: DateTime<Utc>,
) -> Result<Option<AreaCode>, ApiError> {
    let title = title_of(&post.text);
    let description = description_of(&post.text, &post.source, post.url.as_deref());
    // The text exactly as intake will sign the report, so both checks see the same signature.
    let signature = onegrid_text::duplicates::signature(&intake::case_text(&title, &description));
    let candidates = state.duplicates.candidates_anywhere(now, &signature, 5);
    let Some(best) = candidates.first() else {
        return Ok(None);
    };
    record.candidate = Some((CaseId(best.id), best.similarity));
    if !state.config.auto_merge_duplicates || best.similarity < state.duplicates.config().merge_at {
        return Ok(None);
    }
    match state.store.case(CaseId(best.id)).await {
        Ok(case) if !case.state.is_final() => Ok(Some(case.cell)),
        // Closed or merged meanwhile: nothing to attach to.
        Ok(_) | Err(StoreError::CaseNotFound(_)) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// Filters of the post list. Every one narrows it.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OpinionQuery {
    /// dismissed, opened, attached or needs_place.
    pub decision: Option<String>,
    /// The source, exactly as sent (e.g. 微博).
    pub source: Option<String>,
    /// Received at or after (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Received before (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Cursor: the `next_after` of the previous page.
    pub after: Option<u64>,
    /// Page size (default 50, at most 500).
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OpinionPage {
    pub items: Vec<OpinionView>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<u64>,
}

/// The posts received, oldest first, one page at a time (dispatchers, the command center and
/// supervisors): posts without a case district-wide, posts with one as their case is readable.
#[utoipa::path(get, path = "/api/opinions", tag = "opinions", security(("bearer" = [])),
    params(OpinionQuery),
    responses((status = 200, body = OpinionPage), (status = 400, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<OpinionQuery>,
) -> Result<ApiJson<OpinionPage>, ApiError> {
    policy::require_role(&caller, &READERS, "read public-opinion posts (舆情)")?;
    let page = query.limit.unwrap_or(50);
    if page == 0 || page > state.config.max_page {
        return Err(ApiError::bad_request(format!(
            "limit: a page holds 1 to {} posts",
            state.config.max_page
        )));
    }
    let decision = query
        .decision
        .as_deref()
        .map(|d| {
            Decision::parse(d).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "decision: {d:?} is not one of: dismissed, opened, attached, needs_place"
                ))
            })
        })
        .transpose()?;
    let filter = OpinionFilter {
        decision,
        source: optional_text(query.source),
        received_from: query.from,
        received_to: query.to,
        after: query.after,
        limit: Some(page),
    };
    let items = state.store.opinions().list_opinions(&filter).await?;
    // The cursor follows the stored rows, so a page thinned by scope still leads to the next one.
    let next_after = (items.len() == page)
        .then(|| items.last().map(|o| o.id))
        .flatten();
    let threshold = state.relevance.threshold();
    let actor = caller.actor();
    let mut visible = Vec::with_capacity(items.len());
    for opinion in items {
        if may_read_post(&state, &actor, &opinion).await? {
            visible.push(view(opinion, threshold));
        }
    }
    Ok(ApiJson(OpinionPage {
        items: visible,
        next_after,
    }))
}

/// A post that became (or joined) a case is read with its case: a caller scoped to other streets or
/// departments does not see it, as the cases API would not show the case. Posts without a case (waiting
/// for a place, or dismissed) are the whole desk's to see.
async fn may_read_post(
    state: &AppState,
    actor: &onegrid_core::Actor,
    opinion: &Opinion,
) -> Result<bool, ApiError> {
    let Some(case_id) = opinion.case_id else {
        return Ok(true);
    };
    if policy::reads_every_case(actor) {
        return Ok(true);
    }
    match state.store.case(case_id).await {
        Ok(case) => Ok(policy::may_read_case(actor, &case)),
        Err(StoreError::CaseNotFound(_)) => Ok(false),
        Err(other) => Err(other.into()),
    }
}

/// One post and what became of it.
#[utoipa::path(get, path = "/api/opinions/{id}", tag = "opinions", security(("bearer" = [])),
    params(("id" = u64, Path, description = "post number")),
    responses((status = 200, body = OpinionView), (status = 403, body = crate::error::Problem),
        (status = 404, body = crate::error::Problem)))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<u64>,
) -> Result<ApiJson<OpinionView>, ApiError> {
    policy::require_role(&caller, &READERS, "read public-opinion posts (舆情)")?;
    let opinion = state.store.opinions().opinion(id).await?;
    if !may_read_post(&state, &caller.actor(), &opinion).await? {
        // As for a case out of scope: indistinguishable from a missing post.
        return Err(OpinionError::NotFound(id).into());
    }
    Ok(ApiJson(view(opinion, state.relevance.threshold())))
}

/// Where a post is about, as the desk says.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceRequest {
    /// The point; the grid cell is found from it.
    #[serde(default)]
    pub location: Option<LocationInput>,
    /// The grid cell (15 digits), when there is no point.
    #[serde(default)]
    pub cell: Option<String>,
    /// The place as written (up to 200 characters); by default the post's own.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub address: Option<String>,
}

/// Placing is check-then-act (the post must still be placeable when its case is made); one at a time
/// per server, so that two desks placing the same post cannot both open a case. The store refuses a
/// second placement anyway.
static PLACING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A desk places a post that needed a place, or overrides a dismissal: the post goes through intake
/// at the place given (or, without one, the place the post came with) and opens a case or is
/// attached to one. The case's reporter stays the account that sent the post, on the 舆情 channel.
#[utoipa::path(post, path = "/api/opinions/{id}/place", tag = "opinions", security(("bearer" = [])),
    params(("id" = u64, Path, description = "post number")), request_body = PlaceRequest,
    responses(
        (status = 201, body = OpinionOutcome, description = "a case was opened, or the post was attached to one"),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem, description = "the post was already opened or attached"),
        (status = 422, body = crate::error::Problem, description = "no place, or a place not in the district")))]
pub async fn place(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<u64>,
    ApiJson(request): ApiJson<PlaceRequest>,
) -> Result<impl IntoResponse, ApiError> {
    policy::require_role(&caller, &PLACERS, "place public-opinion posts (舆情)")?;
    let _one_at_a_time = PLACING.lock().await;
    let stored = state.store.opinions().opinion(id).await?;
    if !stored.decision.placeable() {
        return Err(OpinionError::NotPlaceable {
            id,
            decision: stored.decision,
            case_id: stored.case_id,
        }
        .into());
    }
    let cell = optional_text(request.cell);
    let (location, cell) = if request.location.is_some() || cell.is_some() {
        (request.location, cell)
    } else {
        // The place the post came with, if any (a dismissed post may have had one).
        let location = match (stored.place.lon, stored.place.lat) {
            (Some(lon), Some(lat)) => Some(LocationInput {
                lon,
                lat,
                crs: stored.place.crs.clone(),
            }),
            _ => None,
        };
        (location, stored.place.cell.clone())
    };
    if location.is_none() && cell.is_none() {
        return Err(ApiError::invalid(
            "location: say where the post is about: a location (lon, lat) or a grid cell",
        ));
    }
    let address = match optional_text(request.address) {
        Some(a) if a.chars().count() > MAX_ADDRESS_CHARS => {
            return Err(ApiError::invalid(format!(
                "address: at most {MAX_ADDRESS_CHARS} characters"
            )))
        }
        Some(a) => Some(a),
        None => stored.place.address.clone(),
    };
    check_place(&state, location.as_ref(), cell.as_deref())?;
    let now = state.clock.now();
    let report = report_request(
        &stored.text,
        &stored.source,
        stored.url.as_deref(),
        location,
        cell,
        address,
    );
    // The reporter is the account that sent the post; the desk is the actor who reports it.
    let reporter = Reporter {
        channel: Channel::PublicOpinion,
        person: Some(stored.received_by.clone()),
        name: None,
        phone: None,
    };
    let (report, suggestion) = intake::prepare(&state, report, reporter, Channel::PublicOpinion)?;
    let intake = intake::store_report(&state, &caller.actor(), report, suggestion, now).await?;
    let (decision, case_id) = decision_of(&intake);
    let placed = state
        .store
        .opinions()
        .place_opinion(
            id,
            Placement {
                decision,
                case_id,
                label: intake.suggestion.as_ref().map(|s| s.label.clone()),
                confidence: intake.suggestion.as_ref().map(|s| s.confidence),
                by: caller.person.id.clone(),
                at: now,
            },
        )
        .await
        .inspect_err(|error| {
            tracing::error!(%error, post = id, case = case_id.0, "a placed post was not updated");
        })?;
    Ok((
        StatusCode::CREATED,
        ApiJson(OpinionOutcome {
            id,
            decision: placed.decision,
            relevance: RelevanceView {
                relevant: placed.relevant,
                score: placed.relevance,
                threshold: state.relevance.threshold(),
            },
            suggestion: intake.suggestion,
            case: Some(intake.case),
            merged_into: intake.merged_into,
        }),
    ))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(submit, list, show, place),
    components(schemas(OpinionRequest, OpinionOutcome, RelevanceView, OpinionView, OpinionPage,
        GivenLocation, CandidateView, PlaceRequest, LocationInput, Suggestion, CaseView)),
    tags((name = "opinions", description = "舆情: public-opinion posts, their relevance, and the cases they open"))
)]
struct OpinionsDoc;

/// This module's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    <OpinionsDoc as utoipa::OpenApi>::openapi()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_is_the_first_clause_within_sixty_characters() {
        assert_eq!(
            title_of("  张贵庄路井盖丢了！晚上很危险"),
            "张贵庄路井盖丢了"
        );
        assert_eq!(title_of("\n\n路灯不亮"), "路灯不亮");
        let long = "东丽区张贵庄街道某某小区门口的道路坑洼不平，下雨天积水严重，老人孩子出行十分不便，希望有关部门尽快修一修，谢谢";
        let title = title_of(long);
        assert!(title.chars().count() <= MAX_TITLE_CHARS, "{title}");
        assert!(long.starts_with(&title));
        let unbroken = "路".repeat(100);
        assert_eq!(title_of(&unbroken).chars().count(), MAX_TITLE_CHARS);
    }

    #[test]
    fn a_description_names_the_source() {
        assert_eq!(
            description_of("井盖丢了", "微博", Some("https://weibo.com/1")),
            "井盖丢了（来源：微博 https://weibo.com/1）"
        );
        assert_eq!(
            description_of("井盖丢了", "论坛", None),
            "井盖丢了（来源：论坛）"
        );
    }

    #[test]
    fn urls_must_be_web_addresses() {
        assert!(check_url("https://weibo.com/1/abc").is_ok());
        assert!(check_url("http://bbs.example.cn/t?id=1#top").is_ok());
        for bad in [
            "ftp://x.cn/a",
            "javascript:alert(1)",
            "weibo.com/1",
            "https://",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        assert!(check_url(&format!("https://x.cn/{}", "a".repeat(500))).is_err());
    }
}
