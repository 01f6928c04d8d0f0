"""orchestra_lab: compare ways of combining AI models -- routing, fallback, cascades, ensembles, chains --
on cost, latency and quality, with every call logged.

>>> import orchestra_lab as ol
>>> ol.SimulatedModel.profile("sim/small")("What is 2 + 2?").source
'simulated'
"""

from __future__ import annotations

from .calllog import CallLog, default_log, describe_schema
from .errors import (
    AuthError,
    BadRequestError,
    BadResponseError,
    BudgetExceededError,
    CircuitOpenError,
    ModelError,
    RateLimitError,
    ServerError,
    StrategyError,
    TimeoutError,
)
from .models import Faults, FunctionModel, LatencyProfile, Model, SimulatedModel, profiles
from .pricing import Price, set_price, set_usd_inr
from .types import Message, Request, Response, Usage

__version__ = "0.1.0"

__all__ = [
    "AuthError",
    "BadRequestError",
    "BadResponseError",
    "BudgetExceededError",
    "CallLog",
    "CircuitOpenError",
    "Faults",
    "FunctionModel",
    "LatencyProfile",
    "Message",
    "Model",
    "ModelError",
    "Price",
    "RateLimitError",
    "Request",
    "Response",
    "ServerError",
    "SimulatedModel",
    "StrategyError",
    "TimeoutError",
    "Usage",
    "__version__",
    "default_log",
    "describe_schema",
    "profiles",
    "set_price",
    "set_usd_inr",
]
