"""The documented rule for subjects that do not occur verbatim in their prompt."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from easyedit_plugins.data import choose_subject


def test_verbatim_subject_is_kept():
    choice = choose_subject("rectangle", "A rectangle has a length of x.", "area of rectangle")
    assert (choice.subject, choice.rule) == ("rectangle", "verbatim")


def test_other_capitalisation_adopts_the_prompts_spelling():
    choice = choose_subject("Determinant", "The value of a 2x2 determinant |a b; c d| is", "linear_algebra")
    assert (choice.subject, choice.rule) == ("determinant", "case-insensitive")


def test_longest_run_of_subject_words_found_in_the_prompt():
    choice = choose_subject("Right Triangle hypotenuse", "A right triangle with legs 3 and 4 has", "")
    assert (choice.subject, choice.rule) == ("right triangle", "subject words")


def test_rule_name_words_when_no_subject_word_occurs():
    choice = choose_subject(
        "charge", "Evaluate the capacitance for a capacitor with 40F and a voltage of 10V:", "stored charge in a capacitor"
    )
    assert (choice.subject, choice.rule) == ("a capacitor", "rule-name words")


def test_function_words_alone_never_make_a_subject():
    choice = choose_subject("the speed of", "Compute the value of 3 + 4:", "")
    assert (choice.subject, choice.rule) == ("4", "last word")


def test_last_word_without_punctuation_as_the_final_fallback():
    choice = choose_subject("charge", "Evaluate it for 40F and 10V:", "ohm")
    assert (choice.subject, choice.rule) == ("10V", "last word")


@given(
    subject=st.text(min_size=0, max_size=20),
    prompt=st.text(min_size=1, max_size=60).filter(str.strip),
    rule_name=st.text(max_size=20),
)
def test_the_chosen_subject_always_occurs_in_the_prompt(subject, prompt, rule_name):
    assert choose_subject(subject, prompt, rule_name).subject in prompt
