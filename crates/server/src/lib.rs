//! onegrid's HTTP interface: the REST/JSON API (with its OpenAPI document), Open311 GeoReport v2,
//! accounts and sign-in, the live feed (SSE) and webhooks.
//!
//! Layout:
//! - `lib.rs`: `AppState`, `Config`, `router()` (every route and the layers around them), `serve()`.
//! - `error.rs`: `ApiError`, mapped once to RFC 9457 problem responses; extractors that use it.
//! - `auth.rs`: passwords (argon2), bearer tokens, the `Caller` extractor, sign-in endpoints.
//! - `policy.rs`: who may read which case, event or person, and the masking of personal data.
//! - `intake.rs`: the intake path of a report: locate, classify, severity, duplicates, store.
//! - `cases.rs`: case endpoints (report, list, show, commands, merge).
//! - `photos.rs`: photo upload with type sniffing and size caps, and download.
//! - `directory.rs`: areas, grid layers, categories, departments, people.
//! - `kpis.rs`: KPIs (考核统计): the table, its trend, and their Excel export.
//! - `excel.rs`: dates to and from Excel cells, shared by the KPI and project exports and imports.
//! - `projects.rs`: major projects (重大项目): records, stage dates, Excel import/export, the five rates.
//! - `supervision.rs`: supervision tasks (督办任务) from work-report targets, progress, 督办, 实效表.
//! - `opinions.rs`: public opinion (舆情): posts judged for relevance, then opened, attached or placed.
//! - `open311.rs`: Open311 GeoReport v2 (JSON and XML) and API keys.
//! - `feed.rs`: Server-Sent Events of case events, resumable with `Last-Event-ID`.
//! - `webhooks.rs`: subscriptions, signed deliveries with retries.
//! - `openapi.rs`: the OpenAPI document and the readable API page.
//! - `clock.rs`: the business clock (system time; movable forward on a training or test server).
//! - `ui.rs`: the web UI, embedded from `ui/` (pages, scripts, vendored Leaflet and ECharts).

pub mod auth;
pub mod cases;
pub mod clock;
pub mod directory;
pub mod error;
pub mod excel;
pub mod feed;
pub mod intake;
pub mod kpis;
pub mod open311;
pub mod openapi;
pub mod opinions;
pub mod photos;
pub mod policy;
pub mod projects;
pub mod supervision;
pub mod ui;
pub mod webhooks;

use std::future::Future;
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::Router;
use onegrid_store::Store;
use onegrid_text::{Classifier, Relevance};
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use error::{ApiError, Problem};

/// Settings of the HTTP interface. `Config::default()` is what `onegrid serve` uses.
#[derive(Debug, Clone)]
pub struct Config {
    /// How long a sign-in lasts.
    pub session_minutes: i64,
    /// Largest JSON or form body.
    pub max_body_bytes: usize,
    /// Largest photo.
    pub max_photo_bytes: usize,
    /// Most photos with one report.
    pub max_photos: usize,
    /// Reports one client address may send per minute through the public channels (citizens and
    /// Open311), with bursts of up to the same number.
    pub public_reports_per_minute: u32,
    /// Longest time any request (except the live feed) may take.
    pub request_timeout: Duration,
    /// Largest page of a list.
    pub max_page: usize,
    /// Merge a report into an open case automatically when their texts are near-identical and they
    /// are near in space and time (`DuplicateConfig::merge_at`); when off, duplicates are only
    /// proposed.
    pub auto_merge_duplicates: bool,
    /// Webhook delivery: attempts per event before it is recorded as failed, and the first backoff
    /// (doubled after each failure).
    pub webhook_attempts: u32,
    pub webhook_backoff: Duration,
    pub webhook_timeout: Duration,
    /// The web UI's base map: an XYZ tile URL template (a district's own tile service), or `None`
    /// to draw the grid alone.
    pub tile_url: Option<String>,
    pub tile_attribution: Option<String>,
    /// Let an administrator move the business clock forward (`PUT /api/clock`): for training and
    /// tests only, never on a live district (`clock.rs`).
    pub adjustable_clock: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            session_minutes: 12 * 60,
            max_body_bytes: 1024 * 1024,
            max_photo_bytes: 8 * 1024 * 1024,
            max_photos: 9,
            public_reports_per_minute: 30,
            request_timeout: Duration::from_secs(30),
            max_page: 500,
            auto_merge_duplicates: true,
            webhook_attempts: 6,
            webhook_backoff: Duration::from_secs(2),
            webhook_timeout: Duration::from_secs(10),
            tile_url: None,
            tile_attribution: None,
            adjustable_clock: false,
        }
    }
}

type KeyedLimiter = governor::DefaultKeyedRateLimiter<std::net::IpAddr>;

