//! Reading a grid layer from GeoJSON or an ESRI shapefile.
//!
//! A file that cannot be a layer at all (not JSON, no `.dbf`, too large, …) is a [`ReadError`]. Everything
//! that is wrong with single features or rings becomes a [`Problem`] in the [`ReadOutcome`], so that the
//! operator sees every fault of a file at once. A faulty feature is still returned when a WGS84 polygon can
//! be made of it (an unclosed ring is closed, a too-short ring is kept as given); it is left out, with the
//! problem saying so, when it has no polygon geometry or when its coordinates are not usable longitudes and
//! latitudes (not finite, out of range, or latitude and longitude exchanged).
//!
//! Attribute fields: when [`FieldMap`] does not name a field, the first of these that has a value is used:
//! code: [`CODE_FIELDS`] (`code`, `CODE`, `adcode`, `gridcode`, `GRIDCODE`, `WGBM` 网格编码, `BM`);
//! name: [`NAME_FIELDS`] (`name`, `NAME`, `WGMC` 网格名称, `MC`); parent: [`PARENT_FIELDS`] (`parent`,
//! `parent_code`, `PARENT`). Numeric values become their decimal text (`120110`, never `120110.0`).
//!
//! Shapefile text encoding, in this order: the `.cpg` file when present and known (`UTF-8`, `GBK`, `GB2312`,
//! `GB18030`, `936`, `CP936`, `65001`, …); else the `.dbf` header's language driver id when it names a code
//! page (`0x4D`/`0x7A` GBK, `0x4F`/`0x78` Big5, `0x13`/`0x7B` Shift-JIS, `0x03` Windows-1252, …; `0x57`
//! means "the writing machine's ANSI code page", which says nothing, and is skipped); else
//! [`ReadOptions::encoding`]; else UTF-8 when every text of the table is valid UTF-8, otherwise GBK. To
//! override a wrong declaration, write the right code page into the `.cpg` file.

use std::fmt;
use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use encoding_rs::Encoding;
use geo::coordinate_position::{CoordPos, CoordinatePosition};
use geo::{Area, BoundingRect, Coord, LineString, MultiPolygon, Polygon, Rect};
use serde_json::Value;
use shapefile::dbase;

use crate::crs::Crs;
use crate::layer::{GridFeature, GridLayer, Problem, ProblemKind};

/// Fields tried, in order, for the code when [`FieldMap::code`] is not set.
pub const CODE_FIELDS: [&str; 7] = [
    "code", "CODE", "adcode", "gridcode", "GRIDCODE", "WGBM", "BM",
];
/// Fields tried, in order, for the name when [`FieldMap::name`] is not set.
pub const NAME_FIELDS: [&str; 4] = ["name", "NAME", "WGMC", "MC"];
/// Fields tried, in order, for the parent code when [`FieldMap::parent`] is not set.
pub const PARENT_FIELDS: [&str; 3] = ["parent", "parent_code", "PARENT"];

/// Which attribute field holds the code, the name and the parent code; `None` tries the usual names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldMap {
    pub code: Option<String>,
    pub name: Option<String>,
    pub parent: Option<String>,
}

/// Why a field map given as `code=FIELD,name=FIELD,parent=FIELD` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldMapError {
    #[error("field map entry {entry:?} is not of the form key=FIELD (for example code=WGBM)")]
    NotKeyValue { entry: String },
    #[error("field map key {key:?} is unknown; the keys are code, name and parent")]
    UnknownKey { key: String },
    #[error("field map key {key:?} has no field name after '='")]
    EmptyField { key: String },
    #[error("field map key {key:?} is given twice")]
    Duplicate { key: String },
}

impl FromStr for FieldMap {
    type Err = FieldMapError;

    fn from_str(text: &str) -> Result<FieldMap, FieldMapError> {
        let mut map = FieldMap::default();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (key, field) = entry
                .split_once('=')
                .ok_or_else(|| FieldMapError::NotKeyValue {
                    entry: entry.to_string(),
                })?;
            let (key, field) = (key.trim(), field.trim());
            let slot = match key {
                "code" => &mut map.code,
                "name" => &mut map.name,
                "parent" => &mut map.parent,
                _ => {
                    return Err(FieldMapError::UnknownKey {
                        key: key.to_string(),
                    })
                }
            };
            if field.is_empty() {
                return Err(FieldMapError::EmptyField {
                    key: key.to_string(),
                });
            }
            if slot.is_some() {
                return Err(FieldMapError::Duplicate {
                    key: key.to_string(),
                });
            }
            *slot = Some(field.to_string());
        }
        Ok(map)
    }
}

impl fmt::Display for FieldMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries: Vec<String> = [
            ("code", &self.code),
            ("name", &self.name),
            ("parent", &self.parent),
        ]
        .into_iter()
        .filter_map(|(key, field)| field.as_ref().map(|field| format!("{key}={field}")))
        .collect();
        f.write_str(&entries.join(","))
    }
}

/// How to read a layer file.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    pub fields: FieldMap,
    /// The coordinate system of the file's coordinates; they are converted to WGS84.
    pub crs: Crs,
    /// Files (for a shapefile: `.shp`, `.shx` and `.dbf` together) larger than this are refused.
    pub max_bytes: u64,
    /// Text encoding of a shapefile's attributes when neither a `.cpg` file nor the `.dbf` header says.
    pub encoding: Option<&'static Encoding>,
}

/// The default size limit: 100 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 100 * 1024 * 1024;

impl Default for ReadOptions {
    fn default() -> ReadOptions {
        ReadOptions {
            fields: FieldMap::default(),
            crs: Crs::Wgs84,
            max_bytes: DEFAULT_MAX_BYTES,
            encoding: None,
        }
    }
}

/// A layer as read, with the problems of its features.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadOutcome {
    pub layer: GridLayer,
    pub problems: Vec<Problem>,
}

