"""Docstring style: ament_pep257."""

from ament_pep257.main import main
import pytest


@pytest.mark.linter
@pytest.mark.pep257
def test_pep257():
    rc = main(argv=['rag_planner', 'launch', 'setup.py'])
    assert rc == 0, 'Found code style errors / warnings'
