//! The server's business clock: the time stamped on events and against which deadlines turn
//! yellow and red, KPI windows end and supervision tasks fall behind.
//!
//! On a live district it is the system clock, fixed. A server started for training or for tests
//! (`onegrid demo --adjustable-clock`) lets an administrator move it *forward* (`PUT /api/clock`),
//! so that a trainer can show a case turning yellow and red, and the browser tests can check the
//! map does, without waiting working days. It never goes back: event times in a history stay in
//! order. Security timers (session expiry, rate limits, webhook signatures) keep the real clock,
//! so moving the business clock neither signs anyone out nor opens a way around them.

use std::sync::atomic::{AtomicI64, Ordering};

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use utoipa::{OpenApi, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson};
use crate::AppState;

/// Furthest the clock may be moved ahead of the system clock in one server's life: far enough for
/// any stage limit with an extension, near enough that the working calendar still covers it.
const MAX_AHEAD: TimeDelta = TimeDelta::days(90);

/// The business clock (see the module docs).
pub struct Clock {
    adjustable: bool,
    /// Milliseconds ahead of the system clock; never negative.
    ahead_ms: AtomicI64,
    /// Bumped at each move, so that live feeds can tell their pages to re-read colours.
    moved: watch::Sender<u64>,
}

impl Clock {
    /// The system clock, fixed: what a live district runs on.
    pub fn system() -> Clock {
        Clock::new(false)
    }

    /// A clock an administrator may move forward (training and tests).
    pub fn adjustable() -> Clock {
        Clock::new(true)
    }

    fn new(adjustable: bool) -> Clock {
        Clock {
            adjustable,
            ahead_ms: AtomicI64::new(0),
            moved: watch::Sender::new(0),
        }
    }

    pub fn is_adjustable(&self) -> bool {
        self.adjustable
    }

    /// Now, on the business clock.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + TimeDelta::milliseconds(self.ahead_ms.load(Ordering::Relaxed))
    }

    /// How far the clock runs ahead of the system clock.
    pub fn ahead(&self) -> TimeDelta {
        TimeDelta::milliseconds(self.ahead_ms.load(Ordering::Relaxed))
    }

    /// Moves the clock forward to `to`. Refuses a fixed clock, a time earlier than now on this clock
    /// (histories must stay in order) and a time more than 90 days ahead of the system clock.
    pub fn move_to(&self, to: DateTime<Utc>) -> Result<DateTime<Utc>, ClockError> {
        if !self.adjustable {
            return Err(ClockError::Fixed);
        }
        let system = Utc::now();
        let ahead = to - system;
        if ahead > MAX_AHEAD {
            return Err(ClockError::TooFar { to });
        }
        let wanted = ahead.num_milliseconds();
        // Only forward, even when two administrators move it at once.
        let current = self
            .ahead_ms
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |current| {
                (wanted >= current).then_some(wanted)
            });
        match current {
            Ok(_) => {
                self.moved.send_modify(|n| *n += 1);
                Ok(to)
            }
            Err(current) => Err(ClockError::Backwards {
                to,
                now: system + TimeDelta::milliseconds(current),
            }),
        }
    }

    /// Picks up where a database's history left off: a training database whose clock was moved
    /// holds events stamped ahead of the system clock, and a restarted server must not stamp the
    /// next ones before them. An adjustable clock moves to `latest`; a fixed one cannot, so it says
    /// so (the database should be served with `--adjustable-clock`).
    pub fn resume_after(&self, latest: DateTime<Utc>) {
        let ahead = latest - Utc::now();
        if ahead <= TimeDelta::zero() {
            return;
        }
        if self.adjustable {
            self.ahead_ms
                .fetch_max(ahead.num_milliseconds() + 1, Ordering::SeqCst); // +1: rounds up the sub-ms rest
            tracing::warn!(%latest, "business clock resumed at the latest event of the database");
        } else {
            tracing::warn!(%latest, "the database's latest event is ahead of the system clock (it ran on a moved clock): new events will be stamped before it; serve it with --adjustable-clock");
        }
    }

    /// A receiver that changes whenever the clock is moved.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.moved.subscribe()
    }
}

/// Why the clock was not moved.
#[derive(Debug, thiserror::Error)]
pub enum ClockError {
    #[error("this server's clock is the system clock and cannot be moved (start it with --adjustable-clock, for training and tests only)")]
    Fixed,
    #[error("the clock only moves forward: {to} is before the server's now, {now}")]
    Backwards {
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    },
    #[error("{to} is more than 90 days ahead of the system clock")]
    TooFar { to: DateTime<Utc> },
}