/// Why a file cannot be read as a layer at all.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "{what} is {:.1} MiB, over the limit of {:.1} MiB",
        mebibytes(*size),
        mebibytes(*limit)
    )]
    TooLarge { what: String, size: u64, limit: u64 },
    #[error("the file is not valid JSON: {reason} at line {line}, column {column}")]
    NotJson {
        reason: String,
        line: usize,
        column: usize,
    },
    #[error(
        "the file holds {found}, which cannot hold polygons; a grid layer is a GeoJSON FeatureCollection, \
         a Feature, or a Polygon or MultiPolygon geometry"
    )]
    NotALayer { found: String },
    #[error(
        "the shapefile {shp} has no attribute table: {expected} does not exist; copy the .dbf file \
         (and the .shx, .prj and .cpg files) next to the .shp"
    )]
    MissingDbf { shp: PathBuf, expected: PathBuf },
    #[error("the shapefile's {part} file cannot be read: {reason}")]
    Shapefile { part: &'static str, reason: String },
    #[error(
        "the shapefile has {shapes} shapes in its .shp file but {records} records in its .dbf file; \
         they must correspond one to one"
    )]
    RecordCountMismatch { shapes: usize, records: usize },
    #[error(
        "the shapefile is in the projected coordinate system {name:?} (metres); export it as geographic \
         longitude/latitude (WGS84, CGCS2000, GCJ-02 or BD-09) first"
    )]
    ProjectedShapefile { name: String },
    #[error("the {role} field {field:?} named in the field map is not in the .dbf file; its fields are {available}")]
    UnknownField {
        role: &'static str,
        field: String,
        available: String,
    },
    #[error(
        "{path} has an unsupported file type; supported are .geojson and .json (GeoJSON) and .shp \
         (ESRI shapefile, with its .dbf)"
    )]
    UnknownExtension { path: PathBuf },
    #[error("the file holds no features")]
    NoFeatures,
}

fn mebibytes(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Reads a layer file, choosing the format by the file's extension.
pub fn read_path(path: &Path, options: &ReadOptions) -> Result<ReadOutcome, ReadError> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("geojson" | "json") => {
            check_size(path, options.max_bytes)?;
            let bytes = fs::read(path).map_err(|error| io_error(path, error))?;
            read_geojson(&bytes, options)
        }
        Some("shp") => read_shapefile(path, options),
        _ => Err(ReadError::UnknownExtension {
            path: path.to_path_buf(),
        }),
    }
}

fn io_error(path: &Path, error: std::io::Error) -> ReadError {
    ReadError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// The file's size, refused when over the limit (checked before reading so a huge file is never loaded).
fn check_size(path: &Path, limit: u64) -> Result<u64, ReadError> {
    let size = fs::metadata(path)
        .map_err(|error| io_error(path, error))?
        .len();
    if size > limit {
        return Err(ReadError::TooLarge {
            what: path.display().to_string(),
            size,
            limit,
        });
    }
    Ok(size)
}

// ---------------------------------------------------------------------------------------------------------
// Shared feature assembly

/// The text of one attribute value, or `None` when it is empty.
fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// Decimal text of a number; integral values (codes) without a fraction.
fn number_text(value: f64) -> Option<String> {
    if !value.is_finite() {
        return None;
    }
    if value.fract() == 0.0 && value.abs() < 1e17 {
        Some(format!("{value:.0}"))
    } else {
        Some(value.to_string())
    }
}

/// One role of the field map: the mapped field, or the usual names.
struct FieldRole<'a> {
    role: &'static str,
    mapped: Option<&'a str>,
    defaults: &'static [&'static str],
}

impl FieldRole<'_> {
    /// The first field of this role that has a value.
    fn lookup(&self, get: &dyn Fn(&str) -> Option<String>) -> Option<String> {
        match self.mapped {
            Some(field) => get(field),
            None => self.defaults.iter().find_map(|field| get(field)),
        }
    }

    /// Where the value was looked for, for messages.
    fn searched(&self) -> String {
        match self.mapped {
            Some(field) => format!("its {} field {field:?} is empty or missing", self.role),
            None => format!(
                "none of the fields {} has a value; name the {} field in the field map ({}=FIELD)",
                self.defaults.join(", "),
                self.role,
                self.role
            ),
        }
    }
}

struct Roles<'a> {
    code: FieldRole<'a>,
    name: FieldRole<'a>,
    parent: FieldRole<'a>,
}

impl<'a> Roles<'a> {
    fn new(fields: &'a FieldMap) -> Roles<'a> {
        Roles {
            code: FieldRole {
                role: "code",
                mapped: fields.code.as_deref(),
                defaults: &CODE_FIELDS,
            },
            name: FieldRole {
                role: "name",
                mapped: fields.name.as_deref(),
                defaults: &NAME_FIELDS,
            },
            parent: FieldRole {
                role: "parent",
                mapped: fields.parent.as_deref(),
                defaults: &PARENT_FIELDS,
            },
        }
    }
}

/// The attributes of one feature.
struct Attributes {
    code: Option<String>,
    name: Option<String>,
    parent: Option<String>,
}

impl Attributes {
    fn lookup(roles: &Roles<'_>, get: &dyn Fn(&str) -> Option<String>) -> Attributes {
        Attributes {
            code: roles.code.lookup(get),
            name: roles.name.lookup(get),
            parent: roles.parent.lookup(get),
        }
    }

    /// The feature's name in messages: its code, or `#index`.
    fn label(&self, index: usize) -> String {
        self.code.clone().unwrap_or_else(|| format!("#{index}"))
    }
}

/// One ring as it is in the file, before any check.
struct RawRing {
    /// Where the ring is in its feature, for messages ("polygon 2, ring 1" or "part 3").
    place: String,
    coords: Vec<Coord<f64>>,
}

/// Builds the features of a layer and collects their problems.
struct Assembler<'a> {
    options: &'a ReadOptions,
    roles: Roles<'a>,
    features: Vec<GridFeature>,
    problems: Vec<Problem>,
}

