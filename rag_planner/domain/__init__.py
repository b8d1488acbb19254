"""
The planner's domain: pure functions, no I/O.

Plan grammar, robot state, request checks, the safety validator, task families
and entity extraction. Every other folder builds on this one; it imports none of them.
"""
