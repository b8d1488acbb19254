#!/usr/bin/env bash
# The test command of the README (`make test` calls it after set-up).
# pytest's exit code 5 ("no tests collected") is a failure here, not a pass.
#
# A test hung inside C code is ended by test/conftest.py's hard timeout, which
# writes every thread's stack to log/test-hang.txt and exits. Then this script
# prints those stacks, stops the nodes that pytest left running, and resumes
# once from the hung test's module on (pytest runs modules in file-name order);
# the resumed run decides the exit code.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
export PYTHONDONTWRITEBYTECODE=1
export RAG_PLANNER_HANG_REPORT="$ROOT/log/test-hang.txt"
# Marks this run's processes, so that nodes left by a pytest that was ended can be found.
export RAG_PLANNER_TEST_RUN="$$-$RANDOM"

run_pytest() {
  rm -f "$RAG_PLANNER_HANG_REPORT"
  "$ROOT/.venv/bin/python" -m pytest -ra -p no:cacheprovider "$@"
}

# True (and the stacks printed, the left-over nodes stopped) if pytest was ended by a hang.
after_hang() {
  [[ -f $RAG_PLANNER_HANG_REPORT ]] && grep -q '^Timeout (' "$RAG_PLANNER_HANG_REPORT" || return 1
  echo "run_tests: a test hung; the stacks of every thread:" >&2
  cat "$RAG_PLANNER_HANG_REPORT" >&2
  local env pid
  for env in /proc/[0-9]*/environ; do
    if { tr '\0' '\n' <"$env"; } 2>/dev/null | grep -qx "RAG_PLANNER_TEST_RUN=$RAG_PLANNER_TEST_RUN"; then
      pid="${env#/proc/}"; pid="${pid%/environ}"
      [[ $pid != "$$" ]] && kill -9 "$pid" 2>/dev/null && echo "run_tests: stopped left-over node $pid" >&2
    fi
  done
  return 0
}

run_pytest test "$@"
rc=$?
if [[ $rc != 0 ]] && after_hang; then
  hung="$(head -1 "$RAG_PLANNER_HANG_REPORT" | sed -n 's/^running \(test\/[^:]*\.py\).*/\1/p')"
  if [[ -n $hung ]]; then
    LC_COLLATE=C   # the order pytest runs the modules in
    resume=()
    for f in test/test_*.py; do
      [[ $f > $hung || $f == "$hung" ]] && resume+=("$f")
    done
    echo "run_tests: resuming once from $hung (${#resume[@]} modules)" >&2
    run_pytest "${resume[@]}" "$@"
    rc=$?
    [[ $rc != 0 ]] && after_hang && echo "run_tests: hung again: failing" >&2
  fi
fi
if [[ $rc == 5 ]]; then
  echo "run_tests: pytest collected no tests: failing" >&2
  exit 1
fi
exit $rc
