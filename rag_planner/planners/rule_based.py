"""
Deterministic rule-based planner: a primary path, and the first link of the fallback chain.

:func:`classify_family` decides the task family from keyword cues and the
shape of the entities (a tote and two locations is a tote move; a SKU, a
quantity and two bins is a replenishment; ...), tolerant of case,
punctuation, word order and filler words.  :func:`rule_plan` extracts the
entities and builds the canonical plan of the task as asked, or refuses:
``NotUnderstood`` when no family fits (questions, chit-chat, other domains) and
``MissingArgument`` (with the slot) when the family is clear but an id or the
quantity is absent.  It never guesses an id.

The rule planner plans the task, whatever the robot's state: the serving layer
validates every plan against the state and applies the low-battery policy.
"""

from __future__ import annotations

from collections import OrderedDict
import copy
from dataclasses import dataclass
import re
import threading
from typing import Optional

from rag_planner.domain.answers import Fallback, Source
from rag_planner.domain.entities import extract_entities, TaskEntities, words_to_digits
from rag_planner.domain.plan_grammar import id_kind, Step
from rag_planner.domain.request import MAX_TASK_CHARS
from rag_planner.domain.robot_state import RobotState
from rag_planner.domain.safety import SafetyConfig
from rag_planner.domain.task_families import build_plan, MissingEntity
from rag_planner.errors import MissingArgument, NotUnderstood, TaskRefused
from rag_planner.planners.base import PlanContext, Planner, PlanResult
from rag_planner.planners.composite import plan_parts


@dataclass(frozen=True)
class RulePlan:
    """A rule-based plan: the family of the task, the plan's steps and the entities used."""

    family: str                   # 'composite' for several parts
    steps: tuple[Step, ...]
    entities: TaskEntities
    parts: tuple = ()             # composite: (part text, family) of every part, in order
    part_steps: tuple = ()        # composite: the plan of every part, in order


def _rx(*alts: str) -> re.Pattern:
    return re.compile(r'(?<![\w])(?:' + '|'.join(alts) + r')(?![\w])', re.I)


_STRONG_STOP = _rx(
    r'e-?stop', r'emergency', r'halt', r'freeze', r'abort', r'cease', r'kill\s+switch',
    r'stop\s+(?:now|immediately|everything|all|right\s+(?:now|away|there)|moving|at\s+once'
    r'|what\s+you\S*\s+doing|the\s+robot|this\s+robot|motion|driving|work)',
    r'stop\s*!+', r'^\W*stop\W*$', r'(?:do\s*n[o\']?t|don\'t|do\s+not)\s+move',
    r'stand\s+still', r'stay\s+put', r'keep\s+(?:still|stationary)', r'brake\s+(?:now|and|hard)',
    r'(?:be|stay|remain)\s+(?:completely\s+)?(?:stationary|motionless)',
    r'cut\s+(?:the\s+)?(?:motion|motors?|engines?|drive)',
    r'not\s+(?:another|one\s+more)\s+(?:inch|step|foot|metre|meter|move)',
    r'(?:do\s*n[o\']?t|don\'t|do\s+not)\s+budge',
    r'shut\s*down', r'power\s+down', r'full\s+stop',
    r'all\s+stop', r'stay\s+(?:right\s+)?(?:where\s+you\s+are|there|in\s+place)',
    # "hold position at STAGING-20" is a wait there, not a stop
    r'hold\s+(?:it|still|position|your\s+position)(?!\s+(?:at|in|by|near|on)\b)', r'whoa',
    r'hold\s+up(?=\s*[,!.;]|\s*$)', r'brakes?\s+on',
    r'(?:do\s*n[o\']?t|don\'t|do\s+not)\s+(?:go|move|drive)\s+any\s+(?:further|farther)',
    # "don't you dare move", "dont roll anywhere til i say", "haud on, Sparky"
    r'(?:do\s*n[o\']?t|don\'t|do\s+not)\s+(?:you\s+)?dare\s+(?:move|budge|roll|drive|go)',
    r'(?:do\s*n[o\']?t|don\'t|do\s+not)\s+(?:move|roll|budge|drive|go)\s+(?:anywhere|at\s+all|'
    r'a\s+(?:wheel|muscle)|an\s+inch)', r'(?:haud|hold)\s+on(?=\s*[,!.;]|\s*$)')
