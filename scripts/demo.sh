#!/usr/bin/env bash
# Builds scepgate, creates a demo instance (once) and runs it in the
# foreground. Environment: DEMO_DIR (default ./demo), PORT (default 8080,
# only used when the instance is created).
set -euo pipefail
dir=$(realpath -m "${DEMO_DIR:-demo}")
port=${PORT:-8080}
cd "$(dirname "$0")/.."

bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j2

cfg=$dir/scepgate.cfg
if [[ -e $cfg ]]; then
	cat <<MSG
Reusing the instance in $dir (its configured port applies; PORT is ignored).
The access code was printed only when the instance was created and cannot be
recovered. Get a new one with
  $PWD/build/tools/scepctl --config $cfg account rotate-code --endpoint demo --name demo-devices
or create another account with
  $PWD/build/tools/scepctl --config $cfg account add --endpoint demo \\
      --name NAME --org ORG --term DAYS
MSG
else
	build/tools/scepctl init --dir "$dir" --port "$port"
fi
echo "Starting scepgate (Ctrl-C to stop)"
exec build/server/scepgate --config "$cfg"
