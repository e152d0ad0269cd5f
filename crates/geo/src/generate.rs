//! Grid generation for a district that has no grid layer yet: each parent polygon (district, street or
//! community) is cut into children of about a target area, clipped to the parent, and coded with the
//! 15-digit scheme (the parent's code plus a 3-digit segment).
//!
//! The children are the Voronoi regions of seed points spread evenly over the parent (a jittered
//! lattice, then a few Lloyd iterations that move each seed to the centroid of its region, so the
//! cells come out compact and of similar size), intersected with the parent. Real grids follow
//! streets and walls and look like this: irregular convex-ish cells, not a chessboard, and every cell
//! lies inside exactly one parent, so the nesting street ⊃ community ⊃ cell holds by construction.
//!
//! Computation happens in a local equirectangular projection in metres around the parent's centre:
//! over a district (tens of km) its scale error is far below the cells' own irregularity, and it makes
//! "nearest seed" and "area" mean what a person expects.

use geo::{
    Area, BooleanOps, BoundingRect, Centroid, Contains, Coord, InteriorPoint, LineString,
    MultiPolygon, Polygon,
};
use onegrid_core::area::{AreaCode, AreaLevel};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::layer::GridFeature;

/// Metres per degree of latitude (mean), used by the local projection.
const METRES_PER_DEGREE: f64 = 111_320.0;
/// Codes have three digits per level.
const MAX_CHILDREN: usize = 999;

/// Why a layer cannot be generated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GenerateError {
    #[error("the target area must be a positive number of square metres, not {0}")]
    BadTargetArea(f64),
    #[error("parent {code:?} is not a valid area code: {reason}")]
    BadParentCode { code: String, reason: String },
    #[error("parent {0} is a grid cell; cells have no children")]
    ParentIsCell(String),
    #[error("parent {0} has an empty geometry")]
    EmptyParent(String),
    #[error("parent {code} would get {count} children at {target_m2} m² each; a level holds at most 999 codes — choose a larger target area")]
    TooManyChildren {
        code: String,
        count: usize,
        target_m2: f64,
    },
}

/// How to cut the parents.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    /// The area each child should have, in m² (the last ones at the parent's edge vary).
    pub target_area_m2: f64,
    /// Seed of the random jitter, so the same input always gives the same layer.
    pub seed: u64,
    /// Lloyd iterations: 0 keeps the jittered lattice; 2–3 make the cells even.
    pub lloyd_iterations: u32,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            target_area_m2: 200_000.0,
            seed: 1,
            lloyd_iterations: 2,
        }
    }
}

/// A local projection to metres around a reference point.
#[derive(Debug, Clone, Copy)]
struct Local {
    lon0: f64,
    lat0: f64,
    cos_lat0: f64,
}

impl Local {
    fn around(region: &MultiPolygon<f64>) -> Option<Local> {
        let rect = region.bounding_rect()?;
        let centre = rect.center();
        Some(Local {
            lon0: centre.x,
            lat0: centre.y,
            cos_lat0: centre.y.to_radians().cos(),
        })
    }

    fn to_metres(self, c: Coord<f64>) -> Coord<f64> {
        Coord {
            x: (c.x - self.lon0) * self.cos_lat0 * METRES_PER_DEGREE,
            y: (c.y - self.lat0) * METRES_PER_DEGREE,
        }
    }

    fn to_degrees(self, c: Coord<f64>) -> Coord<f64> {
        Coord {
            x: c.x / (self.cos_lat0 * METRES_PER_DEGREE) + self.lon0,
            y: c.y / METRES_PER_DEGREE + self.lat0,
        }
    }

    fn project(
        self,
        shape: &MultiPolygon<f64>,
        f: impl Fn(Local, Coord<f64>) -> Coord<f64>,
    ) -> MultiPolygon<f64> {
        let ring = |ring: &LineString<f64>| {
            ring.0
                .iter()
                .map(|&c| f(self, c))
                .collect::<LineString<f64>>()
        };
        MultiPolygon(
            shape
                .0
                .iter()
                .map(|p| Polygon::new(ring(p.exterior()), p.interiors().iter().map(ring).collect()))
                .collect(),
        )
    }
}