_WEAK_STOP = _rx(r'stop(?:ping)?', r'pause', r'stand\s*down', r'cancel')
_MISSCAN = _rx(
    r'mis-?scan\w*', r'won\'?t\s+scan', r'will\s+not\s+scan', r'does\s*n[o\']?t\s+scan',
    r'doesn\'t\s+scan', r'can\'?t\s+(?:be\s+)?scan\w*', r'cannot\s+(?:be\s+)?scan\w*',
    r'not\s+scan\w*', r'unscannable', r'unreadable', r'illegible', r'no[\s-]+read',
    r'scan\w*\s+(?:fail\w*|error\w*|problem\w*|issue\w*)', r'fail\w*\s+to\s+scan',
    r'read\s+(?:fail\w*|error\w*)',
    r'(?:try|trying|have\s+a\s+go\s+at)\s+(?:reading|scanning)',
    r'(?:label|barcode|bar\s+code|tag)\w*\s+(?:is\s+|are\s+)?(?:damaged|torn|smudged|'
    r'missing|broken|bad|faded|unreadable|ripped|scratched|not\s+reading|won\'?t\s+read)',
    r'(?:damaged|torn|smudged|faded|bad|broken|ripped|unreadable)\s+(?:label|barcode|tag)\w*',
    r'won\'?t\s+read', r'not\s+reading', r'can\'?t\s+read', r'cannot\s+read', r'will\s+not\s+read',
    r'(?:will|would|could|can|won\'?t|can\'?t)\s*(?:not\s+)?be\s+read(?!y)',
    r'(?:does|do|did)\s*n[o\']?t\s+read',
    # "Label on D37-03 is faded", "the scanner keeps beeping at the label"
    r'(?:label|barcode|tag)\w*(?:\s+\S+){1,3}?\s+(?:is|are|was|looks)\s+(?:damaged|torn|'
    r'smudged|faded|unreadable|ripped|scratched|broken|bad|illegible)',
    r'scanner\s+(?:keeps\s+)?(?:beep|fail|error|reject)\w*',
    r'(?:point|aim|wave)\s+(?:the\s+)?scanner', r'label\s+(?:fail\w*|error\w*)')
_LIQUIDS = (r'coffee|tea|water|oil|milk|juice|paint|soda|syrup|sauce|detergent|chemicals?|'
            r'fluid|coolant|grease|beer|wine|bleach|shampoo|yog(?:h)?urt|honey|soup|drinks?|'
            r'cola|lemonade|vinegar|ink|glue|solvent|cleaner')
_SPILL = _rx(r'spill\w*', r'leak\w*', r'puddle\w*', r'wet[\s-]+floor', r'liquid', r'slippery',
             r'broken\s+glass', r'spilt', r'oil\s+on\s+the\s+floor', r'mess',
             # "Coffee everywhere at D34-16"
             r'broken\s+(?:jar|bottle|jug|can|tin|container)s?', r'all\s+over',
             r'(?:coffee|tea|water|oil|milk|juice|paint|soda|syrup|sauce|detergent|chemicals?|'
             r'fluid|coolant|grease)\s+(?:everywhere|all\s+over|on\s+the\s+floor|across\s+the\s+'
             r'(?:aisle|floor))',
             r'dropped\s+(?:a|an|the|some)\s+(?:bucket|can|tin|jar|bottle|jug|drum)\s+of',
             # "somebody's dropped a whole crate of juice at ...", "knocked a tin of paint over"
             r'(?:dropped|knocked(?:\s+over)?|tipped(?:\s+over)?|upended|spilt|split)\s+'
             r'(?:[a-z]+\s+){0,3}?of\s+(?:' + _LIQUIDS + r')',
             r'(?:' + _LIQUIDS + r')\s+(?:leaking|dripping|pooling|seeping|running)')
