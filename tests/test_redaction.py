"""underfoot_lab.redaction: the one home of secret scrubbing (URLs, headers, text, files, logs)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from underfoot_lab.redaction import (
    install_log_redaction,
    redact,
    scrub,
    scrub_bytes,
    scrub_file,
    scrub_headers,
    scrub_url,
)

SECRET = "sk-test-SECRET123"
TOKEN = "tok-SECRET-456"


def test_scrub_url_masks_every_credential_parameter() -> None:
    url = (
        f"https://u:pw@api.example.com/v1/x?q=tacos&api_key={SECRET}&apiKey=a1&KEY=b2"
        f"&token=c3&access_token=d4&keep=1&note={TOKEN}"
    )
    out = scrub_url(url, (TOKEN,))
    assert out == (
        "https://***@api.example.com/v1/x?q=tacos&api_key=***&apiKey=***&KEY=***"
        "&token=***&access_token=***&keep=1&note=***"
    )
    # A URL without credentials is left exactly as it was.
    plain = "http://127.0.0.1:1/search.rss?q=hidden+gems+Pikeville%2C+KY&sort=relevance"
    assert scrub_url(plain) == plain


def test_scrub_headers() -> None:
    out = scrub_headers(
        [
            ("Authorization", f"Bearer {SECRET}"),
            ("api-key", "k"),
            ("Cookie", "session=1"),
            ("Set-Cookie", "a=b"),
            ("X-Echo", f"see {TOKEN}"),
            ("Accept", "application/json"),
        ],
        (TOKEN,),
    )
    assert out == [
        ["authorization", "***"],
        ["api-key", "***"],
        ["cookie", "***"],
        ["set-cookie", "***"],
        ["x-echo", "see ***"],
        ["accept", "application/json"],
    ]


def test_scrub_masks_key_params_and_secrets() -> None:
    text = (
        "GET https://serpapi.com/search.json?engine=google&api_key=abc123&q=x\n"
        "https://api.geoapify.com/v1/geocode/search?text=a&apiKey=def456 token zzz-secret"
    )
    out = scrub(text, ("zzz-secret",))
    assert "abc123" not in out
    assert "def456" not in out
    assert "zzz-secret" not in out
    assert "api_key=***" in out
    assert "apiKey=***" in out
    assert "\n" not in out


def test_redact_masks_encoded_forms_and_the_longer_secret_whole() -> None:
    out = redact("a=sk/1 b=sk%2F1 c=sk%2F1-long d=sk/1-long", ("sk/1", "sk/1-long"))
    assert out == "a=*** b=*** c=*** d=***"
    assert redact("nothing here", ()) == "nothing here"


def test_scrub_bytes_and_files(tmp_path: Path) -> None:
    assert scrub_bytes(f"x {SECRET} y".encode(), (SECRET,)) == b"x *** y"
    binary = b"\xff\xfe" + SECRET.encode()
    assert scrub_bytes(binary, (SECRET,)) == b"\xff\xfe***"
    text = tmp_path / "a.txt"
    text.write_text(f"key {SECRET}\n", encoding="utf-8")
    assert scrub_file(text, (SECRET,))
    assert text.read_text(encoding="utf-8") == "key ***\n"
    blob = tmp_path / "b.bin"
    blob.write_bytes(binary)
    assert not scrub_file(blob, (SECRET,))  # binary with a secret: withhold it
    assert blob.read_bytes() == binary


def test_log_redaction_covers_every_logger(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction((TOKEN,))
    caplog.set_level(logging.DEBUG)
    logging.getLogger("httpx").info(
        'HTTP Request: %s %s "%s"',
        "GET",
        f"https://serpapi.com/search.json?q=a&api_key={SECRET}",
        200,
    )
    logging.getLogger("some.other").debug("token in text: %s", TOKEN)
    logging.getLogger("openai._base_client").debug("headers {'Authorization': 'Bearer %s'}", SECRET)
    try:
        raise ValueError(f"bad {TOKEN}")
    except ValueError:
        logging.getLogger("x").exception("failed")
    assert len(caplog.records) == 4
    assert SECRET not in caplog.text and TOKEN not in caplog.text
    assert "api_key=***" in caplog.text and "Bearer ***" in caplog.text
    assert "bad ***" in caplog.text
