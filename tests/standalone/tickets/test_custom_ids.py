import pytest

from standalone.tickets import custom_ids


def test_round_trip():
    assert custom_ids.parse(custom_ids.make(custom_ids.OPEN, "ab12")) == ("open", "ab12")
    assert custom_ids.parse(custom_ids.make(custom_ids.CLOSE, 42)) == ("close", "42")


@pytest.mark.parametrize(
    "custom_id",
    ["", "open", "open:", "nope:1", "open:../x", "open:" + "a" * 65, 'close:{"a":1}', "open:a b"],
)
def test_foreign_ids_are_refused(custom_id):
    with pytest.raises(custom_ids.BadCustomId):
        custom_ids.parse(custom_id)


def test_cannot_build_an_id_from_unsafe_text():
    with pytest.raises(custom_ids.BadCustomId):
        custom_ids.make(custom_ids.OPEN, "a:b")
