//! The research brief: an HTML email that reads on a phone (one column, small tables) with a
//! plain-text twin. Regime and risks, the eleven sectors, population changes, and the ratings
//! table with NEW / BUY / HOLD / EXIT marked, and what drove the predictor's view of the names it
//! explained. A quant-only run says so at the top.

use std::collections::BTreeMap;

use ae_shared::TradingDay;
use ae_shared::contracts::predictions::Driver;
use ae_shared::contracts::signals::{ResearchMode, Signals};
use ae_shared::mail::{Email, badge, esc, html_open};
use ae_shared::types::Ticker;

use crate::llm::agents::BriefAnswer;
use crate::population::Rotation;

/// What the brief shows besides the signals.
#[derive(Debug, Clone)]
pub struct BriefInput<'a> {
    /// The signals written.
    pub signals: &'a Signals,
    /// Population changes.
    pub rotation: &'a Rotation,
    /// The quant baseline's evidence.
    pub quant_evidence: &'a str,
    /// The consolidator's text, when it ran.
    pub commentary: Option<&'a BriefAnswer>,
    /// What drove the predictor's newest view of the names it explained, with its date.
    pub model_drivers: Option<(TradingDay, &'a BTreeMap<Ticker, Vec<Driver>>)>,
}

/// Builds the brief.
pub fn build(b: &BriefInput<'_>) -> Email {
    let s = b.signals;
    let quant_only = s.mode == ResearchMode::QuantOnly;
    let enters = s.universe.iter().filter(|e| e.signal == ae_shared::contracts::common::SignalAction::Enter).count();
    let exits = b.rotation.exits.len();
    let subject = format!(
        "alpha-engine research brief {}: {} regime, {} ENTER, {} EXIT{}",
        s.date,
        s.market_regime,
        enters,
        exits,
        if quant_only { " [quant-only]" } else { "" }
    );
    let mut h = String::new();
    let mut t = String::new();
    h.push_str(&html_open());
    h.push_str(&format!("<h1>Research brief — {}</h1>", s.date));
    t.push_str(&format!("RESEARCH BRIEF {}\n\n", s.date));
    if quant_only {
        h.push_str(&format!(
            "<p>{} No LLM agents ran: scores are 100% quant and there is no analyst commentary.</p>",
            badge("QUANT-ONLY", "q")
        ));
        t.push_str("QUANT-ONLY: no LLM agents ran; scores are 100% quant and there is no analyst commentary.\n\n");
    }
    // Regime and risks.
    h.push_str("<h2>Regime</h2>");
    h.push_str(&format!(
        "<p><b>{}</b> (quant baseline: {}; {})",
        s.market_regime,
        s.quant_regime,
        esc(b.quant_evidence)
    ));
    t.push_str(&format!("REGIME: {} (quant baseline: {}; {})\n", s.market_regime, s.quant_regime, b.quant_evidence));
    if let Some(l) = s.llm_regime {
        h.push_str(&format!("; macro economist: {l}"));
        t.push_str(&format!("macro economist: {l}\n"));
    }
    h.push_str("</p>");
    if let Some(c) = b.commentary {
        h.push_str(&format!("<p><b>{}</b></p><p>{}</p>", esc(&c.headline), esc(&c.summary)));
        t.push_str(&format!("\n{}\n{}\n", c.headline, c.summary));
        if !c.risks.is_empty() {
            h.push_str("<p>Risks:</p><ul>");
            t.push_str("Risks:\n");
            for r in &c.risks {
                h.push_str(&format!("<li>{}</li>", esc(r)));
                t.push_str(&format!("  - {r}\n"));
            }
            h.push_str("</ul>");
        }
    }
    // Sectors.
    h.push_str("<h2>Sectors</h2><table><tr><th>Sector</th><th>Rating</th><th class=\"n\">Mod.</th><th>Why</th></tr>");
    t.push_str("\nSECTORS\n");
    for (sector, v) in &s.sector_ratings {
        let (label, class) = match v.rating {
            ae_shared::contracts::common::SectorRating::Overweight => ("over", "buy"),
            ae_shared::contracts::common::SectorRating::MarketWeight => ("market", "hold"),
            ae_shared::contracts::common::SectorRating::Underweight => ("under", "sell"),
        };
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{:.2}</td><td>{}</td></tr>",
            esc(sector.name()),
            badge(label, class),
            v.modifier,
            esc(&v.rationale)
        ));
        t.push_str(&format!("  {:<24} {:<7} {:.2}  {}\n", sector.name(), label, v.modifier, v.rationale));
    }
    h.push_str("</table>");
    // Population changes.
    h.push_str(&format!("<h2>Population ({} names)</h2>", s.population.len()));
    t.push_str(&format!("\nPOPULATION ({} names)\n", s.population.len()));
    if b.rotation.entries.is_empty() && b.rotation.exits.is_empty() {
        h.push_str("<p>No changes this week.</p>");
        t.push_str("  no changes\n");
    } else {
        h.push_str("<table>");
        for c in &b.rotation.entries {
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                badge("NEW", "new"),
                esc(c.ticker.as_str()),
                esc(&c.reason)
            ));
            t.push_str(&format!("  + {} {}\n", c.ticker, c.reason));
        }
        for c in &b.rotation.exits {
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                badge("EXIT", "sell"),
                esc(c.ticker.as_str()),
                esc(&c.reason)
            ));
            t.push_str(&format!("  - {} {}\n", c.ticker, c.reason));
        }
        h.push_str("</table>");
    }
    // Ratings.
    let new: std::collections::BTreeSet<&str> = b.rotation.entries.iter().map(|c| c.ticker.as_str()).collect();
    let mut rows: Vec<&ae_shared::contracts::signals::SignalEntry> = s.universe.iter().collect();
    rows.sort_by(|a, b| {
        b.score
            .map(|x| x.get())
            .unwrap_or(-1.0)
            .total_cmp(&a.score.map(|x| x.get()).unwrap_or(-1.0))
            .then(a.ticker.cmp(&b.ticker))
    });
    h.push_str("<h2>Ratings</h2><table><tr><th>Ticker</th><th>Sector</th><th class=\"n\">Score</th><th>Signal</th><th>Conv.</th></tr>");
    t.push_str("\nRATINGS\n");
    for e in rows {
        let sig = e.signal.to_string();
        let class = match sig.as_str() {
            "ENTER" => "buy",
            "EXIT" | "REDUCE" => "sell",
            _ => "hold",
        };
        let score = e.score.map(|x| format!("{:.1}", x.get())).unwrap_or_else(|| "–".into());
        let mark = if new.contains(e.ticker.as_str()) { format!(" {}", badge("NEW", "new")) } else { String::new() };
        h.push_str(&format!(
            "<tr><td><b>{}</b>{mark}</td><td>{}</td><td class=\"n\">{score}</td><td>{} {:?}</td><td>{:?}</td></tr>",
            esc(e.ticker.as_str()),
            esc(e.sector.name()),
            badge(&sig, class),
            e.rating,
            e.conviction
        ));
        t.push_str(&format!(
            "  {:<6} {:<24} {:>5} {:<6} {:?} {:?}{}\n",
            e.ticker,
            e.sector.name(),
            score,
            sig,
            e.rating,
            e.conviction,
            if mark.is_empty() { "" } else { " NEW" }
        ));
    }
    h.push_str("</table>");
    if let Some((day, drivers)) = b.model_drivers {
        let named: Vec<_> = s.universe.iter().filter_map(|e| Some((e, drivers.get(&e.ticker)?))).collect();
        if !named.is_empty() {
            h.push_str(&format!(
                "<h2>What drove the model</h2><p>The predictor's largest feature contributions (SHAP, in basis points of the predicted alpha) for the names it explained on {day}.</p><table>"
            ));
            t.push_str(&format!("\nWHAT DROVE THE MODEL (predictions of {day}, SHAP in bps)\n"));
            for (e, ds) in named {
                let parts: Vec<String> =
                    ds.iter().map(|d| format!("{} {:+.0}", d.feature, d.contribution * 10_000.0)).collect();
                h.push_str(&format!(
                    "<tr><td><b>{}</b></td><td>{}</td></tr>",
                    esc(e.ticker.as_str()),
                    esc(&parts.join(", "))
                ));
                t.push_str(&format!("  {:<6} {}\n", e.ticker, parts.join(", ")));
            }
            h.push_str("</table>");
        }
    }
    if !s.notes.is_empty() {
        h.push_str("<h2>Notes</h2><ul>");
        t.push_str("\nNOTES\n");
        for n in &s.notes {
            h.push_str(&format!("<li>{}</li>", esc(n)));
            t.push_str(&format!("  - {n}\n"));
        }
        h.push_str("</ul>");
    }
    h.push_str(&format!(
        "<p class=\"s\">run {} · {} inputs</p></div></body></html>",
        esc(&s.produced_by.run_id),
        s.produced_by.inputs.len()
    ));
    t.push_str(&format!("\nrun {}\n", s.produced_by.run_id));
    Email { subject, html: h, text: t, images: vec![] }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_brief_says_what_drove_the_model_for_the_names_it_explained() {
        let signals = ae_testkit::fixtures::signals();
        let rotation = Rotation::default();
        let name = signals.universe[0].ticker.clone();
        let drivers = BTreeMap::from([(
            name.clone(),
            vec![
                Driver { feature: "sector_rel_ret_5".into(), contribution: -0.0123 },
                Driver { feature: "research_score".into(), contribution: 0.0041 },
            ],
        )]);
        let day = signals.date;
        let input = |m| BriefInput {
            signals: &signals,
            rotation: &rotation,
            quant_evidence: "",
            commentary: None,
            model_drivers: m,
        };
        let email = build(&input(Some((day, &drivers))));
        assert!(email.html.contains("What drove the model"), "{}", email.html);
        assert!(email.text.contains(&format!("{name:<6} sector_rel_ret_5 -123, research_score +41")), "{}", email.text);
        assert!(!build(&input(None)).text.contains("WHAT DROVE THE MODEL"));
    }
}
