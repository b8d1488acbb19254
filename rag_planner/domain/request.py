"""
Checks of an untrusted request: task text, robot state, deadline.

Requests arrive from the network. :func:`check_request` returns why one is
malformed (the server answers ``INVALID_REQUEST`` with that reason), or ''
when every stage may look at it.
"""

import functools
import re
import unicodedata

from rag_planner.domain.robot_state import check_state
from rag_planner.domain.sms_words import spell_out

# The longest task text any stage reads (the plan library holds the same limit);
# the server's max_task_chars parameter may only lower it.
MAX_TASK_CHARS = 2000
DEADLINE_RANGE_MS = (1, 60000)
# Unicode categories that never belong in a task: control, surrogate, private, unassigned.
_BAD_CATEGORIES = ('Cc', 'Cs', 'Co', 'Cn')


_SPACE_RE = re.compile(r'\s+')
_EDGE_PUNCT = ' \t\n.!?,;:'


def task_key(task: str) -> str:
    """
    Return the normalized text that identifies a task (case, spacing, end punctuation off).

    Two requests are "the same task" when their keys are equal: the retrieval cache and
    the last-known safe plans use it (``"Stop now!"`` is ``"stop  now"``).
    """
    return _SPACE_RE.sub(' ', (task or '').lower()).strip(_EDGE_PUNCT)


def normalize_task(task: str) -> str:
    """
    Return the task text every stage reads: Unicode NFKC, format characters removed.

    NFKC folds compatibility forms (full-width ``ＳＫＵ－４８２１３``, ligatures) into
    the plain ones; format characters (category Cf: zero-width spaces and joiners, the
    word joiner, BOM, soft hyphen, bidi controls) carry no meaning and would hide an id
    from every parser (``SKU-48\u200b213``).  Task words written without their vowels
    are spelled out ("prk n STAGING-19" -> "park n STAGING-19"; ``domain.sms_words``).
    """
    text = unicodedata.normalize('NFKC', task)
    text = ''.join(ch for ch in text if unicodedata.category(ch) != 'Cf')
    return spell_out(text, _KNOWN_WORDS)


_TOKEN_RE = re.compile(r'[^\s,;:!?()\[\]{}"\'/]+')


def _is_latin_or_ascii(ch: str) -> bool:
    return ch.isascii() or unicodedata.name(ch, '').startswith('LATIN')


def lookalike_ids(task: str) -> list:
    """
    Return the id-like tokens of ``task`` that hide a look-alike character.

    A token that mixes ASCII letters or digits with a letter or digit of another
    script (Cyrillic ``А`` in ``А12-03``, Greek ``Ο`` in ``TΟTE-55``) cannot be read
    as the id it imitates, and must not be read as any other.
    """
    found = []
    for token in _TOKEN_RE.findall(task):
        if any(ch.isascii() and ch.isalnum() for ch in token) and \
                any(ch.isalnum() and not _is_latin_or_ascii(ch) for ch in token):
            found.append(token)
    return found


# Frequent words of other languages that English tasks never use (function words, polite
# forms, the verbs of warehouse requests). A text with two or more of them, and fewer
# English function words, is not a task for this English planner.
_FOREIGN_WORDS = {
    'German': 'und der das den dem des ein eine einen einem nicht bitte mit von nach zum '
              'zur ist sind aus bei auf für fahre fahr hole hol bringe bring\'s stück stücke '
              'zähle zähl lade lad parke park\'s gehe geh wie ich wir ihr fach lager danke '
              'dort hier jetzt sofort ins im vom zu kiste behälter'.split(),
    'Spanish': 'el los las del de y por favor unidades que qué cómo está hoy ve recoge lleva '
               'llévalas llévala cuenta carga gracias estante caja hola dónde al en la '
               'una un ahora lleve traiga'.split(),
    'French': 'le les des du de et pour avec dans à au aux unités est une un sur vers plaît '
              'bonjour comment prends apporte range compte charge merci bac va la ça '
              'maintenant emplacement'.split(),
    'Italian': 'il gli lo della dalla alla nel nella con è prendi porta portali unità grazie '
               'ciao scaffale vai carica conta di da e pezzi preleva la una un ora '
               'subito'.split(),
    'Portuguese': 'os uma um unidades pegue leve obrigado olá caixa vá carregue conte dos '
                  'das de da do e para em na no ao agora'.split(),
    'Dutch': 'het een naar breng haal stuks uit bij niet alstublieft bedankt hallo tel ga '
             'laad de van vak voorraad op en nu'.split(),
    'Turkish': 've bir ile için bu lütfen adet götür getir nerede şimdi al'.split(),
    # final9: "Kisim 6 SKU-57875 long E18-16 na karim i go long PACK-13" ("long" and "go"
    # are English words too)
    'Tok Pisin': 'kisim karim bilong yupela mipela wanpela olsem stap pinis nau bai na '
                 'plis tenkyu'.split(),
}
_FOREIGN: dict = {}
for _lang, _words in _FOREIGN_WORDS.items():
    for _w in _words:
        _FOREIGN.setdefault(_w, set()).add(_lang)
