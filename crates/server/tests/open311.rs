//! Open311 GeoReport v2 over the test district: every endpoint in JSON and XML, the spec's error
//! documents, API keys (missing, wrong, revoked), the district boundary, and no personal data out.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{app, Answer, TestApp, CELL_B, POINT_A, POINT_C};
use serde_json::{json, Value};

const XML_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>";
const NAME_FIRST: &str = "秀英";
const NAME_LAST: &str = "欧阳";
const PHONE: &str = "13987654321";
const EMAIL: &str = "xiuying@example.com";

/// Creates an API key in the store and returns the secret.
async fn api_key(app: &TestApp, name: &str) -> (u64, String) {
    let (secret, hash) = onegrid_server::auth::new_secret();
    let key = app
        .store
        .create_api_key(name, hash, chrono::Utc::now())
        .await
        .expect("api key");
    (key.id, secret)
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (key, value) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&urlencode(key));
        out.push('=');
        out.push_str(&urlencode(value));
    }
    out
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn post_form(app: &TestApp, path: &str, body: String) -> Answer {
    app.request(
        Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request"),
    )
    .await
}

/// A full report through the form, with personal data in every field that can hold it.
async fn report_form(app: &TestApp, key: &str, lon: f64, lat: f64) -> Answer {
    let (lon, lat) = (lon.to_string(), lat.to_string());
    post_form(
        app,
        "/open311/v2/requests.json",
        form(&[
            ("api_key", key),
            ("service_code", "S0101"),
            ("lat", &lat),
            ("long", &lon),
            ("address_string", "张贵庄路1号门口"),
            ("email", EMAIL),
            ("device_id", "device-42"),
            ("account_id", "acct-7"),
            ("first_name", NAME_FIRST),
            ("last_name", NAME_LAST),
            ("phone", PHONE),
            ("description", "门口堆了很多生活垃圾，没人清理。请尽快处理"),
            ("media_url", "https://example.com/photos/1.jpg"),
            ("attribute[severity]", "serious"),
            ("jurisdiction_id", "dongli"),
        ]),
    )
    .await
}

fn assert_error(answer: &Answer, status: StatusCode, needle: &str) {
    assert_eq!(answer.status, status, "{}", answer.text);
    if answer.content_type.starts_with("text/xml") {
        assert!(answer.text.starts_with(XML_DECLARATION), "{}", answer.text);
        assert!(
            answer.text.contains(&format!(
                "<errors><error><code>{}</code><description>",
                status.as_u16()
            )),
            "{}",
            answer.text
        );
        assert!(answer.text.contains(needle), "{}", answer.text);
    } else {
        let body = answer.json();
        assert_eq!(body[0]["code"], json!(status.as_u16()), "{}", answer.text);
        let description = body[0]["description"].as_str().expect("description");
        assert!(
            description.contains(needle),
            "{description:?} lacks {needle:?}"
        );
    }
}

fn assert_no_personal_data(text: &str) {
    for secret in [
        NAME_FIRST,
        NAME_LAST,
        PHONE,
        EMAIL,
        "device-42",
        "acct-7",
        "13812345678",
        "王小丽",
        "open311-key",
    ] {
        assert!(!text.contains(secret), "{secret:?} leaked in: {text}");
    }
}

#[tokio::test]
async fn discovery_in_both_formats() {
    let app = app().await;
    let json = app.get("/open311/v2/discovery.json", None).await;
    assert_eq!(json.status, StatusCode::OK, "{}", json.text);
    assert!(json.content_type.starts_with("application/json"));
    let body = json.json();
    assert_eq!(body["endpoints"][0]["url"], json!("/open311/v2"));
    assert_eq!(
        body["endpoints"][0]["specification"],
        json!("http://wiki.open311.org/GeoReport_v2")
    );
    assert_eq!(
        body["endpoints"][0]["formats"],
        json!(["text/xml", "application/json"])
    );
    let xml = app.get("/open311/v2/discovery.xml", None).await;
    assert_eq!(xml.status, StatusCode::OK);
    assert!(xml.content_type.starts_with("text/xml"));
    assert!(xml.text.starts_with(XML_DECLARATION), "{}", xml.text);
    assert!(xml
        .text
        .contains("<formats><format>text/xml</format><format>application/json</format></formats>"));
}

