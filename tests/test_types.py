"""The engine's value types stay frozen dataclasses with their faster constructor."""

from __future__ import annotations

import dataclasses

import pytest

from flows.catalog import Rendered
from flows.types import Choice, Event, Inbound, Media, Reply, Snapshot, Turn


def test_values_made_per_message_keep_every_dataclass_behaviour() -> None:
    """Defaults, a fresh default per instance, equality and hashing, replace, repr, and no
    assignment afterwards: as the dataclass's own constructor gives them."""
    a, b = Reply("greeting"), Reply("greeting")
    assert a == b and a.params == {} and a.params is not b.params
    assert Inbound("telegram", "42", "m1") == Inbound("telegram", "42", "m1", "", "", ())
    assert hash(Choice(1, "yes", "Ya")) == hash(Choice(1, "yes", "Ya"))
    snap = Snapshot("intake", "greeting")
    moved = dataclasses.replace(snap, state="danger", misses=1)
    assert (moved.flow, moved.state, moved.misses, moved.language) == (
        "intake", "danger", 1, "id")
    assert repr(Media("photo", "f1")) == "Media(kind='photo', ref='f1', mime='')"
    turn = Turn((a,), (Event("consent", {"choice": "agree"}),), snap)
    assert turn.events[0].data == {"choice": "agree"}
    assert Rendered("halo").choices == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.state = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Inbound("telegram")  # type: ignore[call-arg]
