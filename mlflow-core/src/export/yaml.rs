//! A JSON value written as block-style YAML: what `kubectl`, `argo submit` and the KFP SDK read,
//! and what people review in a pull request. Strings that YAML could read as something else
//! (`true`, `1.0`, `null`, `- x`, `a: b`, ...) are double-quoted with JSON's escapes, which YAML's
//! double-quoted style shares; keys are sorted (serde_json's map), so the output is stable.

use serde_json::Value;

/// `value` as a YAML document (block style, two-space indentation, ending with a newline).
///
/// ```
/// let doc = serde_json::json!({"kind": "Workflow", "spec": {"args": ["step", "--node", "true", ""], "count": 2}});
/// let yaml = mlflow_core::export::to_yaml(&doc);
/// let expected = "kind: Workflow\nspec:\n  args:\n    - step\n    - \"--node\"\n    - \"true\"\n    - \"\"\n  count: 2\n";
/// assert_eq!(yaml, expected);
/// ```
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => write_list(&mut out, items, 0),
        scalar => {
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
    out
}

fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, indent: usize) {
    for (key, value) in map {
        push_indent(out, indent);
        out.push_str(&string_text(key));
        out.push(':');
        write_value_after_key(out, value, indent);
    }
}

fn write_list(out: &mut String, items: &[Value], indent: usize) {
    for item in items {
        push_indent(out, indent);
        out.push('-');
        match item {
            Value::Object(map) if !map.is_empty() => {
                // The first key goes on the dash's line; the others align with it.
                let mut first = true;
                for (key, value) in map {
                    if first {
                        out.push(' ');
                        first = false;
                    } else {
                        push_indent(out, indent + 2);
                    }
                    out.push_str(&string_text(key));
                    out.push(':');
                    write_value_after_key(out, value, indent + 2);
                }
            }
            // A nested list on the next lines, or a scalar on the dash's line.
            other => write_value_after_key(out, other, indent),
        }
    }
}

/// After `key:` (or a list's `-`) at `indent`: a scalar on the same line, a collection on the
/// next lines.
fn write_value_after_key(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_map(out, map, indent + 2);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            write_list(out, items, indent + 2);
        }
        scalar => {
            out.push(' ');
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
}

fn push_indent(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string_text(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// A string plain when YAML reads it back as the same string, else double-quoted.
fn string_text(s: &str) -> String {
    if is_plain(s) { s.to_owned() } else { Value::String(s.to_owned()).to_string() }
}

/// Conservative: letters, digits and `-_./=+@{}$'[]()` not starting with an indicator, and not
/// something YAML 1.1 or 1.2 resolves to another type.
fn is_plain(s: &str) -> bool {
    let Some(first) = s.chars().next() else { return false };
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=+@$()".contains(c);
    if !s.chars().all(safe) || !(first.is_ascii_alphanumeric() || first == '/' || first == '$') {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    let reserved = ["true", "false", "yes", "no", "on", "off", "y", "n", "null", "nan", "inf"];
    if reserved.contains(&lower.as_str()) {
        return false;
    }
    // Anything starting like a number (ints, floats, octal, sexagesimal, dates) is quoted.
    !(first.is_ascii_digit() || (first == '.' && s.len() > 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ambiguous_strings_are_quoted_and_structure_is_block_style() {
        let doc = json!({
            "a": ["x", 1, 2.5, null, false, "no", "1.0", "0o17", "12:30", "- y", "a: b", "#c", "{{tasks.x}}"],
            "b": [{"name": "p", "value": "{{inputs.parameters.p}}"}, {"k": {"deep": []}}],
            "empty": {},
            "nested": [["u", "v"]],
            "multi": "line\nbreak",
        });
        let yaml = to_yaml(&doc);
        let expected = "a:\n  - x\n  - 1\n  - 2.5\n  - null\n  - false\n  - \"no\"\n  - \"1.0\"\n  - \"0o17\"\n  - \"12:30\"\n  - \"- y\"\n  - \"a: b\"\n  - \"#c\"\n  - \"{{tasks.x}}\"\nb:\n  - name: p\n    value: \"{{inputs.parameters.p}}\"\n  - k:\n      deep: []\nempty: {}\nmulti: \"line\\nbreak\"\nnested:\n  -\n    - u\n    - v\n";
        assert_eq!(yaml, expected);
    }
}