#[tokio::test]
async fn services_are_the_categories() {
    let app = app().await;
    let categories = app.store.reference().taxonomy.iter().count();
    let json = app.get("/open311/v2/services.json", None).await;
    assert_eq!(json.status, StatusCode::OK, "{}", json.text);
    let services = json.json();
    let services = services.as_array().expect("list");
    assert_eq!(services.len(), categories);
    let litter = services
        .iter()
        .find(|s| s["service_code"] == "S0101")
        .expect("S0101");
    assert_eq!(litter["service_name"], "暴露垃圾");
    assert_eq!(litter["group"], "市容环境");
    assert_eq!(litter["type"], "realtime");
    assert_eq!(litter["metadata"], true);
    assert!(litter["keywords"]
        .as_str()
        .expect("keywords")
        .contains("暴露垃圾"));
    let dispute = services
        .iter()
        .find(|s| s["service_code"] == "Z0101")
        .expect("Z0101");
    assert_eq!(dispute["metadata"], false);

    let xml = app.get("/open311/v2/services.xml", None).await;
    assert_eq!(xml.status, StatusCode::OK);
    assert!(xml.text.starts_with(XML_DECLARATION));
    assert_eq!(xml.text.matches("<service>").count(), categories);
    assert!(xml.text.contains(
        "<service><service_code>S0101</service_code><service_name>暴露垃圾</service_name>"
    ));
    assert!(xml
        .text
        .contains("<metadata>true</metadata><type>realtime</type>"));
}

#[tokio::test]
async fn service_definitions_give_attributes() {
    let app = app().await;
    let event = app.get("/open311/v2/services/S0101.json", None).await;
    assert_eq!(event.status, StatusCode::OK, "{}", event.text);
    let body = event.json();
    assert_eq!(body["service_code"], "S0101");
    let attributes = body["attributes"].as_array().expect("attributes");
    assert_eq!(attributes.len(), 1);
    assert_eq!(attributes[0]["code"], "severity");
    assert_eq!(attributes[0]["datatype"], "singlevaluelist");
    assert_eq!(attributes[0]["variable"], true);
    assert_eq!(attributes[0]["order"], 1);
    assert_eq!(
        attributes[0]["values"],
        json!([{"key":"general","name":"一般"},{"key":"serious","name":"严重"},{"key":"urgent","name":"紧急"}])
    );

    let component = app.get("/open311/v2/services/B0101.xml", None).await;
    assert_eq!(component.status, StatusCode::OK);
    assert!(component.text.starts_with(XML_DECLARATION));
    assert!(component.text.contains(
        "<service_definition><service_code>B0101</service_code><attributes><attribute><variable>true</variable><code>component_state</code>"
    ), "{}", component.text);
    assert!(component
        .text
        .contains("<values><value><key>missing</key><name>丢失</name></value>"));

    let governance = app.get("/open311/v2/services/Z0101.json", None).await;
    assert_eq!(governance.json()["attributes"], json!([]));

    let unknown = app.get("/open311/v2/services/X9999.json", None).await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "not a service");
    let unknown_xml = app.get("/open311/v2/services/S9999.xml", None).await;
    assert_error(&unknown_xml, StatusCode::NOT_FOUND, "not a service");
    let bad_format = app.get("/open311/v2/services/S0101.csv", None).await;
    assert_error(&bad_format, StatusCode::NOT_FOUND, ".csv");
}

