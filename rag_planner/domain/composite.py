"""
Composite tasks: where a text joins several tasks ("A, then B; finally C").

:func:`split_parts` cuts a task text at the connectors people use between
tasks -- "then", "and then", "after that", "afterwards", "finally", "first ...
then ...", ";" and a new sentence -- and drops parts that are only politeness
("Thanks!", "asap").  It does not decide whether the text *is* composite: one
task is often written across a connector ("Go to A12-03, pick 3 of SKU-48213,
then take them to PACK-4.").  The planners decide that (``planners/composite``):
a text is one task when one plan covers every id it names.
"""

from __future__ import annotations

import functools
import re

MAX_SUBTASKS = 3

# "when you've got that behind you", "whenever that's squared away as well", "once thats
# done": a time word, a few words of who and what (a closed list: no task's words), a
# word of completion.  One pattern for the many ways to say it, not a list of sayings.
_DONE_WHO = (r"(?:that|that's|thats|dat|dat's|dats|tht|this|dis|this's|it|it's|its|you|you've|"
             r"youve|you're|youre|"
             r"y'all|yall|"
             r"you'll|we|we've|we're|i|i've|have|has|had|got|gotten|get|is|are|was|been|be|"
             r"all|both|of|them|those|these|they|they're|theyre|everything|the|first|job|"
             r"jobs|task|tasks|one|bit|lot|lot's|stuff|finally|fully|properly|actually|"
             r"really|well|and|truly|totally|completely|with)")
_DONE_WHAT = (r"(?:done|finished|through|complete|completed|clear|sorted(?:\s+out)?|"
              r"squared\s+away|ticked\s+off|checked\s+off|crossed\s+off|behind\s+you|"
              r"wrapped\s+up|out\s+of\s+the\s+way|dealt\s+with|taken\s+care\s+of|"
              r"over(?:\s+and\s+done\s+with)?|handled|in\s+the\s+bag|off\s+your\s+plate|"
              r"off\s+the\s+list|finished\s+up|all\s+set|seen\s+to|put\s+to\s+bed)")
_WHEN_DONE = (r"(?:when(?:ever)?|wen|once|after|aftr|as\s+soon\s+as|soon\s+as|the\s+moment)\s+"
              r"(?:" + _DONE_WHO + r"\s+){1,5}" + _DONE_WHAT +
              r"(?:\s+(?:with\s+|of\s+)?(?:that|it|this|them|those))?"
              r"(?:\s+(?:as\s+well|too|and\s+all))?")
# "on conclusion of same", "upon completion of that", "following which", "with that done"
_ON_DONE = (r"(?:(?:on|upon|after|following)\s+(?:the\s+)?(?:conclusion|completion|finish|"
            r"end)\s+of\s+(?:the\s+)?(?:same|that|this|it|those|these|them|above|former)|"
            r"following\s+which|after\s+which|post\s+which|whereupon|whereafter|thereafter|"
            r"with\s+(?:that|this|it)\s+" + _DONE_WHAT + r")")
# Disfluencies between "and" and the connector ("and, uh, then"); the comma after each
_UH = r"(?:(?:uh|um|er|erm|uhm|eh|like|so)\s*,?\s*)*"

