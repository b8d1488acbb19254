"""
fleet_sim: a fleet of simulated robots asking planners for plans, on sim time.

N robots draw tasks as Poisson arrivals from the wording generator, send
them with their evolving state to a planner (one per robot namespace,
``/robot_i/rag_planner``, or one shared ``/rag_planner``) through the
``~/get_plan`` service or the ``~/plan_request`` topic, and follow the plans
they get.  A scheduled fault timeline switches the planners' ``fault.*``
parameters.  ``/clock`` runs ``--speed`` times faster than real time, so
nodes with ``use_sim_time`` see the simulated shift, while every planner's
deadline stays on the steady clock.

    fleet_sim --robots 4 --rate 0.5 --duration 120 --speed 5 --spawn --planners per-robot
    fleet_sim --robots 20 --rate 0.5 --duration 600 --speed 5 --spawn --pipeline generated \
        --faults default --out shift/

:class:`~rag_planner.sim.fleet_node.FleetNode` and :func:`~rag_planner.sim.phase.run_phase`
are also what the ``bench`` tool drives.  Needs the ``sim`` extra (tqdm, psutil,
matplotlib, mcap).
"""

import argparse
import os
import sys

from rag_planner.errors import MissingExtra, require_extra
from rag_planner.sim.timeline import default_shift_timeline, parse_timeline

SIM_EXTRA = ('matplotlib', 'mcap', 'psutil', 'tqdm')


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser of fleet_sim."""
    p = argparse.ArgumentParser(prog='fleet_sim', description=__doc__.split('\n\n')[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--robots', type=int, default=4, help='number of robots')
    p.add_argument('--rate', type=float, default=0.5,
                   help='task arrivals per robot per sim second (Poisson)')
    p.add_argument('--duration', type=float, default=60.0, help='sim seconds to run')
    p.add_argument('--speed', type=float, default=1.0,
                   help='sim seconds per real second (/clock rate)')
    p.add_argument('--planners', choices=('per-robot', 'shared'), default='shared',
                   help='a planner per robot namespace, or one shared planner')
    p.add_argument('--shared-planner', default='/rag_planner',
                   help='node name of the shared planner')
    p.add_argument('--robot-prefix', default='robot_', help='robot ids / namespaces prefix')
    p.add_argument('--spawn', action='store_true',
                   help='start the plan_server processes here (otherwise they must run)')
    p.add_argument('--pipeline', default='auto',
                   choices=('auto', 'generated', 'retrieved', 'rule_based'),
                   help='pipeline parameter of spawned planners')
    p.add_argument('--sim-time', dest='sim_time', action='store_true', default=True,
                   help='spawned planners use /clock (use_sim_time)')
    p.add_argument('--no-sim-time', dest='sim_time', action='store_false')
    p.add_argument('--no-clock', action='store_true', help='do not publish /clock')
    p.add_argument('--clock-hz', type=float, default=50.0, help='/clock messages per second')
    p.add_argument('--interface', choices=('service', 'topic', 'both'), default='service')
    p.add_argument('--faults', default='',
                   help='fault timeline: "START+DUR:STAGE:MODE[:DELAY_MS],...", a YAML file, '
                        'or "default" (five faults spread over the run)')
    p.add_argument('--templates', choices=('all', 'train', 'heldout'), default='all',
                   help='wording templates tasks are drawn from')
    p.add_argument('--static', action='store_true',
                   help='robots do not evolve (fresh healthy state every request)')
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--deadline-ms', type=float, default=0.0,
                   help='GetPlan.deadline_ms sent (0 = the planner default)')
    p.add_argument('--answer-timeout', type=float, default=2.0,
                   help='seconds after the last request before unanswered ones count as lost')
    p.add_argument('--out', default='', help='write summary.json, plots and events.mcap here')
    p.add_argument('--state-dir', default='', help='state folders of spawned planners')
    p.add_argument('--no-progress', action='store_true', help='no progress bar')
    return p


def resolve_timeline(spec: str, duration_s: float) -> list:
    """Return the fault timeline of a --faults value."""
    if not spec:
        return []
    if spec == 'default':
        return default_shift_timeline(duration_s)
    if os.path.isfile(spec):
        with open(spec, 'r', encoding='utf-8') as f:
            return parse_timeline(f.read())
    return parse_timeline(spec)


def split_ros_args(argv: list) -> tuple:
    """Return (our arguments, the ``--ros-args ...`` tail)."""
    if '--ros-args' in argv:
        i = argv.index('--ros-args')
        return argv[:i], argv[i:]
    return argv, []


def main(args=None) -> int:
    """Run the fleet simulator."""
    argv, ros_args = split_ros_args(list(sys.argv[1:] if args is None else args))
    opts = build_parser().parse_args(argv)
    try:
        timeline = resolve_timeline(opts.faults, opts.duration)
    except (OSError, ValueError) as exc:
        print(f'fleet_sim: bad --faults: {exc}', file=sys.stderr)
        return 2
    if opts.robots < 1 or opts.rate < 0 or opts.duration <= 0 or opts.speed <= 0:
        print('fleet_sim: need --robots >= 1, --rate >= 0, --duration > 0, --speed > 0',
              file=sys.stderr)
        return 2
    try:
        require_extra('sim', *SIM_EXTRA, tool='fleet_sim')
    except MissingExtra as exc:
        print(exc, file=sys.stderr)
        return 2
    from rag_planner.sim.fleet_run import run_fleet  # the sim extra, checked above
    return run_fleet(opts, argv, ros_args, timeline)


if __name__ == '__main__':
    sys.exit(main())
