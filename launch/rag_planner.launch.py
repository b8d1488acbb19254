"""
Start the plan server and the diagnostics node.

    ros2 launch rag_planner rag_planner.launch.py namespace:=robot_7 use_sim_time:=true
    ros2 launch rag_planner rag_planner.launch.py autostart:=false   # then by hand:
    ros2 lifecycle set /rag_planner configure && ros2 lifecycle set /rag_planner activate
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.utilities import make_namespace_absolute, prefix_namespace


def _planner_name(context):
    """
    Fully qualified planner name, resolved as launch_ros resolves the Node's namespace.

    The namespace argument is prefixed by any PushRosNamespace of an including launch
    file (ros_namespace), e.g. /fleet/robot_7/rag_planner.
    """
    namespace = make_namespace_absolute(prefix_namespace(
        context.launch_configurations.get('ros_namespace'),
        LaunchConfiguration('namespace').perform(context)))
    return namespace.rstrip('/') + '/rag_planner'


def _nodes(context):
    share = get_package_share_directory('rag_planner')
    params_file = LaunchConfiguration('params_file').perform(context) or \
        os.path.join(share, 'config', 'planner.yaml')
    use_sim_time = LaunchConfiguration('use_sim_time').perform(context).lower() == 'true'
    log_level = LaunchConfiguration('log_level')
    autostart = LaunchConfiguration('autostart').perform(context).lower() == 'true'
    planner = Node(
        package='rag_planner', executable='plan_server', name='rag_planner',
        namespace=LaunchConfiguration('namespace'), output='screen',
        parameters=[params_file, {'use_sim_time': use_sim_time, 'autostart': autostart}],
        arguments=['--ros-args', '--log-level', log_level])
    diagnostics = Node(
        package='rag_planner', executable='plan_diagnostics', name='rag_planner_diagnostics',
        namespace=LaunchConfiguration('namespace'), output='screen',
        condition=IfCondition(LaunchConfiguration('diagnostics')),
        parameters=[os.path.join(share, 'config', 'diagnostics.yaml'),
                    {'planners': [_planner_name(context)], 'use_sim_time': use_sim_time}],
        arguments=['--ros-args', '--log-level', log_level])
    return [planner, diagnostics]


def generate_launch_description():
    """Arguments: namespace, params_file, log_level, use_sim_time, diagnostics, autostart."""
    return LaunchDescription([
        DeclareLaunchArgument('namespace', default_value='',
                              description='Robot namespace, e.g. robot_7 (empty = none).'),
        DeclareLaunchArgument('params_file', default_value='',
                              description='Planner parameter YAML (empty = the shipped '
                                          'config/planner.yaml).'),
        DeclareLaunchArgument('log_level', default_value='info',
                              description='Log level of both nodes.'),
        DeclareLaunchArgument('use_sim_time', default_value='false',
                              description='Use /clock (simulation). Deadlines stay on the '
                                          'steady clock.'),
        DeclareLaunchArgument('diagnostics', default_value='true',
                              description='Also start the diagnostics node.'),
        DeclareLaunchArgument('autostart', default_value='true',
                              description='Configure and activate the planner at start; '
                                          'false: bring it up with its lifecycle services.'),
        OpaqueFunction(function=_nodes),
    ])
