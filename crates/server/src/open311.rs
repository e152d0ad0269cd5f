//! Open311 GeoReport v2 under `/open311/v2/`, in JSON and XML (docs/api.md, "Open311 GeoReport
//! v2"). Services are the district's categories; a service request is a case. Reports go through the
//! same intake as REST (`intake::prepare`: locate, classify, severity) on the `open311` channel, as
//! the integrator identity of the API key that sent them. Nothing personal (reporter names, phones,
//! emails) is ever written out here.

mod format;

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Duration, FixedOffset, Offset, SecondsFormat, Utc};
use onegrid_core::area::AreaLevel;
use onegrid_core::category::CategoryKind;
use onegrid_core::{
    Actor, Case, CaseId, Category, CategoryCode, Channel, PersonId, Reference, Reporter, Role,
    Scope,
};
use onegrid_store::{ApiKey, CaseFilter, StoreError};

pub use format::{Format, Node, Open311Error};

use crate::error::ApiError;
use crate::intake::{self, LocationInput, ReportRequest};
use crate::{AppState, ClientAddr};

/// The prefix of every GeoReport route.
pub const BASE: &str = "/open311/v2";
/// Most requests one `GET requests` answers.
pub const MAX_REQUESTS: usize = 1000;
/// The window `GET requests` covers when no dates are given, and the longest it may span.
pub const WINDOW_DAYS: i64 = 90;
/// Longest description accepted.
pub const MAX_DESCRIPTION_CHARS: usize = 4000;
/// Cases read at most to answer one `GET requests` (the status filter is applied after reading).
const MAX_SCANNED: usize = 50_000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/open311/v2/discovery.json",
            get(|| async { discovery(Format::Json) }),
        )
        .route(
            "/open311/v2/discovery.xml",
            get(|| async { discovery(Format::Xml) }),
        )
        .route(
            "/open311/v2/services.json",
            get(|state: State<AppState>| async move { services(state, Format::Json) }),
        )
        .route(
            "/open311/v2/services.xml",
            get(|state: State<AppState>| async move { services(state, Format::Xml) }),
        )
        .route("/open311/v2/services/{file}", get(service_definition))
        .route(
            "/open311/v2/requests.json",
            get(|state: State<AppState>, query: RawQuery| async move {
                list_requests(state, query, Format::Json).await
            })
            .post(
                |state: State<AppState>,
                 client: ClientAddr,
                 query: RawQuery,
                 headers: HeaderMap,
                 body: Result<Bytes, BytesRejection>| async move {
                    post_request(state, client, query, headers, body, Format::Json).await
                },
            ),
        )
        .route(
            "/open311/v2/requests.xml",
            get(|state: State<AppState>, query: RawQuery| async move {
                list_requests(state, query, Format::Xml).await
            })
            .post(
                |state: State<AppState>,
                 client: ClientAddr,
                 query: RawQuery,
                 headers: HeaderMap,
                 body: Result<Bytes, BytesRejection>| async move {
                    post_request(state, client, query, headers, body, Format::Xml).await
                },
            ),
        )
        .route("/open311/v2/requests/{file}", get(show_request))
        .route("/open311/v2/tokens/{file}", get(show_token))
}

type Answer = Result<Response, Open311Error>;

fn ok(format: Format, root: &'static str, node: &Node) -> Answer {
    Ok(format::respond(StatusCode::OK, format, root, node))
}

/// Times as ISO 8601 with the district's offset (China Standard Time, +08:00).
fn local_time(time: DateTime<Utc>) -> String {
    let offset = FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix());
    time.with_timezone(&offset)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

// ---------------------------------------------------------------------------------------------
// Discovery

fn discovery(format: Format) -> Answer {
    let endpoint = |url_format: &str| {
        Node::Object(vec![
            (
                "specification",
                Node::text("http://wiki.open311.org/GeoReport_v2"),
            ),
            ("url", Node::text(BASE)),
            ("changeset", Node::text("2024-01-01T00:00:00+08:00")),
            ("type", Node::text(url_format)),
            (
                "formats",
                Node::List {
                    item: "format",
                    members: vec![Node::text("text/xml"), Node::text("application/json")],
                },
            ),
        ])
    };
    let node = Node::Object(vec![
        ("changeset", Node::text("2024-01-01T00:00:00+08:00")),
        (
            "contact",
            Node::text("区网格化管理指挥中心（onegrid）；API 说明见 /api/docs"),
        ),
        (
            "key_service",
            Node::text("API 密钥由管理员以 `onegrid apikey create` 签发"),
        ),
        (
            "endpoints",
            Node::List {
                item: "endpoint",
                members: vec![endpoint("production")],
            },
        ),
    ]);
    ok(format, "discovery", &node)
}

