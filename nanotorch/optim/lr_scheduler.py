"""Learning-rate schedulers (PyTorch's ``torch.optim.lr_scheduler``).

A scheduler rewrites ``group["lr"]`` of its optimizer's parameter groups each time
``step()`` is called (once per epoch, after ``optimizer.step()``; OneCycleLR and CyclicLR
once per batch). Creating one applies epoch 0 at once. Like PyTorch's, the "chainable"
schedulers (StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR, MultiplicativeLR,
PolynomialLR, CosineAnnealingLR) update the current ``lr`` multiplicatively, so they
compose with other changes to it (ChainedScheduler); the closed forms in their docstrings
are what they give when nothing else touches ``lr``.
"""

from __future__ import annotations

import copy
import math
import numbers
import types
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence

from nanotorch.optim.optimizer import Optimizer


class LRScheduler:
    """Base class: subclasses define :meth:`get_lr`, the lrs for epoch ``last_epoch``.

    ``last_epoch=-1`` starts a schedule (each group's ``lr`` is kept as its
    ``initial_lr``); a larger value resumes one, and needs ``initial_lr`` in every group.
    A subclass that can compute epoch ``t``'s lrs from ``base_lrs`` alone defines
    ``_closed_form()`` too (SequentialLR uses it to restart a scheduler at epoch 0).
    """

    _unsaved: tuple[str, ...] = ("optimizer",)  # attributes state_dict leaves out
    _is_initial = False  # True during the step made on creation

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        groups = optimizer.param_groups
        if last_epoch == -1:
            for group in groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] when "
                                   "resuming a schedule (last_epoch != -1): load the optimizer's "
                                   "state first")
        self.base_lrs = [group["initial_lr"] for group in groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """The step made on creation (chainable schedulers keep the current lr in it)."""
        self._step_count = 0  # step() calls, as PyTorch counts them (kept in state_dict)
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The lr of every group for epoch ``last_epoch`` (called by :meth:`step`)."""
        raise NotImplementedError

    def step(self) -> None:
        """Move to the next epoch and set each group's ``lr``."""
        self._step_count += 1
        self.last_epoch += 1
        self._set_lrs(self.get_lr())

    def _restart(self) -> None:
        """Jump to epoch 0 without counting a step (SequentialLR at a milestone): the lrs
        of the closed form if the scheduler has one, else of :meth:`get_lr`."""
        self.last_epoch = 0
        closed_form = getattr(self, "_closed_form", None)
        self._set_lrs(closed_form() if closed_form is not None else self.get_lr())

    def _set_lrs(self, lrs: Iterable[float]) -> None:
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = self._current_lrs()

    def get_last_lr(self) -> list[float]:
        """The lrs set by the last :meth:`step`, one per parameter group."""
        return list(self._last_lr)

    def _current_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        """A copy of every attribute but the optimizer."""
        return {k: copy.deepcopy(v) for k, v in self.__dict__.items() if k not in self._unsaved}

    def load_state_dict(self, state_dict: Mapping) -> None:
        """Restore attributes saved by :meth:`state_dict`."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"a scheduler state_dict is a dict, not {type(state_dict).__name__}")
        unknown = set(state_dict) - set(self.__dict__) | set(state_dict) & set(self._unsaved)
        if unknown:
            raise ValueError(f"unexpected keys in {type(self).__name__}'s state_dict: {sorted(unknown)}")
        self.__dict__.update(copy.deepcopy(dict(state_dict)))


class _LRScheduler(LRScheduler):
    """The old name of :class:`LRScheduler`, still exported for code that subclasses it."""


class _FunctionScheduler(LRScheduler):
    """A scheduler driven by ``lr_lambdas``, one function of the epoch per group (given as
    one function for all groups or a list); of these, state_dict keeps what it can."""

    _unsaved = ("optimizer", "lr_lambdas")

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float] | list,
                 last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        n_groups = len(optimizer.param_groups)
        lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * n_groups
        if len(lambdas) != n_groups:
            raise ValueError(f"Expected {n_groups} lr_lambdas, but got {len(lambdas)}")
        if not all(callable(f) for f in lambdas):
            raise TypeError("lr_lambda must be a function of the epoch (or a list of them)")
        self.lr_lambdas = lambdas
        super().__init__(optimizer, last_epoch)

    def state_dict(self) -> dict:
        """As the base, but of the lambdas only callable objects' attributes are kept
        (functions can't be saved): ``lr_lambdas`` holds their ``__dict__`` or None."""
        state = super().state_dict()
        state["lr_lambdas"] = [_callable_state(f) for f in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: Mapping) -> None:
        state = dict(state_dict)
        saved = state.pop("lr_lambdas", [None] * len(self.lr_lambdas))
        super().load_state_dict(state)
        for f, attributes in zip(self.lr_lambdas, saved):
            _restore_callable(f, attributes)


class LambdaLR(_FunctionScheduler):
    """``lr = initial_lr * lr_lambda(epoch)``, with one function or one per group."""

    def get_lr(self) -> list[float]:
        return [base * f(self.last_epoch) for f, base in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(_FunctionScheduler):
    """Multiply lr by ``lr_lambda(epoch)`` at every epoch but 0, with one function or one
    per group: ``lr = initial_lr * lr_lambda(1) * ... * lr_lambda(epoch)``."""

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._current_lrs()
        return [lr * f(self.last_epoch) for f, lr in zip(self.lr_lambdas, self._current_lrs())]


class StepLR(LRScheduler):
    """Multiply lr by ``gamma`` every ``step_size`` epochs:
    ``lr = initial_lr * gamma ** (epoch // step_size)``."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.step_size, self.gamma = _positive("step_size", step_size), gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _closed_form(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply lr by ``gamma`` at each milestone epoch (by ``gamma**k`` if it is
    listed k times): ``lr = initial_lr * gamma ** (number of milestones <= epoch)``."""

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        milestones = list(milestones)
        if not all(_is_whole_number(m) for m in milestones):
            raise ValueError(f"milestones must be epoch numbers (ints), not {milestones!r}")
        self.milestones, self.gamma = Counter(int(m) for m in milestones), gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        times = self.milestones.get(self.last_epoch, 0)
        if not times:
            return self._current_lrs()
        return [lr * self.gamma ** times for lr in self._current_lrs()]

    def _closed_form(self) -> list[float]:
        passed = sum(n for m, n in self.milestones.items() if m <= self.last_epoch)
        return [base * self.gamma ** passed for base in self.base_lrs]


class ConstantLR(LRScheduler):
    """Multiply lr by ``factor`` until epoch ``total_iters``:
    ``lr = initial_lr * (factor if epoch < total_iters else 1)``."""

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        if not 0 <= factor <= 1:
            raise ValueError(f"Constant multiplicative factor expected to be between 0 and 1, not {factor}")
        self.factor, self.total_iters = factor, _nonnegative("total_iters", total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [lr * self.factor for lr in self._current_lrs()]
        if self.last_epoch != self.total_iters:
            return self._current_lrs()
        return [lr * (1.0 / self.factor) for lr in self._current_lrs()]

    def _closed_form(self) -> list[float]:
        factor = self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor)
        return [base * factor for base in self.base_lrs]


class LinearLR(LRScheduler):
    """Scale lr by a factor going linearly from ``start_factor`` to ``end_factor`` over
    ``total_iters`` epochs, then kept:
    ``lr = initial_lr * (start + (end - start) * min(epoch, total_iters) / total_iters)``.

    From the previous lr: ``lr_t = lr_{t-1} * (1 + (end - start) / (total_iters * start
    + (t - 1) * (end - start)))``.
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1) -> None:
        if not 0 < start_factor <= 1:
            raise ValueError("Starting multiplicative factor expected to be greater than 0 and less "
                             f"or equal to 1, not {start_factor}")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"Ending multiplicative factor expected to be between 0 and 1, not {end_factor}")
        self.start_factor, self.end_factor = start_factor, end_factor
        self.total_iters = _nonnegative("total_iters", total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, start, change = self.last_epoch, self.start_factor, self.end_factor - self.start_factor
        if t == 0:
            return [lr * start for lr in self._current_lrs()]
        if self._is_initial or t > self.total_iters:
            return self._current_lrs()
        ratio = 1.0 + change / (self.total_iters * start + (t - 1) * change)
        return [lr * ratio for lr in self._current_lrs()]

    def _closed_form(self) -> list[float]:
        done = min(self.total_iters, self.last_epoch)
        factor = self.start_factor + (self.end_factor - self.start_factor) * done / self.total_iters
        return [base * factor for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply lr by ``gamma`` every epoch: ``lr = initial_lr * gamma ** epoch``."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _closed_form(self) -> list[float]:
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Decay lr to 0 over ``total_iters`` epochs, then keep it:
    ``lr = initial_lr * (1 - min(epoch, total_iters) / total_iters) ** power``.

    From the previous lr: ``lr_t = lr_{t-1} * ((1 - t / T) / (1 - (t - 1) / T)) ** power``.
    """

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0,
                 last_epoch: int = -1) -> None:
        self.total_iters, self.power = _nonnegative("total_iters", total_iters), power
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, T = self.last_epoch, self.total_iters
        if self._is_initial or t > T:
            return self._current_lrs()
        ratio = ((1.0 - t / T) / (1.0 - (t - 1) / T)) ** self.power
        return [lr * ratio for lr in self._current_lrs()]

    def _closed_form(self) -> list[float]:
        factor = (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters) ** self.power
        return [base * factor for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine from ``initial_lr`` down to ``eta_min`` over ``T_max`` epochs (and back up
    over the next ``T_max``):
    ``lr = eta_min + (initial_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2``.

    Computed as PyTorch does, from the previous lr:
    ``lr_t = eta_min + (lr_{t-1} - eta_min) * (1 + cos(pi t / T)) / (1 + cos(pi (t-1) / T))``,
    except at the bottom (``t - 1 = T mod 2T``) where that ratio is 0/0 and the step
    ``(initial_lr - eta_min) * (1 - cos(pi / T)) / 2`` is added instead.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        self.T_max, self.eta_min = _positive("T_max", T_max), eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if (t - 1 - T) % (2 * T) == 0:
            return [lr + (base - eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for lr, base in zip(self._current_lrs(), self.base_lrs)]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [eta_min + (lr - eta_min) * ratio for lr in self._current_lrs()]

    def _closed_form(self) -> list[float]:
        cosine = 1 + math.cos(math.pi * self.last_epoch / self.T_max)
        return [self.eta_min + (base - self.eta_min) * cosine / 2 for base in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing restarted every ``T_i`` epochs (SGDR):
    ``lr = eta_min + (initial_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2``, where
    ``T_cur`` counts the epochs since the last restart; the first period is ``T_0`` epochs
    and each next one ``T_mult`` times longer.

    ``step()`` moves one epoch on; ``step(epoch)`` jumps to ``epoch``, which may be
    fractional (e.g. ``step(epoch + i / batches)`` after batch ``i``).
    """

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        if not _is_whole_number(T_0) or T_0 <= 0:
            raise ValueError(f"Expected positive integer T_0, but got {T_0!r}")
        if not _is_whole_number(T_mult) or T_mult < 1:
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult!r}")
        if isinstance(eta_min, bool) or not isinstance(eta_min, numbers.Real):
            raise ValueError(f"Expected float or int eta_min, but got {eta_min!r}")
        self.T_0 = self.T_i = int(T_0)
        self.T_mult, self.eta_min = int(T_mult), eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        cosine = 1 + math.cos(math.pi * self.T_cur / self.T_i)
        return [self.eta_min + (base - self.eta_min) * cosine / 2 for base in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        """Move to the next epoch, or to ``epoch``, and set each group's ``lr``."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur, self.T_i = self.T_cur % self.T_i, self.T_i * self.T_mult
        else:
            self._seek(epoch)
        self.last_epoch = math.floor(epoch)
        self._set_lrs(self.get_lr())

    def _seek(self, epoch: float) -> None:
        """Set ``T_i`` and ``T_cur`` for ``epoch``: period n starts at epoch
        ``T_0 * (T_mult**n - 1) / (T_mult - 1)`` (at ``n * T_0`` when ``T_mult`` is 1)."""
        if epoch < 0:
            raise ValueError(f"Expected non-negative epoch, but got {epoch}")
        if epoch < self.T_0:
            self.T_i, self.T_cur = self.T_0, epoch
        elif self.T_mult == 1:
            self.T_cur = epoch % self.T_0
        else:
            n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
            self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
            self.T_i = self.T_0 * self.T_mult ** n


class ReduceLROnPlateau(LRScheduler):
    """Multiply lr by ``factor`` when a metric has stopped improving: call ``step(metric)``
    once per epoch.

    ``metric`` improves on the best so far if it is below ``best * (1 - threshold)``
    (mode 'min', threshold_mode 'rel') or ``best - threshold`` ('abs'); in mode 'max', above
    ``best * (1 + threshold)`` or ``best + threshold``. After more than ``patience``
    epochs in a row without improvement each group's lr becomes
    ``max(lr * factor, min_lr)`` (left alone if that changes it by ``eps`` or less), and
    the next ``cooldown`` epochs count as neither good nor bad.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float | list[float] = 0, eps: float = 1e-8) -> None:
        if factor >= 1.0:
            raise ValueError(f"Factor should be < 1.0, not {factor}")
        _check_optimizer(optimizer)
        self.optimizer, self.factor = optimizer, factor
        self.default_min_lr = None if isinstance(min_lr, (list, tuple)) else min_lr
        self.min_lrs = _per_group("min_lr", optimizer, min_lr)
        self.patience, self.cooldown, self.eps = patience, cooldown, eps
        _check_plateau_modes(mode, threshold_mode)
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.last_epoch = 0
        self._last_lr = self._current_lrs()
        self.best, self.num_bad_epochs, self.cooldown_counter = self.mode_worse, 0, 0

    @property
    def in_cooldown(self) -> bool:
        """Whether the epochs after a reduction are still being ignored."""
        return self.cooldown_counter > 0

    def step(self, metrics: float) -> None:
        """Record this epoch's ``metrics`` (a number or one-element Tensor) and reduce the
        lrs if it has not improved for more than ``patience`` epochs."""
        current = float(metrics)
        self.last_epoch += 1
        if self._is_better(current):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self._reduce_lrs()
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = self._current_lrs()

    def _is_better(self, value: float) -> bool:
        best, threshold = self.best, self.threshold
        if self.mode == "min":
            return value < (best * (1.0 - threshold) if self.threshold_mode == "rel" else best - threshold)
        return value > (best * (threshold + 1.0) if self.threshold_mode == "rel" else best + threshold)

    def _reduce_lrs(self) -> None:
        groups = self.optimizer.param_groups
        if len(self.min_lrs) != len(groups):  # a group was added since
            if self.default_min_lr is None:
                raise RuntimeError(f"the optimizer has {len(groups)} param groups but min_lrs has "
                                   f"{len(self.min_lrs)}: set min_lrs to one value per group")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, min_lr)
            if old - new > self.eps:
                group["lr"] = new

    def load_state_dict(self, state_dict: Mapping) -> None:
        if isinstance(state_dict, Mapping):
            _check_plateau_modes(state_dict.get("mode", self.mode),
                                 state_dict.get("threshold_mode", self.threshold_mode))
        super().load_state_dict(state_dict)


def _check_plateau_modes(mode: str, threshold_mode: str) -> None:
    if mode not in ("min", "max"):
        raise ValueError(f"mode {mode!r} is unknown: use 'min' or 'max'")
    if threshold_mode not in ("rel", "abs"):
        raise ValueError(f"threshold mode {threshold_mode!r} is unknown: use 'rel' or 'abs'")


class CyclicLR(LRScheduler):
    """Cyclical learning rates, stepped once per batch: lr rises linearly from ``base_lr`` to
    ``max_lr`` over ``step_size_up`` steps and falls back over ``step_size_down``
    (default: as many), the rise scaled by ``scale_fn``: 1 ('triangular'),
    ``1 / 2 ** (cycle - 1)`` ('triangular2', cycles counted from 1), ``gamma ** step``
    ('exp_range'), or your function of the cycle or of the step (``scale_mode``):
    ``lr = base_lr + (max_lr - base_lr) * rise * scale_fn(...)`` with ``rise`` in [0, 1].

    With ``cycle_momentum`` the momentum (SGD's ``momentum``, Adam's ``beta1``) moves the
    other way: ``max_momentum - (max_momentum - base_momentum) * rise * scale_fn(...)``.
    """

    _unsaved = ("optimizer", "_scale_fn_custom")

    def __init__(self, optimizer: Optimizer, base_lr: float | list[float], max_lr: float | list[float],
                 step_size_up: int = 2000, step_size_down: int | None = None, mode: str = "triangular",
                 gamma: float = 1.0, scale_fn: Callable[[float], float] | None = None,
                 scale_mode: str = "cycle", cycle_momentum: bool = True,
                 base_momentum: float | list[float] = 0.8, max_momentum: float | list[float] = 0.9,
                 last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        base_lrs = _per_group("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for group, lr in zip(optimizer.param_groups, base_lrs):
                group["lr"] = lr
        self.max_lrs = _per_group("max_lr", optimizer, max_lr)
        up = float(_positive("step_size_up", step_size_up))
        down = up if step_size_down is None else float(_positive("step_size_down", step_size_down))
        self.total_size, self.step_ratio = up + down, up / (up + down)
        if scale_fn is None:
            if mode not in _CYCLE_SCALE_MODES:
                raise ValueError(f"mode {mode!r} is invalid (use one of {sorted(_CYCLE_SCALE_MODES)}) "
                                 "and scale_fn is None")
            scale_mode = _CYCLE_SCALE_MODES[mode]
        elif not callable(scale_fn):
            raise TypeError(f"scale_fn must be a function, not {type(scale_fn).__name__}")
        if scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"scale_mode must be 'cycle' or 'iterations', not {scale_mode!r}")
        self.mode, self.gamma, self.scale_mode, self._scale_fn_custom = mode, gamma, scale_mode, scale_fn
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1, self.base_momentums, self.max_momentums = _setup_momentum(
                optimizer, base_momentum, max_momentum, start=last_epoch == -1)
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs  # as PyTorch: the step made on creation used the groups' initial_lr

    def scale_fn(self, x: float) -> float:
        """How much of the amplitude cycle (or step) ``x`` gets."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x

    def get_lr(self) -> list[float]:
        """The lrs at step ``last_epoch`` (and, with ``cycle_momentum``, set the momentums)."""
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle  # where in the cycle, 0 to 1
        rise = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        if self.cycle_momentum:
            for group, low, high in zip(self.optimizer.param_groups, self.base_momentums, self.max_momentums):
                _set_momentum(group, high - (high - low) * rise * scale, self.use_beta1)
        return [low + (high - low) * rise * scale for low, high in zip(self.base_lrs, self.max_lrs)]

    def state_dict(self) -> dict:
        """As the base; of a custom ``scale_fn`` only a callable object's attributes are kept."""
        state = super().state_dict()
        fn = self._scale_fn_custom
        state["_scale_fn_custom"] = None if fn is None else _callable_state(fn)
        return state

    def load_state_dict(self, state_dict: Mapping) -> None:
        state = dict(state_dict)
        saved = state.pop("_scale_fn_custom", None)
        super().load_state_dict(state)
        if self._scale_fn_custom is not None:
            _restore_callable(self._scale_fn_custom, saved)


_CYCLE_SCALE_MODES = {"triangular": "cycle", "triangular2": "cycle", "exp_range": "iterations"}


class OneCycleLR(LRScheduler):
    """The 1cycle policy, stepped once per batch for ``total_steps`` (or ``epochs *
    steps_per_epoch``) steps: lr rises from ``initial_lr = max_lr / div_factor`` to
    ``max_lr`` over the first ``pct_start`` of the steps, then falls to
    ``min_lr = initial_lr / final_div_factor``. With ``three_phase`` it first falls back to
    ``initial_lr`` over as many steps as it rose, then to ``min_lr``.

    Each phase goes from ``start`` to ``end`` as ``pct`` goes from 0 to 1: ``end + (start
    - end) * (1 + cos(pi * pct)) / 2`` ('cos') or ``start + (end - start) * pct`` ('linear').
    With ``cycle_momentum`` the momentum (SGD's ``momentum``, Adam's ``beta1``) moves the
    other way, between ``max_momentum`` and ``base_momentum``. The groups keep
    ``initial_lr``, ``max_lr``, ``min_lr`` (and ``max_momentum``, ``base_momentum``).
    """

    def __init__(self, optimizer: Optimizer, max_lr: float | list[float], total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: float | list[float] = 0.85, max_momentum: float | list[float] = 0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        self.total_steps = _total_steps(total_steps, epochs, steps_per_epoch)
        if isinstance(pct_start, bool) or not isinstance(pct_start, numbers.Real) or not 0 <= pct_start <= 1:
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        self._phases = _one_cycle_phases(pct_start * self.total_steps, self.total_steps, three_phase)
        max_lrs = _per_group("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for group, top in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _setup_momentum(optimizer, base_momentum, max_momentum,
                                             start=last_epoch == -1)[0]
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _phase(self, step: int) -> tuple[dict, float]:
        """The phase ``step`` falls in and how far through it, ``pct`` (0 to 1)."""
        start = 0.0
        for i, phase in enumerate(self._phases):
            end = phase["end_step"]
            if step <= end or i == len(self._phases) - 1:
                if end == start:
                    raise ZeroDivisionError(f"OneCycleLR's phase {i + 1} has no steps (pct_start * "
                                            f"total_steps = {self._phases[0]['end_step'] + 1})")
                return phase, (step - start) / (end - start)
            start = end
        raise AssertionError("unreachable: the last phase takes every step")

    def get_lr(self) -> list[float]:
        """The lrs at step ``last_epoch`` (and, with ``cycle_momentum``, set the momentums)."""
        if self.last_epoch > self.total_steps:
            raise ValueError(f"Tried to step {self.last_epoch} times. The specified number of total "
                             f"steps is {self.total_steps}")
        phase, pct = self._phase(self.last_epoch)
        lrs = []
        for group in self.optimizer.param_groups:
            lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct))
            if self.cycle_momentum:
                momentum = self._anneal(group[phase["start_momentum"]], group[phase["end_momentum"]], pct)
                _set_momentum(group, momentum, self.use_beta1)
        return lrs


def _total_steps(total_steps: int | None, epochs: int | None, steps_per_epoch: int | None) -> int:
    if total_steps is not None:
        if not _is_whole_number(total_steps) or total_steps <= 0:
            raise ValueError(f"Expected positive integer total_steps, but got {total_steps!r}")
        return int(total_steps)
    if epochs is None or steps_per_epoch is None:
        raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
    for name, value in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch)):
        if not _is_whole_number(value) or value <= 0:
            raise ValueError(f"Expected positive integer {name}, but got {value!r}")
    return int(epochs) * int(steps_per_epoch)


def _one_cycle_phases(warmup: float, total_steps: int, three_phase: bool) -> list[dict]:
    """OneCycleLR's phases: the step each ends at (``warmup = pct_start * total_steps``)
    and the group keys of the lr and momentum it goes from and to."""
    def phase(end_step: float, start_lr: str, end_lr: str, start_momentum: str, end_momentum: str) -> dict:
        return {"end_step": end_step, "start_lr": start_lr, "end_lr": end_lr,
                "start_momentum": start_momentum, "end_momentum": end_momentum}

    rise = phase(float(warmup) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum")
    if not three_phase:
        return [rise, phase(total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
    return [rise, phase(float(2 * warmup) - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
            phase(total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]


class _Composite(LRScheduler):
    """A scheduler made of others (``_schedulers``); its state_dict holds theirs."""

    _unsaved = ("optimizer", "_schedulers")

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler]) -> None:
        name = type(self).__name__
        if len(schedulers) < 1:
            raise ValueError(f"{name} expects at least one scheduler, but got none")
        for i, scheduler in enumerate(schedulers):
            if not isinstance(scheduler, LRScheduler):
                raise TypeError(f"{name}: schedulers[{i}] is a {type(scheduler).__name__}, not a scheduler")
            if isinstance(scheduler, ReduceLROnPlateau):
                raise ValueError(f"{name} does not support ReduceLROnPlateau (schedulers[{i}]): its "
                                 "step() needs the metric")
            if scheduler.optimizer is not optimizer:
                raise ValueError(f"{name} expects all schedulers to belong to the same optimizer, but "
                                 f"schedulers[{i}] ({type(scheduler).__name__}) has another one")
        self.optimizer, self._schedulers = optimizer, list(schedulers)

    def state_dict(self) -> dict:
        """As the base, with ``_schedulers`` holding each scheduler's state_dict."""
        state = super().state_dict()
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: Mapping) -> None:
        state = dict(state_dict)
        saved = state.pop("_schedulers", None)
        if not isinstance(saved, (list, tuple)) or len(saved) != len(self._schedulers):
            raise ValueError(f"{type(self).__name__}'s state_dict needs '_schedulers': one state_dict for "
                             f"each of its {len(self._schedulers)} schedulers")
        super().load_state_dict(state)
        for scheduler, scheduler_state in zip(self._schedulers, saved):
            scheduler.load_state_dict(scheduler_state)


class SequentialLR(_Composite):
    """Run ``schedulers`` one after another, switching at each of the epochs in
    ``milestones`` (one fewer than the schedulers); each one starts at its own epoch 0.

    Creating it undoes the step each scheduler made on creation and restarts the first.
    """

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler], milestones: Sequence[int],
                 last_epoch: int = -1) -> None:
        super().__init__(optimizer, schedulers)
        milestones = list(milestones)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR expects one milestone fewer than schedulers, but got "
                             f"{len(schedulers)} schedulers and {len(milestones)} milestones")
        if not all(_is_whole_number(m) for m in milestones) or milestones != sorted(milestones):
            raise ValueError(f"milestones must be epoch numbers (ints) in increasing order, not "
                             f"{milestones!r}")
        self._milestones = [int(m) for m in milestones]
        self.last_epoch = last_epoch + 1
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self.recursive_undo()
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def recursive_undo(self, sched: LRScheduler | None = None) -> None:
        """Take back the step made on creation by ``sched`` (default: every scheduler
        this one holds, also inside nested SequentialLR/ChainedScheduler)."""
        sched = self if sched is None else sched
        if isinstance(sched, _Composite):
            for inner in sched._schedulers:
                self.recursive_undo(inner)
        else:
            sched.last_epoch -= 1

    def step(self) -> None:
        """Step the scheduler of this epoch, or restart it at its milestone."""
        self.last_epoch += 1
        i = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[i]
        if i > 0 and self._milestones[i - 1] == self.last_epoch:
            scheduler._restart()
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()


class ChainedScheduler(_Composite):
    """Step all ``schedulers`` at once, in order, so their changes to lr compose (e.g.
    ConstantLR and ExponentialLR give ``lr * factor * gamma ** epoch``)."""

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None) -> None:
        if len(schedulers) < 1:
            raise ValueError("ChainedScheduler expects at least one scheduler, but got none")
        super().__init__(optimizer or schedulers[0].optimizer, schedulers)
        self._last_lr = self._current_lrs()

    def step(self) -> None:
        """Step every scheduler."""
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = self._current_lrs()


def _setup_momentum(optimizer: Optimizer, base_momentum, max_momentum,
                    start: bool) -> tuple[bool, list, list]:
    """For cycle_momentum: whether the optimizer's momentum is Adam's beta1 (else SGD's
    ``momentum``), and the per-group base and max momentums; at the ``start`` of a
    schedule each group gets ``max_momentum`` and keeps both bounds."""
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` option enabled")
    use_beta1 = "betas" in optimizer.defaults
    bases = _per_group("base_momentum", optimizer, base_momentum)
    highs = _per_group("max_momentum", optimizer, max_momentum)
    if start:
        for group, low, high in zip(optimizer.param_groups, bases, highs):
            _set_momentum(group, high, use_beta1)
            group["max_momentum"], group["base_momentum"] = high, low
    return use_beta1, bases, highs


def _set_momentum(group: dict, value: float, use_beta1: bool) -> None:
    if use_beta1:
        group["betas"] = (value, *group["betas"][1:])
    else:
        group["momentum"] = value


def _per_group(name: str, optimizer: Optimizer, value) -> list:
    """``value`` for each param group: a list or tuple of one per group, or one for all."""
    n_groups = len(optimizer.param_groups)
    if not isinstance(value, (list, tuple)):
        return [value] * n_groups
    if len(value) != n_groups:
        raise ValueError(f"{name} must have the same length as optimizer.param_groups: "
                         f"{name} has {len(value)} values, param_groups has {n_groups}")
    return list(value)


def _callable_state(f: Callable) -> dict | None:
    """What a state_dict keeps of a user's function: a callable object's attributes
    (None for a plain function, which can't be saved)."""
    return None if isinstance(f, types.FunctionType) else copy.deepcopy(f.__dict__)


def _restore_callable(f: Callable, attributes: dict | None) -> None:
    if attributes is not None:
        f.__dict__.update(attributes)


def _is_whole_number(x) -> bool:
    """An int (or NumPy int, or a float like 3.0): what an epoch count may be."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and float(x).is_integer()


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(f"{name} must be a positive number, not {value!r}")
    return value


def _nonnegative(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ValueError(f"{name} must be a non-negative number, not {value!r}")
    return value


def _check_optimizer(optimizer) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