impl From<ClockError> for ApiError {
    fn from(error: ClockError) -> ApiError {
        match error {
            ClockError::Fixed => ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "clock_fixed",
                "Not allowed",
                error.to_string(),
            ),
            ClockError::Backwards { .. } | ClockError::TooFar { .. } => {
                ApiError::invalid(error.to_string())
            }
        }
    }
}

/// The server's business clock.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClockView {
    /// Now, on the business clock.
    #[serde(serialize_with = "onegrid_core::time_json::serialize")]
    pub now: DateTime<Utc>,
    /// Whether an administrator may move it (a training or test server).
    pub adjustable: bool,
    /// Seconds it runs ahead of the system clock (0 on a live district).
    pub ahead_seconds: i64,
}

/// Where to move the clock.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveClock {
    /// The new now (RFC 3339); not before the current one.
    pub now: DateTime<Utc>,
}

#[derive(OpenApi)]
#[openapi(
    paths(show, move_clock),
    components(schemas(ClockView, MoveClock)),
    tags((name = "clock", description = "业务时钟: the time deadlines and KPIs are counted against"))
)]
struct ClockDoc;

pub fn openapi() -> utoipa::openapi::OpenApi {
    <ClockDoc as OpenApi>::openapi()
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/clock", get(show).put(move_clock))
}

fn view(clock: &Clock) -> ClockView {
    ClockView {
        now: clock.now(),
        adjustable: clock.is_adjustable(),
        ahead_seconds: clock.ahead().num_seconds(),
    }
}

/// The server's business clock: the time deadlines, KPIs and events are counted against.
#[utoipa::path(get, path = "/api/clock", tag = "clock",
    responses((status = 200, body = ClockView)))]
pub async fn show(State(state): State<AppState>) -> ApiJson<ClockView> {
    ApiJson(view(&state.clock))
}

/// Moves the business clock forward (administrators, on a server started with
/// `--adjustable-clock` only: training and tests). Open pages re-read their deadline colours.
#[utoipa::path(put, path = "/api/clock", tag = "clock", security(("bearer" = [])),
    request_body = MoveClock,
    responses(
        (status = 200, body = ClockView),
        (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem, description = "not an administrator, or the clock is fixed"),
        (status = 422, body = crate::error::Problem, description = "backwards, or more than 90 days ahead")))]
pub async fn move_clock(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<MoveClock>,
) -> Result<ApiJson<ClockView>, ApiError> {
    if caller.person.role != onegrid_core::Role::Admin {
        return Err(ApiError::forbidden(
            "only an administrator may move the clock",
        ));
    }
    state.clock.move_to(request.now)?;
    tracing::warn!(now = %request.now, "business clock moved");
    Ok(ApiJson(view(&state.clock)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_refuses_to_move() {
        let clock = Clock::system();
        assert!(matches!(
            clock.move_to(Utc::now() + TimeDelta::hours(1)),
            Err(ClockError::Fixed)
        ));
        assert_eq!(clock.ahead(), TimeDelta::zero());
    }

    #[test]
    fn an_adjustable_clock_moves_forward_only_and_not_too_far() {
        let clock = Clock::adjustable();
        let mut moved = clock.subscribe();
        let to = Utc::now() + TimeDelta::hours(30);
        clock.move_to(to).expect("forward");
        assert!(moved.has_changed().expect("sender alive"));
        moved.mark_unchanged();
        assert!((clock.now() - to).num_seconds().abs() < 5);
        assert!(matches!(
            clock.move_to(to - TimeDelta::hours(1)),
            Err(ClockError::Backwards { .. })
        ));
        assert!(matches!(
            clock.move_to(Utc::now() + TimeDelta::days(91)),
            Err(ClockError::TooFar { .. })
        ));
        assert!(!moved.has_changed().expect("sender alive"));
        assert!((clock.ahead() - TimeDelta::hours(30)).num_seconds().abs() < 5);
    }

    #[test]
    fn a_restarted_clock_resumes_after_the_latest_event() {
        let clock = Clock::adjustable();
        let latest = Utc::now() + TimeDelta::days(3);
        clock.resume_after(latest);
        assert!(clock.now() >= latest);
        // Never back: an earlier event changes nothing.
        clock.resume_after(Utc::now() + TimeDelta::days(1));
        assert!(clock.now() >= latest);
        let fixed = Clock::system();
        fixed.resume_after(latest);
        assert_eq!(fixed.ahead(), TimeDelta::zero());
    }
}
