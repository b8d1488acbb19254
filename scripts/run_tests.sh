#!/usr/bin/env bash
# The test command of the README (`make test` calls it after set-up).
# pytest's exit code 5 ("no tests collected") is a failure here, not a pass.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
export PYTHONDONTWRITEBYTECODE=1
"$ROOT/.venv/bin/python" -m pytest test -ra -p no:cacheprovider "$@"
rc=$?
if [[ $rc == 5 ]]; then
  echo "run_tests: pytest collected no tests: failing" >&2
  exit 1
fi
exit $rc