_BLOCKED = _rx(
    r'block\w*', r'blk', r'obstr', r'obstruct\w*', r'cut\s+off', r'collaps\w*', r'jam+ed',
    r'impassable', r'in\s+the\s+way',
    r'can\'?t\s+(?:get|go|pass|drive|enter|reach)\s*(?:through|into|past|in)?',
    r'cannot\s+(?:get|go|pass|drive|enter|reach)', r'no\s+access',
    r'(?:nobody|no\s+one|no-one)\s+can\s+(?:get|go|pass|drive|enter|reach)',
    r'(?:can\'?t|cannot)\s+be\s+(?:reached|accessed|entered|passed|got(?:ten)?\s+through)',
    r'unreachable', r'cordoned(?:\s+off)?', r'taped\s+off', r'roped\s+off',
    r'not\s+reachable', r'inaccessible',
    # "you'll not get past E34-08 the day", "cartons piled up outside A23-09"
    r'(?:can\'?t|cannot|won\'?t|will\s+not|(?:you|we)(?:\'ll|\s+will)\s+not|no\s+way\s+to)\s+'
    r'get\s+(?:past|through|by)',
    r'(?:piled|stacked|heaped|jammed|wedged)\s+(?:up\s+)?(?:outside|in\s+front\s+of|across|'
    r'against|around)',
    r'closed(?:\s+off)?', r'barricad\w*', r'not\s+passable', r'fallen', r'debris',
    r'pallet\s+(?:in|on|across)', r'out\s+of\s+bounds', r'off[\s-]limits', r'no[\s-]go',
    # "a stack of empty pallets in front of F08-06"
    r'(?:stack|pile|pallets?|box(?:es)?|cart|trolley|forklift|crates?)\b[^.;]{0,40}?'
    r'\bin\s+front\s+of')
# "blocked zones" in general ("I authorise entering blocked zones: ..."): no report of one.
_GENERIC_BLOCKED = _rx(r'block\w*\s+(?:zones|areas|aisles|locations|bins|regions|places)')
_CHARGE = _rx(r'(?:re)?charg\w*', r'battery', r'batteries', r'top[\s-]+up', r'plug\s+in',
              r'juice', r'power\s+up', r'low\s+power')
_COUNT = _rx(r'count\w*', r're-?count\w*', r'cnt', r'cycle[\s-]count', r'inventory', r'how\s+many',
             r'tally', r'how\s+much', r'on[\s-]hand',
             r'audit(?:s|ing|ed)?', r'stock[\s-]?(?:check|take|taking)', r'quantity\s+check',
             r'verify\s+(?:the\s+)?(?:qty|quantity|stock|count)', r'check\s+(?:the\s+)?stock',
             r'enumerate')
# ("the car park", "the park bench": no park)
_PARK = _rx(r'(?<!car\s)park(?!\s+(?:lot|bench))', r'(?:be|get|stay|remain)\s+parked', r'parking',
            r'home\s+time', r'lights\s+out', r'spend\s+the\s+night',
            r'your\s+(?:bay|spot|parking\s+(?:bay|spot))\s+is',
            r'go\s+home', r'head\s+home',
            r'return\s+home', r'stand\s*by', r'standby', r'idle', r'rest(?!\s+of\b)', r'retire',
            r'off[\s-]shift', r'end\s+of\s+shift', r'powers?\s+down', r'powering\s+down',
            r'wait\s+there', r'sit\s+tight', r'call\s+it\s+a\s+day', r'done\s+for\s+(?:the|to)',
            r'clock\s+out',
            # "tuck yourself into staging two", "STAGING-2 is your bed till sunrise"
            r'tuck\s+(?:yourself|itself)\s+(?:in|into|away|up)', r'(?:is|be)\s+your\s+bed',
            r'bed\s+(?:till|until|for\s+the\s+night)')
