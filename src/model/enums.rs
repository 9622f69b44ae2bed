//! Closed vocabularies: each has a stable lowercase code used in files, URLs
//! and the store, and a compact `u8` form used in the in-memory snapshot.

use std::fmt;
use std::str::FromStr;

/// A value that is not one of an enum's accepted codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{value}' is not a valid {what}; accepted: {accepted}")]
pub struct ParseEnumError {
    pub what: &'static str,
    pub value: String,
    pub accepted: String,
}

macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal, { $($variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[repr(u8)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every variant, in rank order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The code used in files, URLs and the store.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// Position in [`Self::ALL`]; the compact form in the snapshot.
            pub fn index(self) -> u8 {
                self as u8
            }

            /// Inverse of [`Self::index`].
            pub fn from_index(index: u8) -> Option<Self> {
                Self::ALL.get(index as usize).copied()
            }

            /// The accepted codes, for error messages.
            pub fn accepted() -> String {
                Self::ALL.iter().map(|v| v.code()).collect::<Vec<_>>().join(", ")
            }
        }

        impl FromStr for $name {
            type Err = ParseEnumError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($code => Ok($name::$variant),)+
                    _ => Err(ParseEnumError { what: $what, value: s.to_string(), accepted: Self::accepted() }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

code_enum!(
    /// Highest completed education level, in increasing order.
    Education, "education", {
    Associate = "associate",
    Bachelor = "bachelor",
    Master = "master",
    Doctorate = "doctorate",
});

code_enum!(
    /// Professional title (职称), in increasing order.
    Title, "title", {
    None = "none",
    Junior = "junior",
    Intermediate = "intermediate",
    AssociateSenior = "associate_senior",
    Senior = "senior",
});

code_enum!(
    /// Talent tier under city talent policies; `None` = not classified.
    /// Order: none first, then E (broadest) up to A (top).
    Tier, "tier", {
    None = "none",
    E = "E",
    D = "D",
    C = "C",
    B = "B",
    A = "A",
});

code_enum!(
    /// Transit mode of a station. Metro and rail count as rail transit in
    /// commute indicators.
    StationMode, "station mode", {
    Metro = "metro",
    Rail = "rail",
    Brt = "brt",
    Bus = "bus",
});

code_enum!(
    /// What a region polygon is.
    RegionKind, "region kind", {
    District = "district",
    Street = "street",
    Park = "park",
});

code_enum!(
    /// A flow event in a talent's history.
    MoveEvent, "move event", {
    Arrive = "arrive",
    Leave = "leave",
    JobChange = "job_change",
    Relocate = "relocate",
});

impl StationMode {
    /// Metro and rail: the modes that count as rail transit.
    pub fn is_rail(self) -> bool {
        matches!(self, StationMode::Metro | StationMode::Rail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for e in Education::ALL {
            assert_eq!(e.code().parse::<Education>(), Ok(*e));
            assert_eq!(Education::from_index(e.index()), Some(*e));
        }
        for t in Tier::ALL {
            assert_eq!(t.code().parse::<Tier>(), Ok(*t));
        }
        assert_eq!("associate_senior".parse::<Title>(), Ok(Title::AssociateSenior));
    }

    #[test]
    fn unknown_code_lists_accepted_values() {
        let err = "phd".parse::<Education>().unwrap_err();
        assert_eq!(err.to_string(), "'phd' is not a valid education; accepted: associate, bachelor, master, doctorate");
        assert!("a".parse::<Tier>().is_err(), "tiers are upper case");
    }

    #[test]
    fn ordering_follows_rank() {
        assert!(Education::Doctorate > Education::Bachelor);
        assert!(Title::Senior > Title::Junior);
        assert!(Tier::A > Tier::E && Tier::E > Tier::None);
    }
}