/// Longitude/latitude ranges that, exchanged, would put a position in China.
fn looks_swapped(c: Coord<f64>) -> bool {
    (3.0..=54.0).contains(&c.x) && (73.0..=136.0).contains(&c.y)
}

impl<'a> Assembler<'a> {
    fn new(options: &'a ReadOptions) -> Assembler<'a> {
        Assembler {
            options,
            roles: Roles::new(&options.fields),
            features: Vec::new(),
            problems: Vec::new(),
        }
    }

    fn error(&mut self, kind: ProblemKind, label: &str, message: String) {
        self.problems
            .push(Problem::error(kind, vec![label.to_string()], message));
    }

    /// Reports a missing code (error) or name (warning).
    fn check_attributes(&mut self, attributes: &Attributes, label: &str) {
        if attributes.code.is_none() {
            let message = format!(
                "feature {label} has no code: {}",
                self.roles.code.searched()
            );
            self.error(ProblemKind::MalformedCode, label, message);
        }
        if attributes.name.is_none() {
            let message = format!(
                "feature {label} has no name: {}",
                self.roles.name.searched()
            );
            self.problems.push(Problem::warning(
                ProblemKind::MissingName,
                vec![label.to_string()],
                message,
            ));
        }
    }

    /// Checks that every position is a usable longitude/latitude; reports the first fault and returns false
    /// when the feature must be left out.
    fn coordinates_usable<'r>(
        &mut self,
        label: &str,
        rings: impl Iterator<Item = &'r RawRing> + Clone,
    ) -> bool {
        let positions = || {
            rings
                .clone()
                .flat_map(|r| r.coords.iter().map(move |c| (r, *c)))
        };
        if let Some((ring, c)) = positions().find(|(_, c)| !c.x.is_finite() || !c.y.is_finite()) {
            let message = format!(
                "feature {label}, {}: position ({}, {}) is not a finite number; the feature is left out \
                 of the layer",
                ring.place, c.x, c.y
            );
            self.error(ProblemKind::CoordinateOutOfRange, label, message);
            return false;
        }
        if positions().all(|(_, c)| looks_swapped(c)) {
            if let Some((_, c)) = positions().next() {
                let message = format!(
                    "feature {label}: longitude and latitude look exchanged: its first position ({}, {}) is \
                     ({}, {}) as longitude, latitude, which lies in China; write positions as \
                     [longitude, latitude]; the feature is left out of the layer",
                    c.x, c.y, c.y, c.x
                );
                self.error(ProblemKind::SwappedCoordinates, label, message);
                return false;
            }
        }
        if let Some((ring, c)) = positions().find(|(_, c)| c.x.abs() > 180.0 || c.y.abs() > 90.0) {
            let hint = if c.x.abs() > 1000.0 || c.y.abs() > 1000.0 {
                " (this looks like projected metres; export the layer as longitude/latitude)"
            } else {
                ""
            };
            let message = format!(
                "feature {label}, {}: position ({}, {}) is outside longitude −180…180 / latitude −90…90{hint}; \
                 the feature is left out of the layer",
                ring.place, c.x, c.y
            );
            self.error(ProblemKind::CoordinateOutOfRange, label, message);
            return false;
        }
        true
    }

    /// Closes a ring (reporting it), reports a ring with fewer than 4 positions, and converts it to WGS84.
    /// Returns `None` for a ring without positions.
    fn finish_ring(&mut self, label: &str, ring: RawRing) -> Option<LineString<f64>> {
        let crs = self.options.crs;
        let mut coords = ring.coords;
        let (first, last) = (*coords.first()?, *coords.last()?);
        let first_wgs84 = crs.to_wgs84(first);
        if first != last {
            let message = format!(
                "feature {label}, {}: the ring is not closed (its last position differs from its first); \
                 it was closed",
                ring.place
            );
            self.problems.push(
                Problem::error(ProblemKind::UnclosedRing, vec![label.to_string()], message)
                    .at(first_wgs84),
            );
            coords.push(first);
        }
        if coords.len() < 4 {
            let message = format!(
                "feature {label}, {}: the ring has {} positions; a ring needs at least 4 (3 distinct \
                 points and the closing one)",
                ring.place,
                coords.len()
            );
            self.problems.push(
                Problem::error(ProblemKind::TooShortRing, vec![label.to_string()], message)
                    .at(first_wgs84),
            );
        }
        Some(LineString::new(
            coords.into_iter().map(|c| crs.to_wgs84(c)).collect(),
        ))
    }

    fn push_feature(&mut self, index: usize, attributes: Attributes, geometry: MultiPolygon<f64>) {
        self.features.push(GridFeature {
            code: attributes.code.unwrap_or_default(),
            name: attributes.name.unwrap_or_default(),
            parent: attributes.parent,
            geometry,
            index,
        });
    }