/// Cuts each parent into children of about `options.target_area_m2`; children are coded
/// parent code + `001`, `002`, … in reading order (north to south, then west to east).
pub fn subdivide(
    parents: &[GridFeature],
    options: &GenerateOptions,
) -> Result<Vec<GridFeature>, GenerateError> {
    if !(options.target_area_m2.is_finite() && options.target_area_m2 > 0.0) {
        return Err(GenerateError::BadTargetArea(options.target_area_m2));
    }
    let mut children = Vec::new();
    for (parent_index, parent) in parents.iter().enumerate() {
        let code = AreaCode::parse(&parent.code).map_err(|e| GenerateError::BadParentCode {
            code: parent.code.clone(),
            reason: e.to_string(),
        })?;
        if code.level() == AreaLevel::Cell {
            return Err(GenerateError::ParentIsCell(parent.code.clone()));
        }
        let local = Local::around(&parent.geometry)
            .ok_or_else(|| GenerateError::EmptyParent(parent.code.clone()))?;
        let region = local.project(&parent.geometry, Local::to_metres);
        let area = region.unsigned_area();
        let wanted = (area / options.target_area_m2).round().max(1.0) as usize;
        if wanted > MAX_CHILDREN {
            return Err(GenerateError::TooManyChildren {
                code: parent.code.clone(),
                count: wanted,
                target_m2: options.target_area_m2,
            });
        }
        let seed = options.seed ^ (parent_index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let seeds = even_seeds(&region, options.target_area_m2, seed);
        let regions = relaxed_partition(&region, seeds, options.lloyd_iterations);
        let child_level = code.level().child().unwrap_or(AreaLevel::Cell);
        for (number, (_, shape)) in regions.into_iter().enumerate() {
            let segment = number as u16 + 1;
            let child_code = code
                .child(segment)
                .ok_or_else(|| GenerateError::TooManyChildren {
                    code: parent.code.clone(),
                    count: number + 1,
                    target_m2: options.target_area_m2,
                })?;
            children.push(GridFeature {
                code: child_code.to_string(),
                name: child_name(&parent.name, child_level, segment),
                parent: Some(parent.code.clone()),
                geometry: local.project(&shape, Local::to_degrees),
                index: children.len(),
            });
        }
    }
    Ok(children)
}

/// Names a generated child so that nobody mistakes it for an official one.
fn child_name(parent_name: &str, level: AreaLevel, number: u16) -> String {
    let parent = parent_name
        .trim_end_matches("（生成）")
        .trim_end_matches("（近似）");
    match level {
        AreaLevel::Street => format!("{parent}第{number}片区（生成）"),
        AreaLevel::Community => {
            let short = parent.strip_suffix("街道").unwrap_or(parent);
            format!("{short}第{number}社区（生成）")
        }
        AreaLevel::Cell | AreaLevel::District => format!("{parent}第{number}网格（生成）"),
    }
}

/// Divides `region` (lon/lat) among `seeds` (lon/lat): each seed gets the part of the region nearer to
/// it than to any other seed. Used where seeds are known (e.g. the approximate centres of streets).
/// The result has one entry per seed, in the seeds' order; an entry is empty when its seed's region
/// misses the region entirely.
pub fn divide_among(region: &MultiPolygon<f64>, seeds: &[Coord<f64>]) -> Vec<MultiPolygon<f64>> {
    let Some(local) = Local::around(region) else {
        return vec![MultiPolygon(Vec::new()); seeds.len()];
    };
    let projected = local.project(region, Local::to_metres);
    let seeds: Vec<Coord<f64>> = seeds.iter().map(|&s| local.to_metres(s)).collect();
    voronoi_clipped(&projected, &seeds)
        .into_iter()
        .map(|shape| local.project(&shape, Local::to_degrees))
        .collect()
}

/// Seeds on a jittered square lattice of spacing √target over the region, keeping those inside it;
/// at least one (the region's interior point). In metres.
fn even_seeds(region: &MultiPolygon<f64>, target_area_m2: f64, seed: u64) -> Vec<Coord<f64>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let spacing = target_area_m2.sqrt();
    let mut seeds = Vec::new();
    if let Some(rect) = region.bounding_rect() {
        // Offset the lattice randomly so that parents do not share lattice lines.
        let offset_x = rng.gen_range(0.0..spacing);
        let offset_y = rng.gen_range(0.0..spacing);
        let mut y = rect.min().y - offset_y;
        while y <= rect.max().y + spacing {
            let mut x = rect.min().x - offset_x;
            while x <= rect.max().x + spacing {
                let point = Coord {
                    x: x + rng.gen_range(-0.3..0.3) * spacing,
                    y: y + rng.gen_range(-0.3..0.3) * spacing,
                };
                if region.contains(&point) {
                    seeds.push(point);
                }
                x += spacing;
            }
            y += spacing;
        }
    }
    if seeds.is_empty() {
        if let Some(point) = region.interior_point() {
            seeds.push(point.0);
        }
    }
    seeds
}

