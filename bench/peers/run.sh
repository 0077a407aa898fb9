#!/usr/bin/env bash
# The published speed comparison in one command: our simulator, backtrader and vectorbt on the
# embedded year, then the table (results.json, results.md, README.md's results block).
#
#   bash bench/peers/run.sh                         # build ours (release), run all three
#   bash bench/peers/run.sh --only-peers [OURS.json] # no cargo: the peers, with our line from a file
#                                                    # (default: out/alpha-engine.json if present)
#   BENCH_ONLY_PEERS=1 BENCH_OURS_JSON=ours.json bash bench/peers/run.sh   # the same, by environment
#
# The first run makes bench/peers/.venv (python3 -m venv) and installs requirements.txt into it;
# later runs reinstall only when requirements.txt changed. Everything runs one engine at a time.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$here/out"
only_peers="${BENCH_ONLY_PEERS:-0}"
ours_json="${BENCH_OURS_JSON:-}"
while (($#)); do
  case "$1" in
    --only-peers)
      only_peers=1
      if [ $# -gt 1 ] && [ "${2#--}" = "$2" ]; then ours_json="$2"; shift; fi
      ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$out"

# The peers' venv.
py="$here/.venv/bin/python"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ ! -x "$py" ] || [ "$(cat "$here/.venv/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
  echo "run.sh: installing the peers into bench/peers/.venv" >&2
  [ -x "$py" ] || python3 -m venv "$here/.venv"
  "$py" -m pip install -q --disable-pip-version-check -r "$here/requirements.txt" >&2
  echo "$want" > "$here/.venv/.requirements.sha256"
fi

# Ours: the release backtester's bench prints one JSON line on stdout.
if [ "$only_peers" = 1 ]; then
  if [ -n "$ours_json" ]; then
    cp "$ours_json" "$out/alpha-engine.json.tmp" && mv "$out/alpha-engine.json.tmp" "$out/alpha-engine.json"
  elif [ ! -s "$out/alpha-engine.json" ]; then
    echo "run.sh: --only-peers without our JSON: the table will have no ratios" >&2
    rm -f "$out/alpha-engine.json"
  fi
else
  (
    cd "$root"
    bash .ci/setup >/dev/null
    # shellcheck disable=SC1091
    source .ci/env
    echo "run.sh: cargo build --release -p ae-backtester --bin backtester" >&2
    cargo build --release -p ae-backtester --bin backtester >&2
    target="${CARGO_TARGET_DIR:-target}"
    case "$target" in /*) ;; *) target="$root/$target" ;; esac
    echo "run.sh: backtester bench --json" >&2
    "$target/release/backtester" bench --json > "$out/alpha-engine.stdout"
    grep '^{' "$out/alpha-engine.stdout" | tail -n 1 > "$out/alpha-engine.json.tmp" || true
    [ -s "$out/alpha-engine.json.tmp" ] || { echo "run.sh: backtester bench printed no JSON line" >&2; exit 1; }
    mv "$out/alpha-engine.json.tmp" "$out/alpha-engine.json"
  )
fi

# The peers, one at a time.
cd "$here"
echo "run.sh: backtrader (one run; the grid is extrapolated)" >&2
"$py" peers.py --engine backtrader --out "$out/backtrader.json" >/dev/null
echo "run.sh: vectorbt (JIT warm-up, one run, the 1,728-point grid)" >&2
"$py" peers.py --engine vectorbt --out "$out/vectorbt.json" >/dev/null

"$py" table.py "$out/alpha-engine.json" "$out/backtrader.json" "$out/vectorbt.json"