    /// Adds a feature whose rings are grouped into polygons (exterior first), as GeoJSON gives them.
    fn add_polygons(&mut self, index: usize, attributes: Attributes, polygons: Vec<Vec<RawRing>>) {
        let label = attributes.label(index);
        if polygons.iter().flatten().all(|ring| ring.coords.is_empty()) {
            let message =
                format!("feature {label} has an empty geometry; it is left out of the layer");
            self.error(ProblemKind::EmptyGeometry, &label, message);
            return;
        }
        if !self.coordinates_usable(&label, polygons.iter().flatten()) {
            return;
        }
        let mut finished = Vec::new();
        for polygon in polygons {
            let mut rings = polygon.into_iter();
            let Some(exterior) = rings.next() else {
                continue;
            };
            let exterior_place = exterior.place.clone();
            let Some(exterior) = self.finish_ring(&label, exterior) else {
                let message = format!(
                    "feature {label}, {exterior_place}: the exterior ring has no positions; the polygon is \
                     left out"
                );
                self.error(ProblemKind::TooShortRing, &label, message);
                continue;
            };
            let mut holes = Vec::new();
            for hole in rings {
                let place = hole.place.clone();
                match self.finish_ring(&label, hole) {
                    Some(hole) => holes.push(hole),
                    None => {
                        let message = format!(
                            "feature {label}, {place}: the ring has no positions; it is left out"
                        );
                        self.error(ProblemKind::TooShortRing, &label, message);
                    }
                }
            }
            finished.push(Polygon::new(exterior, holes));
        }
        self.push_feature(index, attributes, MultiPolygon::new(finished));
    }

    /// Adds a feature given as a flat list of rings with their orientation (shapefile: outer rings clockwise,
    /// holes counter-clockwise). Each hole goes to the smallest outer ring that contains it; a hole inside
    /// no outer ring is taken as an outer ring, as GDAL does, since some writers ignore the orientation rule.
    fn add_rings(&mut self, index: usize, attributes: Attributes, rings: Vec<(bool, RawRing)>) {
        let label = attributes.label(index);
        if rings.iter().all(|(_, ring)| ring.coords.is_empty()) {
            let message =
                format!("feature {label} has an empty geometry; it is left out of the layer");
            self.error(ProblemKind::EmptyGeometry, &label, message);
            return;
        }
        if !self.coordinates_usable(&label, rings.iter().map(|(_, ring)| ring)) {
            return;
        }
        let mut outers: Vec<(Polygon<f64>, Option<Rect<f64>>, f64)> = Vec::new();
        let mut holes = Vec::new();
        for (is_outer, ring) in rings {
            let place = ring.place.clone();
            let Some(ring) = self.finish_ring(&label, ring) else {
                let message =
                    format!("feature {label}, {place}: the ring has no positions; it is left out");
                self.error(ProblemKind::TooShortRing, &label, message);
                continue;
            };
            if is_outer {
                let polygon = Polygon::new(ring, Vec::new());
                let (rect, area) = (polygon.bounding_rect(), polygon.unsigned_area());
                outers.push((polygon, rect, area));
            } else {
                holes.push(ring);
            }
        }
        for hole in holes {
            let container = outers
                .iter()
                .enumerate()
                .filter(|(_, (outer, rect, _))| encloses(outer, *rect, &hole))
                .min_by(|a, b| a.1 .2.total_cmp(&b.1 .2))
                .map(|(i, _)| i);
            match container.and_then(|i| outers.get_mut(i)) {
                Some((outer, _, _)) => outer.interiors_push(hole),
                None => {
                    let polygon = Polygon::new(hole, Vec::new());
                    let (rect, area) = (polygon.bounding_rect(), polygon.unsigned_area());
                    outers.push((polygon, rect, area));
                }
            }
        }
        let polygons = outers.into_iter().map(|(polygon, _, _)| polygon).collect();
        self.push_feature(index, attributes, MultiPolygon::new(polygons));
    }

    fn finish(self) -> ReadOutcome {
        let mut layer = GridLayer {
            level: None,
            features: self.features,
        };
        layer.level = layer.implied_level();
        ReadOutcome {
            layer,
            problems: self.problems,
        }
    }
}

/// True when `hole` lies inside `outer`: some vertex of the hole is strictly inside it (vertices on the
/// boundary do not decide, since holes may touch their outer ring).
fn encloses(outer: &Polygon<f64>, outer_rect: Option<Rect<f64>>, hole: &LineString<f64>) -> bool {
    if let (Some(outer_rect), Some(hole_rect)) = (outer_rect, hole.bounding_rect()) {
        let (o_min, o_max, h_min, h_max) = (
            outer_rect.min(),
            outer_rect.max(),
            hole_rect.min(),
            hole_rect.max(),
        );
        if h_min.x < o_min.x || h_min.y < o_min.y || h_max.x > o_max.x || h_max.y > o_max.y {
            return false;
        }
    }
    for c in hole.coords() {
        match outer.coordinate_position(c) {
            CoordPos::Inside => return true,
            CoordPos::Outside => return false,
            CoordPos::OnBoundary => {}
        }
    }
    false
}

// ---------------------------------------------------------------------------------------------------------
// GeoJSON

/// Reads a GeoJSON FeatureCollection, a single Feature, a bare Polygon/MultiPolygon geometry, or a JSON array
/// of Features (as Aliyun DataV exports are).
pub fn read_geojson(bytes: &[u8], options: &ReadOptions) -> Result<ReadOutcome, ReadError> {
    let size = bytes.len() as u64;
    if size > options.max_bytes {
        return Err(ReadError::TooLarge {
            what: "the GeoJSON input".to_string(),
            size,
            limit: options.max_bytes,
        });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let document: Value = serde_json::from_slice(bytes).map_err(|error| {
        let (line, column) = (error.line(), error.column());
        let text = error.to_string();
        let suffix = format!(" at line {line} column {column}");
        ReadError::NotJson {
            reason: text.strip_suffix(&suffix).unwrap_or(&text).to_string(),
            line,
            column,
        }
    })?;
    let features = feature_values(document)?;
    if features.is_empty() {
        return Err(ReadError::NoFeatures);
    }
    let mut assembler = Assembler::new(options);
    for (index, value) in features.into_iter().enumerate() {
        read_geojson_feature(&mut assembler, index, value);
    }
    Ok(assembler.finish())
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a JSON boolean",
        Value::Number(_) => "a JSON number",
        Value::String(_) => "a JSON string",
        Value::Array(_) => "a JSON array",
        Value::Object(_) => "a JSON object",
    }
}