// ---------------------------------------------------------------------------------------------
// Services

/// One choice of a list attribute: (key, name).
type Choice = (&'static str, &'static str);

/// An attribute a service asks for.
struct AttributeDef {
    code: &'static str,
    description: &'static str,
    datatype_description: &'static str,
    choices: &'static [Choice],
}

const SEVERITY: AttributeDef = AttributeDef {
    code: "severity",
    description: "严重程度",
    datatype_description: "选一项：一般、严重或紧急",
    choices: &[("general", "一般"), ("serious", "严重"), ("urgent", "紧急")],
};

const COMPONENT_STATE: AttributeDef = AttributeDef {
    code: "component_state",
    description: "部件状况",
    datatype_description: "选一项：丢失、破损、移位或其他",
    choices: &[
        ("missing", "丢失"),
        ("damaged", "破损"),
        ("displaced", "移位"),
        ("other", "其他"),
    ],
};

/// The attributes of a category: city components (部件) ask what state the component is in and how
/// serious it is; events (事件) how serious they are; social-governance matters (社会治理) ask
/// nothing (they are described in words, and their severity is read from the text).
fn attributes_of(category: &Category) -> &'static [AttributeDef] {
    const COMPONENT: &[AttributeDef] = &[COMPONENT_STATE, SEVERITY];
    const EVENT: &[AttributeDef] = &[SEVERITY];
    match category.kind() {
        CategoryKind::Component => COMPONENT,
        CategoryKind::Event => EVENT,
        CategoryKind::Governance => &[],
    }
}

fn kind_zh(kind: CategoryKind) -> &'static str {
    match kind {
        CategoryKind::Component => "部件",
        CategoryKind::Event => "事件",
        CategoryKind::Governance => "社会治理",
    }
}

fn service_node(category: &Category, reference: &Reference) -> Node {
    let department = reference
        .departments
        .get(&category.department)
        .map_or_else(|| category.department.to_string(), |d| d.name.clone());
    Node::Object(vec![
        ("service_code", Node::text(category.code.to_string())),
        ("service_name", Node::text(category.name.clone())),
        (
            "description",
            Node::text(format!(
                "{}（{}类，{}），主管部门：{}",
                category.name,
                kind_zh(category.kind()),
                category.major_name,
                department
            )),
        ),
        ("metadata", Node::Bool(!attributes_of(category).is_empty())),
        ("type", Node::text("realtime")),
        (
            "keywords",
            Node::text(format!(
                "{},{},{}",
                category.name,
                category.major_name,
                kind_zh(category.kind())
            )),
        ),
        ("group", Node::text(category.major_name.clone())),
    ])
}

fn services(State(state): State<AppState>, format: Format) -> Answer {
    let reference = state.store.reference();
    let members = reference
        .taxonomy
        .iter()
        .map(|category| service_node(category, &reference))
        .collect();
    ok(
        format,
        "services",
        &Node::List {
            item: "service",
            members,
        },
    )
}

fn find_category<'a>(
    reference: &'a Reference,
    code: &str,
    format: Format,
) -> Result<&'a Category, Open311Error> {
    CategoryCode::parse(code.trim())
        .ok()
        .and_then(|code| reference.taxonomy.get(&code))
        .ok_or_else(|| {
            Open311Error::not_found(
                format!(
                    "service_code {code:?} is not a service of this district; GET {BASE}/services.json lists them"
                ),
                format,
            )
        })
}

