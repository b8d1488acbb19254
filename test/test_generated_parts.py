"""The pipeline checks a composite part by part: parts hit the skeleton cache of single tasks."""

from rag_planner.domain.plan_grammar import format_plan
from rag_planner.domain.robot_state import RobotState
from rag_planner.params import PlannerConfig
from rag_planner.planners.factory import build_planner
from rag_planner.serving.engine import PlanningEngine
from rag_planner.serving.request import PlanRequestData

STATE = RobotState('robot_7', 'DOCK-1', 80.0, False, ())
PICK = 'Pick 3 units of SKU-48213 from A12-03 and bring them to PACK-4'
PICK_PLAN = ('NAVIGATE A12-03; SCAN A12-03; PICK SKU-48213 3; NAVIGATE PACK-4; PLACE PACK-4; '
             'REPORT DONE SKU-48213')
CHARGE = 'go charge at CHARGER-3'


def test_a_composite_is_checked_per_part_and_its_parts_reuse_single_task_skeletons():
    cfg = PlannerConfig.from_dict({'pipeline': 'generated'})
    planner, notes = build_planner(cfg, '', log=lambda m: None)
    assert not notes
    eng = PlanningEngine(cfg, planner)
    try:
        for task in (PICK, CHARGE):  # single tasks: generated, then stored as skeletons
            assert eng.plan(PlanRequestData(task, STATE, 0.0, 's')).success
        before = planner.skeletons.stats()['hits']
        out = eng.plan(PlanRequestData(f'{PICK.replace("3 units", "5 units")}, then '
                                       'go charge at CHARGER-9.', STATE, 0.0, 'c'))
        assert out.success, out.message
        assert format_plan(out.steps) == PICK_PLAN.replace('SKU-48213 3', 'SKU-48213 5') + \
            '; NAVIGATE CHARGER-9; CHARGE CHARGER-9'
        # both parts were answered from the single tasks' skeletons: nothing generated
        assert planner.skeletons.stats()['hits'] == before + 2
        assert out.times.generate_ms == 0.0 and out.cache_hit
    finally:
        eng.close()
