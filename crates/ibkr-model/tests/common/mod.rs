//! Helpers shared by the sample-decoding tests.

use rust_decimal::Decimal;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// Decodes a sample (from its text, as a client would), and checks that re-encoding
/// gives back the same JSON value, both as a value and through text.
pub fn round_trip<T: DeserializeOwned + Serialize>((name, text): (&str, &str)) -> T {
    let original: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let typed: T =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: decode failed: {e}"));
    let again = serde_json::to_value(&typed).unwrap();
    assert_eq!(again, original, "{name}: re-encoding differs");
    let text_again = serde_json::to_string(&typed).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&text_again).unwrap(),
        original,
        "{name}: re-encoded text differs"
    );
    typed
}

pub fn assert_no_extra(name: &str, what: &str, extra: &ibkr_model::Extra) {
    assert!(
        extra.is_empty(),
        "{name}: unmodelled fields in {what}: {extra:?}"
    );
}
