#!/usr/bin/env bash
# PostgreSQL for the tests (SPEC N1): start the local Debian cluster and give the current OS user a
# superuser role reached over the Unix socket with peer authentication (no password anywhere).
# Run as root (CI: .ci/run calls it), or as a user who may `sudo -u postgres`.
# Afterwards `npm test` runs the PostgreSQL cases (server/db/pg-testing.ts finds /var/run/postgresql).
set -euo pipefail

if ! command -v pg_ctlcluster >/dev/null; then
  echo "pg-test-env: PostgreSQL is not installed (Debian: apt-get install postgresql)" >&2
  exit 1
fi
version="$(ls /usr/lib/postgresql | sort -n | tail -1)"
as_postgres() {
  if [ "$(id -u)" = 0 ]; then su postgres -c "$1"; else sudo -u postgres sh -c "$1"; fi
}
if ! pg_ctlcluster "$version" main status >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then pg_ctlcluster "$version" main start; else sudo pg_ctlcluster "$version" main start; fi
fi
me="$(id -un)"
as_postgres "psql -tAc \"select 1 from pg_roles where rolname='$me'\"" | grep -q 1 || as_postgres "createuser -s '$me'"
psql -h /var/run/postgresql -d postgres -tAc "select 'pg-test-env: ' || current_user || ' on ' || version()"
