//! The live feed: Server-Sent Events of the case events the caller may read, resumable with
//! `Last-Event-ID`. Each SSE event carries the feed position as its `id`, the event kind as its
//! `event` name and the [`FeedPayload`] as JSON `data`, with no personal data at all
//! (`policy::public_event`). The stream waits on the store's feed head instead of polling.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use futures::Stream;
use onegrid_core::Actor;
use onegrid_store::{CaseFilter, FeedEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ApiQuery};
use crate::{policy, AppState};

/// Events read from the store at a time.
pub const PAGE: usize = 500;
/// How often a listening stream checks that its session still exists (a sign-out ends it).
const SESSION_CHECK: Duration = Duration::from_secs(60);
/// Interval of the keep-alive comments, so that proxies do not close an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The JSON of one feed event, in the live feed and in webhook deliveries.
/// One Server-Sent Event as it arrives on the stream (the SSE fields).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SseMessage {
    /// The feed position; send it back as `Last-Event-ID` to resume after it.
    pub id: String,
    /// The event kind, e.g. `reported`, `dispatched`.
    pub event: String,
    /// A `FeedPayload` as JSON.
    pub data: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FeedPayload {
    /// Position in the district-wide feed; the SSE `id` and the webhook `X-Onegrid-Delivery`.
    pub position: u64,
    pub case_id: u64,
    /// The grid cell of the case now.
    pub cell: String,
    /// The lead department of the case now, when it has one.
    pub department: Option<String>,
    /// The event kind (`reported`, `accepted`, `dispatched`, …); also the SSE event name.
    pub kind: String,
    /// The event as in the case history, without any personal data (no reporter names, phones or
    /// accounts; a citizen acting appears as `citizen`).
    #[schema(value_type = Object)]
    pub event: Value,
}

/// The payload of a feed event (the same for every reader: it holds nothing personal).
pub fn payload(event: &FeedEvent) -> FeedPayload {
    FeedPayload {
        position: event.position,
        case_id: event.case_id.0,
        cell: event.cell.to_string(),
        department: event.department.as_ref().map(ToString::to_string),
        kind: event.event.kind.name().to_string(),
        event: policy::public_event(&event.event),
    }
}

/// Refuses accounts that may read no case events at all (administrators, departments without a
/// department), with the same words as the case list.
pub fn check_may_follow(actor: &Actor) -> Result<(), ApiError> {
    policy::restrict_filter(actor, &mut CaseFilter::default())
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// Start after this feed position (as `Last-Event-ID` does; for EventSource polyfills). Without
    /// either, the stream starts at the current head and carries only new events.
    pub after: Option<u64>,
    /// The bearer token, for browsers' EventSource, which cannot send headers. Only this endpoint
    /// accepts it; prefer the `Authorization` header, since addresses end up in logs.
    pub access_token: Option<String>,
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/feed", get(feed))
}

/// Live feed (Server-Sent Events) of the case events your account may read.
///
/// Each event has `id:` = its feed position, `event:` = its kind (e.g. `reported`, `dispatched`) and
/// `data:` = a `FeedPayload` as JSON. Reconnect with `Last-Event-ID` (EventSource does so itself) to
/// resume exactly after the last event received. Keep-alive comments come every 15 s. On a training
/// or test server whose business clock was moved (`PUT /api/clock`), an `event: clock` without an
/// `id` says so: deadline colours may have changed.
#[utoipa::path(get, path = "/api/feed", tag = "feed", security(("bearer" = [])),
    params(FeedQuery,
        ("Last-Event-ID" = Option<u64>, Header, description = "resume after this feed position")),
    responses(
        (status = 200, content_type = "text/event-stream", body = SseMessage,
            description = "a stream of SSE events: `id` is the feed position, `event` the event kind, `data` a FeedPayload as JSON"),
        (status = 400, body = crate::error::Problem),
        (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem)))]