# "Go park." / "Return to staging and park.": a park command whose place is missing
# (MissingArgument), unlike "let's rest" or "the parking lot" (not understood).
_PARK_HERE = _rx(r'(?<!car\s)park(?!\s+(?:lot|bench))', r'staging',
                 r'parking\s+(?:bay|spot|space|place)', r'a\s+bay',
                 r'(?:wherever|somewhere|anywhere)(?:\s+there\'?s\s+(?:room|space))?')
_GO_TO = _rx(r'(?:go|drive|head|move|return|navigate|proceed|get)\s+(?:back\s+)?to',
             r'pull\s+(?:into|in\s+at|up\s+at)', r'roll\s+into')
_STAY = _rx(r'wait\w*', r'hold\w*', r'stay\w*', r'remain\w*', r'sit', r'go', r'head\w*',
            r'drive', r'move', r'return\w*', r'roll', r'proceed', r'navigate', r'back',
            r'come', r'report\s+(?:to|at|in)')
_REPLENISH = _rx(r'replenish\w*', r'replen', r'rpl', r'restock\w*', r're-stock\w*',
                 r'refill\w*', r'top\s+off', r'top\s+up', r'reserve', r'forward', r'fill\s+up',
                 r'backfill\w*', r'refresh', r'low[\s-]+stock')
_PUTAWAY = _rx(r'put\s*-?\s*away', r'put\s+(?:[\w#-]+\s+){1,8}?away', r'store', r'stow\w*',
               r'shelve', r'inbound', r'receiv\w*', r'slot\s+it', r'file\s+it',
               r'rack\s+(?:it|them|this|that)')
_TRANSFER = _rx(r'transfer\w*', r'xfer', r'ferry', r'shuttle', r'relocat\w*', r'move', r'bring',
                r'shift(?:ing|ed)', r'shift\s+(?:it|them|this|that)',  # not "the shift"
                r'carry', r'deliver', r'take')
_PICK = _rx(r'pick\w*', r'pk', r'grab', r'fetch', r'collect', r'retrieve', r'get', r'pull',
            r'order', r'bring', r'deliver')


# Politeness that holds a cue word ("get" of a pick, "take" of a transfer) or reads
# like a question ("when possible: ..."): not a cue.
_POLITE = _rx(r'(?:when|if|whenever)\s+you\s+(?:get|have|find)\s+(?:a\s+)?(?:chance|moment|'
              r'minute|sec(?:ond)?|spare\s+moment)', r'take\s+your\s+time', r'no\s+rush',
              r'(?:when|if|as\s+soon\s+as)\s+(?:possible|you\s+can|convenient)')


def _has(rx: re.Pattern, text: str) -> bool:
    return rx.search(text) is not None


# A charge task without a charger id needs a charge command, not a mention of the battery.
_CHARGE_CMD = _rx(r'(?:re)?charg\w*', r'top[\s-]+up', r'plug\s+in', r'running\s+on\s+fumes',
                  r'low\s+batt(?:ery)?',
                  r'batter(?:y|ies)\s+(?:is\s+|are\s+)?(?:in\s+the\s+red|(?:nearly\s+|almost\s+)?'
                  r'(?:flat|dead|empty)|low|dying|critical)', r'juice\s+up',
                  r'power\s+up', r'fill\s+(?:up\s+)?(?:your|the)\s+batter(?:y|ies)',
                  r'top\s+(?:yourself|your\s+battery)\s+(?:back\s+)?up')
# Questions that ask for information, not for a task ("what is your battery level?").
# "Hey robot, ...", "Quick one: ...", "New job - ...": before the question
_LEAD = (r'^\W*(?:(?:hey|hi|hello|ok|okay|so|pls|please|kindly|robot(?:\s+\d+)?)\W+'
         r'|[A-Za-z]+(?:\s+[A-Za-z]+){0,5}\s*(?::|\s[-–—])\s*)*')