# Between two parts; each alternative eats the comma or "and" before it.
_CONNECTOR_RE = re.compile(
    r'(?:\s*[,;]?\s*(?<![\w-])(?:(?:and|an|n)\s*,?\s*' + _UH + r')?(?:' + _WHEN_DONE + '|' +
    _ON_DONE +
    # "hot on its heels", "hard on the heels of that": right after
    r'|(?:hot|hard|close)\s+on\s+(?:its|the|their)\s+heels(?:\s+of\s+(?:that|it|this))?'
    r'|(?:the\s+)?(?:final|last)\s+(?:bit|thing|job|task|one|step|item)\s+(?:is|will\s+be)(?=\s)'
    r'|then|thn|after\s+that|afterwards|after\s+this|'
    r'finally|lastly|last\s+of\s+all|next(?=\s*,)|followed\s+by|subsequently|once\s+finished|'
    r'(?:as\s+soon\s+as|once|when|after)\s+(?:that\s+is|that\'s|you\s+are|you\'re|you\s+have|'
    r'you\'ve|it\s+is|it\'s|both\s+(?:of\s+(?:those|them|these)\s+)?are|(?:those|these|they)\s+'
    r'are|they\'re|all\s+(?:that|this)\s+is)\s+(?:done|finished|through|complete|clear)'
    r'(?:\s+(?:with\s+|of\s+)?(?:that|it|this|them|those))?|'
    r'the\s+moment\s+(?:that\'s|that\s+is|it\'s|it\s+is)\s+(?:done|finished)|'
    r'and\s+after(?=\s*,)|(?:and\s+)?to\s+round\s+(?:it|things)\s+off|'
    # "and to round off the match,", "and to garnish,", "and to top it all off,"
    r'and\s+to\s+(?:round\s+off|finish\s+off|top\s+(?:it|things)(?:\s+all)?\s+off|'
    r'garnish|close|end)(?:\s+(?:the|this|that)\s+\w+)?(?=\s*,)|'
    r'(?:once|when|after)\s+(?:finished|done|completed?)|'
    r'at\s+the\s+very\s+end|(?:at\s+the\s+end|to\s+finish(?:\s+(?:off|up))?)(?=\s*,)|'
    r'following\s+on\s+from\s+that|upon\s+completion|having\s+done\s+that|later\s+on(?=\s*,)|'
    r'off\s+the\s+back\s+of\s+(?:that|this|it)|'
    r'(?:and\s+)?as\s+the\s+(?:closing|final|last)\s+(?:job|task)|'
    r'(?:and\s+)?last\s+of\s+the\s+lot|'
    r'(?:the\s+)?(?:job|task)\s+after\s+that\s*:|(?:the\s+)?last\s+(?:job|task)\s+of\s+the\s+'
    r'(?:run|day|shift|list)\s*:)'
    r'(?![\w-])\s*,?\s*)'
    r'|(?:\s*[,;.]?\s*(?<![\w-])step\s+(?:one|two|three|four|[1-9])\s*[:.)-]\s*)'
    r'|(?:\s*;\s*)'
    # ", plus ...", ", also ...": everyday joins (final15), after a comma (not "next":
    # ", next task: ..." and ", next build" lead in or name, and "next to" is a place)
    r'|(?:\s*,\s*(?:and\s+)?(?:plus|also)(?![\w-])\s*,?\s*)'
    r'|(?:\s+\((?:[b-e]|[2-9]|ii|iii|iv|v)\)\s+)'  # "(a) ... (b) ...": the second item on
    # a new sentence, not after a placeholder ("pk ??? qty 15 loc ...") nor after "v."
    # or "vs." ("scanner v. C11-14 label"; "45 s. After that" is a sentence end)
    # (nor after a list's number at the start of a line: "1. Robot, pick 10 ..." is one
    # item, whose "1" is no quantity; final15 read it as PICK ... 1)
    r'|(?:(?<=[.!?])(?<!\?\?)(?<!\bv\.)(?<!\bvs\.)(?<!\A\d\.)(?<!\n\d\.)(?<!\A\d\d\.)'
    r'(?<!\n\d\d\.)\s+(?=[A-Za-z]))'
    # a line break between two lines of words; a long arrow between two clauses ("-->",
    # and "=>", "~>", "|>" of final14-15; not before a place: "DOCK-2 --> PACK-6", "CHG
    # REQ --> charger 20"; "->" is a direction only); a telegram's "STOP THEN"
    r'|(?:(?<=\S)[ \t]*[,;]?[ \t]*(?:\r?\n)+[ \t]*(?:[-*\u2022][ \t]+|\d{1,2}[.)][ \t]+)?'
    r'(?=[A-Za-z]))'
    r'|(?:\s+(?:-->|=>|~>|\|>)\s+(?!(?:charg\w*|dock|pack\w*|staging|exception\w*|bin|station|'
    r'tote|sku|'
    r'aisle|zone|area|reserve|forward|pick\s+face|location)(?![\w-]))'
    r'(?=[A-Za-z]+(?:\'[a-z]+)?[\s,]))'
    r'|(?:\s+(?-i:STOP\s+THEN)\s+)', re.I)
