"""Writing the OS image: streamed, decompressed on the fly, bmap-aware, verified.

Public API: :func:`write_image` (the bench run calls it) returning an
:class:`ImageResult` (``.to_dict()`` is the record's ``image`` object; ``.ok``,
``.exit_code`` and ``.notes`` for the caller), :class:`Progress` (what the ``progress``
callback receives) with :class:`ProgressPrinter` (MB/s and ETA on stderr), and
:func:`plan_image` for a plan-only look at a source and a target.
"""

from agent.image.pipeline import Progress
from agent.image.progress import ProgressPrinter
from agent.image.result import ImageResult
from agent.image.writer import ImagePlan, plan_image, write_image

__all__ = ["ImagePlan", "ImageResult", "Progress", "ProgressPrinter", "plan_image", "write_image"]