/// Voronoi partition with Lloyd relaxation, ordered in reading order (north to south, then west to
/// east, in rows of the mean seed spacing). Empty regions are dropped.
fn relaxed_partition(
    region: &MultiPolygon<f64>,
    mut seeds: Vec<Coord<f64>>,
    iterations: u32,
) -> Vec<(Coord<f64>, MultiPolygon<f64>)> {
    let mut shapes = voronoi_clipped(region, &seeds);
    for _ in 0..iterations {
        let moved: Vec<Coord<f64>> = shapes
            .iter()
            .zip(&seeds)
            .map(|(shape, &seed)| {
                // A centroid can fall outside a concave region; keep the seed inside.
                match shape.centroid() {
                    Some(c) if region.contains(&c) => c.0,
                    _ => seed,
                }
            })
            .collect();
        seeds = moved;
        shapes = voronoi_clipped(region, &seeds);
    }
    let row_height = match region.bounding_rect() {
        Some(rect) if !seeds.is_empty() => (rect.width() * rect.height() / seeds.len() as f64)
            .sqrt()
            .max(1.0),
        _ => 1.0,
    };
    let mut pairs: Vec<(Coord<f64>, MultiPolygon<f64>)> = seeds
        .into_iter()
        .zip(shapes)
        .filter(|(_, shape)| !shape.0.is_empty())
        .collect();
    pairs.sort_by(|(a, _), (b, _)| {
        let row_a = (-a.y / row_height).floor();
        let row_b = (-b.y / row_height).floor();
        row_a.total_cmp(&row_b).then(a.x.total_cmp(&b.x))
    });
    pairs
}

/// The Voronoi region of each seed, intersected with the region (all in metres).
///
/// Each seed's region is a convex polygon: the region's bounding box cut by the half-planes closer to
/// it than to each other seed. That is O(n²) per parent, which is fine at the sizes of one parent's
/// children (at most 999) and needs no Delaunay machinery.
fn voronoi_clipped(region: &MultiPolygon<f64>, seeds: &[Coord<f64>]) -> Vec<MultiPolygon<f64>> {
    let Some(rect) = region.bounding_rect() else {
        return vec![MultiPolygon(Vec::new()); seeds.len()];
    };
    let margin = rect.width().max(rect.height()) + 1.0;
    let frame = vec![
        Coord {
            x: rect.min().x - margin,
            y: rect.min().y - margin,
        },
        Coord {
            x: rect.max().x + margin,
            y: rect.min().y - margin,
        },
        Coord {
            x: rect.max().x + margin,
            y: rect.max().y + margin,
        },
        Coord {
            x: rect.min().x - margin,
            y: rect.max().y + margin,
        },
    ];
    seeds
        .iter()
        .enumerate()
        .map(|(i, &seed)| {
            let mut cell = frame.clone();
            for (j, &other) in seeds.iter().enumerate() {
                if i == j || cell.is_empty() {
                    continue;
                }
                cell = clip_half_plane(&cell, seed, other);
            }
            if cell.len() < 3 {
                return MultiPolygon(Vec::new());
            }
            let convex = Polygon::new(LineString::from(cell), Vec::new());
            region.intersection(&convex)
        })
        .collect()
}

/// Sutherland–Hodgman: keeps the part of the convex polygon nearer to `seed` than to `other`.
fn clip_half_plane(polygon: &[Coord<f64>], seed: Coord<f64>, other: Coord<f64>) -> Vec<Coord<f64>> {
    let normal = other - seed;
    let middle = Coord {
        x: (seed.x + other.x) / 2.0,
        y: (seed.y + other.y) / 2.0,
    };
    // Negative or zero: on the seed's side of the bisector.
    let side = |p: Coord<f64>| (p.x - middle.x) * normal.x + (p.y - middle.y) * normal.y;
    let mut out = Vec::with_capacity(polygon.len() + 1);
    for (k, &current) in polygon.iter().enumerate() {
        let previous = polygon[(k + polygon.len() - 1) % polygon.len()];
        let (sc, sp) = (side(current), side(previous));
        if sc <= 0.0 {
            if sp > 0.0 {
                out.push(crossing(previous, current, sp, sc));
            }
            out.push(current);
        } else if sp <= 0.0 {
            out.push(crossing(previous, current, sp, sc));
        }
    }
    out
}

