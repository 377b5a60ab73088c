//! Numbers as IBKR sends them: serde helpers that read a [`Decimal`] from the JSON form
//! IBKR uses for a field and write it back in the same form.
//!
//! IBKR sends some prices and quantities as JSON numbers (`"limitPrice": 255.63`) and
//! others as strings (`"strike": "187.5"`, `"multiplier": "100"`). Each field uses one
//! form, so each field names its helper:
//!
//! - [`number`]: a JSON number. Read from the number's text as `serde_json` prints it
//!   (its shortest round-trip form), not from the binary float's expansion, so
//!   `0.86656614` is exactly `0.86656614`; written back as an integer when the decimal has
//!   no fractional digits (`100`), otherwise as a float whose shortest text is the
//!   decimal's (`655.94`, `50.0`). Without `serde_json`'s `arbitrary_precision` feature
//!   (not enabled: it would change number handling workspace-wide), a number with more
//!   than 15-17 significant digits is rounded by `serde_json` before we see it.
//! - [`string`]: a JSON string, written back with the same digits (`"655.90"` keeps its
//!   trailing zero, since [`Decimal`] keeps its scale).
//!
//! Both also accept the other form when reading, so a response is not rejected if IBKR
//! changes its mind; re-encoding then uses the field's usual form.
//!
//! Each helper has variants for `Option<Decimal>` (`opt`: absent or a value),
//! `Option<Option<Decimal>>` (`nullable`: absent, `null` or a value) and `Vec<Decimal>`
//! (`vec`). The generic [`nullable`] module does the same for any type.
//!
//! ```
//! use ibkr_model::num;
//! use rust_decimal::Decimal;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Rules {
//!     #[serde(rename = "limitPrice", with = "num::number")]
//!     limit_price: Decimal,
//!     #[serde(rename = "SIZE", with = "num::string")]
//!     size: Decimal,
//! }
//!
//! let body = r#"{"limitPrice":655.94,"SIZE":"100.00"}"#;
//! let r: Rules = serde_json::from_str(body).unwrap();
//! assert_eq!(r.limit_price, Decimal::new(65594, 2));
//! assert_eq!(r.size.to_string(), "100.00");
//! assert_eq!(serde_json::to_string(&r).unwrap(), body);
//! ```

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Reads a decimal from text: plain (`-12.50`, `+3`) or scientific (`1e-7`, `2.5E3`).
///
/// ```
/// use ibkr_model::num::parse_decimal;
/// assert_eq!(parse_decimal("655.90").unwrap().to_string(), "655.90");
/// assert_eq!(parse_decimal("1e-7").unwrap().to_string(), "0.0000001");
/// assert!(parse_decimal("abc").is_err());
/// ```
pub fn parse_decimal(text: &str) -> Result<Decimal, rust_decimal::Error> {
    let t = text.trim();
    let t = t.strip_prefix('+').unwrap_or(t);
    match Decimal::from_str(t) {
        Ok(d) => Ok(d),
        Err(e) if t.contains(['e', 'E']) => Decimal::from_scientific(t).map_err(|_| e),
        Err(e) => Err(e),
    }
}

/// The decimal a JSON number stands for, read from the number's text.
///
/// ```
/// use ibkr_model::num::decimal_from_number;
/// let n: serde_json::Number = serde_json::from_str("0.86656614").unwrap();
/// assert_eq!(decimal_from_number(&n).unwrap().to_string(), "0.86656614");
/// ```
pub fn decimal_from_number(n: &serde_json::Number) -> Result<Decimal, rust_decimal::Error> {
    if let Some(i) = n.as_i64() {
        return Ok(Decimal::from(i));
    }
    if let Some(u) = n.as_u64() {
        return Ok(Decimal::from(u));
    }
    parse_decimal(&n.to_string())
}

/// The JSON number [`number`] writes for a decimal: an integer when it has no fractional
/// digits, otherwise the nearest `f64` (whose shortest text is the decimal's own for any
/// decimal of up to 15 significant digits). `None` only for values out of `f64` range.
///
/// ```
/// use ibkr_model::num::decimal_to_number;
/// use rust_decimal::Decimal;
/// assert_eq!(decimal_to_number(Decimal::new(100, 0)).unwrap().to_string(), "100");
/// assert_eq!(decimal_to_number(Decimal::new(500, 1)).unwrap().to_string(), "50.0");
/// ```
pub fn decimal_to_number(d: Decimal) -> Option<serde_json::Number> {
    if d.scale() == 0 {
        if let Some(i) = d.to_i64() {
            return Some(i.into());
        }
        if let Some(u) = d.to_u64() {
            return Some(u.into());
        }
    }
    // Through the decimal's text: `str::parse::<f64>` rounds correctly, unlike a
    // mantissa / 10^scale division.
    let f: f64 = d.to_string().parse().ok()?;
    serde_json::Number::from_f64(f)
}

