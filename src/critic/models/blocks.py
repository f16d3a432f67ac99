"""The blocks a model graph is made of (the platform's canvas as a config).

Tensors between blocks, with their shapes:
    ids  (B, T)     int64 word ids from the word encoder; PAD = 0
    seq  (B, C, T)  float, channels first (Conv1d's layout), with a (B, T) bool mask of real tokens
    vec  (B, F)     float

Each block's parameters are a frozen dataclass; `build` checks the input shapes and returns the
torch module and the output shape, or raises GraphError naming the block."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn

from critic.errors import GraphError
from critic.fields import from_dict
from critic.text.spec import PAD

__all__ = ["Shape", "BLOCK_TYPES", "ACTIVATIONS", "block_params", "block_catalogue", "settings_of"]


@dataclass(frozen=True)
class Shape:
    kind: str  # "ids", "seq", "vec"
    size: int  # vocabulary (ids), channels (seq), features (vec)
    length: int | None = None  # T for ids/seq
    context: int = (
        0  # input positions beyond a window's start that it reads (for trimming padded batches)
    )
    stride: int = 1  # input positions per output position
    length_invariant: bool = True  # False after Flatten or LSTM: padding changes the result
    same_padded: bool = False  # a "same" convolution upstream (its edge windows see zeros, not PAD)

    def __str__(self) -> str:
        return {
            "ids": f"ids (B, {self.length})",
            "seq": f"seq (B, {self.size}, {self.length})",
            "vec": f"vec (B, {self.size})",
        }[self.kind]


ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "linear": nn.Identity,
}


def _activation(block_id: str, name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise GraphError(
            f"block {block_id!r}: unknown activation {name!r}; use one of {', '.join(ACTIVATIONS)}"
        )
    return ACTIVATIONS[name]()


def _one(block_id: str, kind: str, shapes: list[Shape], *allowed: str) -> Shape:
    if len(shapes) != 1:
        raise GraphError(f"block {block_id!r} ({kind}) takes one input, got {len(shapes)}")
    if shapes[0].kind not in allowed:
        hint = {
            "vec": "add Flatten or GlobalMaxPool1D before it",
            "seq": "it needs a sequence (after Embedding)",
            "ids": "it needs word ids from the word encoder",
        }[allowed[0]]
        raise GraphError(f"block {block_id!r} ({kind}) cannot take {shapes[0]}; {hint}")
    return shapes[0]


def _positive(block_id: str, **values) -> None:
    for name, value in values.items():
        if not isinstance(value, int) or value < 1:
            raise GraphError(
                f"block {block_id!r}: {name} must be a positive whole number, got {value!r}"
            )


def _max_norm(block_id: str, value: float | None) -> None:
    if value is not None and not value > 0:
        raise GraphError(
            f"block {block_id!r}: max_norm must be a positive number or left out, got {value!r}"
        )


# -- modules: forward(xs, masks) -> (tensor, mask) -------------------------------------------------


class _Module(nn.Module):
    constraint: float | None = None
    pretrained: bool = (
        False  # True: its weights come from a pretrained model, never from `initialize`
    )


class TransformerModule(_Module):
    """A Hugging Face encoder (BERT, MiniLM, ...) built from its config; `load_pretrained` fills in the
    weights at the start of a fresh run (a checkpoint brings its own). ids (B, T) → (B, hidden)."""

    pretrained = True

    def __init__(self, config: dict, trainable: bool, pooling: str):
        super().__init__()
        from critic.hf import transformers_names

        AutoConfig, AutoModel = transformers_names("AutoConfig", "AutoModel")

        settings = dict(config)
        self.encoder = AutoModel.from_config(
            AutoConfig.for_model(settings.pop("model_type"), **settings)
        )
        self.pooling = pooling
        for p in self.encoder.parameters():
            p.requires_grad_(trainable)

    def load_pretrained(self, source: str) -> None:
        from critic.hf import transformers_names
        from critic.text.wordpiece import from_pretrained

        (AutoModel,) = transformers_names("AutoModel")

        pretrained = from_pretrained(AutoModel.from_pretrained, source)
        result = self.encoder.load_state_dict(pretrained.state_dict(), strict=False)
        if result.unexpected_keys:
            raise GraphError(
                f"the weights of {source!r} do not fit its config: unexpected {result.unexpected_keys[:5]}"
            )

    def forward(self, xs, masks):
        (ids,) = xs
        mask = (ids != PAD).long()  # [PAD] is id 0 in BERT vocabularies (checked by the encoder)
        out = self.encoder(input_ids=ids, attention_mask=mask)
        if self.pooling == "pooler":
            return out.pooler_output, None
        hidden = out.last_hidden_state  # (B, T, H)
        if self.pooling == "cls":
            return hidden[:, 0], None
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1), None


class EmbeddingModule(_Module):
    def __init__(self, vocab: int, dim: int, pretrain: str | None = None):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim)
        self.pretrain = (
            pretrain  # read by models.pretrained.pretrain_embeddings when a fresh run starts
        )

    def forward(self, xs, masks):
        (ids,) = xs
        # (B, T, E) → (B, E, T), contiguous once here rather than copied by every conv arm
        return self.embedding(ids).transpose(1, 2).contiguous(), ids != PAD


class Elementwise(_Module):
    def __init__(self, module: nn.Module):
        super().__init__()
        self.inner = module

    def forward(self, xs, masks):
        return self.inner(xs[0]), masks[0]


MONOTONIC = (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.Identity)  # max(f(z)) = f(max(z)) for these


class ConvModule(_Module):
    def __init__(
        self, channels: int, filters: int, kernel: int, padding: str, activation: nn.Module
    ):
        super().__init__()
        self.conv = nn.Conv1d(channels, filters, kernel, padding=padding)
        self.activation = activation
        self.deferred = False  # set when a GlobalMaxPool1D applies the activation after pooling

    def forward(self, xs, masks):
        y = self.conv(xs[0])  # (B, F, T') with T' = T - k + 1 ("valid") or T ("same")
        if not self.deferred:
            y = self.activation(y)
        mask = masks[0]
        return y, (mask[:, : y.shape[-1]] if mask is not None else None)


class MaxPoolModule(_Module):
    def __init__(self, pool: int):
        super().__init__()
        self.pool = nn.MaxPool1d(pool)
        self.size = pool

    def forward(self, xs, masks):
        y = self.pool(xs[0])
        mask = masks[0]
        return y, (mask[:, : y.shape[-1] * self.size : self.size] if mask is not None else None)


class GlobalMaxPoolModule(_Module):
    """Max over time of the real (unmasked) positions. When it follows a Conv1D with a monotonic
    activation, the graph moves that activation here: f(max z) equals max f(z), and applying f to
    (B, C) instead of (B, C, T) halves a Kim CNN's training time on a CPU."""

    def __init__(self):
        super().__init__()
        self.activation: nn.Module = nn.Identity()
        self.owns_input = False  # True when its input is a conv output nothing else reads or saved
        self.masked = True

    def forward(self, xs, masks):
        x, mask = xs[0], masks[0]  # (B, C, T), (B, T)
        if mask is None or not self.masked:
            return self.activation(x.max(-1).values), None
        # in place when allowed: a (B, C, T) copy is the largest tensor of a Kim CNN step
        fill = x.masked_fill_ if self.owns_input else x.masked_fill
        # max(-1) (not amax): its backward scatters through indices instead of comparing every element
        pooled = self.activation(fill(~mask[:, None, :], float("-inf")).max(-1).values)
        return torch.where(
            mask.any(-1, keepdim=True), pooled, torch.zeros_like(pooled)
        ), None  # empty text → 0


