"""Words written without vowels are spelled out before any stage reads the task."""

import pytest

from rag_planner.domain.plan_grammar import format_plan
from rag_planner.domain.request import normalize_task
from rag_planner.domain.sms_words import spell_out
from rag_planner.planners.rule_based import rule_plan


@pytest.mark.parametrize('text,out', [
    ('prk n STAGING-19 k', 'park n STAGING-19 k'),
    ('scn fld @ B27-12, rscn pls, if fls agn snd t EXCEPTION-18',
     'scan failed @ B27-12, rescan pls, if fails again send t EXCEPTION-18'),
    ('PLZ MV TOTE-55 FRM PACK-1', 'PLZ MOVE TOTE-55 FROM PACK-1'),
    ('Prk at STAGING-2', 'Park at STAGING-2'),
])
def test_vowel_less_task_words_are_spelled_out(text, out):
    assert normalize_task(text) == out


@pytest.mark.parametrize('text', [
    'pck 3 SKU-48213 at A12-03',      # pick or pack: two words share the skeleton
    'count 3 pcs qty 5 thx',          # words with vowels and words the planner reads
    'wait 1 hr at STAGING-2',         # "hr" is no listed word ("here" is not listed)
    'B27-12 SKU-48213 TOTE-55',       # ids are never words
    "don't",                          # part of a word
])
def test_other_words_stay(text):
    assert spell_out(text, frozenset(('pcs', 'qty', 'thx'))) == text
    assert normalize_task(text) == text


def test_the_rule_planner_reads_a_text_message():
    plan = rule_plan(normalize_task('plz mv TOTE-55 frm PACK-1 t PACK-6'))
    assert format_plan(plan.steps) == ('NAVIGATE PACK-1; SCAN TOTE-55; LOAD TOTE-55; '
                                       'NAVIGATE PACK-6; UNLOAD PACK-6; REPORT DONE TOTE-55')
