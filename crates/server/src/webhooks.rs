//! Webhooks: an account subscribes a URL to the case events it may read; each event is POSTed there
//! as the live feed's JSON, signed with HMAC-SHA256, retried with exponential backoff and recorded.
//!
//! Deliveries run beside the server (`run_deliveries`): one task per active webhook, each woken by
//! the feed head, so a slow or dead endpoint only delays its own webhook — never intake, never
//! another webhook.
//!
//! Signature: `X-Onegrid-Signature: sha256=<hex>` where `<hex>` is HMAC-SHA256 with the webhook's
//! secret over `<X-Onegrid-Timestamp>.<body>` (the Unix time in seconds, a dot, the raw body bytes).
//! A receiver recomputes it, compares in constant time, and rejects old timestamps to stop replays.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use axum::Router;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use onegrid_core::{Actor, Role};
use onegrid_store::{Delivery, FeedEvent, Store, Webhook};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tokio::task::JoinHandle;
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery};
use crate::feed::{self, FeedPayload};
use crate::{policy, AppState, Config};

/// Roles that may subscribe.
pub const SUBSCRIBERS: [Role; 5] = [
    Role::DepartmentHandler,
    Role::Dispatcher,
    Role::Commander,
    Role::Supervisor,
    Role::Integrator,
];
/// Longest webhook URL accepted.
pub const MAX_URL_CHARS: usize = 2000;
/// Secrets a subscriber chooses must be at least this long (a generated one has 43 characters).
pub const MIN_SECRET_CHARS: usize = 16;
pub const MAX_SECRET_CHARS: usize = 256;
/// The longest wait between two attempts, however many attempts the configuration allows.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// How often the delivery supervisor looks for new or removed webhooks when the feed is idle.
const REFRESH: Duration = Duration::from_secs(5);
/// The least time between two looks, however fast the feed moves.
const MIN_REFRESH: Duration = Duration::from_millis(200);
/// Longest error text recorded with a delivery.
const MAX_ERROR_CHARS: usize = 500;

pub const SIGNATURE_HEADER: &str = "x-onegrid-signature";
pub const TIMESTAMP_HEADER: &str = "x-onegrid-timestamp";
pub const EVENT_HEADER: &str = "x-onegrid-event";
pub const DELIVERY_HEADER: &str = "x-onegrid-delivery";

/// The signature header value of `body` sent at `timestamp` (Unix seconds).
pub fn signature(
    secret: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, hmac::digest::InvalidLength> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

// ---------------------------------------------------------------------------------------------
// Subscriptions
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// Where events are POSTed: an `http` or `https` URL.
    pub url: String,
    /// The HMAC key deliveries are signed with (16 to 256 characters). Leave it out and the server
    /// generates one.
    #[serde(default)]
    pub secret: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: u64,
    pub owner: String,
    pub url: String,
    pub created_at: DateTime<Utc>,
    /// False once deleted.
    pub active: bool,
    /// The feed position of the last event handed over (delivered, or given up after every attempt).
    pub cursor: u64,
}

