#!/usr/bin/env bash
# Every benchmark, in one command: builds release once, runs each benchmark against evert and
# its PostgreSQL baseline (each writes bench/results/<name>.csv and .log), then draws
# docs/plots/*.svg with bench/plot.py. About 15 minutes on 2 cores, after the build.
#
#   bench/run-all.sh [--pg CONNINFO] [--smoke]
#
# --pg CONNINFO   the PostgreSQL baseline (e.g. "host=/tmp/pgref port=5499 user=postgres");
#                 without it each benchmark starts a throwaway PostgreSQL 15 with default
#                 settings (needs /usr/lib/postgresql/15/bin, as .ci/run installs).
# --smoke         tiny sizes, results and plots in a temp dir (checks the script itself).
#
# CARGO_TARGET_DIR is honoured (default: target/); NEXMARK_EVENTS sets the Nexmark run's
# events per query (default 1000000; evert is fed by its own NEXMARK load-generator source).
set -euo pipefail
cd "$(dirname "$0")/.."

pg=()
smoke=0
while [ $# -gt 0 ]; do
  case "$1" in
    --pg) pg=(--pg "$2"); shift 2 ;;
    --smoke) smoke=1; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

target="${CARGO_TARGET_DIR:-target}"
packages=(-p evert-bench-latency -p evert-bench-workloads -p evert-bench-storage)
nexmark=0
if [ -d bench/nexmark ] && grep -q 'name = "evert-bench-nexmark"' bench/nexmark/Cargo.toml; then
  packages+=(-p evert-bench-nexmark)
  nexmark=1
fi

if [ "$smoke" = 1 ]; then
  results="$(mktemp -d)"
  plots="$results/plots"
else
  results=bench/results
  plots=docs/plots
fi
mkdir -p "$results"

started=$(date +%s)
echo "== build (release)"
cargo build --release "${packages[@]}"
bin="$target/release"

run() {
  local name="$1"; shift
  echo "== $name: $*"
  local t0; t0=$(date +%s)
  "$@" 2>&1 | tee "$results/$name.log"
  echo "== $name: $(( $(date +%s) - t0 )) s"
}

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- crates bench || echo ' (with local changes)')"
  echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$results/machine.txt"

if [ "$smoke" = 1 ]; then
  run latency "$bin/evert-bench-latency" --smoke "${pg[@]}" --csv "$results/latency.csv"
  run workloads "$bin/evert-bench-workloads" all --smoke "${pg[@]}" --results "$results"
  run storage "$bin/evert-bench-storage" --smoke "${pg[@]}" --csv "$results/storage.csv"
else
  run latency "$bin/evert-bench-latency" --rows 1000000 "${pg[@]}" --csv "$results/latency.csv"
  run workloads "$bin/evert-bench-workloads" all --rows 1000000 "${pg[@]}" --results "$results"
  run storage "$bin/evert-bench-storage" --seconds 5 --rows 1000000 "${pg[@]}" --csv "$results/storage.csv"
fi
if [ "$nexmark" = 1 ]; then
  # 23 queries x 1 and 2 workers, 1,000,000 events each (11 min on a quiet machine), fed by the NEXMARK source (the COPY
  # feed, --feed copy, is 4-10x slower: it took 14 min on a loaded machine).
  if [ "$smoke" = 1 ]; then
    run nexmark "$bin/evert-bench-nexmark" --smoke --csv "$results/nexmark.csv"
  else
    run nexmark "$bin/evert-bench-nexmark" --events "${NEXMARK_EVENTS:-1000000}" --csv "$results/nexmark.csv"
  fi
fi

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$results/machine.txt"
echo "== plots"
python3 bench/plot.py --results "$results" --out "$plots"
echo "== done in $(( $(date +%s) - started )) s; results in $results, plots in $plots"
