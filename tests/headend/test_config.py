"""Configuration: the example file loads, and the precedence is file < env < CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from headend.config import format_address, load_settings, parse_address

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "headend.toml"


def test_example_file_loads_with_the_defaults() -> None:
    settings = load_settings(EXAMPLE)
    assert settings.port == 10000
    assert settings.api_port == 8080
    assert settings.limits.idle_timeout == 900.0
    assert settings.session.window == 1


def test_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "h.toml"
    cfg.write_text("port = 11000\napi_port = 9000\n[limits]\nidle_timeout = 300\n")
    monkeypatch.setenv("HEADEND_API_PORT", "9100")
    monkeypatch.setenv("HEADEND_LIMITS__LOGIN_TIMEOUT", "20")
    monkeypatch.setenv("HEADEND_API_TOKEN", "secret")
    settings = load_settings(cfg, port=12000)
    assert settings.port == 12000  # command line
    assert settings.api_port == 9100  # environment over file
    assert settings.limits.idle_timeout == 300  # file
    assert settings.limits.login_timeout == 20  # environment, nested
    assert settings.api_token is not None
    assert settings.api_token.get_secret_value() == "secret"
    assert "secret" not in repr(settings)


def test_bad_values_are_reported(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("workers = 0\n")
    with pytest.raises(ValueError, match="workers"):
        load_settings(cfg)
    with pytest.raises(FileNotFoundError):
        load_settings(tmp_path / "missing.toml")
    with pytest.raises(ValueError, match="A1-A2"):
        load_settings(None, known_terminals=["nonsense"])


def test_addresses() -> None:
    assert parse_address("4403-00001") == (0x4403, 1)
    assert format_address((0x0171, 2082)) == "0171-02082"
    with pytest.raises(ValueError, match="A2 must be"):
        parse_address("4403-70000")