class FlattenModule(_Module):
    def forward(self, xs, masks):
        return xs[0].flatten(1), None


class DenseModule(_Module):
    def __init__(self, features: int, units: int, activation: nn.Module, max_norm: float | None):
        super().__init__()
        self.linear, self.activation, self.constraint = (
            nn.Linear(features, units),
            activation,
            max_norm,
        )

    def forward(self, xs, masks):
        return self.activation(self.linear(xs[0])), None


class LSTMModule(_Module):
    def __init__(self, channels: int, units: int, return_sequences: bool, bidirectional: bool):
        super().__init__()
        self.lstm = nn.LSTM(channels, units, batch_first=True, bidirectional=bidirectional)
        self.return_sequences = return_sequences

    def forward(self, xs, masks):
        out, (h, _) = self.lstm(xs[0].transpose(1, 2))  # (B, T, C) in; out (B, T, D·H), h (D, B, H)
        if self.return_sequences:
            return out.transpose(1, 2), masks[0]
        return torch.cat(list(h), dim=-1), None  # last step of each direction, as Keras returns


class ConcatModule(_Module):
    def forward(self, xs, masks):
        return torch.cat(xs, dim=1), masks[0]


# -- block types: parameters + build --------------------------------------------------------------


@dataclass(frozen=True)
class Input:
    def build(self, block_id, shapes, n_classes):
        raise GraphError(f"block {block_id!r}: Input takes no inputs and must come first")


PRETRAIN = ("skipgram",)


