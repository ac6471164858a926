# shellcheck shell=bash
# Helpers sourced by the integration tests. ctest sets SCEPGATE and SCEPCTL
# to the built binaries. KEEP=1 keeps the scratch directory for inspection.
#
# After sg_setup:
#   DIR   instance directory (ca.pem, ra.pem, scepgate.cfg, server.log)
#   WORK  scratch directory for client files
#   PORT  port of the running scepgate on 127.0.0.1
#   URL   SCEP URL of endpoint "demo", as printed by scepctl init
#   CODE  access code of the account scepctl init created
#   CFG   path of scepgate.cfg (for scepctl --config)

# Prints MSG and exits 1 (the EXIT trap then shows the server log).
sg_fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# Exits unless every TOOL is installed: 77 (ctest skip) on a laptop,
# 1 when CI is set, because CI installs every client.
# A TCP port free on 127.0.0.1 now (the kernel's pick).
sg_free_port() {
	python3 -c 'import socket; s = socket.socket()
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

sg_need() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null && continue
		if [[ -n ${CI:-} ]]; then
			echo "FAIL: $t is not installed (CI=$CI, run scripts/deps.sh)" >&2
			exit 1
		fi
		echo "SKIP: $t is not installed (scripts/deps.sh installs it)" >&2
		exit 77
	done
}

# sg_check_log RC FILE NAME LINES: returns RC, or 1 on a sanitizer report
# in FILE; shows the last LINES lines of FILE when that is not 0.
sg_check_log() {
	local rc=$1
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
		"$2" 2>/dev/null; then
		echo "FAIL: sanitizer report in $3" >&2
		rc=1
	fi
	if ((rc != 0)) && [[ -f $2 ]]; then
		echo "--- tail of $3 ---" >&2
		tail -n "$4" "$2" >&2
	fi
	return "$rc"
}

# Stops the server, shows its log on failure, fails on sanitizer reports
# in it, removes SG_TMP.
sg_cleanup() {
	local rc=$?
	if [[ -n ${SG_PID:-} ]]; then
		kill "$SG_PID" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$SG_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$SG_PID" 2>/dev/null || true
		wait "$SG_PID" 2>/dev/null || true
	fi
	sg_check_log "$rc" "$DIR/server.log" "$DIR/server.log" 60 || rc=$?
	if [[ ${KEEP:-0} == 1 ]]; then
		echo "kept $SG_TMP" >&2
	else
		rm -rf "$SG_TMP"
	fi
	exit "$rc"
}

# Prints the value after "LABEL:" on the first matching line of stdin
# (reads all of stdin, so the writer never gets SIGPIPE).
sg_field() {
	sed -n "/$1:/{s/.*$1: *\([^[:space:]]*\).*/\1/p;:a;n;ba}"
}

# Creates an instance on a free port and starts scepgate in the background.
sg_setup() {
	local out
	: "${SCEPGATE:?SCEPGATE is not set (run through ctest)}"
	: "${SCEPCTL:?SCEPCTL is not set (run through ctest)}"
	sg_need curl python3 openssl
	SG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/scepgate-it.XXXXXX")
	trap sg_cleanup EXIT
	DIR=$SG_TMP/inst
	WORK=$SG_TMP/work
	CFG=$DIR/scepgate.cfg
	mkdir "$WORK"
	PORT=$(sg_free_port)

	out=$("$SCEPCTL" init --dir "$DIR" --port "$PORT" --address 127.0.0.1 2>&1) ||
		sg_fail "scepctl init failed: $out"
	CODE=$(sg_field 'access code' <<<"$out")
	URL=$(sg_field 'SCEP URL' <<<"$out")
	[[ -n $CODE && -n $URL ]] ||
		sg_fail "no access code or SCEP URL in scepctl init output: $out"

	sg_start
}

# Starts scepgate on the instance (appending to server.log) and waits
# until it is healthy.
sg_start() {
	"$SCEPGATE" --config "$CFG" >>"$DIR/server.log" 2>&1 &
	SG_PID=$!
	for _ in $(seq 100); do
		curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/healthz" &&
			return 0
		kill -0 "$SG_PID" 2>/dev/null || sg_fail "scepgate exited at start"
		sleep 0.1
	done
	sg_fail "scepgate not healthy after 10 s"
}

# Stops scepgate and starts it again (CFG is read once, at start).
sg_restart() {
	kill "$SG_PID" 2>/dev/null || true
	wait "$SG_PID" 2>/dev/null || true
	sg_start
}

# sg_pki_enroll CN OUT: strongSwan pki fetches the CA and RA certificates
# (ca.der, ra.der) and enrolls a new key (key.der) for CN=CN with CODE at
# URL; the certificate goes to OUT (DER), pki's messages to pki.log.
sg_pki_enroll() {
	timeout 60 pki --scepca --url "$URL" --caout ca.der --raout ra.der \
		>scepca.log 2>&1 || sg_fail "pki --scepca: $(cat scepca.log)"
	pki --gen --type rsa --size 2048 --outform der >key.der 2>/dev/null
	timeout 60 pki --scep --url "$URL" --in key.der --dn "CN=$1,O=scepgate" \
		--password "$CODE" --cacert-enc ra.der --cacert-sig ra.der \
		--cacert ca.der --maxpolltime 10 --interval 1 >"$2" 2>pki.log ||
		sg_fail "pki --scep: $(cat pki.log)"
}

# sg_pki_issued NAME CA.PEM: strongSwan pki's $WORK/NAME/cert.der is a
# certificate (also written as cert.pem there) that chains to CA.PEM.
sg_pki_issued() {
	local d=$WORK/$1
	[[ -s $d/cert.der ]] || sg_fail "$1: no certificate: $(cat "$d/pki.log")"
	openssl x509 -inform DER -in "$d/cert.der" -out "$d/cert.pem" ||
		sg_fail "$1: cert.der is not a certificate"
	openssl verify -CAfile "$2" "$d/cert.pem" >/dev/null ||
		sg_fail "$1: the certificate does not chain to $2"
}

# sg_pki_refused NAME: pki got a SCEP FAILURE in $WORK/NAME and no
# certificate.
sg_pki_refused() {
	[[ ! -s $WORK/$1/cert.der ]] || sg_fail "$1: a certificate was issued"
	grep -q "reply status is not 'SUCCESS'" "$WORK/$1/pki.log" ||
		sg_fail "$1: no SCEP FAILURE reply: $(cat "$WORK/$1/pki.log")"
}

# Stops the scepgate of sg_start (to change CFG, then sg_start again).
sg_stop() {
	kill "$SG_PID" 2>/dev/null || true
	wait "$SG_PID" 2>/dev/null || true
}
