//! What the HTTP interface keeps besides cases: passwords, sessions, API keys, photos, webhooks and
//! their deliveries, and the global event feed. Secrets arrive here already hashed; the store never
//! sees a password or token in clear.

use chrono::{DateTime, Utc};
use onegrid_core::{AreaCode, CaseId, DepartmentCode, Event, PersonId};
use serde::{Deserialize, Serialize};

/// A signed-in session: the SHA-256 of an opaque bearer token, whose it is and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub token_hash: String,
    pub person: PersonId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// An Open311 API key (the SHA-256 of the key; the key itself is shown once, at creation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiKey {
    pub id: u64,
    pub name: String,
    #[serde(skip)]
    pub key_hash: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A stored photo, addressed by the SHA-256 of its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Photo {
    pub hash: String,
    pub mime: String,
    pub bytes: Vec<u8>,
}

/// One event of the district-wide feed, with where its case is now, so that a reader can filter it
/// by the caller's scope without loading the case.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEvent {
    /// Position in the feed (increasing, gap-free only per commit): the `Last-Event-ID` of SSE.
    pub position: u64,
    pub case_id: CaseId,
    pub cell: AreaCode,
    pub department: Option<DepartmentCode>,
    /// Reporters' persons, so a citizen's feed carries their own cases only.
    pub reporters: Vec<PersonId>,
    pub event: Event,
}

/// A subscription to the case events its owner may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: u64,
    pub owner: PersonId,
    pub url: String,
    /// The HMAC-SHA256 key deliveries are signed with.
    #[serde(skip_serializing)]
    pub secret: String,
    pub created_at: DateTime<Utc>,
    pub active: bool,
    /// The feed position of the last event handed to this webhook.
    pub cursor: u64,
}

/// One delivery attempt of one event to one webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub webhook: u64,
    pub event_position: u64,
    pub attempt: u32,
    pub at: DateTime<Utc>,
    /// The HTTP status the endpoint answered, if it answered.
    pub status: Option<u16>,
    pub error: Option<String>,
    pub delivered: bool,
}
