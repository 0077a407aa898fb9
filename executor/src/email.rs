//! The EOD email: reads on a phone (one column, small tables). Headline numbers first, then any
//! integrity breach in red, the equity curve against the benchmark (inline PNG), positions, the
//! day's trades, risk events and the integrity checks; with a plain-text twin.

use ae_shared::contracts::common::Side;
use ae_shared::contracts::eod::EodReport;
// Two decimals; a value that is not finite prints as Rust prints it (as this email always did).
use ae_shared::fmt::pct_unguarded as pct;
use ae_shared::fmt::usd;
use ae_shared::mail::{Email, HTML_CLOSE, badge, esc, html_open};

use crate::chart::{CHART_CID, chart_image};
use crate::ledger::EodRow;

/// Builds the email.
pub fn build(r: &EodReport, history: &[EodRow], png: Vec<u8>) -> Email {
    let breaches: Vec<_> = r.integrity.iter().filter(|c| !c.passed).collect();
    let subject = format!(
        "alpha-engine EOD {}: NAV {} ({} vs {} {}, alpha {}){}",
        r.date,
        usd(r.nav.get()),
        pct(r.daily_return.get()),
        r.benchmark.name,
        pct(r.benchmark.daily_return.get()),
        pct(r.alpha),
        if breaches.is_empty() { String::new() } else { format!(" — {} INTEGRITY BREACH(ES)", breaches.len()) }
    );
    let mut h = html_open();
    let mut t = String::new();
    h.push_str(&format!("<h1>End of day — {}</h1>", r.date));
    t.push_str(&format!("END OF DAY {}\n\n", r.date));
    if !breaches.is_empty() {
        h.push_str(
            "<p style=\"background:#f8d7da;color:#721c24;padding:8px;border-radius:4px\"><b>Integrity breach:</b> ",
        );
        h.push_str(
            &breaches.iter().map(|c| format!("{} — {}", esc(&c.name), esc(&c.detail))).collect::<Vec<_>>().join("<br>"),
        );
        h.push_str("</p>");
        for c in &breaches {
            t.push_str(&format!("INTEGRITY BREACH {}: {}\n", c.name, c.detail));
        }
        t.push('\n');
    }
    let mut rows = vec![
        ("NAV", usd(r.nav.get())),
        ("Cash", usd(r.cash.get())),
        ("Today", pct(r.daily_return.get())),
        (r.benchmark.name.as_str(), pct(r.benchmark.daily_return.get())),
        ("Alpha today (portfolio − benchmark)", pct(r.alpha)),
        (
            "Since inception",
            format!(
                "{} vs {} (alpha {})",
                pct(r.cumulative.portfolio.get()),
                pct(r.cumulative.benchmark.get()),
                pct(r.cumulative.alpha)
            ),
        ),
        ("Drawdown from peak", pct(r.drawdown)),
        ("Realized P&L today", usd(r.realized_pnl.get())),
        ("Unrealized P&L", usd(r.unrealized_pnl.get())),
        ("Turnover", format!("{:.1}%", r.turnover * 100.0)),
        ("Slippage (mean)", r.slippage_bps_mean.map(|b| format!("{:+.1} bp", b.get())).unwrap_or_else(|| "—".into())),
    ];
    if let Some(h) = &r.risk_headline {
        rows.push(("Risk this morning", h.clone()));
    }
    if let Some(a) = &r.attribution {
        rows.push((
            "Today by the risk model",
            format!(
                "market {}, sectors {}, styles {}, specific {}, trading {}",
                pct(a.market),
                pct(a.sector),
                pct(a.style),
                pct(a.specific),
                pct(a.trading)
            ),
        ));
    }
    let breakers: Vec<&str> = r
        .risk_events
        .iter()
        .filter(|e| ae_rules::Reason::from_code(&e.rule).is_some_and(ae_rules::Reason::is_breaker))
        .map(|e| e.rule.as_str())
        .collect();
    if !breakers.is_empty() {
        rows.push(("Circuit breakers fired", breakers.join(", ")));
    }
    if let Some(rec) = r.dividends_receivable {
        rows.push(("Dividends receivable", usd(rec.get())));
    }
    for d in &r.dividends {
        let what = if d.paid {
            format!("paid {}", usd(d.amount.get()))
        } else {
            format!("{} due {}", usd(d.amount.get()), d.pay_date)
        };
        rows.push(("Dividend", format!("{} × {} (ex {}): {what}", d.ticker, d.shares, d.ex_date)));
    }
    h.push_str("<table>");
    for (k, v) in &rows {
        h.push_str(&format!("<tr><td>{}</td><td class=\"n\"><b>{}</b></td></tr>", esc(k), esc(v)));
        t.push_str(&format!("{k}: {v}\n"));
    }
    h.push_str("</table>");
    h.push_str(&format!(
        "<h2>Equity vs {}</h2><img src=\"cid:{CHART_CID}\" alt=\"equity curve against the benchmark since inception\" style=\"width:100%;max-width:640px;height:auto\">",
        esc(&r.benchmark.name)
    ));
    if history.len() > 1 {
        h.push_str(&format!("<p class=\"s\">{} trading days since {}.</p>", history.len(), r.cumulative.since));
    }

    h.push_str(&format!("<h2>Positions ({})</h2>", r.positions.len()));
    t.push_str(&format!("\nPOSITIONS ({})\n", r.positions.len()));
    if r.positions.is_empty() {
        h.push_str("<p class=\"s\">All cash.</p>");
    } else {
        h.push_str("<table><tr><th>Symbol</th><th class=\"n\">Shares</th><th class=\"n\">Mark</th><th class=\"n\">Weight</th><th class=\"n\">P&amp;L</th></tr>");
        for p in &r.positions {
            h.push_str(&format!(
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{:.2}</td><td class=\"n\">{:.1}%</td><td class=\"n\">{}</td></tr>",
                esc(p.ticker.as_str()),
                p.shares,
                p.mark.get(),
                p.weight.get() * 100.0,
                usd(p.unrealized_pnl.get())
            ));
            t.push_str(&format!(
                "{} {} @ {:.2} ({:.1}%) {}\n",
                p.ticker,
                p.shares,
                p.mark.get(),
                p.weight.get() * 100.0,
                usd(p.unrealized_pnl.get())
            ));
        }
        h.push_str("</table>");
    }

    h.push_str(&format!("<h2>Today's trades ({})</h2>", r.fills.len()));
    t.push_str(&format!("\nTRADES ({})\n", r.fills.len()));
    if r.fills.is_empty() {
        h.push_str("<p class=\"s\">No fills today.</p>");
    } else {
        h.push_str("<table><tr><th></th><th>Symbol</th><th class=\"n\">Shares</th><th class=\"n\">Price</th><th class=\"n\">Slip</th><th>Order</th></tr>");
        for f in &r.fills {
            let (label, class) = match f.side {
                Side::Buy => ("BUY", "buy"),
                Side::Sell => ("SELL", "sell"),
            };
            let why = f.order_id.rsplit(':').next().unwrap_or("");
            let slip = f.slippage_bps.map(|b| format!("{:+.1} bp", b.get())).unwrap_or_else(|| "—".into());
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{:.2}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                badge(label, class),
                esc(f.ticker.as_str()),
                f.shares,
                f.price.get(),
                esc(&slip),
                esc(why)
            ));
            t.push_str(&format!("{label} {} {} @ {:.2} slip {slip} ({why})\n", f.ticker, f.shares, f.price.get()));
        }
        h.push_str("</table>");
    }

    h.push_str(&format!("<h2>Risk events ({})</h2>", r.risk_events.len()));
    t.push_str(&format!("\nRISK EVENTS ({})\n", r.risk_events.len()));
    if r.risk_events.is_empty() {
        h.push_str("<p class=\"s\">None.</p>");
    } else {
        h.push_str("<table>");
        for e in &r.risk_events {
            let who = e.ticker.as_ref().map(|t| t.to_string()).unwrap_or_default();
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                badge(&e.rule, "q"),
                esc(&who),
                esc(&e.detail)
            ));
            t.push_str(&format!("{} {who} {}\n", e.rule, e.detail));
        }
        h.push_str("</table>");
    }

    h.push_str("<h2>Integrity</h2><table>");
    t.push_str("\nINTEGRITY\n");
    for c in &r.integrity {
        let b = if c.passed { badge("OK", "buy") } else { badge("BREACH", "sell") };
        h.push_str(&format!("<tr><td>{b}</td><td>{}</td><td>{}</td></tr>", esc(&c.name), esc(&c.detail)));
        t.push_str(&format!("[{}] {}: {}\n", if c.passed { "ok" } else { "BREACH" }, c.name, c.detail));
    }
    h.push_str("</table>");
    h.push_str(&format!(
        "<p class=\"s\">run {} · {} inputs</p>{HTML_CLOSE}",
        esc(&r.produced_by.run_id),
        r.produced_by.inputs.len()
    ));
    Email { subject, html: h, text: t, images: vec![chart_image(png)] }
}