_WH = r"(?:what|who|why|when|where|which|whose|how(?:\s+(?:long|much|often|far|soon|old))?)"
# "which charger do you usually go to" (no question mark): a wh-word, a noun, an auxiliary
_WH_QUESTION = re.compile(
    _LEAD + r"(?:" + _WH + r"|(?:which|what|whose)\s+[a-z]+)(?:'s\b|\s+(?:is|are|was|were|do|"
    r"does|did|will|would|can|could|should|has|have|had)\b|\b.*\?\W*$)", re.I | re.S)
_YES_NO_QUESTION = re.compile(_LEAD + r'(?:is|are|was|were|do|does|did|have|has|had)\b.*\?\W*$',
                              re.I | re.S)


# "do you know if SKU-1 is on back order", "any ETA on ...": a question, ids or not
_KNOW_QUESTION = re.compile(
    _LEAD + r'(?:(?:(?:could|can|would)\s+you\s+)?(?:do|does|did)\s+(?:you|we|anyone|anybody|'
    r'someone|somebody)\s+(?:know|remember|'
    r'have\s+(?:any\s+)?idea)|any\s+(?:eta|idea|news|update|word)s?\s+(?:on|about|of)|'
    r'(?:can|could)\s+you\s+tell\s+me\s+(?:if|whether|when|where|why|how|what))\b', re.I)
# A wh-word, an auxiliary and a subject anywhere in a text without ids: "Priority is
# how long does a full charge usually take you" (no question mark, a lead of any words)
_WH_AUX = re.compile(r'(?<![\w-])(?:how\s+(?:long|much|often|far|soon|many)|what|where|which|who|'
                     r'why|when)\s+(?:is|are|was|were|do|does|did|will|would|can|could|should|'
                     r'has|have)\s+(?:a|an|the|we|you|it|they|i|my|your|our|this|that|there|he|'
                     r'she)(?![\w-])', re.I)
# A yes/no question without its question mark: "has the Chicago order gone out yet"
_YES_NO_BARE = re.compile(_LEAD + r'(?:has|is|are|was|were|did|does)\s+(?:the|a|an|my|our|your|'
                          r'any|anyone|someone|somebody|it|they|we|you)\b', re.I)


def _is_question(text: str, e: TaskEntities) -> bool:
    """Return True for a question: it asks for information, not a task."""
    if _KNOW_QUESTION.search(text):
        return True
    if e.ids or e.qty is not None:
        return False
    return bool(_WH_QUESTION.search(text) or _YES_NO_QUESTION.search(text)
                or _WH_AUX.search(text) or _YES_NO_BARE.search(text))


_DISFLUENCY = re.compile(r'(?<![\w-])(?:uh|um|uhm|erm|er|hmm)(?![\w-])\s*,?\s*', re.I)
_UNSAID_COUNT = _rx(r'(?:never|not|nobody|no\s+one|didn\'?t|did\s+not|don\'?t|do\s+not)\s+'
                    r'(?:said|say|says|told|tell|know|knows)\s+(?:me\s+|us\s+)?how\s+many',
                    r'(?:forget|forgot|forgotten|not\s+sure|no\s+idea|unsure|dunno)\s+how\s+many')
# The word "transfer" itself (it wins over the kinds of the places)
_TRANSFER_WORD = _rx(r'transfer\w*')
# Goods counted without naming them ("11 items from A04-20 ...", "1 of the whatsit")
_UNITS_WORD = _rx(r'items?', r'units?', r'pieces', r'pcs', r'cases', r'each', r'\d+\s+of')
# A retry of a scan: a misscan that may miss its bin or its exception station
_RESCAN = _rx(r're-?scan\w*', r'(?:scan|zap)\w*\s+(?:(?:it|them|(?:that|this|the)(?:\s+\w+)?)\s+)?'
              r'again', r'(?:another|a\s+second)\s+(?:\w+\s+)?(?:scan|crack|go|try|zap)',
              r"scanner(?:'s|\s+is)\s+(?:being\s+)?(?:a\s+pain|playing\s+up|acting\s+up|sulking)")


