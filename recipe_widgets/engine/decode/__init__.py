"""``rw.decode`` and ``rw.before_the_net``: a batch shown exactly as the net sees it."""

from recipe_widgets.engine.decode._api import KINDS, DecodedBatch, decode, pictures
from recipe_widgets.engine.decode._before_the_net import BeforeTheNet, ForwardCall, before_the_net
from recipe_widgets.engine.decode._images import to_uint8
from recipe_widgets.engine.decode._tensor_stats import TensorStats, tensor_stats

__all__ = [
    "KINDS",
    "BeforeTheNet",
    "DecodedBatch",
    "ForwardCall",
    "TensorStats",
    "before_the_net",
    "decode",
    "pictures",
    "tensor_stats",
    "to_uint8",
]
