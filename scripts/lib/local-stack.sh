# Sourced by the CI scripts that need a running stack (scripts/api-contract-test,
# scripts/dashboard-test): starts the gateway and one of each worker from the debug build on
# free loopback ports, with the ledger in a temporary folder, and stops them on exit.
#
#   stack_start [VAR=value ...]   start everything with these extra variables; sets STACK_URL
#   stack_feed N                  post the first N real candles as BTCUSDT (a mark price, features)
#   stack_stop                    stop every process started here (also run on EXIT)

STACK_WORK=$(mktemp -d)
STACK_PIDS=()

stack_free_port() {
  local port
  while :; do
    port=$(shuf -i 20000-59999 -n 1)
    (echo >"/dev/tcp/127.0.0.1/$port") >/dev/null 2>&1 || { echo "$port"; return; }
  done
}

stack_stop() {
  local pid
  for pid in "${STACK_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${STACK_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  STACK_PIDS=()
}

stack_cleanup() {
  stack_stop
  if [ "${KEEP_STACK_LOGS:-0}" = 1 ]; then echo "stack logs kept in $STACK_WORK" >&2; else rm -rf "$STACK_WORK"; fi
}
trap stack_cleanup EXIT

# Prints the last lines of every log (after a failure).
stack_logs() {
  local log
  for log in "$STACK_WORK"/*.log; do echo "--- $log" >&2; tail -n 30 "$log" >&2; done
}

stack_start() {
  STACK_BIN=${STACK_BIN:-$(swift build --show-bin-path)}
  local http broker control
  http=$(stack_free_port); broker=$(stack_free_port); control=$(stack_free_port)
  STACK_URL="http://127.0.0.1:$http"
  STACK_MODEL_PORT=$(stack_free_port)
  local common=(
    HTTP_HOST=127.0.0.1 "HTTP_PORT=$http" "BROKER_BIND=tcp://127.0.0.1:$broker" "CONTROL_BIND=tcp://127.0.0.1:$control"
    "BROKER_ENDPOINT=tcp://127.0.0.1:$broker" "CONTROL_ENDPOINT=tcp://127.0.0.1:$control" "DATA_DIR=$STACK_WORK/data"
    "MODEL_PATH=$PWD/deploy/models/logit.json" HEALTH_PORT=0 LOG_LEVEL=info
    # The candles fed are from 2018: the stale-data guard would refuse every order on them.
    MAX_CANDLE_AGE=0 "$@"
  )
  local name
  for name in gateway risk-worker feature-worker execution-worker model-worker; do
    local extra=()
    [ "$name" = model-worker ] && extra=("HEALTH_PORT=$STACK_MODEL_PORT")
    env "${common[@]}" "${extra[@]}" "$STACK_BIN/$name" >"$STACK_WORK/$name.log" 2>&1 &
    STACK_PIDS+=($!)
  done
  local i
  for i in $(seq 1 300); do
    if curl -fsS "$STACK_URL/readyz" >/dev/null 2>&1 && curl -fsS "$STACK_URL/health" 2>/dev/null | grep -q '"ok":true'; then
      return 0
    fi
    sleep 0.1
  done
  echo "FAIL the stack did not become ready at $STACK_URL" >&2
  stack_logs
  return 1
}

stack_feed() {
  local count=${1:-80}
  head -n "$((count + 1))" market-data/candles/ETH_BTC-5m.csv >"$STACK_WORK/candles.csv"
  "$STACK_BIN/trading-stack" replay "$STACK_WORK/candles.csv" BTCUSDT --gateway "$STACK_URL" --interval-ms 0 --quiet \
    ${STACK_TOKEN:+--token "$STACK_TOKEN"} >/dev/null
}
