//! Grid layers in the store: the polygon of each street, community and cell, and the point → cell
//! index over the cell layer that intake uses.

use geo::MultiPolygon;
use onegrid_core::area::{Area, AreaCode, AreaLevel};
use serde::Serialize;

/// One stored polygon of a grid layer (WGS84) with its area-tree node.
#[derive(Debug, Clone, PartialEq)]
pub struct GridShape {
    pub area: Area,
    pub geometry: MultiPolygon<f64>,
    /// The outline is known to be approximate (the demo's streets: no public polygons exist).
    pub approximate: bool,
}

/// What an import changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LayerSummary {
    pub level: Option<AreaLevel>,
    /// Shapes now stored for the level.
    pub shapes: usize,
    /// Areas that were not in the tree before.
    pub added_areas: usize,
    /// Existing areas whose name changed.
    pub renamed_areas: usize,
    /// Areas of the level that are still in the tree (cases may name them) but have no shape now.
    pub without_shape: usize,
}

/// Where intake put a point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LocatedCell {
    pub cell: AreaCode,
    /// 0 inside the cell; otherwise the distance to the nearest cell within the snapping distance.
    pub distance_m: f64,
}

/// Serializes a geometry for storage (a GeoJSON geometry object).
pub(crate) fn geometry_json(geometry: &MultiPolygon<f64>) -> String {
    geojson::Geometry::new(geojson::GeometryValue::from(geometry)).to_string()
}

/// Reads a stored geometry back.
pub(crate) fn parse_geometry(code: &str, text: &str) -> Result<MultiPolygon<f64>, String> {
    let geometry: geojson::Geometry = text
        .parse()
        .map_err(|e| format!("the stored shape of {code} is not GeoJSON: {e}"))?;
    match geo::Geometry::<f64>::try_from(&geometry.value) {
        Ok(geo::Geometry::MultiPolygon(shape)) => Ok(shape),
        Ok(geo::Geometry::Polygon(shape)) => Ok(MultiPolygon(vec![shape])),
        Ok(_) => Err(format!("the stored shape of {code} is not a polygon")),
        Err(e) => Err(format!("the stored shape of {code} is unreadable: {e}")),
    }
}

/// A stored layer as a `GridLayer` of features, for writing it out (GeoJSON export, the map).
pub fn to_grid_layer(level: AreaLevel, shapes: Vec<GridShape>) -> onegrid_geo::layer::GridLayer {
    onegrid_geo::layer::GridLayer {
        level: Some(level),
        features: shapes
            .into_iter()
            .enumerate()
            .map(|(index, shape)| onegrid_geo::layer::GridFeature {
                parent: shape.area.code.parent().map(|p| p.to_string()),
                code: shape.area.code.to_string(),
                name: shape.area.name,
                geometry: shape.geometry,
                index,
            })
            .collect(),
    }
}
