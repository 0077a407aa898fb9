//! Day after day over the embedded year: research on Mondays, plan → paper session → EOD every
//! session; every document validates, the books agree with the broker, and the EOD email arrives
//! at a real SMTP server with the chart inline. The suite runs the year's last quarter; the whole
//! year (about five minutes in a debug build) runs with `--ignored`.

use std::time::Duration;

use ae_shared::bus::keys;
use ae_shared::contracts::eod::EodReport;
use ae_shared::contracts::order_book::OrderBook;
use ae_shared::mail::SmtpSecurity;
use ae_testkit::smtp::{SmtpOptions, SmtpServer};

use crate::common::{Desk, day};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_session_and_eod_run_day_after_day_and_the_email_arrives_with_its_chart() {
    trade_day_after_day(day("2010-05-24"), day("2010-08-20")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the whole embedded year: about five minutes in a debug build; run with --ignored"]
async fn over_the_whole_embedded_year_plan_session_and_eod_run_day_after_day() {
    trade_day_after_day(day("2009-09-21"), day("2010-08-20")).await;
}

/// Trades every session from `first` (a Monday) to `last`, the year's last day, checking each
/// day's documents and books, then the emails and the backups.
async fn trade_day_after_day(first: ae_shared::TradingDay, last: ae_shared::TradingDay) {
    let server = SmtpServer::start(SmtpOptions::default());
    let mut desk = Desk::new().await;
    desk.cfg.mail.smtp.host = "127.0.0.1".into();
    desk.cfg.mail.smtp.port = server.port;
    desk.cfg.mail.smtp.security = SmtpSecurity::None;
    desk.cfg.mail.smtp.username_env = "AE_TEST_NO_SUCH_USER_VAR".into();
    let mut d = first;
    let (mut days, mut fills, mut exits) = (0, 0, 0);
    while d <= last {
        let (book, session, report, summary) = desk.trade_day(d, d == first).await;
        days += 1;
        // Every document on the bus validates on read.
        let stored_book = desk.bus.get_doc_required::<OrderBook>(&keys::order_book(d)).await.unwrap().doc;
        assert_eq!(stored_book, book);
        let stored = desk.bus.get_doc_required::<EodReport>(&keys::eod(d)).await.unwrap().doc;
        assert_eq!(stored, report);
        // The books agree with the broker every day; a held name without a bar that day (the data
        // has such gaps) is reported, not hidden.
        let gap = report
            .positions
            .iter()
            .any(|p| desk.store.raw.get(p.ticker.as_str()).is_none_or(|s| s.dates.binary_search(&d).is_err()));
        let expected_breaches: Vec<&str> = if gap { vec!["marks_are_today"] } else { vec![] };
        let breaches: Vec<&str> = report.integrity.iter().filter(|c| !c.passed).map(|c| c.name.as_str()).collect();
        assert_eq!(
            breaches,
            expected_breaches,
            "{d}: {:?}; positions {:?}",
            summary.breaches,
            report.positions.iter().map(|p| p.ticker.as_str()).collect::<Vec<_>>()
        );
        assert!(report.cash.get() >= 0.0, "{d}: negative cash");
        assert!(session.rejected.is_empty(), "{d}: the broker rejected {:?}", session.rejected);
        fills += report.fills.len();
        exits += book.urgent_exits.len();
        d = d.next();
    }
    assert!(fills > 50 && exits > 3, "{first}..{last}: {fills} fills, {exits} planned exits over {days} days");
    // One email per day, the last with its chart inline.
    let msgs: Vec<String> = server
        .messages(Duration::from_secs(10))
        .into_iter()
        .filter(|m| m.contains("Subject: alpha-engine EOD"))
        .collect();
    assert_eq!(msgs.len(), days, "one EOD email per day (the research briefs go to the same server)");
    let last_msg = msgs.last().unwrap();
    assert!(last_msg.contains("Subject: alpha-engine EOD 2010-08-20"), "{}", &last_msg[..400.min(last_msg.len())]);
    assert!(last_msg.contains("Content-Type: image/png"));
    assert!(last_msg.contains("Content-ID: <equity-curve>"));
    let html = last_msg.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=");
    assert!(html.contains("cid:equity-curve"), "the HTML shows the inline chart");
    for want in ["End of day", "Positions", "Today's trades", "Risk events", "Integrity"] {
        assert!(html.contains(want), "missing {want}");
    }
    // Backups on the bus: one row per order, one per day.
    let trades = desk.bus.get(&keys::trades_full_csv()).await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&trades.bytes).lines().count() > fills / 2);
    let pnl = desk.bus.get(&keys::eod_pnl_csv()).await.unwrap().unwrap();
    assert_eq!(String::from_utf8_lossy(&pnl.bytes).lines().count(), days + 1);
}

#[test]
fn the_chart_renders_both_curves() {
    let points: Vec<ae_executor::chart::Point> = (0..60)
        .map(|i| {
            let d = day("2010-03-01").offset(i).unwrap().date();
            (d, (i as f64 * 0.3).sin() * 0.02 + i as f64 * 0.001, i as f64 * 0.0008)
        })
        .collect();
    let png_bytes = ae_executor::chart::equity_curve(&points, "S&P 500 index").unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), ae_executor::chart::SIZE);
    let px: Vec<[u8; 3]> = buf[..info.buffer_size()].chunks(3).map(|c| [c[0], c[1], c[2]]).collect();
    let blue = px.iter().filter(|p| **p == [31, 119, 180]).count();
    let grey = px.iter().filter(|p| **p == [110, 110, 110]).count();
    let dark_text = px.iter().filter(|p| p[0] < 60 && p[1] < 60 && p[2] < 60).count();
    assert!(blue > 500 && grey > 300, "portfolio {blue} px, benchmark {grey} px");
    assert!(dark_text > 200, "labels and caption are drawn ({dark_text} px)");
}
