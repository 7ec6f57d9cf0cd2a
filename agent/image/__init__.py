"""Writing the OS image: streamed, decompressed on the fly, bmap-aware, verified.

Public API: :func:`write_image` (the bench run calls it) returning an
:class:`ImageResult` (``.to_dict()`` is the record's ``image`` object), and
:func:`plan_image` for a plan-only look at a source and a target.
"""

from agent.image.result import ImageResult
from agent.image.writer import ImagePlan, plan_image, write_image

__all__ = ["ImagePlan", "ImageResult", "plan_image", "write_image"]
