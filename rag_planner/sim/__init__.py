"""
Simulation and benchmarks (ROS tools; they may use rclpy).

The fleet simulator and the end-to-end benchmark: robot state evolution
(:mod:`.world`), Poisson arrivals from the wording generator (:mod:`.arrivals`),
the fault timeline (:mod:`.timeline`), the expected plan of a request
(:mod:`.expected`), per-request records and statistics (:mod:`.records`,
:mod:`.stats`), the ROS side (:mod:`.fleet_node`, :mod:`.phase`), reports,
plots and MCAP logs; plus the retrieval and watchdog benchmarks and the local
LLM baseline. Needs the ``sim`` extra (``requirements/sim.txt``).
"""
