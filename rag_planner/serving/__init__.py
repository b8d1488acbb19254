"""
Serving: the engine that answers every request before its deadline.

Its pieces are the worker pool, the watchdog, the fallback chain, the
last-known-safe store, the incident log, fault injection and the latency
statistics of the diagnostics. Plain Python: the ROS nodes wrap it.
"""
