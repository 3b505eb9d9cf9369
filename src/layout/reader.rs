//! A strict, span-keeping reader over the parsed TOML tree.
//!
//! The `toml` crate parses; this module only walks its spanned tree. Each
//! table remembers which keys the validator asked for, so whatever is left
//! over is an unknown key — reported with its location and a did-you-mean
//! among the keys that *are* accepted there. Type errors are reported per
//! value and the walk goes on, so one run finds every problem.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::diag::{Sink, cut};

pub(crate) type Value<'a> = Spanned<DeValue<'a>>;

/// A table being validated. `what` names it in messages ("signal `api`").
pub(crate) struct Table<'t, 'i> {
    entries: &'t DeTable<'i>,
    pub span: Range<usize>,
    pub what: String,
    asked: Vec<&'static str>,
}

impl<'t, 'i> Table<'t, 'i> {
    pub fn new(entries: &'t DeTable<'i>, span: Range<usize>, what: impl Into<String>) -> Self {
        Table {
            entries,
            span,
            what: what.into(),
            asked: Vec::new(),
        }
    }

    /// Looks a key up and records it as accepted here.
    pub fn get(&mut self, key: &'static str) -> Option<&'t Value<'i>> {
        self.asked.push(key);
        self.entries.get(key)
    }

    /// The span of a key itself (for "missing"/"conflicting" messages).
    pub fn key_span(&self, key: &str) -> Option<Range<usize>> {
        self.entries
            .iter()
            .find(|(k, _)| k.get_ref() == key)
            .map(|(k, _)| k.span())
    }

    pub fn has(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    /// Reports every key nobody asked for.
    pub fn finish(self, sink: &mut Sink<'_>) {
        for (key, _) in self.entries {
            let name: &str = key.get_ref();
            if !self.asked.contains(&name) {
                let hint = sink.suggest(name, self.asked.iter().copied());
                sink.error_hint(
                    &key.span(),
                    format!("unknown key `{}` in {}", cut(name), self.what),
                    hint,
                );
            }
        }
    }
}

pub(crate) fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

fn wrong_type(sink: &mut Sink<'_>, v: &Value<'_>, key: &str, expected: &str) {
    sink.error(
        &v.span(),
        format!(
            "`{}` must be {expected}, found {}",
            cut(key),
            type_name(v.get_ref())
        ),
    );
}

pub(crate) fn as_str<'t>(sink: &mut Sink<'_>, v: &'t Value<'_>, key: &str) -> Option<&'t str> {
    match v.get_ref() {
        DeValue::String(s) => Some(s),
        _ => {
            wrong_type(sink, v, key, "a string");
            None
        }
    }
}

pub(crate) fn as_bool(sink: &mut Sink<'_>, v: &Value<'_>, key: &str) -> Option<bool> {
    match v.get_ref() {
        DeValue::Boolean(b) => Some(*b),
        _ => {
            wrong_type(sink, v, key, "true or false");
            None
        }
    }
}

pub(crate) fn as_integer(sink: &mut Sink<'_>, v: &Value<'_>, key: &str) -> Option<i64> {
    match v.get_ref() {
        DeValue::Integer(i) => parse_integer(i.as_str(), i.radix()).or_else(|| {
            sink.error(&v.span(), format!("`{}` is out of range", cut(key)));
            None
        }),
        _ => {
            wrong_type(sink, v, key, "an integer");
            None
        }
    }
}

/// A number as written: TOML integers and floats both qualify. The text is
/// kept so thresholds compare exactly as written.
pub(crate) fn number_text(v: &Value<'_>) -> Option<String> {
    match v.get_ref() {
        DeValue::Integer(i) => parse_integer(i.as_str(), i.radix()).map(|n| n.to_string()),
        DeValue::Float(f) => Some(f.as_str().replace('_', "")),
        _ => None,
    }
}

fn parse_integer(text: &str, radix: u32) -> Option<i64> {
    let digits = text.replace('_', "");
    let digits = match radix {
        16 => digits.trim_start_matches("0x"),
        8 => digits.trim_start_matches("0o"),
        2 => digits.trim_start_matches("0b"),
        _ => &digits,
    };
    i64::from_str_radix(digits, radix).ok()
}

pub(crate) fn as_array<'t, 'i>(
    sink: &mut Sink<'_>,
    v: &'t Value<'i>,
    key: &str,
) -> Option<&'t [Value<'i>]> {
    match v.get_ref() {
        DeValue::Array(a) => Some(a.as_ref()),
        _ => {
            wrong_type(sink, v, key, "an array");
            None
        }
    }
}

pub(crate) fn as_table<'t, 'i>(
    sink: &mut Sink<'_>,
    v: &'t Value<'i>,
    key: &str,
) -> Option<&'t DeTable<'i>> {
    match v.get_ref() {
        DeValue::Table(t) => Some(t),
        _ => {
            wrong_type(sink, v, key, "a table");
            None
        }
    }
}

/// An array of strings (argv, role lists, inline checklist items).
pub(crate) fn as_string_list(
    sink: &mut Sink<'_>,
    v: &Value<'_>,
    key: &str,
) -> Option<Vec<Spanned<String>>> {
    let items = as_array(sink, v, key)?;
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for item in items {
        match item.get_ref() {
            DeValue::String(s) => out.push(Spanned::new(item.span(), s.to_string())),
            _ => {
                sink.error(
                    &item.span(),
                    format!(
                        "`{}` must list strings, found {}",
                        cut(key),
                        type_name(item.get_ref())
                    ),
                );
                ok = false;
            }
        }
    }
    ok.then_some(out)
}