def _classify(text: str, e: TaskEntities) -> tuple:
    """Return (family or None, whether only a keyword, no id, points to the family)."""
    # "putaway_task": a record's key names the family as a word does
    t = _POLITE.sub(' ', words_to_digits(text)).replace('_', ' ')
    # "the label didn't, um, scan": a cue read across the speaker's fillers; "they never
    # said how many" is a quantity left out, no count
    t = _UNSAID_COUNT.sub(' ', _DISFLUENCY.sub('', t))
    if _is_question(t, e):
        return None, False
    family = _by_cues(t, e)
    if family is not None:
        return family, False
    # keyword-only fallbacks: the family is named but its ids may be missing
    for fam, rx in (('count', _COUNT), ('replenish', _REPLENISH), ('putaway', _PUTAWAY),
                    ('pick', _PICK), ('transfer', _TRANSFER), ('park', _PARK),
                    ('charge', _CHARGE_CMD), ('spill', _SPILL), ('blocked', _BLOCKED)):
        if not _has(rx, t):
            continue
        if fam == 'pick' and not (e.skus or (e.qty is not None and e.bins)):
            continue
        if fam == 'transfer' and len(e.locations) < 2 and not e.totes:
            continue  # ("Take TOTE-5070 away from STAGING-20": a transfer that misses one)
        return fam, True
    if not e.totes and not e.skus and (_has(_MISSCAN, t) or _has(_RESCAN, t) and (
            e.bins or e.stations_of('exception'))):
        return 'misscan', True  # "rescan A36-04; if it still won't come up, escalate it"
    if e.qty is not None and e.bins and not e.skus and not e.totes and len(e.locations) >= 2 \
            and _has(_UNITS_WORD, t):
        # "11 items from A04-20 are to go to PACK-3": a move of goods that names none
        return ('pick' if any(id_kind(x) != 'bin' for x in e.locations) else 'replenish'), True
    if e.totes and e.locations:
        return 'transfer', False
    if e.skus and e.locations:
        return 'pick', False
    return None, False


