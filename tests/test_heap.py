"""The heap setting that keeps a long harvest's memory flat (glibc only)."""

from __future__ import annotations

import platform

import pytest

from harvester.store.heap import keep_heap_compact


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_the_mmap_threshold_is_fixed_on_glibc() -> None:
    assert keep_heap_compact() is True
