#!/usr/bin/env bash
# Issue 17: the commit that records an issuance is on stable storage
# before the CertRep leaves. scepgate runs under strace; one micromdm
# scepclient enrollment must show an fsync or fdatasync of the database
# or its -wal between reading the PKIOperation request and writing the
# reply. With "PRAGMA synchronous=NORMAL" (WAL) there is none: the
# commit only reaches the page cache, which a power loss forgets.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
sg_need scepclient strace timeout

# sg_setup starts "$SCEPGATE": make that strace, writing $TRACE.
REAL=$SCEPGATE
TRACE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/scepgate-trace.XXXXXX")
TRACE=$TRACE_DIR/trace
WRAP=$TRACE_DIR/scepgate-strace
cat >"$WRAP" <<EOF
#!/bin/sh
exec strace -f -y -s 48 -o "$TRACE" \
	-e trace=fsync,fdatasync,recvfrom,recvmsg,read,sendto,sendmsg,write,writev \
	"$REAL" "\$@"
EOF
chmod +x "$WRAP"
SCEPGATE=$WRAP
sg_setup
# SG_PID is strace, which on SIGTERM detaches and leaves its tracee
# running: let sg_cleanup stop the server itself (strace then exits).
kid=$(pgrep -P "$SG_PID") || sg_fail "no scepgate under strace"
SG_PID=$kid
# sg_cleanup removes SG_TMP; keep the trace beside it until then.
mv "$TRACE_DIR" "$SG_TMP/trace.d"
TRACE=$SG_TMP/trace.d/trace

# enroll NAME: one micromdm scepclient enrollment of CN=NAME.
enroll() {
	local d=$WORK/$1
	mkdir "$d"
	timeout 60 scepclient -server-url "$URL" -challenge "$CODE" \
		-private-key "$d/key.pem" -certificate "$d/cert.pem" -cn "$1" \
		>"$d/client.log" 2>&1 || sg_fail "$1: $(cat "$d/client.log")"
	[[ -s $d/cert.pem ]] || sg_fail "$1: no certificate"
}

# The first write creates the -wal file, which SQLite syncs (header and
# directory) whatever the setting: warm up, then judge the second.
enroll warmup
enroll durable

# Each window runs from the read of a PKIOperation request to the first
# write of an HTTP reply after it; inside it, a sync of *.db or *.db-wal.
verdict=$(awk '
	/operation=PKIOperation/ && /(recv|read)/ { inreq = 1; synced = 0; next }
	inreq && /(fsync|fdatasync)\(/ && /\.db(-wal)?>/ { synced++ }
	inreq && /(send|write)[a-z]*\(/ && /HTTP\/1\.[01] / {
		n++; last = synced; inreq = 0
	}
	END { print (n < 2 ? "incomplete" : last > 0 ? "synced" : "unsynced"), n, last }
' "$TRACE")
echo "trace: $verdict (windows, syncs in the last one)"
case $verdict in
synced*) ;;
unsynced*)
	sg_fail "no fsync/fdatasync of the database between request and reply"
	;;
*)
	sg_fail "trace lacks two PKIOperation requests and replies: $verdict"
	;;
esac
echo "ok: the issuance was synced before the CertRep was sent"
