"""Attention and Transformer layers (``nanotorch.nn.attention``, ``nanotorch.nn.transformer``):
known answers (uniform and causal attention, masks, identity projections), shapes, errors, and
(where installed) PyTorch with the same weights."""

from __future__ import annotations

import numpy as np
import pytest

import nanotorch as nt
from nanotorch.autograd.gradcheck import gradcheck
from nanotorch.nn.attention import MultiheadAttention, attention, scaled_dot_product_attention
from nanotorch.nn.transformer import (
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
    generate_square_subsequent_mask,
)


def _np(t: nt.Tensor) -> np.ndarray:
    return t.detach().numpy()


# ------------------------------------------------------- scaled_dot_product_attention
def test_weights_sum_to_one_and_match_the_formula():
    q, k, v = nt.randn(2, 3, 4), nt.randn(2, 5, 4), nt.randn(2, 5, 6)
    out, weights = attention(q, k, v)
    np.testing.assert_allclose(_np(weights).sum(-1), 1, rtol=1e-6)
    scores = _np(q) @ _np(k).transpose(0, 2, 1) / 2  # 1 / sqrt(4)
    expected = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    np.testing.assert_allclose(_np(weights), expected, rtol=1e-5)
    np.testing.assert_allclose(_np(out), expected @ _np(v), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(scaled_dot_product_attention(q, k, v, scale=0.0)),
                               np.broadcast_to(_np(v).mean(1, keepdims=True), (2, 3, 6)), rtol=1e-5)


def test_causal_mask_and_bool_and_float_masks_agree():
    q, k, v = nt.randn(4, 3), nt.randn(4, 3), nt.randn(4, 2)
    causal = scaled_dot_product_attention(q, k, v, is_causal=True)
    np.testing.assert_allclose(_np(causal)[0], _np(v)[0], rtol=1e-6)  # the first query sees one key
    allowed = nt.ones(4, 4, dtype=nt.bool).tril()
    np.testing.assert_allclose(_np(scaled_dot_product_attention(q, k, v, attn_mask=allowed)), _np(causal))
    float_mask = generate_square_subsequent_mask(4)
    np.testing.assert_allclose(_np(scaled_dot_product_attention(q, k, v, attn_mask=float_mask)), _np(causal))
    _, weights = attention(q, k, v, is_causal=True)
    assert not np.triu(_np(weights), 1).any()


def test_a_query_that_sees_no_key_gets_zero_and_a_finite_gradient():
    q = nt.randn(2, 3, requires_grad=True)
    k, v = nt.randn(4, 3, requires_grad=True), nt.randn(4, 2)
    mask = nt.tensor([[False] * 4, [True, False, True, False]])
    out = scaled_dot_product_attention(q, k, v, attn_mask=mask)
    np.testing.assert_array_equal(_np(out)[0], 0)
    out.sum().backward()
    assert np.isfinite(q.grad.numpy()).all() and not q.grad.numpy()[0].any()


def test_grouped_query_attention_repeats_key_value_heads():
    q, k, v = nt.randn(1, 4, 3, 2), nt.randn(1, 2, 5, 2), nt.randn(1, 2, 5, 2)
    grouped = scaled_dot_product_attention(q, k, v, enable_gqa=True)
    full = scaled_dot_product_attention(q, k.repeat_interleave(2, dim=1), v.repeat_interleave(2, dim=1))
    np.testing.assert_allclose(_np(grouped), _np(full), rtol=1e-6)


def test_attention_gradient_matches_finite_differences():
    q, k, v = (nt.randn(2, 3, 4, dtype=nt.float64, requires_grad=True) for _ in range(3))
    mask = nt.randn(3, 3, dtype=nt.float64)
    gradcheck(lambda q, k, v: scaled_dot_product_attention(q, k, v, attn_mask=mask), [q, k, v])


def test_attention_dropout_zeroes_weights():
    nt.manual_seed(0)
    q, k, v = nt.randn(8, 4), nt.randn(8, 4), nt.randn(8, 4)
    _, weights = attention(q, k, v, dropout_p=0.5)
    assert (_np(weights) == 0).mean() > 0.3
    np.testing.assert_array_equal(_np(scaled_dot_product_attention(q, k, v, dropout_p=1.0)), 0)


