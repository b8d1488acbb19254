"""
The planners: rule-based, retrieval baseline and the generated pipeline.

Plus the factory that builds the best one the loaded files allow. Each is a
:class:`~rag_planner.planners.base.Planner`; the serving engine runs one as its
primary path and the rule planner as the first link of the fallback chain.
"""
