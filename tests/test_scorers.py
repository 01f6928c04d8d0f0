"""Scorers: each on right and wrong answers, NaN bookkeeping, as_scorer, the LLM judge, default scorers."""

from __future__ import annotations

import asyncio
import functools
import math
import re

import pytest
from _ask import ask
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestra_lab import CallLog, FunctionModel, SimulatedModel
from orchestra_lab._judging import parse_verdict, render_rubric
from orchestra_lab.errors import BudgetExceededError, ServerError
from orchestra_lab.experiments.dataset import Item, load_dataset
from orchestra_lab.experiments.scorers import (
    SCORERS,
    Contains,
    ExactMatch,
    FunctionScorer,
    JsonFields,
    LLMJudge,
    MultipleChoice,
    NormalizedExactMatch,
    Numeric,
    RegexMatch,
    Scorer,
    TokenF1,
    as_scorer,
    default_scorer_for,
    names,
)
from orchestra_lab.experiments.scorers import judge as judge_module


def item(expected: object = None, **kwargs: object) -> Item:
    return Item("q1", "question?", expected, **kwargs)  # type: ignore[arg-type]


def scores(scorer: Scorer, expected: object, outputs: list[str]) -> list[float]:
    return [scorer.score(output, item(expected)) for output in outputs]  # type: ignore[attr-defined]


def test_exact_only_forgives_surrounding_whitespace():
    assert scores(ExactMatch(), "Paris", ["Paris", " Paris\n", "paris", "Paris."]) == [1, 1, 0, 0]
    assert scores(ExactMatch(), 42.0, ["42"]) == [1.0]
    assert scores(ExactMatch(), ["Paris", "Paree"], ["Paree"]) == [1.0]


def test_normalized_exact_ignores_case_punctuation_whitespace_and_width():
    s = NormalizedExactMatch()
    assert scores(s, "order_status", ["Order status.", "ORDER-STATUS", " order   status ", "order"]) == [1, 1, 1, 0]
    assert scores(s, "ABC 123", ["ＡＢＣ　１２３"]) == [1.0]  # full-width forms fold under NFKC
    assert scores(s, "रिफ़ंड", ["रिफ़ंड।"]) == [1.0]  # the danda is punctuation; the nukta is kept
    assert scores(s, "रिफ़ंड", ["रिफंड"]) == [0.0]


@pytest.mark.parametrize(
    ("output", "expected", "right"),
    [
        ("42", 42, True),
        ("42.0", 42, True),
        ("The total is ₹1,234.50", 1234.5, True),
        ("Rs.1,234", 1234, True),
        ("It comes to 1,23,456 rupees.", 123456, True),
        ("3/4", 0.75, True),
        ("0.75", "3/4", True),
        ("12.5%", 12.5, True),
        ("12.5%", 0.125, True),
        ("-7 degrees", -7, True),
        ("from 3-5 it is 5", 5, True),
        ("1e3", 1000, True),
        ("Answer: 17 (after 3 steps)", 17, True),
        ("17 + 25 = 42", 42, True),
        ("#### 9", 9, True),
        ("The answer is 41.", 42, False),
        ("I don't know", 42, False),
        ("0.7", 0.75, False),
        ("1/0", 1, False),
    ],
)
def test_numeric(output, expected, right):
    assert Numeric().score(output, item(expected)) == float(right)


def test_numeric_tolerance():
    assert Numeric(abs_tol=0.01).score("0.333", item(1 / 3)) == 1.0
    assert Numeric(rel_tol=0.01).score("101", item(100)) == 1.0
    assert Numeric().score("0.333", item(1 / 3)) == 0.0


@pytest.mark.parametrize(
    ("output", "letter"),
    [
        ("(B)", "B"),
        ("B. Paris", "B"),
        ("B", "B"),
        ("Answer: b", "B"),
        ("the answer is B because ...", "B"),
        ("The correct answer is option (C).", "C"),
        ("I'd go with D", "D"),
        ("the answer is a", "A"),
        ("the answer is a bit unclear, maybe C", "C"),
        ("B or C, hard to say", None),
        ("no idea", None),
    ],
)
def test_multiple_choice_letter_extraction(output, letter):
    s = MultipleChoice()
    for candidate in "ABCDE":
        assert s.score(output, item(candidate)) == float(candidate == letter), candidate


