//! The category taxonomy (大类/小类): what a case is about, who handles it by default, its default tier
//! and each workflow stage's time limit in working hours.
//!
//! Codes are a kind letter, two digits of major class and two of subclass: `B` for city components
//! (部件), `S` for events (事件), both in the spirit of CJ/T 214, and `Z` for social-governance classes
//! (社会治理). So `S0401` is an event, major class `S04` (突发事件), subclass 01.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::org::{DepartmentCode, Departments};
use crate::tier::Tier;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CategoryCodeError {
    #[error("category code {code:?} is malformed: a subcategory code is a letter B (部件), S (事件) or Z (社会治理) followed by 4 digits, e.g. S0401")]
    Malformed { code: String },
}

/// The kind of category, from the code's first letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CategoryKind {
    /// 部件 — a city component (manhole cover, street lamp…).
    Component,
    /// 事件 — an event (litter, illegal advertising…).
    Event,
    /// 社会治理 — a social-governance class (dispute, hazard, livelihood…).
    Governance,
}

impl CategoryKind {
    pub fn letter(self) -> char {
        match self {
            CategoryKind::Component => 'B',
            CategoryKind::Event => 'S',
            CategoryKind::Governance => 'Z',
        }
    }

    fn from_letter(letter: char) -> Option<CategoryKind> {
        match letter {
            'B' => Some(CategoryKind::Component),
            'S' => Some(CategoryKind::Event),
            'Z' => Some(CategoryKind::Governance),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CategoryKind::Component => "component",
            CategoryKind::Event => "event",
            CategoryKind::Governance => "governance",
        }
    }

    pub fn parse(text: &str) -> Option<CategoryKind> {
        match text {
            "component" => Some(CategoryKind::Component),
            "event" => Some(CategoryKind::Event),
            "governance" => Some(CategoryKind::Governance),
            _ => None,
        }
    }
}

/// A validated subcategory code such as `S0401`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CategoryCode(String);

impl CategoryCode {
    pub fn parse(text: &str) -> Result<CategoryCode, CategoryCodeError> {
        let code = text.trim();
        let mut chars = code.chars();
        let letter_ok = chars.next().and_then(CategoryKind::from_letter).is_some();
        let digits: Vec<char> = chars.collect();
        if !letter_ok || digits.len() != 4 || !digits.iter().all(|c| c.is_ascii_digit()) {
            return Err(CategoryCodeError::Malformed {
                code: code.to_string(),
            });
        }
        Ok(CategoryCode(code.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn kind(&self) -> CategoryKind {
        // The constructor checked the letter.
        self.0
            .chars()
            .next()
            .and_then(CategoryKind::from_letter)
            .unwrap_or(CategoryKind::Event)
    }

    /// The major class code, e.g. `S04` for `S0401`.
    pub fn major(&self) -> &str {
        &self.0[..3]
    }
}

impl fmt::Display for CategoryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CategoryCode {
    type Error = CategoryCodeError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        CategoryCode::parse(&value)
    }
}

impl From<CategoryCode> for String {
    fn from(value: CategoryCode) -> String {
        value.0
    }
}

/// The workflow stages that carry a time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// 受理/立案: from report to acceptance or rejection.
    Accept,
    /// 派遣: from acceptance to dispatch.
    Dispatch,
    /// 处置: from dispatch (or self-handling) to the handler's feedback.
    Handle,
    /// 核查: from feedback to verification.
    Verify,
    /// 结案: from verification to closure.
    Close,
}

impl Stage {
    pub const ALL: [Stage; 5] = [
        Stage::Accept,
        Stage::Dispatch,
        Stage::Handle,
        Stage::Verify,
        Stage::Close,
    ];

    /// The name used in JSON (snake_case, as serde writes it).
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Accept => "accept",
            Stage::Dispatch => "dispatch",
            Stage::Handle => "handle",
            Stage::Verify => "verify",
            Stage::Close => "close",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Stage::Accept => "受理",
            Stage::Dispatch => "派遣",
            Stage::Handle => "处置",
            Stage::Verify => "核查",
            Stage::Close => "结案",
        }
    }
}

/// Time limits of each stage, in working hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageLimits {
    pub accept_hours: u32,
    pub dispatch_hours: u32,
    pub handle_hours: u32,
    pub verify_hours: u32,
    pub close_hours: u32,
}

