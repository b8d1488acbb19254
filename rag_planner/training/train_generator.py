"""
Train the plan generator, export it to ONNX and write its manifest (console script).

Needs the optional ``train`` extra (torch, onnx).  The shipped model in
``models/generator/`` is reproduced by::

    OMP_NUM_THREADS=2 train_generator --out models/generator

``--tiny`` trains a toy configuration in seconds (the CI test uses it).
Any field of :class:`rag_planner.training.generator_config.TrainConfig` can be set with
``--set key=value`` (JSON values), e.g. ``--set epochs=4 --set d=128``.
"""

from __future__ import annotations

import argparse
from dataclasses import fields
import json
import shlex
import sys
from typing import Optional, Sequence

from rag_planner.errors import MissingExtra, require_extra


def parse_sets(items: Sequence[str], config_type) -> dict:
    """Parse ``key=value`` pairs (values as JSON, else as strings) for a config dataclass."""
    known = {f.name for f in fields(config_type)}
    out = {}
    for item in items:
        key, sep, value = item.partition('=')
        if not sep or key not in known:
            raise SystemExit(f'--set {item!r}: expected key=value with key in {sorted(known)}')
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line tool."""
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default='models/generator', help='output model directory')
    ap.add_argument('--tiny', action='store_true', help='toy configuration (seconds)')
    ap.add_argument('--set', action='append', default=[], metavar='KEY=VALUE',
                    help='override a TrainConfig field')
    args = ap.parse_args(argv)
    try:
        require_extra('train', 'torch', 'onnx', tool='train_generator')
    except MissingExtra as exc:
        print(exc, file=sys.stderr)
        return 2
    # torch is the train extra: imported only once it is known to be there
    from rag_planner.training.generator_train import run, TrainConfig
    cfg = TrainConfig.tiny() if args.tiny else TrainConfig()
    for k, v in parse_sets(args.set, TrainConfig).items():
        setattr(cfg, k, v)
    command = 'train_generator ' + ' '.join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    metrics = run(cfg, args.out, log=lambda s: print(s, flush=True), command=command)
    return 0 if metrics.get('onnx_torch_agreement', 0.0) >= 0.99 else 1


if __name__ == '__main__':
    sys.exit(main())