# (and greetings or a priority said before a part: "pls hi, there is oil ...",
# "Priority is wMS EVENT putaway_task; ...")
_LEADING_RE = re.compile(r'^\W*(?:(?:first(?:\s+of\s+all)?|firstly|to\s+start|and|also|pls|plz|'
                         r'hi|hello|hey|(?:top\s+|first\s+|high\s+)?priority(?:\s+is|\s+one)?)'
                         r'(?![\w-])\W*)*', re.I)
# A part's number in a list: "1) ...", "(2) ...", "b) ...", "3. ..."
_ENUMERATOR_RE = re.compile(r'^\s*(?:\(?\d{1,2}\)|\(?[a-e]\)|\((?:i|ii|iii|iv|v)\)|'
                            r'\d{1,2}\.(?=\s)|#\d{1,2}\b)\s*',
                            re.I)
# A lead-in that only says when the part comes ("When that is complete, ...", "Before
# anything else, ...", "Plus, after that, ...", "First up: ..."): words of this closed
# list only, one of them about the order, then a comma or a colon.
_LEAD_IN_RE = re.compile(r"^\s*((?:[A-Za-z]+(?:'[a-z]+)?\s+){0,7}[A-Za-z]+(?:'[a-z]+)?)\s*[,:]\s*")
_LEAD_IN_WORDS = frozenset(
    "after afterwards afterward then next once when whenever finished finish done complete "
    "completed over sorted wrapped wrap up off first firstly before anything else finally "
    "last lastly plus also later additionally second secondly third thirdly and that that's "
    "this it you you're you've are have has is was been with all of everything the very end "
    "start begin to now right so following out way round up on your list straight directly "
    "immediately".split())
_ORDER_WORDS = frozenset(
    "after afterwards afterward then next once when finished finish done complete completed "
    "first firstly before finally last lastly plus also later additionally second secondly "
    "third thirdly end start begin following way round".split())

# Words of a text that tries to talk the planner past its rules: no task in it.
# ("safety" only of the planner's rules: "translate the safety notice" is a task of
# another domain, no talk)
RULE_TALK_RE = re.compile(r'(?<![\w-])(?:override|overrides|admin|administrator|validator|'
                          r'safety(?=\s+(?:rules?|limits?|checks?|constraints?|systems?|'
                          r'settings?|protocols?|interlocks?|features?|mode|off|stuff|'
                          r'validator|envelope|margins?|restrictions?|locks?|lockouts?|'
                          r'measures|procedures?|polic\w+|officer|team|lead|manager)|\W*$)|'
                          r'validat\w*|(?:block|safety|battery)\s+flags?|stale|'
                          r'rules?|limits?|constraints?|authori[sz]\w*|approved|cleared|'
                          r'\w+\s+mode|debug|ignore|disable\w*|bypass\w*|permission|sudo|'
                          r'pretend|system|instructions?|warnings?|checks?)(?![\w-])', re.I)


# "First stop: ...", "Next stop: ..." (a railway announcer's list, final14): an order
# lead-in, not a stop; only before a colon ("First stop, then ..." may be a stop)
_STOP_LEAD_RE = re.compile(r'^\s*(?:first|next|second|third|last|final)\s+stop\s*:\s*', re.I)


def _lead_in_end(text: str) -> int:
    """Return where a part's list number and order lead-ins end (0: none)."""
    pos = 0
    while True:
        m = _ENUMERATOR_RE.match(text[pos:]) or _STOP_LEAD_RE.match(text[pos:])
        if m and m.end():
            pos += m.end()
            continue
        m = _LEAD_IN_RE.match(text[pos:])
        if m is None:
            return pos
        words = m.group(1).lower().split()
        if not (set(words) <= _LEAD_IN_WORDS and set(words) & _ORDER_WORDS):
            return pos
        pos += m.end()


# A part made of these words only is politeness, not a task.
_FILLER_WORDS = frozenset(
    'thanks thank you thx cheers please pls plz ok okay great cool asap urgent now quickly '
    'high priority when get a chance if can possible much appreciated ty robot for sure '
    'appreciate it good job done that is all hey hi hello next task quick one new job heads '
    'up plus additionally besides ta ty tq thanx tks hiya over k kk team everyone sorry '
    'checklist howdy wotcha yo ahoy greetings morning evening afternoon '
    # orders' and radio's words of assent: "... deliver them to PACK 3. Execute."
    'execute acknowledge roger wilco'.split())