impl From<&Webhook> for WebhookView {
    fn from(webhook: &Webhook) -> WebhookView {
        WebhookView {
            id: webhook.id,
            owner: webhook.owner.to_string(),
            url: webhook.url.clone(),
            created_at: webhook.created_at,
            active: webhook.active,
            cursor: webhook.cursor,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhook {
    pub webhook: WebhookView,
    /// The signing secret. Shown this once: keep it now.
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// The feed position of the event (`X-Onegrid-Delivery`).
    pub event_position: u64,
    /// 1 for the first try.
    pub attempt: u32,
    pub at: DateTime<Utc>,
    /// The HTTP status the endpoint answered, if it answered.
    pub status: Option<u16>,
    pub error: Option<String>,
    pub delivered: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// How many of the latest attempts (default 100, at most the page cap).
    pub limit: Option<usize>,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/webhooks", get(list).post(create))
        .route("/api/webhooks/{id}", delete(remove))
        .route("/api/webhooks/{id}/deliveries", get(deliveries))
}

/// Checks a webhook URL: absolute, `http` or `https`, with a host and no credentials.
pub fn check_url(text: &str) -> Result<String, ApiError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_URL_CHARS {
        return Err(ApiError::invalid(format!(
            "url: give the address events are sent to, up to {MAX_URL_CHARS} characters"
        )));
    }
    let url = reqwest::Url::parse(text)
        .map_err(|e| ApiError::invalid(format!("url: not a valid address ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ApiError::invalid(format!(
            "url: must start with http:// or https://, not {}://",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ApiError::invalid("url: the address has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ApiError::invalid(
            "url: leave user names and passwords out of the address; deliveries are signed instead",
        ));
    }
    if url.fragment().is_some() {
        return Err(ApiError::invalid(
            "url: a #fragment is never sent to a server; leave it out",
        ));
    }
    Ok(url.to_string())
}

fn check_secret(secret: &str) -> Result<(), ApiError> {
    let chars = secret.chars().count();
    if !(MIN_SECRET_CHARS..=MAX_SECRET_CHARS).contains(&chars) || secret.trim() != secret {
        return Err(ApiError::invalid(format!(
            "secret: give {MIN_SECRET_CHARS} to {MAX_SECRET_CHARS} characters without surrounding spaces, or leave it out to have one generated"
        )));
    }
    Ok(())
}

/// Subscribe a URL to the case events your account may read, from now on.
#[utoipa::path(post, path = "/api/webhooks", tag = "webhooks", security(("bearer" = [])),
    request_body = NewWebhook,
    responses((status = 201, body = CreatedWebhook, description = "the secret is shown only here"),
        (status = 403, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<NewWebhook>,
) -> Result<impl IntoResponse, ApiError> {
    policy::require_role(&caller, &SUBSCRIBERS, "subscribe to case events")?;
    feed::check_may_follow(&caller.actor())?;
    let url = check_url(&request.url)?;
    let secret = match request.secret {
        Some(secret) => {
            check_secret(&secret)?;
            secret
        }
        None => crate::auth::new_secret().0,
    };
    let webhook = state
        .store
        .create_webhook(&caller.person.id, &url, &secret, Utc::now())
        .await?;
    tracing::info!(webhook = webhook.id, owner = %caller.person.id, "webhook created");
    Ok((
        StatusCode::CREATED,
        ApiJson(CreatedWebhook {
            webhook: WebhookView::from(&webhook),
            secret,
        }),
    ))
}

/// Your webhooks (an administrator sees everyone's), deleted ones included.
#[utoipa::path(get, path = "/api/webhooks", tag = "webhooks", security(("bearer" = [])),
    responses((status = 200, body = Vec<WebhookView>), (status = 401, body = crate::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<ApiJson<Vec<WebhookView>>, ApiError> {
    let all = state.store.webhooks().await?;
    let admin = caller.role() == Role::Admin;
    Ok(ApiJson(
        all.iter()
            .filter(|w| admin || w.owner == caller.person.id)
            .map(WebhookView::from)
            .collect(),
    ))
}

/// The webhook, if the caller owns it or is an administrator; otherwise "not found", so ids of
/// other accounts' webhooks reveal nothing.
async fn own_webhook(state: &AppState, caller: &Caller, id: u64) -> Result<Webhook, ApiError> {
    state
        .store
        .webhooks()
        .await?
        .into_iter()
        .find(|w| w.id == id && (w.owner == caller.person.id || caller.role() == Role::Admin))
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "webhook {id} does not exist, or it is not yours; GET /api/webhooks lists yours"
            ))
        })
}

/// Stop a webhook (yours, or any as an administrator). Its deliveries stay readable.
#[utoipa::path(delete, path = "/api/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = u64, Path, description = "webhook id")),
    responses((status = 204), (status = 404, body = crate::error::Problem)))]
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<u64>,
) -> Result<StatusCode, ApiError> {
    let webhook = own_webhook(&state, &caller, id).await?;
    if webhook.active {
        state.store.deactivate_webhook(id).await?;
        tracing::info!(webhook = id, by = %caller.person.id, "webhook deleted");
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The latest delivery attempts of a webhook, newest first.
#[utoipa::path(get, path = "/api/webhooks/{id}/deliveries", tag = "webhooks",
    security(("bearer" = [])), params(("id" = u64, Path, description = "webhook id"), DeliveriesQuery),
    responses((status = 200, body = Vec<DeliveryView>), (status = 404, body = crate::error::Problem)))]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<u64>,
    ApiQuery(query): ApiQuery<DeliveriesQuery>,
) -> Result<ApiJson<Vec<DeliveryView>>, ApiError> {
    let webhook = own_webhook(&state, &caller, id).await?;
    let limit = query.limit.unwrap_or(100);
    if limit == 0 || limit > state.config.max_page {
        return Err(ApiError::invalid(format!(
            "limit: give 1 to {}",
            state.config.max_page
        )));
    }
    let found = state.store.deliveries(webhook.id, limit).await?;
    Ok(ApiJson(
        found
            .into_iter()
            .map(|d| DeliveryView {
                event_position: d.event_position,
                attempt: d.attempt,
                at: d.at,
                status: d.status,
                error: d.error,
                delivered: d.delivered,
            })
            .collect(),
    ))
}

