//! Public opinion (舆情) in the store: every short post received, with what the relevance model and
//! the classifier said and what intake decided (`Decision`), and `OpinionStore`, the storage interface
//! the `Store` exposes through `Store::opinions()`.
//!
//! A post is written once when it is received; afterwards only a desk placing it (a post that had no
//! place, or one the relevance model dismissed) changes its decision, its case and who placed it, and
//! the store refuses that change unless the stored decision still allows it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use onegrid_core::{CaseId, PersonId};
use serde::Serialize;

use crate::StoreError;

/// What became of a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Not about the district's governance (the relevance model's judgement).
    Dismissed,
    /// It opened a new case.
    Opened,
    /// It was merged into an existing case (the case keeps it as one more report).
    Attached,
    /// Relevant, but without a place and matching no open case: a desk must say where it is.
    NeedsPlace,
}

impl Decision {
    pub const ALL: [Decision; 4] = [
        Decision::Dismissed,
        Decision::Opened,
        Decision::Attached,
        Decision::NeedsPlace,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Dismissed => "dismissed",
            Decision::Opened => "opened",
            Decision::Attached => "attached",
            Decision::NeedsPlace => "needs_place",
        }
    }

    pub fn parse(text: &str) -> Option<Decision> {
        Decision::ALL.into_iter().find(|d| d.as_str() == text)
    }

    /// Whether a desk may still place a post with this decision.
    pub fn placeable(self) -> bool {
        matches!(self, Decision::NeedsPlace | Decision::Dismissed)
    }

    /// Whether the post has a case (and must name it).
    pub fn has_case(self) -> bool {
        matches!(self, Decision::Opened | Decision::Attached)
    }
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The place as the sender gave it; every part may be missing.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GivenPlace {
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    /// The coordinates' system as sent (wgs84, gcj02, bd09).
    pub crs: Option<String>,
    /// A grid cell code as sent.
    pub cell: Option<String>,
    pub address: Option<String>,
}

/// A post to record, with the decision already taken.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOpinion {
    pub received_at: DateTime<Utc>,
    pub received_by: PersonId,
    pub posted_at: Option<DateTime<Utc>>,
    pub source: String,
    pub url: Option<String>,
    pub text: String,
    pub place: GivenPlace,
    /// The relevance model's score and verdict.
    pub relevance: f32,
    pub relevant: bool,
    /// The classifier's label and confidence (relevant posts).
    pub label: Option<String>,
    pub confidence: Option<f32>,
    /// For a post without a place: the open case its text matched best, and the similarity.
    pub candidate: Option<(CaseId, f32)>,
    pub decision: Decision,
    /// The case opened or attached to; required exactly for `opened` and `attached`.
    pub case_id: Option<CaseId>,
}

/// A stored post.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Opinion {
    pub id: u64,
    pub received_at: DateTime<Utc>,
    pub received_by: PersonId,
    pub posted_at: Option<DateTime<Utc>>,
    pub source: String,
    pub url: Option<String>,
    pub text: String,
    pub place: GivenPlace,
    pub relevance: f32,
    pub relevant: bool,
    pub label: Option<String>,
    pub confidence: Option<f32>,
    pub candidate: Option<(CaseId, f32)>,
    /// What intake decided without a desk (set on receipt, or when intake settles a post it recorded
    /// first); a desk placing the post never changes it.
    pub auto_decision: Decision,
    pub decision: Decision,
    pub case_id: Option<CaseId>,
    /// The desk account that placed the post, and when.
    pub placed_by: Option<PersonId>,
    pub placed_at: Option<DateTime<Utc>>,
}

/// A desk's placement of a post: the case it opened or was attached to.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// `opened` or `attached`.
    pub decision: Decision,
    pub case_id: CaseId,
    /// The classifier's label and confidence for the placed report (kept when `None`).
    pub label: Option<String>,
    pub confidence: Option<f32>,
    pub by: PersonId,
    pub at: DateTime<Utc>,
}

/// Which posts to list. Every field narrows the list; `None` means no condition.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpinionFilter {
    pub decision: Option<Decision>,
    /// The source, exactly as sent (e.g. 微博).
    pub source: Option<String>,
    /// Received at or after.
    pub received_from: Option<DateTime<Utc>>,
    /// Received before.
    pub received_to: Option<DateTime<Utc>>,
    /// Only posts with an id greater than this (cursor pagination, newest ids last).
    pub after: Option<u64>,
    /// At most this many posts (default 100, at most 10,000).
    pub limit: Option<usize>,
}

/// Why an opinion operation failed.
#[derive(Debug, thiserror::Error)]
pub enum OpinionError {
    #[error("post {0} does not exist")]
    NotFound(u64),
    #[error("post {id} is already {decision}{}: only a post that needs a place or was dismissed can be placed", match case_id { Some(c) => format!(" (case {})", c.0), None => String::new() })]
    NotPlaceable {
        id: u64,
        decision: Decision,
        case_id: Option<CaseId>,
    },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for OpinionError {
    fn from(error: rusqlite::Error) -> Self {
        OpinionError::Store(error.into())
    }
}

/// Storage of public-opinion posts. Writes are acknowledged only once durable.
#[async_trait]
pub trait OpinionStore: Send + Sync {
    /// Records a post with its decision; the store assigns the id.
    async fn record_opinion(&self, opinion: NewOpinion) -> Result<Opinion, OpinionError>;

    async fn opinion(&self, id: u64) -> Result<Opinion, OpinionError>;

    /// The posts matching the filter, by id.
    async fn list_opinions(&self, filter: &OpinionFilter) -> Result<Vec<Opinion>, OpinionError>;

    /// A desk placed a post (`needs_place` or `dismissed`): sets its decision (`opened` or
    /// `attached`), its case, and who placed it when. Refused, with nothing changed, when the stored
    /// post has another decision by then.
    async fn place_opinion(&self, id: u64, placement: Placement) -> Result<Opinion, OpinionError>;

    /// Intake finished with a post it had recorded as `needs_place` before making its case (so that a
    /// failure between the two leaves a post the desk can see, never a case nobody can trace): sets
    /// the automatic decision (`opened` or `attached`), the case and the classifier's label. Refused,
    /// with nothing changed, when a desk placed the post meanwhile.
    async fn settle_opinion(&self, id: u64, outcome: Settlement) -> Result<Opinion, OpinionError>;
}

/// What intake made of a post it had recorded first (`OpinionStore::settle_opinion`).
#[derive(Debug, Clone, PartialEq)]
pub struct Settlement {
    pub decision: Decision,
    pub case_id: CaseId,
    pub label: Option<String>,
    pub confidence: Option<f32>,
}
