"""The one way our console scripts run a node: start, spin, stop cleanly."""

import signal
import sys
from typing import Callable, Optional

import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import Executor, ExternalShutdownException, SingleThreadedExecutor


def run_node(name: str, make_node: Callable, args=None,
             make_executor: Optional[Callable] = None) -> int:
    """
    Create the node and spin it until shutdown; return the process exit code.

    A node that cannot start (bad parameter, unreadable file) exits with 2 and
    one line saying why, never a traceback; one interrupted while starting, with 130.
    """
    rclpy.init(args=args)
    try:
        node = make_node()
    except (ValueError, OSError, ParameterException) as exc:
        print(f'{name}: cannot start: {exc}', file=sys.stderr)
        rclpy.try_shutdown()
        return 2
    except KeyboardInterrupt:
        # Ctrl-C while loading (an index built at the first start takes seconds): stop at
        # once, no traceback; whatever was half written is never used (manifests last).
        print(f'{name}: interrupted while starting', file=sys.stderr)
        rclpy.try_shutdown()
        return 130
    executor: Executor = make_executor(node) if make_executor else SingleThreadedExecutor()
    executor.add_node(node)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        # ros2 launch and `timeout` may send a second SIGINT while we clean up.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        node.destroy_node()
        rclpy.try_shutdown()
    return 0
