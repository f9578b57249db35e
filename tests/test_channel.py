"""The parent's readers of what a worker wrote: regular files only, never past their size limit."""

import os

import pytest

from grader.sandbox.channel import BadOutput, follow, read_file


def test_read_file_returns_a_file_within_its_limit_and_refuses_a_larger_one(tmp_path):
    (tmp_path / "f").write_bytes(b"abcd")
    assert read_file(tmp_path / "f", 4) == b"abcd"
    with pytest.raises(BadOutput, match="larger than 3 bytes"):
        read_file(tmp_path / "f", 3)


def test_symlinks_and_fifos_are_never_followed_or_waited_on(tmp_path):
    (tmp_path / "f").write_bytes(b"line\n")
    (tmp_path / "link").symlink_to(tmp_path / "f")
    os.mkfifo(tmp_path / "fifo")
    for name in ("link", "fifo"):
        with pytest.raises(BadOutput):
            read_file(tmp_path / name, 100)
        assert follow(tmp_path / name, 0) == b""
    assert follow(tmp_path / "f", 0) == b"line\n"
