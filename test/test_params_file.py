"""config/planner.yaml repeats every declared parameter with its default."""

from pathlib import Path

from rclpy.parameter import parameter_dict_from_yaml_file, parameter_value_to_python

from rag_planner.params import PLANNER_PARAMS, PlannerConfig

CONFIG = Path(__file__).resolve().parent.parent / 'config' / 'planner.yaml'


def read_params(path) -> dict:
    """Read a ROS parameter file the way the nodes do (rclpy's own reader)."""
    doc = parameter_dict_from_yaml_file(str(path), use_wildcard=True)
    return {name: parameter_value_to_python(msg.value) for name, msg in doc.items()}


def test_planner_yaml_matches_declared_parameters():
    flat = read_params(CONFIG)
    assert set(flat) == {spec.name for spec in PLANNER_PARAMS}
    for spec in PLANNER_PARAMS:
        assert flat[spec.name] == spec.default, spec.name
    PlannerConfig.from_dict(flat)


def test_a_changed_value_is_read_and_checked(tmp_path):
    path = tmp_path / 'p.yaml'
    path.write_text('/**:\n  ros__parameters:\n    deadline_ms: 90.0\n'
                    '    safety:\n      max_steps: 8\n')
    flat = read_params(path)
    assert flat == {'deadline_ms': 90.0, 'safety.max_steps': 8}
    assert PlannerConfig.from_dict(flat)['safety.max_steps'] == 8
