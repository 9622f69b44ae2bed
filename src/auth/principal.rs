//! Who is asking: the principal every request will carry, and the
//! jurisdiction rule that decides which individuals an analyst may see.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use super::Role;

/// How a principal proved who it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "lowercase")]
pub enum PrincipalKind {
    /// An API key, by its public id (never the secret part).
    Key(String),
    /// A signed-in user, by name.
    User(String),
    /// No credentials.
    Anonymous,
}

/// A caller: how it authenticated, its role and, for analysts, its
/// jurisdiction (district and park ids).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub kind: PrincipalKind,
    pub role: Role,
    /// District or park ids; empty for every role but analyst.
    pub jurisdiction: BTreeSet<String>,
}

impl Principal {
    /// The caller without credentials: role public, no jurisdiction.
    pub fn anonymous() -> Principal {
        Principal { kind: PrincipalKind::Anonymous, role: Role::Public, jurisdiction: BTreeSet::new() }
    }

    /// Whether region `id` (a district or park id) lies inside what this
    /// principal may see at the individual level: every region for an admin,
    /// the regions of the jurisdiction for an analyst, none for other roles.
    ///
    /// Membership is by id only: an analyst bound to a district does not
    /// thereby cover a park id inside it, but every person in that park is
    /// still covered through their district (see [`person_in_jurisdiction`]).
    pub fn covers_region(&self, id: &str) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Analyst => self.jurisdiction.contains(id),
            Role::Public | Role::Recruiter | Role::Feeder => false,
        }
    }

    /// Whether this principal may see the individual `person`: an admin
    /// always, an analyst when [`person_in_jurisdiction`] holds, others never.
    pub fn covers_person(&self, person: &PersonRegions<'_>) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Analyst => person_in_jurisdiction(&self.jurisdiction, person),
            Role::Public | Role::Recruiter | Role::Feeder => false,
        }
    }

    /// The principal as written in the audit log: `key:ID`, `user:NAME` or
    /// `anonymous`.
    pub fn label(&self) -> String {
        self.kind.to_string()
    }
}

impl fmt::Display for PrincipalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrincipalKind::Key(id) => write!(f, "key:{id}"),
            PrincipalKind::User(name) => write!(f, "user:{name}"),
            PrincipalKind::Anonymous => f.write_str("anonymous"),
        }
    }
}

/// The regions a person's home and workplace were assigned to on import
/// (the `home_district`, `home_park`, `work_district`, `work_park` columns
/// of a talent); `None` where the point lies in no such region or the person
/// has no workplace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PersonRegions<'a> {
    pub home_district: Option<&'a str>,
    pub home_park: Option<&'a str>,
    pub work_district: Option<&'a str>,
    pub work_park: Option<&'a str>,
}

/// The jurisdiction rule: a person belongs to a jurisdiction when their
/// **home or their workplace** lies inside it, that is when any of the
/// district or park ids their home and workplace were assigned to is one of
/// the jurisdiction's ids.
///
/// So an analyst of a district sees its residents, including those who work
/// elsewhere, and the people who work there but live elsewhere; an analyst
/// of a park sees the people who live or work in the park. A person with
/// neither point in any region of the jurisdiction is outside it, and an
/// empty jurisdiction contains nobody.
///
/// ```
/// use std::collections::BTreeSet;
/// use talentmap::auth::{PersonRegions, person_in_jurisdiction};
///
/// let lixia: BTreeSet<String> = ["370102".to_string()].into();
/// let commuter = PersonRegions { home_district: Some("370112"), work_district: Some("370102"), ..Default::default() };
/// assert!(person_in_jurisdiction(&lixia, &commuter));
/// let elsewhere = PersonRegions { home_district: Some("370112"), ..Default::default() };
/// assert!(!person_in_jurisdiction(&lixia, &elsewhere));
/// ```
pub fn person_in_jurisdiction(jurisdiction: &BTreeSet<String>, person: &PersonRegions<'_>) -> bool {
    [person.home_district, person.home_park, person.work_district, person.work_park]
        .into_iter()
        .flatten()
        .any(|id| jurisdiction.contains(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyst(areas: &[&str]) -> Principal {
        Principal {
            kind: PrincipalKind::User("li".into()),
            role: Role::Analyst,
            jurisdiction: areas.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn home_or_workplace_inside_is_enough() {
        let a = analyst(&["P1"]);
        let lives = PersonRegions { home_district: Some("D1"), home_park: Some("P1"), ..Default::default() };
        let works = PersonRegions { home_district: Some("D2"), work_park: Some("P1"), ..Default::default() };
        let neither = PersonRegions { home_district: Some("D1"), work_district: Some("D1"), ..Default::default() };
        assert!(a.covers_person(&lives));
        assert!(a.covers_person(&works));
        assert!(!a.covers_person(&neither));
        assert!(!a.covers_person(&PersonRegions::default()));
    }

    #[test]
    fn regions_by_role() {
        let a = analyst(&["D1"]);
        assert!(a.covers_region("D1"));
        assert!(!a.covers_region("D2"));
        assert!(!a.covers_region("P1"), "a park inside the district is not the district's id");
        let admin = Principal { role: Role::Admin, ..Principal::anonymous() };
        assert!(admin.covers_region("anything"));
        for role in [Role::Public, Role::Recruiter, Role::Feeder] {
            let p = Principal { role, jurisdiction: ["D1".to_string()].into(), ..Principal::anonymous() };
            assert!(!p.covers_region("D1"), "{role}");
            assert!(!p.covers_person(&PersonRegions { home_district: Some("D1"), ..Default::default() }));
        }
        assert_eq!(a.label(), "user:li");
        assert_eq!(Principal::anonymous().label(), "anonymous");
    }
}