def test_multiple_choice_expected_from_choices_and_unscorable():
    s = MultipleChoice()
    assert s.score("(C)", item("Delhi", metadata={"choices": ["Mumbai", "Pune", "Delhi"]})) == 1.0
    assert math.isnan(s.score("(C)", item("Paris")))
    assert "not one of the letters" in s.errors["q1"]


def test_contains_matches_whole_words_after_normalizing():
    assert scores(Contains(), "refund", ["I think: REFUND.", "refunds please", "no"]) == [1, 0, 0]
    assert scores(Contains(normalize=False), "refund", ["refunds please", "REFUND"]) == [1, 0]


def test_regex_fixed_or_from_expected():
    assert scores(RegexMatch(r"^\d{3}$"), None, ["123", "1234"]) == [1, 0]
    assert scores(RegexMatch(r"paris", flags=re.IGNORECASE), None, ["PARIS"]) == [1.0]
    assert scores(RegexMatch(), r"colou?r", ["color", "colr"]) == [1, 0]
    s = RegexMatch()
    assert math.isnan(s.score("x", item("(unclosed")))
    assert "not a valid regex" in (s.last_error or "")
    with pytest.raises(re.error):
        RegexMatch("(")


def test_json_fields_parses_fenced_or_embedded_objects():
    expected = {"name": "Meera Iyer", "date": "2025-03-05", "amount": 1900, "city": "Pune"}
    s = JsonFields()
    assert (
        s.score(
            '```json\n{"name": "meera iyer", "date": "2025-03-05", "amount": 1900, "city": "Pune"}\n```', item(expected)
        )
        == 1.0
    )
    assert (
        s.score(
            'Sure! {"name": "Meera Iyer", "date": "2025-03-05", "amount": "₹1,900", "city": "Delhi"} Hope it helps',
            item(expected),
        )
        == 0.75
    )
    assert s.score('{"name": "Meera Iyer"}', item(expected)) == 0.25
    assert s.score("no json here {not json}", item(expected)) == 0.0
    assert JsonFields(fields=["city"]).score('{"city": "PUNE."}', item(expected)) == 1.0


def test_json_fields_nulls_nesting_and_string_expected():
    s = JsonFields()
    assert s.score('{"amount": null, "name": "A"}', item({"amount": None, "name": "A"})) == 1.0
    assert s.score('{"name": "A"}', item({"amount": None, "name": "A"})) == 1.0
    assert s.score('{"amount": 5, "name": "A"}', item({"amount": None, "name": "A"})) == 0.5
    assert s.score('{"a": {"b": [1, "X"]}}', item({"a": {"b": [1, "x"]}})) == 1.0
    assert s.score('{"a": {"b": [1]}}', item({"a": {"b": [1, "x"]}})) == 0.0
    assert s.score('{"ok": true}', item('{"ok": true}')) == 1.0
    assert math.isnan(s.score("{}", item("plain text")))


def test_token_f1():
    s = TokenF1()
    assert s.score("The Eiffel Tower", item("eiffel tower")) == 1.0
    assert s.score("in Paris, France", item("Paris")) == pytest.approx(0.5)
    assert s.score("London", item("Paris")) == 0.0
    assert s.score("the", item("a")) == 1.0  # both empty after dropping articles
    assert s.score("Paris", item(["Lyon", "Paris"])) == 1.0


def test_unscorable_items_give_nan_with_the_reason_kept_and_logged(caplog):
    s = ExactMatch()
    with caplog.at_level("WARNING"):
        assert math.isnan(s.score("x", item(None)))
        assert math.isnan(s.score(None, Item("q2", "?", "x")))  # type: ignore[arg-type]
    assert s.errors == {"q1": "the item has no expected value", "q2": "no output (the call failed)"}
    assert s.last_error == "no output (the call failed)" and "q1 is unscorable" in caplog.text
    assert math.isnan(Numeric().score("5", item("five")))


