# shellcheck shell=bash
# A throwaway PostgreSQL cluster for the tests: initdb into a temporary
# folder, pg_ctl on a Unix socket in it (no TCP, no system service).
#
# Sourced:  pg_start; ... "$PG_URI" ...; pg_restart; pg_stop
#   PG_DIR   the cluster's folder (data in $PG_DIR/data, socket in it)
#   PG_URI   postgresql:// URI of database "sg" on that socket
# Run:      bash pg.sh run CMD ARGS...  runs CMD with SG_TEST_DATABASE set
#           to a fresh cluster's URI (exit 77 when PostgreSQL is missing).
# As root, the server runs as the "postgres" user (initdb refuses root).

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

# Runs ARGS as the cluster's owner.
pg_as() {
	if [[ $(id -u) -eq 0 ]]; then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

pg_start() {
	if [[ ! -x $PG_BIN/initdb ]]; then
		if [[ -n ${CI:-} ]]; then
			echo "FAIL: no PostgreSQL in $PG_BIN (scripts/deps.sh)" >&2
			exit 1
		fi
		echo "SKIP: no PostgreSQL in $PG_BIN (scripts/deps.sh)" >&2
		exit 77
	fi
	PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/sg-pg.XXXXXX")
	chmod 755 "$PG_DIR"
	[[ $(id -u) -eq 0 ]] && chown postgres: "$PG_DIR"
	pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust \
		--locale=C -E UTF8 >"$PG_DIR/initdb.log" 2>&1 || {
		cat "$PG_DIR/initdb.log" >&2
		return 1
	}
	pg_ctl_start || return 1
	pg_as "$PG_BIN/createdb" -h "$PG_DIR" -U postgres sg || return 1
	PG_URI="postgresql:///sg?host=$PG_DIR&user=postgres"
	export PG_DIR PG_URI
}

# Starts the server of PG_DIR (again): Unix socket only.
pg_ctl_start() {
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" \
		-o "-c listen_addresses='' -k $PG_DIR -c max_connections=200" \
		-w -t 30 start >/dev/null || {
		tail -n 20 "$PG_DIR/server.log" >&2
		return 1
	}
}

# A restart as after a crash: immediate stop, then start.
pg_restart() {
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop \
		>/dev/null || return 1
	pg_ctl_start
}

pg_stop() {
	[[ -n ${PG_DIR:-} && -d $PG_DIR/data ]] || return 0
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop \
		>/dev/null 2>&1 || true
	rm -rf "$PG_DIR"
}

# A free TCP port on 127.0.0.1.

# SQL on the test database, as its owner.
pg_sql() {
	"$PG_BIN/psql" -X -q -t -A -v ON_ERROR_STOP=1 "$PG_URI" -c "$1"
}

# With lib.sh: sg_setup (scepgate on SQLite), a cluster stopped at exit
# too, and the scratch directory WORK as the current one; sc runs
# scepctl on CFG.
pg_setup() {
	sg_setup
	trap 'rc=$?; pg_stop; (exit $rc); sg_cleanup' EXIT
	pg_start || sg_fail "no PostgreSQL cluster"
	cd "$WORK" || sg_fail "no $WORK"
}
sc() { "$SCEPCTL" --config "$CFG" "$@"; }

# pg_use URI: CFG's database value.
pg_use() {
	sed -i "s|^database = .*|database = \"${1//&/\\&}\";|" "$CFG"
}

# After pg_setup: stop scepgate, copy its SQLite database into the
# cluster (scepctl db copy) and point CFG at PG_URI; sg_start then runs
# it on PostgreSQL.
pg_move() {
	sg_stop
	sc db copy --from "sqlite:$DIR/scepgate.db" --to "$PG_URI" \
		>"$WORK/copy.log" 2>&1 || sg_fail "db copy: $(cat "$WORK/copy.log")"
	pg_use "$PG_URI"
}

if [[ ${BASH_SOURCE[0]} == "$0" && ${1:-} == run ]]; then
	shift
	trap pg_stop EXIT
	pg_start || exit 1
	SG_TEST_DATABASE=$PG_URI "$@"
	exit $?
fi
