//! Coordinate systems used for Chinese web maps: WGS84 (GPS, EPSG:4326), GCJ-02 (the "Mars" datum of the
//! national surveying bureau, used by Amap/AutoNavi, Tencent and DataV) and BD-09 (Baidu).
//!
//! GCJ-02 uses the standard published forward formula (Krasovsky ellipsoid, a = 6378245.0,
//! ee = 0.00669342162296594323). It is the identity outside mainland China, tested with the usual rough
//! bounding box (longitude 72.004–137.8347, latitude 0.8293–55.8271): that box also covers parts of
//! neighbouring countries, which the published converters shift as well. GCJ-02 → WGS84 has no closed form;
//! [`gcj02_to_wgs84`] inverts the forward formula by fixed-point iteration until the step is below 1e-9°.
//!
//! BD-09 uses the standard formula (x_pi = π·3000/180) on top of GCJ-02, everywhere (like the common
//! `coordtransform` library); [`bd09_to_gcj02`] is the standard closed-form approximate inverse.
//!
//! Round-trip errors measured by `tests/crs.rs` (`cargo test -p onegrid-geo --test crs -- --nocapture`) on a
//! 0.01° grid over Tianjin (116.7–118.1 E, 38.5–40.3 N) and a 0.25° grid over China (73–136 E, 18–54 N),
//! as the largest distance between a point and its image after the round trip:
//!
//! | round trip | Tianjin | China |
//! | --- | --- | --- |
//! | WGS84 → GCJ-02 → WGS84 | < 0.000001 m | 0.000007 m |
//! | GCJ-02 → BD-09 → GCJ-02 | 0.147 m | 0.207 m |
//! | WGS84 → BD-09 → WGS84 | 0.158 m | 0.212 m |
//!
//! The BD-09 error is that of the standard closed-form inverse; both are far below the accuracy of the
//! boundaries that come in these systems (tens of metres). Converting the published GCJ-02 Dongli outline
//! reproduces its WGS84 conversion (made by the same iterative inversion, rounded to 7 decimals) within
//! 5.0e-8° at every vertex.

use std::f64::consts::PI;
use std::fmt;
use std::str::FromStr;

use geo::Coord;

/// Semi-major axis of the Krasovsky 1940 ellipsoid, as used by the GCJ-02 formula.
const KRASOVSKY_A: f64 = 6378245.0;
/// First eccentricity squared of the Krasovsky 1940 ellipsoid, written as published.
#[allow(clippy::excessive_precision)]
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943_23;
/// π·3000/180, the constant of the BD-09 formula.
const X_PI: f64 = PI * 3000.0 / 180.0;
/// The inversion stops when a step changes the result by less than this (degrees).
const INVERSION_TOLERANCE: f64 = 1e-9;
/// The fixed-point iteration converges in 3–5 steps in China; the cap only guards against non-finite input.
const INVERSION_MAX_STEPS: usize = 50;

/// A geographic coordinate system of longitude/latitude coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Crs {
    /// WGS84 (EPSG:4326), the datum of GPS and of the layers this crate stores.
    #[default]
    Wgs84,
    /// GCJ-02, used by Amap/AutoNavi, Tencent maps and Aliyun DataV.
    Gcj02,
    /// BD-09, used by Baidu maps.
    Bd09,
}

/// A coordinate system name that is not one of the accepted ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown coordinate system {given:?}; accepted values are wgs84 (or epsg:4326), gcj02 and bd09"
)]
pub struct UnknownCrs {
    pub given: String,
}

impl Crs {
    pub fn as_str(self) -> &'static str {
        match self {
            Crs::Wgs84 => "wgs84",
            Crs::Gcj02 => "gcj02",
            Crs::Bd09 => "bd09",
        }
    }

    /// Converts a coordinate given in this system to WGS84.
    pub fn to_wgs84(self, coord: Coord<f64>) -> Coord<f64> {
        match self {
            Crs::Wgs84 => coord,
            Crs::Gcj02 => gcj02_to_wgs84(coord),
            Crs::Bd09 => bd09_to_wgs84(coord),
        }
    }

    /// Converts a WGS84 coordinate to this system.
    pub fn from_wgs84(self, coord: Coord<f64>) -> Coord<f64> {
        match self {
            Crs::Wgs84 => coord,
            Crs::Gcj02 => wgs84_to_gcj02(coord),
            Crs::Bd09 => wgs84_to_bd09(coord),
        }
    }
}

impl FromStr for Crs {
    type Err = UnknownCrs;