# Greetings of more than one word: "wah gwaan", "ey up", "g'day"
_GREETING_RE = re.compile(r"(?<![\w-])(?:wah\s+gwaan|wha\s+gwan|ey\s+up|g'day(?:\s+mate)?|"
                          r"top\s+of\s+the\s+morning|good\s+(?:morning|afternoon|evening|day))"
                          r"(?![\w-])", re.I)
# Courtesy phrases of more words than the filler words should carry alone ("no" or "are"
# by themselves are no politeness): "(no rush)", "over and out", "as soon as you are free".
_COURTESY_RE = re.compile(r"(?<![\w-])(?:no\s+(?:rush|hurry)|over\s+and\s+out|"
                          r"(?:tick|check|cross)\s+(?:it|them|that|this)\s+off|"
                          r"(?:(?:a\s+)?(?:couple|few|number|list|bunch)\s+(?:more\s+)?of|a\s+few|"
                          r"some|two|three|a\s+couple)\s+(?:more\s+)?(?:jobs|tasks|things)"
                          r"(?:\s+for\s+you)?|"
                          r"(?:as\s+soon\s+as|whenever|when)\s+you(?:'re|\s+are)\s+"
                          r"(?:free|ready|able)|"
                          # "Thank you for your cooperation", "many thanks for your help"
                          r"(?:(?:many\s+)?thanks|thank\s+you)(?:\s+(?:very|so)\s+much)?\s+"
                          r"(?:in\s+advance\s+)?for\s+(?:all\s+)?(?:your|the)\s+(?:kind\s+)?"
                          r"(?:co-?operation|help|patience|time|understanding|assistance|support|"
                          r"hard\s+work|efforts?|attention))(?![\w-])", re.I)
# "Nothing else for you tonight": tells the robot no task (the task comes in another part).
_NOTHING_ELSE_RE = re.compile(r"(?<![\w-])(?:nothing\s+(?:else|more)|that'?s\s+(?:all|it)|"
                              r"no\s+(?:more|other)\s+(?:tasks?|jobs?|work))"
                              r"(?:\s+(?:for\s+you|to\s+do|for|tonight|today|now))*(?![\w-])",
                              re.I)
_WORD_RE = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")
# A reference of the sender's system: "Ticket rdlsbq1.", "Ref: 4711", "order #A-77".
_REFERENCE_RE = re.compile(r'^\W*(?:ticket|ref(?:erence)?|order|job|request|case|po|wo)\b'
                           r'(?:\s*(?:no\.?|number|id))?[\s#:.-]*[\w-]+\W*$', re.I)


# A sign-off with the sender's name or team: "Thanks, Sam", "Cheers, Mike", "Thanks in
# advance, Ruth", "Regards - Health and Safety".  The name is at most three words, none
# of them a word that asks for work ("Thanks, now go charge" is a task).
_SIGN_OFF_RE = re.compile(r"^\W*(?:many\s+|kind\s+|best\s+)?(?:thanks|thank\s+you|thx|cheers|"
                          r"regards|best|ta|much\s+appreciated)(?:\s+(?:in\s+advance|again|"
                          r"a\s+lot|so\s+much))?\s*[,-]+\s*", re.I)
_ACTION_WORDS = frozenset(
    'go head drive move return come get take bring carry deliver pick grab fetch collect '
    'put stow store place charge recharge plug park wait stay hold stop halt report log '
    'flag scan rescan count check tally then now also next after first before please '
    'pls can could would will you your'.split())


def _is_sign_off(part: str) -> bool:
    m = _SIGN_OFF_RE.match(part)
    if m is None:
        return False
    words = list(re.finditer(r"[A-Za-z][\w'.&]*", part[m.end():]))
    for n in range(1, min(3, len(words)) + 1):  # the name, then only politeness
        if any(w.group(0).lower().strip("'.&") in _ACTION_WORDS for w in words[:n]):
            return False
        rest = part[m.end() + words[n - 1].end():]
        if not re.search(r'[A-Za-z]', rest) or is_filler(rest):
            return True
    return False


