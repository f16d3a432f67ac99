"""Drill: hand-made hostile request bodies against a served model (deep nesting, huge numbers,
invalid UTF-8, NUL bytes, duplicate keys, wrong content types with valid bodies, lying lengths,
compressed bodies, forms of many fields). Each is answered 200 or 4xx with JSON
{"error", "message"}; none is ≥ 500. The table pins each answer; the deep and the huge cases also
travel through a real uvicorn server, over a socket."""

from __future__ import annotations

import gzip
import json
import socket

import httpx
import pytest
from fastapi.testclient import TestClient

from critic.data import import_dataset
from critic.deploy import create_deployment
from critic.experiments.configure import build_config
from critic.experiments.run import train_experiment
from critic.serve import ServeSettings, create_app
from critic.workspace import Workspace
from tests.conftest import LiveServer, sentiment_rows

pytestmark = pytest.mark.drill("hostile HTTP bodies")

URL = "/v1/deployments/one/predict"
SETTINGS = ServeSettings(max_body_bytes=1_000_000, max_batch=3, refresh_seconds=60)
JSON, FORM, MULTIPART = (
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=B",
)
DEEP = 50_000  # levels: Python's decoder raises RecursionError near 1,000
DIGITS = 5_000  # Python refuses to read an integer of more than 4,300 digits


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """A linear model deployed as `one` in a private workspace: (workspace, token)."""
    home = tmp_path_factory.mktemp("hostile")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CRITIC_HOME", str(home / "home"))
        source = home / "reviews.csv"
        source.write_text(
            "review,sentiment\n" + "".join(f'"{t}",{label}\n' for t, label in sentiment_rows(60))
        )
        ref = import_dataset("reviews", source, progress=False).version.ref
        train_experiment(build_config(ref, preset="linear"), name="lin")
        yield Workspace.from_env(), create_deployment("lin", name="one").token