impl StageLimits {
    pub fn hours(&self, stage: Stage) -> u32 {
        match stage {
            Stage::Accept => self.accept_hours,
            Stage::Dispatch => self.dispatch_hours,
            Stage::Handle => self.handle_hours,
            Stage::Verify => self.verify_hours,
            Stage::Close => self.close_hours,
        }
    }
}

/// A subcategory (小类) with its major class (大类) and routing defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Category {
    pub code: CategoryCode,
    pub name: String,
    pub major_name: String,
    pub department: DepartmentCode,
    pub tier: Tier,
    pub limits: StageLimits,
}

impl Category {
    pub fn kind(&self) -> CategoryKind {
        self.code.kind()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxonomyError {
    #[error("taxonomy line {line}: {reason}")]
    Line { line: usize, reason: String },
    #[error("category {code} is listed twice")]
    Duplicate { code: CategoryCode },
    #[error("category {code} names department {department:?}, which is not a known department")]
    UnknownDepartment {
        code: CategoryCode,
        department: String,
    },
    #[error("major class {major} is named both {first:?} and {second:?}")]
    MajorNameConflict {
        major: String,
        first: String,
        second: String,
    },
    #[error("the taxonomy is empty")]
    Empty,
}

/// The full set of categories, validated against the departments.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Taxonomy {
    categories: BTreeMap<CategoryCode, Category>,
}

/// The default taxonomy shipped with onegrid (see `data/taxonomy.csv`).
pub const DEFAULT_TAXONOMY_CSV: &str = include_str!("../data/taxonomy.csv");

impl Taxonomy {
    pub fn new(
        categories: impl IntoIterator<Item = Category>,
        departments: &Departments,
    ) -> Result<Taxonomy, TaxonomyError> {
        let mut map = BTreeMap::new();
        let mut majors: BTreeMap<String, String> = BTreeMap::new();
        for category in categories {
            if departments.get(&category.department).is_none() {
                return Err(TaxonomyError::UnknownDepartment {
                    code: category.code.clone(),
                    department: category.department.to_string(),
                });
            }
            let major = category.code.major().to_string();
            if let Some(first) = majors.get(&major) {
                if first != &category.major_name {
                    return Err(TaxonomyError::MajorNameConflict {
                        major,
                        first: first.clone(),
                        second: category.major_name.clone(),
                    });
                }
            } else {
                majors.insert(major, category.major_name.clone());
            }
            if map.contains_key(&category.code) {
                return Err(TaxonomyError::Duplicate {
                    code: category.code,
                });
            }
            map.insert(category.code.clone(), category);
        }
        if map.is_empty() {
            return Err(TaxonomyError::Empty);
        }
        Ok(Taxonomy { categories: map })
    }

    /// Parses the CSV form: `code,name,major_code,major_name,kind,department,tier,accept_hours,
    /// dispatch_hours,handle_hours,verify_hours,close_hours`.
    pub fn parse_csv(text: &str, departments: &Departments) -> Result<Taxonomy, TaxonomyError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut categories = Vec::new();
        for (index, record) in reader.records().enumerate() {
            let line = index + 2;
            let bad = |reason: String| TaxonomyError::Line { line, reason };
            let record = record.map_err(|e| bad(e.to_string()))?;
            if record.len() != 12 {
                return Err(bad(format!("expected 12 fields, found {}", record.len())));
            }
            let field = |i: usize| record.get(i).unwrap_or("").trim();
            let code = CategoryCode::parse(field(0)).map_err(|e| bad(e.to_string()))?;
            if field(2) != code.major() {
                return Err(bad(format!(
                    "major_code {:?} does not match code {code}",
                    field(2)
                )));
            }
            match CategoryKind::parse(field(4)) {
                Some(kind) if kind == code.kind() => {}
                _ => {
                    return Err(bad(format!(
                        "kind {:?} does not match the code letter of {code}",
                        field(4)
                    )))
                }
            }
            let department = DepartmentCode::parse(field(5)).map_err(|e| bad(e.to_string()))?;
            let tier = Tier::parse(field(6)).ok_or_else(|| {
                bad(format!(
                    "tier {:?} is not grid, street or district",
                    field(6)
                ))
            })?;
            let hours = |i: usize| -> Result<u32, TaxonomyError> {
                match field(i).parse::<u32>() {
                    Ok(h) if h > 0 => Ok(h),
                    _ => Err(bad(format!(
                        "time limit {:?} is not a positive whole number of working hours",
                        field(i)
                    ))),
                }
            };
            let name = field(1).to_string();
            if name.is_empty() {
                return Err(bad(format!("category {code} has an empty name")));
            }
            categories.push(Category {
                code,
                name,
                major_name: field(3).to_string(),
                department,
                tier,
                limits: StageLimits {
                    accept_hours: hours(7)?,
                    dispatch_hours: hours(8)?,
                    handle_hours: hours(9)?,
                    verify_hours: hours(10)?,
                    close_hours: hours(11)?,
                },
            });
        }
        Taxonomy::new(categories, departments)
    }

