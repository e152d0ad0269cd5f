//! Grid layers of onegrid: reading and writing (GeoJSON, shapefile), validation, generation of a grid for a
//! district that has none, coordinate systems (WGS84, GCJ-02, BD-09) and the point → cell index.
//!
//! Everything here is pure computation on values; files are read by [`read`] from paths or bytes the
//! caller chooses, and nothing is stored.

pub mod crs;
pub mod generate;
pub mod index;
pub mod layer;
pub mod read;
pub mod validate;
pub mod write;

pub use layer::{GridFeature, GridLayer, Problem, ProblemKind, Severity};