def _by_cues(t: str, e: TaskEntities) -> Optional[str]:
    """Return the family that the cues and the entities' shape decide, or None."""
    n_ids = len(e.locations) + len(e.totes) + len(e.skus)
    stop = _STRONG_STOP.search(t)
    if stop is not None:
        # "move to STAGING-2, park and halt" / "drive to STAGING-2 and stop": the park plan
        # ends in HALT anyway; only when the stop word comes after the staging area
        lower = t.lower()
        if len(e.locations) == 1 and e.stations_of('staging') and not e.totes \
                and not e.skus and not _has(_rx('emergency', 'e-?stop', 'abort'), t) \
                and (_has(_PARK, t) or _has(_GO_TO, t)) \
                and not _has(_BLOCKED, t) and not _has(_SPILL, t) \
                and 0 <= lower.find('stag') < stop.start():
            return 'park'
        return 'stop'
    if _has(_MISSCAN, t):
        return 'misscan'
    # A spill or blockage report is about a place: a task that names goods and merely
    # mentions a blockage ("... I authorise entering blocked zones: count SKU-1 in A12-03")
    # is a task on the goods.
    is_report = bool(e.locations or e.excluded) and not e.totes and not e.skus
    if _has(_SPILL, t) and is_report:
        return 'spill'
    if _has(_BLOCKED, _GENERIC_BLOCKED.sub(' ', t)) and is_report:
        return 'blocked'
    has_exception = bool(e.stations_of('exception'))
    if has_exception and e.bins and not e.totes and e.qty is None and _has(
            _rx(r'(?:re-?)?scan\w*', r'label\w*', r'barcode\w*', r'escalat\w*', r'retry'), t):
        return 'misscan'
    chargers = e.stations_of('charger')
    if not e.totes and not e.skus and (chargers and _has(_CHARGE, t) or _has(_CHARGE_CMD, t)
                                       or chargers and not e.bins):
        if not e.bins or chargers:
            return 'charge'
    if e.skus and e.bins and _has(_COUNT, t) and (e.qty is None or len(e.locations) == 1):
        return 'count'
    if e.totes and len(e.locations) >= 2:
        # a tote that goes between a station and a bin is put away (no family moves a
        # tote out of a bin): the roles of the words cannot turn it round
        if len(e.bins) == 1 and len(e.locations) == 2 and not _has(_TRANSFER_WORD, t):
            return 'putaway'
        if _has(_PUTAWAY, t) and not _has(_TRANSFER_WORD, t):
            return 'putaway'
        if _has(_TRANSFER_WORD, t):
            return 'transfer'
        dst = _destination_kind(e)
        return 'putaway' if dst == 'bin' else 'transfer'
    # a quantity that is not a whole count ("2.5 units") still makes it a move of units
    has_qty = e.qty is not None or bool(e.decimals)
    if e.skus and has_qty and e.bins and len(e.locations) >= 2:
        non_bins = [x for x in e.locations if id_kind(x) != 'bin']
        if non_bins:
            return 'pick'
        return 'replenish'
    if e.skus and e.bins and _has(_COUNT, t):
        return 'count'
    if len(e.skus) == 1 and len(e.locations) == 1 and e.bins and not has_qty \
            and not e.totes and not _has(_PICK, t):
        return 'count'  # one SKU at one bin and nothing to move: only a count fits
    if not e.totes and not e.skus and e.locations:
        staging = e.stations_of('staging')
        # a staging area alone is a park only when the text moves the robot there or
        # keeps it there: "ka ka ka STAGING-19 pff" asks nothing (final5: a park plan)
        if _has(_PARK, t) or (staging and len(e.locations) == 1 and not e.bins
                              and (_has(_GO_TO, t) or _has(_STAY, t))):
            return 'park'
    if not n_ids and _has(_WEAK_STOP, t):
        return 'stop'
    return None


def _destination_kind(e: TaskEntities) -> Optional[str]:
    for loc, role in zip(e.locations, e.roles):
        if role == 'dst':
            return id_kind(loc)
    srcs = [loc for loc, r in zip(e.locations, e.roles) if r == 'src']
    rest = [loc for loc in e.locations if loc not in srcs]
    if srcs and rest:
        return id_kind(rest[0])
    return id_kind(e.locations[-1]) if e.locations else None


def classify_family(task: str) -> Optional[str]:
    """Return the task family of ``task`` by keyword and entity rules, or None."""
    if not isinstance(task, str) or not task.strip():
        return None
    return _classify(task[:MAX_TASK_CHARS], extract_entities(task))[0]


def _family_ids(family: str, e: TaskEntities) -> int:
    """Return how many of the ids or numbers a family uses the task names."""
    counts = {'pick': len(e.skus) + len(e.locations) + (e.qty is not None),
              'replenish': len(e.skus) + len(e.bins) + (e.qty is not None),
              'putaway': len(e.totes) + len(e.locations),
              'transfer': len(e.totes) + len(e.locations),
              'count': len(e.skus) + len(e.bins)}
    return counts.get(family, len(e.locations) + len(e.excluded))


def rule_plan(task: str, state: Optional[RobotState] = None,
              cfg: Optional[SafetyConfig] = None) -> RulePlan:
    """
    Return the rule-based plan of ``task`` (one task, or several joined), or refuse.

    A composite task ("A, then B", at most ``cfg.max_subtasks`` parts) is planned part
    by part and joined (:func:`rag_planner.planners.composite.plan_parts`); a part it
    cannot plan refuses the whole task, the part named.  See :func:`rule_plan_one`.
    """
    cfg = cfg if cfg is not None else SafetyConfig()
    if not isinstance(task, str):
        raise NotUnderstood(f'task is not text ({type(task).__name__})')
    # A request asks the rule planner up to three times (the pipeline's view, a second
    # opinion, the fallback chain) and a composite costs milliseconds: remember answers.
    # Plans do not depend on the state (the answer policy judges them), only on cfg.
    key = (task, cfg)
    with _MEMO_LOCK:
        hit = _MEMO.get(key)
        if hit is not None:
            _MEMO.move_to_end(key)
    if hit is None:
        try:
            hit = _rule_plan_all(task, state, cfg)
        except TaskRefused as exc:
            hit = exc
        with _MEMO_LOCK:
            _MEMO[key] = hit
            while len(_MEMO) > _MEMO_SIZE:
                _MEMO.popitem(last=False)
    if isinstance(hit, TaskRefused):
        raise copy.copy(hit).with_traceback(None)
    return hit


