//! The area tree: district → street/town (街道/镇) → community/village (社区/村) → grid cell (单元网格).
//!
//! Codes follow GB/T 2260 for the district (6 digits) and extend it three digits per level, as the
//! statistical division codes do: a street is 9 digits, a community 12, a grid cell 15.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The level of a node in the area tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AreaLevel {
    /// 区 — the district, identified by its 6-digit GB/T 2260 code.
    District,
    /// 街道/镇 — street, town or zone: 3 more digits.
    Street,
    /// 社区/村 — community or village: 3 more digits.
    Community,
    /// 单元网格 — grid cell: 3 more digits, 15 in all.
    Cell,
}

impl AreaLevel {
    /// Number of digits of a code at this level.
    pub fn code_len(self) -> usize {
        match self {
            AreaLevel::District => 6,
            AreaLevel::Street => 9,
            AreaLevel::Community => 12,
            AreaLevel::Cell => 15,
        }
    }

    pub fn from_code_len(len: usize) -> Option<AreaLevel> {
        match len {
            6 => Some(AreaLevel::District),
            9 => Some(AreaLevel::Street),
            12 => Some(AreaLevel::Community),
            15 => Some(AreaLevel::Cell),
            _ => None,
        }
    }

    pub fn parent(self) -> Option<AreaLevel> {
        match self {
            AreaLevel::District => None,
            AreaLevel::Street => Some(AreaLevel::District),
            AreaLevel::Community => Some(AreaLevel::Street),
            AreaLevel::Cell => Some(AreaLevel::Community),
        }
    }

    /// The level below this one (none below a cell).
    pub fn child(self) -> Option<AreaLevel> {
        match self {
            AreaLevel::District => Some(AreaLevel::Street),
            AreaLevel::Street => Some(AreaLevel::Community),
            AreaLevel::Community => Some(AreaLevel::Cell),
            AreaLevel::Cell => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AreaLevel::District => "district",
            AreaLevel::Street => "street",
            AreaLevel::Community => "community",
            AreaLevel::Cell => "cell",
        }
    }

    pub fn parse(text: &str) -> Option<AreaLevel> {
        match text {
            "district" => Some(AreaLevel::District),
            "street" => Some(AreaLevel::Street),
            "community" => Some(AreaLevel::Community),
            "cell" => Some(AreaLevel::Cell),
            _ => None,
        }
    }
}

impl fmt::Display for AreaLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a text is not an area code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AreaCodeError {
    #[error("area code {code:?} has {len} characters; an area code has 6 (district), 9 (street), 12 (community) or 15 (grid cell) digits")]
    WrongLength { code: String, len: usize },
    #[error("area code {code:?} contains {found:?}; only the digits 0-9 are allowed")]
    NotDigits { code: String, found: char },
    #[error("area code {code:?} has the segment 000 at position {position}; each level's segment starts at 001")]
    ZeroSegment { code: String, position: usize },
}

/// A validated area code. Its only constructor checks the format, so holding one means it is well formed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AreaCode(String);

impl AreaCode {
    pub fn parse(text: &str) -> Result<AreaCode, AreaCodeError> {
        let code = text.trim();
        if let Some(found) = code.chars().find(|c| !c.is_ascii_digit()) {
            return Err(AreaCodeError::NotDigits {
                code: code.to_string(),
                found,
            });
        }
        if AreaLevel::from_code_len(code.len()).is_none() {
            return Err(AreaCodeError::WrongLength {
                code: code.to_string(),
                len: code.chars().count(),
            });
        }
        // The district part may legitimately end in 00 (a prefecture-level code) but the
        // street, community and cell segments are numbered from 001.
        for position in (6..code.len()).step_by(3) {
            if &code[position..position + 3] == "000" {
                return Err(AreaCodeError::ZeroSegment {
                    code: code.to_string(),
                    position: position + 1,
                });
            }
        }
        Ok(AreaCode(code.to_string()))
    }

