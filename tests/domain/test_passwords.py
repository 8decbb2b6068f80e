"""Password policy (seed 000)."""

import pytest

from bridge.domain import password_problems


def codes(password):
    return [p.code for p in password_problems(password)]


def test_the_seeds_example_is_valid():
    assert password_problems("yS22Fr45") == []


@pytest.mark.parametrize("password, expected", [
    ("aB1cD", ["password_length"]),
    ("aB1cDeFgHiJkLmNo", ["password_length"]),
    ("aB1cD!", ["password_charset"]),
    ("aB1 cD", ["password_charset"]),
    ("ab12cd", ["password_uppercase"]),
    ("AB12CD", ["password_lowercase"]),
    ("abCDef", ["password_digit"]),
    ("", ["password_length", "password_lowercase", "password_uppercase", "password_digit"]),
    ("ÄbC12d", ["password_charset"]),  # Latin letters only
])
def test_one_message_per_violated_rule(password, expected):
    assert codes(password) == expected


def test_bounds_are_inclusive():
    assert password_problems("aB1cDe") == []  # 6
    assert password_problems("aB1cDeFgHiJkLmN") == []  # 15
