"""
The role of a location in a task: where things come from (src) or go to (dst).

:func:`role_before` reads the words before a location ("from", "into", "waiting at",
"the customer order waiting at"), :func:`role_after` the words right after one
("B33-07 needs ...", "F14-02 holds the backup pallet"), :func:`negated` whether the
text says not to go there ("avoid A11-04").  Used by
:func:`rag_planner.domain.entities.extract_entities`; the plan builders check the roles
against the kinds of the places (``domain.task_families``).
"""

import re


_SRC_WORDS = (r'from|off(?!\s+(?:until|till|today|tonight|now|duty|shift))|out\s+of|'
              r'leaving|source|src|orig|origin|reserve|<-|←|<=|pickup')
_DST_WORDS = (r'to|into|onto|unto|toward|towards|for|->|=>|→|till|destination|dest|forward|'
              r'consignee|recipient|receiver|ship\s+to|deliver\s+to')
_PREP_RE = re.compile(r'(?:(?<![\w])(' + _SRC_WORDS + r')(?![\w])|(?<![\w])(' + _DST_WORDS
                      + r')(?![\w])|(?<![\w])(at|in|by|near|@|on|inside)(?![\w]))', re.I)
_DST_VERBS = re.compile(
    r'\b(?:store|stow|put|place|drop|leave|unload|shelve|deliver|park(?!ed)|wait|stage|return|'
    r'rack(?=ed|ing|\s+(?:it|them)\b)|'
    r'set|deposit|stash|slot|go|head|hold|stay|escalate|end)\w*', re.I)
_SRC_VERBS = re.compile(r'\b(?:pick(?!ers?\b)|grab|collect|get|fetch|retrieve|take|pull|load|lift|'
                        r'sitting|waiting|is|are|located|now|currently|presently|arrived|'
                        r'came|lying|using\s+stock|stock\s+sits|parked)\w*', re.I)
# "it was dropped off at", "has been sitting at": a past or passive verb right before a
# bare locative says where the thing is now (a source), unless it says where it is
# wanted ("is needed at PACK-3")
_WHERE_IT_IS_RE = re.compile(
    r"(?<![\w-])(?:(?:ended|ends|wound)\s+up|(?:was|were|been|is|are|got)\s+"
    r"(?:just\s+|already\s+|still\s+)?"
    r"(?!(?:needed|wanted|required|requested|expected|meant|due|scheduled|assigned|destined|"
    r"headed|bound|supposed)\b)(?:[a-z]+ed|left|put|sent|set|brought|kept|held|stuck|sat)"
    r"(?:\s+(?:off|down|up|over|aside|here|there))?)\s*(?:by\s+mistake\s*)?$", re.I)
_WANTED_AT_RE = re.compile(r'(?<![\w-])(?:needed|wanted|required|requested|expected|due)\s*$'
                           # "still waiting on TOTE-5 at PACK-3": someone awaits it there
                           r'|(?<![\w-])(?:waiting|waits|wait)\s+(?:on|for)\s+(?:\S+\s+){1,4}$'
                           # "low stock alert on C33-02": the bin to fill
                           r'|(?<![\w-])(?:low|short)\s+(?:on\s+)?stock(?:\s+(?:alert|warning|'
                           r'flag))?\s*$'
                           # "the customer order waiting at PACK-8": who waits for it
                           r'|(?<![\w-])(?:orders?|customers?|packers?|pickers?|couriers?|'
                           r'drivers?|crews?|teams?|lorry|truck|trailer|van)\s+(?:is\s+|are\s+)?'
                           r'(?:still\s+)?(?:waiting|waits)\s*$'
                           # "fixin' to run dry at D30-01": the bin to fill
                           r'|(?<![\w-])(?:run|runs|running|ran|gone|going)\s+(?:dry|low|empty|'
                           r'short|out)\s*$', re.I)
# "last seen at DOCK-5", "spotted at": where the thing was found, a source
_SEEN_AT_RE = re.compile(r'(?<![\w-])(?:last\s+)?(?:seen|spotted|sighted|found|located)\s*$',
                         re.I)
