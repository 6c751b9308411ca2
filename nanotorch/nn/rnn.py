"""Recurrent layers: ``RNNCell``, ``LSTMCell`` and ``GRUCell`` (one time step), and ``RNN``, ``LSTM``
and ``GRU`` (whole sequences, stacked layers, one or two directions).

Every layer is written with differentiable tensor ops (``F.linear``, ``sigmoid``, ``tanh``, ``cat``
...), so autograd backpropagates through time with no op of its own. Parameters have PyTorch's
names, shapes and gate order, so a PyTorch model's ``state_dict`` loads unchanged.

A step takes ``gx``, the input's part of the gates (``x @ weight_ih.T + bias_ih``, computed for a
whole sequence in one matmul), and the previous state; only the hidden state's part
(``h @ weight_hh.T + bias_hh``) is computed step by step.
"""

from __future__ import annotations

import math
import numbers
import warnings

from nanotorch import _dtype
from nanotorch.creation import empty, zeros
from nanotorch.functions import cat, stack
from nanotorch.nn import functional as F
from nanotorch.nn import init
from nanotorch.nn.module import Module
from nanotorch.nn.parameter import Parameter
from nanotorch.tensor import Tensor

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNCell",
           "gru_step", "lstm_step", "rnn_relu_step", "rnn_tanh_step"]


# ------------------------------------------------------------------ one time step
def rnn_tanh_step(gx: Tensor, h: Tensor, weight_hh: Tensor, bias_hh: Tensor | None) -> Tensor:
    """Elman RNN: ``h' = tanh(gx + h @ W_hh.T + b_hh)``, ``gx = x @ W_ih.T + b_ih``."""
    return (gx + F.linear(h, weight_hh, bias_hh)).tanh()


def rnn_relu_step(gx: Tensor, h: Tensor, weight_hh: Tensor, bias_hh: Tensor | None) -> Tensor:
    """Elman RNN with ReLU: ``h' = relu(gx + h @ W_hh.T + b_hh)``."""
    return F.relu(gx + F.linear(h, weight_hh, bias_hh))