def test_attention_errors():
    with pytest.raises(RuntimeError, match="same embedding size"):
        scaled_dot_product_attention(nt.randn(3, 4), nt.randn(5, 3), nt.randn(5, 2))
    with pytest.raises(RuntimeError, match="same sequence length"):
        scaled_dot_product_attention(nt.randn(3, 4), nt.randn(5, 4), nt.randn(4, 2))
    with pytest.raises(RuntimeError, match="should not be set when is_causal"):
        scaled_dot_product_attention(nt.randn(3, 4), nt.randn(3, 4), nt.randn(3, 2),
                                     attn_mask=nt.ones(3, 3, dtype=nt.bool), is_causal=True)
    with pytest.raises(RuntimeError, match="attn_mask dtype"):
        scaled_dot_product_attention(nt.randn(3, 4), nt.randn(3, 4), nt.randn(3, 2),
                                     attn_mask=nt.ones(3, 3, dtype=nt.int64))
    with pytest.raises(RuntimeError, match="must divide"):
        scaled_dot_product_attention(nt.randn(3, 2, 4), nt.randn(2, 2, 4), nt.randn(2, 2, 4), enable_gqa=True)
    with pytest.raises(RuntimeError, match="at least 2 dimensional"):
        scaled_dot_product_attention(nt.randn(4), nt.randn(3, 4), nt.randn(3, 2))


# ----------------------------------------------------------------- MultiheadAttention
def _identity_mha(embed_dim: int) -> MultiheadAttention:
    mha = MultiheadAttention(embed_dim, 1)
    with nt.no_grad():
        eye = np.eye(embed_dim, dtype=np.float32)
        mha.in_proj_weight.copy_(nt.tensor(np.concatenate([eye] * 3)))
        mha.out_proj.weight.copy_(nt.tensor(eye))
    return mha


