//! The OpenAPI 3 document, generated from the handlers' annotations, at `/api/openapi.json`, and a
//! readable page of it at `/api/docs`, rendered here so that nothing comes from a CDN.

use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::AppState;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("the token from POST /api/auth/login"))
                    .build(),
            ),
        );
    }
}

/// Every operation may answer with a problem document: the common error statuses are added to each
/// operation (and documented errors are given the `application/problem+json` type they really have),
/// so clients and schema checkers know every answer they can get.
struct ProblemResponses;

/// Error statuses any endpoint may give, with what they mean.
const COMMON_ERRORS: [(&str, &str); 12] = [
    ("400", "malformed request: bad JSON or query parameter"),
    (
        "401",
        "sign-in required: no token, or a forged, expired or signed-out one",
    ),
    ("403", "the account's role or scope does not allow it"),
    ("404", "no such thing, or not visible to this account"),
    ("405", "method not allowed on this path"),
    ("408", "the request took too long"),
    (
        "409",
        "the case's state does not allow it, or it changed meanwhile",
    ),
    ("413", "the body is too large"),
    ("415", "wrong content type"),
    ("422", "a field is invalid"),
    ("429", "too many requests"),
    ("503", "temporarily unavailable"),
];

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let problem = || {
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let responses = &mut operation.responses.responses;
                for (status, description) in COMMON_ERRORS {
                    match responses.get_mut(status) {
                        Some(utoipa::openapi::RefOr::T(response)) => {
                            if let Some(content) = response.content.shift_remove("application/json")
                            {
                                response
                                    .content
                                    .insert("application/problem+json".to_string(), content);
                            }
                        }
                        Some(utoipa::openapi::RefOr::Ref(_)) => {}
                        None => {
                            responses.insert(
                                status.to_string(),
                                ResponseBuilder::new()
                                    .description(description)
                                    .content("application/problem+json", problem())
                                    .build()
                                    .into(),
                            );
                        }
                    }
                }
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "onegrid API",
        description = "District grid governance (网格化社会治理): report, route and close cases; grid, categories, departments, KPIs. Errors are RFC 9457 problem documents. Open311 GeoReport v2 is under /open311/v2/.",
    ),
    paths(
        crate::auth::login, crate::auth::logout, crate::auth::register, crate::auth::me,
        crate::auth::set_password,
        crate::cases::report, crate::cases::report_with_photos, crate::cases::list, crate::cases::show,
        crate::cases::act, crate::cases::merge, crate::cases::duplicates,
        crate::photos::upload, crate::photos::download,
        crate::directory::areas, crate::directory::grid_layer, crate::directory::categories,
        crate::directory::departments, crate::directory::people, crate::directory::put_person,
        crate::kpis::kpis, crate::kpis::trend, crate::kpis::export,
    ),
    modifiers(&BearerAuth, &ProblemResponses),
    tags(
        (name = "cases", description = "案件: report, list, show, act, merge"),
        (name = "accounts", description = "账号: sign-in, sign-out, registration, people"),
        (name = "photos", description = "照片"),
        (name = "reference", description = "区域、网格、分类、部门"),
        (name = "kpis", description = "考核指标"),
    )
)]
pub struct ApiDoc;

/// The whole document, with the parts other modules contribute merged in.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::feed::openapi());
    doc.merge(crate::webhooks::openapi());
    doc.merge(crate::projects::openapi());
    doc.merge(crate::supervision::openapi());
    doc.merge(crate::opinions::openapi());
    doc.merge(crate::clock::openapi());
    // The merged parts get the common error answers too.
    ProblemResponses.modify(&mut doc);
    doc
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/docs", get(docs_page))
}

async fn openapi_json() -> impl IntoResponse {
    axum::Json(document())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A plain page listing every operation with its parameters, body and answers.
async fn docs_page() -> Html<String> {
    let doc = document();
    let mut html = String::from(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>onegrid API</title><style>body{font:15px/1.5 system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#1b1f24}\
         h2{border-bottom:1px solid #d0d7de;padding-bottom:.2em;margin-top:2em}.op{margin:1.2em 0;padding:.6em .9em;border:1px solid #d0d7de;border-radius:6px}\
         .m{display:inline-block;min-width:4.5em;font-weight:600;font-family:monospace}.get{color:#0969da}.post{color:#1a7f37}.put{color:#9a6700}.delete{color:#cf222e}\
         code{background:#f6f8fa;padding:0 .3em;border-radius:4px}td,th{text-align:left;padding:.1em .6em;vertical-align:top}</style></head><body>",
    );
    html.push_str(&format!(
        "<h1>{}</h1><p>{}</p><p>The machine-readable document: <a href=\"/api/openapi.json\">/api/openapi.json</a>. \
         Sign in with <code>POST /api/auth/login</code> and send <code>Authorization: Bearer &lt;token&gt;</code>.</p>",
        escape(&doc.info.title),
        escape(doc.info.description.as_deref().unwrap_or_default())
    ));
    let mut by_tag: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (path, item) in &doc.paths.paths {
        let operations = [
            ("get", &item.get),
            ("post", &item.post),
            ("put", &item.put),
            ("delete", &item.delete),
        ];
        for (method, operation) in operations {
            let Some(operation) = operation else { continue };
            let tag = operation
                .tags
                .as_ref()
                .and_then(|t| t.first().cloned())
                .unwrap_or_else(|| "other".to_string());
            let mut block = format!(
                "<div class=\"op\"><div><span class=\"m {method}\">{}</span> <code>{}</code></div>",
                method.to_uppercase(),
                escape(path)
            );
            let text = [
                operation.summary.as_deref(),
                operation.description.as_deref(),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
            if !text.is_empty() {
                block.push_str(&format!("<p>{}</p>", escape(&text)));
            }
            if let Some(parameters) = &operation.parameters {
                block.push_str("<table><tr><th>parameter</th><th>in</th><th></th></tr>");
                for parameter in parameters {
                    block.push_str(&format!(
                        "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                        escape(&parameter.name),
                        serde_json::to_value(&parameter.parameter_in)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default(),
                        escape(parameter.description.as_deref().unwrap_or_default())
                    ));
                }
                block.push_str("</table>");
            }
            let answers: Vec<String> = operation.responses.responses.keys().cloned().collect();
            block.push_str(&format!("<p>Answers: {}</p></div>", answers.join(", ")));
            by_tag.entry(tag).or_default().push(block);
        }
    }
    for (tag, blocks) in by_tag {
        html.push_str(&format!("<h2>{}</h2>", escape(&tag)));
        blocks.iter().for_each(|b| html.push_str(b));
    }
    html.push_str("</body></html>");
    Html(html)
}
