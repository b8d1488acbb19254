"""ROS 2 adapters of the planner core: the only modules that import rclpy."""
