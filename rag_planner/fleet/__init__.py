"""
Fleet simulation and benchmark core (no rclpy).

Robot state evolution (:mod:`.world`), Poisson task arrivals drawn from the
wording generator (:mod:`.arrivals`), the scheduled fault timeline
(:mod:`.timeline`), the expected plan of a request (:mod:`.expected`),
per-request records and their statistics (:mod:`.records`, :mod:`.stats`),
plots (:mod:`.plots`) and the MCAP event log (:mod:`.mcap_log`).  The ROS
nodes ``fleet_sim`` and ``bench`` in :mod:`rag_planner.ros` drive these.
"""
