#!/usr/bin/env bash
# A real 3-node Redis Cluster on 127.0.0.1 for the cluster tests (tests/cluster), like ElastiCache in cluster mode.
#
#   bash infra/redis-cluster.sh start   # nodes on REDIS_CLUSTER_PORT..+2, cluster bus on +10..+12
#   bash infra/redis-cluster.sh stop
#
# Three primaries, no replicas, no persistence; data and node files live under var/redis-cluster/
# (ignored by git). `start` is idempotent: a cluster that already answers "cluster_state:ok" is kept.
# It prints the URL the tests take as TEST_REDIS_CLUSTER_URL.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE="${REDIS_CLUSTER_PORT:-4500}"
PORTS=("$BASE" "$((BASE + 1))" "$((BASE + 2))")
# Absolute from here on, whether REDIS_CLUSTER_DIR was given relative to the project or absolute.
DIR="$(mkdir -p "${REDIS_CLUSTER_DIR:-var/redis-cluster}" && cd "${REDIS_CLUSTER_DIR:-var/redis-cluster}" && pwd)"

cluster_ok() { [ "$(redis-cli -p "$BASE" cluster info 2>/dev/null | tr -d '\r' | grep -c '^cluster_state:ok$')" = 1 ]; }

start() {
  command -v redis-server >/dev/null || { echo "redis-server is needed (apt-get install redis-server)" >&2; exit 1; }
  if cluster_ok; then
    echo "Redis Cluster: already up on 127.0.0.1:${PORTS[*]}"
    echo "TEST_REDIS_CLUSTER_URL=redis://127.0.0.1:$BASE/0"
    return
  fi
  for port in "${PORTS[@]}"; do
    mkdir -p "$DIR/$port"
    rm -f "$DIR/$port/nodes.conf"
    redis-server --port "$port" --cluster-port "$((port + 10))" --bind 127.0.0.1 --daemonize yes \
      --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000 \
      --dir "$DIR/$port" --pidfile "$DIR/$port/redis.pid" --logfile "$DIR/$port/redis.log" \
      --save "" --appendonly no
  done
  for port in "${PORTS[@]}"; do
    for _ in $(seq 1 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  done
  redis-cli --cluster create "${PORTS[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes >/dev/null
  for _ in $(seq 1 100); do cluster_ok && break; sleep 0.1; done
  cluster_ok || { echo "Redis Cluster did not reach cluster_state:ok" >&2; exit 1; }
  echo "Redis Cluster: up on 127.0.0.1:${PORTS[*]}"
  echo "TEST_REDIS_CLUSTER_URL=redis://127.0.0.1:$BASE/0"
}

stop() {
  for port in "${PORTS[@]}"; do
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  done
  echo "Redis Cluster: stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
