import pytest

from standalone.tickets import custom_ids


def test_round_trip():
    assert custom_ids.parse(custom_ids.make(custom_ids.OPEN, "ab12")) == ("open", ["ab12"])
    assert custom_ids.parse(custom_ids.make(custom_ids.CLOSE, 42)) == ("close", ["42"])
    made = custom_ids.make(custom_ids.TRANSCRIPT, "123", 7)
    assert custom_ids.parse(made) == ("transcript", ["123", "7"])


@pytest.mark.parametrize(
    "custom_id",
    [
        "",
        "open",
        "open:",
        "nope:1",
        "open:../x",
        "open:" + "a" * 65,
        'close:{"a":1}',
        "open:a b",
        "open:a..b",
        "transcript:1." + "2" * 99,
    ],
)
def test_foreign_ids_are_refused(custom_id):
    with pytest.raises(custom_ids.BadCustomId):
        custom_ids.parse(custom_id)


def test_cannot_build_an_id_from_unsafe_text():
    with pytest.raises(custom_ids.BadCustomId):
        custom_ids.make(custom_ids.OPEN, "a:b")
    with pytest.raises(custom_ids.BadCustomId):
        custom_ids.make("unknown", "a")


@pytest.mark.parametrize("argument", ["x", "-1", "1234567890"])
def test_ticket_numbers_are_digits(argument):
    with pytest.raises(custom_ids.BadCustomId):
        custom_ids.number([argument])
