"""Routers: rules and predicates, classifiers, semantic, LLM and threshold routing."""

from __future__ import annotations

import numpy as np
import pytest

from orchestra_lab import CallLog, FunctionModel, Request, SimulatedModel, answer_key, strategies
from orchestra_lab.errors import ServerError, StrategyError
from orchestra_lab.strategies import (
    ClassifierRouter,
    HashingEmbeddings,
    Keywords,
    LLMRouter,
    Metadata,
    PromptLength,
    PromptRegex,
    Route,
    RuleRouter,
    Script,
    SemanticRouter,
    ThresholdRouter,
    detect_script,
    parse_choice,
    threshold_for_share,
)

SMALL, MEDIUM, LARGE = (SimulatedModel.profile(p) for p in ("sim/small", "sim/medium", "sim/large"))


def echo(name: str) -> FunctionModel:
    return FunctionModel(lambda p: name, name=name)


def strategy_row(log: CallLog):
    return log.to_frame().query("kind == 'strategy'").iloc[0]


def test_detect_script_devanagari_latin_and_hinglish() -> None:
    assert detect_script("मुझे एक सस्ता फोन चाहिए") == "Devanagari"
    assert detect_script("mujhe ek sasta phone chahiye yaar") == "Latin"
    assert detect_script("Привет") == "Cyrillic"
    assert detect_script("১২৩ বাংলা") == "Bengali"
    assert detect_script("123 ?!") == "Unknown"


def test_predicates() -> None:
    req = Request.of("Please PROVE the lemma", metadata={"category": "math", "steps": 9})
    assert Keywords("prove")(req) and not Keywords("prove", case_sensitive=True)(req)
    assert not Keywords("lem")(req)
    assert PromptRegex(r"lem+a")(req) and repr(PromptRegex("a")) == "PromptRegex('a')"
    assert PromptLength(at_least=5)(req) and not PromptLength(below=5)(req)
    assert Metadata("category", "math")(req) and not Metadata("category", "code")(req)
    assert Metadata("steps", lambda n: n > 5)(req) and not Metadata("missing", 1)(req)
    assert repr(Keywords("a", "b")) == "Keywords('a', 'b')"
    assert repr(PromptLength(at_least=10, below=20)) == "PromptLength(at_least=10, below=20)"


def test_predicates_and_routers_live_in_their_own_modules() -> None:
    from orchestra_lab.strategies import predicates, routing

    assert set(predicates.__all__) == {"Keywords", "Metadata", "Predicate", "PromptLength", "PromptRegex", "Script"}
    assert not set(predicates.__all__) & set(routing.__all__)
    assert {"RuleRouter", "ClassifierRouter", "SemanticRouter", "LLMRouter", "ThresholdRouter"} <= set(routing.__all__)
    assert not hasattr(routing, "Keywords") and not hasattr(strategies, "Regex")


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: Keywords(), "at least one"),
        (lambda: PromptRegex("("), "not a valid regex"),
        (lambda: PromptLength(), "at_least, below"),
        (lambda: PromptLength(at_least=5, below=5), "smaller"),
        (lambda: Script("Klingon"), "Klingon"),
    ],
)
def test_predicate_errors(factory, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        factory()


def test_rule_router_first_match_and_default_with_reasons() -> None:
    router = RuleRouter(
        [(Script("Devanagari"), echo("hindi")), (Keywords("prove"), echo("strong"))], default=echo("cheap")
    )
    with CallLog() as log:
        assert router("साबित करो prove").text == "hindi"
    row = strategy_row(log)
    assert (row.decision, row.reason) == ("hindi", "rule 1 matched: Script('Devanagari')")
    with CallLog() as log:
        assert router("kya aap prove kar sakte ho").text == "strong"
        assert router("hello").text == "cheap"
    assert log.to_frame().query("kind == 'strategy'").reason.tolist() == [
        "rule 2 matched: Keywords('prove')",
        "no rule matched: default",
    ]


def test_router_requires_default_and_valid_rules() -> None:
    with pytest.raises(TypeError, match="default"):
        RuleRouter([(Keywords("x"), SMALL)])  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="default model is required"):
        RuleRouter([(Keywords("x"), SMALL)], default=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"rules\[0\]"):
        RuleRouter([(Keywords("x"), "gpt")], default=SMALL)  # type: ignore[list-item]


