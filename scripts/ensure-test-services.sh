#!/usr/bin/env bash
# Installs and starts what the tests need beyond Python: Debian's chromium and postgresql (apt-get,
# when missing), and a throwaway PostgreSQL cluster for the registry tests (its URL written to
# .pytest-services/postgres-url). Idempotent: a cluster already running is reused.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

# --- PostgreSQL ------------------------------------------------------------------------------
# A cluster of its own (trust auth, loopback only, fsync off: test data only), owned by the
# postgres user when we are root (initdb refuses to run as root). Tests create and drop their
# own databases on it. Without PostgreSQL the registry's PostgreSQL tests skip locally and fail
# in CI (CI never skips).
start_postgres() {
  local url_file="$repo/.pytest-services/postgres-url"
  mkdir -p "$repo/.pytest-services"
  rm -f "$url_file"
  local bin=${PUMA_PG_BIN:-}
  if [ -z "$bin" ]; then
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  fi
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "warning: PostgreSQL is not installed (Debian's 'postgresql'); the registry's" \
         "PostgreSQL tests will skip (and fail in CI)." >&2
    return 0
  fi
  local port=${PUMA_TEST_PG_PORT:-55432}
  local dir=${PUMA_TEST_PG_DIR:-/tmp/puma-test-postgres-$(id -u)}
  local as=()
  if [ "$(id -u)" = "0" ]; then as=(runuser -u postgres --); fi
  mkdir -p "$dir"
  if [ "$(id -u)" = "0" ]; then chown postgres: "$dir"; fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    echo "Creating a throwaway PostgreSQL cluster in $dir for the registry tests..."
    "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
      --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; return 1; }
  fi
  if ! "${as[@]}" "$bin/pg_ctl" status -D "$dir/data" >/dev/null 2>&1; then
    "${as[@]}" "$bin/pg_ctl" start -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=300" \
      >/dev/null || { tail -20 "$dir/server.log" >&2; return 1; }
  fi
  echo "postgresql+psycopg://postgres@127.0.0.1:$port/postgres" >"$url_file"
}

# --- Debian packages -------------------------------------------------------------------------
# chromium (the report and leaderboard browser tests) and postgresql (the registry on
# PostgreSQL), installed once with apt-get when missing; one `apt-get update` for both.
ensure_packages() {
  local missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "warning: ${missing[*]} missing and cannot be installed here (need root and apt-get);" \
         "the tests that need them will skip locally (and fail in CI)." >&2
    return 0
  fi
  echo "Installing Debian's ${missing[*]} for the tests..."
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_packages
start_postgres