async fn service_definition(State(state): State<AppState>, Path(file): Path<String>) -> Answer {
    let (code, format) = Format::split(&file)?;
    let reference = state.store.reference();
    let category = find_category(&reference, code, format)?;
    let attributes = attributes_of(category)
        .iter()
        .enumerate()
        .map(|(order, attribute)| {
            Node::Object(vec![
                ("variable", Node::Bool(true)),
                ("code", Node::text(attribute.code)),
                ("datatype", Node::text("singlevaluelist")),
                ("required", Node::Bool(false)),
                (
                    "datatype_description",
                    Node::text(attribute.datatype_description),
                ),
                ("order", Node::Int(order as i64 + 1)),
                ("description", Node::text(attribute.description)),
                (
                    "values",
                    Node::List {
                        item: "value",
                        members: attribute
                            .choices
                            .iter()
                            .map(|(key, name)| {
                                Node::Object(vec![
                                    ("key", Node::text(*key)),
                                    ("name", Node::text(*name)),
                                ])
                            })
                            .collect(),
                    },
                ),
            ])
        })
        .collect();
    let node = Node::Object(vec![
        ("service_code", Node::text(category.code.to_string())),
        (
            "attributes",
            Node::List {
                item: "attribute",
                members: attributes,
            },
        ),
    ]);
    ok(format, "service_definition", &node)
}

// ---------------------------------------------------------------------------------------------
// Service requests out

/// Runs of seven or more digits in free text (a phone number a reporter typed into the
/// description) are masked, so that Open311 output never carries one.
fn mask_digit_runs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().count() >= 7 {
            out.push_str(&onegrid_core::org::mask_phone(run));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// The prefix under which a `media_url` sent with a report is kept in its description.
const MEDIA_PREFIX: &str = "附图链接：";

fn status_notes(case: &Case) -> String {
    let mut notes = case.state.name_zh().to_string();
    if let Some(target) = case.merged_into {
        notes.push_str(&format!("（与 {} 号为同一问题，已合并）", target.0));
    } else if let Some(reason) = case.reason.as_deref().filter(|r| !r.trim().is_empty()) {
        notes.push_str(&format!("：{}", mask_digit_runs(reason)));
    }
    notes
}

/// A case as a GeoReport service request. Only public facts: no reporter, no account.
fn request_node(case: &Case, reference: &Reference) -> Node {
    let department = case.lead_department().or_else(|| {
        reference
            .taxonomy
            .get(&case.category)
            .map(|c| &c.department)
    });
    let agency = department.map(|code| {
        reference
            .departments
            .get(code)
            .map_or_else(|| code.to_string(), |d| d.name.clone())
    });
    let closed = case.state.is_final();
    let address = case.address.clone().or_else(|| {
        let names = reference.areas.path_names(&case.cell);
        (!names.is_empty()).then(|| names.join(""))
    });
    let media_url = case
        .description
        .lines()
        .find_map(|line| line.strip_prefix(MEDIA_PREFIX))
        .map(|url| url.trim().to_string());
    let expected = case
        .deadline
        .filter(|_| !closed)
        .map(|deadline| local_time(deadline.due_at));
    Node::Object(vec![
        ("service_request_id", Node::text(case.id.0.to_string())),
        ("status", Node::text(if closed { "closed" } else { "open" })),
        ("status_notes", Node::text(status_notes(case))),
        (
            "service_name",
            Node::opt_text(
                reference
                    .taxonomy
                    .get(&case.category)
                    .map(|c| c.name.clone()),
            ),
        ),
        ("service_code", Node::text(case.category.to_string())),
        (
            "description",
            Node::text(mask_digit_runs(&case.description)),
        ),
        ("agency_responsible", Node::opt_text(agency)),
        ("service_notice", Node::Null),
        (
            "requested_datetime",
            Node::text(local_time(case.reported_at)),
        ),
        ("updated_datetime", Node::text(local_time(case.updated_at))),
        ("expected_datetime", Node::opt_text(expected)),
        (
            "address",
            Node::opt_text(address.map(|a| mask_digit_runs(&a))),
        ),
        ("address_id", Node::text(case.cell.to_string())),
        ("zipcode", Node::Null),
        ("lat", case.point.map_or(Node::Null, |p| Node::Float(p.lat))),
        (
            "long",
            case.point.map_or(Node::Null, |p| Node::Float(p.lon)),
        ),
        ("media_url", Node::opt_text(media_url)),
    ])
}

fn request_list(members: Vec<Node>) -> Node {
    Node::List {
        item: "request",
        members,
    }
}

/// Query parameters as pairs (repeated keys kept, unknown keys such as `jurisdiction_id` ignored).
fn query_pairs(query: Option<&str>, format: Format) -> Result<Vec<(String, String)>, Open311Error> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query.unwrap_or_default()).map_err(|e| {
        Open311Error::bad_request(format!("the query string cannot be read: {e}"), format)
    })
}

/// All values of a parameter, comma lists split, blanks dropped.
fn values<'a>(pairs: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(key, _)| key == name)
        .flat_map(|(_, value)| value.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect()
}