def test_duplicate_and_reserved_route_names() -> None:
    with pytest.raises(ValueError, match="duplicate route name 'a'"):
        LLMRouter(SMALL, [Route("a", SMALL), Route("a", LARGE)], default=SMALL)
    with pytest.raises(ValueError, match="reserved"):
        ClassifierRouter(lambda p: "x", {"default": SMALL}, default=SMALL)


def test_classifier_router_callable_estimator_and_unknown_label() -> None:
    class Estimator:
        def predict(self, texts: list[str]) -> np.ndarray:
            return np.array(["hard" if "integral" in texts[0] else "easy"])

    routes = {"easy": echo("easy"), "hard": echo("hard")}
    assert ClassifierRouter(Estimator(), routes, default=echo("d"))("an integral please").text == "hard"
    with CallLog() as log:
        assert ClassifierRouter(lambda p: "weird", routes, default=echo("d"))("x").text == "d"
    row = strategy_row(log)
    assert row.decision == "default" and "'weird', not a route" in row.reason


def test_semantic_router_nearest_example_threshold_and_cached_examples() -> None:
    calls: list[int] = []

    class CountingEmbedder(HashingEmbeddings):
        def embed(self, texts: list[str]) -> np.ndarray:
            calls.append(len(texts))
            return super().embed(texts)

    embedder = CountingEmbedder()
    router = SemanticRouter(
        [
            Route("math", echo("math"), examples=["solve the equation for x", "compute the integral"]),
            Route("chat", echo("chat"), examples=["tell me a joke", "how are you today"]),
        ],
        embedder=embedder,
        default=echo("default"),
        threshold=0.35,
    )
    with CallLog() as log:
        assert router("solve this equation for x please").text == "math"
        assert router("tell me a funny joke").text == "chat"
        assert router("zzzz qqqq").text == "default"
    assert calls == [4, 1, 1, 1]
    reasons = log.to_frame().query("kind == 'strategy'").reason.tolist()
    assert reasons[0].startswith("nearest example 'solve the equation for x' of route 'math'")
    assert reasons[2].endswith(": default")


def test_semantic_router_async_embedder_and_bad_config() -> None:
    class AsyncEmbedder:
        async def embed(self, texts: list[str]) -> list[list[float]]:
            return [[1.0, 0.0] if "a" in t else [0.0, 1.0] for t in texts]

    router = SemanticRouter(
        [Route("a", echo("A"), examples=["a"]), Route("b", echo("B"), examples=["b"])],
        embedder=AsyncEmbedder(),
        default=echo("D"),
        threshold=0.9,
    )
    assert router("banana").text == "A" and router("xyz").text == "B"
    with pytest.raises(ValueError, match="outside the cosine range"):
        SemanticRouter([Route("a", SMALL, examples=["a"])], embedder=AsyncEmbedder(), default=SMALL, threshold=1.5)
    with pytest.raises(ValueError, match="no example utterances"):
        SemanticRouter([Route("a", SMALL)], embedder=AsyncEmbedder(), default=SMALL)


def test_parse_choice() -> None:
    names = ["math", "math-hard", "chat"]
    assert parse_choice("math", names) == "math"
    assert parse_choice("  CHAT. ", names) == "chat"
    assert parse_choice("I would use math-hard for this", names) == "math-hard"
    assert parse_choice("chat or math?", names) == "chat"
    assert parse_choice("no idea", names) is None


def test_llm_router_request_carries_only_route_names_and_latency_adds() -> None:
    seen: list[Request] = []

    def pick(request: Request) -> str:
        seen.append(request)
        return "I pick HARD."

    router_model = FunctionModel(pick, name="picker")
    router = LLMRouter(router_model, [Route("easy", SMALL, "simple"), Route("hard", LARGE, "proofs")], default=SMALL)
    item = Request.of("prove it", item_id="p1")
    with CallLog() as log, answer_key("p1", expected="QED", difficulty=0.4):
        r = router.complete(item)
    assert seen[0].metadata == {"judge_task": "choice", "options": ["easy", "hard"]} and seen[0].item_id == "p1"
    assert "- hard: proofs" in seen[0].prompt and "prove it" in seen[0].prompt
    frame = log.to_frame()
    assert frame[frame.parent_id == r.call_id].name.tolist() == ["picker", "sim/large"]
    assert r.served_model == "sim/large" and strategy_row(log).decision == "hard"
    assert r.latency_s == pytest.approx(frame[frame.parent_id == r.call_id].latency_s.sum())