/// The feature objects of a document.
fn feature_values(document: Value) -> Result<Vec<Value>, ReadError> {
    let mut object = match document {
        Value::Array(items) => return Ok(items),
        Value::Object(object) => object,
        other => {
            return Err(ReadError::NotALayer {
                found: json_kind(&other).to_string(),
            })
        }
    };
    let kind = object
        .get("type")
        .and_then(Value::as_str)
        .map(str::to_string);
    match kind.as_deref() {
        Some("FeatureCollection") => match object.remove("features") {
            Some(Value::Array(features)) => Ok(features),
            _ => Err(ReadError::NotALayer {
                found: "a FeatureCollection without a \"features\" array".to_string(),
            }),
        },
        Some("Feature") => Ok(vec![Value::Object(object)]),
        Some("Polygon" | "MultiPolygon") => {
            let mut feature = serde_json::Map::new();
            feature.insert("type".to_string(), Value::from("Feature"));
            feature.insert("properties".to_string(), Value::Null);
            feature.insert("geometry".to_string(), Value::Object(object));
            Ok(vec![Value::Object(feature)])
        }
        Some(other) => Err(ReadError::NotALayer {
            found: format!("a GeoJSON object of type {other:?}"),
        }),
        None => Err(ReadError::NotALayer {
            found: "a JSON object without a \"type\" member".to_string(),
        }),
    }
}

fn json_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => non_empty(text),
        Value::Number(number) => {
            if let Some(n) = number.as_u64() {
                Some(n.to_string())
            } else if let Some(n) = number.as_i64() {
                Some(n.to_string())
            } else {
                number.as_f64().and_then(number_text)
            }
        }
        other => non_empty(&other.to_string()),
    }
}

fn read_geojson_feature(assembler: &mut Assembler<'_>, index: usize, value: Value) {
    let properties = match value.get("properties") {
        Some(Value::Object(properties)) => properties.clone(),
        _ => serde_json::Map::new(),
    };
    let get = |field: &str| properties.get(field).and_then(json_text);
    let attributes = Attributes::lookup(&assembler.roles, &get);
    let label = attributes.label(index);
    assembler.check_attributes(&attributes, &label);

    let feature = match serde_json::from_value::<geojson::Feature>(value) {
        Ok(feature) => feature,
        Err(error) => {
            let message = format!(
                "feature {label} is not a valid GeoJSON Feature ({error}); it is left out of the layer"
            );
            assembler.error(ProblemKind::Unreadable, &label, message);
            return;
        }
    };
    let Some(geometry) = feature.geometry else {
        let message = format!("feature {label} has no geometry; it is left out of the layer");
        assembler.error(ProblemKind::EmptyGeometry, &label, message);
        return;
    };
    let polygons = match polygons_of(geometry.value) {
        Ok(polygons) => polygons,
        Err(found) => {
            let message = format!(
                "feature {label} has a {found} geometry; a grid layer needs Polygon or MultiPolygon \
                 features; it is left out of the layer"
            );
            assembler.error(ProblemKind::Unreadable, &label, message);
            return;
        }
    };
    let mut raw = Vec::with_capacity(polygons.len());
    for (p, polygon) in polygons.into_iter().enumerate() {
        let mut rings = Vec::with_capacity(polygon.len());
        for (r, ring) in polygon.into_iter().enumerate() {
            let place = format!("polygon {}, ring {}", p + 1, r + 1);
            let mut coords = Vec::with_capacity(ring.len());
            for position in ring {
                match position.as_slice() {
                    [x, y, ..] => coords.push(Coord { x: *x, y: *y }),
                    short => {
                        let message = format!(
                            "feature {label}, {place}: a position has {} number(s); a position needs a \
                             longitude and a latitude; the feature is left out of the layer",
                            short.len()
                        );
                        assembler.error(ProblemKind::CoordinateOutOfRange, &label, message);
                        return;
                    }
                }
            }
            rings.push(RawRing { place, coords });
        }
        raw.push(rings);
    }
    assembler.add_polygons(index, attributes, raw);
}

/// The polygons of a geometry, or the name of its type when it is not polygonal.
fn polygons_of(value: geojson::GeometryValue) -> Result<Vec<geojson::PolygonType>, String> {
    use geojson::GeometryValue as G;
    match value {
        G::Polygon { coordinates } => Ok(vec![coordinates]),
        G::MultiPolygon { coordinates } => Ok(coordinates),
        G::GeometryCollection { geometries } => {
            let mut polygons = Vec::new();
            for geometry in geometries {
                polygons.extend(
                    polygons_of(geometry.value)
                        .map_err(|inner| format!("GeometryCollection (holding a {inner})"))?,
                );
            }
            Ok(polygons)
        }
        G::Point { .. } => Err("Point".to_string()),
        G::MultiPoint { .. } => Err("MultiPoint".to_string()),
        G::LineString { .. } => Err("LineString".to_string()),
        G::MultiLineString { .. } => Err("MultiLineString".to_string()),
    }
}

// ---------------------------------------------------------------------------------------------------------
// Shapefile

/// The files of a shapefile, as bytes (for callers that do not read from disk, and for fuzzing).
#[derive(Debug, Clone, Copy, Default)]
pub struct ShapefileParts<'a> {
    pub shp: &'a [u8],
    /// The index; optional (the shapes are then read in sequence).
    pub shx: Option<&'a [u8]>,
    pub dbf: &'a [u8],
    /// The code page file; optional.
    pub cpg: Option<&'a [u8]>,
    /// The projection file; optional. A projected (metre) system is refused.
    pub prj: Option<&'a [u8]>,
}

/// The sibling file with `extension`, in lower or upper case, when it exists.
fn sibling(shp: &Path, extension: &str) -> Option<PathBuf> {
    [
        extension.to_ascii_lowercase(),
        extension.to_ascii_uppercase(),
    ]
    .into_iter()
    .map(|e| shp.with_extension(e))
    .find(|p| p.is_file())
}