    pub fn level(&self) -> AreaLevel {
        // The constructor guarantees one of the four lengths.
        AreaLevel::from_code_len(self.0.len()).unwrap_or(AreaLevel::Cell)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The code of the parent node, or `None` for a district.
    pub fn parent(&self) -> Option<AreaCode> {
        self.level()
            .parent()
            .map(|level| AreaCode(self.0[..level.code_len()].to_string()))
    }

    /// The code of the ancestor (or self) at `level`, if this code is at that level or below.
    pub fn ancestor_at(&self, level: AreaLevel) -> Option<AreaCode> {
        (level.code_len() <= self.0.len()).then(|| AreaCode(self.0[..level.code_len()].to_string()))
    }

    /// The district part (first 6 digits).
    pub fn district(&self) -> &str {
        &self.0[..6]
    }

    /// True when `other` is this node or lies in its subtree.
    pub fn contains(&self, other: &AreaCode) -> bool {
        other.0.starts_with(&self.0)
    }

    /// The code of a child: `segment` is 1..=999.
    pub fn child(&self, segment: u16) -> Option<AreaCode> {
        if self.level() == AreaLevel::Cell || segment == 0 || segment > 999 {
            return None;
        }
        Some(AreaCode(format!("{}{:03}", self.0, segment)))
    }
}

impl fmt::Display for AreaCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for AreaCode {
    type Error = AreaCodeError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        AreaCode::parse(&value)
    }
}

impl From<AreaCode> for String {
    fn from(value: AreaCode) -> String {
        value.0
    }
}

impl std::str::FromStr for AreaCode {
    type Err = AreaCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AreaCode::parse(s)
    }
}

/// One node of the area tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Area {
    pub code: AreaCode,
    pub name: String,
    /// True when the node was generated because no public source lists it (Dongli's communities and
    /// cells): the product must say so wherever it shows the node.
    #[serde(default)]
    pub generated: bool,
}

impl Area {
    pub fn level(&self) -> AreaLevel {
        self.code.level()
    }
}

/// Why a set of areas is not a valid tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AreaTreeError {
    #[error("area {code} is listed twice")]
    Duplicate { code: AreaCode },
    #[error("area {code} ({name}) has no parent: {parent} is not in the tree")]
    MissingParent {
        code: AreaCode,
        name: String,
        parent: AreaCode,
    },
    #[error("area {code} has an empty name")]
    EmptyName { code: AreaCode },
    #[error("area tree has {count} districts ({codes}); a tree holds exactly one district")]
    DistrictCount { count: usize, codes: String },
}

/// A validated area tree with exactly one district at its root.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AreaTree {
    areas: BTreeMap<AreaCode, Area>,
}

