//! The status strip: each job's last run on the bus against the production schedule (New York
//! time) as of the dashboard's clock — on time, late, failed, or not run yet. Pure.

use ae_shared::TradingDay;
use ae_shared::bus::Key;
use chrono::{DateTime, Datelike as _, NaiveTime, TimeDelta, Utc, Weekday};

use super::snapshot::Snapshot;
use crate::schedule;

/// When a job runs, in New York time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Every trading day at this time.
    Daily(NaiveTime),
    /// The first trading day of each week at this time.
    Weekly(NaiveTime),
    /// Saturdays at this time, for the coming week's first trading day.
    Saturday(NaiveTime),
}

/// Minutes after its start a run may take before it counts as late.
pub const GRACE_MINUTES: i64 = 45;

impl Schedule {
    /// The trading day of the latest run that should have finished by `now` (start + grace).
    pub fn due(self, now: DateTime<Utc>) -> Option<TradingDay> {
        let et = now.with_timezone(&chrono_tz::America::New_York);
        let grace = TimeDelta::minutes(GRACE_MINUTES);
        let latest_daily = |t: NaiveTime| {
            let mut d = TradingDay::on_or_before(et.date_naive())?;
            if d.at_et(t) + grace > now {
                d = d.prev();
            }
            Some(d)
        };
        match self {
            Schedule::Daily(t) => latest_daily(t),
            Schedule::Weekly(t) => {
                let mut d = latest_daily(t)?;
                while !d.is_first_of_week() {
                    d = d.prev();
                }
                Some(d)
            }
            Schedule::Saturday(t) => {
                let back = (et.weekday().num_days_from_monday() + 7 - Weekday::Sat.num_days_from_monday()) % 7;
                let mut sat = et.date_naive() - TimeDelta::days(i64::from(back));
                if ae_shared::calendar::et_instant(sat, t) + grace > now {
                    sat -= TimeDelta::days(7);
                }
                TradingDay::on_or_after(sat)
            }
        }
    }

    /// In words.
    pub fn describe(self) -> String {
        match self {
            Schedule::Daily(t) => format!("trading days {}", t.format("%H:%M")),
            Schedule::Weekly(t) => format!("first trading day of the week {}", t.format("%H:%M")),
            Schedule::Saturday(t) => format!("Saturdays {}", t.format("%H:%M")),
        }
    }
}

/// How a job stands.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    /// Its last run is the one the schedule expects (or later).
    OnTime,
    /// The schedule expected a run for this day and the bus has none.
    Late {
        /// The run missing.
        expected: TradingDay,
    },
    /// A failure alert newer than its last output.
    Failed {
        /// The alert's title and detail.
        detail: String,
        /// The alert on the bus.
        key: Key,
    },
    /// Nothing on the bus yet, and nothing due.
    NotYet,
    /// Not expected to run, and why.
    Idle(String),
}

impl State {
    /// One word for the strip.
    pub fn label(&self) -> &'static str {
        match self {
            State::OnTime => "on time",
            State::Late { .. } => "late",
            State::Failed { .. } => "failed",
            State::NotYet => "not run yet",
            State::Idle(_) => "idle",
        }
    }
    /// The CSS class (`ok`, `warn`, `bad`, `muted`).
    pub fn class(&self) -> &'static str {
        match self {
            State::OnTime => "ok",
            State::Late { .. } => "warn",
            State::Failed { .. } => "bad",
            State::NotYet | State::Idle(_) => "muted",
        }
    }
}

/// One job's line in the strip.
#[derive(Debug, Clone, PartialEq)]
pub struct JobStatus {
    /// The job.
    pub job: &'static str,
    /// When it runs.
    pub schedule: Schedule,
    /// The day of its last output on the bus.
    pub last: Option<TradingDay>,
    /// That output's key.
    pub key: Option<Key>,
    /// How it stands.
    pub state: State,
}

/// The pure rule: `last` output against the run `due`, with the newest failure alert for the job.
pub fn judge(last: Option<TradingDay>, due: Option<TradingDay>, failure: Option<(TradingDay, String, Key)>) -> State {
    if let Some((day, detail, key)) = failure
        && last.is_none_or(|l| day >= l)
    {
        return State::Failed { detail, key };
    }
    match (last, due) {
        (Some(l), Some(d)) if l >= d => State::OnTime,
        (Some(_), Some(d)) => State::Late { expected: d },
        (Some(_), None) => State::OnTime,
        (None, _) => State::NotYet,
    }
}

