//! Getting the JSON object out of a model's answer: raw JSON, a fenced block, or JSON wrapped in
//! prose. Braces inside strings (and escaped quotes) do not confuse the scanner.

use serde_json::Value;

/// The first JSON object in `text`, however it is wrapped.
pub fn json_object(text: &str) -> Option<Value> {
    let t = text.trim();
    if let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(t) {
        return Some(v);
    }
    // A fenced block: ```json ... ``` or ``` ... ```.
    let mut rest = t;
    while let Some(start) = rest.find("```") {
        let after = &rest[start + 3..];
        let body_start = after.find('\n').map(|i| i + 1).unwrap_or(0);
        let body = &after[body_start..];
        if let Some(end) = body.find("```") {
            if let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(body[..end].trim()) {
                return Some(v);
            }
            rest = &body[end + 3..];
        } else {
            break;
        }
    }
    // Prose around a balanced object: try each '{' in turn.
    for (i, _) in t.match_indices('{') {
        if let Some(end) = balanced_end(&t[i..])
            && let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(&t[i..i + end])
        {
            return Some(v);
        }
    }
    None
}

/// Length of the balanced `{...}` at the start of `s`, aware of strings and escapes.
fn balanced_end(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_str = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if in_str {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '{' => depth += 1,
            '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extraction_table() {
        let cases = [
            // TC1: raw JSON.
            (r#"{"score": 70}"#, Some(70)),
            // TC2: a fenced block with a language tag.
            ("Here you go:\n```json\n{\"score\": 71}\n```\nThanks.", Some(71)),
            // TC3: a bare fence.
            ("```\n{\"score\": 72}\n```", Some(72)),
            // TC4: prose around the object, with braces and quotes inside strings.
            ("I think {not json} but: {\"thesis\": \"a {brace} and a \\\"quote\\\"\", \"score\": 73} -- end", Some(73)),
            // TC5: nothing usable.
            ("I cannot answer that.", None),
            // TC6: a truncated object.
            ("{\"score\": 74, \"thesis\": \"cut off", None),
        ];
        for (i, (text, want)) in cases.iter().enumerate() {
            let got = json_object(text).and_then(|v| v["score"].as_i64());
            assert_eq!(got, *want, "TC{}", i + 1);
        }
    }
}
