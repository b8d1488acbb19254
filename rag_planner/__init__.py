"""
On-robot retrieval-augmented task planner for warehouse robots.

The core modules (everything outside ``rag_planner.ros``) never import rclpy.
"""
