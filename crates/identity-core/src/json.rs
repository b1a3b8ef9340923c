//! JSON fields read loosely typed, straight into the credential's own struct.
//!
//! Token answers spell numbers as numbers or strings depending on the host, so
//! their fields cannot be given one Rust type. Parsing the whole body into a
//! `serde_json::Value` tree would handle that, but its map and number code
//! weigh about 8 KB in every application; a [`Loose`] field costs one small
//! visitor and borrows the body's strings.

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::{borrow::Cow, fmt};

/// One JSON value, as much as a credential needs to know of it.
///
/// `Debug` shows a string's length, never its text: a token answer's fields
/// hold the token.
#[derive(Clone, PartialEq)]
pub enum Loose<'a> {
    /// A string (borrowed from the body when it has no escapes).
    Text(Cow<'a, str>),
    /// A number that fits an `i64`.
    Integer(i64),
    /// Any other number.
    Number(f64),
    /// `true`, `false`, an array or an object (their contents are skipped).
    Other,
}

impl fmt::Debug for Loose<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(text) => write!(f, "Text({} bytes)", text.len()),
            Self::Integer(n) => write!(f, "Integer({n})"),
            Self::Number(n) => write!(f, "Number({n})"),
            Self::Other => f.write_str("Other"),
        }
    }
}

impl Loose<'_> {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            _ => None,
        }
    }

    /// A whole number of seconds, given as a JSON number or a string of digits.
    pub fn seconds(&self) -> Option<i64> {
        match self {
            Self::Integer(n) => Some(*n),
            // Whole and well inside i64, so the cast is exact.
            #[allow(clippy::cast_possible_truncation)]
            Self::Number(f) => (f.fract() == 0.0 && f.abs() < 1e15).then_some(*f as i64),
            Self::Text(text) => text.trim().parse().ok(),
            Self::Other => None,
        }
    }
}

/// A JSON object's top-level fields, in order; nested values are
/// [`Loose::Other`]. `Debug` shows the field names, not the strings' text.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LooseObject<'a>(Vec<(Cow<'a, str>, Loose<'a>)>);

impl<'a> LooseObject<'a> {
    /// Parses `body` as a JSON object; `None` when it is not one.
    pub fn parse(body: &'a [u8]) -> Option<Self> {
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        let object = deserializer.deserialize_map(ObjectVisitor).ok()?;
        deserializer.end().ok()?;
        Some(object)
    }

    /// The field of that name (the last one, if the body repeats it).
    pub fn get(&self, name: &str) -> Option<&Loose<'a>> {
        self.0
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    /// The field of that name, if it is a string.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Loose::as_str)
    }
}

struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = LooseObject<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Vec::new();
        while let Some((key, value)) = map.next_entry::<Loose<'de>, Loose<'de>>()? {
            if let Loose::Text(key) = key {
                fields.push((key, value));
            }
        }
        Ok(LooseObject(fields))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Loose<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LooseVisitor)
    }
}

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Loose::Other)
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
        Ok(Loose::Integer(n))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
        Ok(i64::try_from(n).map_or(Loose::Number(n as f64), Loose::Integer))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Self::Value, E> {
        Ok(Loose::Number(n))
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Loose::Text(Cow::Borrowed(text)))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Loose::Text(Cow::Owned(text.to_owned())))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Self::Value, E> {
        Ok(Loose::Text(Cow::Owned(text)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Loose::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Loose::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Loose::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(json: &str) -> Option<Loose<'_>> {
        LooseObject::parse(json.as_bytes())
            .unwrap()
            .get("a")
            .cloned()
    }

    #[test]
    fn every_json_shape_is_read() {
        assert_eq!(field(r#"{"a":"x"}"#), Some(Loose::Text("x".into())));
        assert!(matches!(
            field(r#"{"a":"x"}"#),
            Some(Loose::Text(Cow::Borrowed("x")))
        ));
        assert_eq!(field(r#"{"a":"\u0078"}"#).unwrap().as_str(), Some("x"));
        assert_eq!(field(r#"{"a":-3}"#), Some(Loose::Integer(-3)));
        assert_eq!(field(r#"{"a":1.5}"#), Some(Loose::Number(1.5)));
        assert_eq!(
            field(r#"{"a":18446744073709551615}"#),
            Some(Loose::Number(18_446_744_073_709_551_615.0))
        );
        for other in ["true", "[1,[2],{}]", r#"{"b":{"c":[]}}"#] {
            assert_eq!(field(&format!(r#"{{"a":{other}}}"#)), Some(Loose::Other));
        }
        assert_eq!(field(r#"{"a":null}"#), Some(Loose::Other));
        assert_eq!(field(r#"{"b":1}"#), None);
    }

    #[test]
    fn seconds_come_as_numbers_or_digits() {
        assert_eq!(Loose::Integer(3600).seconds(), Some(3600));
        assert_eq!(Loose::Number(3600.0).seconds(), Some(3600));
        assert_eq!(Loose::Number(3600.5).seconds(), None);
        assert_eq!(Loose::Number(1e300).seconds(), None);
        assert_eq!(Loose::Text(" 3600 ".into()).seconds(), Some(3600));
        assert_eq!(Loose::Text("soon".into()).seconds(), None);
        assert_eq!(Loose::Other.seconds(), None);
    }

    #[test]
    fn only_objects_are_objects() {
        let object = LooseObject::parse(b" \n{\"a\":1,\"b\":\"x\",\"a\":2} ").unwrap();
        assert_eq!(object.get("a"), Some(&Loose::Integer(2)));
        assert_eq!(object.str("b"), Some("x"));
        assert_eq!(object.str("a"), None);
        for not_an_object in [&b"[\"a\"]"[..], b"", b"\"a\"", b"{\"a\":1} x", b"{\"a\":"] {
            assert_eq!(LooseObject::parse(not_an_object), None);
        }
    }
}
