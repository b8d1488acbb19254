"""eval_planners: every wrong plan is listed, other failures up to a cap per subset."""

from rag_planner.domain.answers import ErrorCode
from rag_planner.domain.plan_grammar import parse_plan
from rag_planner.paths import default_library_path, default_model_dir
from rag_planner.training import eval_planners
from rag_planner.training.eval_answers import EvalCase, HEALTHY

PICK = 'Pick 3 units of SKU-48213 from A12-03 and bring them to PACK-4.'
RIGHT = parse_plan('NAVIGATE A12-03; SCAN A12-03; PICK SKU-48213 3; NAVIGATE PACK-4; '
                   'PLACE PACK-4; REPORT DONE SKU-48213')
OTHER = parse_plan('NAVIGATE A12-03; SCAN A12-03; PICK SKU-48213 4; NAVIGATE PACK-4; '
                   'PLACE PACK-4; REPORT DONE SKU-48213')


def _case(subset: str, plan, task: str = PICK) -> EvalCase:
    return EvalCase(subset, task, HEALTHY, ErrorCode.NONE, tuple(plan), 't', 'pick')


def test_wrong_plans_are_all_listed_and_other_failures_capped_per_subset(monkeypatch):
    monkeypatch.setattr(eval_planners, 'FAILURES_PER_SUBSET', 2)
    cases = {'a': [_case('a', OTHER)] * 5,        # the rule plan is RIGHT: 5 wrong
             'b': [_case('b', RIGHT, 'Tell me a joke.')] * 5,  # refused: 5 'refused_other'
             'c': [_case('c', RIGHT)] * 3}         # exact
    res = eval_planners.evaluate(['rule'], cases, str(default_model_dir()),
                                 str(default_library_path()), 'charge_first', log=lambda m: None)
    got = [(f['subset'], f['category']) for f in res['failures']['rule']]
    assert got.count(('a', 'wrong')) == 5
    assert got.count(('b', 'refused_other')) == 2 and len(got) == 7
    assert res['counts']['rule']['b'] == {'refused_other': 5}
    assert res['counts']['rule']['c'] == {'exact': 3}