def is_filler(part: str) -> bool:
    """Return True for a part that asks nothing ("Thanks!", "asap, robot 7", "Ticket 4711")."""
    if _REFERENCE_RE.match(part) or _is_sign_off(part):
        return True
    had_words = bool(_WORD_RE.search(part))
    part = _GREETING_RE.sub(' ', _COURTESY_RE.sub(' ', _NOTHING_ELSE_RE.sub(' ', part)))
    words = _WORD_RE.findall(part.lower())
    # signs beyond punctuation ("Couple of jobs for you. --== ==--") are no politeness
    rest = re.sub(r"[A-Za-z]+(?:'[a-z]+)?|\d+|\s|[.,!?;:'\"()\-]", '', part)
    # "#$%^&*()" is no politeness: a part of no words at all is not filler either
    return had_words and not rest and all(w in _FILLER_WORDS for w in words)


# "Queue for you: A | B": a list of jobs whose items a bar separates.  Without the lead-in
# a bar separates a record's fields ("LABEL FAIL | exc EXCEPTION-6 | loc D01-11").
# "task for you: RPL | SKU ... | QTY ...": one task (a record); only a list word lists.
_LIST_LEAD_RE = re.compile(r'^\W*(?:(?:a|your)\s+)?(?:queue|jobs|tasks|to-?do(?:\s+list)?|'
                           r'checklist|'
                           r'work\s*list|job\s+list|list)(?:\s+(?:for\s+(?:you|today|now)|in\s+'
                           r'order))*\s*:\s*', re.I)
# An item separator of such a list besides the bar: a slash between spaces ("A / B"; in
# "CYCLE CNT loc E11-08 / SKU-07396" without a list lead it separates a record's fields)
_LIST_SLASH_RE = re.compile(r'(?<!\S)/(?!\S)')
# ... and, in a list of neither, a dash between spaces ("Checklist: - A - B")
_LIST_DASH_RE = re.compile(r'(?<!\S)-(?!\S)')


# What a sentence's punctuation is (the rest of a part's leading signs: "~~~ ^^^")
_NOT_SIGN_RE = re.compile(r"[\w\s.,!?;:'\"()\-]+")
# Runs of separators that are no punctuation of a sentence (";;; :::"; "..." is one)
_SIGN_RUNS_RE = re.compile(r'[;:|]{3,}|[;:|]{2,}\s*[;:|]{2,}')


def _list_items(items: str) -> str:
    """
    Return a list's items with their separators made ';' (same length).

    Bars separate the items where there are bars (then a slash separates the fields of
    an item: "Queue for you: mOVE ORDER / to: DOCK-3 / item: TOTE-5 | ..."), else
    slashes, else dashes between spaces.  A separator before the first item is none.
    """
    if '|' in items:
        return items.replace('|', ';')
    if _LIST_SLASH_RE.search(items):
        return _LIST_SLASH_RE.sub(';', items)
    lead = len(items) - len(items.lstrip(' -'))  # "Checklist: - A - B"
    return items[:lead] + _LIST_DASH_RE.sub(';', items[lead:])


# Connectors that say what comes after something ("after that", "and then",
# "afterwards"): with nothing before them ("Priority is ; after that ...", ". After
# that, ..."), a part is missing.  A bare "then" is no such connector ("OK then, ...").
_AFTER_CONNECTOR_RE = re.compile(r'(?<![\w-])(?:after|afterwards|followed|subsequently|and\s+then|'
                                 r'once|upon|having|as\s+soon\s+as|when|the\s+moment)(?![\w-])',
                                 re.I)


def split_spans(task: str) -> list[tuple[int, int]]:
    """
    Return the (start, end) of every part of ``task`` between connectors.

    Politeness-only parts are dropped; a leading "first", "and" or "also" and the
    punctuation around a part are outside its span.  A text without a connector is
    one span.
    """
    if not isinstance(task, str) or not task.strip():
        return []
    return list(_split_spans(task))


