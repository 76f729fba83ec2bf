#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis the tests use are up; start local servers that are installed but stopped.
set -u
ok=0

pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
redis_up() { [ "$(printf 'PING\r\n' | timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/6379; cat >&3; head -c 7 <&3' 2>/dev/null)" = "+PONG"$'\r' ]; }

if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    for _ in $(seq 1 30); do pg_up && break; sleep 0.5; done
  fi
fi
if pg_up; then echo "PostgreSQL: up on 127.0.0.1:5432"; else
  echo "PostgreSQL is not reachable on 127.0.0.1:5432 and no local server could be started." >&2
  echo "Install PostgreSQL (apt-get install postgresql) or set TEST_DATABASE_URL to one you have." >&2
  ok=1
fi

if ! redis_up; then
  if command -v redis-server >/dev/null 2>&1; then
    echo "starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
    for _ in $(seq 1 30); do redis_up && break; sleep 0.2; done
  fi
fi
if redis_up; then echo "Redis: up on 127.0.0.1:6379"; else
  echo "Redis is not reachable on 127.0.0.1:6379 and no local server could be started." >&2
  echo "Install Redis (apt-get install redis-server) or set TEST_REDIS_URL to one you have." >&2
  ok=1
fi
exit $ok