def test_scorers_accept_a_response_as_output():
    response = FunctionModel(lambda prompt: "42", name="f")("q")
    assert Numeric().score(response, item(42)) == 1.0  # type: ignore[arg-type]


def test_reprs_are_readable():
    assert repr(Numeric(abs_tol=0.5)) == "Numeric(abs_tol=0.5, rel_tol=1e-06, name='numeric')"
    assert repr(JsonFields(["a"])) == "JsonFields(fields=('a',), name='json_fields')"
    judge_repr = repr(LLMJudge(FunctionModel(str.upper, name="g")))
    assert judge_repr.startswith("LLMJudge(model=FunctionModel(") and "...'" in judge_repr and len(judge_repr) < 250


# -- as_scorer and user callables ------------------------------------------------------------------------------------


def test_as_scorer_names_instances_and_callables():
    assert all(isinstance(as_scorer(name), Scorer) and as_scorer(name).name == name for name in SCORERS)
    numeric = Numeric()
    assert as_scorer(numeric) is numeric
    with pytest.raises(ValueError, match="unknown scorer 'jugde'"):
        as_scorer("jugde")
    with pytest.raises(ValueError, match="LLMJudge"):
        as_scorer("judge")
    with pytest.raises(TypeError):
        as_scorer(3)  # type: ignore[arg-type]


def test_callables_sync_async_bool_float_and_item_parameter():
    def starts_right(output, expected):
        return output.startswith(str(expected))

    async def half(output, expected):
        await asyncio.sleep(0)
        return 0.5

    s = as_scorer(starts_right)
    assert s.name == "starts_right" and s.score("42 apples", item(42)) == 1.0 and s.score("4", item(42)) == 0.0
    assert as_scorer(half).score("x", item()) == 0.5
    assert as_scorer(lambda output, item: item.id == "q1").score("x", item()) == 1.0
    unsure = FunctionScorer(lambda output, expected: None, name="unsure")
    assert math.isnan(unsure.score("x", item())) and unsure.errors["q1"] == "unsure returned None"
    with pytest.raises(ValueError, match="return a bool or a number in"):
        as_scorer(lambda output, expected: 3).score("x", item())
    with pytest.raises(ValueError, match="return a bool or a number in"):
        as_scorer(lambda output, expected: "yes").score("x", item())


def test_ascore_runs_concurrently_in_a_loop():
    async def main():
        return await asyncio.gather(*(Numeric().ascore(str(n), Item(str(n), "?", n)) for n in range(5)))

    assert asyncio.run(main()) == [1.0] * 5


# -- the judge -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verdict", "score"),
    [
        ("Good.\nScore: 4/5", 0.8),
        ("**Score:** 8/10", 0.8),
        ("0.8", 0.8),
        ("Rating: 3", 0.6),
        ("I give it 2 out of 4", 0.5),
        ("score = 90%", 0.9),
        ("Step 1 fine, step 2 wrong. Score: 1/5", 0.2),
    ],
)
def test_parse_verdict(verdict, score):
    assert parse_verdict(verdict)[0] == pytest.approx(score)


@pytest.mark.parametrize(
    ("verdict", "problem"),
    [("No idea.", "no score"), ("Score: 6/5", "out of range"), ("Score: 9", "not between 0 and 5"), ("150%", "range")],
)
def test_parse_verdict_failures(verdict, problem):
    value, reason = parse_verdict(verdict)
    assert value is None and problem in (reason or "")


def test_render_rubric_fills_only_known_placeholders():
    rubric = 'Q={input} A={output} R={expected} keep {"json": 1}'
    assert render_rubric(rubric, input="i", output="o", expected={"a": 1}) == "Q=i A=o R={'a': 1} keep {\"json\": 1}"


