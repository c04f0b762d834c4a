#!/bin/sh
# The PostgreSQL image's entrypoint (tools/images): what helm/postgresql uses of the
# official image's docker-entrypoint.sh. On first start (no $PGDATA/PG_VERSION) it creates
# the cluster with $POSTGRES_USER (default postgres) as the superuser, password
# $POSTGRES_PASSWORD (scram-sha-256; required), lets any address connect with a password,
# and creates the database $POSTGRES_DB (default: the user's name). Then it runs the
# command (postgres).
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA

if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
	: "${POSTGRES_PASSWORD:?is required: the superuser password}"
	user=${POSTGRES_USER:-postgres}
	db=${POSTGRES_DB:-$user}
	mkdir -p "$PGDATA"
	chmod 700 "$PGDATA"
	pwfile=$(mktemp)
	trap 'rm -f "$pwfile"' EXIT
	printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
	initdb --username="$user" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
		--auth-local=trust --auth-host=scram-sha-256
	rm -f "$pwfile"
	# Every address (the pod's); no JIT (the image leaves LLVM out).
	printf "\nlisten_addresses = '*'\njit = off\n" >>"$PGDATA/postgresql.conf"
	printf '\nhost all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
	if [ "$db" != postgres ]; then
		# Single-user mode: no server, no socket; the statement ends at the newline. It
		# reports a failed statement but still exits 0.
		out=$(printf 'CREATE DATABASE "%s"\n' "$(printf '%s' "$db" | sed 's/"/""/g')" |
			postgres --single -D "$PGDATA" postgres 2>&1) || { echo "$out" >&2; exit 1; }
		if printf '%s\n' "$out" | grep -q 'ERROR:'; then echo "$out" >&2; exit 1; fi
	fi
	echo "PostgreSQL cluster created in $PGDATA (database $db, superuser $user)"
fi

exec "$@"
