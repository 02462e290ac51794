"""What the netns-fabric test modules share: their marks (root and BIRD 2 needed)."""

from __future__ import annotations

import os
import shutil

import pytest

NETNS_MARKS = [
    pytest.mark.netns,
    pytest.mark.skipif(os.geteuid() != 0, reason="the netns fabric needs root (network namespaces)"),
    pytest.mark.skipif(shutil.which("bird") is None, reason="the netns fabric needs BIRD 2 (apt-get install bird2)"),
]