def test_judge_scores_logs_its_call_and_keeps_the_verdict():
    prompts = []

    def grader(prompt):
        prompts.append(prompt)
        return "Matches the reference.\nScore: 4/5"

    judge = LLMJudge(FunctionModel(grader, name="grader"))
    with CallLog() as log:
        score = judge.score("Paris", Item("q7", "Capital of France?", "Paris"))
    assert score == pytest.approx(0.8) and judge.verdicts == {"q7": "Matches the reference.\nScore: 4/5"}
    assert "Capital of France?" in prompts[0] and "Paris" in prompts[0]
    rows = log.to_frame()
    assert len(rows) == 1
    row = rows.iloc[0]
    assert (row["name"], row["item_id"], row["strategy"], row["status"]) == ("grader", "q7", "judge", "ok")
    assert row["response_text"] == "Matches the reference.\nScore: 4/5"


def test_judge_malformed_verdict_is_nan_with_reason_and_raw_text():
    judge = LLMJudge(FunctionModel(lambda prompt: "Looks fine to me!", name="grader"), name="strict_judge")
    assert math.isnan(judge.score("Paris", item("Paris")))
    assert judge.last_verdict == "Looks fine to me!" and judge.verdicts["q1"] == "Looks fine to me!"
    assert "no score in the verdict" in judge.errors["q1"] and "Looks fine to me!" in judge.errors["q1"]


def test_judge_failures_and_custom_rubric():
    def broken(prompt):
        raise ServerError("boom", status=500)

    judge = LLMJudge(FunctionModel(broken, name="down"), "Grade {output}; 0 or 1 only.", scale=None)
    assert math.isnan(judge.score("x", item("x"))) and "the judge call failed: boom" in judge.errors["q1"]

    def over_budget(prompt):
        raise BudgetExceededError("budget spent")

    with pytest.raises(BudgetExceededError):
        LLMJudge(FunctionModel(over_budget, name="b")).score("x", item("x"))
    with pytest.raises(ValueError, match="output"):
        LLMJudge(FunctionModel(str.upper, name="g"), rubric="no placeholder")
    assert math.isnan(judge.score(None, item("x")))  # type: ignore[arg-type]


def test_a_simulated_judge_gives_the_default_scorers_verdict_at_its_skill_rate():
    easy = Item("e", "2+2?", 4, difficulty=0.05)
    judge = LLMJudge(SimulatedModel.profile("sim/frontier"))
    assert judge.score("The answer is 4", easy) == 1.0 and judge.last_verdict == "Score: 5/5"
    assert judge.score("5", easy) == 0.0 and judge.last_verdict == "Score: 0/5"
    hard = [Item(str(n), f"{n}+1?", n + 1, difficulty=0.3) for n in range(30)]
    tiny = LLMJudge(SimulatedModel.profile("sim/tiny"))
    assert 0 < sum(tiny.score(str(i.expected), i) != 1.0 for i in hard) < 30  # a weak judge errs sometimes
    assert math.isnan(tiny.score("x", Item("n", "?"))) and "could not read" in tiny.errors["n"]  # no reference: no hint


def test_the_judge_caps_its_verdict_tokens():
    asked = []

    def grader(request):
        asked.append(request.max_tokens)
        return "Score: 5/5"

    LLMJudge(FunctionModel(grader, name="g")).score("4", item(4))
    LLMJudge(FunctionModel(grader, name="g"), max_tokens=40).score("4", item(4))
    LLMJudge(FunctionModel(grader, name="g"), max_tokens=None).score("4", item(4))
    assert asked == [256, 40, None]
    with pytest.raises(ValueError, match="max_tokens"):
        LLMJudge(FunctionModel(grader, name="g"), max_tokens=0)