def test_one_head_with_identity_projections_is_plain_attention():
    mha = _identity_mha(4)
    x, mem = nt.randn(3, 2, 4), nt.randn(5, 2, 4)
    out, weights = mha(x, mem, mem)
    q, k = x.transpose(0, 1), mem.transpose(0, 1)
    expected, expected_weights = attention(q, k, k)
    np.testing.assert_allclose(_np(out), _np(expected.transpose(0, 1)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(weights), _np(expected_weights), rtol=1e-5, atol=1e-6)
    assert weights.shape == (2, 3, 5)
    np.testing.assert_allclose(_np(weights).sum(-1), 1, rtol=1e-6)


def test_key_padding_mask_hides_keys_and_bool_means_not_allowed():
    mha = MultiheadAttention(4, 2, batch_first=True)
    q, kv = nt.randn(2, 3, 4), nt.randn(2, 5, 4)
    padding = nt.tensor([[False, False, False, True, True], [False] * 5])
    out, weights = mha(q, kv, kv, key_padding_mask=padding)
    assert not _np(weights)[0, :, 3:].any()
    changed = kv.detach().numpy().copy()
    changed[0, 3:] = 100.0  # the padded keys' values do not matter
    out2, _ = mha(q, nt.tensor(changed), nt.tensor(changed), key_padding_mask=padding)
    np.testing.assert_allclose(_np(out2)[0], _np(out)[0], rtol=1e-5, atol=1e-6)
    float_padding = nt.zeros(2, 5).masked_fill(padding, float("-inf"))
    out3, _ = mha(q, kv, kv, key_padding_mask=float_padding)
    np.testing.assert_allclose(_np(out3), _np(out), rtol=1e-6)


def test_attn_mask_causal_hint_and_per_head_weights():
    mha = MultiheadAttention(6, 3)
    x = nt.randn(4, 2, 6)
    mask = nt.ones(4, 4, dtype=nt.bool).triu(1)  # True: not allowed
    out, weights = mha(x, x, x, attn_mask=mask, average_attn_weights=False)
    assert weights.shape == (2, 3, 4, 4) and not np.triu(_np(weights), 1).any()
    hinted, none = mha(x, x, x, attn_mask=mask, need_weights=False, is_causal=True)
    assert none is None
    np.testing.assert_allclose(_np(hinted), _np(out), rtol=1e-5, atol=1e-6)
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        mha(x, x, x, is_causal=True)
    # As PyTorch: without a padding mask or weights, the hint stands for the causal mask itself.
    hint_wins, _ = mha(x, x, x, attn_mask=nt.zeros(4, 4), need_weights=False, is_causal=True)
    np.testing.assert_allclose(_np(hint_wins), _np(out), rtol=1e-5, atol=1e-6)


def test_parameters_shapes_and_unbatched_input():
    mha = MultiheadAttention(4, 2, kdim=3, vdim=5, add_bias_kv=True, add_zero_attn=True)
    assert {k: tuple(v.shape) for k, v in mha.state_dict().items()} == {
        "q_proj_weight": (4, 4), "k_proj_weight": (4, 3), "v_proj_weight": (4, 5), "in_proj_bias": (12,),
        "bias_k": (1, 1, 4), "bias_v": (1, 1, 4), "out_proj.weight": (4, 4), "out_proj.bias": (4,)}
    assert mha.in_proj_weight is None and not _np(mha.in_proj_bias).any()
    out, weights = mha(nt.randn(3, 4), nt.randn(6, 3), nt.randn(6, 5))
    assert out.shape == (3, 4) and weights.shape == (3, 8)  # 6 keys, bias_k and the zero key
    assert list(MultiheadAttention(4, 2, bias=False).state_dict()) == ["in_proj_weight", "out_proj.weight"]


def test_mha_dropout_only_in_training():
    mha = MultiheadAttention(4, 2, dropout=0.9)
    x = nt.randn(3, 2, 4)
    assert (_np(mha(x, x, x)[1]) == 0).any()
    mha.eval()
    np.testing.assert_allclose(_np(mha(x, x, x)[1]).sum(-1), 1, rtol=1e-6)


def test_mha_errors():
    with pytest.raises(AssertionError, match="divisible by num_heads"):
        MultiheadAttention(5, 2)
    with pytest.raises(ValueError, match="greater than 0"):
        MultiheadAttention(0, 2)
    mha = MultiheadAttention(4, 2)
    x = nt.randn(3, 2, 4)
    with pytest.raises(AssertionError, match="to be 3-D"):
        mha(x, nt.randn(3, 4), nt.randn(3, 4))
    with pytest.raises(AssertionError, match="embedding dimension of 4"):
        mha(nt.randn(3, 2, 5), nt.randn(3, 2, 5), nt.randn(3, 2, 5))
    with pytest.raises(RuntimeError, match="2D attn_mask"):
        mha(x, x, x, attn_mask=nt.zeros(3, 4))
    with pytest.raises(AssertionError, match="key_padding_mask shape"):
        mha(x, x, x, key_padding_mask=nt.zeros(2, 4))
    with pytest.raises(AssertionError, match="only bool and floating"):
        mha(x, x, x, key_padding_mask=nt.zeros(2, 3, dtype=nt.int64))


# ------------------------------------------------------------------------ Transformer
def test_square_subsequent_mask():
    np.testing.assert_array_equal(_np(generate_square_subsequent_mask(3)),
                                  [[0, -np.inf, -np.inf], [0, 0, -np.inf], [0, 0, 0]])
    assert TransformerEncoder.generate_square_subsequent_mask(2).shape == (2, 2)


def test_encoder_layers_are_copies_and_keys_match_pytorch_names():
    layer = TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0)
    encoder = TransformerEncoder(layer, 2, norm=nt.nn.LayerNorm(8))
    keys = list(encoder.state_dict())
    assert keys[:6] == ["layers.0.self_attn.in_proj_weight", "layers.0.self_attn.in_proj_bias",
                        "layers.0.self_attn.out_proj.weight", "layers.0.self_attn.out_proj.bias",
                        "layers.0.linear1.weight", "layers.0.linear1.bias"]
    assert keys[-2:] == ["norm.weight", "norm.bias"] and len(keys) == 2 * 12 + 2
    assert encoder.layers[0].linear1.weight is not encoder.layers[1].linear1.weight
    decoder_keys = list(TransformerDecoderLayer(8, 2).state_dict())
    assert decoder_keys[4:6] == ["multihead_attn.in_proj_weight", "multihead_attn.in_proj_bias"]
    assert decoder_keys[-6:] == [f"norm{i}.{p}" for i in (1, 2, 3) for p in ("weight", "bias")]


@pytest.mark.parametrize("norm_first", [False, True])
def test_causal_encoder_and_decoder_do_not_look_ahead(norm_first):
    nt.manual_seed(0)
    kwargs = dict(dim_feedforward=16, dropout=0.0, batch_first=True, norm_first=norm_first, activation="gelu")
    encoder = TransformerEncoder(TransformerEncoderLayer(8, 2, **kwargs), 2)
    decoder = TransformerDecoder(TransformerDecoderLayer(8, 2, **kwargs), 2)
    x, memory = nt.randn(1, 5, 8), nt.randn(1, 3, 8)
    mask = generate_square_subsequent_mask(5)
    later = x.detach().numpy().copy()
    later[0, 3:] += 10.0  # change only the last two positions
    for run in (lambda x: encoder(x, mask=mask, is_causal=True),
                lambda x: decoder(x, memory, tgt_mask=mask)):
        a, b = _np(run(x)), _np(run(nt.tensor(later)))
        assert a.shape == (1, 5, 8)
        np.testing.assert_allclose(a[0, :3], b[0, :3], rtol=1e-5, atol=1e-5)
        assert not np.allclose(a[0, 3:], b[0, 3:])