fn parse_time(
    pairs: &[(String, String)],
    name: &str,
    format: Format,
) -> Result<Option<DateTime<Utc>>, Open311Error> {
    let found = values(pairs, name);
    let Some(text) = found.first() else {
        return Ok(None);
    };
    DateTime::parse_from_rfc3339(text)
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|_| {
            Open311Error::bad_request(
                format!(
                    "{name}: {text:?} is not a W3C date-time; write e.g. 2024-05-01T00:00:00+08:00 or 2024-04-30T16:00:00Z"
                ),
                format,
            )
        })
}

async fn load_case(
    state: &AppState,
    id: u64,
    format: Format,
) -> Result<Option<Case>, Open311Error> {
    match state.store.case(CaseId(id)).await {
        Ok(case) => Ok(Some(case)),
        Err(StoreError::CaseNotFound(_)) => Ok(None),
        Err(other) => Err(Open311Error::from_api(other.into(), format)),
    }
}

fn parse_id(text: &str, format: Format) -> Result<u64, Open311Error> {
    text.trim().parse::<u64>().map_err(|_| {
        Open311Error::bad_request(
            format!("service_request_id: {text:?} is not a request number (digits only)"),
            format,
        )
    })
}

async fn list_requests(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    format: Format,
) -> Answer {
    let pairs = query_pairs(query.as_deref(), format)?;
    let reference = state.store.reference();
    let ids = values(&pairs, "service_request_id");
    if !ids.is_empty() {
        // The spec: a list of ids overrides every other parameter.
        if ids.len() > MAX_REQUESTS {
            return Err(Open311Error::bad_request(
                format!("service_request_id: at most {MAX_REQUESTS} ids at once"),
                format,
            ));
        }
        let mut members = Vec::new();
        for id in ids {
            let id = parse_id(id, format)?;
            if let Some(case) = load_case(&state, id, format).await? {
                members.push(request_node(&case, &reference));
            }
        }
        return ok(format, "service_requests", &request_list(members));
    }
    let mut codes = Vec::new();
    for code in values(&pairs, "service_code") {
        codes.push(find_category(&reference, code, format)?.code.clone());
    }
    let mut want_open = false;
    let mut want_closed = false;
    for status in values(&pairs, "status") {
        match status {
            "open" => want_open = true,
            "closed" => want_closed = true,
            other => {
                return Err(Open311Error::bad_request(
                    format!("status: {other:?} is not open or closed"),
                    format,
                ))
            }
        }
    }
    if !want_open && !want_closed {
        (want_open, want_closed) = (true, true);
    }
    let window = Duration::days(WINDOW_DAYS);
    let (start, end) = match (
        parse_time(&pairs, "start_date", format)?,
        parse_time(&pairs, "end_date", format)?,
    ) {
        (Some(start), Some(end)) => (start, end),
        (Some(start), None) => (start, start + window),
        (None, Some(end)) => (end - window, end),
        (None, None) => {
            let now = state.clock.now();
            (now - window, now)
        }
    };
    if end < start {
        return Err(Open311Error::bad_request(
            "end_date is before start_date",
            format,
        ));
    }
    if end - start > window {
        return Err(Open311Error::bad_request(
            format!("start_date to end_date may span at most {WINDOW_DAYS} days"),
            format,
        ));
    }
    let mut filter = CaseFilter {
        reported_from: Some(start),
        reported_to: Some(end),
        category: (codes.len() == 1).then(|| codes[0].clone()),
        limit: Some(MAX_REQUESTS),
        ..CaseFilter::default()
    };
    let mut members = Vec::new();
    let mut scanned = 0usize;
    'scan: loop {
        let batch = state
            .store
            .list_cases(&filter)
            .await
            .map_err(|e| Open311Error::from_api(e.into(), format))?;
        let full = batch.len() == MAX_REQUESTS;
        scanned += batch.len();
        for case in &batch {
            filter.after = Some(case.id);
            let closed = case.state.is_final();
            let status_ok = if closed { want_closed } else { want_open };
            let code_ok = codes.is_empty() || codes.contains(&case.category);
            if status_ok && code_ok {
                members.push(request_node(case, &reference));
                if members.len() == MAX_REQUESTS {
                    break 'scan;
                }
            }
        }
        if !full || scanned >= MAX_SCANNED {
            break;
        }
    }
    ok(format, "service_requests", &request_list(members))
}