_ENGLISH = frozenset('the to from and of at please go bring pick take for with in into it '
                     'is are then report move get put store count charge park wait stop '
                     'units unit items from out on this that there your you has been was '
                     'were'.split())
_WORD_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


# Warehouse words a general English vocabulary lacks (the tasks' own jargon).
DOMAIN_WORDS = frozenset(
    'sku skus tote totes asap thx pls plz qty retry retries escalate escalated charger '
    'chargers obstructed rescan rescanned unreadable barcode barcodes recharge recharged '
    'restock restocked restocking smudged spillage shelve shelved pallet pallets inbound '
    'outbound misscan misscanned misscans unload unloaded abort impassable stow stowed '
    'putaway putaways replenish replenished replenishment standby forklift unscannable '
    'refill refilled stocktake stocktaking recount cordoned ptwy src dst dest loc '
    'fallback chg req xfer pickface rpl replen blk rpt obstr pk cnt tkt'.split())
# Words the planner reads as they are: never spelled out as a text message's
_KNOWN_WORDS = DOMAIN_WORDS | _ENGLISH


UNKNOWN_WORDS_SHARE = 0.5  # more than this share of a task's words unknown: not English
LEXICON_MIN_LETTERS = 5
UNKNOWN_LANGUAGE = 'unknown'  # foreign_language: not English, but no language it knows


def foreign_language(task: str, lexicon: frozenset = frozenset()) -> str:
    """
    Return the name of the language ``task`` is written in if it is not English, else ''.

    Letters of another script outside ids (Cyrillic, CJK, Arabic, ...) say so, as do
    two or more frequent words of another language outweighing the English ones.  With
    an English ``lexicon`` (:func:`rag_planner.retrieval.lexicon.english_words`), a text
    whose words of five letters or more are mostly not in it, and that has none of the
    most frequent English words, is not English either.
    """
    foreign_script = sum(1 for ch in task if ch.isalpha() and not _is_latin_or_ascii(ch))
    if foreign_script >= 2:
        return 'another script'
    words = _words(task)
    hits: dict = {}
    for w in words:
        for lang in _FOREIGN.get(w, ()):
            hits[lang] = hits.get(lang, 0) + 1
    if hits:
        # a word of another language's list is no sign of English ("karim" is a name
        # in the vocabulary); the frequent English words still are ("go", "in")
        english = sum(1 for w in words if w in _ENGLISH or (
            len(w) >= 3 and w in lexicon and w not in _FOREIGN))
        lang, n = max(hits.items(), key=lambda kv: kv[1])
        if n >= 2 and n > english:
            return lang
    # Short words are where English jargon lives ("WMS pick req, src ..., dest ..."):
    # only words of LEXICON_MIN_LETTERS or more are weighed.
    long_words = [w for w in words if len(w) >= LEXICON_MIN_LETTERS]
    # "REPLEN ... FROM ... TO": two English function words make it English; one can be
    # a word of another language too ("at" in "Kumuha ng 16 ... at dalhin sa PACK-17")
    function_words = sum(1 for w in words if w in _ENGLISH)
    if lexicon and long_words and function_words <= 1:
        unknown = sum(1 for w in long_words if not in_lexicon(w, lexicon))
        if unknown / len(long_words) > UNKNOWN_WORDS_SHARE and (
                not function_words or unknown >= 2):
            return UNKNOWN_LANGUAGE
    # A text of short words only has no long words to weigh ("Isao ny SKU-13099 ao
    # amin'ny B40-06."): three words or more and not one frequent English word of three
    # letters or more (the vocabulary holds many short pieces of other languages: the
    # lexicon's ``frequent`` words, see retrieval.lexicon) is no English.
    if no_english_word(task, lexicon):
        return UNKNOWN_LANGUAGE
    return ''