fn crossing(a: Coord<f64>, b: Coord<f64>, side_a: f64, side_b: f64) -> Coord<f64> {
    let t = side_a / (side_a - side_b);
    Coord {
        x: a.x + (b.x - a.x) * t,
        y: a.y + (b.y - a.y) * t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{polygon, Intersects};

    fn square_feature(code: &str, size_deg: f64) -> GridFeature {
        GridFeature {
            code: code.to_string(),
            name: "测试社区".to_string(),
            parent: None,
            geometry: MultiPolygon(vec![polygon![
                (x: 117.3, y: 39.1),
                (x: 117.3 + size_deg, y: 39.1),
                (x: 117.3 + size_deg, y: 39.1 + size_deg),
                (x: 117.3, y: 39.1 + size_deg),
            ]]),
            index: 0,
        }
    }

    fn local_area(shape: &MultiPolygon<f64>) -> f64 {
        match Local::around(shape) {
            Some(local) => local.project(shape, Local::to_metres).unsigned_area(),
            None => 0.0,
        }
    }

    #[test]
    fn children_cover_the_parent_without_overlap_and_are_coded_under_it() {
        let parent = square_feature("120110001001", 0.02);
        let options = GenerateOptions {
            target_area_m2: 200_000.0,
            ..GenerateOptions::default()
        };
        let children = subdivide(std::slice::from_ref(&parent), &options).unwrap();
        let parent_area = local_area(&parent.geometry);
        let expected = (parent_area / 200_000.0).round() as usize;
        assert!(
            children.len() + 3 >= expected && children.len() <= expected + 3,
            "{} children for about {expected}",
            children.len()
        );
        let total: f64 = children.iter().map(|c| local_area(&c.geometry)).sum();
        assert!(
            (total - parent_area).abs() / parent_area < 1e-6,
            "{total} vs {parent_area}"
        );
        for (k, child) in children.iter().enumerate() {
            assert_eq!(child.code, format!("120110001001{:03}", k + 1));
            assert_eq!(child.parent.as_deref(), Some("120110001001"));
            assert!(child.name.ends_with("（生成）"));
            for other in &children[k + 1..] {
                let shared = child.geometry.intersection(&other.geometry);
                assert!(
                    local_area(&shared) < 1.0,
                    "{} overlaps {}",
                    child.code,
                    other.code
                );
            }
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_layer_and_another_seed_another() {
        let parent = square_feature("120110001", 0.01);
        let options = GenerateOptions::default();
        let a = subdivide(std::slice::from_ref(&parent), &options).unwrap();
        let b = subdivide(std::slice::from_ref(&parent), &options).unwrap();
        assert_eq!(a, b);
        let c = subdivide(
            std::slice::from_ref(&parent),
            &GenerateOptions {
                seed: 99,
                ..options
            },
        )
        .unwrap();
        assert_ne!(a, c);
    }

    #[test]
    fn a_parent_smaller_than_the_target_gets_one_child_equal_to_it() {
        let parent = square_feature("120110001001", 0.001);
        let children =
            subdivide(std::slice::from_ref(&parent), &GenerateOptions::default()).unwrap();
        assert_eq!(children.len(), 1);
        let a = local_area(&children[0].geometry);
        let b = local_area(&parent.geometry);
        // The polygon clipper snaps to a fine integer grid: millimetres here.
        assert!((a - b).abs() / b < 1e-6, "{a} vs {b}");
    }

    #[test]
    fn refusals_name_the_problem() {
        let parent = square_feature("120110001001", 0.01);
        let bad_area = GenerateOptions {
            target_area_m2: 0.0,
            ..GenerateOptions::default()
        };
        assert_eq!(
            subdivide(std::slice::from_ref(&parent), &bad_area),
            Err(GenerateError::BadTargetArea(0.0))
        );
        let cell = square_feature("120110001001001", 0.01);
        assert!(matches!(
            subdivide(&[cell], &GenerateOptions::default()),
            Err(GenerateError::ParentIsCell(_))
        ));
        let tiny = GenerateOptions {
            target_area_m2: 10.0,
            ..GenerateOptions::default()
        };
        let error = subdivide(std::slice::from_ref(&parent), &tiny).unwrap_err();
        assert!(error.to_string().contains("at most 999"), "{error}");
        let bad_code = square_feature("12011", 0.01);
        assert!(matches!(
            subdivide(&[bad_code], &GenerateOptions::default()),
            Err(GenerateError::BadParentCode { .. })
        ));
    }

    #[test]
    fn divide_among_gives_each_seed_its_nearest_part() {
        let region = square_feature("120110", 0.02).geometry;
        let seeds = [
            Coord {
                x: 117.305,
                y: 39.11,
            },
            Coord {
                x: 117.315,
                y: 39.11,
            },
        ];
        let parts = divide_among(&region, &seeds);
        assert_eq!(parts.len(), 2);
        // The bisector is the meridian 117.31.
        let west = parts[0].bounding_rect().unwrap();
        assert!((west.max().x - 117.31).abs() < 1e-7 && (west.min().x - 117.3).abs() < 1e-7);
        assert!(!parts[0].intersects(&Coord {
            x: 117.311,
            y: 39.11
        }));
        assert!(parts[1].intersects(&Coord {
            x: 117.311,
            y: 39.11
        }));
    }
}