async fn show_request(State(state): State<AppState>, Path(file): Path<String>) -> Answer {
    let (id, format) = Format::split(&file)?;
    let id = parse_id(id, format)?;
    let case = load_case(&state, id, format).await?.ok_or_else(|| {
        Open311Error::not_found(format!("service request {id} does not exist"), format)
    })?;
    let node = request_list(vec![request_node(&case, &state.store.reference())]);
    ok(format, "service_requests", &node)
}

/// Reports are durable when POST answers, so the token of a request is its id; a token names only
/// requests made through Open311.
async fn show_token(State(state): State<AppState>, Path(file): Path<String>) -> Answer {
    let (token, format) = Format::split(&file)?;
    let unknown = || Open311Error::not_found(format!("token {token:?} is not known"), format);
    let id = token.trim().parse::<u64>().map_err(|_| unknown())?;
    let case = load_case(&state, id, format).await?.ok_or_else(unknown)?;
    if case.channel != Channel::Open311 {
        return Err(unknown());
    }
    let node = request_list(vec![Node::Object(vec![
        ("service_request_id", Node::text(case.id.0.to_string())),
        ("token", Node::text(token.trim())),
    ])]);
    ok(format, "service_requests", &node)
}

// ---------------------------------------------------------------------------------------------
// Service requests in

/// The fields of a POST, from a form or a JSON object. Attributes are `attribute[code]`.
#[derive(Debug, Default)]
struct PostFields {
    fields: BTreeMap<String, String>,
    attributes: BTreeMap<String, String>,
}

impl PostFields {
    fn add(&mut self, key: &str, value: String) {
        if let Some(code) = key
            .strip_prefix("attribute[")
            .and_then(|rest| rest.strip_suffix(']'))
        {
            self.attributes.insert(code.to_string(), value);
        } else {
            self.fields.insert(key.to_string(), value);
        }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }
}

fn json_scalar(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        serde_json::Value::Bool(value) => Some(value.to_string()),
        _ => None,
    }
}

fn read_post(
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    format: Format,
) -> Result<PostFields, Open311Error> {
    let mut fields = PostFields::default();
    for (key, value) in query_pairs(query, format)? {
        fields.add(&key, value);
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let media = content_type.split(';').next().unwrap_or_default().trim();
    if body.is_empty() {
        return Ok(fields);
    }
    match media {
        "application/json" => {
            let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
                Open311Error::bad_request(format!("the body is not valid JSON: {e}"), format)
            })?;
            let serde_json::Value::Object(object) = value else {
                return Err(Open311Error::bad_request(
                    "the JSON body must be an object of the request's fields",
                    format,
                ));
            };
            for (key, value) in object {
                if key == "attribute" {
                    let serde_json::Value::Object(attributes) = value else {
                        return Err(Open311Error::bad_request(
                            "attribute: give an object of attribute codes and values",
                            format,
                        ));
                    };
                    for (code, value) in attributes {
                        let text = json_scalar(&value).ok_or_else(|| {
                            Open311Error::bad_request(
                                format!("attribute[{code}]: give a single value"),
                                format,
                            )
                        })?;
                        fields.attributes.insert(code, text);
                    }
                } else if !value.is_null() {
                    let text = json_scalar(&value).ok_or_else(|| {
                        Open311Error::bad_request(
                            format!("{key}: give a text or a number"),
                            format,
                        )
                    })?;
                    fields.add(&key, text);
                }
            }
        }
        "application/x-www-form-urlencoded" | "" => {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|e| {
                Open311Error::bad_request(format!("the form cannot be read: {e}"), format)
            })?;
            for (key, value) in pairs {
                fields.add(&key, value);
            }
        }
        other => {
            return Err(Open311Error::bad_request(
                format!(
                    "the body's type {other:?} is not accepted; send application/x-www-form-urlencoded (as the spec says) or application/json"
                ),
                format,
            ))
        }
    }
    Ok(fields)
}

