"""Leaf models: simulated, function-backed, replayed, and real providers over httpx."""

from .anthropic import Anthropic
from .base import Model
from .function import FunctionModel
from .gemini import Gemini
from .openai import OpenAICompatible
from .replay import ReplayModel, replay_models
from .simulated import Faults, LatencyProfile, SimulatedModel, profiles

__all__ = [
    "Anthropic",
    "Faults",
    "FunctionModel",
    "Gemini",
    "LatencyProfile",
    "Model",
    "OpenAICompatible",
    "ReplayModel",
    "SimulatedModel",
    "profiles",
    "replay_models",
]