@dataclass(frozen=True)
class Embedding:
    """Word ids → vectors. pretrain = "skipgram": when a fresh run starts, the rows are set to
    skip-gram word vectors (word2vec, gensim) learned from the train subset's own texts, as the
    platform's Text Embedding block starts from pretrained vectors and Kim 2014's CNN-non-static from
    word2vec; training then fine-tunes them. No labels are used, and nothing outside the train subset."""

    dim: int
    pretrain: str | None = None

    def build(self, block_id, shapes, n_classes):
        s = _one(block_id, "Embedding", shapes, "ids")
        _positive(block_id, dim=self.dim)
        if self.pretrain is not None and self.pretrain not in PRETRAIN:
            raise GraphError(
                f"block {block_id!r}: pretrain must be one of {', '.join(PRETRAIN)} or absent, got {self.pretrain!r}"
            )
        return EmbeddingModule(s.size, self.dim, self.pretrain), Shape(
            "seq", self.dim, s.length, 0, 1
        )


@dataclass(frozen=True)
class Dropout:
    rate: float

    def build(self, block_id, shapes, n_classes):
        s = _one(block_id, "Dropout", shapes, "seq", "vec")
        if not 0 <= self.rate < 1:
            raise GraphError(f"block {block_id!r}: Dropout rate must be in [0, 1), got {self.rate}")
        return Elementwise(nn.Dropout(self.rate)), s


@dataclass(frozen=True)
class Conv1D:
    filters: int
    kernel: int
    activation: str = "relu"
    padding: str = "valid"  # Keras's default; "same" keeps the length

    def build(self, block_id, shapes, n_classes):
        s = _one(block_id, "Conv1D", shapes, "seq")
        _positive(block_id, filters=self.filters, kernel=self.kernel)
        if self.padding not in ("valid", "same"):
            raise GraphError(
                f"block {block_id!r}: padding must be 'valid' or 'same', got {self.padding!r}"
            )
        length = s.length - self.kernel + 1 if self.padding == "valid" else s.length
        if length < 1:
            raise GraphError(
                f"block {block_id!r}: kernel {self.kernel} is longer than its input ({s.length} positions)"
            )
        module = ConvModule(
            s.size, self.filters, self.kernel, self.padding, _activation(block_id, self.activation)
        )
        return module, replace(
            s,
            size=self.filters,
            length=length,
            context=s.context + (self.kernel - 1) * s.stride,
            same_padded=s.same_padded or self.padding == "same",
        )


@dataclass(frozen=True)
class MaxPool1D:
    pool: int = 2

    def build(self, block_id, shapes, n_classes):
        s = _one(block_id, "MaxPool1D", shapes, "seq")
        _positive(block_id, pool=self.pool)
        if s.length // self.pool < 1:
            raise GraphError(
                f"block {block_id!r}: pool {self.pool} is longer than its input ({s.length} positions)"
            )
        return MaxPoolModule(self.pool), replace(
            s,
            length=s.length // self.pool,
            context=s.context + (self.pool - 1) * s.stride,
            stride=s.stride * self.pool,
        )


@dataclass(frozen=True)
class GlobalMaxPool1D:
    # True: the max is over the text's own positions. False: padding positions take part too, as in
    # Keras without mask_zero (the PAD embedding then acts as a learned floor under each feature).
    mask_padding: bool = True

    def build(self, block_id, shapes, n_classes):
        s = _one(block_id, "GlobalMaxPool1D", shapes, "seq")
        module = GlobalMaxPoolModule()
        module.masked = self.mask_padding
        if self.mask_padding:
            return module, Shape("vec", s.size, None, s.context, 1, s.length_invariant)
        # A trimmed batch must still hold one all-PAD window (in evaluation they all give the same
        # value), so keep one more input position per output step; "same" edges would see zeros.
        return module, Shape(
            "vec", s.size, None, s.context + s.stride, 1, s.length_invariant and not s.same_padded
        )


@dataclass(frozen=True)
class Flatten:
    def build(self, block_id, shapes, n_classes):
        s = _one(block_id, "Flatten", shapes, "seq")
        return FlattenModule(), Shape("vec", s.size * s.length, None, s.context, 1, False)


@dataclass(frozen=True)
class Dense:
    units: int
    activation: str = "relu"
    max_norm: float | None = None  # cap on each unit's incoming weight norm (Kim 2014: 3)

    def build(self, block_id, shapes, n_classes):
        s = _one(block_id, "Dense", shapes, "vec")
        _positive(block_id, units=self.units)
        _max_norm(block_id, self.max_norm)
        module = DenseModule(
            s.size, self.units, _activation(block_id, self.activation), self.max_norm
        )
        return module, replace(s, size=self.units)


