//! Departments, people, their roles and their scopes (an area subtree, a department).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::area::AreaCode;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    #[error("{what} {value:?} is malformed: use 1–32 characters of a-z, 0-9, '_', '-' or '.'")]
    Malformed { what: &'static str, value: String },
}

fn check_identifier(what: &'static str, text: &str) -> Result<String, IdentifierError> {
    let value = text.trim();
    let ok = !value.is_empty()
        && value.len() <= 32
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(value.to_string())
    } else {
        Err(IdentifierError::Malformed {
            what,
            value: value.to_string(),
        })
    }
}

macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(text: &str) -> Result<$name, IdentifierError> {
                check_identifier($what, text).map($name)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdentifierError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                $name::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
    };
}

identifier!(
    /// A department's stable code, e.g. `chengguan` (区城市管理委员会).
    DepartmentCode,
    "department code"
);
identifier!(
    /// A person's login id, e.g. `wang.dispatcher`.
    PersonId,
    "person id"
);

/// A department (职能部门) that cases are routed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Department {
    pub code: DepartmentCode,
    pub name: String,
    pub short_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DepartmentsError {
    #[error("departments line {line}: {reason}")]
    Line { line: usize, reason: String },
    #[error("department {code} is listed twice")]
    Duplicate { code: DepartmentCode },
}

/// The district's departments, by code.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Departments {
    departments: BTreeMap<DepartmentCode, Department>,
}

/// The default departments shipped with onegrid (see `data/departments.csv`).
pub const DEFAULT_DEPARTMENTS_CSV: &str = include_str!("../data/departments.csv");

impl Departments {
    pub fn new(
        list: impl IntoIterator<Item = Department>,
    ) -> Result<Departments, DepartmentsError> {
        let mut departments = BTreeMap::new();
        for department in list {
            if departments.contains_key(&department.code) {
                return Err(DepartmentsError::Duplicate {
                    code: department.code,
                });
            }
            departments.insert(department.code.clone(), department);
        }
        Ok(Departments { departments })
    }

    /// Parses `code,name,short_name` CSV.
    pub fn parse_csv(text: &str) -> Result<Departments, DepartmentsError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut list = Vec::new();
        for (index, record) in reader.records().enumerate() {
            let line = index + 2;
            let bad = |reason: String| DepartmentsError::Line { line, reason };
            let record = record.map_err(|e| bad(e.to_string()))?;
            if record.len() != 3 {
                return Err(bad(format!("expected 3 fields, found {}", record.len())));
            }
            let field = |i: usize| record.get(i).unwrap_or("").trim().to_string();
            let code = DepartmentCode::parse(&field(0)).map_err(|e| bad(e.to_string()))?;
            if field(1).is_empty() {
                return Err(bad(format!("department {code} has an empty name")));
            }
            list.push(Department {
                code,
                name: field(1),
                short_name: field(2),
            });
        }
        Departments::new(list)
    }

    pub fn default_departments() -> Result<Departments, DepartmentsError> {
        Departments::parse_csv(DEFAULT_DEPARTMENTS_CSV)
    }

    pub fn get(&self, code: &DepartmentCode) -> Option<&Department> {
        self.departments.get(code)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Department> {
        self.departments.values()
    }

    pub fn len(&self) -> usize {
        self.departments.len()
    }

    pub fn is_empty(&self) -> bool {
        self.departments.is_empty()
    }
}

