"""Resizing: ``interpolate`` (nearest, linear, bilinear, area) and ``pixel_shuffle`` /
``pixel_unshuffle`` (channels to pixels and back)."""

from __future__ import annotations

from numbers import Integral

from nanotorch.nn.functional._common import _check_float_input, _resample
from nanotorch.nn.functional.pooling import adaptive_avg_pool1d, adaptive_avg_pool2d
from nanotorch.ops.resample import linear_matrix, nearest_matrix
from nanotorch.tensor import Tensor

INTERPOLATE_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "area")


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial dims of ``input[N, C, L]`` or ``input[N, C, H, W]`` to ``size`` (an int
    for every dim, or one per dim) or to ``floor(side * scale_factor)``.

    ``mode``: ``"nearest"`` copies input ``floor(i * s)`` (``s = in / out``, or ``1 / scale_factor``
    when given, unless ``recompute_scale_factor``), ``"nearest-exact"`` input ``floor((i + 0.5) * s)``;
    ``"linear"`` (3-D) and ``"bilinear"`` (4-D) blend the two (four) nearest inputs, the sample
    points set by ``align_corners`` (see ``nanotorch.ops.resample.linear_matrix``); ``"area"`` is
    ``adaptive_avg_pool``. Each is a matrix per spatial dim, so the gradient is its transpose.
    """
    if mode in ("nearest", "nearest-exact", "area"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    _check_float_input("interpolate", input)
    if mode not in INTERPOLATE_MODES:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not implemented; the modes are "
                                  f"{INTERPOLATE_MODES}")
    dims = input.ndim - 2
    if dims not in (1, 2):
        raise NotImplementedError(f"interpolate: expected 3-D [N, C, L] or 4-D [N, C, H, W] input, got "
                                  f"{tuple(input.shape)}")
    needs = {"linear": 3, "bilinear": 4}.get(mode, input.ndim)
    if needs != input.ndim:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {needs}D input")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not implemented")
    sizes, scales = _interpolate_sizes(input, size, scale_factor, recompute_scale_factor)
    if mode == "area":
        return (adaptive_avg_pool1d, adaptive_avg_pool2d)[dims - 1](input, sizes)
    if mode in ("linear", "bilinear"):
        matrices = [linear_matrix(n, o, s, bool(align_corners))
                    for n, o, s in zip(input.shape[2:], sizes, scales)]
    else:
        matrices = [nearest_matrix(n, o, s, exact=mode == "nearest-exact", shortcuts=dims == 2)
                    for n, o, s in zip(input.shape[2:], sizes, scales)]
    return _resample(input, matrices)


def _interpolate_sizes(input: Tensor, size, scale_factor, recompute: bool | None) -> tuple[list, list]:
    """``interpolate``'s output sizes, and the scale factors its kernels sample with (``None``:
    use ``in / out``; so for ``size``, and for ``scale_factor`` when ``recompute``)."""
    spatial = list(input.shape[2:])
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined" if size is not None
                         else "either size or scale_factor should be defined")
    if size is not None:
        if recompute:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        sizes = list(size) if isinstance(size, (tuple, list)) else [size] * len(spatial)
        if len(sizes) != len(spatial):
            raise ValueError(f"Input and output must have the same number of spatial dimensions, but got "
                             f"input with spatial dimensions of {spatial} and output size of {size}.")
        if not all(isinstance(s, Integral) for s in sizes):
            raise TypeError(f"interpolate: size must be an int or a tuple of ints, got {size!r}")
        scales = [None] * len(spatial)
    else:
        scales = (list(scale_factor) if isinstance(scale_factor, (tuple, list))
                  else [scale_factor] * len(spatial))
        if len(scales) != len(spatial):
            raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but "
                             f"got input with spatial dimensions of {spatial} and scale_factor of shape "
                             f"{scale_factor}.")
        sizes = [int(n * float(s)) for n, s in zip(spatial, scales)]
        scales = [None] * len(spatial) if recompute else [float(s) for s in scales]
    if min(sizes) <= 0 or min(spatial) <= 0:
        raise ValueError(f"interpolate: input and output sizes should be greater than 0, but got input "
                         f"{spatial} and output {sizes}")
    return sizes, scales


def _check_shuffle(op: str, input: Tensor, factor: int, factor_name: str) -> None:
    if not isinstance(factor, Integral) or factor < 1:
        raise ValueError(f"{op}: {factor_name} must be a positive int, got {factor!r}")
    if input.ndim < 3:
        raise ValueError(f"{op} expects input to have at least 3 dimensions, but got input with "
                         f"{input.ndim} dimension(s)")


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """``[*, C*r*r, H, W] -> [*, C, H*r, W*r]`` (``r = upscale_factor``): each group of ``r*r``
    channels becomes an ``r x r`` block of pixels, ``out[c, h*r + i, w*r + j] = in[c*r*r + i*r + j,
    h, w]``. A reshape and a permute, so the gradient moves back the same way."""
    _check_shuffle("pixel_shuffle", input, upscale_factor, "upscale_factor")
    r = int(upscale_factor)
    *batch, c, h, w = input.shape
    if c % (r * r):
        raise ValueError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the "
                         f"square of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    n = len(batch)
    blocks = input.reshape(*batch, c // (r * r), r, r, h, w)
    order = (*range(n), n, n + 3, n + 1, n + 4, n + 2)  # [*, C, H, r, W, r]
    return blocks.permute(*order).reshape(*batch, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """``[*, C, H*r, W*r] -> [*, C*r*r, H, W]``: the inverse of ``pixel_shuffle``, each ``r x r``
    block of pixels becoming ``r*r`` channels."""
    _check_shuffle("pixel_unshuffle", input, downscale_factor, "downscale_factor")
    r = int(downscale_factor)
    *batch, c, h, w = input.shape
    if h % r or w % r:
        raise ValueError(f"pixel_unshuffle expects height and width to be divisible by downscale_factor, "
                         f"but input of shape {tuple(input.shape)} is not divisible by {r}")
    n = len(batch)
    blocks = input.reshape(*batch, c, h // r, r, w // r, r)
    order = (*range(n), n, n + 2, n + 4, n + 1, n + 3)  # [*, C, r, r, H, W]
    return blocks.permute(*order).reshape(*batch, c * r * r, h // r, w // r)
