"""`"explain": true` (JSON) or `explain=1` (form) adds each prediction's explanation; without it the
answer is what it always was, and with it the answer is otherwise identical."""

from __future__ import annotations

import pytest

from critic.experiments.store import get_experiment
from critic.predictor import Predictor
from critic.serve.schemas import BatchAnswer, PredictAnswer
from tests.serve.conftest import PREDICT, bearer, serve

TEXTS = ["a wonderful film, I loved it", "dull <b>and</b> boring, DULL!", "the plot 😍 was okay"]


def _without(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k != "explanation"}


def test_explain_adds_the_spans_and_changes_nothing_else(workspace, token):
    with serve(workspace) as client:
        for text in TEXTS:
            plain = client.post(PREDICT, json={"text": text}, headers=bearer(token))
            asked = client.post(
                PREDICT, json={"text": text, "explain": True}, headers=bearer(token)
            )
            off = client.post(PREDICT, json={"text": text, "explain": False}, headers=bearer(token))
            form = client.post(PREDICT, data={"text": text, "explain": "1"}, headers=bearer(token))
            assert plain.status_code == asked.status_code == form.status_code == 200
            assert "explanation" not in plain.json() and off.json() == plain.json()
            assert _without(asked.json()) == plain.json() == _without(form.json())
            assert list(asked.json()) == [
                "label",
                "probabilities",
                "explanation",
                *list(plain.json())[2:],
            ]
            # the answer is what the OpenAPI schema says, field for field
            assert PredictAnswer.model_validate(asked.json()).model_dump() == asked.json()
            explanation = asked.json()["explanation"]
            assert explanation == form.json()["explanation"]
            assert explanation["target"] == plain.json()["label"]
            assert explanation["method"] == "linear" and explanation["explains"] == "logit"
            spans = explanation["spans"]
            assert [text[s["start"] : s["end"]] for s in spans] == [s["word"] for s in spans]
            total = explanation["base"] + sum(s["score"] for s in spans)
            assert total == pytest.approx(explanation["value"], abs=1e-9)
        # the library's own explanation
        predictor = Predictor.from_checkpoint(get_experiment("lin").checkpoint("best"))
        (expected,) = predictor.explain([TEXTS[1]])
        answer = client.post(
            PREDICT, json={"text": TEXTS[1], "explain": True}, headers=bearer(token)
        )
        assert answer.json()["explanation"] == expected.as_dict()


def test_a_batch_and_a_class_to_explain(workspace, token):
    rows = [{"text": t} for t in TEXTS]
    with serve(workspace) as client:
        plain = client.post(PREDICT, json={"rows": rows}, headers=bearer(token)).json()
        asked = client.post(
            PREDICT, json={"rows": rows, "explain_class": "positive"}, headers=bearer(token)
        ).json()
        assert [_without(p) for p in asked["predictions"]] == plain["predictions"]
        assert BatchAnswer.model_validate(asked).model_dump() == asked
        assert [p["explanation"]["target"] for p in asked["predictions"]] == ["positive"] * 3
        form = client.post(
            PREDICT,
            data={"text": TEXTS[:2], "explain": "true", "explain_class": "negative"},
            headers=bearer(token),
        ).json()
        assert [p["explanation"]["target"] for p in form["predictions"]] == ["negative"] * 2
        # negative's scores are positive's, turned around (two classes: the log-odds)
        pos, neg = asked["predictions"][0]["explanation"], form["predictions"][0]["explanation"]
        assert [s["score"] for s in neg["spans"]] == pytest.approx(
            [-s["score"] for s in pos["spans"]]
        )


@pytest.mark.parametrize(
    ("body", "form", "status", "code"),
    [
        ({"text": "a", "explain": "yes"}, None, 422, "invalid_explain"),
        ({"text": "a", "explain": 1}, None, 422, "invalid_explain"),
        (None, {"text": "a", "explain": "maybe"}, 422, "invalid_explain"),
        ({"text": "a", "explain_class": "happy"}, None, 422, "unknown_class"),
        ({"text": "a", "explain_class": 3}, None, 422, "invalid_explain_class"),
        (
            {"text": "a", "explain": False, "explain_class": "positive"},
            None,
            422,
            "invalid_explain",
        ),
        ({"rows": [{"text": "a"}] * 3, "explain": True}, None, 413, "explain_too_large"),
        (None, {"text": ["a", "b", "c"], "explain": "1"}, 413, "explain_too_large"),
    ],
)
def test_bad_explain_options_are_refused_in_words(workspace, token, body, form, status, code):
    with serve(workspace, max_explain=2) as client:
        answer = client.post(PREDICT, json=body, data=form, headers=bearer(token))
        assert answer.status_code == status and answer.json()["error"] == code
        assert "explain" in answer.json()["message"]
        # the same batch without explain is answered
        if status == 413:
            plain = {k: v for k, v in (body or form).items() if k != "explain"}
            ok = client.post(
                PREDICT,
                json=plain if body else None,
                data=None if body else plain,
                headers=bearer(token),
            )
            assert ok.status_code == 200


def test_the_openapi_schema_describes_explain(workspace, token):
    with serve(workspace) as client:
        schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    assert components["Fields"]["properties"]["explain"]["type"] == "boolean"
    assert "CRITIC_MAX_EXPLAIN" in components["Fields"]["properties"]["explain"]["description"]
    assert components["Batch"]["properties"]["explain_class"]
    body = schema["paths"]["/v1/deployments/{name}/predict"]["post"]["requestBody"]["content"]
    assert "explain" in body["multipart/form-data"]["schema"]["properties"]
    assert {"spans", "unseen", "completeness_error"} <= set(components["Explanation"]["properties"])
    assert components["ExplainedWord"]["required"] == ["start", "end", "word", "score"]