def lstm_step(gx: Tensor, h: Tensor, c: Tensor, weight_hh: Tensor, bias_hh: Tensor | None,
              weight_hr: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """LSTM, gates in PyTorch's order ``i, f, g, o`` (the four row blocks of the weights)::

        i, f, g, o = split(gx + h @ W_hh.T + b_hh, 4)
        c' = sigmoid(f) * c + sigmoid(i) * tanh(g)
        h' = sigmoid(o) * tanh(c')            (then h' @ W_hr.T with a projection)
    """
    i, f, g, o = (gx + F.linear(h, weight_hh, bias_hh)).chunk(4, -1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
    return (h if weight_hr is None else F.linear(h, weight_hr)), c


def gru_step(gx: Tensor, h: Tensor, weight_hh: Tensor, bias_hh: Tensor | None) -> Tensor:
    """GRU, gates in PyTorch's order ``r, z, n``::

        r = sigmoid(gx_r + h @ W_hr.T + b_hr)
        z = sigmoid(gx_z + h @ W_hz.T + b_hz)
        n = tanh(gx_n + r * (h @ W_hn.T + b_hn))
        h' = (1 - z) * n + z * h
    """
    xr, xz, xn = gx.chunk(3, -1)
    hr, hz, hn = F.linear(h, weight_hh, bias_hh).chunk(3, -1)
    r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
    n = (xn + r * hn).tanh()
    return (1 - z) * n + z * h


RNN_STEPS = {"tanh": rnn_tanh_step, "relu": rnn_relu_step}


# --------------------------------------------------------------------- shared parts
def _check_sizes(input_size: int, hidden_size: int) -> None:
    for name, size in (("input_size", input_size), ("hidden_size", hidden_size)):
        if not isinstance(size, numbers.Integral) or isinstance(size, bool):
            raise TypeError(f"{name} should be of type int, got: {type(size).__name__}")
    if hidden_size <= 0:
        raise ValueError("hidden_size must be greater than zero")
    if input_size < 0:
        raise ValueError(f"input_size must be >= 0, got {input_size}")


def _check_nonlinearity(nonlinearity: str) -> None:
    if nonlinearity not in RNN_STEPS:
        raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")


def _new_parameter(*shape: int, dtype) -> Parameter:
    return Parameter(empty(*shape, dtype=dtype))


def _reset_uniform(module: Module, hidden_size: int) -> None:
    """PyTorch's init for every recurrent weight and bias: ``U(-1/sqrt(hidden), 1/sqrt(hidden))``."""
    bound = 1.0 / math.sqrt(hidden_size)
    for weight in module.parameters():
        init.uniform_(weight, -bound, bound)


# -------------------------------------------------------------------------- cells
class _CellBase(Module):
    """One time step: ``weight_ih[G*H, input_size]``, ``weight_hh[G*H, H]``, ``bias_ih[G*H]`` and
    ``bias_hh[G*H]`` (``G`` gates, ``H = hidden_size``). ``forward(input, hx)`` takes ``input[N,
    input_size]`` or unbatched ``[input_size]``; a missing state starts at zeros."""

    num_gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, dtype=None) -> None:
        super().__init__()
        _check_sizes(input_size, hidden_size)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        dtype = _dtype.to_dtype(dtype) or _dtype.DEFAULT_FLOAT
        gates = self.num_gates * hidden_size
        self.weight_ih = _new_parameter(gates, input_size, dtype=dtype)
        self.weight_hh = _new_parameter(gates, hidden_size, dtype=dtype)
        self.register_parameter("bias_ih", _new_parameter(gates, dtype=dtype) if bias else None)
        self.register_parameter("bias_hh", _new_parameter(gates, dtype=dtype) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_uniform(self, self.hidden_size)

    def _batched(self, input: Tensor, states: tuple, names: tuple[str, ...]) -> tuple[Tensor, tuple, bool]:
        """``input[N, input_size]`` and the states ``[N, H]`` (zeros for ``None``), checked; and
        whether the input was unbatched (then everything gains a batch dim of 1)."""
        cell = type(self).__name__
        if input.ndim not in (1, 2):
            raise ValueError(f"{cell}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        unbatched = input.ndim == 1
        x = input.unsqueeze(0) if unbatched else input
        if x.shape[1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {x.shape[1]}, expected "
                               f"{self.input_size}")
        batched_states = []
        for k, (state, name) in enumerate(zip(states, names)):
            if state is None:
                batched_states.append(zeros(x.shape[0], self.hidden_size, dtype=x.dtype))
                continue
            if state.ndim not in (1, 2):
                raise ValueError(f"{cell}: Expected {name} to be 1D or 2D, got {state.ndim}D instead")
            state = state.unsqueeze(0) if unbatched else state
            if state.shape[0] != x.shape[0]:
                raise RuntimeError(f"Input batch size {x.shape[0]} doesn't match hidden{k} batch size "
                                   f"{state.shape[0]}")
            if state.shape[1] != self.hidden_size:
                raise RuntimeError(f"hidden{k} has inconsistent hidden_size: got {state.shape[1]}, "
                                   f"expected {self.hidden_size}")
            batched_states.append(state)
        return x, tuple(batched_states), unbatched

    def _gx(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight_ih, self.bias_ih)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        return text if self.bias else text + ", bias=False"


def _unbatch(t: Tensor, unbatched: bool) -> Tensor:
    return t.squeeze(0) if unbatched else t


class RNNCell(_CellBase):
    """One step of an Elman RNN: ``h' = tanh(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)`` (or ``relu``
    with ``nonlinearity="relu"``). ``forward(input, hx=None) -> h'`` of shape ``[N, hidden_size]``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        if self.nonlinearity not in RNN_STEPS:  # checked here, as PyTorch, since it may be set later
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        x, (h,), unbatched = self._batched(input, (hx,), ("hidden",))
        step = RNN_STEPS[self.nonlinearity]
        return _unbatch(step(self._gx(x), h, self.weight_hh, self.bias_hh), unbatched)

    def extra_repr(self) -> str:
        text = super().extra_repr()
        return text if self.nonlinearity == "tanh" else f"{text}, nonlinearity={self.nonlinearity}"


class LSTMCell(_CellBase):
    """One LSTM step (``lstm_step``; gates ``i, f, g, o``, so the weights have ``4 * hidden_size``
    rows). ``forward(input, hx=None) -> (h', c')``, ``hx = (h, c)``."""

    num_gates = 4

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        x, (h, c), unbatched = self._batched(input, (None, None) if hx is None else tuple(hx),
                                             ("hx[0]", "hx[1]"))
        h, c = lstm_step(self._gx(x), h, c, self.weight_hh, self.bias_hh)
        return _unbatch(h, unbatched), _unbatch(c, unbatched)


class GRUCell(_CellBase):
    """One GRU step (``gru_step``; gates ``r, z, n``, so the weights have ``3 * hidden_size`` rows).
    ``forward(input, hx=None) -> h'``."""

    num_gates = 3

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), unbatched = self._batched(input, (hx,), ("hidden",))
        return _unbatch(gru_step(self._gx(x), h, self.weight_hh, self.bias_hh), unbatched)


# ---------------------------------------------------------------- whole sequences
class _RNNBase(Module):
    """``num_layers`` stacked recurrent layers, each run forward in time, and also backward when
    ``bidirectional`` (the two directions' outputs are concatenated); layer ``k > 0`` reads layer
    ``k - 1``'s output, through ``dropout`` in training.

    Parameters per layer ``k`` and direction (suffix ``_reverse`` for the backward one):
    ``weight_ih_l{k}[G*H, in_k]``, ``weight_hh_l{k}[G*H, H_out]``, ``bias_ih_l{k}``, ``bias_hh_l{k}``
    ``[G*H]`` (``in_0 = input_size``, ``in_k = D * H_out``, ``D`` = 1 or 2 directions, ``H_out =
    hidden_size``, or ``proj_size`` for an LSTM with ``weight_hr_l{k}[proj_size, H]``); all
    ``U(-1/sqrt(H), 1/sqrt(H))``.

    ``forward(input, hx=None)``: ``input[L, N, input_size]`` (``[N, L, input_size]`` when
    ``batch_first``) or unbatched ``[L, input_size]``; the state has ``[D * num_layers, N, H_out]``
    (never batch first; row ``layer * D + direction``), zeros when not given. Returns ``output[L, N,
    D * H_out]`` (the last layer's ``h`` at every step) and the final state(s) in the same layout
    as the initial one.
    """

    num_gates = 1
    state_names: tuple[str, ...] = ("hx",)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, dtype=None) -> None:
        super().__init__()
        _check_sizes(input_size, hidden_size)
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero "
                          f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
                          f"num_layers={num_layers}", stacklevel=2)
        if not isinstance(num_layers, numbers.Integral) or num_layers <= 0:
            raise ValueError(f"num_layers must be greater than zero, got {num_layers}")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        self._add_parameters(_dtype.to_dtype(dtype) or _dtype.DEFAULT_FLOAT)
        self.reset_parameters()

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def output_size(self) -> int:
        """``H_out``: the size of ``h`` (``proj_size`` when projecting, else ``hidden_size``)."""
        return self.proj_size or self.hidden_size

    def _suffix(self, layer: int, direction: int) -> str:
        return f"_l{layer}" + ("_reverse" if direction else "")

    def _add_parameters(self, dtype) -> None:
        gates = self.num_gates * self.hidden_size
        for layer in range(self.num_layers):
            layer_input = self.input_size if layer == 0 else self.output_size * self.num_directions
            for direction in range(self.num_directions):
                suffix = self._suffix(layer, direction)
                setattr(self, "weight_ih" + suffix, _new_parameter(gates, layer_input, dtype=dtype))
                setattr(self, "weight_hh" + suffix, _new_parameter(gates, self.output_size, dtype=dtype))
                if self.bias:
                    setattr(self, "bias_ih" + suffix, _new_parameter(gates, dtype=dtype))
                    setattr(self, "bias_hh" + suffix, _new_parameter(gates, dtype=dtype))
                if self.proj_size:
                    setattr(self, "weight_hr" + suffix, _new_parameter(self.proj_size, self.hidden_size,
                                                                       dtype=dtype))

    def reset_parameters(self) -> None:
        _reset_uniform(self, self.hidden_size)

    def flatten_parameters(self) -> None:
        """Nothing to do (PyTorch packs the weights into one buffer for cuDNN); kept so PyTorch
        code that calls it runs."""

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters of each layer and direction, in ``state_dict`` order."""
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")
        return [[getattr(self, name + self._suffix(layer, direction)) for name in names
                 if name + self._suffix(layer, direction) in self._parameters]
                for layer in range(self.num_layers) for direction in range(self.num_directions)]

    def _step(self, gx: Tensor, state: tuple, layer: int, direction: int) -> tuple:
        """One time step of one layer and direction: the new state tuple."""
        raise NotImplementedError

    def _weights(self, name: str, layer: int, direction: int) -> Tensor | None:
        return getattr(self, name + self._suffix(layer, direction), None)

    def _state_sizes(self) -> tuple[int, ...]:
        """The last dim of each state tensor (LSTM: ``h`` and ``c``)."""
        return (self.output_size,)

    def _initial_states(self, hx, batched: bool, batch: int, dtype) -> list[tuple]:
        """``hx`` (a tensor, a tuple for LSTM, or ``None`` for zeros) checked and cut into one state
        tuple per layer and direction."""
        rows = self.num_layers * self.num_directions
        if hx is None:
            return [tuple(zeros(batch, size, dtype=dtype) for size in self._state_sizes())] * rows
        states = (hx,) if isinstance(hx, Tensor) else tuple(hx)
        dims = ", ".join(f"{s.ndim}-D" for s in states)
        dims, plural = (f"({dims})", "s") if len(states) > 1 else (dims, "")
        names = " and ".join(self.state_names)
        if batched and any(s.ndim != 3 for s in states):
            raise RuntimeError(f"For batched 3-D input, {names} should also be 3-D but got {dims} "
                               f"tensor{plural}")
        if not batched:
            if any(s.ndim != 2 for s in states):
                raise RuntimeError(f"For unbatched 2-D input, {names} should also be 2-D but got {dims} "
                                   f"tensor{plural}")
            states = tuple(s.unsqueeze(1) for s in states)
        for k, (state, size) in enumerate(zip(states, self._state_sizes())):
            expected = (rows, batch, size)
            if tuple(state.shape) != expected:
                label = "hidden" if len(states) == 1 else f"hidden[{k}]"
                raise RuntimeError(f"Expected {label} size {expected}, got {list(state.shape)}")
        return list(zip(*(s.unbind(0) for s in states)))

    def _run_direction(self, x: Tensor, state: tuple, layer: int, direction: int) -> tuple[Tensor, tuple]:
        """One layer in one direction over ``x[L, N, in]``: ``(h at every step [L, N, H_out], final
        state)``. The backward direction reads the steps last to first and stores them in place."""
        gx = F.linear(x, self._weights("weight_ih", layer, direction),
                      self._weights("bias_ih", layer, direction))
        steps = gx.unbind(0)
        outputs = []
        for gx_t in (reversed(steps) if direction else steps):
            state = self._step(gx_t, state, layer, direction)
            outputs.append(state[0])
        if direction:
            outputs.reverse()
        return stack(outputs), state

    def forward(self, input: Tensor, hx=None):
        name = type(self).__name__
        if input.ndim not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D tensor instead")
        batched = input.ndim == 3
        x = input.unsqueeze(1) if not batched else input.transpose(0, 1) if self.batch_first else input
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {x.shape[-1]}")
        if x.shape[0] == 0:
            raise RuntimeError(f"Expected sequence length to be larger than 0 in {name}")
        states = self._initial_states(hx, batched, x.shape[1], x.dtype)
        finals = []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                out, final = self._run_direction(x, states[layer * self.num_directions + direction],
                                                 layer, direction)
                outputs.append(out)
                finals.append(final)
            x = cat(outputs, -1) if self.bidirectional else outputs[0]
            if layer < self.num_layers - 1 and self.dropout > 0 and self.training:
                x = F.dropout(x, self.dropout)
        output = x.squeeze(1) if not batched else x.transpose(0, 1) if self.batch_first else x
        final_states = tuple(stack(list(s)) for s in zip(*finals))
        if not batched:
            final_states = tuple(s.squeeze(1) for s in final_states)
        return output, final_states[0] if len(final_states) == 1 else final_states

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            text += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text


class RNN(_RNNBase):
    """Elman RNN over a sequence (``rnn_tanh_step`` or ``rnn_relu_step`` at each step); see
    ``_RNNBase`` for the shapes. ``forward(input, hx=None) -> (output, h_n)``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, dtype=None) -> None:
        _check_nonlinearity(nonlinearity)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype=dtype)
        self.nonlinearity = nonlinearity

    def _step(self, gx: Tensor, state: tuple, layer: int, direction: int) -> tuple:
        step = RNN_STEPS[self.nonlinearity]
        return (step(gx, state[0], self._weights("weight_hh", layer, direction),
                     self._weights("bias_hh", layer, direction)),)

    def extra_repr(self) -> str:
        text = super().extra_repr()
        return text if self.nonlinearity == "tanh" else f"{text}, nonlinearity={self.nonlinearity}"


