"""A ``Plan``: the traced step as one generated Python function, and the guards that say
when it still applies.

The tracer's lines become the body of ``replay(A)`` (``A``: the step's arguments), for
example, for ``criterion(model(x), y)`` on the seed MLP, then backward::

    v0 = A[0].data
    v1 = A[1].data
    v2 = asarray(F2(C3, v0, T4.data, T5.data))        # Linear.forward(ctx, x, w, b)
    ...
    v7 = ones_like(v6)                                 # the seed gradient
    v8 = B9(C10, v7)                                   # CrossEntropy.backward(ctx, grad)
    ...
    E20(T4, v14, H)                                    # w.grad = dw (the engine's rule)
    W21()                                              # optimizer.step(), called as is
    return make(v6, False)

``F``/``B`` are the ops' own ``forward``/``backward``, ``C`` their contexts from the traced
run (reused: forward refills what backward reads), ``T`` tensors that live across steps
(their ``.data`` is read at each replay), ``W`` whole calls bound to their object. No
Tensor, graph node or backward walk is made on replay; the kernels run back to back in the
traced order. ``source`` holds the text, for reading.

Guards: ``state()`` gives the shape, dtype and ``requires_grad`` of every tensor the plan
reads by identity, and the plain attributes (``training``, ``momentum``, ``p`` ...) and the
identity of the parameters and buffers of every module the step called; the plan runs only
when it equals the value recorded at trace time.
"""

from __future__ import annotations

import numpy as np

from nanotorch.tensor import Tensor

_PLAIN = (int, float, bool, str, type(None))


class Plan:
    """The replay function of one traced step, with its guards."""

    def __init__(self, lines: list[str], result: str, names: dict, live: list, modules: list) -> None:
        namespace = {**names, "asarray": np.asarray, "ones_like": np.ones_like, "make": Tensor._make}
        state = []
        for t in {id(t): t for t in live}.values():
            name = next(k for k, v in names.items() if v is t)
            state.append(f"{name}.data.shape, {name}.data.dtype, {name}.requires_grad")
        for i, m in enumerate(modules):
            namespace[f"M{i}"] = m.__dict__
            state += [f"M{i}.get({k!r})" for k, v in m.__dict__.items() if type(v) in _PLAIN]
            state += [f"tuple(map(id, M{i}[{k!r}].values()))" for k in ("_parameters", "_buffers")
                      if isinstance(m.__dict__.get(k), dict)]
        self.source = ("def replay(A):\n" + "".join(f"    {line}\n" for line in lines)
                       + f"    return {result}\n\n\n"
                       + "def state():\n    return (" + "".join(f"{e},\n            " for e in state) + ")\n")
        exec(compile(self.source, "<nanotorch.compile plan>", "exec"), namespace)
        self.replay = namespace["replay"]
        self.state = namespace["state"]
        self.expected = self.state()
        self.n_ops = sum(1 for line in lines if line.endswith(("forward", "backward")))

    def __repr__(self) -> str:
        return f"<nanotorch.compile plan: {self.n_ops} forward/backward calls>\n{self.source}"
