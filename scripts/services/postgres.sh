# shellcheck shell=bash
# Sourced by scripts/test: start Debian's PostgreSQL 15 (no systemd needed), make sure the
# test role and database exist, and export WEEE_TEST_POSTGRES_URL for the server tests.
# Idempotent; when PostgreSQL cannot be started (not root, not installed) it says why and
# exports nothing, and the PostgreSQL tests skip with that reason.

weee_postgres_service() {
  local version=15 cluster=main port=5432
  local role=weee_test password=weee_test database=weee_test
  # Debian's tools: /usr/local/bin/pg_ctl may be something else on this machine
  local bindir=/usr/lib/postgresql/$version/bin
  if [ ! -x "$bindir/postgres" ] || ! command -v pg_ctlcluster >/dev/null; then
    echo "postgres.sh: PostgreSQL $version is not installed (apt-get install postgresql)" >&2
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "postgres.sh: run as root to start PostgreSQL; PostgreSQL tests will skip" >&2
    return 0
  fi
  if ! pg_lsclusters -h | awk '{print $1"/"$2}' | grep -qx "$version/$cluster"; then
    pg_createcluster "$version" "$cluster" >/dev/null
  fi
  port=$(pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1==v && $2==c {print $3}')
  if ! pg_ctlcluster "$version" "$cluster" status >/dev/null 2>&1; then
    pg_ctlcluster "$version" "$cluster" start
  fi
  local psql=(runuser -u postgres -- "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -p "$port" -d postgres)
  local ready=0
  for _ in $(seq 1 30); do
    if "${psql[@]}" -tAc "SELECT 1" >/dev/null 2>&1; then ready=1; break; fi
    sleep 0.5
  done
  if [ "$ready" != 1 ]; then
    echo "postgres.sh: PostgreSQL did not accept connections; see /var/log/postgresql/" >&2
    return 0
  fi
  # CREATEDB: the tests create and drop their own test_* databases
  if [ -z "$("${psql[@]}" -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$role'")" ]; then
    "${psql[@]}" -c "CREATE ROLE $role LOGIN CREATEDB PASSWORD '$password'"
  fi
  if [ -z "$("${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'")" ]; then
    "${psql[@]}" -c "CREATE DATABASE $database OWNER $role"
  fi
  export WEEE_TEST_POSTGRES_URL="postgres://$role:$password@127.0.0.1:$port/$database"
  echo "postgres.sh: PostgreSQL $version ready: WEEE_TEST_POSTGRES_URL=$WEEE_TEST_POSTGRES_URL"
}
weee_postgres_service
unset -f weee_postgres_service
