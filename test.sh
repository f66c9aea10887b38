#!/usr/bin/env bash
# Runs every test of the solution after setting up and building what is missing.
set -euo pipefail
root="$(cd "$(dirname "$0")" && pwd)"
cd "$root"
# The report tests open figures with poppler and compile the LaTeX output with pdflatex (texlive-latex-base; booktabs
# is in texlive-latex-recommended).
tools/setup.sh chromium postgresql slurm-wlm munge poppler-utils texlive-latex-base texlive-latex-recommended
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
dotnet test Studies.sln -c Release --no-build -nologo --logger "console;verbosity=normal" 2>&1 | tee "$log" || status=$?
# The failures again at the end, so a log's tail names them (CI shows only the tail).
awk '/^ +Failed [A-Za-z]/ { show = 12; print "FAILED:" } show > 0 { print; show-- }' "$log"
# One plain closing line over all test projects.
awk '/^ +(Passed|Failed|Skipped): +[0-9]+ *$/ { n[$1] += $2 }
     END { printf "tests: %d passed, %d failed, %d skipped\n", n["Passed:"], n["Failed:"], n["Skipped:"] }' "$log"
exit $status