impl AreaTree {
    /// Builds a tree, checking that codes are unique, names are present and every node's parent exists.
    pub fn new(areas: impl IntoIterator<Item = Area>) -> Result<AreaTree, AreaTreeError> {
        let mut map = BTreeMap::new();
        for area in areas {
            if area.name.trim().is_empty() {
                return Err(AreaTreeError::EmptyName { code: area.code });
            }
            if map.contains_key(&area.code) {
                return Err(AreaTreeError::Duplicate { code: area.code });
            }
            map.insert(area.code.clone(), area);
        }
        let districts: Vec<&AreaCode> = map
            .keys()
            .filter(|code| code.level() == AreaLevel::District)
            .collect();
        if districts.len() != 1 {
            return Err(AreaTreeError::DistrictCount {
                count: districts.len(),
                codes: districts
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        for area in map.values() {
            if let Some(parent) = area.code.parent() {
                if !map.contains_key(&parent) {
                    return Err(AreaTreeError::MissingParent {
                        code: area.code.clone(),
                        name: area.name.clone(),
                        parent,
                    });
                }
            }
        }
        Ok(AreaTree { areas: map })
    }

    pub fn get(&self, code: &AreaCode) -> Option<&Area> {
        self.areas.get(code)
    }

    pub fn contains(&self, code: &AreaCode) -> bool {
        self.areas.contains_key(code)
    }

    pub fn district(&self) -> Option<&Area> {
        self.areas
            .values()
            .find(|a| a.level() == AreaLevel::District)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Area> {
        self.areas.values()
    }

    pub fn len(&self) -> usize {
        self.areas.len()
    }

    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }

    pub fn at_level(&self, level: AreaLevel) -> impl Iterator<Item = &Area> {
        self.areas.values().filter(move |a| a.level() == level)
    }

    pub fn children<'a>(&'a self, parent: &'a AreaCode) -> impl Iterator<Item = &'a Area> + 'a {
        self.areas
            .values()
            .filter(move |a| a.code.parent().as_ref() == Some(parent))
    }

    /// The name path, e.g. "东丽区 / 张贵庄街道 / 第1社区（生成） / 001".
    pub fn path_names(&self, code: &AreaCode) -> Vec<String> {
        let mut names = Vec::new();
        let mut current = Some(code.clone());
        while let Some(c) = current {
            if let Some(area) = self.areas.get(&c) {
                names.push(area.name.clone());
            }
            current = c.parent();
        }
        names.reverse();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> AreaCode {
        AreaCode::parse(text).expect("valid test code")
    }

    #[test]
    fn parses_each_level() {
        assert_eq!(code("120110").level(), AreaLevel::District);
        assert_eq!(code("120110001").level(), AreaLevel::Street);
        assert_eq!(code("120110001001").level(), AreaLevel::Community);
        assert_eq!(code("120110001001001").level(), AreaLevel::Cell);
    }

    #[test]
    fn rejects_malformed_codes_naming_the_problem() {
        let err = AreaCode::parse("12011000100").unwrap_err();
        assert!(err.to_string().contains("11 characters"), "{err}");
        let err = AreaCode::parse("12011A001").unwrap_err();
        assert!(err.to_string().contains("'A'"), "{err}");
        let err = AreaCode::parse("120110000").unwrap_err();
        assert!(err.to_string().contains("000"), "{err}");
        assert!(AreaCode::parse("").is_err());
        assert!(
            AreaCode::parse("１２０１１０").is_err(),
            "full-width digits"
        );
    }

    #[test]
    fn parent_and_containment() {
        let cell = code("120110001002003");
        assert_eq!(cell.parent(), Some(code("120110001002")));
        assert_eq!(code("120110").parent(), None);
        assert!(code("120110001").contains(&cell));
        assert!(!code("120110002").contains(&cell));
        assert_eq!(cell.ancestor_at(AreaLevel::Street), Some(code("120110001")));
        assert_eq!(code("120110001").ancestor_at(AreaLevel::Cell), None);
        assert_eq!(code("120110001").child(7), Some(code("120110001007")));
        assert_eq!(cell.child(1), None);
    }

    #[test]
    fn serde_goes_through_the_checking_constructor() {
        let ok: AreaCode = serde_json::from_str("\"120110001\"").expect("valid");
        assert_eq!(ok, code("120110001"));
        assert!(serde_json::from_str::<AreaCode>("\"1201\"").is_err());
    }

    fn area(text: &str, name: &str) -> Area {
        Area {
            code: code(text),
            name: name.to_string(),
            generated: false,
        }
    }

    #[test]
    fn tree_validates_parentage() {
        let tree = AreaTree::new([
            area("120110", "东丽区"),
            area("120110001", "张贵庄街道"),
            area("120110001001", "社区1"),
        ])
        .expect("valid tree");
        assert_eq!(tree.len(), 3);
        assert_eq!(
            tree.path_names(&code("120110001001")),
            vec!["东丽区", "张贵庄街道", "社区1"]
        );
        let err =
            AreaTree::new([area("120110", "东丽区"), area("120110001001", "社区1")]).unwrap_err();
        assert!(matches!(err, AreaTreeError::MissingParent { .. }));
        assert!(err.to_string().contains("120110001"), "{err}");
        let err = AreaTree::new([area("120110", "东丽区"), area("120110", "东丽区")]).unwrap_err();
        assert!(matches!(err, AreaTreeError::Duplicate { .. }));
        let err = AreaTree::new([area("120110", "东丽区"), area("120111", "西青区")]).unwrap_err();
        assert!(matches!(err, AreaTreeError::DistrictCount { count: 2, .. }));
        let err = AreaTree::new([area("120110", " ")]).unwrap_err();
        assert!(matches!(err, AreaTreeError::EmptyName { .. }));
    }
}
