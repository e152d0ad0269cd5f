//! Writing a grid layer as GeoJSON (RFC 7946): a FeatureCollection in WGS84 whose features carry the `code`,
//! `name` and (when set) `parent` properties. Coordinates are rounded to 7 decimals (about 1 cm), and rings
//! follow the RFC's right-hand rule (exterior rings counter-clockwise, holes clockwise) whatever the
//! orientation of the layer's rings.

use std::io::{self, Write};

use geo::orient::{Direction, Orient};
use geo::{LineString, Polygon};
use serde_json::{json, Map, Value};

use crate::layer::{GridFeature, GridLayer};

/// Decimal places of written coordinates.
pub const COORDINATE_DECIMALS: i32 = 7;

fn round(value: f64) -> f64 {
    let scale = 10f64.powi(COORDINATE_DECIMALS);
    (value * scale).round() / scale
}

fn ring_json(ring: &LineString<f64>) -> Value {
    Value::Array(
        ring.coords()
            .map(|c| json!([round(c.x), round(c.y)]))
            .collect(),
    )
}

fn polygon_json(polygon: &Polygon<f64>) -> Value {
    let oriented = polygon.orient(Direction::Default);
    let rings = std::iter::once(oriented.exterior())
        .chain(oriented.interiors())
        .map(ring_json)
        .collect();
    Value::Array(rings)
}

fn feature_json(feature: &GridFeature) -> Value {
    let mut properties = Map::new();
    properties.insert("code".to_string(), Value::from(feature.code.as_str()));
    properties.insert("name".to_string(), Value::from(feature.name.as_str()));
    if let Some(parent) = &feature.parent {
        properties.insert("parent".to_string(), Value::from(parent.as_str()));
    }
    let polygons: Vec<Value> = feature.geometry.iter().map(polygon_json).collect();
    json!({
        "type": "Feature",
        "properties": properties,
        "geometry": { "type": "MultiPolygon", "coordinates": polygons },
    })
}

/// The layer as a GeoJSON FeatureCollection value.
pub fn to_geojson_value(layer: &GridLayer) -> Value {
    json!({
        "type": "FeatureCollection",
        "features": layer.features.iter().map(feature_json).collect::<Vec<_>>(),
    })
}

/// Writes the layer as a GeoJSON FeatureCollection to `writer`.
pub fn write_geojson<W: Write>(layer: &GridLayer, writer: W) -> io::Result<()> {
    serde_json::to_writer(writer, &to_geojson_value(layer)).map_err(io::Error::from)
}

/// The layer as GeoJSON FeatureCollection text.
pub fn to_geojson(layer: &GridLayer) -> String {
    to_geojson_value(layer).to_string()
}
