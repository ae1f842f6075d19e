"""A fleet world for the status board: the oom scenario's job cloned into many (as `bench/shared_reads.py`'s
`world()` builds it, reused here), plus the scenario's healthy job, and one clone whose execution history
Azure refuses to give (a could-not-check row)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
UNREADABLE = "orders-processor-03"  # its executions answer 403


def _bench_world() -> Any:
    spec = importlib.util.spec_from_file_location("bench_shared_reads", ROOT / "bench" / "shared_reads.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.world


def fleet_world(tmp: Path, jobs: int = 6) -> Path:
    data = yaml.safe_load(_bench_world()(jobs, 0).read_text())
    data["faults"] = [{"target": "arm", "path": f"/jobs/{UNREADABLE}/executions", "status": 403}]
    path = tmp / "fleet.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