@dataclass(frozen=True)
class LSTM:
    units: int
    return_sequences: bool = False
    bidirectional: bool = False

    def build(self, block_id, shapes, n_classes):
        s = _one(block_id, "LSTM", shapes, "seq")
        _positive(block_id, units=self.units)
        size = self.units * (2 if self.bidirectional else 1)
        module = LSTMModule(s.size, self.units, self.return_sequences, self.bidirectional)
        if self.return_sequences:
            return module, replace(s, size=size, length_invariant=False)
        return module, Shape("vec", size, None, s.context, 1, False)


@dataclass(frozen=True)
class Concatenate:
    def build(self, block_id, shapes, n_classes):
        if len(shapes) < 2:
            raise GraphError(
                f"block {block_id!r}: Concatenate joins two or more inputs, got {len(shapes)}"
            )
        kinds = {s.kind for s in shapes}
        if kinds == {"vec"}:
            size = sum(s.size for s in shapes)
            return ConcatModule(), Shape(
                "vec",
                size,
                None,
                max(s.context for s in shapes),
                1,
                all(s.length_invariant for s in shapes),
            )
        if kinds == {"seq"} and len({s.length for s in shapes}) == 1:
            return ConcatModule(), replace(
                shapes[0], size=sum(s.size for s in shapes), context=max(s.context for s in shapes)
            )
        raise GraphError(
            f"block {block_id!r}: Concatenate needs all vectors or sequences of one length, "
            f"got {', '.join(map(str, shapes))}"
        )


POOLINGS = ("pooler", "cls", "mean")


@dataclass(frozen=True)
class Transformer:
    """A pretrained BERT-style encoder on WordPiece ids (the `wordpiece` encoder) → one vector.
    pooling: "pooler" (BERT's pretrained Dense + tanh over [CLS], the platform's "Dense block with
    pre-trained weights"), "cls" ([CLS]'s hidden state) or "mean" (over real tokens; what
    sentence-transformers models such as MiniLM were trained for)."""

    source: str
    trainable: bool = True
    pooling: str = "pooler"
    config: dict | None = (
        None  # the model's config.json, read from `source` when the experiment is configured
    )

    def build(self, block_id, shapes, n_classes):
        s = _one(block_id, "Transformer", shapes, "ids")
        if self.pooling not in POOLINGS:
            raise GraphError(
                f"block {block_id!r}: pooling must be one of {', '.join(POOLINGS)}, got {self.pooling!r}"
            )
        if not self.config:
            raise GraphError(
                f"block {block_id!r}: the config of {self.source!r} was not read; configure the experiment "
                f"with build_config (it reads the model's config.json)"
            )
        if s.size > self.config.get("vocab_size", s.size):
            raise GraphError(
                f"block {block_id!r}: the encoder has {s.size:,} ids but {self.source!r} knows "
                f"{self.config['vocab_size']:,}; use the wordpiece encoder of the same model"
            )
        if s.length is not None and s.length > self.config.get("max_position_embeddings", s.length):
            raise GraphError(
                f"block {block_id!r}: sequence length {s.length} is over the model's "
                f"{self.config['max_position_embeddings']} positions"
            )
        module = TransformerModule(self.config, self.trainable, self.pooling)
        # attention ignores [PAD]: trailing padding changes nothing, so batches can be trimmed
        return module, Shape("vec", int(self.config["hidden_size"]), None, 0, 1, True)


@dataclass(frozen=True)
class Output:
    max_norm: float | None = None

    def build(self, block_id, shapes, n_classes):
        s = _one(block_id, "Output", shapes, "vec")
        _max_norm(block_id, self.max_norm)
        # logits (B, n_classes); softmax is applied by the loss and by prediction
        return DenseModule(s.size, n_classes, nn.Identity(), self.max_norm), replace(
            s, size=n_classes
        )


BLOCK_TYPES = {
    cls.__name__: cls
    for cls in (
        Input,
        Embedding,
        Dropout,
        Conv1D,
        MaxPool1D,
        GlobalMaxPool1D,
        Flatten,
        Dense,
        LSTM,
        Concatenate,
        Transformer,
        Output,
    )
}


