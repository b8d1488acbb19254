"""
The package layout of DESIGN.md: folders in the order of the request's way, imports one way.

domain -> retrieval -> generation -> planners -> serving form the core; a core
folder imports only the folders before it. ``ros`` may import the core;
``sim`` the core and ``ros`` (and ``training`` for its wordings); ``training``
only the core. rclpy appears only in ``ros`` and ``sim``. The top level holds
only params, paths and errors. No module is longer than 500 lines.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / 'rag_planner'
CORE = ('domain', 'retrieval', 'generation', 'planners', 'serving')
TOP_MODULES = {'__init__', 'params', 'paths', 'errors'}
ALLOWED = {folder: set(CORE[:i]) for i, folder in enumerate(CORE)}
ALLOWED.update({'ros': set(CORE), 'sim': set(CORE) | {'ros', 'training'},
                'training': set(CORE)})
ROS_ONLY = ('rclpy', 'rcl_interfaces', 'rosgraph_msgs', 'diagnostic_msgs', 'std_srvs',
            'lifecycle_msgs', 'rag_planner_interfaces', 'launch', 'launch_ros')
MAX_LINES = 500


def modules():
    return sorted(p for p in PACKAGE.rglob('*.py') if '__pycache__' not in p.parts)


def folder_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE).parts
    return rel[0] if len(rel) > 1 else ''


def imported(path: Path):
    """Yield (line, module) of every import statement, at any depth."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module == 'rag_planner':
                for alias in node.names:
                    yield node.lineno, f'rag_planner.{alias.name}'
            else:
                yield node.lineno, node.module


def test_top_level_holds_only_params_paths_errors():
    top = {p.stem for p in PACKAGE.glob('*.py')}
    assert top <= TOP_MODULES, f'unexpected top-level modules: {sorted(top - TOP_MODULES)}'
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != '__pycache__'}
    assert folders == set(ALLOWED), folders


def violations(path: Path, here: str) -> list:
    """Return the import rules a module in folder ``here`` ('' = top level) breaks."""
    problems = []
    for line, module in imported(path):
        parts = module.split('.')
        if parts[0] == 'rag_planner' and len(parts) > 1 and here:
            target = parts[1]
            if target in ALLOWED and target != here and target not in ALLOWED[here]:
                problems.append(f'line {line}: {here}/ imports {module}')
        if parts[0] == 'rag_planner' and not here and len(parts) > 1 and parts[1] in ALLOWED \
                and parts[1] != 'domain':
            problems.append(f'line {line}: top-level module imports {module}')
        if parts[0] in ROS_ONLY and here not in ('ros', 'sim'):
            problems.append(f'line {line}: {module} outside ros/ and sim/')
    return problems


@pytest.mark.parametrize('path', modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_one_way(path):
    problems = violations(path, folder_of(path))
    assert not problems, '\n'.join(problems)


@pytest.mark.parametrize('path', modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_is_small(path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES, f'{path.name} has {n} lines (at most {MAX_LINES})'


def test_the_checker_reports_each_kind_of_wrong_import(tmp_path):
    bad = tmp_path / 'bad.py'
    bad.write_text('from rag_planner.serving.engine import PlanningEngine\n'
                   'import rclpy\n'
                   'def late():\n    from rag_planner.sim import plots\n')
    assert len(violations(bad, 'domain')) == 3
    assert len(violations(bad, 'training')) == 2      # serving is core: allowed
    assert violations(bad, 'sim') == []