/// The API key of a request, checked against the stored hashes.
async fn check_key(
    state: &AppState,
    fields: &PostFields,
    format: Format,
) -> Result<ApiKey, Open311Error> {
    let secret = fields.get("api_key").ok_or_else(|| {
        Open311Error::forbidden(
            "api_key is required to create a service request; ask the district for one",
            format,
        )
    })?;
    let key = state
        .store
        .api_key_by_hash(&crate::auth::secret_hash(secret))
        .await
        .map_err(|e| Open311Error::from_api(e.into(), format))?
        .ok_or_else(|| Open311Error::forbidden("api_key is not valid", format))?;
    if let Some(revoked) = key.revoked_at {
        return Err(Open311Error::forbidden(
            format!("api_key was revoked at {}", local_time(revoked)),
            format,
        ));
    }
    Ok(key)
}

/// The system identity an API key reports as: an integrator (对接系统) of its own.
pub fn key_actor(key: &ApiKey) -> Result<Actor, ApiError> {
    Ok(Actor {
        person: PersonId::parse(&format!("open311-key-{}", key.id)).map_err(ApiError::internal)?,
        role: Role::Integrator,
        scope: Scope::default(),
    })
}

fn parse_coordinate(
    fields: &PostFields,
    name: &str,
    format: Format,
) -> Result<Option<f64>, Open311Error> {
    fields
        .get(name)
        .map(|text| {
            text.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    Open311Error::bad_request(format!("{name}: {text:?} is not a number"), format)
                })
        })
        .transpose()
}

/// The cell whose name the address names, when exactly one does (e.g. 「第一网格」).
fn cell_named_in(reference: &Reference, address: &str) -> Option<String> {
    let mut found = reference
        .areas
        .at_level(AreaLevel::Cell)
        .filter(|area| !area.name.trim().is_empty() && address.contains(area.name.as_str()));
    let first = found.next()?;
    found.next().is_none().then(|| first.code.to_string())
}