def test_an_async_judge_leaves_the_callers_loop_unpatched():
    judge = LLMJudge(SimulatedModel.profile("sim/frontier"))

    async def judge_three() -> tuple[list[float], bool]:
        results = [await judge.ascore(str(n + 1), Item(f"q{n}", f"{n}+1?", n + 1, difficulty=0.05)) for n in range(3)]
        return results, getattr(asyncio.get_running_loop(), "_nest_patched", False)

    results, patched = asyncio.run(judge_three())
    assert results == [1.0, 1.0, 1.0] and not patched  # nest_asyncio2 patches a loop only when run_sync nests in it


def test_a_simulated_judge_builds_its_reference_scorer_once_per_answer_kind(monkeypatch):
    built = []
    monkeypatch.setattr(names, "as_scorer", lambda name: built.append(name) or SCORERS[name]())
    monkeypatch.setattr(judge_module, "scorer_for_kind", functools.cache(names.scorer_for_kind.__wrapped__))
    judge = LLMJudge(SimulatedModel.profile("sim/frontier"))
    for n in range(3):
        judge.score(str(n + 1), Item(f"q{n}", f"{n}+1?", n + 1))
    judge.score("Paris", Item("c", "Capital of France?", "Paris"))
    assert built == ["numeric", "normalized_exact"]


# -- default scorers -------------------------------------------------------------------------------------------------


def test_default_scorer_for_shipped_and_ad_hoc_datasets():
    assert [default_scorer_for(load_dataset(n)).name for n in ("arithmetic", "intents", "extraction")] == [
        "numeric",
        "label",
        "json_fields",
    ]
    assert isinstance(default_scorer_for([Item("a", "?", 3)]), Numeric)
    assert isinstance(default_scorer_for([Item("a", "?", {"k": 1})]), JsonFields)
    assert default_scorer_for([Item("a", "?", "x", metadata={"choices": ["x", "y"]})]).name == "label"
    assert default_scorer_for([Item("a", "?", "text")]).name == "normalized_exact"


@pytest.mark.parametrize("name", ["arithmetic", "intents", "extraction"])
def test_default_scorer_agrees_with_the_simulated_models_truth(name):
    """A simulated answer scores 1 exactly when the model drew it right (JSON answers lose one field when wrong)."""
    model = SimulatedModel.profile("sim/medium")
    ds = load_dataset(name).sample(40, seed=0)
    scorer = default_scorer_for(ds)
    for it in ds:
        response = ask(model, it)
        assert (scorer.score(response.text, it) == 1.0) == response.meta["simulated_correct"], (it.id, response.text)
        if name == "extraction" and not response.meta["simulated_correct"]:
            assert scorer.score(response.text, it) == 0.75


def test_simulated_wrong_answers_score_zero_on_arithmetic():
    model = SimulatedModel.profile("sim/tiny")
    ds = load_dataset("arithmetic").filter(lambda i: i.metadata["difficulty_level"] == 5)[:20]
    scorer = Numeric()
    for it in ds:
        response = ask(model, it)
        assert scorer.score(response.text, it) == float(response.meta["simulated_correct"])


# -- fuzzing: any output text gives a score, never an exception ------------------------------------------------------

TEXT_SCORERS = [ExactMatch(), NormalizedExactMatch(), Contains(), TokenF1(), Numeric(), MultipleChoice(), JsonFields()]
EXPECTED = {"Numeric": 42, "MultipleChoice": "B", "JsonFields": {"name": "A", "amount": 5}}


@settings(max_examples=150, deadline=None)
@given(output=st.text(max_size=60) | st.text(alphabet='0123456789,./%-eE{}[]": ABab()', max_size=60))
def test_fuzz_any_output_scores_between_zero_and_one(output):
    for scorer in TEXT_SCORERS:
        value = scorer.score(output, item(EXPECTED.get(type(scorer).__name__, "refund")))
        assert 0.0 <= value <= 1.0, (scorer, output)