// ---------------------------------------------------------------------------------------------
// Deliveries
// ---------------------------------------------------------------------------------------------

/// Delivers webhook events until the task is aborted (or the store closes): one task per active
/// webhook, started and stopped as webhooks come and go.
pub async fn run_deliveries(state: AppState) {
    let client = match reqwest::Client::builder()
        .timeout(state.config.webhook_timeout)
        // A redirect is an answer, not a delivery: the signature was made for this URL.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("onegrid-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "webhooks: the HTTP client could not be built; no deliveries");
            return;
        }
    };
    let mut head = state.store.feed_head();
    let mut workers: HashMap<u64, JoinHandle<()>> = HashMap::new();
    loop {
        match state.store.webhooks().await {
            Ok(webhooks) => {
                let active: HashMap<u64, Webhook> = webhooks
                    .into_iter()
                    .filter(|w| w.active)
                    .map(|w| (w.id, w))
                    .collect();
                workers.retain(|id, task| {
                    let keep = active.contains_key(id) && !task.is_finished();
                    if !keep {
                        task.abort();
                    }
                    keep
                });
                for (id, webhook) in active {
                    workers.entry(id).or_insert_with(|| {
                        tokio::spawn(deliver_webhook(
                            state.store.clone(),
                            state.config.clone(),
                            client.clone(),
                            webhook,
                        ))
                    });
                }
            }
            Err(error) => tracing::error!(%error, "webhooks: listing the webhooks failed"),
        }
        tokio::time::sleep(MIN_REFRESH).await;
        tokio::select! {
            changed = head.changed() => {
                if changed.is_err() {
                    break; // the store is gone
                }
            }
            _ = tokio::time::sleep(REFRESH) => {}
        }
    }
    workers.values().for_each(JoinHandle::abort);
}

/// Follows the feed for one webhook, from its stored cursor, until aborted or the store closes.
async fn deliver_webhook(
    store: Arc<dyn Store>,
    config: Config,
    client: reqwest::Client,
    webhook: Webhook,
) {
    let mut head = store.feed_head();
    let mut cursor = webhook.cursor;
    loop {
        let page = match store.feed(cursor, feed::PAGE).await {
            Ok(page) => page,
            Err(error) => {
                tracing::error!(%error, webhook = webhook.id, "webhooks: reading the feed failed");
                tokio::time::sleep(REFRESH).await;
                continue;
            }
        };
        if page.is_empty() {
            if head.changed().await.is_err() {
                return;
            }
            continue;
        }
        // The owner's scope as it is now: a changed scope or a removed account applies at once.
        let owner: Option<Actor> = store
            .reference()
            .person(&webhook.owner)
            .map(onegrid_core::Person::actor);
        for event in &page {
            // Events the owner may not read are passed over; the stored cursor moves with the next
            // event handed over, so after a restart they are filtered out again.
            if owner
                .as_ref()
                .is_some_and(|actor| policy::may_read_event(actor, event))
            {
                deliver_event(&*store, &config, &client, &webhook, event).await;
            }
            cursor = event.position;
        }
    }
}