/// Answers to attributes, checked against the service definition, as lines for the description.
fn attribute_lines(
    category: &Category,
    answers: &BTreeMap<String, String>,
    format: Format,
) -> Result<Vec<String>, Open311Error> {
    let defs = attributes_of(category);
    let mut lines = Vec::new();
    for (code, value) in answers {
        let def = defs.iter().find(|d| d.code == code).ok_or_else(|| {
            Open311Error::bad_request(
                format!(
                    "attribute[{code}]: service {} has no such attribute; GET {BASE}/services/{}.json lists its attributes",
                    category.code, category.code
                ),
                format,
            )
        })?;
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let (_, name) = def
            .choices
            .iter()
            .find(|(key, _)| *key == value)
            .ok_or_else(|| {
                Open311Error::bad_request(
                    format!(
                        "attribute[{code}]: {value:?} is not one of: {}",
                        def.choices
                            .iter()
                            .map(|c| c.0)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    format,
                )
            })?;
        lines.push(format!("{}：{}", def.description, name));
    }
    Ok(lines)
}

/// The first sentence of a description, as a case title (at most 40 characters).
fn title_from(description: &str, service_name: &str) -> String {
    let first = description
        .split(['。', '！', '？', '\n', '.', '!', '?'])
        .map(str::trim)
        .find(|s| !s.is_empty())
        .unwrap_or(service_name);
    first.chars().take(40).collect()
}

async fn post_request(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    format: Format,
) -> Answer {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Open311Error::bad_request("the body is larger than the server accepts", format)
        } else {
            Open311Error::bad_request(
                format!("the body cannot be read: {}", rejection.body_text()),
                format,
            )
        }
    })?;
    let fields = read_post(query.as_deref(), &headers, &body, format)?;
    let key = check_key(&state, &fields, format).await?;
    state
        .check_public_rate(client)
        .map_err(|e| Open311Error::from_api(e, format))?;
    let reference = state.store.reference();
    let code = fields
        .get("service_code")
        .ok_or_else(|| Open311Error::bad_request("service_code is required", format))?;
    // An unknown service in a POST is bad input (400), not a missing resource.
    let category = find_category(&reference, code, format).map_err(|mut error| {
        error.status = StatusCode::BAD_REQUEST;
        error
    })?;
    let description = fields.get("description").unwrap_or_default().to_string();
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(Open311Error::bad_request(
            format!("description: at most {MAX_DESCRIPTION_CHARS} characters"),
            format,
        ));
    }
    let mut lines = vec![description.clone()];
    lines.extend(attribute_lines(category, &fields.attributes, format)?);
    if let Some(url) = fields.get("media_url") {
        let web = url.starts_with("http://") || url.starts_with("https://");
        if !web || url.len() > 500 || url.chars().any(char::is_whitespace) {
            return Err(Open311Error::bad_request(
                "media_url: give one http(s) URL of at most 500 characters",
                format,
            ));
        }
        lines.push(format!("{MEDIA_PREFIX}{url}"));
    }
    let lat = parse_coordinate(&fields, "lat", format)?;
    let lon = parse_coordinate(&fields, "long", format)?;
    let address = fields.get("address_string").map(str::to_string);
    let (location, cell) = match (lat, lon) {
        (Some(lat), Some(lon)) => (
            Some(LocationInput {
                lon,
                lat,
                crs: None,
            }),
            None,
        ),
        (Some(_), None) | (None, Some(_)) => {
            return Err(Open311Error::bad_request(
                "give both lat and long (WGS84), or neither",
                format,
            ))
        }
        (None, None) => {
            let address = address.as_deref().ok_or_else(|| {
                Open311Error::bad_request(
                    "a location is required: give lat and long (WGS84), or an address_string naming a grid cell",
                    format,
                )
            })?;
            let cell = cell_named_in(&reference, address).ok_or_else(|| {
                Open311Error::bad_request(
                    format!(
                        "address_string {address:?} cannot be located: this server does not geocode street addresses; give lat and long, or name exactly one grid cell (e.g. 「{}」)",
                        reference
                            .areas
                            .at_level(AreaLevel::Cell)
                            .next()
                            .map_or("第一网格", |a| a.name.as_str())
                    ),
                    format,
                )
            })?;
            (None, Some(cell))
        }
    };
    let name = [fields.get("first_name"), fields.get("last_name")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if name.chars().count() > 40 {
        return Err(Open311Error::bad_request(
            "first_name and last_name: at most 40 characters together",
            format,
        ));
    }
    let phone = fields
        .get("phone")
        .map(crate::auth::check_phone)
        .transpose()
        .map_err(|e| Open311Error::from_api(e, format))?;
    let actor = key_actor(&key).map_err(|e| Open311Error::from_api(e, format))?;
    // The reporter's name and phone are kept for the staff who may call back (masked for most
    // roles); email, device_id and account_id have no place in a case and are not stored.
    let reporter = Reporter {
        channel: Channel::Open311,
        person: Some(actor.person.clone()),
        name: (!name.is_empty()).then_some(name),
        phone,
    };
    let request = ReportRequest {
        title: title_from(&description, &category.name),
        description: lines
            .into_iter()
            .filter(|l| !l.trim().is_empty())
            .collect::<Vec<_>>()
            .join("\n"),
        category: Some(category.code.to_string()),
        channel: None,
        location,
        cell,
        address,
        ..ReportRequest::default()
    };
    let (report, _) = intake::prepare(&state, request, reporter, Channel::Open311)
        .map_err(|e| Open311Error::from_api(e, format))?;
    // The same path as REST from here: duplicate check, storage, automatic merge.
    let outcome = intake::store_report(&state, &actor, report, None, state.clock.now())
        .await
        .map_err(|e| Open311Error::from_api(e, format))?;
    let case_id = outcome.case.id;
    tracing::info!(case = case_id, key = key.id, "open311 request");
    let notice = match (&outcome.merged_into, &outcome.case.deadline) {
        (Some(target), _) => format!("已收到，与案件 {target} 反映的是同一问题，已合并办理"),
        (None, Some(deadline)) => format!(
            "已收到，案件编号 {case_id}，将于 {} 前受理",
            local_time(deadline.due_at)
        ),
        (None, None) => format!("已收到，案件编号 {case_id}"),
    };
    let node = request_list(vec![Node::Object(vec![
        ("service_request_id", Node::text(case_id.to_string())),
        ("token", Node::text(case_id.to_string())),
        ("service_notice", Node::text(notice)),
        ("account_id", Node::Null),
    ])]);
    ok(format, "service_requests", &node)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_in_text_are_masked() {
        assert_eq!(
            mask_digit_runs("请回电13812345678，门牌12号"),
            "请回电138****5678，门牌12号"
        );
    }

    #[test]
    fn titles_come_from_the_first_sentence() {
        assert_eq!(title_from("井盖丢失。很危险", "井盖"), "井盖丢失");
        assert_eq!(title_from("  ", "井盖"), "井盖");
    }

    #[test]
    fn times_carry_the_district_offset() {
        let time = DateTime::parse_from_rfc3339("2024-05-01T00:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(local_time(time), "2024-05-01T08:00:00+08:00");
    }
}
