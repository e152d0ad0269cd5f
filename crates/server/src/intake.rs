//! The intake path of a report, shared by the REST API and Open311: where it is (the point → cell
//! index), what it is (the classifier suggests a category when none is given), how serious it is
//! (severity signals raise the tier and say why), and then the store, which answers once the case is
//! durable.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use onegrid_core::case::{Proposal, ProposalKind};
use onegrid_core::{
    Actor, AreaCode, CategoryCode, Channel, GeoPoint, NewReport, Reference, Reporter, Role,
};
use onegrid_geo::crs::Crs;
use onegrid_text::duplicates::{
    signature, signature_normalised, Candidate, DuplicateConfig, DuplicateIndex, Signature,
};
use onegrid_text::Classifier;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::policy::{case_view, CaseView};
use crate::AppState;

/// A point as sent by a client.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationInput {
    pub lon: f64,
    pub lat: f64,
    /// wgs84 (GPS, the default), gcj02 (Amap, Tencent) or bd09 (Baidu).
    #[serde(default)]
    pub crs: Option<String>,
}

/// A new report.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    /// One line saying what is wrong (1–200 characters).
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Category code (e.g. `S0101`); when absent, the one suggested from the text is used.
    #[serde(default)]
    pub category: Option<String>,
    /// Channel; by default the caller's own (citizen, grid_worker, desk…).
    #[serde(default)]
    pub channel: Option<String>,
    /// Where it is; the grid cell is found from it.
    #[serde(default)]
    pub location: Option<LocationInput>,
    /// The grid cell (15 digits), when there is no point.
    #[serde(default)]
    pub cell: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    /// Ids of photos uploaded with POST /api/photos.
    #[serde(default)]
    pub photos: Vec<String>,
    /// For reports taken on someone's behalf (hotline, desk): the caller's name and phone.
    #[serde(default)]
    pub reporter_name: Option<String>,
    #[serde(default)]
    pub reporter_phone: Option<String>,
    /// A proposal (建议提案) to handle as a case; filed by the desk (dispatcher or command center).
    /// Its category is the kind's (Z9901 人大代表建议, Z9902 政协委员提案) when none is given.
    #[serde(default)]
    pub proposal: Option<ProposalInput>,
}

/// A proposal (建议提案) as a client sends it (docs/supervision.md, "Proposals").
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalInput {
    /// npc_suggestion (人大代表建议) or cppcc_proposal (政协委员提案).
    pub kind: String,
    /// The document's number, e.g. 「第0123号」 (1–32 characters).
    pub number: String,
    /// The session it was raised at, e.g. 「区十七届人大五次会议」.
    #[serde(default)]
    pub session: Option<String>,
    /// The handling deadline the document carries; when absent, 3 months after filing.
    #[serde(default)]
    pub due_at: Option<DateTime<Utc>>,
    /// The deputy or member who raised it.
    pub proposer: String,
}

impl ProposalInput {
    fn parse(self) -> Result<Proposal, ApiError> {
        let kind = ProposalKind::parse(self.kind.trim()).ok_or_else(|| {
            ApiError::invalid(format!(
                "proposal.kind: {:?} is neither npc_suggestion (人大代表建议) nor cppcc_proposal (政协委员提案)",
                self.kind
            ))
        })?;
        Ok(Proposal::from_input(
            kind,
            &self.number,
            self.session.as_deref(),
            &self.proposer,
            self.due_at,
        ))
    }
}

/// The category the classifier suggests for a text.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Suggestion {
    /// The classifier's label (a data-set label such as 城乡建设, or a category code for a district
    /// model trained on its own cases).
    pub label: String,
    pub confidence: f32,
    pub category: Option<String>,
    pub category_name: Option<String>,
    pub department: Option<String>,
}

/// An open case that may report the same matter.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DuplicateView {
    pub id: u64,
    /// Text similarity, 0 to 1 (docs/text.md, "Duplicates").
    pub similarity: f32,
    pub distance_m: Option<f64>,
    pub hours_apart: f64,
}

/// What intake did with a report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntakeOutcome {
    /// The new case (after an automatic merge: the duplicate, now merged).
    pub case: CaseView,
    pub suggestion: Option<Suggestion>,
    /// Why the tier was raised above the category's default, if it was.
    pub tier_reason: Option<String>,
    /// Open cases near in space, time and text, best first, for the dispatcher to consider.
    pub duplicates: Vec<DuplicateView>,
    /// The case this report was merged into automatically (similarity at or above the merge threshold).
    pub merged_into: Option<u64>,
}

