"""
Task families: the eleven kinds of task and their canonical plans (DESIGN.md).

:func:`build_plan` returns the canonical plan of a family filled with the
entities of a task (:mod:`rag_planner.domain.entities`) and raises
:class:`MissingEntity` when the entities do not fill it.  Builders do not
apply safety rules; the caller validates.
"""

from __future__ import annotations

from typing import Optional

from rag_planner.domain.entities import TaskEntities
from rag_planner.domain.plan_grammar import id_kind, Step
from rag_planner.domain.robot_state import RobotState
from rag_planner.domain.safety import LIMITS, SafetyConfig, SPILL_WAIT_S
from rag_planner.errors import MissingArgument, NotUnderstood, UnsafeTask

FAMILIES: tuple[str, ...] = (
    'pick', 'replenish', 'putaway', 'transfer', 'count', 'charge', 'park', 'spill', 'blocked',
    'misscan', 'stop',
)
DEFAULT_SPILL_WAIT_S = SPILL_WAIT_S
MAX_PLAN_QTY = LIMITS['max_pick_qty'][1]

EXAMPLES: dict = {
    'pick': ('Pick 3 units of SKU-48213 from A12-03 and bring them to PACK-4.',
             'NAVIGATE A12-03; SCAN A12-03; PICK SKU-48213 3; NAVIGATE PACK-4; PLACE PACK-4; '
             'REPORT DONE SKU-48213'),
    'replenish': ('Move 12 units of SKU-10077 from reserve B30-11 to forward bin B02-05.',
                  'NAVIGATE B30-11; SCAN B30-11; PICK SKU-10077 12; NAVIGATE B02-05; '
                  'SCAN B02-05; PLACE B02-05; REPORT DONE SKU-10077'),
    'putaway': ('Take TOTE-812 from DOCK-2 and store it at E07-14.',
                'NAVIGATE DOCK-2; SCAN TOTE-812; LOAD TOTE-812; NAVIGATE E07-14; '
                'UNLOAD E07-14; REPORT DONE TOTE-812'),
    'transfer': ('Bring TOTE-55 from PACK-1 to PACK-6.',
                 'NAVIGATE PACK-1; SCAN TOTE-55; LOAD TOTE-55; NAVIGATE PACK-6; UNLOAD PACK-6; '
                 'REPORT DONE TOTE-55'),
    'count': ('Count SKU-33120 at C15-02.',
              'NAVIGATE C15-02; SCAN C15-02; SCAN SKU-33120; REPORT COUNT SKU-33120'),
    'charge': ('Go charge at CHARGER-3.', 'NAVIGATE CHARGER-3; CHARGE CHARGER-3'),
    'park': ('Return to STAGING-2 and park.', 'NAVIGATE STAGING-2; HALT'),
    'spill': ('Spill at D09-07, report it and wait at STAGING-1.',
              'REPORT SPILL D09-07; NAVIGATE STAGING-1; WAIT 60'),
    'blocked': ('A11-04 is blocked, report it and go to STAGING-3.',
                'REPORT BLOCKED A11-04; NAVIGATE STAGING-3'),
    'misscan': ("The label at F20-01 won't scan, retry then escalate to EXCEPTION-1.",
                'NAVIGATE F20-01; SCAN F20-01; SCAN F20-01; NAVIGATE EXCEPTION-1; '
                'REPORT MISSCAN F20-01'),
    'stop': ('Stop now.', 'HALT'),
}
"""The DESIGN.md table: family -> (example task, canonical plan)."""


class MissingEntity(MissingArgument):
    """The task's entities do not fill the family's canonical plan; ``slot`` names the gap."""


# The kinds of argument a task can lack (MissingArgument.slot).
SLOTS = ('sku', 'quantity', 'source', 'destination', 'bin', 'tote', 'staging', 'exception',
         'location', 'seconds')


# --------------------------------------------------------------------------- builders
def _first(seq, what: str, family: str, slot: str):
    if not seq:
        raise MissingEntity(f'{family}: no {what} found in the task', slot)
    return seq[0]


