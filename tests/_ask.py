"""Ask a model a dataset item the way an experiment does: the item's request, inside the item's answer key."""

from __future__ import annotations

from typing import Any

from orchestra_lab._answer_key import using_key
from orchestra_lab.experiments.dataset import Item
from orchestra_lab.models.base import Model
from orchestra_lab.types import Response


async def aask(model: Model, item: Item, **params: Any) -> Response:
    with using_key(item.answer_key):
        return await model.acomplete(item.to_request(**params))


def ask(model: Model, item: Item, **params: Any) -> Response:
    with using_key(item.answer_key):
        return model.complete(item.to_request(**params))