/// The open cases of the recent window with their text signatures, for the duplicate check at intake
/// (`onegrid_text::duplicates`). Filled from the store at start; intake adds each new case; a case
/// leaves when it reaches a final state through this server, and every entry when it ages out of the
/// window.
pub struct Duplicates {
    index: std::sync::RwLock<DuplicateIndex>,
}

/// Who merges automatically: the system, with the command center's rights, named in the history.
pub fn system_actor() -> Actor {
    Actor {
        person: onegrid_core::PersonId::parse("system.auto-merge")
            .expect("a valid literal account id"),
        role: Role::Commander,
        scope: onegrid_core::Scope::default(),
    }
}

/// The text of a case as the duplicate check signs it.
pub fn case_text(title: &str, description: &str) -> String {
    format!("{title}。{description}")
}

fn point_of(case_point: Option<GeoPoint>) -> Option<(f64, f64)> {
    case_point.map(|p| (p.lon, p.lat))
}

impl Duplicates {
    pub fn new(config: DuplicateConfig) -> Duplicates {
        Duplicates {
            index: std::sync::RwLock::new(DuplicateIndex::new(config)),
        }
    }

    /// Loads the open cases reported within the window.
    pub async fn load(
        store: &dyn onegrid_store::Store,
        now: DateTime<Utc>,
    ) -> Result<Duplicates, ApiError> {
        let duplicates = Duplicates::new(DuplicateConfig::default());
        let window = chrono::Duration::seconds((duplicates.config().window_hours * 3600.0) as i64);
        let mut filter = onegrid_store::CaseFilter {
            reported_from: Some(now - window),
            limit: Some(10_000),
            ..Default::default()
        };
        loop {
            let page = store.list_cases(&filter).await?;
            for case in &page {
                if !case.state.is_final() {
                    duplicates.add(case);
                }
            }
            match page.last() {
                Some(last) if page.len() == 10_000 => filter.after = Some(last.id),
                _ => break,
            }
        }
        Ok(duplicates)
    }

