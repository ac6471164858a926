#!/usr/bin/env bash
# The systemd unit and the server's side of it: systemd-analyze verify
# (no warning allowed), the hardening directives, the offline security
# score against the one recorded in packaging/README.md, and sd_notify:
# READY=1 once listening, RELOADING=1 and READY=1 around SIGHUP (which
# checks the file and keeps serving, also when it is broken), STOPPING=1.
# The container has no systemd as PID 1, so the unit itself is not started.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
sg_need systemd-analyze
root=$(cd "$(dirname "$0")/../.." && pwd)
unit=$root/packaging/scepgate.service
# The service manager's end: a datagram socket that records each message,
# up before sg_setup starts scepgate, which inherits NOTIFY_SOCKET (a
# restart on the same port could lose it to another process meanwhile).
ndir=$(mktemp -d "${TMPDIR:-/tmp}/scepgate-notify.XXXXXX")
msgs=$ndir/notify.log
python3 - "$ndir/notify.sock" "$msgs" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(120)       # gone on its own if the test dies early
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        m = s.recv(4096).decode()
        f.write(m + "\n")
        if m.startswith("STOPPING=1"):
            break
PY
listener=$!
for _ in $(seq 50); do
	[[ -S $ndir/notify.sock ]] && break
	sleep 0.1
done
export NOTIFY_SOCKET=$ndir/notify.sock
sg_setup
unset NOTIFY_SOCKET
# sg_cleanup reads the exit status from $?: keep it past the kill.
trap 'st=$?; kill $listener 2>/dev/null || true; rm -rf "$ndir"; (exit $st); sg_cleanup' EXIT

echo "systemd-analyze verify"
mkdir "$WORK/unit"
sed "s|/usr/sbin/scepgate|$SCEPGATE|g" "$unit" >"$WORK/unit/scepgate.service"
out=$(systemd-analyze verify --man=no "$WORK/unit/scepgate.service" 2>&1) ||
	sg_fail "verify failed: $out"
[[ -z $out ]] || sg_fail "verify warns: $out"

echo "hardening directives"
for d in Type=notify User=scepgate ProtectSystem=strict \
	ReadWritePaths=/var/lib/scepgate NoNewPrivileges=yes PrivateTmp=yes \
	ProtectHome=yes CapabilityBoundingSet= \
	SystemCallFilter=@system-service MemoryDenyWriteExecute=yes \
	'ExecReload=/bin/kill -HUP $MAINPID'; do
	grep -qxF "$d" "$unit" || sg_fail "unit lacks $d"
done

echo "systemd-analyze security"
score=$(systemd-analyze security --offline=yes --no-pager \
	"$WORK/unit/scepgate.service" 2>&1 |
	sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
recorded=$(sed -n 's/^Exposure level: \([0-9.]*\).*/\1/p' \
	"$root/packaging/README.md")
echo "exposure $score (recorded in packaging/README.md: $recorded)"
[[ -n $score && -n $recorded ]] || sg_fail "no score ($score/$recorded)"
awk -v a="$score" -v b="$recorded" 'BEGIN { exit !(a <= b) }' ||
	sg_fail "exposure $score is worse than the recorded $recorded"

# wait_msg N TEXT: the notify log's line N is TEXT, within 10 s
wait_msg() {
	for _ in $(seq 100); do
		[[ $(sed -n "$1p" "$msgs" 2>/dev/null) == "$2" ]] && return 0
		sleep 0.1
	done
	sg_fail "notify message $1 is not $2: $(cat "$msgs" 2>/dev/null)"
}
echo "sd_notify"
wait_msg 1 READY=1
curl -fsS --max-time 5 -o /dev/null "http://127.0.0.1:$PORT/healthz" ||
	sg_fail "READY=1 sent but not serving"

kill -HUP "$SG_PID"
wait_msg 2 RELOADING=1
wait_msg 3 READY=1
grep -q 'SIGHUP: .* is valid; restart scepgate to apply it' "$DIR/server.log" ||
	sg_fail "no SIGHUP check in the log"

cp "$CFG" "$WORK/cfg.good"
echo 'listen = broken' >>"$CFG"
kill -HUP "$SG_PID"
wait_msg 5 READY=1
cp "$WORK/cfg.good" "$CFG"
grep -q 'SIGHUP: .*still serving' "$DIR/server.log" ||
	sg_fail "a broken file on SIGHUP is not reported"
kill -0 "$SG_PID" || sg_fail "scepgate died on SIGHUP"
curl -fsS --max-time 5 -o /dev/null "$URL?operation=GetCACaps" ||
	sg_fail "not serving after SIGHUP"

kill "$SG_PID"
wait_msg 6 STOPPING=1
wait "$listener" || true
echo "OK"
