"""
Start a simulated fleet: planners, diagnostics and the fleet simulator publishing /clock.

The planners run one per robot namespace, or one shared.

    ros2 launch rag_planner fleet_sim.launch.py robots:=4 planners:=per-robot speed:=5
    ros2 launch rag_planner fleet_sim.launch.py robots:=20 planners:=shared \
        pipeline:=generated duration:=600 speed:=5 faults:=default out:=/tmp/shift

Every planner runs with use_sim_time (its events are stamped in sim time);
its deadline stays on the steady clock. The fleet simulator ends after
``duration`` sim seconds; the planners keep running until the launch is
stopped (Ctrl-C), unless ``shutdown_when_done`` is true.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, EmitEvent, OpaqueFunction, RegisterEventHandler
from launch.event_handlers import OnProcessExit
from launch.events import Shutdown
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def _value(context, name: str) -> str:
    return LaunchConfiguration(name).perform(context)


def _planner_names(context) -> list:
    """Return the fully qualified planner node names the robots ask."""
    robots = int(_value(context, 'robots'))
    prefix = _value(context, 'robot_prefix')
    if _value(context, 'planners') == 'shared':
        return ['/rag_planner']
    return [f'/{prefix}{i}/rag_planner' for i in range(robots)]


def _nodes(context):
    share = get_package_share_directory('rag_planner')
    params_file = _value(context, 'params_file') or os.path.join(share, 'config', 'planner.yaml')
    robots = int(_value(context, 'robots'))
    if robots < 1:
        raise ValueError(f'robots must be >= 1, got {robots}')
    mode = _value(context, 'planners')
    if mode not in ('per-robot', 'shared'):
        raise ValueError(f"planners must be 'per-robot' or 'shared', got {mode!r}")
    pipeline = _value(context, 'pipeline')
    log_level = _value(context, 'log_level')
    planner_params = [params_file, {'use_sim_time': True, 'pipeline': pipeline}]
    actions = []
    for name in _planner_names(context):
        namespace = name.rsplit('/', 1)[0] or '/'
        actions.append(Node(
            package='rag_planner', executable='plan_server', name='rag_planner',
            namespace=namespace, output='screen', parameters=planner_params,
            arguments=['--ros-args', '--log-level', log_level]))
    actions.append(Node(
        package='rag_planner', executable='plan_diagnostics', name='rag_planner_diagnostics',
        output='screen',
        parameters=[os.path.join(share, 'config', 'diagnostics.yaml'),
                    {'planners': _planner_names(context), 'use_sim_time': True}],
        arguments=['--ros-args', '--log-level', log_level]))
    sim_args = ['--robots', str(robots), '--rate', _value(context, 'rate'),
                '--duration', _value(context, 'duration'), '--speed', _value(context, 'speed'),
                '--planners', mode, '--robot-prefix', _value(context, 'robot_prefix'),
                '--interface', _value(context, 'interface'),
                '--templates', _value(context, 'templates'),
                '--seed', _value(context, 'seed'), '--no-progress']
    if _value(context, 'faults'):
        sim_args += ['--faults', _value(context, 'faults')]
    if _value(context, 'out'):
        sim_args += ['--out', _value(context, 'out')]
    fleet = Node(package='rag_planner', executable='fleet_sim', name='fleet_sim',
                 output='screen', arguments=sim_args)
    actions.append(fleet)
    if _value(context, 'shutdown_when_done').lower() == 'true':
        actions.append(RegisterEventHandler(OnProcessExit(
            target_action=fleet,
            on_exit=[EmitEvent(event=Shutdown(reason='fleet_sim finished'))])))
    return actions


def generate_launch_description():
    """Launch arguments: robots, planners, pipeline, rate, duration, speed, faults, ..."""
    args = (
        ('robots', '4', 'Number of simulated robots.'),
        ('planners', 'per-robot', "'per-robot' (/robot_i/rag_planner) or 'shared' "
         '(/rag_planner).'),
        ('robot_prefix', 'robot_', 'Robot ids and namespaces are <prefix><i>.'),
        ('pipeline', 'auto', 'pipeline parameter of every planner: auto, generated, '
         'retrieved or rule_based.'),
        ('params_file', '', 'Planner parameter YAML (empty = config/planner.yaml).'),
        ('rate', '0.5', 'Task arrivals per robot per sim second (Poisson).'),
        ('duration', '60', 'Sim seconds the fleet runs.'),
        ('speed', '1', 'Sim seconds per real second published on /clock.'),
        ('faults', '', 'Fault timeline (START+DUR:STAGE:MODE[:DELAY_MS],...) or default.'),
        ('interface', 'service', 'service, topic or both.'),
        ('templates', 'all', 'Wording templates of the tasks: all, train or heldout.'),
        ('seed', '1', 'Random seed of arrivals, tasks and the warehouse.'),
        ('out', '', 'Folder for summary.json, plots and events.mcap (empty = none).'),
        ('log_level', 'info', 'Log level of the planners and diagnostics.'),
        ('shutdown_when_done', 'false', 'Stop the whole launch when fleet_sim ends.'),
    )
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=description)
         for name, default, description in args]
        + [OpaqueFunction(function=_nodes)])
