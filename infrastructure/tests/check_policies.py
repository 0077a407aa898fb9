"""Least-privilege check of the CloudFormation template.

usage: check_policies.py TEMPLATE
Fails (exit 1, every problem listed) when an Allow statement grants a wildcard action (`*`,
`s3:*`, `s3:Put*`), `*` or a whole bucket's objects as a resource, when a role attaches a managed
policy, when a job may write outside its own prefixes, or when a role reads a prefix it may not
list (S3 then answers a missing key with 403 instead of 404, and "not there yet" becomes an
access error).
"""
import fnmatch
import json
import sys

from cfnlint.decode import decode

# The prefixes each role may write (PutObject / DeleteObject), relative to the bus prefix.
WRITES = {
    "ResearchRole": {"signals/*", "research/*", "archive/signals/*"},
    "PredictorRole": {"predictor/*", "archive/predictor/*"},
    "BacktesterRole": {"backtest/*", "config/*", "archive/backtest/*"},
    "TradingRole": {
        "executor/*",
        "trades/*",
        "archive/executor/*",
        "prices/*",
        "prices/bars/*",
        "executor/kill_switch.json",
        "trades/trades_full.csv",
        "trades/eod_pnl.csv",
    },
}


def text(v):
    """A resource or action as text (Fn::Sub strings unwrapped, other intrinsics as JSON)."""
    if isinstance(v, str):
        return v
    if isinstance(v, dict) and "Fn::Sub" in v:
        s = v["Fn::Sub"]
        return s if isinstance(s, str) else s[0]
    return json.dumps(v, default=str)


def as_list(v):
    return v if isinstance(v, list) else [v]


def main(path):
    template, matches = decode(path)
    if matches:
        print("template does not parse:", *matches, sep="\n  ")
        return 1
    problems = []
    checked = 0
    for name, res in template.get("Resources", {}).items():
        props = res.get("Properties", {})
        docs = []
        if res["Type"] == "AWS::IAM::Role":
            if props.get("ManagedPolicyArns"):
                problems.append(f"{name}: attaches managed policies {props['ManagedPolicyArns']} (write its own)")
            docs = [p["PolicyDocument"] for p in props.get("Policies", [])]
        elif res["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::S3::BucketPolicy"):
            docs = [props["PolicyDocument"]]
        reads, listable = set(), []
        for doc in docs:
            for st in as_list(doc.get("Statement", [])):
                if st.get("Effect") != "Allow":
                    continue
                checked += 1
                sid = st.get("Sid", "?")
                actions = [text(a) for a in as_list(st.get("Action", []))]
                for a in actions:
                    if "*" in a:
                        problems.append(f"{name}/{sid}: action {a!r} is a wildcard")
                if "s3:GetObject" in actions:
                    reads.update(text(r).split("${Prefix}/", 1)[-1] for r in as_list(st.get("Resource", [])))
                if "s3:ListBucket" in actions:
                    cond = st.get("Condition", {}).get("StringLike", {}).get("s3:prefix", [])
                    listable += [text(c).split("${Prefix}/", 1)[-1] for c in as_list(cond)]
                for r in as_list(st.get("Resource", [])):
                    r = text(r)
                    if r == "*" or r.endswith("${BucketName}/*") or r.endswith(":::*"):
                        problems.append(f"{name}/{sid}: resource {r!r} is not scoped")
                writes = {a for a in actions if a in ("s3:PutObject", "s3:DeleteObject")}
                if writes and name in WRITES:
                    for r in map(text, as_list(st.get("Resource", []))):
                        rel = r.split("${Prefix}/", 1)[-1]
                        if rel not in WRITES[name]:
                            problems.append(f"{name}/{sid}: may write {rel!r}, outside its own prefixes {sorted(WRITES[name])}")
                elif writes:
                    problems.append(f"{name}/{sid}: a role that is not a job writes to the bus")
        for r in sorted(reads):
            if not any(fnmatch.fnmatchcase(r, pat) for pat in listable):
                problems.append(f"{name}: reads {r!r} but may not list it (a missing key would be a 403)")
    for p in problems:
        print("LEAST PRIVILEGE:", p)
    print(f"{checked} Allow statements checked, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
