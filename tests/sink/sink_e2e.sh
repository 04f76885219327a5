#!/usr/bin/env bash
# End to end: the generator writes the shop schema into a throwaway PostgreSQL, `freshet run`
# streams it into a lake and its sink applies the lake to a second database; after the writes
# stop, every destination table must equal its source table (count and md5 of all row texts).
#
#   pg-sandbox -- tests/sink/sink_e2e.sh FRESHET_BINARY
set -u
freshet=${1:?usage: sink_e2e.sh FRESHET_BINARY}
dsn=${FRESHET_SANDBOX_DSN:?run me through pg-sandbox}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
psql "$dsn" -qc "CREATE DATABASE serving" >/dev/null || exit 1
serving="${dsn%/*}/serving"
cat >"$dir/freshet.yaml" <<YAML
pipelines:
  - name: shop
    source: {postgres: {dsn: "$dsn", tables: ["public.*"]}}
    lake: {root: $dir/lake}
    flush: {max_latency_ms: 500}
    sinks:
      - postgres:
          dsn: "$serving"
          poll_interval: 200ms
          tables: [{from: "public.*", to: "analytics.{table}"}]
server: {http: 127.0.0.1:0}
YAML
"$freshet" generate --dsn "$dsn" --rate 200 --duration 0.1 >/dev/null 2>&1 || exit 1
"$freshet" generate --dsn "$dsn" --rate 300 --duration 8 --no-schema >/dev/null 2>&1 &
generator=$!
"$freshet" run --config "$dir/freshet.yaml" >"$dir/run.log" 2>&1 &
runner=$!
wait $generator
status=1
for attempt in $(seq 1 60); do
  status=0
  for table in customers products orders order_items; do
    query="SELECT count(*), md5(string_agg(t::text, ',' ORDER BY t::text)) FROM"
    source=$(psql "$dsn" -Atc "$query $table t")
    destination=$(psql "$serving" -Atc "$query analytics.$table t" 2>/dev/null)
    if [ "$source" != "$destination" ]; then status=1; fi
    if [ "$attempt" = 60 ]; then echo "$table: source $source, destination $destination"; fi
  done
  [ $status = 0 ] && break
  sleep 1
done
kill -TERM $runner
wait $runner
"$freshet" sink status --config "$dir/freshet.yaml"
if [ $status != 0 ]; then cat "$dir/run.log"; echo "sink_e2e: destination differs"; fi
exit $status
