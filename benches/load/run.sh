#!/usr/bin/env bash
# Load test of `mlflow-pipelines serve` with wrk on loopback: single-row and 100-row requests, with and
# without a shadow challenger, alternated over several rounds; prints throughput, p50/p99 latency,
# errors and the server's peak memory (VmHWM) for each run.
#
#   benches/load/run.sh [ROUNDS=3] [SECONDS=10] [CONNECTIONS=16]
#
# Needs `wrk` (Debian package). The store is built from scratch by the Titanic example: first with
# `--metric accuracy` (titanic/1, logistic regression), then with the default ROC AUC metric
# (titanic/2, the RBF SVM, promoted to `production`); `titanic/1` gets the alias `challenger`.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
SECONDS_PER_RUN=${2:-10}
CONNECTIONS=${3:-16}
PORT=${PORT:-18080}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

cargo build --release --quiet --bin mlflow-pipelines --example titanic
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
export MLFLOW_HOME="$WORK/store"
target/release/examples/titanic --metric accuracy >/dev/null
target/release/examples/titanic >/dev/null
target/release/mlflow-pipelines model promote titanic 1 challenger --metric roc_auc --force >/dev/null

ROW='[3, 0, 4, 1, 2, 3, 0, 1, 0, 8, 3, 6, 2]'
BATCH=$(printf "$ROW,%.0s" $(seq 1 99))$ROW
for name in one batch; do
  if [ $name = one ]; then body="{\"instances\": [$ROW]}"; else body="{\"instances\": [$BATCH]}"; fi
  printf 'wrk.method = "POST"\nwrk.body = [==[%s]==]\nwrk.headers["Content-Type"] = "application/json"\n' "$body" >"$WORK/$name.lua"
done

URL="http://127.0.0.1:$PORT/v1/models/titanic:predict"
printf '%-8s %-7s %-6s %12s %12s %10s %10s %8s %10s\n' round shadow body "req/s" "rows/s" p50 p99 errors "peak RSS"
for round in $(seq 1 "$ROUNDS"); do
  for shadow in no yes; do
    args=(titanic@production --port "$PORT")
    [ $shadow = yes ] && args+=(--shadow titanic@challenger)
    target/release/mlflow-pipelines serve "${args[@]}" 2>"$WORK/serve.log" &
    pid=$!
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/v2/health/ready" >/dev/null && break; sleep 0.05; done
    for name in one batch; do
      out=$(wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency -s "$WORK/$name.lua" "$URL")
      rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
      p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
      p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
      # Non-2xx answers plus socket errors (connect, read, write, timeout).
      errors=$(awk '/Non-2xx/ {n += $NF} /Socket errors/ {gsub(",", ""); n += $4 + $6 + $8 + $10} END {print n+0}' <<<"$out")
      rows=$rps; [ $name = batch ] && rows=$(awk -v r="$rps" 'BEGIN {printf "%.0f", r * 100}')
      hwm=$(awk '/VmHWM/ {print $2 " " $3}' /proc/$pid/status)
      printf '%-8s %-7s %-6s %12s %12s %10s %10s %8s %10s\n' "$round" "$shadow" "$name" "$rps" "$rows" "$p50" "$p99" "$errors" "$hwm"
    done
    curl -s "http://127.0.0.1:$PORT/metrics" | grep -E '^mlflow_shadow_(dropped|errors)_total' | sed 's/^/    /' || true
    kill -TERM $pid; wait $pid || true
  done
done