/// The alert keys that say a job failed: `job-failed:{job}` from the job itself, `data-update:` from
/// the nightly update. (A watchdog's `missed-job:` alert says the output is missing, which the
/// strip already shows as late.)
fn failure_keys(job: &str) -> &'static [&'static str] {
    match job {
        "research" => &["job-failed:research"],
        "predictor training" => &["job-failed:predictor train"],
        "predictor inference" => &["job-failed:predictor infer"],
        "executor plan" => &["job-failed:executor plan"],
        "nightly data update" => &["data-update:"],
        "executor EOD" => &["job-failed:executor eod"],
        "backtester" => &["job-failed:backtester"],
        _ => &[],
    }
}

/// The strip: every job, as of `now`.
pub fn strip(s: &Snapshot, now: DateTime<Utc>) -> Vec<JobStatus> {
    let failure = |job: &str| {
        let prefixes = failure_keys(job);
        let a = s.alerts.iter().rev().find(|a| prefixes.iter().any(|p| a.doc.key.starts_with(p)))?;
        let day = a.doc.date.or_else(|| TradingDay::on_or_before(a.doc.at.date_naive()))?;
        Some((day, format!("{}: {}", a.doc.title, a.doc.detail), a.key.clone()))
    };
    fn newest<T>(
        m: &std::collections::BTreeMap<TradingDay, super::snapshot::Sourced<T>>,
    ) -> (Option<TradingDay>, Option<Key>) {
        m.iter().next_back().map(|(d, x)| (Some(*d), Some(x.key.clone()))).unwrap_or_default()
    }
    let model = s.latest_model().map(|m| (Some(m.doc.trained_at), Some(m.key.clone()))).unwrap_or_default();
    let manifest = s
        .manifest
        .as_ref()
        .and_then(|m| Some((Some(TradingDay::parse(m.doc.get("last_day")?.as_str()?).ok()?), Some(m.key.clone()))))
        .unwrap_or_default();
    let no_champion = s.registry.as_ref().is_none_or(|r| r.doc.champion.is_none());
    let jobs = [
        ("research", Schedule::Weekly(schedule::research()), newest(&s.signals)),
        ("predictor training", Schedule::Weekly(schedule::training()), model),
        ("predictor inference", Schedule::Daily(schedule::inference()), newest(&s.predictions)),
        ("executor plan", Schedule::Daily(schedule::plan()), newest(&s.books)),
        ("nightly data update", Schedule::Daily(schedule::data_update()), manifest),
        ("executor EOD", Schedule::Daily(schedule::eod()), newest(&s.eods)),
        ("backtester", Schedule::Saturday(schedule::backtester()), newest(&s.backtests)),
    ];
    jobs.into_iter()
        .map(|(job, schedule, (last, key))| {
            let state = if job == "predictor inference" && no_champion {
                State::Idle("no champion model, so nothing to infer".into())
            } else {
                judge(last, schedule.due(now), failure(job))
            };
            JobStatus { job, schedule, last, key, state }
        })
        .collect()
}