# "fill E36-12 up with ...", "restock B02-05": the bin right after the verb is filled
_FILL_VERB_RE = re.compile(r'(?<![\w-])(?:fill|refill|restock|replenish|top\s+up)\s*$', re.I)


_CLAUSE_END_RE = re.compile(r'[,;.!?](?=\s)|[;!?]')


def _clause_start(gap: str) -> int:
    """Return where the last clause of ``gap`` starts (after its last , ; . ! or ?)."""
    start = 0
    for m in _CLAUSE_END_RE.finditer(gap):
        start = m.end()
    return start


# "... for robot 7, <the next clause>": addresses the robot, marks no destination
# (and "Bits for you: ...", "a job for us": who is spoken to)
_FOR_ROBOT_RE = re.compile(
    r'(?<![\w])for\s+(?:(?:the\s+)?robot(?:\s*#?\s*\d+)?|you|us|me)(?![\w])', re.I)


# A person's name after "from" ("Message from Tomasz at ..."): the sender, no source.
_FROM_PERSON_RE = re.compile(r'\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?\s*$')


def role_before(gap: str) -> str:
    """Return the role ('src', 'dst' or '') that the words before a location give it."""
    last = None
    gap = _FOR_ROBOT_RE.sub(' ', gap)
    # only a direction word of the location's own clause: in "following on from that,
    # pick bin C09-02 ..." the 'from' is about the task before, not about C09-02
    for m in _PREP_RE.finditer(gap, _clause_start(gap)):
        last = m
    if last is None:
        return 'dst' if _FILL_VERB_RE.search(gap) else ''
    if last.group(1):
        return 'src'
    if last.group(2):
        return 'dst'
    before = gap[:last.start()]
    clause = re.split(r'[,;.!?]', before)[-1]
    if _WHERE_IT_IS_RE.search(clause) or _SEEN_AT_RE.search(clause):
        return 'src'  # "it was dropped off at DOCK-16": where the thing is now
    if _WANTED_AT_RE.search(clause):
        return 'dst'  # "SKU-1 is needed at PACK-3"
    # the verb nearest to the 'at' in its clause decides: "store it at" vs "sitting at"
    # (not a verb of another clause: "Once that is out of the way, rack TOTE-5 in E22-04")
    dv = [m.start() for m in _DST_VERBS.finditer(clause)]
    # "is"/"are" says where a thing is only right before the locative ("TOTE-5 is at",
    # "is still in"), not as the verb of the clause ("Priority is low stock alert on")
    sv = [m.start() for m in _SRC_VERBS.finditer(clause)
          if m.group(0).lower() not in ('is', 'are') or len(clause[m.end():].split()) <= 2]
    # "from the upper reserve at B40-15", "a home for TOTE-3 in bin B16-03": a bare
    # locative defers to the direction word before it in the same clause, when that
    # word is nearer than the clause's verb ("go 'ed and fill it with 6 SKU-1 from the
    # reserve at C02-14": the reserve is where they come from, whatever "go" says)
    direction, where = '', -1
    for m in reversed(list(_PREP_RE.finditer(clause))):
        if m.group(1) and _FROM_PERSON_RE.match(clause[m.end():]):
            continue  # "Message from Tomasz at STAGING-4": who sends it, no direction
        if m.group(1) and m.group(1).lower() == 'off':
            continue  # "dropped off at PACK-4": a verb's particle, no direction
        if m.group(1) or m.group(2):
            direction, where = ('src' if m.group(1) else 'dst'), m.start()
            break
    if direction and where > max(dv + sv, default=-1):
        return direction
    if dv and (not sv or dv[-1] > sv[-1]):
        return 'dst'
    if sv:
        return 'src'
    return direction


# "Location D25-01 has been cleared for it": made ready to receive, a destination
_MADE_FREE = (r'(?:cleared|freed|reserved|assigned|allocated|emptied|set\s+aside|made\s+ready|'
              r'earmarked)')
