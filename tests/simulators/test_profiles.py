"""Behaviour profiles: the shipped ones load and mean what they say."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulators.profiles import Profile, available_profiles, load_profile, parse_profile


def test_the_shipped_profiles() -> None:
    assert {"default", "field", "faults", "collection"} <= set(available_profiles())
    default = load_profile("default")
    assert (default.latency_max, default.loss, default.garbage) == (0.0, 0.0, 0.0)
    field = load_profile("field")
    assert (field.latency_min, field.latency_max, field.loss) == (0.2, 0.8, 0.01)
    assert 0 < field.garbage < 0.1
    assert 0 < field.split < 0.1
    collection = load_profile("collection")
    assert (collection.latency_min, collection.latency_max) == (0.2, 0.8)
    assert collection.loss == 0
    assert collection.garbage == 0
    assert collection.split == 0
    faults = load_profile("faults")
    for share in ("loss", "garbage", "split", "duplicate_login", "ip_jump", "flap",
                  "wrong_parameters"):  # fmt: skip
        assert getattr(faults, share) > 0, share
    assert faults.zero_energy_meter
    assert faults.relay_fails
    for name in available_profiles():
        assert load_profile(name).description


def test_a_profile_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text("[latency]\nmin = 1\nmax = 2.5\n[link]\nheartbeat_interval = 5\n")
    p = load_profile(str(path))
    assert p == Profile(
        "mine", latency_min=1.0, latency_max=2.5, heartbeat_interval=5.0
    )
    assert p.with_heartbeat(1.0).heartbeat_interval == 1.0


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"latency": {"mn": 1}}, "unknown key latency.mn"),
        ({"speed": {}}, "unknown entry"),
        ({"link": {"loss": 2.0}}, "loss must be in 0..1"),
        ({"link": {"loss": "high"}}, "must be a float"),
        ({"faults": {"relay_fails": 1}}, "must be a bool"),
        ({"stream": {"garbage_max": 2.5}}, "must be a int"),
        ({"latency": {"min": 2, "max": 1}}, "latency min <= max"),
    ],
)
def test_bad_profiles_are_rejected(doc: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_profile("bad", doc)


def test_unknown_profile_name() -> None:
    with pytest.raises(ValueError, match="shipped: "):
        load_profile("nonesuch")