/// Seconds between page reloads at `now`: `every` while the NYSE session is open, `None` otherwise.
pub fn reload_at(now: DateTime<Utc>, every: u32) -> Option<u32> {
    let today = ae_shared::calendar::et_date(now);
    let open = TradingDay::on_or_before(today).is_some_and(|d| d.date() == today && d.open() <= now && now < d.close());
    open.then_some(every)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).expect("a time of day")
    }

    fn day(s: &str) -> TradingDay {
        TradingDay::parse(s).unwrap()
    }
    fn et(d: &str, h: u32, m: u32) -> DateTime<Utc> {
        ae_shared::calendar::et_instant(chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap(), hm(h, m))
    }

    #[test]
    fn the_run_due_follows_the_new_york_schedule_with_its_grace() {
        let cases = [
            // (schedule, now ET, due)
            (Schedule::Daily(schedule::eod()), et("2010-03-10", 17, 30), "2010-03-10"),
            (Schedule::Daily(schedule::eod()), et("2010-03-10", 17, 0), "2010-03-09"),
            (Schedule::Daily(schedule::plan()), et("2010-03-13", 12, 0), "2010-03-12"), // a Saturday
            (Schedule::Daily(schedule::plan()), et("2010-04-02", 12, 0), "2010-04-01"), // Good Friday
            (Schedule::Weekly(schedule::research()), et("2010-03-10", 12, 0), "2010-03-08"),
            (Schedule::Weekly(schedule::research()), et("2010-03-08", 5, 30), "2010-03-01"),
            (Schedule::Weekly(schedule::research()), et("2010-02-16", 6, 0), "2010-02-16"), // Tuesday after Presidents' Day
            (Schedule::Saturday(schedule::backtester()), et("2010-03-10", 12, 0), "2010-03-08"),
            (Schedule::Saturday(schedule::backtester()), et("2010-03-13", 4, 10), "2010-03-08"),
            (Schedule::Saturday(schedule::backtester()), et("2010-03-13", 5, 0), "2010-03-15"),
        ];
        for (sched, now, want) in cases {
            assert_eq!(sched.due(now), Some(day(want)), "{sched:?} at {now}");
        }
    }

    #[test]
    fn each_job_reads_its_own_failure_alerts() {
        use ae_shared::alerts::{Alert, Severity};
        let alert = |key: &str, day: &str| super::super::snapshot::Sourced {
            key: Key::parse(&format!("alerts/{day}/170000-{}.json", key.len())).unwrap(),
            doc: std::sync::Arc::new(Alert {
                key: key.into(),
                severity: Severity::Critical,
                title: format!("{key} failed"),
                detail: "boom".into(),
                action: "fix it".into(),
                source: "test".into(),
                date: Some(day.parse().unwrap()),
                at: et(day, 17, 0),
            }),
        };
        let s = Snapshot {
            alerts: vec![
                alert("data-update:bars:2010-03-10", "2010-03-10"),
                alert("job-failed:backtester run:2010-03-15", "2010-03-10"),
            ],
            ..Snapshot::default()
        };
        let strip = strip(&s, et("2010-03-10", 18, 0));
        let state = |job: &str| strip.iter().find(|j| j.job == job).unwrap().state.label();
        assert_eq!(state("nightly data update"), "failed");
        assert_eq!(state("backtester"), "failed");
        assert_eq!(state("executor EOD"), "not run yet", "another job's alert is not its failure");
        assert_eq!(state("predictor inference"), "idle", "no champion, nothing to infer");
    }

    #[test]
    fn pages_reload_only_while_the_session_is_open() {
        let cases = [
            (et("2010-03-10", 9, 29), None),
            (et("2010-03-10", 9, 30), Some(60)),
            (et("2010-03-10", 15, 59), Some(60)),
            (et("2010-03-10", 16, 0), None),
            (et("2010-03-13", 12, 0), None),  // Saturday
            (et("2010-04-02", 12, 0), None),  // Good Friday
            (et("2010-11-26", 13, 30), None), // the day after Thanksgiving closes at 13:00
            (et("2010-11-26", 12, 30), Some(60)),
        ];
        for (now, want) in cases {
            assert_eq!(reload_at(now, 60), want, "{now}");
        }
    }

    #[test]
    fn a_job_is_on_time_late_failed_or_not_run_by_its_last_output() {
        let k = Key::parse("alerts/2010-03-10/120000-x.json").unwrap();
        let fail = |d: &str| Some((day(d), "research failed: boom".to_string(), k.clone()));
        type Failure = Option<(TradingDay, String, Key)>;
        let cases: [(Option<&str>, Option<&str>, Failure, &str); 7] = [
            (Some("2010-03-10"), Some("2010-03-10"), None, "on time"),
            (Some("2010-03-11"), Some("2010-03-10"), None, "on time"),
            (Some("2010-03-09"), Some("2010-03-10"), None, "late"),
            (None, Some("2010-03-10"), None, "not run yet"),
            (Some("2010-03-09"), Some("2010-03-10"), fail("2010-03-10"), "failed"),
            // A failure already followed by a good run does not count.
            (Some("2010-03-11"), Some("2010-03-11"), fail("2010-03-10"), "on time"),
            (None, Some("2010-03-10"), fail("2010-03-10"), "failed"),
        ];
        for (last, due, failure, want) in cases {
            let got = judge(last.map(day), due.map(day), failure);
            assert_eq!(got.label(), want, "last {last:?} due {due:?}");
        }
    }
}
