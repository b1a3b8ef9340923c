//! Versions, the kinds of change a fragment records, and how a kind becomes a
//! version bump (Cargo's semver rules, where `0.x` shifts everything one place
//! to the right).

use std::{cmp::Ordering, fmt, str::FromStr};

/// A plain `MAJOR.MINOR.PATCH` version. Pre-release and build suffixes are
/// refused: nothing here publishes them, and guessing their bump rules would
/// be worse than asking for a hand edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Version {
    pub(crate) major: u64,
    pub(crate) minor: u64,
    pub(crate) patch: u64,
}

impl Version {
    pub(crate) const fn new(major: u64, minor: u64, patch: u64) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }

    pub(crate) fn bumped(self, level: Level) -> Self {
        match level {
            Level::Patch => Self::new(self.major, self.minor, self.patch + 1),
            Level::Minor => Self::new(self.major, self.minor + 1, 0),
            Level::Major => Self::new(self.major + 1, 0, 0),
        }
    }

    /// Whether a caret requirement on `self` (Cargo's default, `"0.1.0"` means
    /// `^0.1.0`) also accepts `newer`: the same left-most non-zero component.
    pub(crate) fn caret_accepts(self, newer: Self) -> bool {
        if newer < self {
            return false;
        }
        if self.major > 0 {
            newer.major == self.major
        } else if self.minor > 0 {
            newer.major == 0 && newer.minor == self.minor
        } else {
            newer == self
        }
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch).cmp(&(other.major, other.minor, other.patch))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl FromStr for Version {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text.contains(['-', '+']) {
            return Err(format!(
                "version `{text}` has a pre-release or build suffix; `cargo xtask release` handles plain MAJOR.MINOR.PATCH versions only, so set this one by hand"
            ));
        }
        let parts: Vec<&str> = text.split('.').collect();
        let [major, minor, patch] = parts.as_slice() else {
            return Err(format!("version `{text}` is not MAJOR.MINOR.PATCH"));
        };
        let number = |part: &str| -> Result<u64, String> {
            // "01" is not semver; u64::from_str would accept it.
            if part.is_empty() || (part.len() > 1 && part.starts_with('0')) {
                return Err(format!("version `{text}` is not MAJOR.MINOR.PATCH"));
            }
            part.parse()
                .map_err(|_| format!("version `{text}` is not MAJOR.MINOR.PATCH"))
        };
        Ok(Self::new(number(major)?, number(minor)?, number(patch)?))
    }
}

/// Which component a release increments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    Patch,
    Minor,
    Major,
}

impl FromStr for Level {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "patch" => Ok(Self::Patch),
            "minor" => Ok(Self::Minor),
            "major" => Ok(Self::Major),
            _ => Err(format!(
                "`--bump {text}`: the bump is one of patch, minor, major"
            )),
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Patch => "patch",
            Self::Minor => "minor",
            Self::Major => "major",
        })
    }
}

/// What a change means to users, as a changelog fragment states it. Ordered
/// by weight: a release takes the heaviest of its changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Kind {
    Fix,
    Feature,
    Breaking,
}

impl Kind {
    /// The bump this kind of change needs from `version`. Below 1.0 Cargo
    /// treats the minor component as the compatibility boundary, so a
    /// breaking change bumps minor and everything else bumps patch.
    pub(crate) fn level_from(self, version: Version) -> Level {
        match (version.major, self) {
            (0, Self::Breaking) => Level::Minor,
            (0, Self::Feature | Self::Fix) => Level::Patch,
            (_, Self::Breaking) => Level::Major,
            (_, Self::Feature) => Level::Minor,
            (_, Self::Fix) => Level::Patch,
        }
    }
}

impl FromStr for Kind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "fix" => Ok(Self::Fix),
            "feature" => Ok(Self::Feature),
            "breaking" => Ok(Self::Breaking),
            _ => Err(format!(
                "kind `{text}` is not one of: breaking, feature, fix"
            )),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Fix => "fix",
            Self::Feature => "feature",
            Self::Breaking => "breaking",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        text.parse().unwrap()
    }

    #[test]
    fn parses_and_prints_plain_versions() {
        assert_eq!(v("0.1.0"), Version::new(0, 1, 0));
        assert_eq!(v("12.0.345").to_string(), "12.0.345");
    }

    #[test]
    fn refuses_what_is_not_major_minor_patch() {
        for bad in [
            "", "1", "1.2", "1.2.3.4", "1.x.3", "01.2.3", "1.2.-3", " 1.2.3",
        ] {
            assert!(bad.parse::<Version>().is_err(), "{bad:?} parsed");
        }
        let suffix = "1.0.0-rc.1".parse::<Version>().unwrap_err();
        assert!(suffix.contains("by hand"), "{suffix}");
    }

    #[test]
    fn orders_numerically() {
        assert!(v("0.10.0") > v("0.9.9"));
        assert!(v("1.0.0") > v("0.99.99"));
        assert_eq!(v("0.1.2").max(v("0.1.10")), v("0.1.10"));
    }

    #[test]
    fn bumps_reset_the_lower_components() {
        assert_eq!(v("1.2.3").bumped(Level::Patch), v("1.2.4"));
        assert_eq!(v("1.2.3").bumped(Level::Minor), v("1.3.0"));
        assert_eq!(v("1.2.3").bumped(Level::Major), v("2.0.0"));
        assert_eq!(v("0.3.2").bumped(Level::Major), v("1.0.0"));
    }

    #[test]
    fn below_one_a_breaking_change_bumps_minor_and_the_rest_patch() {
        let zero = v("0.4.1");
        assert_eq!(Kind::Breaking.level_from(zero), Level::Minor);
        assert_eq!(Kind::Feature.level_from(zero), Level::Patch);
        assert_eq!(Kind::Fix.level_from(zero), Level::Patch);
    }

    #[test]
    fn from_one_on_each_kind_has_its_own_component() {
        let one = v("1.4.1");
        assert_eq!(Kind::Breaking.level_from(one), Level::Major);
        assert_eq!(Kind::Feature.level_from(one), Level::Minor);
        assert_eq!(Kind::Fix.level_from(one), Level::Patch);
    }

    #[test]
    fn caret_compatibility_follows_the_left_most_non_zero_component() {
        assert!(v("0.1.0").caret_accepts(v("0.1.7")));
        assert!(!v("0.1.0").caret_accepts(v("0.2.0")));
        assert!(v("1.2.0").caret_accepts(v("1.9.0")));
        assert!(!v("1.2.0").caret_accepts(v("2.0.0")));
        assert!(!v("0.0.3").caret_accepts(v("0.0.4")));
        assert!(!v("0.1.5").caret_accepts(v("0.1.4")));
    }

    #[test]
    fn kinds_and_levels_parse_and_order_by_weight() {
        assert_eq!("breaking".parse::<Kind>(), Ok(Kind::Breaking));
        assert!("bugfix".parse::<Kind>().is_err());
        assert!(Kind::Breaking > Kind::Feature && Kind::Feature > Kind::Fix);
        assert_eq!("minor".parse::<Level>(), Ok(Level::Minor));
        assert!("huge".parse::<Level>().is_err());
    }
}
