//! The LLM answer reader: `extract::json_object` (the JSON object in a raw, fenced or prose
//! answer) and the typed, validated parse of the four agents' answers (`llm::parse_answer`, what
//! `LlmSession::ask` does with every answer, cached or fresh).
//!
//! Invariants: what is extracted is an object, and extracting from that object's own text (raw, or
//! fenced when it holds no fence itself) gives the same object; a validated macro answer names
//! every sector exactly once.

use ae_research::llm::agents::{AnalystAnswer, BriefAnswer, CioAnswer, MacroAnswer};
use ae_research::llm::{extract, parse_answer};
use ae_shared::contracts::common::Sector;

/// `extract::json_object` over any text.
pub fn llm_extract(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Some(v) = extract::json_object(&text) else {
        return;
    };
    assert!(v.is_object(), "extracted a non-object: {v}");
    let raw = v.to_string();
    assert_eq!(extract::json_object(&raw).as_ref(), Some(&v), "raw JSON does not extract to itself");
    if !raw.contains("```") {
        let fenced = format!("Here it is:\n```json\n{raw}\n```\n");
        assert_eq!(extract::json_object(&fenced).as_ref(), Some(&v), "a fenced object does not extract to itself");
    }
}

/// The four agents' answers, each through `parse_answer` with the validation the research job uses.
pub fn llm_answer(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(m) = parse_answer::<MacroAnswer>(&text, MacroAnswer::validate) {
        assert_eq!(m.by_sector().len(), Sector::ALL.len(), "a valid macro answer covers every sector once");
    }
    if let Ok(a) = parse_answer::<AnalystAnswer>(&text, |a| a.validate("AAPL")) {
        assert!((0.0..=100.0).contains(&a.score));
    }
    let proposed = ["AAPL".to_string(), "XOM".to_string()];
    if let Ok(c) = parse_answer::<CioAnswer>(&text, |c| c.validate(&proposed)) {
        assert_eq!(c.decisions.len(), proposed.len(), "one decision per proposal");
    }
    if let Ok(b) = parse_answer::<BriefAnswer>(&text, BriefAnswer::validate) {
        assert!(!b.headline.trim().is_empty());
    }
}