#[tokio::test]
async fn a_form_report_goes_through_intake_and_reads_back_without_personal_data() {
    let app = app().await;
    let (key_id, key) = api_key(&app, "街道App").await;
    let answer = report_form(&app, &key, POINT_A.0, POINT_A.1).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let body = answer.json();
    let id = body[0]["service_request_id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(body[0]["token"], json!(id));
    assert!(body[0]["service_notice"]
        .as_str()
        .expect("notice")
        .contains(&id));
    assert_no_personal_data(&answer.text);

    // The case in the store: same intake as REST, on the open311 channel, as the key's integrator.
    let case = app
        .store
        .case(onegrid_core::CaseId(id.parse().expect("number")))
        .await
        .expect("case");
    assert_eq!(case.channel, onegrid_core::Channel::Open311);
    assert_eq!(case.cell.to_string(), common::CELL_A);
    assert_eq!(case.title, "门口堆了很多生活垃圾，没人清理");
    assert!(
        case.description.contains("严重程度：严重"),
        "{}",
        case.description
    );
    let reporter = &case.reporters[0];
    assert_eq!(
        reporter.person.as_ref().map(ToString::to_string),
        Some(format!("open311-key-{key_id}"))
    );
    assert_eq!(reporter.name.as_deref(), Some("秀英 欧阳"));
    assert_eq!(reporter.phone.as_deref(), Some(PHONE));
    let history = app.store.history(case.id).await.expect("history");
    assert_eq!(history[0].actor.role, onegrid_core::Role::Integrator);

    // Read back in both formats, by id and in the list: spec fields, nothing personal.
    let one = app
        .get(&format!("/open311/v2/requests/{id}.json"), None)
        .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert_no_personal_data(&one.text);
    let request = &one.json()[0];
    assert_eq!(request["service_request_id"], json!(id));
    assert_eq!(request["status"], "open");
    assert_eq!(request["status_notes"], "已上报");
    assert_eq!(request["service_code"], "S0101");
    assert_eq!(request["service_name"], "暴露垃圾");
    assert_eq!(request["agency_responsible"], "区城市管理委员会");
    assert_eq!(request["address"], "张贵庄路1号门口");
    assert_eq!(request["lat"], json!(POINT_A.1));
    assert_eq!(request["long"], json!(POINT_A.0));
    assert_eq!(request["media_url"], "https://example.com/photos/1.jpg");
    for field in [
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
    ] {
        let text = request[field].as_str().expect(field);
        assert!(text.ends_with("+08:00"), "{field}: {text}");
        chrono::DateTime::parse_from_rfc3339(text).expect(field);
    }
    let xml = app
        .get(&format!("/open311/v2/requests/{id}.xml"), None)
        .await;
    assert_eq!(xml.status, StatusCode::OK);
    assert!(xml.text.starts_with(XML_DECLARATION));
    assert!(xml.text.contains(&format!(
        "<service_requests><request><service_request_id>{id}</service_request_id><status>open</status>"
    )));
    assert_no_personal_data(&xml.text);
    let list = app.get("/open311/v2/requests.json", None).await;
    assert_eq!(list.json().as_array().map(Vec::len), Some(1));
    assert_no_personal_data(&list.text);
    let list_xml = app.get("/open311/v2/requests.xml", None).await;
    assert_no_personal_data(&list_xml.text);

    // Dispatchers still see the reporter, to call back.
    let dispatcher = app.login("dispatcher").await;
    let staff = app
        .get(&format!("/api/cases/{id}"), Some(&dispatcher))
        .await;
    assert!(staff.text.contains(PHONE), "{}", staff.text);
}

#[tokio::test]
async fn a_json_report_with_attributes_in_xml() {
    let app = app().await;
    let (_, key) = api_key(&app, "json").await;
    let answer = app
        .post(
            "/open311/v2/requests.xml",
            None,
            json!({
                "api_key": key,
                "service_code": "B0101",
                "lat": POINT_C.1,
                "long": POINT_C.0,
                "description": "井盖丢失，路口有个大洞",
                "attribute": {"component_state": "missing", "severity": "urgent"},
            }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert!(answer.content_type.starts_with("text/xml"));
    assert!(answer.text.starts_with(XML_DECLARATION));
    let id: u64 = answer
        .text
        .split("<service_request_id>")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .and_then(|id| id.parse().ok())
        .expect("id in XML");
    let case = app
        .store
        .case(onegrid_core::CaseId(id))
        .await
        .expect("case");
    assert_eq!(case.cell.to_string(), common::CELL_C);
    assert!(case.description.contains("部件状况：丢失"));
    assert!(case.description.contains("严重程度：紧急"));
    // Also the `attribute[code]` keys inside JSON.
    let flat = app
        .post(
            "/open311/v2/requests.json",
            None,
            json!({"api_key": key, "service_code": "S0101", "lat": POINT_A.1, "long": POINT_A.0,
                   "description": "垃圾", "attribute[severity]": "general"}),
        )
        .await;
    assert_eq!(flat.status, StatusCode::OK, "{}", flat.text);
}

#[tokio::test]
async fn api_keys_are_required_and_checked() {
    let app = app().await;
    let (key_id, key) = api_key(&app, "revoked soon").await;
    let body = |key: &str| {
        form(&[
            ("api_key", key),
            ("service_code", "S0101"),
            ("lat", "39.105"),
            ("long", "117.305"),
            ("description", "垃圾"),
        ])
    };
    let missing = post_form(
        &app,
        "/open311/v2/requests.json",
        form(&[
            ("service_code", "S0101"),
            ("lat", "39.105"),
            ("long", "117.305"),
        ]),
    )
    .await;
    assert_error(&missing, StatusCode::FORBIDDEN, "api_key is required");
    let wrong = post_form(&app, "/open311/v2/requests.xml", body("not-a-key")).await;
    assert_error(&wrong, StatusCode::FORBIDDEN, "api_key is not valid");
    app.store
        .revoke_api_key(key_id, chrono::Utc::now())
        .await
        .expect("revoke");
    let revoked = post_form(&app, "/open311/v2/requests.json", body(&key)).await;
    assert_error(&revoked, StatusCode::FORBIDDEN, "revoked");
    assert_eq!(app.store.count_cases().await.expect("count"), 0);
}

#[tokio::test]
async fn bad_reports_are_refused_in_the_spec_format_and_change_nothing() {
    let app = app().await;
    let (_, key) = api_key(&app, "bad input").await;
    let cases = [
        (
            vec![
                ("service_code", "S0101"),
                ("lat", "40.5"),
                ("long", "118.9"),
            ],
            "outside the district",
        ),
        (
            vec![("service_code", "S0101"), ("address_string", "某某路88号")],
            "cannot be located",
        ),
        (
            vec![("service_code", "S0101"), ("lat", "39.105")],
            "both lat and long",
        ),
        (
            vec![
                ("service_code", "S0101"),
                ("lat", "north"),
                ("long", "117.3"),
            ],
            "not a number",
        ),
        (
            vec![("lat", "39.105"), ("long", "117.305")],
            "service_code is required",
        ),
        (
            vec![
                ("service_code", "S9999"),
                ("lat", "39.105"),
                ("long", "117.305"),
            ],
            "not a service",
        ),
        (
            vec![
                ("service_code", "S0101"),
                ("lat", "39.105"),
                ("long", "117.305"),
                ("attribute[severity]", "apocalyptic"),
            ],
            "not one of",
        ),
        (
            vec![
                ("service_code", "Z0101"),
                ("lat", "39.105"),
                ("long", "117.305"),
                ("attribute[severity]", "urgent"),
            ],
            "no such attribute",
        ),
        (
            vec![
                ("service_code", "S0101"),
                ("lat", "39.105"),
                ("long", "117.305"),
                ("media_url", "javascript:alert(1)"),
            ],
            "media_url",
        ),
        (
            vec![
                ("service_code", "S0101"),
                ("lat", "39.105"),
                ("long", "117.305"),
                ("phone", "<script>"),
            ],
            "phone",
        ),
    ];
    for (fields, needle) in cases {
        let mut pairs = vec![("api_key", key.as_str()), ("description", "垃圾很多")];
        pairs.extend(fields);
        let answer = post_form(&app, "/open311/v2/requests.json", form(&pairs)).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, needle);
        let xml = post_form(&app, "/open311/v2/requests.xml", form(&pairs)).await;
        assert_error(&xml, StatusCode::BAD_REQUEST, needle);
    }
    let not_json = app
        .request(
            Request::builder()
                .method(Method::POST)
                .uri("/open311/v2/requests.json")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{not json"))
                .expect("request"),
        )
        .await;
    assert_error(&not_json, StatusCode::BAD_REQUEST, "not valid JSON");
    let wrong_type = app
        .request(
            Request::builder()
                .method(Method::POST)
                .uri("/open311/v2/requests.json")
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from("hello"))
                .expect("request"),
        )
        .await;
    assert_error(&wrong_type, StatusCode::BAD_REQUEST, "not accepted");
    assert_eq!(app.store.count_cases().await.expect("count"), 0);
}

#[tokio::test]
async fn an_address_naming_one_cell_is_located() {
    let app = app().await;
    let (_, key) = api_key(&app, "address").await;
    let answer = post_form(
        &app,
        "/open311/v2/requests.json",
        form(&[
            ("api_key", &key),
            ("service_code", "S0101"),
            ("address_string", "第二网格 菜市场东门"),
            ("description", "垃圾堆积"),
        ]),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let id: u64 = answer.json()[0]["service_request_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    let case = app
        .store
        .case(onegrid_core::CaseId(id))
        .await
        .expect("case");
    assert_eq!(case.cell.to_string(), CELL_B);
    let shown = app
        .get(&format!("/open311/v2/requests/{id}.json"), None)
        .await;
    assert_eq!(shown.json()[0]["lat"], Value::Null);
    assert_eq!(shown.json()[0]["address"], "第二网格 菜市场东门");
}

#[tokio::test]
async fn request_queries_filter_and_refuse_bad_parameters() {
    let app = app().await;
    let (_, key) = api_key(&app, "queries").await;
    let first = report_form(&app, &key, POINT_A.0, POINT_A.1).await.json()[0]["service_request_id"]
        .as_str()
        .expect("id")
        .to_string();
    let second = report_form(&app, &key, POINT_C.0, POINT_C.1).await.json()[0]
        ["service_request_id"]
        .as_str()
        .expect("id")
        .to_string();
    // A case reported over REST is a service request too (Open311 lists the district's cases).
    let citizen = app.login("citizen").await;
    // A different matter from the Open311 reports at the same place, so it is not merged into them.
    let rest = app.report_at(&citizen, POINT_A, "路灯不亮").await;
    // The dispatcher rejects one: it is closed now, with the reason as its notes.
    let dispatcher = app.login("dispatcher").await;
    let rejected = app
        .act(
            &dispatcher,
            first.parse().expect("id"),
            json!({"command": "reject", "reason": "重复上报"}),
        )
        .await;
    assert_eq!(rejected.status, StatusCode::OK, "{}", rejected.text);

    let ids = |answer: &Answer| -> Vec<String> {
        answer
            .json()
            .as_array()
            .expect("list")
            .iter()
            .map(|r| r["service_request_id"].as_str().expect("id").to_string())
            .collect()
    };
    let all = app.get("/open311/v2/requests.json", None).await;
    assert_eq!(
        ids(&all),
        vec![first.clone(), second.clone(), rest.to_string()]
    );
    assert_no_personal_data(&all.text);
    let closed = app
        .get("/open311/v2/requests.json?status=closed", None)
        .await;
    assert_eq!(ids(&closed), vec![first.clone()]);
    assert_eq!(closed.json()[0]["status_notes"], "不予立案：重复上报");
    assert_eq!(closed.json()[0]["expected_datetime"], Value::Null);
    let open = app.get("/open311/v2/requests.json?status=open", None).await;
    assert_eq!(ids(&open), vec![second.clone(), rest.to_string()]);
    let both = app
        .get("/open311/v2/requests.json?status=open,closed", None)
        .await;
    assert_eq!(ids(&both).len(), 3);
    let by_id = app
        .get(
            &format!("/open311/v2/requests.json?service_request_id={second},{first},999999&status=closed"),
            None,
        )
        .await;
    assert_eq!(ids(&by_id), vec![second.clone(), first.clone()]);
    let by_code = app
        .get("/open311/v2/requests.json?service_code=Z0101", None)
        .await;
    assert_eq!(ids(&by_code), Vec::<String>::new());
    let by_code = app
        .get("/open311/v2/requests.json?service_code=Z0101,S0101", None)
        .await;
    assert_eq!(ids(&by_code).len(), 3);
    let past = app
        .get(
            "/open311/v2/requests.json?start_date=2020-01-01T00:00:00%2B08:00&end_date=2020-02-01T00:00:00Z",
            None,
        )
        .await;
    assert_eq!(ids(&past), Vec::<String>::new());
    let now = chrono::Utc::now();
    let window = app
        .get(
            &format!(
                "/open311/v2/requests.json?start_date={}",
                (now - chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ")
            ),
            None,
        )
        .await;
    assert_eq!(ids(&window).len(), 3);
    let xml = app
        .get("/open311/v2/requests.xml?status=closed", None)
        .await;
    assert!(xml.text.starts_with(XML_DECLARATION));
    assert_eq!(xml.text.matches("<request>").count(), 1);
    assert!(xml.text.contains("<status>closed</status>"));
    assert!(xml.text.contains("<expected_datetime></expected_datetime>"));

    let bad = [
        ("status=pending", "status"),
        ("start_date=yesterday", "start_date"),
        (
            "start_date=2024-01-01T00:00:00Z&end_date=2024-06-01T00:00:00Z",
            "90 days",
        ),
        (
            "start_date=2024-02-01T00:00:00Z&end_date=2024-01-01T00:00:00Z",
            "before",
        ),
        ("service_request_id=abc", "digits"),
        ("service_code=NOPE", "not a service"),
    ];
    for (query, needle) in bad {
        let answer = app
            .get(&format!("/open311/v2/requests.json?{query}"), None)
            .await;
        let expected = if needle == "not a service" {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::BAD_REQUEST
        };
        assert_error(&answer, expected, needle);
        let xml = app
            .get(&format!("/open311/v2/requests.xml?{query}"), None)
            .await;
        assert_error(&xml, expected, needle);
    }
    let missing = app.get("/open311/v2/requests/999999.json", None).await;
    assert_error(&missing, StatusCode::NOT_FOUND, "does not exist");
    let missing_xml = app.get("/open311/v2/requests/999999.xml", None).await;
    assert_error(&missing_xml, StatusCode::NOT_FOUND, "does not exist");
}

#[tokio::test]
async fn tokens_name_open311_requests() {
    let app = app().await;
    let (_, key) = api_key(&app, "tokens").await;
    let posted = report_form(&app, &key, POINT_A.0, POINT_A.1).await.json();
    let token = posted[0]["token"].as_str().expect("token").to_string();
    let id = posted[0]["service_request_id"]
        .as_str()
        .expect("id")
        .to_string();
    let answer = app
        .get(&format!("/open311/v2/tokens/{token}.json"), None)
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(
        answer.json(),
        json!([{"service_request_id": id, "token": token}])
    );
    let xml = app
        .get(&format!("/open311/v2/tokens/{token}.xml"), None)
        .await;
    assert!(xml.text.contains(&format!(
        "<service_requests><request><service_request_id>{id}</service_request_id><token>{token}</token></request></service_requests>"
    )));
    let citizen = app.login("citizen").await;
    // A different matter from the Open311 reports at the same place, so it is not merged into them.
    let rest = app.report_at(&citizen, POINT_A, "路灯不亮").await;
    let not_open311 = app
        .get(&format!("/open311/v2/tokens/{rest}.json"), None)
        .await;
    assert_error(&not_open311, StatusCode::NOT_FOUND, "not known");
    let garbage = app.get("/open311/v2/tokens/%3Cx%3E.xml", None).await;
    assert_error(&garbage, StatusCode::NOT_FOUND, "not known");
    assert!(garbage.text.contains("&lt;x&gt;"), "{}", garbage.text);
}

#[tokio::test]
async fn open311_reports_are_rate_limited_per_address() {
    let config = onegrid_server::Config {
        public_reports_per_minute: 1,
        ..onegrid_server::Config::default()
    };
    let app = common::app_with(config).await;
    let (_, key) = api_key(&app, "rate").await;
    let send =
        || {
            let mut request = Request::builder()
                .method(Method::POST)
                .uri("/open311/v2/requests.json")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form(&[
                    ("api_key", &key),
                    ("service_code", "S0101"),
                    ("lat", "39.105"),
                    ("long", "117.305"),
                    ("description", "垃圾"),
                ])))
                .expect("request");
            request.extensions_mut().insert(axum::extract::ConnectInfo(
                std::net::SocketAddr::from(([10, 0, 0, 9], 5000)),
            ));
            request
        };
    assert_eq!(app.request(send()).await.status, StatusCode::OK);
    let limited = app.request(send()).await;
    assert_error(&limited, StatusCode::TOO_MANY_REQUESTS, "too many reports");
    assert_eq!(app.store.count_cases().await.expect("count"), 1);
}