def test_llm_router_malformed_or_failed_pick_goes_to_default() -> None:
    routes = [Route("easy", echo("E")), Route("hard", echo("H"))]
    with CallLog() as log:
        assert LLMRouter(echo("banana"), routes, default=echo("D"))("q").text == "D"
    assert strategy_row(log).reason == "router answer 'banana' names no route: default"

    def down(prompt: str) -> str:
        raise ServerError("down", status=503)

    with CallLog() as log:
        assert LLMRouter(FunctionModel(down, name="r"), routes, default=echo("D"))("q").text == "D"
    assert "router r failed (server: down)" in strategy_row(log).reason


def test_llm_router_with_simulated_router_picks_a_route() -> None:
    router = LLMRouter(SimulatedModel.profile("sim/tiny"), [Route("easy", SMALL), Route("hard", LARGE)], default=MEDIUM)
    served = {router(Request.of(f"q{i}", item_id=f"i{i}")).served_model for i in range(12)}
    assert served == {"sim/small", "sim/large"}


def test_failed_route_raises_strategy_error_naming_the_route() -> None:
    def down(prompt: str) -> str:
        raise ServerError("down", status=502)

    router = RuleRouter([(Keywords("x"), FunctionModel(down, name="bad"))], default=SMALL)
    with CallLog() as log, pytest.raises(StrategyError, match="bad failed") as info:
        router("x marks the spot")
    assert info.value.retryable and info.value.status == 502
    assert strategy_row(log).status == "error"


def test_threshold_router_and_calibration() -> None:
    router = ThresholdRouter(lambda r: r.metadata["guess"], strong=echo("S"), weak=echo("W"), threshold=0.5)
    assert router(Request.of("q", metadata={"guess": 0.5})).text == "S"
    assert router(Request.of("q", metadata={"guess": 0.49})).text == "W"
    data = [Request.of(f"q{i}", metadata={"guess": d}) for i, d in enumerate(np.linspace(0, 1, 20))]
    calibrated = router.calibrated(data, strong_share=0.25)
    assert sum(calibrated.score(r) >= calibrated.threshold for r in data) == 5 and router.threshold == 0.5
    assert router.calibrated(data, strong_share=0.0).threshold > 1.0
    with pytest.raises(ValueError, match="strong_share"):
        router.calibrated(data, strong_share=1.5)
    with pytest.raises(ValueError, match="finite"):
        ThresholdRouter(len, strong=SMALL, weak=SMALL, threshold=float("nan"))


def test_threshold_for_share_is_vectorized_and_hits_the_share() -> None:
    rng = np.random.default_rng(0)
    scores = rng.random(1000)
    shares = np.array([0.0, 0.1, 0.3, 0.5, 1.0])
    thresholds, achieved = threshold_for_share(scores, shares)
    realised = (scores[None, :] >= thresholds[:, None]).mean(axis=1)
    assert np.allclose(realised, shares) and np.allclose(achieved, shares)
    assert isinstance(threshold_for_share(scores, 0.3).threshold, float)


def test_calibrated_router_reports_the_share_it_achieved_and_warns_on_ties() -> None:
    router = ThresholdRouter(lambda r: 0.5, strong=LARGE, weak=SMALL)
    with pytest.warns(UserWarning, match="unreachable"):
        calibrated = router.calibrated([f"q{i}" for i in range(10)], strong_share=0.3)
    assert calibrated.calibration.share == 0.0 and router.calibration is None
    with pytest.raises(ValueError, match="no scores"):
        threshold_for_share([], 0.5)


def test_router_repr_is_a_tree() -> None:
    router = RuleRouter([(Keywords("prove"), LARGE)], default=SMALL, name="r")
    assert repr(router) == (
        "RuleRouter(name='r')\n├── Keywords('prove') → SimulatedModel('sim/large')\n"
        "└── default → SimulatedModel('sim/small')"
    )
