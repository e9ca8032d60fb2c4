"""The example test plan's suite: run it with `python -m pytest --junitxml=junit.xml` (aitip reads the JUnit report).
One case fails on purpose (textstats.title_case's known bug), so that a plan's results show a failure."""
import os

import pytest

import textstats


def test_counts_words():
    assert textstats.word_count("one two  three") == 3


def test_ignores_lone_punctuation():
    assert textstats.word_count("wait - what ?") == 2


def test_average_word_length():
    assert textstats.average_word_length("ab abcd") == 3.0


def test_empty_text_has_no_words():
    assert textstats.average_word_length("") == 0.0


def test_title_case_keeps_apostrophes():
    assert textstats.title_case("don't stop") == "Don't Stop"


@pytest.mark.skipif(os.environ.get("AITIP_TEST_TRIGGER") is None, reason="only when aitip runs the plan")
def test_knows_it_runs_under_aitip():
    assert os.environ["AITIP_TEST_PLAN_ID"]