pub async fn feed(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<FeedQuery>,
    mut parts: Parts,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    if let Some(token) = &query.access_token {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            return Err(ApiError::bad_request(
                "send the token either as the Authorization header or as access_token, not both",
            ));
        }
        let value = HeaderValue::from_str(&format!("Bearer {}", token.trim()))
            .map_err(|_| ApiError::unauthorized("access_token is not a valid token"))?;
        parts.headers.insert(header::AUTHORIZATION, value);
    }
    let caller = Caller::from_request_parts(&mut parts, &state).await?;
    let actor = caller.actor();
    check_may_follow(&actor)?;
    let last_event_id = match parts.headers.get("last-event-id") {
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|text| text.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "Last-Event-ID must be a feed position (the id of an event of this feed)",
                    )
                })?,
        ),
        None => None,
    };
    let head = state.store.feed_head();
    // The header wins over the query: EventSource sends it on reconnection, with the newest id.
    let cursor = match last_event_id.or(query.after) {
        Some(after) => after,
        None => *head.borrow(),
    };
    tracing::info!(person = %caller.person.id, cursor, "live feed opened");
    let mut clock_moved = state.clock.subscribe();
    clock_moved.borrow_and_update();
    let follow = Follow {
        state: state.clone(),
        clock_moved,
        actor,
        token_hash: caller.token_hash,
        expires_at: caller.expires_at,
        cursor,
        head,
        pending: VecDeque::new(),
        session_checked: tokio::time::Instant::now(),
    };
    let stream = futures::stream::unfold(follow, |mut follow| async move {
        let event = follow.next().await?;
        Some((Ok(event), follow))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// One listener's position in the feed.
struct Follow {
    state: AppState,
    /// Changes when the business clock is moved (a training or test server): pages re-read the
    /// deadline colours then, as no case event says they changed.
    clock_moved: tokio::sync::watch::Receiver<u64>,
    actor: Actor,
    token_hash: String,
    expires_at: chrono::DateTime<Utc>,
    cursor: u64,
    head: tokio::sync::watch::Receiver<u64>,
    pending: VecDeque<FeedEvent>,
    session_checked: tokio::time::Instant,
}

impl Follow {
    /// The next event this listener may read; `None` ends the stream (session over, store closed).
    async fn next(&mut self) -> Option<SseEvent> {
        loop {
            while let Some(event) = self.pending.pop_front() {
                if policy::may_read_event(&self.actor, &event) {
                    return Some(sse_event(&event));
                }
            }
            if !self.session_alive().await {
                return None;
            }
            match self.state.store.feed(self.cursor, PAGE).await {
                Ok(page) if !page.is_empty() => {
                    self.cursor = page.last().map_or(self.cursor, |e| e.position);
                    self.pending.extend(page);
                    continue;
                }
                Ok(_) => {}
                Err(error) => {
                    // The client reconnects with Last-Event-ID and loses nothing.
                    tracing::error!(%error, "live feed: reading the feed failed; closing the stream");
                    return None;
                }
            }
            let until_expiry = (self.expires_at - Utc::now()).to_std().unwrap_or_default();
            tokio::select! {
                changed = self.head.changed() => {
                    if changed.is_err() {
                        return None; // the store is gone
                    }
                }
                moved = self.clock_moved.changed() => {
                    if moved.is_ok() {
                        return Some(clock_event(self.state.clock.now()));
                    }
                }
                _ = tokio::time::sleep(until_expiry) => return None,
                _ = tokio::time::sleep(SESSION_CHECK) => {}
            }
        }
    }

    /// False once the session has expired or was signed out (checked at most every minute).
    async fn session_alive(&mut self) -> bool {
        if self.expires_at <= Utc::now() {
            return false;
        }
        if self.session_checked.elapsed() < SESSION_CHECK {
            return true;
        }
        self.session_checked = tokio::time::Instant::now();
        match self.state.store.session(&self.token_hash).await {
            Ok(session) => session.is_some(),
            Err(error) => {
                tracing::error!(%error, "live feed: checking the session failed");
                false
            }
        }
    }
}

fn sse_event(event: &FeedEvent) -> SseEvent {
    let payload = payload(event);
    let data = serde_json::to_string(&payload).unwrap_or_default();
    SseEvent::default()
        .id(event.position.to_string())
        .event(payload.kind)
        .data(data)
}

/// `event: clock` with `{"now": …}` and no `id` (it is not a feed position): the business clock was
/// moved, so deadline colours may have changed.
fn clock_event(now: chrono::DateTime<Utc>) -> SseEvent {
    SseEvent::default()
        .event("clock")
        .data(serde_json::json!({ "now": now.to_rfc3339() }).to_string())
}

#[derive(OpenApi)]
#[openapi(
    paths(feed),
    components(schemas(FeedPayload)),
    tags((name = "feed", description = "实时事件流 (Server-Sent Events)"))
)]
struct FeedDoc;

/// This module's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    FeedDoc::openapi()
}