fn read_optional(path: Option<PathBuf>) -> Result<Option<Vec<u8>>, ReadError> {
    match path {
        Some(path) => fs::read(&path)
            .map(Some)
            .map_err(|error| io_error(&path, error)),
        None => Ok(None),
    }
}

/// Reads an ESRI shapefile: the `.shp` and its `.dbf`, with the `.shx`, `.cpg` and `.prj` when present.
pub fn read_shapefile(shp_path: &Path, options: &ReadOptions) -> Result<ReadOutcome, ReadError> {
    let dbf_path = sibling(shp_path, "dbf").ok_or_else(|| ReadError::MissingDbf {
        shp: shp_path.to_path_buf(),
        expected: shp_path.with_extension("dbf"),
    })?;
    let shx_path = sibling(shp_path, "shx");
    let mut total = 0u64;
    for path in [
        Some(shp_path.to_path_buf()),
        Some(dbf_path.clone()),
        shx_path.clone(),
    ]
    .into_iter()
    .flatten()
    {
        total += check_size(&path, options.max_bytes)?;
    }
    if total > options.max_bytes {
        return Err(ReadError::TooLarge {
            what: format!(
                "the shapefile {} with its .dbf and .shx",
                shp_path.display()
            ),
            size: total,
            limit: options.max_bytes,
        });
    }
    let shp = fs::read(shp_path).map_err(|error| io_error(shp_path, error))?;
    let dbf = fs::read(&dbf_path).map_err(|error| io_error(&dbf_path, error))?;
    let shx = read_optional(shx_path)?;
    let cpg = read_optional(sibling(shp_path, "cpg"))?;
    let prj = read_optional(sibling(shp_path, "prj"))?;
    read_shapefile_parts(
        &ShapefileParts {
            shp: &shp,
            shx: shx.as_deref(),
            dbf: &dbf,
            cpg: cpg.as_deref(),
            prj: prj.as_deref(),
        },
        options,
    )
}

/// The encoding named by a code page label (`.cpg` content): WHATWG labels (`UTF-8`, `GBK`, `GB2312`,
/// `GB18030`, `Big5`, …) and Windows code page numbers (`936`, `CP936`, `ANSI 936`, `65001`, …).
pub fn encoding_for_code_page_label(label: &str) -> Option<&'static Encoding> {
    let label = label.trim().trim_start_matches('\u{feff}').trim();
    let upper = label.to_ascii_uppercase();
    let number = ["CP", "ANSI ", "OEM ", "WINDOWS-"]
        .iter()
        .find_map(|prefix| upper.strip_prefix(prefix))
        .unwrap_or(&upper)
        .trim();
    if let Ok(code_page) = number.parse::<u16>() {
        return encoding_for_code_page(code_page);
    }
    Encoding::for_label(label.as_bytes())
}

fn encoding_for_code_page(code_page: u16) -> Option<&'static Encoding> {
    use encoding_rs as e;
    Some(match code_page {
        936 => e::GBK,
        54936 => e::GB18030,
        950 => e::BIG5,
        932 => e::SHIFT_JIS,
        949 => e::EUC_KR,
        65001 => e::UTF_8,
        866 => e::IBM866,
        874 => e::WINDOWS_874,
        1250 => e::WINDOWS_1250,
        1251 => e::WINDOWS_1251,
        1252 => e::WINDOWS_1252,
        1253 => e::WINDOWS_1253,
        1254 => e::WINDOWS_1254,
        1255 => e::WINDOWS_1255,
        1256 => e::WINDOWS_1256,
        1257 => e::WINDOWS_1257,
        1258 => e::WINDOWS_1258,
        20866 => e::KOI8_R,
        28591 => e::WINDOWS_1252,
        _ => return None,
    })
}

/// The encoding named by a `.dbf` language driver id (header byte 29), when it names a code page that
/// `encoding_rs` knows. `0x00` (none) and `0x57` (the writing machine's ANSI code page) name none; DOS code
/// pages 437/850/852 are not supported and fall through too.
pub fn encoding_for_language_driver(ldid: u8) -> Option<&'static Encoding> {
    let code_page = match ldid {
        0x03 | 0x58 | 0x59 => 1252,
        0x13 | 0x7B => 932,
        0x26 | 0x65 => 866,
        0x4D | 0x7A => 936,
        0x4E | 0x79 => 949,
        0x4F | 0x78 => 950,
        0x7C => 874,
        0x7D => 1255,
        0x7E => 1256,
        0xC8 => 1250,
        0xC9 => 1251,
        0xCA => 1254,
        0xCB => 1253,
        _ => return None,
    };
    encoding_for_code_page(code_page)
}

/// The attribute table: field names and records.
struct DbfTable {
    fields: Vec<String>,
    records: Vec<dbase::Record>,
}

fn read_dbf_with(
    dbf: &[u8],
    encoding: dbase::encoding::DynEncoding,
) -> Result<DbfTable, dbase::Error> {
    let mut reader = dbase::ReaderBuilder::new()
        .with_encoding(encoding)
        .build(Cursor::new(dbf))?;
    let fields = reader
        .fields()
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    let mut records = Vec::new();
    // The record iterator does not advance after an error, so stop at the first one.
    for record in reader.iter_records() {
        records.push(record?);
    }
    Ok(DbfTable { fields, records })
}

fn dbf_error(error: dbase::Error) -> ReadError {
    ReadError::Shapefile {
        part: ".dbf",
        reason: error.to_string(),
    }
}