@pytest.fixture(scope="module")
def client(deployment):
    workspace, token = deployment
    with TestClient(create_app(workspace, SETTINGS)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def multipart(*parts: tuple[bytes, bytes]) -> bytes:
    """A multipart body (boundary B) from (Content-Disposition parameters, value) pairs."""
    return (
        b"".join(
            b"--B\r\nContent-Disposition: form-data; " + disposition + b"\r\n\r\n" + value + b"\r\n"
            for disposition, value in parts
        )
        + b"--B--\r\n"
    )


def fields(n: int) -> list[tuple[bytes, bytes]]:
    return [(b'name="f%d"' % i, b"x") for i in range(n)]


def nested(levels: int, inner: str = "1") -> str:
    return "[" * levels + inner + "]" * levels


GOOD = '{"review": "a wonderful film, I loved it"}'


def case(name: str, body, kind: str | None, status: int, code: str | None = None, **headers):
    """One hostile request: its body (str is sent as UTF-8), content type, extra headers, and the
    answer it must get (code None: a prediction)."""
    body = body.encode() if isinstance(body, str) else body
    headers = {k.replace("_", "-"): v for k, v in headers.items()}
    if kind is not None:
        headers["Content-Type"] = kind
    return pytest.param(body, headers, status, code, id=name)


CASES = [
    # nesting: refused before the parser recurses (CRITIC_MAX_JSON_DEPTH, 32 by default)
    case("array nested 50,000 deep", nested(DEEP), JSON, 413, "json_too_deep"),
    case(
        "object nested 50,000 deep", '{"a":' * DEEP + "1" + "}" * DEEP, JSON, 413, "json_too_deep"
    ),
    case(
        "batch row nested 50,000 deep",
        '{"rows": [{"review": "x", "a": ' + nested(DEEP) + "}]}",
        JSON,
        413,
        "json_too_deep",
    ),
    case(
        "33 levels (one over)",
        '{"review": "good", "a": ' + nested(32, "") + "}",
        JSON,
        413,
        "json_too_deep",
    ),
    case("32 levels (the limit)", '{"review": "good", "a": ' + nested(31, "") + "}", JSON, 200),
    case("brackets inside the text", '{"review": "' + "[" * DEEP + ' good"}', JSON, 200),
    # numbers
    case(
        "5,000-digit integer beside the text",
        '{"review": "good", "n": ' + "7" * DIGITS + "}",
        JSON,
        422,
        "malformed_json",
    ),
    case(
        "5,000-digit integer as the text",
        '{"review": -' + "7" * DIGITS + "}",
        JSON,
        422,
        "malformed_json",
    ),
    case(
        "4,000-digit integer beside the text",
        '{"review": "good", "n": ' + "7" * 4000 + "}",
        JSON,
        200,
    ),
    case("5,000-digit fraction", '{"review": "good", "n": 0.' + "7" * DIGITS + "}", JSON, 200),
    case("1e999999 beside the text", '{"review": "good", "n": 1e999999}', JSON, 200),
    case("1e999999 as the text", '{"review": 1e999999}', JSON, 422, "not_text"),
    case("NaN beside the text", '{"review": "good", "n": NaN}', JSON, 200),
    case("-Infinity as the text", '{"review": -Infinity}', JSON, 422, "not_text"),
    # NUL bytes and odd characters
    case("escaped NUL in the text", r'{"review": "good\u0000film"}', JSON, 200),
    case("only an escaped NUL", r'{"review": "\u0000"}', JSON, 200),
    case(
        "raw NUL inside a JSON string", b'{"review": "good\x00film"}', JSON, 422, "malformed_json"
    ),
    case("NUL in a urlencoded form", "review=good%00film", FORM, 200),
    case("raw NUL in a urlencoded form", b"review=good\x00film", FORM, 200),
    case(
        "raw NUL in a multipart field",
        multipart((b'name="review"', b"good\x00film")),
        MULTIPART,
        200,
    ),
    case(
        "NUL in a multipart field name",
        multipart((b'name="rev\x00iew"', b"good")),
        MULTIPART,
        422,
        "missing_field",
    ),
    case("lone surrogate escape", r'{"review": "good \ud800 film"}', JSON, 200),
    case("byte-order mark before the JSON", "\ufeff" + GOOD, JSON, 200),
    # invalid UTF-8
    case("invalid UTF-8 in JSON", b'{"review": "\xff\xfe good"}', JSON, 422, "not_utf8"),
    case(
        "Latin-1 JSON declared as such",
        '{"review": "café"}'.encode("latin-1"),
        JSON + "; charset=latin-1",
        422,
        "not_utf8",
    ),
    case("invalid UTF-8 in a form", b"review=\xff\xfegood", FORM, 200),
    case(
        "invalid UTF-8 in an uploaded file",
        multipart((b'name="review"; filename="r.txt"', b"\xff\xfe good")),
        MULTIPART,
        422,
        "not_utf8",
    ),
    # JSON of the wrong shape
    case("duplicate keys (the last wins)", '{"review": "awful", "review": "good"}', JSON, 200),
    case("duplicate rows keys", '{"rows": 5, "rows": [{"review": "good"}]}', JSON, 200),
    case("a JSON string", '"a wonderful film"', JSON, 422, "malformed_json"),
    case("a JSON array of texts", '["a wonderful film"]', JSON, 422, "malformed_json"),
    case("a JSON number", "42", JSON, 422, "malformed_json"),
    case("JSON null", "null", JSON, 422, "malformed_json"),
    case("rows empty", '{"rows": []}', JSON, 422, "malformed_batch"),
    case("rows of numbers", '{"rows": [1, 2]}', JSON, 422, "malformed_batch"),
    case("rows a string", '{"rows": "good"}', JSON, 422, "malformed_batch"),
    case(
        "rows over the batch cap",
        json.dumps({"rows": [{"review": "good"}] * 4}),
        JSON,
        413,
        "batch_too_large",
    ),
    case("rows with a number for text", '{"rows": [{"review": 5}]}', JSON, 422, "not_text"),
    case("rows with an empty text", '{"rows": [{"review": " "}]}', JSON, 422, "empty_text"),
    case(
        "an object of 5,000 other keys",
        json.dumps({f"k{i}": i for i in range(5000)}),
        JSON,
        422,
        "missing_field",
    ),
    case("text trailed by garbage", GOOD + "}}}", JSON, 422, "malformed_json"),
    # valid bodies under the wrong content type
    case("JSON sent as text/plain", GOOD, "text/plain", 415, "unsupported_media_type"),
    case("JSON sent with no content type", GOOD, None, 415, "unsupported_media_type"),
    case(
        "JSON sent as application/json-patch+json",
        GOOD,
        "application/json-patch+json",
        415,
        "unsupported_media_type",
    ),
    case("JSON sent as a urlencoded form", GOOD, FORM, 422, "missing_field"),
    case("JSON sent as multipart", GOOD, MULTIPART, 422, "malformed_form"),
    case("a form sent as JSON", "review=good", JSON, 422, "malformed_json"),
    case("ASCII JSON declared Latin-1", GOOD, JSON + "; charset=latin-1", 200),
    case("JSON with a nonsense charset", GOOD, JSON + "; charset=nonsense", 200),
    case("JSON as APPLICATION/JSON", GOOD, "APPLICATION/JSON", 200),
    case(
        "multipart without a boundary",
        multipart((b'name="review"', b"good")),
        "multipart/form-data",
        422,
        "malformed_form",
    ),
    # forms
    case(
        "multipart of 500 fields",
        multipart(*fields(500), (b'name="review"', b"good")),
        MULTIPART,
        200,
    ),
    case(
        "multipart of 1,500 fields",
        multipart(*fields(1500), (b'name="review"', b"good")),
        MULTIPART,
        422,
        "malformed_form",
    ),
    case(
        "urlencoded of 1,500 fields",
        "&".join(f"f{i}=x" for i in range(1500)) + "&review=good",
        FORM,
        422,
        "malformed_form",
    ),
    case(
        "the text as an uploaded file",
        multipart((b'name="review"; filename="r.txt"', b"good film")),
        MULTIPART,
        200,
    ),
    case(
        "500 uploaded files",
        multipart(
            *[(b'name="f%d"; filename="f"' % i, b"x") for i in range(500)],
            (b'name="review"', b"good"),
        ),
        MULTIPART,
        200,
    ),
    case("a part without a name", multipart((b"", b"good")), MULTIPART, 422, "malformed_form"),
    case(
        "a part header of 200 KB",
        b'--B\r\nContent-Disposition: form-data; name="review"\r\nX: '
        + b"a" * 200_000
        + b"\r\n\r\ngood\r\n--B--\r\n",
        MULTIPART,
        422,
        "malformed_form",
    ),
    case(
        "a truncated multipart body",
        b'--B\r\nContent-Disposition: form-data; name="review"\r\n\r\ngood',
        MULTIPART,
        422,
        "missing_field",
    ),
    case(
        "4 texts in a form (batch cap 3)",
        "&".join(["review=good"] * 4),
        FORM,
        413,
        "batch_too_large",
    ),
    case("3 texts in a form", "&".join(["review=good"] * 3), FORM, 200),
    # lengths and encodings
    case("empty JSON body", b"", JSON, 422, "malformed_json"),
    case("empty form body", b"", FORM, 422, "missing_field"),
    case("empty body, no content type", b"", None, 415, "unsupported_media_type"),
    case("Content-Length shorter than the body", GOOD, JSON, 200, content_length="5"),
    case("Content-Length longer than the body", GOOD, JSON, 200, content_length="500"),
    case(
        "Content-Length over the body limit",
        GOOD,
        JSON,
        413,
        "body_too_large",
        content_length="99999999",
    ),
    case("Content-Length not a number", GOOD, JSON, 200, content_length="-1"),
    case(
        "a body over the limit",
        '{"review": "' + "good " * 200_001 + '"}',
        JSON,
        413,
        "body_too_large",
    ),
    case(
        "gzip Content-Encoding",
        gzip.compress(GOOD.encode()),
        JSON,
        415,
        "unsupported_encoding",
        content_encoding="gzip",
    ),
    case(
        "gzip bomb",
        gzip.compress(b" " * 10_000_000),
        JSON,
        415,
        "unsupported_encoding",
        content_encoding="gzip",
    ),
    case("br Content-Encoding", GOOD, JSON, 415, "unsupported_encoding", content_encoding="br"),
    case("identity Content-Encoding", GOOD, JSON, 200, content_encoding="identity"),
]


@pytest.mark.parametrize(("body", "headers", "status", "code"), CASES)
def test_hostile_body(client, body, headers, status, code, record_property):
    response = client.post(URL, content=body, headers=headers)
    answer = response.json()
    assert response.status_code < 500, answer
    if code is None:
        assert response.status_code == 200 and {"label", "predictions"} & set(answer), answer
    else:
        assert set(answer) == {"error", "message"} and answer["message"], answer
        assert (response.status_code, answer["error"]) == (status, code), answer
        assert "Traceback" not in answer["message"] and len(answer["message"]) < 1000
    record_property("cases", 1)
    record_property("lost", 0)


@pytest.mark.parametrize(
    "name", ["%00", "a" * 10_000, "%FF", "..%2F..%2Fcatalog.sqlite", "one%2Fpredict"]
)
def test_hostile_deployment_names(client, name, record_property):
    response = client.post(
        f"/v1/deployments/{name}/predict", content=GOOD, headers={"Content-Type": JSON}
    )
    answer = response.json()
    assert response.status_code == 404 and set(answer) == {"error", "message"}, answer
    assert len(answer["message"]) < 1000
    record_property("cases", 1)
    record_property("lost", 0)


def test_the_deep_body_names_its_setting(client):
    answer = client.post(URL, content=nested(DEEP), headers={"Content-Type": JSON}).json()
    assert "CRITIC_MAX_JSON_DEPTH" in answer["message"] and "32" in answer["message"]


def test_the_depth_limit_is_a_setting(deployment, monkeypatch):
    monkeypatch.setenv("CRITIC_MAX_JSON_DEPTH", "40")
    workspace, token = deployment
    body = '{"review": "good", "a": ' + nested(35, "") + "}"  # 36 deep
    with TestClient(create_app(workspace, ServeSettings.from_env())) as client:
        answer = client.post(
            URL, content=body, headers={"Content-Type": JSON, "Authorization": f"Bearer {token}"}
        )
    assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
def live(deployment):
    server = LiveServer(create_app(deployment[0], SETTINGS))
    yield server, deployment[1]
    server.stop()


def test_deep_and_huge_bodies_over_a_socket(live, capfd, record_property):
    """The ASGI path through uvicorn: the 50,000-deep and the 5,000-digit bodies are refused with
    their codes, and nothing reaches the server log as an exception."""
    server, token = live
    auth = {"Authorization": f"Bearer {token}", "Content-Type": JSON}
    bodies = {
        "json_too_deep": nested(DEEP),
        "malformed_json": '{"review": "good", "n": ' + "7" * DIGITS + "}",
    }
    with httpx.Client(base_url=server.url, headers=auth, timeout=30) as http:
        for code, body in bodies.items():
            response = http.post(URL, content=body)
            assert response.status_code in (413, 422) and response.json()["error"] == code
        assert http.post(URL, content=GOOD).status_code == 200
    logs = "".join(capfd.readouterr())
    assert "Traceback" not in logs and "Exception" not in logs, logs[-2000:]
    record_property("cases", len(bodies) + 1)
    record_property("lost", 0)


def _raw(server: LiveServer, request: bytes, close_write: bool = False) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        if close_write:
            sock.shutdown(socket.SHUT_WR)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
                if b"\r\n\r\n" in received and received.split(b"\r\n\r\n", 1)[1].endswith(b"}"):
                    break
        except TimeoutError:
            pass
    return received


def test_lying_content_lengths_over_a_socket(live, capfd, record_property):
    """A Content-Length shorter than the body: the server reads what it declared (a 4xx answer);
    longer, then the client stops sending: no answer is owed, and nothing is logged as a bug."""
    server, token = live
    head = (
        f"POST {URL} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: {JSON}\r\nConnection: close\r\n"
    )
    short = _raw(server, (head + f"Content-Length: 5\r\n\r\n{GOOD}").encode())
    status_line, _, rest = short.partition(b"\r\n")
    assert status_line.split()[1] == b"422", short[:500]
    assert json.loads(rest.split(b"\r\n\r\n", 1)[1])["error"] == "malformed_json"
    long = _raw(server, (head + f"Content-Length: 500\r\n\r\n{GOOD}").encode(), close_write=True)
    assert long == b"" or not long.split(b"\r\n", 1)[0].split()[1].startswith(b"5"), long[:500]
    logs = "".join(capfd.readouterr())
    assert "Traceback" not in logs and "Exception" not in logs, logs[-2000:]
    record_property("cases", 2)
    record_property("lost", 0)
