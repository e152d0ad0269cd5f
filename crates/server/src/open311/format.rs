//! The two output formats of GeoReport v2 and its error documents. A response is built once as an
//! ordered tree (`Node`) and written as JSON or as XML, so both formats always carry the same fields
//! in the spec's order.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::error::ApiError;

/// The format named by a path's extension (`.json`, `.xml`); JSON when there is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// Splits `name.ext` into the name and its format. Unknown extensions are refused.
    pub fn split(file: &str) -> Result<(&str, Format), Open311Error> {
        match file.rsplit_once('.') {
            Some((name, "json")) => Ok((name, Format::Json)),
            Some((name, "xml")) => Ok((name, Format::Xml)),
            Some((_, other)) => Err(Open311Error::new(
                StatusCode::NOT_FOUND,
                format!("the format .{other} is not offered; use .json or .xml"),
                Format::Json,
            )),
            None => Ok((file, Format::Json)),
        }
    }
}

/// One value of a response.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Text(String),
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A list; in XML each member is an element named `item` inside the list's element.
    List {
        item: &'static str,
        members: Vec<Node>,
    },
    Object(Vec<(&'static str, Node)>),
}

impl Node {
    pub fn text(value: impl Into<String>) -> Node {
        Node::Text(value.into())
    }

    pub fn opt_text(value: Option<impl Into<String>>) -> Node {
        value.map_or(Node::Null, |v| Node::Text(v.into()))
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Null => serializer.serialize_none(),
            Node::Text(text) => serializer.serialize_str(text),
            Node::Bool(value) => serializer.serialize_bool(*value),
            Node::Int(value) => serializer.serialize_i64(*value),
            Node::Float(value) => serializer.serialize_f64(*value),
            Node::List { members, .. } => {
                let mut seq = serializer.serialize_seq(Some(members.len()))?;
                for member in members {
                    seq.serialize_element(member)?;
                }
                seq.end()
            }
            Node::Object(fields) => {
                let mut map = serializer.serialize_map(Some(fields.len()))?;
                for (name, value) in fields {
                    map.serialize_entry(name, value)?;
                }
                map.end()
            }
        }
    }
}

/// Text as XML character data: markup escaped, and characters XML 1.0 cannot hold dropped.
fn xml_text(out: &mut String, text: &str) {
    let allowed: String = text
        .chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
        })
        .collect();
    out.push_str(&quick_xml::escape::escape(allowed.as_str()));
}

fn xml_node(out: &mut String, name: &str, node: &Node) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    match node {
        Node::Null => {}
        Node::Text(text) => xml_text(out, text),
        Node::Bool(value) => out.push_str(if *value { "true" } else { "false" }),
        Node::Int(value) => out.push_str(&value.to_string()),
        Node::Float(value) => out.push_str(&value.to_string()),
        Node::List { item, members } => {
            for member in members {
                xml_node(out, item, member);
            }
        }
        Node::Object(fields) => {
            for (field, value) in fields {
                xml_node(out, field, value);
            }
        }
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// A document: JSON as is; XML as the element `root` (for a list, holding `item` elements).
pub fn document(format: Format, root: &'static str, node: &Node) -> String {
    match format {
        Format::Json => serde_json::to_string(node).unwrap_or_else(|_| "[]".to_string()),
        Format::Xml => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
            xml_node(&mut out, root, node);
            out
        }
    }
}

/// A response with the right content type.
pub fn respond(status: StatusCode, format: Format, root: &'static str, node: &Node) -> Response {
    let content_type = match format {
        Format::Json => "application/json; charset=utf-8",
        Format::Xml => "text/xml; charset=utf-8",
    };
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        document(format, root, node),
    )
        .into_response()
}

/// An error in the spec's format: `[{"code":400,"description":"…"}]`, or
/// `<errors><error><code>400</code><description>…</description></error></errors>`.
#[derive(Debug, Clone)]
pub struct Open311Error {
    pub status: StatusCode,
    pub description: String,
    pub format: Format,
    /// Extra headers (`Retry-After` when rate limited).
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl Open311Error {
    pub fn new(status: StatusCode, description: impl Into<String>, format: Format) -> Open311Error {
        Open311Error {
            status,
            description: description.into(),
            format,
            headers: Vec::new(),
        }
    }

    pub fn bad_request(description: impl Into<String>, format: Format) -> Open311Error {
        Open311Error::new(StatusCode::BAD_REQUEST, description, format)
    }

    pub fn forbidden(description: impl Into<String>, format: Format) -> Open311Error {
        Open311Error::new(StatusCode::FORBIDDEN, description, format)
    }

    pub fn not_found(description: impl Into<String>, format: Format) -> Open311Error {
        Open311Error::new(StatusCode::NOT_FOUND, description, format)
    }

    /// The GeoReport answer for an error of the shared code. The spec knows 400, 403 and 404:
    /// input the intake refuses (422, 415, 413) is a 400; sign-in problems are a 403. Rate limits and
    /// server failures keep their own status.
    pub fn from_api(error: ApiError, format: Format) -> Open311Error {
        let status = match error.status.as_u16() {
            401 | 403 => StatusCode::FORBIDDEN,
            404 => StatusCode::NOT_FOUND,
            400..=428 | 431 => StatusCode::BAD_REQUEST,
            _ => error.status,
        };
        Open311Error {
            status,
            description: error.detail,
            format,
            headers: error
                .headers
                .into_iter()
                .filter(|(name, _)| name == header::RETRY_AFTER)
                .collect(),
        }
    }
}

impl IntoResponse for Open311Error {
    fn into_response(self) -> Response {
        let node = Node::List {
            item: "error",
            members: vec![Node::Object(vec![
                ("code", Node::Int(i64::from(self.status.as_u16()))),
                ("description", Node::Text(self.description)),
            ])],
        };
        let mut response = respond(self.status, self.format, "errors", &node);
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_markup_and_drops_control_characters() {
        let node = Node::List {
            item: "request",
            members: vec![Node::Object(vec![
                ("description", Node::text("<script>&\"x\"\u{1}")),
                ("lat", Node::Float(39.1)),
                ("media_url", Node::Null),
            ])],
        };
        let xml = document(Format::Xml, "service_requests", &node);
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><service_requests><request>\
             <description>&lt;script&gt;&amp;&quot;x&quot;</description><lat>39.1</lat>\
             <media_url></media_url></request></service_requests>"
        );
        let json = document(Format::Json, "service_requests", &node);
        assert_eq!(
            json,
            r#"[{"description":"<script>&\"x\"\u0001","lat":39.1,"media_url":null}]"#
        );
    }

    #[test]
    fn extensions_pick_the_format() {
        assert_eq!(Format::split("12.xml").ok().map(|s| s.1), Some(Format::Xml));
        assert_eq!(Format::split("S0101.json").ok().map(|s| s.0), Some("S0101"));
        assert_eq!(Format::split("12").ok().map(|s| s.1), Some(Format::Json));
        assert!(Format::split("12.csv").is_err());
    }
}
