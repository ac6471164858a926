# shellcheck shell=bash
# Shared by the bench/ scripts (sourced; bench_init needs die and
# SCEPCTL defined first).

# bench_init DIR PORT: a new `scepctl init` instance in DIR listening on
# PORT, log level warn, no per-address connection limit (every load comes
# from 127.0.0.1); sets BI_CODE (access code) and BI_URL (SCEP URL).
bench_init() {
	local out
	out=$("$SCEPCTL" init --dir "$1" --port "$2" 2>&1) ||
		die "scepctl init: $out"
	BI_CODE=$(sed -n 's/^access code: *//p' <<<"$out")
	BI_URL=$(sed -n 's/^SCEP URL: *//p' <<<"$out")
	[[ -n $BI_CODE && -n $BI_URL ]] || die "scepctl init printed: $out"
	sed -i 's/level = "[a-z]*"/level = "warn"/
		s/^limits = { /&connections_per_address = 0; /' "$1/scepgate.cfg"
	grep -q 'connections_per_address = 0' "$1/scepgate.cfg" ||
		die "bench_init: no limits line in $1/scepgate.cfg"
}

# free_port: a TCP port free on 127.0.0.1 now (the kernel's pick).
free_port() {
	python3 -c 'import socket; s = socket.socket()
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
