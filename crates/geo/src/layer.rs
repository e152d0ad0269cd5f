//! The grid layer as read from a file: features with a code, a name and a WGS84 (multi)polygon, and the
//! problems found while reading or validating it.

use geo::{Coord, MultiPolygon};
use onegrid_core::area::AreaLevel;
use serde::Serialize;

/// One polygon of a grid layer (a street, a community or a grid cell).
#[derive(Debug, Clone, PartialEq)]
pub struct GridFeature {
    /// The code as the file gives it; validation checks it is a well-formed area code of the layer's level.
    pub code: String,
    pub name: String,
    /// The parent code when the file names it (otherwise the code's prefix is the parent).
    pub parent: Option<String>,
    /// WGS84 longitude/latitude. Rings are closed.
    pub geometry: MultiPolygon<f64>,
    /// Position of the feature in its file (0-based), for messages about features without a usable code.
    pub index: usize,
}

/// A grid layer: the features of one level.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GridLayer {
    /// The level the operator declared (or that the codes imply when all have one length).
    pub level: Option<AreaLevel>,
    pub features: Vec<GridFeature>,
}

impl GridLayer {
    /// The level the features' codes imply, when every code has the length of one level.
    pub fn implied_level(&self) -> Option<AreaLevel> {
        let mut levels = self
            .features
            .iter()
            .map(|f| AreaLevel::from_code_len(f.code.trim().len()));
        let first = levels.next()??;
        levels.all(|l| l == Some(first)).then_some(first)
    }
}

/// How bad a problem is: an error refuses the layer (unless forced); a warning is reported only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warning,
    Error,
}

/// What is wrong. Each kind has one stable snake_case name used in reports and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The file is not readable as a layer at all (broken JSON, missing .dbf, wrong geometry type…).
    Unreadable,
    EmptyGeometry,
    UnclosedRing,
    /// A ring with fewer than 4 positions (3 distinct points plus the closing one).
    TooShortRing,
    /// NaN or infinite coordinate, or a longitude/latitude out of range.
    CoordinateOutOfRange,
    /// Latitude and longitude look exchanged (e.g. a Tianjin layer given as lat,lon).
    SwappedCoordinates,
    SelfIntersection,
    Overlap,
    /// Part of the parent not covered by any child.
    Gap,
    OutsideParent,
    DuplicateCode,
    MalformedCode,
    /// The code does not start with its parent's code, or the named parent does not exist.
    WrongParent,
    MissingName,
}

impl ProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Unreadable => "unreadable",
            ProblemKind::EmptyGeometry => "empty_geometry",
            ProblemKind::UnclosedRing => "unclosed_ring",
            ProblemKind::TooShortRing => "too_short_ring",
            ProblemKind::CoordinateOutOfRange => "coordinate_out_of_range",
            ProblemKind::SwappedCoordinates => "swapped_coordinates",
            ProblemKind::SelfIntersection => "self_intersection",
            ProblemKind::Overlap => "overlap",
            ProblemKind::Gap => "gap",
            ProblemKind::OutsideParent => "outside_parent",
            ProblemKind::DuplicateCode => "duplicate_code",
            ProblemKind::MalformedCode => "malformed_code",
            ProblemKind::WrongParent => "wrong_parent",
            ProblemKind::MissingName => "missing_name",
        }
    }
}

/// One problem, naming the feature code(s) involved and where it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    pub severity: Severity,
    pub kind: ProblemKind,
    /// The codes of the features involved (the feature's index as `#N` when it has no code).
    pub codes: Vec<String>,
    /// A WGS84 position at or near the problem, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<[f64; 2]>,
    /// Area in m², for overlaps, gaps and parts outside the parent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area_m2: Option<f64>,
    /// A sentence a GIS operator understands.
    pub message: String,
}

impl Problem {
    pub fn error(kind: ProblemKind, codes: Vec<String>, message: impl Into<String>) -> Problem {
        Problem {
            severity: Severity::Error,
            kind,
            codes,
            location: None,
            area_m2: None,
            message: message.into(),
        }
    }

    pub fn warning(kind: ProblemKind, codes: Vec<String>, message: impl Into<String>) -> Problem {
        Problem {
            severity: Severity::Warning,
            ..Problem::error(kind, codes, message)
        }
    }

    pub fn at(mut self, location: Coord<f64>) -> Problem {
        self.location = Some([location.x, location.y]);
        self
    }

    pub fn with_area(mut self, area_m2: f64) -> Problem {
        self.area_m2 = Some(area_m2);
        self
    }
}

/// The name of a feature in messages: its code, or `#index` when it has none.
pub fn feature_label(feature: &GridFeature) -> String {
    if feature.code.trim().is_empty() {
        format!("#{}", feature.index)
    } else {
        feature.code.trim().to_string()
    }
}
