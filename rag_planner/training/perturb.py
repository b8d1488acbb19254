"""
Meaning-preserving perturbations of task texts: the "hard wordings" of the evaluation.

Random casing, spelled-out numbers (quantities and station numbers), filler words the
wording generator never uses, and clause order swapped.  The plan of a perturbed task
is the plan of the original.
"""

import random
import re

FILLERS_PRE = ('umm, ', 'so basically ', 'when possible: ', 'heads up - ', 'task for you: ')
FILLERS_SUF = (' as soon as you are free', ', much appreciated', ' (no rush)', ' ok?',
               ' - cheers')
KINDS = ('casing', 'numbers', 'filler', 'order')
_WORDS = {1: 'one', 2: 'two', 3: 'three', 4: 'four', 5: 'five', 6: 'six', 7: 'seven',
          8: 'eight', 9: 'nine', 10: 'ten', 11: 'eleven', 12: 'twelve', 13: 'thirteen',
          14: 'fourteen', 15: 'fifteen', 16: 'sixteen', 17: 'seventeen', 18: 'eighteen',
          19: 'nineteen', 20: 'twenty'}


def perturb(task: str, rng: random.Random) -> tuple:
    """Return (perturbed task, kind) with one meaning-preserving perturbation."""
    kind = rng.choice(KINDS)
    if kind == 'casing':
        out = ''.join(c.upper() if rng.random() < 0.5 else c.lower() for c in task)
    elif kind == 'numbers':
        def spell(m: re.Match) -> str:
            return _WORDS.get(int(m.group(0)), m.group(0))
        out = re.sub(r'(?<![\w-])(?:[1-9]|1[0-9]|20)(?![\w-])', spell, task)
        out = re.sub(r'\b(PACK|DOCK|STAGING|EXCEPTION|CHARGER)-(\d+)\b',
                     lambda m: f'{m.group(1).lower()} {_WORDS.get(int(m.group(2)), m.group(2))}',
                     out)
    elif kind == 'filler':
        out = rng.choice(FILLERS_PRE) + task.rstrip('.!?') + rng.choice(FILLERS_SUF)
    else:
        parts = re.split(r'(?<=[,;])\s+', task.rstrip('.!?'), maxsplit=1)
        if len(parts) == 2 and len(parts[1]) > 3:
            out = parts[1].rstrip(',;') + ', ' + parts[0].rstrip(',;')
        else:
            out = task.rstrip('.!?') + ', thanks'
            kind = 'filler'
    return out, kind
