"""Where the package's files are (installed or in a source checkout), and file checksums."""

import hashlib
import os
from pathlib import Path

try:  # present wherever ROS 2 is; a plain pip install of the core runs without it
    from ament_index_python.packages import get_package_share_directory
except ImportError:  # pragma: no cover - depends on the environment
    get_package_share_directory = None

PACKAGE = 'rag_planner'
_SOURCE_ROOT = Path(__file__).resolve().parent.parent


def share_dir() -> Path:
    """Return share/rag_planner of the install, else the source checkout's root."""
    if get_package_share_directory is not None:
        try:
            share = Path(get_package_share_directory(PACKAGE))
            if (share / 'config').is_dir():
                return share
        except (LookupError, ValueError, OSError):
            pass
    return _SOURCE_ROOT


def config_file(name: str) -> Path:
    """Return the path of a file in config/."""
    return share_dir() / 'config' / name


def default_library_path() -> Path:
    """Return the shipped plan library."""
    return config_file('plan_library.jsonl')


def default_model_dir() -> Path:
    """Return the shipped generator model folder (models/generator)."""
    return share_dir() / 'models' / 'generator'


def cache_dir() -> Path:
    """Return the folder of derived files (index, extracted tokenizer): $RAG_PLANNER_CACHE."""
    env = os.environ.get('RAG_PLANNER_CACHE')
    return Path(env) if env else Path.home() / '.cache' / PACKAGE


def default_index_dir() -> Path:
    """Return the folder the plan server builds its HNSW index into by default."""
    return cache_dir() / 'plan_index'


def default_state_dir(node_name: str) -> Path:
    """Return the per-node folder of persisted state (safe plans, cache, incidents)."""
    base = os.environ.get('XDG_STATE_HOME') or os.path.join(Path.home(), '.local', 'state')
    safe = node_name.strip('/').replace('/', '__') or PACKAGE
    return Path(base) / PACKAGE / safe


def sha256_file(path, chunk: int = 1 << 20) -> str:
    """Return the hex sha256 of a file, read in chunks (the manifests of index and models)."""
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()