# A cue right after a location, for one with none before it: "B33-07 needs 17 SKU-1 -
# F14-02 holds the backup pallet", "A18-11 is overflowing ... A15-08 is bare".
_AFTER_SRC_RE = re.compile(
    # "STAGING-10 does not need TOTE-7279 anymore, EXCEPTION-16 does"
    r'^\s*(?:,\s*)?(?:(?:does\s+not|doesn\'?t|no\s+longer)\s+(?:need|want)s?(?![\w-])|'
    r'(?:which\s+|that\s+)?(?:holds|(?:has|had)(?!\s+(?:(?:nothing|none|no|run)(?![\w-])|'
    r'been\s+' + _MADE_FREE + r'))|'
    r'is\s+holding|keeps|stores|carries|'
    r'contains|is\s+(?:overflowing|overstocked|full|too\s+full|the\s+source|where\s+(?:it|they)'
    r'\s+(?:is|are|sits?)))(?![\w-]))', re.I)
_AFTER_DST_RE = re.compile(
    # "B19-04 has nothing left of SKU-89181": the bin to fill
    r'^\s*(?:,\s*)?(?:does(?=\s*(?:[,.;!(]|$))|'
    r'(?:has|had)\s+(?:nothing|none|no\s+\w+)(?:\s+\w+)?\s+(?:left|remaining)|'
    r'(?:has|had)\s+run\s+(?:out|dry|low)|clean(?:ed)?(?:\s+out)?(?![\w-])|'
    r'(?:has|had|have)\s+been\s+' + _MADE_FREE + r'|'
    r'(?:which\s+|that\s+)?(?:needs|need|wants|requires|'
    r'(?:is|\'s)\s+(?:(?:dead|bone|nearly|almost|completely|totally|practically|all\s+but)\s+)?'
    r'(?:short|empty|low|'
    r'bare|depleted|running\s+(?:low|empty|short)|out\s+of|the\s+destination)|runs\s+low|'
    r'ran\s+(?:out|low|dry)))(?![\w-])', re.I)


# "nip up to C28-18 and fetch down five ...", "hie thee to PACK-2, take up TOTE-5": the
# place the robot goes to is where it takes things from (unless the words name where
# from: "take 3 SKU-1 to PACK-4 and pick them from A12-03")
_TAKE_THERE_RE = re.compile(r'^\s*,?\s*(?:and\s+)?(?:then\s+)?(?:fetch|take|grab|collect|pick|'
                            r'pull|load|lift|retrieve|scoop)(?![\w-])'
                            r'(?![^,.;]*(?<![\w-])(?:from|out\s+of|off)(?![\w-]))', re.I)


def location_role(gap: str, after: str) -> str:
    """
    Return the role of a location from the words before it (``gap``) and after it.

    The words before decide; with none, the words right after ("B33-07 needs ...").  A
    place the words send the robot to is the source when things are taken there right
    after ("go to C28-18 and fetch down five ...").
    """
    role = role_before(gap)
    if not role:
        return role_after(after)
    if role == 'dst' and _TAKE_THERE_RE.match(after):
        return 'src'
    return role


def role_after(after: str) -> str:
    """Return the role that the words right after a location give it (for one with none before)."""
    if _AFTER_SRC_RE.match(after):
        return 'src'
    if _AFTER_DST_RE.match(after):
        return 'dst'
    return ''


_NEG_VERB_RE = re.compile(
    r"(?:don'?t|do\s+not|never|must\s+not|mustn'?t)\s+(?:go|drive|enter|use|navigate|head|"
    r"visit|move|stop|pass)\b(?:\s+[\w-]+){0,3}\s*$", re.I)
_NEG_WORD_RE = re.compile(
    r"(?<![\w'])(?:avoid|avoiding|skip|except|bypass|"
    r"not(?!\s+(?:get|getting|be\s+able\s+to\s+get)\s+(?:past|through|by)\b)|"
    r"instead\s+of|rather\s+than|"
    r"(?:stay|stays|keep|keeping|steer)\s+(?:well\s+)?away\s+from)\s+(?:[\w-]+\s+){0,2}$",
    re.I)


def negated(gap: str) -> bool:
    """Return True when the clause right before a location negates it ("not PACK-3")."""
    tail = re.split(r'[,;.!?()]', gap)[-1]
    return bool(_NEG_VERB_RE.search(tail) or _NEG_WORD_RE.search(tail))


__all__ = ['location_role', 'negated', 'role_after', 'role_before']
