"""
Offline work: wordings, the plan library, generator training, evaluation.

The wording generator, the plan-library maker, the generator's training and
ONNX export (torch: the ``train`` extra) and the planners' evaluation. Imports
only the core, never ``ros`` or ``sim``.
"""
