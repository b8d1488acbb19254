"""End-to-end training pipeline on a tiny configuration (seconds), then load its export."""

import pytest

from rag_planner.domain.plan_grammar import format_plan, parse_plan
from rag_planner.domain.robot_state import RobotState
from rag_planner.generation.runtime import Generator
from rag_planner.retrieval.embedder import Embedder
from rag_planner.training.generator_train import run, TrainConfig


def test_tiny_training_exports_a_loadable_model(tmp_path):
    # Skips inside the test, not at import: launch_testing's pytest plugin imports every
    # test module while collecting, and a module-level skip there skips the whole folder.
    pytest.importorskip('torch', reason='torch is not installed (requirements/train.txt); '
                        'training is not tested')
    pytest.importorskip('onnx', reason='onnx is not installed (requirements/train.txt)')

    cfg = TrainConfig.tiny()
    cfg.cache_dir = str(tmp_path / 'cache')
    emb = Embedder.load()
    logs = []
    metrics = run(cfg, str(tmp_path / 'model'), embedder=emb, log=logs.append)
    assert metrics['train_samples'] > 0.9 * cfg.n_train
    assert metrics['onnx_torch_agreement'] >= 0.95
    assert (tmp_path / 'model' / 'train_metrics.json').is_file()
    gen = Generator.load(tmp_path / 'model')
    assert gen.embedder_model_id == emb.model_id
    task = 'Pick 3 units of SKU-48213 from A12-03 and bring them to PACK-4.'
    g = gen.generate(task, RobotState(), emb.encode(task), [], max_new_tokens=32)
    assert parse_plan(format_plan(g.steps)) == list(g.steps)
    assert 0.0 < g.confidence <= 1.0
