//! Infrastructure: the CloudFormation template passes cfn-lint and the least-privilege check (and
//! the check fails on a template that grants too much); the systemd timers match the schedule;
//! `reset-portfolio` archives before it removes anything.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn venv_bin(name: &str) -> PathBuf {
    ae_testkit::python().parent().unwrap().join(name)
}

fn check_policies(template: &Path) -> (bool, String) {
    let o = Command::new(ae_testkit::python())
        .arg(root().join("infrastructure/tests/check_policies.py"))
        .arg(template)
        .output()
        .unwrap();
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

#[test]
fn the_template_passes_cfn_lint_and_grants_no_wildcards() {
    let template = root().join("infrastructure/template.yaml");
    let o = Command::new(venv_bin("cfn-lint")).arg(&template).output().expect("cfn-lint from .ci/setup");
    assert!(
        o.status.success(),
        "cfn-lint:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let (ok, out) = check_policies(&template);
    assert!(ok, "{out}");
    assert!(out.contains("0 problem(s)") && !out.contains(" 0 Allow"), "{out}");

    // The check is not a formality: it fails on each kind of over-grant.
    let text = std::fs::read_to_string(&template).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (what, from, to) in [
        (
            "a whole-service action",
            "                Action: [s3:ListBucket]\n                Resource: !Sub \"arn:aws:s3:::${BucketName}\"",
            "                Action: [\"s3:*\"]\n                Resource: !Sub \"arn:aws:s3:::${BucketName}\"",
        ),
        (
            "a star resource",
            "                Action: [secretsmanager:GetSecretValue]\n                Resource: [!Ref IbCredentials, !Ref SmtpCredentials]",
            "                Action: [secretsmanager:GetSecretValue]\n                Resource: \"*\"",
        ),
        (
            "a write outside the job's prefixes",
            "                  - !Sub \"arn:aws:s3:::${BucketName}/${Prefix}/archive/signals/*\"",
            "                  - !Sub \"arn:aws:s3:::${BucketName}/${Prefix}/config/*\"",
        ),
        (
            "a read the role may not list (a missing key would be a 403)",
            "                      - !Sub \"${Prefix}/backtest/*\"\n",
            "",
        ),
        (
            "a service-wide wildcard such as s3:Put*",
            "                Action: [s3:PutObject]\n                Resource:\n                  - !Sub \"arn:aws:s3:::${BucketName}/${Prefix}/signals/*\"",
            "                Action: [\"s3:Put*\"]\n                Resource:\n                  - !Sub \"arn:aws:s3:::${BucketName}/${Prefix}/signals/*\"",
        ),
    ] {
        assert!(text.contains(from), "{what}: the template changed; update the test");
        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, text.replacen(from, to, 1)).unwrap();
        let (ok, out) = check_policies(&bad);
        assert!(!ok && out.contains("LEAST PRIVILEGE"), "{what} was not caught:\n{out}");
    }
}

#[test]
fn systemd_timers_follow_the_schedule_in_new_york_time() {
    let dir = root().join("infrastructure/systemd");
    for (job, at) in [
        ("plan", "09:20:00"),
        ("daemon", "09:25:00"),
        ("watch-plan", "09:25:00"),
        ("eod", "16:40:00"),
        ("watch-eod", "17:10:00"),
        ("data", "16:20:00"),
        ("data", "18:30:00"),
    ] {
        let timer = std::fs::read_to_string(dir.join(format!("alpha-engine-{job}.timer"))).unwrap();
        assert!(timer.contains(&format!("OnCalendar=Mon..Fri *-*-* {at} America/New_York")), "{job}: {timer}");
        let unit = format!("alpha-engine-{job}.service");
        assert!(timer.contains(&format!("Unit={unit}")) && dir.join(&unit).exists(), "{job}");
    }
    let daemon = std::fs::read_to_string(dir.join("alpha-engine-daemon.service")).unwrap();
    assert!(daemon.contains("KillSignal=SIGTERM") && daemon.contains("Requires=ib-gateway.service"));
    let ib = std::fs::read_to_string(dir.join("ib-gateway.service")).unwrap();
    assert!(ib.contains("--mode=paper") && !ib.to_lowercase().contains("password="), "no credentials in units");
    // Each unit that fetches secrets gets its own runtime directory, owned by its user.
    for unit in ["ib-gateway", "alpha-engine-data", "alpha-engine-daemon", "alpha-engine-eod"] {
        let text = std::fs::read_to_string(dir.join(format!("{unit}.service"))).unwrap();
        if text.contains("fetch-secrets") {
            assert!(text.contains("RuntimeDirectory=") && !text.contains("ExecStartPre=+"), "{unit}");
        }
    }
}

#[test]
fn reset_portfolio_archives_to_the_bus_before_it_removes_anything() {
    let work = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_alpha-engine");
    let o = Command::new(bin)
        .args(["demo", "--dir", "d", "--from", "2010-03-01", "--to", "2010-03-02"])
        .current_dir(work.path())
        .env("RUST_LOG", "warn")
        .env_remove("BUS_URL")
        .env_remove("ALPHA_ENGINE_CONFIG")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let d = work.path().join("d");
    let reset = |args: &[&str]| {
        Command::new(root().join("infrastructure/scripts/reset-portfolio"))
            .args(args)
            .current_dir(work.path())
            .env("ALPHA_ENGINE_BIN", bin)
            .env("RUST_LOG", "warn")
            .env("BUS_URL", format!("file://{}", d.join("bus").display()))
            .env("ALPHA_ENGINE__TRADING__LEDGER_PATH", d.join("trades.db"))
            .env_remove("ALPHA_ENGINE_CONFIG")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let csv = d.join("bus/trades/trades_full.csv");
    assert!(d.join("trades.db").exists() && csv.exists());
    let o = reset(&["--dry-run"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && out.contains("dry run: nothing archived"), "{out}");
    assert!(d.join("trades.db").exists() && csv.exists());
    // An archive that cannot be written stops the reset before anything is removed.
    std::fs::create_dir_all(d.join("bus/trades")).unwrap();
    std::fs::write(d.join("bus/trades/archive"), "a file where the archive directory must go").unwrap();
    let o = reset(&["--yes"]);
    assert!(!o.status.success(), "the archive failed, so must the reset");
    assert!(d.join("trades.db").exists() && csv.exists(), "nothing removed when the archive failed");
    std::fs::remove_file(d.join("bus/trades/archive")).unwrap();
    let o = reset(&[]);
    assert!(!o.status.success(), "no terminal and no --yes: refused");
    assert!(String::from_utf8_lossy(&o.stderr).contains("--yes"));
    assert!(d.join("trades.db").exists());
    let o = reset(&["--yes"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!d.join("trades.db").exists() && !csv.exists());
    let archived: Vec<String> = walk(&d.join("bus/trades/archive"));
    for f in ["trades.db", "trades_full.csv", "eod_pnl.csv"] {
        assert!(archived.iter().any(|a| a.ends_with(f)), "{f} not archived: {archived:?}");
    }
    let o = reset(&["--yes"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("nothing to reset"));
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.display().to_string());
        }
    }
    out
}

#[test]
fn the_dashboard_listens_on_loopback_only_and_reads_the_bus_as_a_read_only_role() {
    let unit = std::fs::read_to_string(root().join("infrastructure/systemd/alpha-engine-dashboard.service")).unwrap();
    let exec = unit.lines().find(|l| l.starts_with("ExecStart=")).expect("an ExecStart");
    assert!(exec.contains("alpha-engine dashboard") && exec.contains("--listen 127.0.0.1:"), "{exec}");
    assert!(
        unit.contains("AWS_PROFILE=dashboard")
            && unit.contains("AWS_CONFIG_FILE=/etc/alpha-engine/aws-dashboard.config")
    );
    let template = std::fs::read_to_string(root().join("infrastructure/template.yaml")).unwrap();
    // The role is written into the profile the unit uses, and no port is opened for the dashboard.
    assert!(template.contains("role_arn = ${DashboardRole.Arn}") && template.contains("[profile dashboard]"));
    let ingress = template.split("SecurityGroupIngress:").nth(1).unwrap().split("SecurityGroupEgress:").next().unwrap();
    assert_eq!(ingress.matches("FromPort:").count(), 1, "only the operators' SSH comes in: {ingress}");
    assert!(ingress.contains("FromPort: 22"));
    // Read-only: the least-privilege check flags any write by a role that is not a job's.
    let role = template.split("  DashboardRole:").nth(1).unwrap().split("\n\n").next().unwrap();
    assert!(role.contains("s3:GetObject") && role.contains("s3:ListBucket"));
    assert!(!role.contains("PutObject") && !role.contains("DeleteObject"), "{role}");
}

#[test]
fn the_sweep_fans_out_through_step_functions_to_the_backtester_alone() {
    let template = std::fs::read_to_string(root().join("infrastructure/template.yaml")).unwrap();
    let sm = template.split("  SweepFanOut:\n").nth(1).unwrap().split("\n\n").next().unwrap();
    // Plan → Distributed Map over the manifest on the bus → merge, every step the same function,
    // with the events the backtester binary reads (plan_shards, an item of the manifest, merge_shards).
    for needle in [
        "Backtester: !GetAtt BacktesterFunction.Arn",
        "plan_shards.$: $.shards",
        "Mode: DISTRIBUTED",
        "Resource: arn:aws:states:::s3:getObject",
        "Payload.$: $",
        "merge_shards.$: $.shards",
    ] {
        assert!(sm.contains(needle), "{needle:?} missing from the state machine:\n{sm}");
    }
    let role = template.split("  SweepFanOutRole:\n").nth(1).unwrap().split("\n\n").next().unwrap();
    assert!(role.contains("[!GetAtt BacktesterFunction.Arn]") && !role.contains("PutObject"), "{role}");
}