@pytest.mark.parametrize("norm_first", [False, True])
def test_layers_follow_their_equations(norm_first):
    """The encoder and decoder layers against their docstrings' equations, from their own parts."""
    nt.manual_seed(0)
    enc = TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, norm_first=norm_first)
    dec = TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0, norm_first=norm_first)
    x, memory = nt.randn(4, 2, 8), nt.randn(3, 2, 8)

    def ff(layer, x):
        return layer.linear2(layer.linear1(x).relu())

    def sa(layer, x):
        return layer.self_attn(x, x, x)[0]

    def mha(x):
        return dec.multihead_attn(x, memory, memory)[0]

    if norm_first:
        y = x + sa(enc, enc.norm1(x))
        want_enc = y + ff(enc, enc.norm2(y))
        y = x + sa(dec, dec.norm1(x))
        y = y + mha(dec.norm2(y))
        want_dec = y + ff(dec, dec.norm3(y))
    else:
        y = enc.norm1(x + sa(enc, x))
        want_enc = enc.norm2(y + ff(enc, y))
        y = dec.norm1(x + sa(dec, x))
        y = dec.norm2(y + mha(y))
        want_dec = dec.norm3(y + ff(dec, y))
    np.testing.assert_allclose(_np(enc(x)), _np(want_enc), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(dec(x, memory)), _np(want_dec), rtol=1e-5, atol=1e-6)


def test_post_norm_layer_output_is_normalized_and_activation_is_checked():
    layer = TransformerEncoderLayer(8, 4, dim_feedforward=16)
    out = _np(layer(nt.randn(5, 2, 8)))
    np.testing.assert_allclose(out.mean(-1), 0, atol=1e-5)  # norm2 (weight 1, bias 0) is last
    assert TransformerEncoderLayer(8, 2, activation=nt.nn.functional.silu).activation is nt.nn.functional.silu
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        TransformerEncoderLayer(8, 2, activation="tanh")


# ---------------------------------------------------------------------- PyTorch
def _to_nt(t, grad: bool = True):
    return None if t is None else nt.tensor(t.detach().numpy(), requires_grad=grad and t.requires_grad)


def _compare(torch, run, inputs_t, ours=None, theirs=None, tol=3e-5) -> None:
    """``run(lib, *inputs)`` on both libraries: outputs, and the gradients of a random weighted
    sum w.r.t. the inputs and every parameter of ``ours``/``theirs`` (weights copied first)."""
    if ours is not None:
        ours.load_state_dict({k: nt.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    inputs_n = [_to_nt(t) for t in inputs_t]
    outs_t = [o for o in run(torch, *inputs_t) if o is not None]
    outs_n = [o for o in run(nt, *inputs_n) if o is not None]
    rng = np.random.default_rng(0)
    loss_t = loss_n = 0
    for a, b in zip(outs_t, outs_n, strict=True):
        assert tuple(a.shape) == b.shape
        np.testing.assert_allclose(_np(b), a.detach().numpy(), rtol=tol, atol=tol)
        w = rng.standard_normal(b.shape).astype(np.float32)
        loss_t, loss_n = loss_t + (a * torch.tensor(w)).sum(), loss_n + (b * nt.tensor(w)).sum()
    loss_t.backward()
    loss_n.backward()
    for a, b in zip(inputs_t, inputs_n, strict=True):
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), rtol=tol, atol=tol)
    if ours is not None:
        mine = dict(ours.named_parameters())
        for name, p in theirs.named_parameters():
            np.testing.assert_allclose(mine[name].grad.numpy(), p.grad.numpy(), rtol=tol, atol=tol,
                                       err_msg=name)


SDPA_CASES = [(None, False), ("bool", False), ("float", False), ("dead-row", False), (None, True)]


@pytest.mark.torch
@pytest.mark.parametrize("mask_kind, causal", SDPA_CASES)
def test_sdpa_matches_torch(mask_kind, causal):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 2, n, 4, requires_grad=True) for n in (3, 5, 5))
    mask = {"bool": torch.rand(3, 5) > 0.3, "float": torch.randn(3, 5),
            "dead-row": torch.tensor([[False] * 5, [True, False] * 2 + [True], [True] * 5])}.get(mask_kind)

    def run(lib, q, k, v):
        fn = scaled_dot_product_attention if lib is nt else torch.nn.functional.scaled_dot_product_attention
        return [fn(q, k, v, attn_mask=mask if lib is torch else _to_nt(mask), is_causal=causal, scale=0.7)]

    _compare(torch, run, [q, k, v])


