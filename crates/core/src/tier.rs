//! Tiers of handling: 小事一格解决 (grid) → street → 大事全网联动 (district joint handling).

use serde::{Deserialize, Serialize};

/// Who coordinates a case. Ordered: escalation only moves up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// 网格级 — settled inside the grid cell.
    Grid,
    /// 街道级 — the street office coordinates.
    Street,
    /// 区级联动 — district joint handling across departments.
    District,
}

impl Tier {
    pub fn parse(text: &str) -> Option<Tier> {
        match text {
            "grid" => Some(Tier::Grid),
            "street" => Some(Tier::Street),
            "district" => Some(Tier::District),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Grid => "grid",
            Tier::Street => "street",
            Tier::District => "district",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Tier::Grid => "网格级",
            Tier::Street => "街道级",
            Tier::District => "区级联动",
        }
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