# A request splits its text twice (the language check, the planners) and the connector
# pattern costs about 0.1 ms a text: the answers of the last texts are kept.
@functools.lru_cache(maxsize=1024)
def _split_spans(task: str) -> tuple:
    spans, pos = [], 0
    lead = _LIST_LEAD_RE.match(task)
    if lead:  # same length, so the spans are the original text's
        pos = lead.end()
        task = task[:pos] + _list_items(task[pos:])
    for m in list(_CONNECTOR_RE.finditer(task, pos)) + [None]:
        end = m.start() if m is not None else len(task)
        piece = task[pos:end]
        start = pos
        while True:  # "Plus, after that, also ...": lead-ins and leading words in turn
            lead = start + _lead_in_end(task[start:end])
            after = lead + _LEADING_RE.match(task[lead:end]).end()
            if after == start:
                break
            start = after
        while start < end and task[start] in ' \t\r\n,;:-':
            start += 1
        stop = end
        while stop > start and task[stop - 1] in ' \t\r\n,;:-':
            stop -= 1
        # signs that no sentence has before politeness ("~~~ ^^^ ~~~ thx"): unreadable too
        signs = _NOT_SIGN_RE.sub('', task[pos:start])
        if signs and stop > start and is_filler(task[start:stop]):
            stop = start
        if stop <= start and (piece.strip(' \t\r\n,;:-.!?') or _SIGN_RUNS_RE.search(piece)):
            # no words, only signs ("#$%^&*()", ";;; :::"): a part no one can read, not nothing
            start = pos + len(piece) - len(piece.lstrip())
            stop = pos + len(piece.rstrip())
        if stop > start and not is_filler(task[start:stop]):
            spans.append((start, stop))
        if m is None:
            break
        pos = m.end()
    return tuple(spans or [(0, len(task))])


def dangling_connector(task: str) -> str:
    """
    Return a connector of ``task`` that joins nothing to a part, or ''.

    "Grab 15 SKU-53416 ... to PACK-7. Once finished, ." and ", and after you have done
    that, verify ...": a part was meant to be there (lost in transit, or not text at all).
    A ";" or a new sentence with nothing after it joins nothing: it is punctuation.
    """
    if not isinstance(task, str):
        return ''
    if task.lstrip()[:1] in (',', ';'):
        m = _CONNECTOR_RE.match(task)
        if m and re.search(r'[A-Za-z]', m.group(0)):
            return m.group(0).strip()
    start = 0
    lead = _LIST_LEAD_RE.match(task)
    if lead:
        # "Jobs in order:  / can you run ...": an item of the list is empty
        start = lead.end()
        listed = _list_items(task[start:])
        items = listed.split(';')
        if len(items) > 1 and any(not re.search(r'\w', item) for item in items):
            return next(sep for sep in '/|;-' if sep in task[start:])
        task = task[:start] + listed
    matches = list(_CONNECTOR_RE.finditer(task, start))
    worded = [m for m in matches if re.search(r'[A-Za-z]', m.group(0))]
    if worded:
        first = worded[0]
        before = task[start:first.start()]
        # "Priority is ; after that ...", "Hi, , and after that ...", ". After that, ...":
        # nothing before it but signs or politeness (a text that starts with the
        # connector may be a task's clauses in another order: "and after that put them
        # into C14-15, take 16 SKU-38189 out of F40-01")
        if _AFTER_CONNECTOR_RE.search(first.group(0)) and before.strip() and (
                not re.search(r'\w', before) or is_filler(before)):
            return first.group(0).strip(' ,;.')
    for k, m in enumerate(matches):
        if not re.search(r'[A-Za-z]', m.group(0)) or re.match(r'\W*step\b', m.group(0), re.I):
            continue
        end = matches[k + 1].start() if k + 1 < len(matches) else len(task)
        # ("then ??? if no good": a placeholder of a missing argument is there)
        if not re.search(r'\w|\?{2,}', task[m.end():end]):
            if k + 1 < len(matches) and re.search(r'[A-Za-z]', matches[k + 1].group(0)):
                continue  # "- then, once it is done, stop": two connectors, one join
            return m.group(0).strip(' ,;')
    return ''


def split_parts(task: str) -> list[str]:
    """Return the texts of :func:`split_spans` (a text without a connector: one part)."""
    return [task[a:b] for a, b in split_spans(task)]


__all__ = ['MAX_SUBTASKS', 'dangling_connector', 'is_filler', 'RULE_TALK_RE', 'split_parts',
           'split_spans']
