//! The fixed set of roles. A role says what kind of caller a principal is;
//! what each role may do is written down in `docs/access.md` and enforced by
//! the policy layer in front of the routes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a principal may do, from least to most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// No credentials: aggregated, disclosure-controlled layers; no writes.
    Public,
    /// What public sees, plus exports and higher rate limits; never individuals.
    Recruiter,
    /// Bound to a jurisdiction (districts or parks): exact counts and, from
    /// zoom 15, individuals (pseudonymous) inside it.
    Analyst,
    /// A machine that may only post the moves feed.
    Feeder,
    /// Everything, plus keys, accounts and the audit log.
    Admin,
}

impl Role {
    /// Every role, in order.
    pub const ALL: [Role; 5] = [Role::Public, Role::Recruiter, Role::Analyst, Role::Feeder, Role::Admin];

    /// The lowercase name used on the command line, in JSON and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Public => "public",
            Role::Recruiter => "recruiter",
            Role::Analyst => "analyst",
            Role::Feeder => "feeder",
            Role::Admin => "admin",
        }
    }

    /// Whether the role is bound to a jurisdiction (and must name one).
    pub fn has_jurisdiction(self) -> bool {
        self == Role::Analyst
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A role name that is not one of [`Role::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role '{0}': accepted values: public, recruiter, analyst, feeder, admin")]
pub struct ParseRoleError(pub String);

impl FromStr for Role {
    type Err = ParseRoleError;

    fn from_str(s: &str) -> Result<Role, ParseRoleError> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| ParseRoleError(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_accepted_ones() {
        for role in Role::ALL {
            assert_eq!(role.to_string().parse::<Role>(), Ok(role));
            assert_eq!(serde_json::to_string(&role).unwrap(), format!("\"{role}\""));
        }
        let err = "Admin".parse::<Role>().unwrap_err().to_string();
        assert!(err.contains("'Admin'") && err.contains("public, recruiter, analyst, feeder, admin"), "{err}");
    }
}