_MEMO: OrderedDict = OrderedDict()
_MEMO_LOCK = threading.Lock()
_MEMO_SIZE = 2048


def _rule_plan_all(task: str, state: Optional[RobotState], cfg: SafetyConfig) -> RulePlan:
    planned = plan_parts(task[:MAX_TASK_CHARS], lambda text: rule_plan_one(text, state, cfg),
                         cfg.max_subtasks, cfg.max_steps)
    if len(planned) == 1:
        return planned[0][1]
    steps = tuple(step for _, plan in planned for step in plan.steps)
    return RulePlan('composite', steps, extract_entities(task),
                    tuple((part, plan.family) for part, plan in planned),
                    tuple(tuple(plan.steps) for _, plan in planned))


def rule_plan_one(task: str, state: Optional[RobotState] = None,
                  cfg: Optional[SafetyConfig] = None) -> RulePlan:
    """
    Return the rule-based plan of ``task`` as one task, or refuse.

    Raises NotUnderstood when no family fits, MissingArgument (``slot`` set) when
    the family is clear but one of its ids or its quantity is absent.  A family that
    only a keyword points to, with none of its ids in the text ("count the stars"),
    is not understood.  Deterministic: the same task and config give the same plan.
    """
    state = state if state is not None else RobotState()
    cfg = cfg if cfg is not None else SafetyConfig()
    if not isinstance(task, str):
        raise NotUnderstood(f'task is not text ({type(task).__name__})')
    if not task.strip():
        raise NotUnderstood('empty task')
    ents = extract_entities(task)
    family, keyword_only = _classify(task[:MAX_TASK_CHARS], ents)
    extra = f' (ids not well formed: {", ".join(ents.invalid)})' if ents.invalid else ''
    if family is None:
        raise NotUnderstood(f'no task family recognised in {task[:60]!r}{extra}')
    try:
        steps = build_plan(family, ents, state, cfg)
    except MissingEntity as exc:
        if keyword_only and not _family_ids(family, ents) and not (
                family == 'park' and _has(_PARK_HERE, task)):
            vague = NotUnderstood(f'{task[:60]!r} names no id of a {family} task{extra}')
            vague.family = family  # the kind of task is named, none of its ids
            raise vague from None
        missing = MissingArgument(f'{exc}{extra}', exc.slot)
        missing.family = family
        raise missing from None
    return RulePlan(family, tuple(steps), ents)


class RulePlanner(Planner):
    """
    The rule planner as a primary path.

    With ``degraded_reason`` it stands in for a pipeline that could not be
    loaded, and every answer says so (``PlanResult.degraded``).
    """

    name = Source.RULE_BASED

    def __init__(self, degraded_reason: str = ''):
        """Remember why the rule planner answers instead of the pipeline ('' = by choice)."""
        self.degraded_reason = degraded_reason

    def plan(self, context: PlanContext) -> PlanResult:
        """Plan with the rule planner; NotUnderstood when it cannot."""
        plan = rule_plan(context.task, context.state, context.safety)
        degraded = Fallback.DEGRADED if self.degraded_reason else Fallback.NONE
        return PlanResult(tuple(plan.steps), Source.RULE_BASED, family=plan.family,
                          degraded=degraded, note=self.degraded_reason)
