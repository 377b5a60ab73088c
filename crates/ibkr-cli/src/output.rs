//! Human or JSON output.

use comfy_table::presets::{NOTHING, UTF8_BORDERS_ONLY};
use comfy_table::{Cell, Table};
use serde::Serialize;

pub struct Output {
    json: bool,
}

impl Output {
    pub fn new(json: bool) -> Self {
        Output { json }
    }

    pub fn json(&self) -> bool {
        self.json
    }

    /// Prints `value` as JSON, or the human rows.
    pub fn show<T: Serialize>(
        &self,
        value: &T,
        human: impl FnOnce() -> Vec<(&'static str, String)>,
    ) -> Result<(), serde_json::Error> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value)?);
        } else {
            println!("{}", key_values(&human()));
        }
        Ok(())
    }
}

/// Aligned `key  value` lines.
pub fn key_values(rows: &[(&str, String)]) -> String {
    let mut t = Table::new();
    t.load_preset(NOTHING);
    for (k, v) in rows {
        t.add_row(vec![Cell::new(k), Cell::new(v)]);
    }
    t.to_string()
        .lines()
        .map(|l| l.trim_end().trim_start_matches(' '))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn yes_no(b: bool) -> String {
    if b { "yes".into() } else { "no".into() }
}

pub fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(T::to_string).unwrap_or_else(|| "-".into())
}

/// The start of a secret-ish identifier, for human output.
pub fn masked(s: &str) -> String {
    let head: String = s.chars().take(6).collect();
    if s.chars().count() > 6 {
        format!("{head}…")
    } else {
        head
    }
}

/// A bordered table with this header.
pub fn table<const N: usize>(header: [&str; N]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY);
    t.set_header(header.iter().map(Cell::new).collect::<Vec<_>>());
    t
}