    fn from_str(text: &str) -> Result<Crs, UnknownCrs> {
        match text.trim().to_ascii_lowercase().as_str() {
            "wgs84" | "epsg:4326" => Ok(Crs::Wgs84),
            "gcj02" => Ok(Crs::Gcj02),
            "bd09" => Ok(Crs::Bd09),
            _ => Err(UnknownCrs {
                given: text.to_string(),
            }),
        }
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The rough bounding box outside which GCJ-02 leaves coordinates unchanged (the published converters'
/// test; it is not China's border).
pub fn outside_china(coord: Coord<f64>) -> bool {
    !(72.004..=137.8347).contains(&coord.x) || !(0.8293..=55.8271).contains(&coord.y)
}

fn offset_lat(x: f64, y: f64) -> f64 {
    let mut ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    ret
}

fn offset_lon(x: f64, y: f64) -> f64 {
    let mut ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    ret
}

/// WGS84 → GCJ-02 (the published forward formula; identity outside the China bounding box).
pub fn wgs84_to_gcj02(wgs: Coord<f64>) -> Coord<f64> {
    if outside_china(wgs) {
        return wgs;
    }
    let d_lat = offset_lat(wgs.x - 105.0, wgs.y - 35.0);
    let d_lon = offset_lon(wgs.x - 105.0, wgs.y - 35.0);
    let rad_lat = wgs.y / 180.0 * PI;
    let magic = 1.0 - KRASOVSKY_EE * rad_lat.sin() * rad_lat.sin();
    let sqrt_magic = magic.sqrt();
    let d_lat =
        (d_lat * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * PI);
    let d_lon = (d_lon * 180.0) / (KRASOVSKY_A / sqrt_magic * rad_lat.cos() * PI);
    Coord {
        x: wgs.x + d_lon,
        y: wgs.y + d_lat,
    }
}

/// GCJ-02 → WGS84 by inverting [`wgs84_to_gcj02`]: starting from the GCJ-02 point, each step moves the
/// estimate by the difference between the target and the forward image of the estimate, until the step is
/// below 1e-9°. Identity outside the China bounding box.
pub fn gcj02_to_wgs84(gcj: Coord<f64>) -> Coord<f64> {
    if outside_china(gcj) {
        return gcj;
    }
    let mut wgs = gcj;
    for _ in 0..INVERSION_MAX_STEPS {
        let image = wgs84_to_gcj02(wgs);
        let step = Coord {
            x: gcj.x - image.x,
            y: gcj.y - image.y,
        };
        wgs = Coord {
            x: wgs.x + step.x,
            y: wgs.y + step.y,
        };
        // Written so that a NaN step also ends the loop.
        if !(step.x.abs() >= INVERSION_TOLERANCE || step.y.abs() >= INVERSION_TOLERANCE) {
            break;
        }
    }
    wgs
}

/// GCJ-02 → BD-09 (the standard Baidu formula).
pub fn gcj02_to_bd09(gcj: Coord<f64>) -> Coord<f64> {
    let (x, y) = (gcj.x, gcj.y);
    let z = x.hypot(y) + 0.00002 * (y * X_PI).sin();
    let theta = y.atan2(x) + 0.000003 * (x * X_PI).cos();
    Coord {
        x: z * theta.cos() + 0.0065,
        y: z * theta.sin() + 0.006,
    }
}

/// BD-09 → GCJ-02 (the standard closed-form inverse of [`gcj02_to_bd09`]; see the module documentation for
/// its measured round-trip error).
pub fn bd09_to_gcj02(bd: Coord<f64>) -> Coord<f64> {
    let x = bd.x - 0.0065;
    let y = bd.y - 0.006;
    let z = x.hypot(y) - 0.00002 * (y * X_PI).sin();
    let theta = y.atan2(x) - 0.000003 * (x * X_PI).cos();
    Coord {
        x: z * theta.cos(),
        y: z * theta.sin(),
    }
}

/// WGS84 → BD-09, through GCJ-02.
pub fn wgs84_to_bd09(wgs: Coord<f64>) -> Coord<f64> {
    gcj02_to_bd09(wgs84_to_gcj02(wgs))
}

/// BD-09 → WGS84, through GCJ-02.
pub fn bd09_to_wgs84(bd: Coord<f64>) -> Coord<f64> {
    gcj02_to_wgs84(bd09_to_gcj02(bd))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_case_insensitively_and_display_back() {
        assert_eq!("WGS84".parse::<Crs>(), Ok(Crs::Wgs84));
        assert_eq!("EPSG:4326".parse::<Crs>(), Ok(Crs::Wgs84));
        assert_eq!(" gcj02 ".parse::<Crs>(), Ok(Crs::Gcj02));
        assert_eq!("Bd09".parse::<Crs>(), Ok(Crs::Bd09));
        for crs in [Crs::Wgs84, Crs::Gcj02, Crs::Bd09] {
            assert_eq!(crs.to_string().parse::<Crs>(), Ok(crs));
        }
    }

    #[test]
    fn unknown_name_lists_the_accepted_values() {
        let err = "mars".parse::<Crs>().unwrap_err();
        let message = err.to_string();
        assert!(message.contains("\"mars\""), "{message}");
        for accepted in ["wgs84", "epsg:4326", "gcj02", "bd09"] {
            assert!(message.contains(accepted), "{message}");
        }
    }

    #[test]
    fn gcj02_is_identity_outside_china() {
        let paris = Coord { x: 2.35, y: 48.85 };
        assert_eq!(wgs84_to_gcj02(paris), paris);
        assert_eq!(gcj02_to_wgs84(paris), paris);
    }

    #[test]
    fn non_finite_input_does_not_hang_or_panic() {
        let nan = Coord {
            x: f64::NAN,
            y: 39.0,
        };
        assert!(gcj02_to_wgs84(nan).x.is_nan());
        let inf = Coord {
            x: 117.0,
            y: f64::INFINITY,
        };
        assert_eq!(gcj02_to_wgs84(inf), inf);
    }
}
