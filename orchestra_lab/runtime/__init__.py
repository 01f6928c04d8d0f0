"""Runtime wrappers around any model: cache, rate limits, retries, timeouts, circuit breaking, budgets."""

__all__: list[str] = []
