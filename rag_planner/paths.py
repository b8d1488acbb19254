"""Where the package's shipped files are, installed or in a source checkout."""

import os
from pathlib import Path

PACKAGE = 'rag_planner'
_SOURCE_ROOT = Path(__file__).resolve().parent.parent


def share_dir() -> Path:
    """Return share/rag_planner of the install, else the source checkout's root."""
    try:
        from ament_index_python.packages import get_package_share_directory
        share = Path(get_package_share_directory(PACKAGE))
        if (share / 'config').is_dir():
            return share
    except (ImportError, LookupError, ValueError, OSError):
        pass
    return _SOURCE_ROOT


def config_file(name: str) -> Path:
    """Return the path of a file in config/."""
    return share_dir() / 'config' / name


def default_state_dir(node_name: str) -> Path:
    """Return the per-node folder of persisted state (safe plans, cache, incidents)."""
    base = os.environ.get('XDG_STATE_HOME') or os.path.join(Path.home(), '.local', 'state')
    safe = node_name.strip('/').replace('/', '__') or PACKAGE
    return Path(base) / PACKAGE / safe