/// What every handler shares.
pub struct Shared {
    pub store: Arc<dyn Store>,
    pub config: Config,
    /// The report classifier (the model shipped with the binary unless the district trained its own).
    pub classifier: Arc<Classifier>,
    /// Rate limit of public intake, per client address.
    pub public_limiter: KeyedLimiter,
    /// Sessions recently read, so that a request does not cost a database read.
    pub sessions: auth::SessionCache,
    /// Open cases and their text, for the duplicate check at intake.
    pub duplicates: intake::Duplicates,
    /// Whether a public-opinion post is about the district's governance (the shipped model).
    pub relevance: Arc<Relevance>,
    /// The time events are stamped with and deadlines counted against.
    pub clock: clock::Clock,
}

/// The state handed to handlers: cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// Builds the state: loads the default classifier, the relevance model of public-opinion posts
    /// and the open cases for the duplicate check.
    pub async fn new(store: Arc<dyn Store>, config: Config) -> Result<AppState, ApiError> {
        let classifier = Arc::new(Classifier::default_model().map_err(ApiError::internal)?);
        AppState::with_classifier(store, config, classifier).await
    }

    pub async fn with_classifier(
        store: Arc<dyn Store>,
        config: Config,
        classifier: Arc<Classifier>,
    ) -> Result<AppState, ApiError> {
        let duplicates = intake::Duplicates::load(store.as_ref(), chrono::Utc::now()).await?;
        let relevance = Arc::new(Relevance::default_model().map_err(ApiError::internal)?);
        let per_minute = std::num::NonZeroU32::new(config.public_reports_per_minute.max(1))
            .unwrap_or(std::num::NonZeroU32::MIN);
        let public_limiter = governor::RateLimiter::keyed(governor::Quota::per_minute(per_minute));
        let clock = if config.adjustable_clock {
            clock::Clock::adjustable()
        } else {
            clock::Clock::system()
        };
        let head = *store.feed_head().borrow();
        if let Some(last) = store.feed(head.saturating_sub(1), 1).await?.first() {
            clock.resume_after(last.event.at);
        }
        Ok(AppState(Arc::new(Shared {
            store,
            config,
            classifier,
            public_limiter,
            sessions: auth::SessionCache::default(),
            duplicates,
            relevance,
            clock,
        })))
    }

    /// Refuses a public report when its address is over the rate limit.
    pub fn check_public_rate(&self, client: Option<SocketAddr>) -> Result<(), ApiError> {
        let Some(client) = client else {
            return Ok(());
        };
        match self.public_limiter.check_key(&client.ip()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                ));
                Err(ApiError::too_many(wait.as_secs().max(1)))
            }
        }
    }
}

/// The client's address, when the server was started with connection info (`serve` does; tests
/// that call the router directly have none, and are then not rate limited).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<SocketAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<SocketAddr>>()
                .map(|info| info.0),
        ))
    }
}

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let timeout = state.config.request_timeout;
    let body_limit = state.config.max_body_bytes;
    let photo_limit = state.config.max_photo_bytes * state.config.max_photos + body_limit;
    let bounded = Router::new()
        .route("/healthz", get(healthz))
        .route("/api/auth/login", post(auth::login))
        .route("/api/auth/logout", post(auth::logout))
        .route("/api/auth/register", post(auth::register))
        .route("/api/me", get(auth::me))
        .route("/api/people/{id}/password", put(auth::set_password))
        .merge(cases::routes())
        .merge(directory::routes())
        .merge(kpis::routes())
        .merge(projects::routes())
        .merge(supervision::routes())
        .merge(opinions::routes())
        .merge(clock::routes())
        .merge(webhooks::routes())
        .merge(open311::routes())
        .merge(openapi::routes())
        .merge(ui::routes())
        .layer(DefaultBodyLimit::max(body_limit))
        // Photos come in multipart bodies; only these routes take them.
        .merge(photos::routes().layer(DefaultBodyLimit::max(photo_limit)))
        .merge(cases::upload_routes().layer(DefaultBodyLimit::max(photo_limit)))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ));
    Router::new()
        .merge(bounded)
        // The live feed stays open for as long as the client listens: no request timeout.
        .merge(feed::routes())
        .fallback(not_found)
        // Grid layers and vendored scripts are large and compress well (the cell layer ~8×). The
        // default predicate leaves the SSE feed, images and tiny bodies alone.
        .layer(CompressionLayer::new())
        // One structured log line per request: method, path (never the query, which may carry an
        // `access_token`), status and latency.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &axum::http::Request<axum::body::Body>| {
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                    )
                })
                .on_request(())
                .on_response(
                    tower_http::trace::DefaultOnResponse::new()
                        .level(tracing::Level::INFO)
                        .latency_unit(tower_http::LatencyUnit::Micros),
                ),
        )
        .with_state(state)
}

/// Serves until `shutdown` completes. Webhook deliveries run beside the server.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let deliveries = tokio::spawn(webhooks::run_deliveries(state.clone()));
    // Supervision tasks behind get a reminder in their history (docs/supervision.md).
    let reminders = tokio::spawn(supervision::run_reminders(state.clone()));
    let result = axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    deliveries.abort();
    reminders.abort();
    result
}

async fn healthz() -> &'static str {
    "ok"
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!(
        "there is no endpoint at {}; the API is described at /api/docs",
        uri.path()
    ))
}