fn read_dbf(dbf: &[u8], encoding: Option<&'static Encoding>) -> Result<DbfTable, ReadError> {
    use dbase::encoding::EncodingRs;
    match encoding {
        Some(encoding) => read_dbf_with(dbf, EncodingRs::from(encoding).into()).map_err(dbf_error),
        None => match read_dbf_with(dbf, dbase::Unicode.into()) {
            Err(error) if matches!(error.kind(), dbase::ErrorKind::StringDecodeError(_)) => {
                read_dbf_with(dbf, EncodingRs::from(encoding_rs::GBK).into()).map_err(dbf_error)
            }
            other => other.map_err(dbf_error),
        },
    }
}

fn field_text(value: &dbase::FieldValue) -> Option<String> {
    use dbase::FieldValue as F;
    match value {
        F::Character(text) => text.as_deref().and_then(non_empty),
        F::Memo(text) => non_empty(text),
        F::Numeric(number) => number.and_then(number_text),
        F::Float(number) => number.and_then(|n| number_text(f64::from(n))),
        F::Integer(number) => Some(number.to_string()),
        F::Double(number) | F::Currency(number) => number_text(*number),
        F::Logical(value) => value.map(|v| v.to_string()),
        F::Date(date) => date.map(|d| format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())),
        F::DateTime(_) => None,
    }
}

/// The name of a projected coordinate system in a `.prj` (WKT `PROJCS["name", …]`), if it is one.
fn projected_crs_name(prj: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(prj);
    let rest = text.trim_start().strip_prefix("PROJCS")?;
    let name = rest.split('"').nth(1).unwrap_or("unnamed");
    Some(name.to_string())
}

/// Reads a shapefile from its parts in memory. See the module documentation for the encoding order.
pub fn read_shapefile_parts(
    parts: &ShapefileParts<'_>,
    options: &ReadOptions,
) -> Result<ReadOutcome, ReadError> {
    let size = [Some(parts.shp), Some(parts.dbf), parts.shx]
        .into_iter()
        .flatten()
        .map(|p| p.len() as u64)
        .sum::<u64>();
    if size > options.max_bytes {
        return Err(ReadError::TooLarge {
            what: "the shapefile with its .dbf and .shx".to_string(),
            size,
            limit: options.max_bytes,
        });
    }
    if let Some(name) = parts.prj.and_then(projected_crs_name) {
        return Err(ReadError::ProjectedShapefile { name });
    }

    let mut problems = Vec::new();
    let from_cpg = match parts.cpg {
        Some(cpg) => {
            let label = String::from_utf8_lossy(cpg);
            let encoding = encoding_for_code_page_label(&label);
            if encoding.is_none() {
                problems.push(Problem::warning(
                    ProblemKind::Unreadable,
                    Vec::new(),
                    format!(
                        "the .cpg file names the code page {:?}, which is not known; the attribute \
                         encoding is taken from the .dbf header or guessed instead",
                        label.trim()
                    ),
                ));
            }
            encoding
        }
        None => None,
    };
    let encoding = from_cpg
        .or_else(|| {
            parts
                .dbf
                .get(29)
                .copied()
                .and_then(encoding_for_language_driver)
        })
        .or(options.encoding);
    let table = read_dbf(parts.dbf, encoding)?;
    for (role, mapped) in [
        ("code", &options.fields.code),
        ("name", &options.fields.name),
        ("parent", &options.fields.parent),
    ] {
        if let Some(field) = mapped {
            if !table.fields.iter().any(|f| f == field) {
                return Err(ReadError::UnknownField {
                    role,
                    field: field.clone(),
                    available: table.fields.join(", "),
                });
            }
        }
    }

    let shapes = read_shapes(parts)?;
    if shapes.len() != table.records.len() {
        return Err(ReadError::RecordCountMismatch {
            shapes: shapes.len(),
            records: table.records.len(),
        });
    }
    if shapes.is_empty() {
        return Err(ReadError::NoFeatures);
    }

    let mut assembler = Assembler::new(options);
    assembler.problems = problems;
    for (index, (shape, record)) in shapes.into_iter().zip(&table.records).enumerate() {
        let get = |field: &str| record.get(field).and_then(field_text);
        let attributes = Attributes::lookup(&assembler.roles, &get);
        let label = attributes.label(index);
        assembler.check_attributes(&attributes, &label);
        match rings_of_shape(shape) {
            Ok(rings) => assembler.add_rings(index, attributes, rings),
            Err(None) => {
                let message =
                    format!("feature {label} has a null shape; it is left out of the layer");
                assembler.error(ProblemKind::EmptyGeometry, &label, message);
            }
            Err(Some(kind)) => {
                let message = format!(
                    "feature {label} is a {kind} shape; a grid layer needs polygons; it is left out of the \
                     layer"
                );
                assembler.error(ProblemKind::Unreadable, &label, message);
            }
        }
    }
    Ok(assembler.finish())
}

fn shp_error(part: &'static str, error: shapefile::Error) -> ReadError {
    ReadError::Shapefile {
        part,
        reason: error.to_string(),
    }
}

/// Size of the `.shp`/`.shx` file header and of a record header.
const SHP_HEADER_LEN: usize = 100;
const SHP_RECORD_HEADER_LEN: usize = 8;

fn be_i32(bytes: &[u8], at: usize) -> Option<i64> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(i64::from(i32::from_be_bytes([b[0], b[1], b[2], b[3]])))
}

fn le_i32(bytes: &[u8], at: usize) -> Option<i64> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])))
}