/// What a person does in onegrid. Rights follow from the role and the scope together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 市民 — reports, follows and rates their own cases.
    Citizen,
    /// 网格员 — reports, settles small matters and verifies fixes in their own cells.
    GridWorker,
    /// 街道、社区受理员 — accepts, rejects, dispatches and closes cases of their area.
    Dispatcher,
    /// 职能部门处置人员 — handles cases dispatched to their department.
    DepartmentHandler,
    /// 区社会治理指挥中心 — district-wide: joint handling, escalation, supervision notices.
    Commander,
    /// 督查、领导 — reads everything, issues supervision notices.
    Supervisor,
    /// 系统管理员 — manages accounts and reference data.
    Admin,
    /// 系统对接 — a machine channel (12345, 110, sensors) that reports cases.
    Integrator,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Citizen,
        Role::GridWorker,
        Role::Dispatcher,
        Role::DepartmentHandler,
        Role::Commander,
        Role::Supervisor,
        Role::Admin,
        Role::Integrator,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Citizen => "citizen",
            Role::GridWorker => "grid_worker",
            Role::Dispatcher => "dispatcher",
            Role::DepartmentHandler => "department_handler",
            Role::Commander => "commander",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
            Role::Integrator => "integrator",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Role::Citizen => "市民",
            Role::GridWorker => "网格员",
            Role::Dispatcher => "受理员",
            Role::DepartmentHandler => "部门处置人员",
            Role::Commander => "指挥中心",
            Role::Supervisor => "督查",
            Role::Admin => "管理员",
            Role::Integrator => "系统对接",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a person may act: the area subtrees they cover and, for a handler, their department.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// Roots of the area subtrees this person covers (a grid worker's cells, a dispatcher's street,
    /// the district for the command center). Empty: no area rights.
    #[serde(default)]
    pub areas: Vec<AreaCode>,
    /// The department a handler works for.
    #[serde(default)]
    pub department: Option<DepartmentCode>,
}

impl Scope {
    pub fn covers(&self, area: &AreaCode) -> bool {
        self.areas.iter().any(|root| root.contains(area))
    }
}

/// A person with an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: PersonId,
    pub name: String,
    pub role: Role,
    pub scope: Scope,
    /// Contact phone; personal data, masked for roles that do not need it.
    #[serde(default)]
    pub phone: Option<String>,
}

impl Person {
    pub fn actor(&self) -> Actor {
        Actor {
            person: self.id.clone(),
            role: self.role,
            scope: self.scope.clone(),
        }
    }
}

/// Who performs a command: the identity, role and scope the rules are checked against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub person: PersonId,
    pub role: Role,
    pub scope: Scope,
}

/// Masks a phone number for roles that must not see it: `13812345678` → `138****5678`.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() <= 4 {
        return "*".repeat(chars.len());
    }
    let keep_head = if chars.len() >= 11 { 3 } else { 1 };
    let keep_tail = if chars.len() >= 8 { 4 } else { 1 };
    let hidden = chars.len() - keep_head - keep_tail;
    let mut out: String = chars[..keep_head].iter().collect();
    out.push_str(&"*".repeat(hidden));
    out.extend(&chars[chars.len() - keep_tail..]);
    out
}

/// Masks a name: `张三丰` → `张**`.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => {
            let rest = chars.count();
            format!("{first}{}", "*".repeat(rest.max(1)))
        }
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_checked() {
        assert!(DepartmentCode::parse("chengguan").is_ok());
        assert!(PersonId::parse("wang.dispatcher-1").is_ok());
        for bad in ["", "Chengguan", "城管", "a b", &"x".repeat(33)] {
            let err = DepartmentCode::parse(bad).unwrap_err();
            assert!(err.to_string().contains("department code"), "{err}");
        }
    }

    #[test]
    fn default_departments_parse() {
        let departments = Departments::default_departments().expect("parses");
        assert!(departments.len() >= 15);
        let chengguan = DepartmentCode::parse("chengguan").expect("valid");
        assert!(departments.get(&chengguan).is_some());
    }

    #[test]
    fn scope_covers_subtrees() {
        let scope = Scope {
            areas: vec![AreaCode::parse("120110001").expect("valid")],
            department: None,
        };
        assert!(scope.covers(&AreaCode::parse("120110001002003").expect("valid")));
        assert!(!scope.covers(&AreaCode::parse("120110002002003").expect("valid")));
        assert!(!Scope::default().covers(&AreaCode::parse("120110").expect("valid")));
    }

    #[test]
    fn masks_personal_data() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("12345"), "1***5");
        assert_eq!(mask_phone("022-8437 1234"), "022******1234");
        assert_eq!(mask_phone("123"), "***");
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(mask_name("李"), "李*");
        assert_eq!(mask_name(""), "");
    }

    #[test]
    fn roles_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
    }
}