/// Delivers one event with retries, recording every attempt; the cursor moves past the event on
/// success or after the last attempt.
async fn deliver_event(
    store: &dyn Store,
    config: &Config,
    client: &reqwest::Client,
    webhook: &Webhook,
    event: &FeedEvent,
) {
    let payload: FeedPayload = feed::payload(event);
    let body = match serde_json::to_vec(&payload) {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(%error, "webhooks: the payload could not be written");
            return;
        }
    };
    let attempts = config.webhook_attempts.max(1);
    let mut backoff = config.webhook_backoff;
    for attempt in 1..=attempts {
        let (status, error) = post(client, webhook, &payload, &body).await;
        let delivered = error.is_none();
        let last = delivered || attempt == attempts;
        let delivery = Delivery {
            webhook: webhook.id,
            event_position: event.position,
            attempt,
            at: Utc::now(),
            status,
            error: error.clone(),
            delivered,
        };
        if let Err(store_error) = store
            .record_delivery(delivery, last.then_some(event.position))
            .await
        {
            tracing::error!(%store_error, webhook = webhook.id, "webhooks: recording a delivery failed");
        }
        if delivered {
            return;
        }
        if last {
            tracing::warn!(
                webhook = webhook.id,
                position = event.position,
                attempts,
                error = error.as_deref().unwrap_or_default(),
                "webhooks: giving up on an event"
            );
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = backoff.saturating_mul(2).min(MAX_BACKOFF);
    }
}

/// One POST; the status answered (if any) and the error (`None` when delivered, i.e. 2xx).
async fn post(
    client: &reqwest::Client,
    webhook: &Webhook,
    payload: &FeedPayload,
    body: &[u8],
) -> (Option<u16>, Option<String>) {
    let timestamp = Utc::now().timestamp();
    let signature = match signature(&webhook.secret, timestamp, body) {
        Ok(signature) => signature,
        // HMAC takes keys of every length; this is here so that nothing unsigned is ever sent.
        Err(error) => {
            return (
                None,
                Some(format!("the payload could not be signed: {error}")),
            )
        }
    };
    let sent = client
        .post(&webhook.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature)
        .header(TIMESTAMP_HEADER, timestamp.to_string())
        .header(EVENT_HEADER, payload.kind.as_str())
        .header(DELIVERY_HEADER, payload.position.to_string())
        .body(body.to_vec())
        .send()
        .await;
    match sent {
        Ok(response) if response.status().is_success() => (Some(response.status().as_u16()), None),
        Ok(response) => {
            let status = response.status();
            (
                Some(status.as_u16()),
                Some(format!("the endpoint answered {status}")),
            )
        }
        Err(error) => {
            let mut text = if error.is_timeout() {
                format!("no answer within the timeout: {error}")
            } else if error.is_connect() {
                format!("could not connect: {error}")
            } else {
                error.to_string()
            };
            if let Some((cut, _)) = text.char_indices().nth(MAX_ERROR_CHARS) {
                text.truncate(cut);
            }
            (None, Some(text))
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    paths(create, list, remove, deliveries),
    components(schemas(NewWebhook, WebhookView, CreatedWebhook, DeliveryView)),
    tags((name = "webhooks", description = "订阅: signed deliveries of case events (X-Onegrid-Signature: sha256=HMAC-SHA256(secret, \"<X-Onegrid-Timestamp>.<body>\")), retried with exponential backoff"))
)]
struct WebhookDoc;

/// This module's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    WebhookDoc::openapi()
}
