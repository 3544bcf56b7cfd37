"""capfcap/messages.toml is checked when it loads: a mistake names the entry and the key
instead of surfacing later as a wrong `capfcap explain` answer."""

from __future__ import annotations

import pytest

from capfcap.messages import MESSAGES, MessagesError, Step, parse_table

ENTRY = '''
[steps.FIRST]
codes = "CAPTURE_ONE_SIDED"
note = "rule this out first"

[[message]]
shows = ["LSC: Failed"]
patterns = [["lsc failed"]]
where = "phone"
source = "a document"
meaning = """\\
  two lines \\
  of text"""
kind = "problem"
[[message.step]]
use = "FIRST"
[[message.step]]
codes = "CAPF_AUTH_FAILED PHONE_MIC_EXPIRED"
note = "wrong string"
'''


def test_an_entry_reads_into_a_message() -> None:
    (m,) = parse_table(ENTRY)
    assert (m.shows, m.patterns, m.meaning, m.kind) == (
        ("LSC: Failed",), (("lsc failed",),), "two lines of text", "problem")
    assert m.steps == (Step(("CAPTURE_ONE_SIDED",), "rule this out first"),
                       Step(("CAPF_AUTH_FAILED", "PHONE_MIC_EXPIRED"), "wrong string"))


@pytest.mark.parametrize(("edit", "said"), [
    (('kind = "problem"', 'kind = "fatal"'), "message[0]: kind 'fatal'"),
    (('use = "FIRST"', 'use = "SECOND"'), "message[0].step[0]: no shared step [steps.SECOND]"),
    (('where = "phone"', 'where = 3'), "message[0].where: expected text, got int"),
    (('where = "phone"', 'wehre = "phone"'), "message[0]: expected the keys"),
    (('shows = ["LSC: Failed"]', 'shows = []'), "message[0].shows: expected a non-empty"),
    (('note = "wrong string"', 'note = "wrong string"\nseverity = 1'),
     "message[0].step[1]: expected codes and note, or use"),
    (("[[message]]", "[[messages]]"), "unknown tables ['messages']"),
    (('where = "phone"', 'where = "phone'), "messages.toml: "),
])
def test_a_mistake_names_the_entry_and_the_key(edit: tuple[str, str], said: str) -> None:
    with pytest.raises(MessagesError) as e:
        parse_table(ENTRY.replace(*edit, 1))
    assert said in str(e.value)


def test_the_shipped_table_loads_whole() -> None:
    assert len(MESSAGES) >= 30
    assert all(m.shows and m.patterns and m.meaning for m in MESSAGES)
