"""
Plan generator: a small seq2seq model with a copy head, run by onnxruntime.

Runtime (no torch): :class:`Generator`, :class:`Generation`,
:class:`GeneratorLoadError`, :class:`GenerationError` from
:mod:`rag_planner.generator.runtime`.  Training and export
(:mod:`~rag_planner.generator.train`, :mod:`~rag_planner.generator.model_torch`,
:mod:`~rag_planner.generator.export`) import torch and are only needed to
rebuild the shipped model (``train_generator``).
"""

from rag_planner.generator.runtime import (
    Generation, GenerationError, Generator, GeneratorLoadError)

__all__ = ['Generation', 'GenerationError', 'Generator', 'GeneratorLoadError']
