#!/usr/bin/env bash
# The studies command: sets up and builds what is missing, then runs `studies ARGS`.
#   ./studies.sh run studies/quickstart.yaml
set -euo pipefail
root="$(cd "$(dirname "$0")" && pwd)"
"$root/tools/setup.sh"
exec dotnet "$root/Orchestrator/bin/Release/net10.0/studies.dll" "$@"