fn serialize_number<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    if d.scale() == 0 {
        if let Some(i) = d.to_i64() {
            return s.serialize_i64(i);
        }
        if let Some(u) = d.to_u64() {
            return s.serialize_u64(u);
        }
    }
    let f: f64 = d.to_string().parse().map_err(|_| {
        serde::ser::Error::custom(format!("{d} is not representable as a JSON number"))
    })?;
    s.serialize_f64(f)
}

/// Reads a decimal from a JSON number or a numeric string.
struct DecimalVisitor;

impl Visitor<'_> for DecimalVisitor {
    type Value = Decimal;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal number, as a JSON number or a numeric string")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
        Ok(Decimal::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
        // The text of the number as JSON prints it (shortest round-trip form), which
        // is the text IBKR sent.
        let n = serde_json::Number::from_f64(v)
            .ok_or_else(|| E::custom(format!("{v} is not a finite number")))?;
        decimal_from_number(&n).map_err(|e| E::custom(format!("{n}: {e}")))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
        parse_decimal(v).map_err(|e| E::custom(format!("{v:?} is not a decimal number: {e}")))
    }
}

/// A decimal written as a JSON number.
struct AsNumber(Decimal);

impl Serialize for AsNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_number(&self.0, s)
    }
}

impl<'de> Deserialize<'de> for AsNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DecimalVisitor).map(AsNumber)
    }
}

/// A decimal written as a JSON string.
struct AsString(Decimal);

impl Serialize for AsString {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AsString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DecimalVisitor).map(AsString)
    }
}

macro_rules! decimal_form {
    ($wrapper:ident) => {
        use rust_decimal::Decimal;
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        use super::$wrapper;

        /// Writes the decimal in this form.
        pub fn serialize<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
            $wrapper(*d).serialize(s)
        }

        /// Reads the decimal from a JSON number or a numeric string.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
            $wrapper::deserialize(d).map(|w| w.0)
        }

        /// The same form for `Option<Decimal>`; use with
        /// `#[serde(default, skip_serializing_if = "Option::is_none")]` for a field IBKR may omit.
        pub mod opt {
            use super::*;

            /// Writes the decimal in this form, or `null`.
            pub fn serialize<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
                d.map($wrapper).serialize(s)
            }

            /// Reads the decimal, `null` giving `None`.
            pub fn deserialize<'de, D: Deserializer<'de>>(
                d: D,
            ) -> Result<Option<Decimal>, D::Error> {
                Ok(Option::<$wrapper>::deserialize(d)?.map(|w| w.0))
            }
        }

        /// The same form for `Option<Option<Decimal>>`, telling a missing field (`None`)
        /// from an explicit `null` (`Some(None)`); use with
        /// `#[serde(default, skip_serializing_if = "Option::is_none")]`.
        pub mod nullable {
            use super::*;

            /// Writes the decimal in this form, or `null` for `Some(None)`.
            pub fn serialize<S: Serializer>(
                d: &Option<Option<Decimal>>,
                s: S,
            ) -> Result<S::Ok, S::Error> {
                d.map(|d| d.map($wrapper)).serialize(s)
            }

            /// Reads the decimal or `null`; a missing field is left to `default` (`None`).
            pub fn deserialize<'de, D: Deserializer<'de>>(
                d: D,
            ) -> Result<Option<Option<Decimal>>, D::Error> {
                Ok(Some(Option::<$wrapper>::deserialize(d)?.map(|w| w.0)))
            }
        }

        /// The same form for `Vec<Decimal>`.
        pub mod vec {
            use super::*;

            /// Writes each decimal in this form.
            pub fn serialize<S: Serializer>(d: &[Decimal], s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(d.iter().map(|d| $wrapper(*d)))
            }

            /// Reads a list of decimals.
            pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Decimal>, D::Error> {
                Ok(Vec::<$wrapper>::deserialize(d)?
                    .into_iter()
                    .map(|w| w.0)
                    .collect())
            }
        }
    };
}

/// A [`Decimal`] sent as a JSON number, e.g. `"limitPrice": 255.63`. See the [module
/// docs](crate::num).
pub mod number {
    decimal_form!(AsNumber);
}

/// A [`Decimal`] sent as a JSON string, e.g. `"strike": "187.5"`. See the [module
/// docs](crate::num).
pub mod string {
    decimal_form!(AsString);
}