    pub fn config(&self) -> DuplicateConfig {
        *self.read().config()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, DuplicateIndex> {
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, DuplicateIndex> {
        self.index.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn add(&self, case: &onegrid_core::Case) {
        self.add_signed(case, signature(&case_text(&case.title, &case.description)));
    }

    /// As `add`, with the signature intake already computed for the candidates.
    pub fn add_signed(&self, case: &onegrid_core::Case, signature: Signature) {
        let mut index = self.write();
        // Entries older than the window can never be candidates again: drop them as new ones come.
        let window_s = (index.config().window_hours * 3600.0) as i64;
        index.prune_before(case.reported_at.timestamp() - window_s);
        index.insert(
            case.id.0,
            point_of(case.point),
            Some(case.cell.as_str()),
            case.reported_at.timestamp(),
            signature,
        );
    }

    pub fn forget(&self, id: u64) {
        self.write().remove(id);
    }

    /// Candidates for a report, best first. A read lock only: the index's own window check keeps
    /// old entries out, and pruning happens on the write path (`add_signed`).
    pub fn candidates(
        &self,
        point: Option<(f64, f64)>,
        cell: &str,
        at: DateTime<Utc>,
        signature: &Signature,
        limit: usize,
    ) -> Vec<Candidate> {
        self.read()
            .candidates(point, Some(cell), at.timestamp(), signature, limit)
    }

    /// Candidates for a text with no place at all (a public-opinion post): every open case of the
    /// window, compared by text and time alone (docs/text.md, "Duplicates").
    pub fn candidates_anywhere(
        &self,
        at: DateTime<Utc>,
        signature: &Signature,
        limit: usize,
    ) -> Vec<Candidate> {
        self.read()
            .candidates(None, None, at.timestamp(), signature, limit)
    }

    /// Candidates for an existing case (itself excluded).
    pub fn for_case(&self, case: &onegrid_core::Case, limit: usize) -> Vec<Candidate> {
        let signature = signature(&case_text(&case.title, &case.description));
        self.read()
            .candidates(
                point_of(case.point),
                Some(case.cell.as_str()),
                case.reported_at.timestamp(),
                &signature,
                limit + 1,
            )
            .into_iter()
            .filter(|c| c.id != case.id.0)
            .take(limit)
            .collect()
    }
}

pub fn duplicate_view(candidate: &Candidate) -> DuplicateView {
    DuplicateView {
        id: candidate.id,
        similarity: candidate.similarity,
        distance_m: candidate.distance_m,
        hours_apart: candidate.hours_apart,
    }
}

/// The labels of the shipped model whose names differ from onegrid's major categories
/// (docs/text.md, "Mapping to onegrid's taxonomy and departments").
const LABEL_ALIASES: [(&str, &str); 2] = [("环境保护", "生态环境"), ("卫生计生", "卫生健康")];

/// The category a classifier label stands for: the label itself when it is a category code (a
/// district's own model), else the subcategory of the label's major category that belongs to the
/// department most of that major's subcategories belong to.
pub fn category_for_label(label: &str, reference: &Reference) -> Option<CategoryCode> {
    if let Ok(code) = CategoryCode::parse(label) {
        if reference.taxonomy.get(&code).is_some() {
            return Some(code);
        }
    }
    let major_name = LABEL_ALIASES
        .iter()
        .find(|(from, _)| *from == label)
        .map_or(label, |(_, to)| *to);
    let members: Vec<_> = reference
        .taxonomy
        .iter()
        .filter(|c| c.major_name == major_name)
        .collect();
    let mut counts: Vec<(&onegrid_core::DepartmentCode, usize)> = Vec::new();
    for category in &members {
        match counts.iter_mut().find(|(d, _)| **d == category.department) {
            Some((_, n)) => *n += 1,
            None => counts.push((&category.department, 1)),
        }
    }
    // Ties go to the department listed first, so the choice is stable.
    let best = counts
        .iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(std::cmp::Ordering::Greater))?;
    members
        .iter()
        .find(|c| &c.department == best.0)
        .map(|c| c.code.clone())
}

/// `category_for_label` for the reference data in force, remembered per label: the answer depends
/// only on the taxonomy, and working it out walks the whole taxonomy. Keyed by the reference's `Arc`,
/// which the cache holds, so a replaced reference (whose address could otherwise be reused) is never
/// mistaken for the current one.
fn category_for_label_cached(label: &str, reference: &Arc<Reference>) -> Option<CategoryCode> {
    type Cache = (Arc<Reference>, Vec<(String, Option<CategoryCode>)>);
    static CACHE: Mutex<Option<Cache>> = Mutex::new(None);
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    match &mut *cache {
        Some((cached, labels)) if Arc::ptr_eq(cached, reference) => {
            if let Some((_, category)) = labels.iter().find(|(l, _)| l == label) {
                return category.clone();
            }
            let category = category_for_label(label, reference);
            // A model has a handful of labels; a district model's labels are its category codes.
            if labels.len() < 1024 {
                labels.push((label.to_string(), category.clone()));
            }
            category
        }
        _ => {
            let category = category_for_label(label, reference);
            *cache = Some((
                reference.clone(),
                vec![(label.to_string(), category.clone())],
            ));
            category
        }
    }
}

/// Classifies a report's text into a suggestion.
pub fn suggest(classifier: &Classifier, reference: &Reference, text: &str) -> Option<Suggestion> {
    let prediction = classifier.classify(text).ok()?;
    let category = category_for_label(&prediction.label, reference);
    suggestion_of(prediction, category, reference)
}

/// `suggest` on text already normalised (`onegrid_text::normalize`), with the label's category
/// remembered between reports.
fn suggest_normalised(
    classifier: &Classifier,
    reference: &Arc<Reference>,
    normalised: &str,
) -> Option<Suggestion> {
    let prediction = classifier.classify_normalised(normalised).ok()?;
    let category = category_for_label_cached(&prediction.label, reference);
    suggestion_of(prediction, category, reference)
}

fn suggestion_of(
    prediction: onegrid_text::Prediction,
    category: Option<CategoryCode>,
    reference: &Reference,
) -> Option<Suggestion> {
    let known = category.as_ref().and_then(|c| reference.taxonomy.get(c));
    Some(Suggestion {
        label: prediction.label,
        confidence: prediction.confidence,
        category: category.as_ref().map(ToString::to_string),
        category_name: known.map(|c| c.name.clone()),
        department: known.map(|c| c.department.to_string()),
    })
}

/// The channel a role reports through when the request names none.
fn default_channel(role: Role) -> Result<Channel, ApiError> {
    match role {
        Role::Citizen => Ok(Channel::Citizen),
        Role::GridWorker => Ok(Channel::GridWorker),
        Role::Dispatcher | Role::Commander | Role::DepartmentHandler => Ok(Channel::Desk),
        Role::Integrator => Err(ApiError::invalid(
            "channel: a connected system must say which channel it reports for (hotline_12345, police_110, public_opinion, sensor, open311)",
        )),
        Role::Supervisor | Role::Admin => Err(ApiError::forbidden(format!(
            "{} accounts do not report cases",
            role.name_zh()
        ))),
    }
}

/// Turns a request into a `NewReport`: parses every field, places the point, fills the category.
/// Returns the report and the suggestion made from its text.
pub fn prepare(
    state: &AppState,
    request: ReportRequest,
    reporter: Reporter,
    channel: Channel,
) -> Result<(NewReport, Option<Suggestion>), ApiError> {
    prepare_normalised(state, request, reporter, channel)
        .map(|(report, suggestion, _)| (report, suggestion))
}

/// `prepare`, also returning the normalised text of the report as the duplicate check reads it
/// (`case_text` of the stored title and description), when it is the text the classifier read, so
/// that intake normalises a report once.
fn prepare_normalised(
    state: &AppState,
    request: ReportRequest,
    reporter: Reporter,
    channel: Channel,
) -> Result<(NewReport, Option<Suggestion>, Option<String>), ApiError> {
    let reference = state.store.reference();
    let title = request.title.trim().to_string();
    if title.is_empty() {
        return Err(ApiError::invalid("title: say in a few words what is wrong"));
    }
    let text = format!("{title}。{}", request.description);
    let normalised = onegrid_text::normalize::normalize(&text);
    let suggestion = suggest_normalised(&state.classifier, &reference, &normalised);
    // The stored description is trimmed; the classifier read it as sent. Same text unless it had
    // spaces around it.
    let same_text = request.description.trim().len() == request.description.len();
    let proposal = request.proposal.map(ProposalInput::parse).transpose()?;
    let category = match request.category.as_deref().map(str::trim) {
        Some(code) if !code.is_empty() => {
            let code = CategoryCode::parse(code).map_err(|e| ApiError::invalid(format!("category: {e}")))?;
            if reference.taxonomy.get(&code).is_none() {
                return Err(ApiError::invalid(format!(
                    "category: {code} is not a category of this district; GET /api/categories lists them"
                )));
            }
            code
        }
        // A proposal is filed under its kind's category, whatever its text is about.
        _ if proposal.is_some() => proposal
            .as_ref()
            .and_then(|p| CategoryCode::parse(p.kind.category_code()).ok())
            .ok_or_else(|| ApiError::invalid("category: no category for this proposal"))?,
        _ => suggestion
            .as_ref()
            .and_then(|s| s.category.as_deref())
            .and_then(|c| CategoryCode::parse(c).ok())
            .ok_or_else(|| {
                ApiError::invalid("category: none was given and none could be suggested from the text; choose one from GET /api/categories")
            })?,
    };
    let (point, located_cell) = match request.location {
        Some(location) => {
            let (point, cell) = locate_input(state, &location)?;
            (Some(point), Some(cell))
        }
        None => (None, None),
    };
    let cell = match (request.cell.as_deref(), located_cell) {
        (Some(text), _) => AreaCode::parse(text.trim()).map_err(|e| ApiError::invalid(format!("cell: {e}")))?,
        (None, Some(cell)) => cell,
        (None, None) => {
            return Err(ApiError::invalid(
                "location: give a location (lon, lat) or a grid cell, so the report can be placed in its grid",
            ))
        }
    };
    let mut report = NewReport {
        channel,
        reporter,
        cell,
        point,
        distance_to_cell_m: None,
        address: request
            .address
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty()),
        category,
        title,
        description: request.description.trim().to_string(),
        photos: request.photos,
        tier: None,
        tier_reason: None,
        proposal,
    };
    let category_tier = reference
        .taxonomy
        .get(&report.category)
        .map_or(onegrid_core::Tier::Grid, |c| c.tier);
    onegrid_text::severity::raise_report_tier(&mut report, category_tier);
    Ok((report, suggestion, same_text.then_some(normalised)))
}

/// A point as a client sent it, in WGS84, and the grid cell it lies in: the coordinate system is
/// known, the numbers are numbers, and the point is inside the district.
pub fn locate_input(
    state: &AppState,
    location: &LocationInput,
) -> Result<(GeoPoint, AreaCode), ApiError> {
    let crs: Crs = location.crs.as_deref().unwrap_or("wgs84").parse().map_err(
        |e: onegrid_geo::crs::UnknownCrs| ApiError::invalid(format!("location.crs: {e}")),
    )?;
    if !location.lon.is_finite() || !location.lat.is_finite() {
        return Err(ApiError::invalid("location: lon and lat must be numbers"));
    }
    let wgs84 = crs.to_wgs84(geo::Coord {
        x: location.lon,
        y: location.lat,
    });
    let located = onegrid_store::locate(state.store.as_ref(), wgs84.x, wgs84.y)?;
    Ok((
        GeoPoint {
            lon: wgs84.x,
            lat: wgs84.y,
        },
        located.cell,
    ))
}

/// The reporter of a request made by `caller`: a citizen is themself; staff may enter the person
/// who called them.
pub fn reporter_for(
    caller: &onegrid_core::Person,
    channel: Channel,
    request: &ReportRequest,
) -> Result<Reporter, ApiError> {
    let (name, phone) = if caller.role == Role::Citizen {
        (Some(caller.name.clone()), caller.phone.clone())
    } else {
        let phone = request
            .reporter_phone
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            .map(crate::auth::check_phone)
            .transpose()?;
        let name = request
            .reporter_name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        if name.as_ref().is_some_and(|n| n.chars().count() > 40) {
            return Err(ApiError::invalid("reporter_name: at most 40 characters"));
        }
        (name, phone)
    };
    Ok(Reporter {
        channel,
        person: Some(caller.id.clone()),
        name,
        phone,
    })
}

/// The whole intake of one report by a signed-in caller.
pub async fn report(
    state: &AppState,
    caller: &onegrid_core::Person,
    request: ReportRequest,
    now: DateTime<Utc>,
) -> Result<IntakeOutcome, ApiError> {
    let channel = match request.channel.as_deref() {
        Some(text) => Channel::parse(text).ok_or_else(|| {
            ApiError::invalid(format!("channel: {text:?} is not a channel onegrid knows"))
        })?,
        None => default_channel(caller.role)?,
    };
    if request.proposal.is_some() && !matches!(caller.role, Role::Dispatcher | Role::Commander) {
        return Err(ApiError::forbidden(format!(
            "proposal: a {} account cannot file a proposal (建议提案); the desk (a dispatcher or the command center) files them as they are handed over",
            caller.role.name_zh()
        )));
    }
    for photo in &request.photos {
        let valid = photo.len() == 64 && photo.bytes().all(|b| b.is_ascii_hexdigit());
        if !valid || !state.store.photo_exists(photo).await? {
            return Err(ApiError::invalid(format!(
                "photos: {photo:?} is not the id of an uploaded photo; upload it with POST /api/photos first"
            )));
        }
    }
    let reporter = reporter_for(caller, channel, &request)?;
    let actor: Actor = caller.actor();
    let (report, suggestion, normalised) = prepare_normalised(state, request, reporter, channel)?;
    store_prepared(state, &actor, report, suggestion, now, normalised).await
}

/// Stores a prepared report, checks it for duplicates among the open cases, merges it into one when
/// the text is near enough (`DuplicateConfig::merge_at`), and says what happened.
pub async fn store_report(
    state: &AppState,
    actor: &Actor,
    report: NewReport,
    suggestion: Option<Suggestion>,
    now: DateTime<Utc>,
) -> Result<IntakeOutcome, ApiError> {
    store_prepared(state, actor, report, suggestion, now, None).await
}

/// `store_report`, given the normalised `case_text` of the report when intake already has it.
async fn store_prepared(
    state: &AppState,
    actor: &Actor,
    report: NewReport,
    suggestion: Option<Suggestion>,
    now: DateTime<Utc>,
    normalised: Option<String>,
) -> Result<IntakeOutcome, ApiError> {
    let tier_reason = report.tier_reason.clone();
    let text_signature = match normalised {
        Some(normalised) => signature_normalised(&normalised),
        None => signature(&case_text(&report.title, &report.description)),
    };
    let candidates = state.duplicates.candidates(
        point_of(report.point),
        report.cell.as_str(),
        now,
        &text_signature,
        5,
    );
    let case = state.store.report(report, actor, now).await?;
    let merge_at = state.duplicates.config().merge_at;
    let mut merged_into = None;
    let mut shown = case.clone();
    // A proposal is a numbered document with its own deadline: never merged away automatically.
    let best = candidates.first().filter(|c| {
        state.config.auto_merge_duplicates && c.similarity >= merge_at && case.proposal.is_none()
    });
    if let Some(best) = best {
        match state
            .store
            .merge(case.id, onegrid_core::CaseId(best.id), &system_actor(), now)
            .await
        {
            Ok((source, _target)) => {
                merged_into = Some(best.id);
                shown = source;
            }
            // The target may have moved on meanwhile (closed, merged): the report stays a case.
            Err(error) => {
                tracing::info!(%error, case = case.id.0, target = best.id, "automatic merge refused")
            }
        }
    }
    if merged_into.is_none() {
        state.duplicates.add_signed(&case, text_signature);
    }
    let reference = state.store.reference();
    Ok(IntakeOutcome {
        case: case_view(&shown, actor, &reference, now),
        suggestion,
        tier_reason,
        duplicates: candidates.iter().map(duplicate_view).collect(),
        merged_into,
    })
}
