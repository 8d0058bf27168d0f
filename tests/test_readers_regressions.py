"""Inputs the fuzz tests once found (hypothesis draws), kept as fixed cases."""
from __future__ import annotations

import pytest

from core.corpora.citations import parse_citations


@pytest.mark.parametrize("text", ["a,b\r\nc,d\n", "x\ry,z\n", 'p,"q\rr"\n'])
def test_citations_csv_with_bare_carriage_returns_reads_or_refuses_in_one_line(text):
    try:
        out = parse_citations(text)
    except ValueError as exc:  # a message naming the file, never csv.Error
        assert "citations" in str(exc)
    else:
        assert all(isinstance(v, tuple) for v in out.values())


def test_a_home_folder_of_an_unknown_user_is_a_message_not_a_traceback(tmp_path, monkeypatch, capsys):
    from core.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("UPAIR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("UPAIR_JUDGEMENTS", str(tmp_path / "judgements"))
    with pytest.raises(SystemExit) as exc:
        main(["judge-import", "--set", "0", "--qrels", "~no_such_user_upair_0"])
    out = capsys.readouterr()
    assert exc.value.code == 2 and "Traceback" not in out.err + out.out
    assert "home folder" in out.err
