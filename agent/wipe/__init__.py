"""Certified erasure (NIST SP 800-88): ``weee wipe`` and the bench run call this.

Python API::

    from agent.wipe import WipeOptions, erase, plan_targets
    targets = plan_targets(["/dev/sda"], WipeOptions())   # nothing opened for writing
    reports = erase(targets, WipeOptions(), progress=callback)
    [r.to_dict() for r in reports]                        # weee-erasure/1 documents

``erase`` also takes device paths directly. See ``runner`` for the orchestration,
``methods`` for method selection, ``engine`` for the overwrite engine, ``journal`` for
interrupted-run detection and ``report`` for the report contract.
"""

from agent.wipe.engine import Hooks, Progress
from agent.wipe.journal import Interrupted, Journal
from agent.wipe.report import ErasureReport, Operator
from agent.wipe.runner import Target, WipeOptions, erase, plan_targets

__all__ = [
    "ErasureReport",
    "Hooks",
    "Interrupted",
    "Journal",
    "Operator",
    "Progress",
    "Target",
    "WipeOptions",
    "erase",
    "plan_targets",
]