def _pick_src_dst(ents: TaskEntities, family: str, src_ok, dst_ok) -> tuple[str, str]:
    """Choose a source and a destination location using roles, then order."""
    cands = list(zip(ents.locations, ents.roles))
    srcs = [(loc, r) for loc, r in cands if src_ok(loc)]
    if not srcs:
        raise MissingEntity(f'{family}: no source location found in the task', 'source')
    if len(cands) == 1 and family != 'pick' and (
            cands[0][1] == 'dst' or (family == 'replenish' and cands[0][1] != 'src')):
        # the one location is where things go ("replenish E29-18 with ..." names the
        # forward bin): where they come from is what is missing.  A pick's bin is
        # always its source ("go to F38-20 and pick ...").
        raise MissingEntity(f'{family}: no source location found in the task (only the '
                            f'destination {cands[0][0]})', 'source')
    src = next((loc for loc, r in srcs if r == 'src'), None)
    if src is None:
        src = next((loc for loc, r in srcs if r != 'dst'), None)
    dsts = [(loc, r) for loc, r in cands if dst_ok(loc)]
    if src is None:
        # every candidate is marked as destination: take the first one that is
        # not the only possible destination
        src = srcs[0][0]
    dst_c = [(loc, r) for loc, r in dsts if loc != src]
    dst = next((loc for loc, r in dst_c if r == 'dst'), None)
    if dst is None:
        dst = next((loc for loc, r in dst_c if r != 'src'), None)
    if dst is None and dst_c:
        dst = dst_c[0][0]
    if dst is None:
        raise MissingEntity(f'{family}: no destination location found in the task',
                            'destination')
    # Two readings that must agree: the words' roles and the kinds a family allows
    # ("get TOTE-7 from B38-13 to DOCK-4": no family takes a tote out of a bin).  Where
    # the kinds make a destination of a place the words say things come from, the text
    # is not understood: never a plan in the other direction than the words say.  (A
    # source the words go to is no contradiction: "Go to A12-03, pick 3 ...".)
    if any(loc == dst and r == 'src' for loc, r in cands):
        raise NotUnderstood(f'{family}: the task says things come from {dst}, and a '
                            f'{family} cannot take them from there')
    return src, dst


def _qty(ents: TaskEntities, family: str) -> int:
    if ents.qty is None:
        if ents.decimals:
            raise MissingEntity(f'{family}: quantity {ents.decimals[0]} is not a whole '
                                'number of units', 'quantity')
        raise MissingEntity(f'{family}: no quantity found in the task', 'quantity')
    if ents.qty < 1:
        raise MissingEntity(f'{family}: quantity {ents.qty} is not a count of units',
                            'quantity')
    if ents.qty > MAX_PLAN_QTY:
        raise UnsafeTask(f'{family}: quantity {ents.qty} is above any max_pick_qty (a plan '
                         f'holds at most {MAX_PLAN_QTY})', rule=2, subject=str(ents.qty))
    return ents.qty


def _is_bin(loc: str) -> bool:
    return id_kind(loc) == 'bin'


def _is_station(loc: str) -> bool:
    return id_kind(loc) != 'bin'


def _any(loc: str) -> bool:
    return True


def _event_subject_and_dest(ents: TaskEntities, family: str) -> tuple[str, str]:
    """Return (subject location, destination) for spill/blocked tasks."""
    cands = list(zip(ents.locations, ents.roles))
    dest = None
    staging = [loc for loc, r in cands if id_kind(loc) == 'staging']
    for loc, r in cands:
        if id_kind(loc) == 'staging' and r == 'dst':
            dest = loc
            break
    if dest is None and staging:
        dest = staging[-1]
    # Only a staging area is where to wait: "report that B35-08 is not passable" names a
    # place that must not be driven to, and no other kind of place is guessed.
    if dest is None:
        raise MissingEntity(f'{family}: no location to go to (e.g. a STAGING station) found',
                            'staging')
    subj = next((loc for loc, r in cands if loc != dest), None)
    if subj is None and ents.excluded:
        subj = ents.excluded[0]  # "avoid A11-04, it is blocked; go to STAGING-3"
    if subj is None:
        raise MissingEntity(f'{family}: no {family} location found in the task', 'location')
    return subj, dest


