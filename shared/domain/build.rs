//! The compiled-in rule book in the form the binaries read at start-up (issue 15, cold start):
//! `rules/default.toml` converted to JSON here, once, at build time. The TOML stays the one source
//! (people edit it; a deployment's own rules file is TOML too); parsing its JSON twin at init takes
//! a fraction of the TOML parse. `rules::tests` checks both give the same rule book.

use std::path::PathBuf;

fn json(value: toml::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        toml::Value::String(s) => J::String(s),
        toml::Value::Integer(i) => J::from(i),
        toml::Value::Float(f) => J::from(f),
        toml::Value::Boolean(b) => J::Bool(b),
        // The rule book's dates are strings; a TOML date literal would be read as its text.
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(items) => J::Array(items.into_iter().map(json).collect()),
        toml::Value::Table(table) => {
            J::Object(table.into_iter().map(|(k, v)| (k, json(v))).collect())
        }
    }
}

fn main() {
    let source = "rules/default.toml";
    println!("cargo::rerun-if-changed={source}");
    let text = std::fs::read_to_string(source).expect("rules/default.toml is readable");
    let value: toml::Value = toml::from_str(&text).expect("rules/default.toml is valid TOML");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("default-rules.json"), json(value).to_string())
        .expect("OUT_DIR is writable");
}