# -- one normalizer: numbers as numbers, text as text -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("output", "expected", "right"),
    [
        ("4.2", 42, False),
        ("-5", 5, False),
        ("1/2", 12, False),
        ("42.0", 42, True),
        ("42", "42.0", True),
        ("1,00,000", 100000, True),
        ("₹1,00,000", "100000", True),
        ("Rs. 1,234.50", 1234.5, True),
        ("$3/4", 0.75, True),
        ("12.5%", "12.5 %", True),
        ("42 apples", 42, True),
        ("-₹5", -5, True),
        ("4 2", 42, False),
    ],
)
def test_normalized_exact_and_contains_compare_numbers_as_numbers(output, expected, right):
    assert NormalizedExactMatch().score(output, item(expected)) == float(right)
    assert Contains().score(f"So: {output}", item(expected)) == float(right)


def test_strategies_and_scorers_share_the_normalizer():
    from orchestra_lab._answer_key import AnswerKey, _matches  # how simulated judges tell a right answer
    from orchestra_lab.strategies import normalize_answer

    for answer, expected in [("42.0", 42), ("₹1,00,000", 100000), ("Order status.", "order_status"), ("(b)", "B")]:
        assert _matches(answer, AnswerKey("q", expected)) is True
        assert NormalizedExactMatch().score(answer, item(expected)) == 1.0
    assert normalize_answer("₹1,00,000") == normalize_answer("100000") != normalize_answer("10000")
    assert _matches("4.2", AnswerKey("q", 42)) is False


_GROUPING = st.sampled_from(["plain", "western", "indian"])


def _written(value: int, grouping: str) -> str:
    if grouping == "western":
        return f"{value:,}"
    if grouping == "indian" and value >= 1000:
        head, tail = str(value)[:-3], str(value)[-3:]
        pairs = [head[max(0, i - 2) : i] for i in range(len(head), 0, -2)][::-1]
        return ",".join(pairs) + "," + tail
    return str(value)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(-(10**9), 10**9),
    _GROUPING,
    st.sampled_from(["", "₹", "Rs ", "$"]),
    st.sampled_from(["", ".0", ".00"]),
)
def test_a_number_written_any_way_matches_its_value_and_no_other(value, grouping, currency, decimals):
    sign, magnitude = ("-" if value < 0 else ""), abs(value)
    written = f"{sign}{currency}{_written(magnitude, grouping)}{decimals}"
    assert NormalizedExactMatch().score(written, item(value)) == 1.0
    assert NormalizedExactMatch().score(written, item(value + 1)) == 0.0
    assert Numeric().score(f"The answer is {written}.", item(value)) == 1.0
    if value:
        assert NormalizedExactMatch().score(written, item(-value)) == 0.0
        assert NormalizedExactMatch().score(written, item(value * 10)) == 0.0


@settings(max_examples=200, deadline=None)
@given(
    st.text(st.characters(codec="ascii", categories=["L", "Zs"], include_characters=".,;:!?'-_"), max_size=30).filter(
        lambda text: any(c.isalpha() for c in text)
    )
)
def test_text_matches_itself_recased_and_repunctuated(text):
    expected = item(text)
    assert NormalizedExactMatch().score(f"  {text.upper()}. ", expected) == NormalizedExactMatch().score(text, expected)


# -- unscorable items: one warning per scorer and run --------------------------------------------------------------
def test_an_experiment_logs_one_warning_per_scorer_with_the_count_and_examples(tmp_path, caplog):
    from orchestra_lab.experiments import Dataset, Experiment

    dataset = Dataset([Item(f"q{n}", f"question {n}?") for n in range(50)], name="no-answers")  # nothing expected
    with caplog.at_level("WARNING", logger="orchestra_lab.experiments.scorers"):
        Experiment(
            dataset, [FunctionModel(lambda p: "42", name="m")], scorer="exact", run_dir=tmp_path, progress=False
        ).run()
    warned = [r.getMessage() for r in caplog.records if r.name == "orchestra_lab.experiments.scorers"]
    assert len(warned) == 1
    assert "scorer exact: 50 item(s) unscorable" in warned[0] and "item q0: the item has no expected value" in warned[0]
    assert warned[0].endswith("and 47 more")
