#!/usr/bin/env bash
# Step mode's overhead per node with the artifacts on S3 and the metadata on PostgreSQL: the
# exported Titanic workflow run by the local runner (cold: a fresh bucket and database; cached:
# from another machine's folder), then single cached pods (`step --node N`), each timed as a
# whole process. moto's server stands in for S3 and a throwaway PostgreSQL cluster for the
# database, both on 127.0.0.1.
#
#   MOTO_SERVER=/path/to/venv/bin/moto_server benches/step_overhead.sh
#
# (`pip install 'moto[server]==5.2.6'` in a virtualenv gives moto_server; PostgreSQL's initdb and
# pg_ctl come from PATH or /usr/lib/postgresql/*/bin; as root they run as the `postgres` user.)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${MOTO_SERVER:?set MOTO_SERVER to a moto_server executable}"
target=${CARGO_TARGET_DIR:-target}
cargo build --quiet --release --example titanic --features serve,progress,s3,postgres
cargo build --quiet --release -p mlflow-cli
binary=$target/release/examples/titanic
cli=$target/release/mlflow-pipelines

work=$(mktemp -d)
chmod 755 "$work"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
"$MOTO_SERVER" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto=$!
pgbin=$(dirname "$(command -v pg_ctl 2>/dev/null || ls /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -1)")
as_pg=()
mkdir -p "$work/pg"
if [ "$(id -u)" = 0 ]; then
    chown postgres: "$work/pg"
    as_pg=(runuser -u postgres --)
fi
"${as_pg[@]}" "$pgbin/initdb" -D "$work/pg/data" -U postgres --auth=trust --no-locale -E UTF8 >/dev/null
trap '"${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg/data" -m fast stop >/dev/null; kill $moto; rm -rf "$work"' EXIT
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w \
    -o "-k $work/pg -p 55433 -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
for _ in $(seq 100); do
    python3 -c "import urllib.request as u; u.urlopen(u.Request('http://127.0.0.1:$port/titanic', method='PUT'))" 2>/dev/null && break
    sleep 0.1
done
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
export AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_ALLOW_HTTP=true
artifacts=s3://titanic/pipeline
metadata=postgres://postgres@127.0.0.1:55433/postgres
plan=$("$binary" plan | awk '/plan hash/ { print $3 }')
"$binary" export argo --image local --artifacts "$artifacts" --metadata "$metadata" -o "$work/titanic.argo.json"

# Milliseconds a command takes as a whole process (it must succeed).
millis() {
    local start end
    start=$(date +%s%N)
    "$@" >"$work/last.log" 2>&1 || { cat "$work/last.log" >&2; exit 1; }
    end=$(date +%s%N)
    echo $(((end - start) / 1000000))
}
echo "exported workflow, cold: $(millis "$cli" --store "$work/a" run-exported "$work/titanic.argo.json" --local --binary "$binary") ms"
for i in 1 2 3; do
    echo "exported workflow, cached, from another folder: $(millis "$cli" --store "$work/b$i" run-exported "$work/titanic.argo.json" --local --binary "$binary") ms"
done
for node in ingest select package; do
    times=""
    for _ in 1 2 3 4 5 6 7; do
        times="$times $(millis "$binary" step --node "$node" --plan "$plan" --store "$work/c" --artifacts "$artifacts" --metadata "$metadata")"
    done
    echo "step --node $node, cached (ms):$times"
done
