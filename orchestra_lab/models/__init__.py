"""Leaf models: simulated, function-backed and real providers over httpx."""

from .base import Model
from .function import FunctionModel
from .simulated import Faults, LatencyProfile, SimulatedModel, profiles

__all__ = ["Faults", "FunctionModel", "LatencyProfile", "Model", "SimulatedModel", "profiles"]