/// Refuses a `.shp`/`.shx` whose declared counts exceed its bytes. The shapefile crate reserves memory for
/// the declared numbers of index entries, parts and points before reading them, so one corrupt count
/// would make it reserve gigabytes; after this check every reservation is bounded by the input's size.
/// Structural faults this check does not need to see (bad file codes, short reads) are left to the crate.
fn check_declared_sizes(shp: &[u8], shx: Option<&[u8]>) -> Result<(), ReadError> {
    let corrupt = |part: &'static str, reason: String| ReadError::Shapefile { part, reason };
    let declared_len = |bytes: &[u8]| be_i32(bytes, 24).map(|words| words.saturating_mul(2));

    let offsets: Vec<usize> = match shx {
        Some(shx) => {
            if let Some(declared) = declared_len(shx) {
                if declared > shx.len() as i64 {
                    return Err(corrupt(
                        ".shx",
                        format!(
                            "the header declares {declared} bytes but the file has {}",
                            shx.len()
                        ),
                    ));
                }
            }
            // Only the entries the crate will read: those within the declared length.
            let end = declared_len(shx)
                .and_then(|d| usize::try_from(d).ok())
                .map_or(shx.len(), |d| d.min(shx.len()));
            shx.get(SHP_HEADER_LEN..end)
                .unwrap_or_default()
                .chunks_exact(8)
                .filter_map(|entry| be_i32(entry, 0))
                .filter_map(|words| usize::try_from(words.saturating_mul(2)).ok())
                .collect()
        }
        None => {
            // The crate reads records in sequence up to the length the header declares.
            let end = declared_len(shp)
                .and_then(|d| usize::try_from(d).ok())
                .map_or(shp.len(), |d| d.min(shp.len()));
            let mut offsets = Vec::new();
            let mut at = SHP_HEADER_LEN;
            while at < end {
                offsets.push(at);
                let Some(words) = be_i32(shp, at + 4) else {
                    break;
                };
                let Ok(content) = usize::try_from(words.saturating_mul(2)) else {
                    break;
                };
                at = at
                    .saturating_add(SHP_RECORD_HEADER_LEN)
                    .saturating_add(content);
            }
            offsets
        }
    };

    for (index, record) in offsets.into_iter().enumerate() {
        let content = record.saturating_add(SHP_RECORD_HEADER_LEN);
        let Some(shape_type) = le_i32(shp, content) else {
            continue;
        };
        // (offset of the counts, bytes per part, whether there are parts) by shape type.
        let (counts_at, part_bytes) = match shape_type {
            3 | 5 | 13 | 15 | 23 | 25 => (36, 4),
            31 => (36, 8), // multipatch: part starts and part types
            8 | 18 | 28 => (36, 0),
            _ => continue,
        };
        let (parts, points, data_at) = if part_bytes == 0 {
            (0, le_i32(shp, content + counts_at), content + counts_at + 4)
        } else {
            (
                le_i32(shp, content + counts_at).unwrap_or(0),
                le_i32(shp, content + counts_at + 4),
                content + counts_at + 8,
            )
        };
        let Some(points) = points else { continue };
        let needed = parts.max(0) * part_bytes + points.max(0) * 16;
        let available = shp.len().saturating_sub(data_at) as i64;
        if needed > available {
            return Err(corrupt(
                ".shp",
                format!(
                    "shape {index} declares {parts} parts and {points} points, which need {needed} bytes, \
                     but only {available} bytes follow"
                ),
            ));
        }
        // Each part is read with as many points as its start is below the next part's start, so the
        // starts must rise within 0..=points (the counts are bounded by the check above, so this loop is too).
        let mut previous = 0;
        for part in 0..usize::try_from(parts.max(0)).unwrap_or(0) {
            let Some(start) = le_i32(shp, data_at + 4 * part) else {
                break;
            };
            if start < previous || start > points {
                return Err(corrupt(
                    ".shp",
                    format!(
                        "shape {index}: part {part} starts at point {start}, which is not between \
                         {previous} and the shape's {points} points"
                    ),
                ));
            }
            previous = start;
        }
    }
    Ok(())
}

fn read_shapes(parts: &ShapefileParts<'_>) -> Result<Vec<shapefile::Shape>, ReadError> {
    check_declared_sizes(parts.shp, parts.shx)?;
    let source = Cursor::new(parts.shp);
    let mut reader = match parts.shx {
        Some(shx) => shapefile::ShapeReader::with_shx(source, Cursor::new(shx))
            .map_err(|error| shp_error(".shp or .shx", error))?,
        None => shapefile::ShapeReader::new(source).map_err(|error| shp_error(".shp", error))?,
    };
    let mut shapes = Vec::new();
    // The shape iterator does not advance after an error, so stop at the first one.
    for (index, shape) in reader.iter_shapes().enumerate() {
        shapes.push(shape.map_err(|error| ReadError::Shapefile {
            part: ".shp",
            reason: format!("shape {index}: {error}"),
        })?);
    }
    Ok(shapes)
}

/// The rings of a polygon shape with their orientation (`true` for an outer ring); `Err(None)` for a null
/// shape, `Err(Some(type))` for a shape that is not a polygon.
fn rings_of_shape(shape: shapefile::Shape) -> Result<Vec<(bool, RawRing)>, Option<String>> {
    use shapefile::{PolygonRing, Shape};
    fn rings<P>(rings: Vec<PolygonRing<P>>, xy: impl Fn(&P) -> Coord<f64>) -> Vec<(bool, RawRing)> {
        rings
            .into_iter()
            .enumerate()
            .map(|(i, ring)| {
                let is_outer = matches!(ring, PolygonRing::Outer(_));
                let coords = ring.points().iter().map(&xy).collect();
                let place = format!("part {}", i + 1);
                (is_outer, RawRing { place, coords })
            })
            .collect()
    }
    match shape {
        Shape::Polygon(p) => Ok(rings(p.into_inner(), |pt| Coord { x: pt.x, y: pt.y })),
        Shape::PolygonM(p) => Ok(rings(p.into_inner(), |pt| Coord { x: pt.x, y: pt.y })),
        Shape::PolygonZ(p) => Ok(rings(p.into_inner(), |pt| Coord { x: pt.x, y: pt.y })),
        Shape::NullShape => Err(None),
        other => Err(Some(other.shapetype().to_string())),
    }
}