class LSTM(_RNNBase):
    """LSTM over a sequence (``lstm_step`` at each step; gates ``i, f, g, o``); see ``_RNNBase``
    for the shapes. ``forward(input, hx=None) -> (output, (h_n, c_n))`` with ``hx = (h_0, c_0)``;
    ``c`` has ``hidden_size`` features and ``h`` has ``proj_size`` when ``proj_size > 0``
    (``h = (o * tanh(c)) @ weight_hr.T``)."""

    num_gates = 4
    state_names = ("hx", "cx")

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, dtype=None) -> None:
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, dtype)

    def _state_sizes(self) -> tuple[int, ...]:
        return self.output_size, self.hidden_size

    def _step(self, gx: Tensor, state: tuple, layer: int, direction: int) -> tuple:
        h, c = state
        return lstm_step(gx, h, c, self._weights("weight_hh", layer, direction),
                         self._weights("bias_hh", layer, direction),
                         self._weights("weight_hr", layer, direction))


class GRU(_RNNBase):
    """GRU over a sequence (``gru_step`` at each step; gates ``r, z, n``); see ``_RNNBase`` for the
    shapes. ``forward(input, hx=None) -> (output, h_n)``."""

    num_gates = 3

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype=dtype)

    def _step(self, gx: Tensor, state: tuple, layer: int, direction: int) -> tuple:
        return (gru_step(gx, state[0], self._weights("weight_hh", layer, direction),
                         self._weights("bias_hh", layer, direction)),)
