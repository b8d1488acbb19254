"""config/planner.yaml repeats every declared parameter with its default."""

from pathlib import Path

import yaml

from rag_planner.params import flatten_yaml_params, PLANNER_PARAMS, PlannerConfig

CONFIG = Path(__file__).resolve().parent.parent / 'config' / 'planner.yaml'


def test_planner_yaml_matches_declared_parameters():
    flat = flatten_yaml_params(yaml.safe_load(CONFIG.read_text()), 'rag_planner')
    assert set(flat) == {spec.name for spec in PLANNER_PARAMS}
    for spec in PLANNER_PARAMS:
        assert flat[spec.name] == spec.default, spec.name
    PlannerConfig.from_dict(flat)


def test_flatten_reads_node_sections_and_nesting():
    doc = {'rag_planner': {'ros__parameters': {'deadline_ms': 90.0,
                                               'safety': {'max_steps': 8}}}}
    flat = flatten_yaml_params(doc, 'rag_planner')
    assert flat == {'deadline_ms': 90.0, 'safety.max_steps': 8}
