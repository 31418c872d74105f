"""The channels as Rasa itself loads and uses them: credentials.yml through ``rasa run``'s reader,
``${VAR}`` behaviour of that reader, and Rasa's ``output_channel=latest`` lookup (the
``POST /conversations/{id}/execute`` path staff messages and reminders take)."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from rasa.core.run import create_http_input_channels
from rasa.shared.exceptions import RasaException

from integrations.channels.line import LineInput, LineOutput
from integrations.channels.telegram import TelegramInput, TelegramOutput
from tests.channel_harness import FakeBotApi, FakeEngine, FakeLineApi, bot_turn, serve_channels

ROOT = Path(__file__).resolve().parents[1]
ENV = ("TELEGRAM_TOKEN", "TELEGRAM_SECRET_TOKEN", "TELEGRAM_MODE", "TELEGRAM_WEBHOOK_URL", "TELEGRAM_API_BASE_URL",
       "LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN", "LINE_API_BASE_URL", "PUBLIC_BASE_URL")
USER = "U4af4980629a0b1c2d3e4f5a6b7c8d9e0"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_credentials_yml_without_secrets_loads_and_leaves_messaging_channels_off(clean_env):
    channels = create_http_input_channels(None, str(ROOT / "credentials.yml"))
    assert [c.name() for c in channels] == ["rest", "telegram", "line", "webchat"]
    telegram, line = channels[1], channels[2]
    assert isinstance(telegram, TelegramInput) and isinstance(line, LineInput)  # not Rasa's aiogram channel
    assert telegram.config.problem == "TELEGRAM_TOKEN is unset"
    assert line.config.problem == "LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN unset"


def test_credentials_yml_with_environment_configures_both(clean_env):
    clean_env.setenv("TELEGRAM_TOKEN", "123:abc")
    clean_env.setenv("TELEGRAM_SECRET_TOKEN", "secret_1")
    clean_env.setenv("LINE_CHANNEL_SECRET", "s")
    clean_env.setenv("LINE_CHANNEL_ACCESS_TOKEN", "t")
    _, telegram, line, _ = create_http_input_channels(None, str(ROOT / "credentials.yml"))
    assert telegram.config.problem is None and telegram.config.mode == "webhook"
    assert telegram.config.max_body_bytes == 65536
    assert line.config.problem is None and line.config.reply_window == 50
    clean_env.setenv("TELEGRAM_MODE", "polling")
    _, telegram, _, _ = create_http_input_channels(None, str(ROOT / "credentials.yml"))
    assert telegram.config.mode == "polling"


def test_rasa_reader_substitutes_env_vars_but_fails_when_one_is_unset(clean_env, tmp_path):
    """Why credentials.yml holds no ${VAR}: an unset variable stops the whole server. (Only plain
    scalars are substituted; a quoted "${VAR}" stays literal text.)"""
    path = tmp_path / "credentials.yml"
    path.write_text("integrations.channels.telegram.TelegramInput:\n  mode: ${KURASHI_TEST_MODE}\n", encoding="utf-8")
    clean_env.delenv("KURASHI_TEST_MODE", raising=False)
    with pytest.raises(RasaException, match="KURASHI_TEST_MODE"):
        create_http_input_channels(None, str(path))
    clean_env.setenv("KURASHI_TEST_MODE", "polling")
    clean_env.setenv("TELEGRAM_TOKEN", "123:abc")
    [telegram] = create_http_input_channels(None, str(path))
    assert telegram.config.mode == "polling" and telegram.config.problem is None
    path.write_text('integrations.channels.telegram.TelegramInput:\n  mode: "${KURASHI_TEST_MODE}"\n', encoding="utf-8")
    [telegram] = create_http_input_channels(None, str(path))
    assert telegram.config.mode == "${kurashi_test_mode}" and telegram.config.problem  # literal, so refused


def test_secrets_in_credentials_yml_are_ignored(clean_env, caplog):
    channel = TelegramInput.from_credentials({"token": "123:committed-by-mistake"})
    assert channel.config.token is None and channel.config.problem
    assert any("ignored" in r.getMessage() for r in caplog.records)
    assert not any("committed-by-mistake" in r.getMessage() for r in caplog.records)


async def test_rasa_picks_our_output_channel_for_output_channel_latest(clean_env):
    """``rasa.server._get_output_channel`` is what ``/conversations/{id}/execute?output_channel=latest``
    and ``trigger_intent`` use: it must find our channels by the tracker's latest input channel."""
    from rasa.server import _get_output_channel
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    async with FakeBotApi("123:abc") as bot_api, FakeLineApi("line-token") as line_api:
        clean_env.setenv("TELEGRAM_TOKEN", "123:abc")
        clean_env.setenv("TELEGRAM_SECRET_TOKEN", "secret_1")
        clean_env.setenv("TELEGRAM_API_BASE_URL", bot_api.url)
        clean_env.setenv("LINE_CHANNEL_SECRET", "s")
        clean_env.setenv("LINE_CHANNEL_ACCESS_TOKEN", "line-token")
        clean_env.setenv("LINE_API_BASE_URL", line_api.url)
        telegram, line = TelegramInput.from_credentials(None), LineInput.from_credentials(None)
        async with serve_channels([telegram, line], FakeEngine()):
            request = SimpleNamespace(args={"output_channel": "latest"},
                                      app=SimpleNamespace(ctx=SimpleNamespace(input_channels=[telegram, line])))
            for sender, channel_name, expected in (("tg:42", "telegram", TelegramOutput), (f"line:{USER}", "line", LineOutput)):
                tracker = DialogueStateTracker.from_events(sender, [UserUttered("こんにちは", input_channel=channel_name)])
                output = _get_output_channel(request, tracker)
                assert isinstance(output, expected)
                await output.send_response(sender, bot_turn("職員の佐藤です。明日の10時はいかがですか？"))
    assert [p["text"] for p in bot_api.sent()] == ["職員の佐藤です。明日の10時はいかがですか？"]
    assert bot_api.sent()[0]["chat_id"] == "42"
    assert line_api.bodies("push") == [{"to": USER, "messages": [{"type": "text", "text": "職員の佐藤です。明日の10時はいかがですか？"}]}]