/// `Option<Option<T>>` for a field IBKR sometimes omits and sometimes sends as `null`:
/// `None` is absent, `Some(None)` is `null`, `Some(Some(v))` a value, so re-encoding
/// gives back exactly what was received. Use with
/// `#[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::num::nullable::deserialize")]`
/// (serialising needs no helper).
///
/// ```
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct Info {
///     #[serde(default, skip_serializing_if = "Option::is_none",
///             deserialize_with = "ibkr_model::num::nullable::deserialize")]
///     cusip: Option<Option<String>>,
/// }
///
/// for body in [r#"{}"#, r#"{"cusip":null}"#, r#"{"cusip":"459200101"}"#] {
///     let info: Info = serde_json::from_str(body).unwrap();
///     assert_eq!(serde_json::to_string(&info).unwrap(), body);
/// }
/// ```
pub mod nullable {
    use serde::{Deserialize, Deserializer};

    /// Reads a value or `null` into `Some(_)`; a missing field is left to `default` (`None`).
    pub fn deserialize<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// A value written as a JSON string through its `Display` and read back through
/// `FromStr`, also accepting a JSON number; e.g. a [`Conid`](crate::contracts::Conid)
/// that IBKR sends as `"265598"` in some places.
pub mod display {
    use std::fmt::Display;
    use std::str::FromStr;

    use serde::{Deserialize, Deserializer, Serializer, de};

    /// Writes the value's text as a JSON string.
    pub fn serialize<T: Display, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    /// Reads the value from a JSON string (or number) through `FromStr`.
    pub fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
    where
        T: FromStr,
        T::Err: Display,
        D: Deserializer<'de>,
    {
        let v = serde_json::Value::deserialize(d)?;
        let text = match &v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            other => return Err(de::Error::custom(format!("expected a string, got {other}"))),
        };
        text.parse().map_err(de::Error::custom)
    }

    /// The same form for `Option<T>`; use with
    /// `#[serde(default, skip_serializing_if = "Option::is_none")]`.
    pub mod opt {
        use super::*;

        /// Writes the value's text as a JSON string, or `null`.
        pub fn serialize<T: Display, S: Serializer>(
            v: &Option<T>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match v {
                Some(v) => s.collect_str(v),
                None => s.serialize_none(),
            }
        }

        /// Reads the value from a JSON string (or number), `null` giving `None`.
        pub fn deserialize<'de, T, D>(d: D) -> Result<Option<T>, D::Error>
        where
            T: FromStr,
            T::Err: Display,
            D: Deserializer<'de>,
        {
            match Option::<serde_json::Value>::deserialize(d)? {
                None => Ok(None),
                Some(v) => super::deserialize(v).map(Some).map_err(de::Error::custom),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        #[serde(with = "number")]
        n: Decimal,
        #[serde(with = "string")]
        s: Decimal,
        #[serde(default, skip_serializing_if = "Option::is_none", with = "number::opt")]
        o: Option<Decimal>,
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "number::nullable"
        )]
        z: Option<Option<Decimal>>,
        #[serde(default, with = "number::vec")]
        v: Vec<Decimal>,
    }

    fn round_trip(v: Value) -> Sample {
        let s: Sample = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(&s).unwrap(), v);
        // Through text too: what a client or the simulator would actually send.
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), v);
        s
    }

    #[test]
    fn numbers_and_strings_keep_their_form() {
        let s = round_trip(json!({"n": 655.94, "s": "655.90", "v": [50.0, 100, 0.01]}));
        assert_eq!(s.n, Decimal::new(65594, 2));
        assert_eq!(s.s.to_string(), "655.90");
        assert_eq!(s.v[0].to_string(), "50.0");
        assert_eq!(s.v[1].to_string(), "100");
        assert!(s.o.is_none() && s.z.is_none());
    }

    #[test]
    fn integers_stay_integers_and_floats_stay_floats() {
        round_trip(json!({"n": 100, "s": "0", "v": [0.0, 0], "o": 17219.125}));
        round_trip(json!({"n": 0.86656614, "s": "-0.53", "v": [], "z": null}));
        round_trip(json!({"n": -3, "s": "-1.000", "v": [1775136600000u64], "z": 12.5}));
    }

    #[test]
    fn exact_decimal_not_binary_float() {
        let s: Sample = serde_json::from_str(r#"{"n":0.1,"s":"0.2","v":[]}"#).unwrap();
        assert_eq!(s.n + s.s, Decimal::new(3, 1));
    }

    #[test]
    fn either_form_is_accepted_when_reading() {
        let s: Sample = serde_json::from_str(r#"{"n":"1.5","s":2.25,"v":["3"]}"#).unwrap();
        assert_eq!(
            (s.n, s.s, s.v[0]),
            (Decimal::new(15, 1), Decimal::new(225, 2), Decimal::from(3))
        );
        assert!(serde_json::from_str::<Sample>(r#"{"n":"x","s":"1","v":[]}"#).is_err());
        assert!(serde_json::from_str::<Sample>(r#"{"n":true,"s":"1","v":[]}"#).is_err());
    }

    #[test]
    fn scientific_notation() {
        let s: Sample = serde_json::from_str(r#"{"n":1e-7,"s":"2.5E3","v":[1E2]}"#).unwrap();
        assert_eq!(s.n, Decimal::new(1, 7));
        assert_eq!(s.s, Decimal::from(2500));
        assert_eq!(s.v[0], Decimal::from(100));
    }

    #[test]
    fn number_conversions() {
        let n: serde_json::Number = serde_json::from_str("17219.125").unwrap();
        let d = decimal_from_number(&n).unwrap();
        assert_eq!(decimal_to_number(d), Some(n));
        let big: serde_json::Number = serde_json::from_str("18446744073709551615").unwrap();
        assert_eq!(
            decimal_from_number(&big).unwrap().to_string(),
            "18446744073709551615"
        );
        assert_eq!(
            decimal_to_number(decimal_from_number(&big).unwrap()),
            Some(big)
        );
    }
}
