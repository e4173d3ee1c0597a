"""Unsupported claims: what counts as a number, date or name, what supports it, and how it is
removed (labeler/labels/claims.py: pure functions, no model)."""

from __future__ import annotations

import pytest

from labeler.labels.claims import Evidence, find_claims, remove_claims, unsupported


def kinds(text: str, **kw) -> list[tuple[str, str]]:
    return [(c.kind, c.text) for c in find_claims(text, **kw)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Fans discussing the 2016 Olympics.", [("year", "2016"), ("name", "Olympics")]),
        ("Founded in 1066 and sold in 2099.", [("year", "1066"), ("year", "2099")]),
        ("Rates rose to 2.5% on $1,200 loans.", [("number", "2.5%"), ("number", "$1,200")]),
        ("Parcels promised in 3-day shipping.", [("number", "3-day")]),
        ("Played on March 5 and 12th of June.", [("date", "March 5"), ("date", "12th of June")]),
        ("Questions about the Bank of America app.", [("name", "Bank of America")]),
        ("Customers asking about their card. Most want a new one.", []),
        ("Users of 4G phones.", [("name", "4G")]),
    ],
)
def test_claims_are_found_in_summaries(text, expected):
    assert kinds(text) == expected


def test_a_title_case_label_has_names_only_where_title_case_does_not_explain_them():
    assert kinds("Ice Hockey Playoff Games", title_case=True) == []
    assert kinds("NHL Playoff Games", title_case=True) == [("name", "NHL")]
    assert kinds("iPhone Battery Drain", title_case=True) == [("name", "iPhone")]
    assert kinds("2004 Olympic Results", title_case=True) == [("year", "2004")]
    assert kinds("Top-Up Limits", title_case=True) == []


def test_words_of_the_prompts_own_instructions_are_not_names():
    text = "Documents in Title Case about cards."
    assert kinds(text) == [("name", "Title Case")]
    assert kinds(text, ignore={"title", "case"}) == []


def test_support_is_case_insensitive_and_tolerates_plurals_and_separators():
    evidence = Evidence(["Watched the olympic games in ATHENS on aug 13th", "It cost 1.200 euros"])
    claims = find_claims("Fans of the Olympics in Athens on August 13 paid 1,200 euros in 2004.")
    assert [c.text for c in unsupported(claims, evidence)] == ["2004"]
    assert unsupported(find_claims("Fees of 2.5%."), Evidence(["25 fees"]))  # 2.5 is not 25
    assert not unsupported(find_claims("Questions about Apple Pay."), Evidence(["apple pay?"]))


@pytest.mark.parametrize(
    ("text", "claims", "expected"),
    [
        ("Fans discussing the 2016 Olympics in Birmingham.", ["2016", "Birmingham"],
         "Fans discussing the Olympics."),
        ("Reports on the ceremony held on March 5, 2004 in the capital.", ["March 5", "2004"],
         "Reports on the ceremony held in the capital."),
        ("Customers ask about top-ups (since 2019) and fees.", ["2019"],
         "Customers ask about top-ups and fees."),
        ("In 2019. Customers asked about fees.", ["2019"], "Customers asked about fees."),
    ],
)  # fmt: skip
def test_removing_a_claim_leaves_readable_text(text, claims, expected):
    found = [c for c in find_claims(text) if c.text in claims]
    assert len(found) == len(claims)
    assert remove_claims(text, found) == expected


@pytest.mark.parametrize(
    ("text", "claims", "expected"),
    [
        ("Customers ask about card fees. Reports say Smith won the cup in Athens.",
         ["Smith", "Athens"], "Customers ask about card fees."),
        ("Fees rose 2.5% last year. People ask about card fees.", ["2.5%"],
         "People ask about card fees."),
        ("Reports say Smith won the cup.", ["Smith"], ""),  # nothing whole is left: ask again
    ],
)  # fmt: skip
def test_a_claim_that_is_not_a_detachable_phrase_takes_its_whole_sentence(text, claims, expected):
    found = [c for c in find_claims(text) if any(x in c.text for x in claims)]
    assert len(found) == len(claims)
    assert remove_claims(text, found) == expected  # never "Reports say won the cup."


def test_removing_a_claim_from_a_label_keeps_its_other_words():
    label = "2016 Olympics Coverage"
    assert remove_claims(label, find_claims(label, title_case=True), title_case=True) == (
        "Olympics Coverage"
    )