MHA_CASES = [
    dict(options={}, masks="none", batched=True),
    dict(options={"batch_first": True, "bias": False}, masks="kpm", batched=True),
    dict(options={"add_bias_kv": True, "add_zero_attn": True}, masks="attn", batched=True),
    dict(options={"kdim": 3, "vdim": 5}, masks="both-float", batched=True),
    dict(options={"batch_first": True}, masks="attn3d", batched=False),
]


@pytest.mark.torch
@pytest.mark.parametrize("case", MHA_CASES, ids=[f"{c['masks']}-{sorted(c['options'])}" for c in MHA_CASES])
@pytest.mark.parametrize("need_weights, average", [(True, True), (True, False), (False, True)])
def test_mha_matches_torch(case, need_weights, average):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    options, batched = case["options"], case["batched"]
    theirs, ours = torch.nn.MultiheadAttention(4, 2, **options), MultiheadAttention(4, 2, **options)
    lead = (lambda n: ((2, n) if options.get("batch_first") else (n, 2))) if batched else (lambda n: (n,))
    q = torch.randn(*lead(3), 4, requires_grad=True)
    k = torch.randn(*lead(5), options.get("kdim", 4), requires_grad=True)
    v = torch.randn(*lead(5), options.get("vdim", 4), requires_grad=True)
    kpm = {"kpm": torch.tensor([[False, True, False, False, True], [False] * 5]),
           "both-float": torch.randn(2, 5)}.get(case["masks"])
    attn = {"attn": torch.rand(3, 5) > 0.6, "both-float": torch.randn(3, 5),
            "attn3d": torch.randn(2, 3, 5)}.get(case["masks"])

    def run(lib, q, k, v):
        module = theirs if lib is torch else ours
        convert = (lambda t: t) if lib is torch else _to_nt
        return module(q, k, v, key_padding_mask=convert(kpm), need_weights=need_weights,
                      attn_mask=convert(attn), average_attn_weights=average)

    _compare(torch, run, [q, k, v], ours, theirs)


TRANSFORMER_CASES = [("relu", False, False, "causal"), ("gelu", True, True, "kpm"),
                     ("relu", True, False, "kpm"), ("gelu", False, True, "causal")]


@pytest.mark.torch
@pytest.mark.parametrize("activation, norm_first, batch_first, masks", TRANSFORMER_CASES)
def test_transformer_matches_torch(activation, norm_first, batch_first, masks):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    kwargs = dict(dim_feedforward=16, dropout=0.0, activation=activation, norm_first=norm_first,
                  batch_first=batch_first)
    theirs = torch.nn.ModuleDict({
        "encoder": torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(8, 2, **kwargs), 2,
                                               norm=torch.nn.LayerNorm(8), enable_nested_tensor=False),
        "decoder": torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(8, 2, **kwargs), 2)})
    ours = nt.nn.ModuleDict({
        "encoder": TransformerEncoder(TransformerEncoderLayer(8, 2, **kwargs), 2, norm=nt.nn.LayerNorm(8)),
        "decoder": TransformerDecoder(TransformerDecoderLayer(8, 2, **kwargs), 2)})
    shape = (lambda n: (2, n, 8)) if batch_first else (lambda n: (n, 2, 8))
    src, tgt = torch.randn(*shape(5), requires_grad=True), torch.randn(*shape(4), requires_grad=True)
    padding = torch.tensor([[False] * 4 + [True], [False] * 5])

    def run(lib, src, tgt):
        model = theirs if lib is torch else ours
        if masks == "causal":
            make = torch.nn.Transformer.generate_square_subsequent_mask if lib is torch \
                else generate_square_subsequent_mask
            memory = model["encoder"](src, mask=make(5), is_causal=True)
            return memory, model["decoder"](tgt, memory, tgt_mask=make(4), tgt_is_causal=True)
        kpm = padding if lib is torch else _to_nt(padding)
        memory = model["encoder"](src, src_key_padding_mask=kpm)
        return memory, model["decoder"](tgt, memory, tgt_key_padding_mask=kpm[:, :4],
                                        memory_key_padding_mask=kpm)

    _compare(torch, run, [src, tgt], ours, theirs, tol=1e-4)
