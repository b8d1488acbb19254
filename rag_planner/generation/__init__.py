"""
Generation: the plan generator at run time (onnxruntime only, no torch).

Its input augmentation under a fixed token budget, the copy candidates found in
the task, and the output vocabulary with its grammar mask. Training and export
live in :mod:`rag_planner.training`.
"""

from rag_planner.generation.runtime import (
    Generation, GenerationError, Generator, GeneratorLoadError)

__all__ = ['Generation', 'GenerationError', 'Generator', 'GeneratorLoadError']
