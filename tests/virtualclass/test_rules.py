"""The class's pure rules (R16): connected minutes, presence-check windows, message size,
strokes, shared files, conference links. No app, no database."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.errors import Conflict, InvalidInput
from virtualclass import rules
from virtualclass.rules import Interval

T0 = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


def m(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_connected_minutes_clip_to_the_session_and_count_overlaps_once():
    spans = [
        Interval(m(-10), m(20)),  # joined before the start: counts from the start
        Interval(m(10), m(30)),  # a second tab overlapping: counted once
        Interval(m(50), None),  # still connected: up to now
    ]
    assert rules.connected_minutes(spans, m(0), m(180), now=m(60)) == 30 + 10


def test_connected_minutes_stop_at_the_end_of_the_session():
    assert rules.connected_minutes([Interval(m(170), None)], m(0), m(180), now=m(400)) == 10


def test_was_connected_covers_both_ends():
    spans = [Interval(m(0), m(10))]
    assert rules.was_connected(spans, m(0))
    assert rules.was_connected(spans, m(10))
    assert not rules.was_connected(spans, m(10.1))
    assert rules.was_connected([Interval(m(0), None)], m(999))


def test_a_presence_check_answered_late_is_refused_r16():
    rules.check_answer_in_time(m(0), m(2), m(2))
    with pytest.raises(Conflict) as caught:
        rules.check_answer_in_time(m(0), m(2), m(2.01))
    assert (caught.value.code, caught.value.rule) == ("presence_check_closed", "R16")


def test_messages_over_64_kb_are_refused():
    rules.check_message_size({"text": "a" * (64 * 1024 - 20)})
    with pytest.raises(InvalidInput) as caught:
        rules.check_message_size({"text": "é" * (33 * 1024)})  # 2 bytes each in UTF-8
    assert caught.value.code == "message_too_large"


@pytest.mark.parametrize(
    "stroke",
    [
        {"tool": "brush", "points": [[0, 0]]},
        {"tool": "pen", "colour": "red", "points": [[0, 0]]},
        {"tool": "pen", "width": 0, "points": [[0, 0]]},
        {"tool": "pen", "points": [[0, 1.5]]},
        {"tool": "pen", "points": [[True, 0]]},
        {"tool": "pen", "points": []},
        {"tool": "pen", "points": [[0, 0]] * 2001},
    ],
)
def test_bad_strokes_are_refused(stroke):
    with pytest.raises(InvalidInput):
        rules.stroke(stroke)


def test_the_chat_allowance_is_spent_then_given_back_over_time_r16():
    bucket = rules.ChatBucket(20, 10.0, now=100.0)  # CLASS_CHAT_RATE "20/10 seconds"
    assert all(bucket.take(100.0) for _ in range(20))
    assert bucket.take(100.0) is False  # the 21st at once: refused
    assert bucket.take(100.4) is False  # 0.8 of a message given back
    assert bucket.take(100.5) is True  # one message every half second
    assert bucket.take(100.5) is False
    assert sum(bucket.take(1000.0) for _ in range(25)) == 20  # never more than 20 at once


def test_a_stroke_keeps_only_what_it_needs():
    kept = rules.stroke({"tool": "pen", "points": [[0.123456, 1]], "evil": "<script>"})
    assert kept == {"tool": "pen", "colour": "#000000", "width": 3, "points": [[0.1235, 1.0]]}
    assert rules.stroke({"tool": "clear", "points": "ignored"}) == {"tool": "clear"}


def test_files_are_checked_by_type_content_and_size():
    assert rules.check_file("cours.pdf", "application/pdf", b"%PDF-1.7", 10, 100) == "cours.pdf"
    assert rules.check_file("notes", "text/plain", b"bonjour", 7, 100) == "notes.txt"
    assert rules.check_file("C:\\x\\plan.docx", rules_docx(), b"PK\x03\x04", 9, 100) == "plan.docx"
    for name, kind, head, code in [
        ("a.pdf", "application/pdf", b"MZ", "file_type_refused"),
        ("a.exe", "application/x-msdownload", b"MZ", "file_type_refused"),
        ("a.txt", "text/plain", b"\x00\x01", "file_type_refused"),
    ]:
        with pytest.raises(InvalidInput) as caught:
            rules.check_file(name, kind, head, 10, 100)
        assert caught.value.code == code
    with pytest.raises(InvalidInput) as caught:
        rules.check_file("a.pdf", "application/pdf", b"%PDF-", 101, 100)
    assert caught.value.code == "file_too_large"


def rules_docx() -> str:
    return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def test_safe_names_drop_paths_and_control_characters():
    assert rules.safe_name("../../etc/passwd", ".txt") == "passwd.txt"
    assert rules.safe_name("a\x00b.pdf", ".pdf") == "a_b.pdf"
    assert rules.safe_name("...", ".pdf") == "fichier.pdf"


def test_conference_links_are_https():
    assert rules.conference_url(" https://meet.jit.si/cours ") == "https://meet.jit.si/cours"
    assert rules.conference_url("") is None
    for bad in ("http://meet.jit.si/x", "javascript:alert(1)", "https://"):
        with pytest.raises(InvalidInput):
            rules.conference_url(bad)


def test_the_rules_module_imports_only_the_standard_library_and_core_errors():
    tree = ast.parse(Path(rules.__file__).read_text())
    modules = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert modules <= {
        "__future__",
        "json",
        "re",
        "collections.abc",
        "dataclasses",
        "datetime",
        "typing",
        "core.errors",
    }
