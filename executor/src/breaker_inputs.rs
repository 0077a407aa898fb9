//! What the morning's circuit breakers read beyond the book: the NAV at the start of the loss
//! window (the ledger's closes), the sessions since a kill switch a breaker set was cleared (the
//! bus's kill-switch history) and the book's tail and correlation (the store's returns, through
//! [`ae_rules::breakers::book_risk`], the function the backtester's simulator calls too).

use ae_rules::plan::RiskInputs;
use ae_rules::view::Book;
use ae_shared::TradingDay;
use ae_shared::bus::{Bus, keys};
use ae_shared::contracts::kill_switch::KillSwitchCleared;
use ae_shared::contracts::params::ExecutorParams;
use ae_shared::types::Ticker;

use crate::ledger::Ledger;
use crate::market::MarketData;

/// The breakers' inputs for the morning of `date`; `since` is [`breaker_clear`]'s answer.
pub fn risk_inputs(
    since: Option<(TradingDay, u32)>,
    ledger: &Ledger,
    market: &MarketData<'_>,
    book: &Book,
    date: TradingDay,
    params: &ExecutorParams,
) -> anyhow::Result<RiskInputs> {
    let days = (params.breakers.var_days.max(params.risk.correlation_days)) as usize;
    let sessions = market.last_sessions(days + 1);
    let series: Vec<(Ticker, Vec<f64>)> =
        book.holdings.iter().map(|h| (h.ticker.clone(), market.aligned_returns(&h.ticker, &sessions))).collect();
    let (tail, correlation) =
        ae_rules::breakers::book_risk(book, |t| series.iter().find(|(s, _)| s == t).map(|(_, r)| r.as_slice()), params);
    Ok(RiskInputs {
        window_start_nav: window_start_nav(ledger, date, params.breakers.loss_window_days)?,
        sessions_since_clear: since.map(|(_, k)| k),
        tail,
        correlation,
    })
}

/// NAV at the close before the loss window of `n` sessions ending with `date`: the close `n`
/// sessions back, or the starting cash when the account began inside the window; `None` before
/// the account exists.
pub fn window_start_nav(ledger: &Ledger, date: TradingDay, n: u32) -> anyhow::Result<Option<f64>> {
    let closes: Vec<f64> = ledger.eod_history()?.into_iter().filter(|r| r.date < date).map(|r| r.nav).collect();
    let start = ledger.inception()?.map(|i| i.starting_cash);
    Ok(ae_rules::breakers::window_start_nav(&closes, n as usize, start))
}

/// The high-water mark the drawdown rules measure from: the highest close before `date`, or, after
/// a breaker's kill switch was cleared, the highest close since the one before the first session
/// after the clearing (clearing resets it: otherwise the same drawdown would set the switch again
/// the next morning, and the drawdown halt would block the recovery ramp).
/// `since` is [`breaker_clear`]'s answer.
pub fn peak_nav(since: Option<(TradingDay, u32)>, ledger: &Ledger, date: TradingDay, nav: f64) -> anyhow::Result<f64> {
    let Some((first, _)) = since else {
        return Ok(ledger.peak_nav_before(date)?.max(nav));
    };
    let reset = first.prev();
    let peak =
        ledger.eod_history()?.iter().filter(|r| r.date >= reset && r.date < date).map(|r| r.nav).fold(nav, f64::max);
    Ok(peak)
}

/// The first session after the last clearing of a kill switch a breaker had set, and the sessions
/// from it to `date` (0 on that first session); `None` when the last clearing was of an
/// operator's switch, or there is none, or it comes after `date`.
pub async fn breaker_clear(bus: &Bus, date: TradingDay) -> anyhow::Result<Option<(TradingDay, u32)>> {
    let probe = keys::kill_switch_history("x");
    let prefix = probe.as_str().trim_end_matches("x.json");
    let mut archived = bus.list(prefix).await?;
    archived.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
    let Some(last) = archived.last() else { return Ok(None) };
    let Some(obj) = bus.get(&last.key).await? else { return Ok(None) };
    let Ok(cleared) = serde_json::from_slice::<KillSwitchCleared>(&obj.bytes) else { return Ok(None) };
    if cleared.previous["set_by"]["kind"] != "breaker" {
        return Ok(None);
    }
    // The first session that opens after the clearing.
    let Some(mut first) = TradingDay::on_or_after(cleared.cleared_at.date_naive()) else { return Ok(None) };
    if first.open() < cleared.cleared_at {
        first = first.next();
    }
    let k = first.days_until(date);
    Ok((k >= 0).then_some((first, k as u32)))
}
