//! What a command returns: an ordered record printed as aligned `key: value`
//! text or as JSON, with the same keys.

/// A value in a [`Report`].
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Int(i128),
    Bool(bool),
    Null,
    /// Lines (logs): text prints one per line, JSON an array of strings.
    Lines(Vec<String>),
    /// Nested records (markets, tokens): text prints them indented.
    List(Vec<Report>),
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
macro_rules! int_value {
    ($($t:ty),*) => {$(impl From<$t> for Value { fn from(v: $t) -> Self { Value::Int(v as i128) } })*};
}
int_value!(u8, u16, u32, u64, i32, i64, i128, usize);
impl From<anchor_lang::prelude::Pubkey> for Value {
    fn from(k: anchor_lang::prelude::Pubkey) -> Self {
        Value::Text(k.to_string())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map(Into::into).unwrap_or(Value::Null)
    }
}

/// The result of a command: a title and ordered fields.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    pub title: String,
    pub fields: Vec<(String, Value)>,
}

impl Report {
    pub fn new(title: impl Into<String>) -> Self {
        Self { title: title.into(), fields: Vec::new() }
    }

    /// Append a field (keys are snake_case; text output shows them with spaces).
    pub fn field(mut self, key: &str, v: impl Into<Value>) -> Self {
        self.push(key, v);
        self
    }

    pub fn push(&mut self, key: &str, v: impl Into<Value>) {
        self.fields.push((key.to_string(), v.into()));
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// A text field's value (or an integer's decimal form).
    pub fn text(&self, key: &str) -> Option<String> {
        match self.get(key)? {
            Value::Text(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub fn list(&self, key: &str) -> &[Report] {
        match self.get(key) {
            Some(Value::List(v)) => v,
            _ => &[],
        }
    }

    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Text => self.to_text(),
            Format::Json => self.to_json(),
        }
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write_text(&mut out, 0);
        out
    }

    fn write_text(&self, out: &mut String, indent: usize) {
        let pad = " ".repeat(indent);
        if !self.title.is_empty() {
            out.push_str(&format!("{pad}{}\n", self.title));
        }
        let width = self.fields.iter().filter(|(_, v)| !matches!(v, Value::List(_) | Value::Lines(_))).map(|(k, _)| k.len()).max().unwrap_or(0);
        for (k, v) in &self.fields {
            let label = k.replace('_', " ");
            match v {
                Value::List(items) => {
                    out.push_str(&format!("{pad}  {label} ({}):\n", items.len()));
                    for r in items {
                        r.write_text(out, indent + 4);
                    }
                }
                Value::Lines(lines) => {
                    out.push_str(&format!("{pad}  {label}:\n"));
                    for l in lines {
                        out.push_str(&format!("{pad}    {l}\n"));
                    }
                }
                scalar => out.push_str(&format!("{pad}  {label:<width$}  {}\n", scalar_text(scalar))),
            }
        }
    }

    /// The same fields as JSON, in order; the title is the `command` key.
    pub fn to_json(&self) -> String {
        let mut out = serde_json::to_string_pretty(&Titled(self)).expect("a report serializes");
        out.push('\n');
        out
    }
}

/// A top-level report: its title first, as `command`.
struct Titled<'a>(&'a Report);

impl serde::Serialize for Titled<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let r = self.0;
        let title = usize::from(!r.title.is_empty());
        let mut m = s.serialize_map(Some(title + r.fields.len()))?;
        if title == 1 {
            m.serialize_entry("command", &r.title)?;
        }
        for (k, v) in &r.fields {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// A nested report (an element of a list): its fields only.
impl serde::Serialize for Report {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.fields.iter().map(|(k, v)| (k, v)))
    }
}

impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Text(t) => s.serialize_str(t),
            Value::Int(i) => s.serialize_i128(*i),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Null => s.serialize_unit(),
            Value::Lines(lines) => s.collect_seq(lines),
            Value::List(items) => s.collect_seq(items),
        }
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
        Value::Null => "-".to_string(),
        Value::Lines(_) | Value::List(_) => String::new(),
    }
}

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_text_and_valid_json_with_the_same_keys() {
        let r = Report::new("status")
            .field("nav_per_share", "1.000123")
            .field("slots", 42u64)
            .field("paused", false)
            .field("none", Option::<u64>::None)
            .field("logs", Value::Lines(vec!["a \"quoted\" line".into()]))
            .field("tokens", Value::List(vec![Report::new("").field("address", "X"), Report::new("").field("address", "Y")]));
        let t = r.to_text();
        assert!(t.contains("nav per share  1.000123"), "{t}");
        assert!(t.contains("tokens (2):"), "{t}");
        let j: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(j["command"], "status");
        assert_eq!(j["nav_per_share"], "1.000123");
        assert_eq!(j["slots"], 42);
        assert_eq!(j["paused"], false);
        assert!(j["none"].is_null());
        assert_eq!(j["logs"][0], "a \"quoted\" line");
        assert_eq!(j["tokens"][1]["address"], "Y");
        let empty: serde_json::Value = serde_json::from_str(&Report::new("").to_json()).unwrap();
        assert!(empty.as_object().unwrap().is_empty());
    }
}
