"""The JSON the API reads and answers, as pydantic models: FastAPI turns them into the OpenAPI
description (/docs, /openapi.json), and the answers are built from them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Fields",
    "FormFields",
    "Batch",
    "PredictRequest",
    "ExplainedWord",
    "TextRange",
    "Explanation",
    "Prediction",
    "PredictAnswer",
    "BatchAnswer",
    "DeploymentInfo",
    "Health",
    "Live",
    "ErrorBody",
    "ERRORS",
]

Text = Annotated[str, Field(min_length=1, description="the text to classify")]
_EXPLAIN = (
    "true: add an explanation to each prediction (which words pushed it, with their offsets in "
    "the text). Off by default; at most CRITIC_MAX_EXPLAIN texts a request. Linear model: exact, "
    "about a millisecond a text; neural models: Integrated Gradients, 16-128 forward and backward "
    "passes a text (a Kim CNN ~0.1-0.25 s on 2 cores, MiniLM seconds)"
)
_EXPLAIN_CLASS = "the class to explain (default: the predicted one); implies explain"


class Fields(BaseModel):
    """One text: the deployment's input field (GET /v1/deployments/NAME: `input_name`, e.g.
    review) → the text, and the explanation options."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"minProperties": 1})
    __pydantic_extra__: dict[str, Text]
    explain: bool = Field(default=False, description=_EXPLAIN)
    explain_class: str | None = Field(default=None, description=_EXPLAIN_CLASS)


class FormFields(BaseModel):
    """A form: the input field → the text (repeat it for a batch), and the options."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"minProperties": 1})
    __pydantic_extra__: dict[str, Text]
    explain: Literal["1", "0", "true", "false", "on", "off", "yes", "no"] = Field(
        default="0", description=_EXPLAIN.replace("true:", "1:")
    )
    explain_class: str | None = Field(default=None, description=_EXPLAIN_CLASS)


class Batch(BaseModel):
    """Several texts in one request: at most CRITIC_MAX_BATCH rows."""

    rows: list[dict[str, Text]] = Field(
        min_length=1, description="one object per text: the input field → the text"
    )
    explain: bool = Field(default=False, description=_EXPLAIN)
    explain_class: str | None = Field(default=None, description=_EXPLAIN_CLASS)


PredictRequest = Fields | Batch


class ExplainedWord(BaseModel):
    start: int = Field(description="where the word starts in the text sent (Unicode code points)")
    end: int = Field(description="where it ends (exclusive)")
    word: str = Field(description="the text's own characters there")
    score: float = Field(description="how far it pushes toward the class explained (< 0: away)")


class TextRange(BaseModel):
    start: int
    end: int


class Explanation(BaseModel):
    target: str = Field(description="the class explained")
    method: Literal["linear", "integrated-gradients", "occlusion"]
    explains: Literal["logit", "log-odds"] = Field(
        description="the quantity the scores add up to: value = base + Σ scores"
    )
    value: float = Field(description="that quantity for this text")
    base: float = Field(description="its value without the words (the bias, or blank words)")
    completeness_error: float | None = Field(
        description="|base + Σ scores − value| / max(|value − base|, 0.1); 0 for the linear model"
    )
    steps: int | None = Field(description="Integrated Gradients' steps")
    spans: list[ExplainedWord] = Field(description="every word the model read, in text order")
    unseen: list[TextRange] = Field(
        description="text the model did not read (beyond its sequence length)"
    )


class Prediction(BaseModel):
    label: str = Field(description="the most probable class")
    probabilities: dict[str, float] = Field(
        description="every class → its probability (they add up to 1)"
    )
    explanation: Explanation | None = Field(
        default=None, description="only when the request asks for it (explain)"
    )


class _Who(BaseModel):
    deployment: str
    experiment: str
    checkpoint: str = Field(description="best or last")


# pydantic orders fields from the last base to the first: the answer reads label, probabilities, then who
class PredictAnswer(_Who, Prediction):
    """One text's answer."""


class _Predictions(BaseModel):
    predictions: list[Prediction]


class BatchAnswer(_Who, _Predictions):
    """A batch's answers, in the order of its rows."""


class DeploymentInfo(BaseModel):
    name: str
    input_name: str = Field(description="the field that carries the text, in a form or a JSON body")
    classes: list[str]
    experiment: str
    checkpoint: str
    epoch: int | None
    model: str | None = Field(description="the preset the model came from, if any")
    dataset: str | None
    predict_path: str
    runtime: str = Field(
        default="torch",
        description="what runs the model: torch or torch-bf16 (PyTorch), onnx or onnx-int8 "
        "(ONNX Runtime)",
    )


class Health(BaseModel):
    status: str = Field(description="ok (200), or unavailable (503)")
    version: str
    deployments: int | None = Field(
        default=None, description="how many deployments are enabled (unknown when unavailable)"
    )
    reasons: list[str] = Field(
        default_factory=list, description="why this replica cannot answer, when unavailable"
    )


class Live(BaseModel):
    status: str
    version: str


class ErrorBody(BaseModel):
    error: str = Field(description="a stable code, e.g. token_invalid")
    message: str = Field(description="what went wrong and what to do")


def _errors(*pairs: tuple[int, str]) -> dict:
    return {status: {"model": ErrorBody, "description": what} for status, what in pairs}


ERRORS = _errors(
    (401, "no token, a malformed one, or one that is not valid"),
    (403, "the token of another deployment"),
    (404, "no such deployment, or it is disabled"),
    (413, "the body, the batch or the JSON nesting is over the limit"),
    (415, "a content type other than form or JSON, or a compressed body"),
    (422, "the body does not hold a non-empty text (or is not UTF-8, not JSON, not a form)"),
)