def block_params(block_type: str, block_id: str, params: dict):
    """The parameter dataclass for one block, with unknown, missing and mistyped settings named
    with the block (`critic.fields.from_dict`)."""
    if block_type not in BLOCK_TYPES:
        raise GraphError(
            f"block {block_id!r}: unknown type {block_type!r}; use one of {', '.join(BLOCK_TYPES)}"
        )
    where = f"block {block_id!r} ({block_type})"
    try:
        return from_dict(BLOCK_TYPES[block_type], params, where=where, error=GraphError)
    except GraphError:
        raise  # already names the block
    except (TypeError, ValueError) as exc:  # anything the checks above let through
        raise GraphError(f"{where}: {exc}") from None


# -- the catalogue: every block type with its settings, for the workbench's canvas palette --------

# starting values for the settings that have no default (a new block must show something): the
# platform seed's (000) choices: Text Embedding "Output dimension (default 64)", Dropout "Rate 0.2",
# 1D Convolution "Filters 256, Size 1", Dense "Nodes 128"; LSTM 64 units (seed 004's second LSTM)
SUGGESTED = {
    ("Embedding", "dim"): 64,
    ("Dropout", "rate"): 0.2,
    ("Conv1D", "filters"): 256,
    ("Conv1D", "kernel"): 1,
    ("Dense", "units"): 128,
    ("LSTM", "units"): 64,
    ("Transformer", "source"): "sentence-transformers/all-MiniLM-L6-v2",
}
# what each block does, in shapes (the palette's help line)
ABOUT = {
    "Input": "the encoder's output: word ids (B, T) or a multi-hot vector; holds the encoder settings",
    "Embedding": "word ids (B, T) → a learned vector per word, seq (B, dim, T)",
    "Dropout": "zeroes a share (rate) of its input while training; shape unchanged",
    "Conv1D": "seq (B, C, T) → seq (B, filters, T'): windows of `kernel` words",
    "MaxPool1D": "seq (B, C, T) → seq (B, C, T / pool): the max of each `pool` positions",
    "GlobalMaxPool1D": "seq (B, C, T) → vec (B, C): the max over the whole text",
    "Flatten": "seq (B, C, T) → vec (B, C·T)",
    "Dense": "vec (B, F) → vec (B, units), fully connected",
    "LSTM": "seq (B, C, T) → vec (B, units), or seq with return_sequences",
    "Concatenate": "joins two or more vectors (or sequences of one length) side by side",
    "Transformer": "a pretrained BERT-style encoder on WordPiece ids → vec (B, hidden)",
    "Output": "vec (B, F) → one score per class (softmax in the loss); comes last",
}
_CHOICES = {"activation": tuple(ACTIVATIONS), "pretrain": PRETRAIN, "pooling": POOLINGS}
_BLOCK_CHOICES = {("Conv1D", "padding"): ("valid", "same")}
_HIDDEN = {("Transformer", "config")}  # read from the model's source, never set by hand
_KINDS = {int: "int", float: "float", str: "str", bool: "bool"}


def settings_of(cls, choices: dict | None = None, suggested: dict | None = None) -> list[dict]:
    """A settings dataclass's fields as the canvas's typed inputs:
    [{"name", "kind": int|float|str|bool, "default", "required", "optional", "choices"}]
    ("required": no default; "optional": may be left unset, None)."""
    import typing
    from dataclasses import MISSING, fields

    hints = typing.get_type_hints(cls)
    out = []
    for f in fields(cls):
        kinds = [
            k for k in typing.get_args(hints[f.name]) or (hints[f.name],) if k is not type(None)
        ]
        if kinds[0] not in _KINDS:
            continue
        default = None if f.default is MISSING else f.default
        out.append(
            {
                "name": f.name,
                "kind": _KINDS[kinds[0]],
                "default": (suggested or {}).get(f.name, default),
                "required": f.default is MISSING,
                "optional": type(None) in typing.get_args(hints[f.name]),
                "choices": list((choices or {}).get(f.name, ())),
            }
        )
    return out


def block_catalogue() -> list[dict]:
    """Every block type, in the palette's order: its settings (types, defaults, choices), how many
    inputs it takes ("none", "one", "many") and whether it has an output, and what it does (ABOUT)."""
    catalogue = []
    for name, cls in BLOCK_TYPES.items():
        choices = {**_CHOICES, **{s: c for (b, s), c in _BLOCK_CHOICES.items() if b == name}}
        suggested = {s: v for (b, s), v in SUGGESTED.items() if b == name}
        settings = [
            s for s in settings_of(cls, choices, suggested) if (name, s["name"]) not in _HIDDEN
        ]
        catalogue.append(
            {
                "type": name,
                "settings": settings,
                "inputs": "none" if cls is Input else "many" if cls is Concatenate else "one",
                "output": cls is not Output,
                "about": ABOUT[name],
            }
        )
    return catalogue
