"""The JSON the API reads and answers, as pydantic models: FastAPI turns them into the OpenAPI
description (/docs, /openapi.json), and the answers are built from them."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

__all__ = [
    "Fields",
    "Batch",
    "PredictRequest",
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
# the text's field name is each deployment's own (GET /v1/deployments/NAME: `input_name`, e.g. review)
Fields = Annotated[
    dict[str, Text], Field(min_length=1, description="the deployment's input field → the text")
]


class Batch(BaseModel):
    """Several texts in one request: at most CRITIC_MAX_BATCH rows."""

    rows: list[Fields] = Field(min_length=1)


PredictRequest = Fields | Batch


class Prediction(BaseModel):
    label: str = Field(description="the most probable class")
    probabilities: dict[str, float] = Field(
        description="every class → its probability (they add up to 1)"
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