    /// The taxonomy shipped with onegrid, checked against the default departments.
    pub fn default_taxonomy(departments: &Departments) -> Result<Taxonomy, TaxonomyError> {
        Taxonomy::parse_csv(DEFAULT_TAXONOMY_CSV, departments)
    }

    pub fn get(&self, code: &CategoryCode) -> Option<&Category> {
        self.categories.get(code)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Category> {
        self.categories.values()
    }

    pub fn len(&self) -> usize {
        self.categories.len()
    }

    pub fn is_empty(&self) -> bool {
        self.categories.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_codes() {
        let code = CategoryCode::parse("S0401").expect("valid");
        assert_eq!(code.kind(), CategoryKind::Event);
        assert_eq!(code.major(), "S04");
        assert_eq!(
            CategoryCode::parse("B0101").expect("valid").kind(),
            CategoryKind::Component
        );
        for bad in ["", "S04", "X0101", "S04011", "s0401", "S04a1"] {
            let err = CategoryCode::parse(bad).unwrap_err();
            assert!(err.to_string().contains("malformed"), "{bad}: {err}");
        }
    }

    #[test]
    fn default_taxonomy_is_complete() {
        let departments = Departments::default_departments().expect("default departments parse");
        let taxonomy = Taxonomy::default_taxonomy(&departments).expect("default taxonomy parses");
        assert!(
            taxonomy.len() >= 60,
            "only {} subcategories",
            taxonomy.len()
        );
        for major in [
            "市容环境",
            "宣传广告",
            "施工管理",
            "突发事件",
            "街面秩序",
            "矛盾纠纷",
            "治安隐患",
            "安全生产",
            "生态环境",
            "民生服务",
        ] {
            assert!(
                taxonomy.iter().any(|c| c.major_name == major),
                "major class {major} missing"
            );
        }
        for kind in [
            CategoryKind::Component,
            CategoryKind::Event,
            CategoryKind::Governance,
        ] {
            assert!(taxonomy.iter().any(|c| c.kind() == kind));
        }
        for tier in [Tier::Grid, Tier::Street, Tier::District] {
            assert!(taxonomy.iter().any(|c| c.tier == tier), "{tier:?} unused");
        }
    }

    #[test]
    fn bad_taxonomy_lines_are_named() {
        let departments = Departments::default_departments().expect("default departments parse");
        let header = "code,name,major_code,major_name,kind,department,tier,accept_hours,dispatch_hours,handle_hours,verify_hours,close_hours\n";
        let check = |row: &str, expected: &str| {
            let err = Taxonomy::parse_csv(&format!("{header}{row}\n"), &departments).unwrap_err();
            assert!(err.to_string().contains(expected), "{row}: {err}");
        };
        check(
            "S0101,暴露垃圾,S01,市容环境,event,nosuchdept,grid,1,1,8,4,2",
            "nosuchdept",
        );
        check(
            "S0101,暴露垃圾,S02,市容环境,event,chengguan,grid,1,1,8,4,2",
            "major_code",
        );
        check(
            "S0101,暴露垃圾,S01,市容环境,component,chengguan,grid,1,1,8,4,2",
            "kind",
        );
        check(
            "S0101,暴露垃圾,S01,市容环境,event,chengguan,city,1,1,8,4,2",
            "tier",
        );
        check(
            "S0101,暴露垃圾,S01,市容环境,event,chengguan,grid,1,0,8,4,2",
            "positive",
        );
        check("S0101,暴露垃圾,S01", "12 fields");
    }
}