# Politeness of the domain's words: no sign of English in "isao ny SKU-1 ... thx"
_COURTESY_WORDS = frozenset('thx pls plz asap'.split())


def no_english_word(task: str, lexicon: frozenset, min_words: int = 3) -> bool:
    """Return True for ``min_words`` words or more (ids and "thx" left out), none English."""
    frequent = getattr(lexicon, 'frequent', lexicon)
    words = _words(task) - _COURTESY_WORDS
    return bool(lexicon) and len(words) >= min_words and not any(
        w in _ENGLISH or (len(w) >= 3 and in_lexicon(w, frequent)) for w in words)


# The language check asks for a piece's words up to three times (foreign_language,
# no_english_word, unknown_long_words), and for a task's and its parts' again: the
# answers of the last texts are kept (a set, so a frozenset).
@functools.lru_cache(maxsize=2048)
def _words(task: str) -> frozenset:
    """Return the lower-cased words of ``task``, ids left out."""
    words = set()
    for token in _TOKEN_RE.findall(task):
        if not any(ch.isdigit() for ch in token):  # ids are not words
            words.update(w.lower() for w in _WORD_RE.findall(token))
    return frozenset(words)


def unknown_long_words(task: str, lexicon: frozenset) -> int:
    """Return how many distinct words of LEXICON_MIN_LETTERS or more ``lexicon`` lacks."""
    return sum(1 for w in _words(task)
               if len(w) >= LEXICON_MIN_LETTERS and not in_lexicon(w, lexicon))


# Inflections the vocabulary may lack: "gathers" when it has "gather" (WordPiece keeps
# many words only as a stem and a "##s" piece)
_ENDINGS = (('ies', 'y'), ('es', ''), ('s', ''), ('ed', ''), ('ed', 'e'), ('d', ''),
            ('ing', ''), ('ing', 'e'))


def in_lexicon(word: str, lexicon: frozenset) -> bool:
    """Return True when ``word`` or its stem without a common ending is in ``lexicon``."""
    if word in lexicon:
        return True
    return any(word.endswith(end) and len(word) - len(end) >= 3
               and word[:-len(end)] + add in lexicon for end, add in _ENDINGS)


def check_task_text(task: object, max_chars: int = MAX_TASK_CHARS) -> str:
    """Return why ``task`` is not usable text, or ''."""
    if not isinstance(task, str):
        return f'task is not text ({type(task).__name__})'
    if not task.strip():
        return 'task is empty'
    if len(task) > max_chars:
        return f'task has {len(task)} characters, more than max_task_chars {max_chars}'
    bad = sum(1 for ch in task if unicodedata.category(ch) in _BAD_CATEGORIES
              and ch not in '\t\n\r')
    if bad or '\ufffd' in task:
        return 'task contains control or undecodable characters'
    return ''


def check_request(task: object, state: object, deadline_ms: float = 0.0,
                  max_task_chars: int = MAX_TASK_CHARS) -> str:
    """Return why a request is malformed, or '' (``deadline_ms`` 0 = the server's)."""
    problem = check_task_text(task, max_task_chars)
    if problem:
        return problem
    lo, hi = DEADLINE_RANGE_MS
    if deadline_ms and not lo <= deadline_ms <= hi:
        return f'deadline_ms {deadline_ms} outside {lo}..{hi}'
    problems = check_state(state)
    if problems:
        return 'bad robot state: ' + '; '.join(problems[:3])
    return ''


__all__ = ['DOMAIN_WORDS', 'MAX_TASK_CHARS', 'UNKNOWN_LANGUAGE', 'UNKNOWN_WORDS_SHARE',
           'check_request', 'check_task_text', 'foreign_language', 'in_lexicon', 'lookalike_ids',
           'no_english_word', 'normalize_task', 'task_key', 'unknown_long_words']