def build_plan(family: str, entities: TaskEntities, state: Optional[RobotState] = None,
               cfg: Optional[SafetyConfig] = None) -> list[Step]:
    """
    Return the canonical DESIGN.md plan of ``family`` filled with ``entities``.

    ``state`` is accepted for interface stability (builders do not depend on
    it); ``cfg.default_charger`` is used by the charge family when the task
    names no charger.  Raises :class:`MissingEntity` when an id or number the
    plan needs is missing and ``ValueError`` for an unknown family.
    """
    cfg = cfg if cfg is not None else SafetyConfig()
    e = entities
    if family == 'pick':
        sku = _first(e.skus, 'SKU', family, 'sku')
        qty = _qty(e, family)
        src, dst = _pick_src_dst(e, family, _is_bin, _any)
        return [Step('NAVIGATE', (src,)), Step('SCAN', (src,)), Step('PICK', (sku, str(qty))),
                Step('NAVIGATE', (dst,)), Step('PLACE', (dst,)), Step('REPORT', ('DONE', sku))]
    if family == 'replenish':
        sku = _first(e.skus, 'SKU', family, 'sku')
        qty = _qty(e, family)
        src, dst = _pick_src_dst(e, family, _is_bin, _is_bin)
        return [Step('NAVIGATE', (src,)), Step('SCAN', (src,)), Step('PICK', (sku, str(qty))),
                Step('NAVIGATE', (dst,)), Step('SCAN', (dst,)), Step('PLACE', (dst,)),
                Step('REPORT', ('DONE', sku))]
    if family in ('putaway', 'transfer'):
        tote = _first(e.totes, 'tote', family, 'tote')
        if family == 'putaway' and any(map(_is_bin, e.locations)) \
                and not all(map(_is_bin, e.locations)):
            # a putaway takes a tote from a station into a bin: the kinds say which is
            # which ("find a home for TOTE-3 in bin B16-03; it was dropped off at DOCK-16")
            src, dst = _pick_src_dst(e, family, _is_station, _is_bin)
        else:
            src, dst = _pick_src_dst(e, family, _any, _any)
        return [Step('NAVIGATE', (src,)), Step('SCAN', (tote,)), Step('LOAD', (tote,)),
                Step('NAVIGATE', (dst,)), Step('UNLOAD', (dst,)), Step('REPORT', ('DONE', tote))]
    if family == 'count':
        sku = _first(e.skus, 'SKU', family, 'sku')
        b = _first(e.bins, 'bin', family, 'bin')
        return [Step('NAVIGATE', (b,)), Step('SCAN', (b,)), Step('SCAN', (sku,)),
                Step('REPORT', ('COUNT', sku))]
    if family == 'charge':
        chargers = e.stations_of('charger')
        c = chargers[0] if chargers else cfg.default_charger
        return [Step('NAVIGATE', (c,)), Step('CHARGE', (c,))]
    if family == 'park':
        staging = e.stations_of('staging')
        if staging:
            dst = staging[0]
        else:
            dst = _first(e.locations, 'parking location (e.g. STAGING-2)', family,
                         'staging')
        return [Step('NAVIGATE', (dst,)), Step('HALT')]
    if family == 'spill':
        subj, dest = _event_subject_and_dest(e, family)
        if e.seconds is None and e.decimals:
            raise MissingEntity(f'spill: wait of {e.decimals[0]} is not a whole number of '
                                'seconds', 'seconds')
        secs = e.seconds if e.seconds is not None else DEFAULT_SPILL_WAIT_S
        if not 1 <= secs <= 600:
            raise MissingEntity(f'spill: wait of {secs} s outside 1..600', 'seconds')
        return [Step('REPORT', ('SPILL', subj)), Step('NAVIGATE', (dest,)),
                Step('WAIT', (str(secs),))]
    if family == 'blocked':
        subj, dest = _event_subject_and_dest(e, family)
        return [Step('REPORT', ('BLOCKED', subj)), Step('NAVIGATE', (dest,))]
    if family == 'misscan':
        b = _first(e.bins, 'bin', family, 'bin')
        exc = _first(e.stations_of('exception'), 'EXCEPTION station', family, 'exception')
        return [Step('NAVIGATE', (b,)), Step('SCAN', (b,)), Step('SCAN', (b,)),
                Step('NAVIGATE', (exc,)), Step('REPORT', ('MISSCAN', b))]
    if family == 'stop':
        return [Step('HALT')]
    raise ValueError(f'unknown task family {family!r} (known: {", ".join(FAMILIES)})')
