"""The backward pass: walk the graph from the output back to the leaves.

1. Count, for every node reachable from the output, how many of its consumers are in the
   graph (an iterative depth-first walk: no recursion, so a chain of 100,000 ops is fine).
2. Start from the output's node with the seed gradient and run nodes whose consumers have
   all delivered their gradient (a node's output gradient is then complete): pass it through
   the tensor's hooks (``register_hook``), call the node's ``backward``, send each input's
   gradient along its edge, summing where several meet. A consumer may send ``None`` (no
   gradient); a node that receives nothing is skipped.
3. Leaves that require grad accumulate into ``.grad``; saved arrays are freed unless
   ``retain_graph=True``. A leaf with hooks gets the sum of its edges' gradients once the last
   has delivered: through its ``register_hook`` hooks, into ``.grad``, then its
   post-accumulate-grad hooks run (``hooks.py``).

``run_to_inputs`` is the same walk pruned to some tensors (``autograd.grad``,
``backward(inputs=...)``): only nodes through which a gradient reaches one of them run.
"""

from __future__ import annotations

import numpy as np

from nanotorch.autograd.hooks import grad_hooks, post_accumulate_hooks, run_grad_hooks, run_hooks
from nanotorch.tensor import Tensor


def _owned(g: np.ndarray, dtype: np.dtype, handed_out: set) -> np.ndarray:
    """``g`` as an array of ``dtype`` that is safe to give to a new tensor: ``g`` itself when
    it is a fresh, writable array not already given out, else a copy."""
    if (type(g) is not np.ndarray or g.base is not None or id(g) in handed_out
            or (g.dtype is not dtype and g.dtype != dtype) or not g.flags.writeable):
        g = np.array(g, dtype=dtype)
    handed_out.add(id(g))
    return g


def _accumulate_leaf(leaf: Tensor, g: np.ndarray, handed_out: set) -> None:
    """``leaf.grad += g``. A first gradient is stored as is only when it is a fresh array
    of the leaf's dtype not already given to another tensor (``_owned``); otherwise it is
    copied, so every ``.grad`` owns writable memory and no two alias."""
    data = leaf.data
    if g.shape != data.shape:
        raise RuntimeError(f"gradient of shape {g.shape} for a tensor of shape {data.shape}")
    grad = leaf.grad
    if grad is not None and (not isinstance(grad, Tensor) or grad.data.shape != data.shape):
        raise RuntimeError(f"the .grad of a tensor of shape {data.shape} is "
                           f"{_describe(grad)}: a .grad must be a tensor of its shape (or None)")
    if grad is None:
        leaf.grad = Tensor._make(_owned(g, data.dtype, handed_out), False)
    else:
        grad.data = grad.data + g


def _describe(grad) -> str:
    """A wrong ``.grad`` in words, for the error."""
    if isinstance(grad, Tensor):
        return f"a tensor of shape {grad.data.shape}"
    return f"an object of type {type(grad).__name__}"


def _sum_grads(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two gradients meeting at one node. NOTE: a function of its own so that
    ``nanotorch.compiler`` can record the sum when it traces a step."""
    return a + b


def run_backward(root: Tensor, gradient: np.ndarray, retain_graph: bool,
                 inputs: tuple[Tensor, ...] | None = None) -> None:
    """Propagate ``gradient`` (the d(something)/d(root), shaped like ``root``) to the leaves,
    or, given ``inputs``, into those tensors' ``.grad`` only (``run_to_inputs``).

    ``gradient`` may be the caller's array: it is never stored as a ``.grad`` itself.
    """
    if inputs is not None:
        run_to_inputs([(root, gradient)], inputs, retain_graph, accumulate=True)
        return
    handed_out = {id(gradient)}
    if root.grad_fn is None:
        _finish_leaf(root, gradient, handed_out)
        return
    consumers, hooked = _count_consumers(root.grad_fn)
    grads: dict = {}  # gradients sent to nodes that still wait for other consumers
    ready = [(root.grad_fn, gradient)]
    while ready:
        node, grad = ready.pop()
        if grad is not None and (grad_hooks or node.retained_output is not None):
            grad = _arrived(node, grad, handed_out)
        input_grads = _input_grads(node, grad)
        for edge, g in zip(node.edges, input_grads):
            if edge is None:
                continue
            if isinstance(edge, Tensor):
                _deliver_to_leaf(edge, g, handed_out, hooked)
            else:
                _deliver_to_node(edge, g, grads, consumers, ready)
        if not retain_graph and node.saved_tensors:
            node.saved_tensors = None


def run_to_inputs(roots: list[tuple[Tensor, np.ndarray]], inputs: tuple[Tensor, ...],
                  retain_graph: bool, accumulate: bool) -> list[np.ndarray | None]:
    """Backpropagate every ``(root, seed)`` to ``inputs`` only; return the gradient w.r.t.
    each input (``None`` where none arrives).

    The walk is ``run_backward``'s, pruned: a node runs only when an input's gradient flows
    through it (the others keep their saved arrays), other leaves get nothing. With
    ``accumulate`` (``backward(inputs=...)``) each input's gradient is added into its
    ``.grad``, a non-leaf's too; without (``autograd.grad``) no ``.grad`` changes (but
    ``retain_grad()`` ones on the way, as in PyTorch) and no post-accumulate hook runs.
    """
    handed_out = {id(g) for _, g in roots}
    targets = {t.grad_fn or t: t for t in inputs}  # where each input's gradient arrives
    pending, runs = _leading_to([r.grad_fn or r for r, _ in roots], targets)
    grads: dict = {}
    ready: list = []
    got: dict = {}
    for root, seed in roots:  # a seed is one more delivery to the root
        key = root.grad_fn or root
        if key in runs or key in targets:
            pending[key] = pending.get(key, 0) + 1
            _deliver_to_node(key, seed, grads, pending, ready)
    while ready:
        key, g = ready.pop()
        if g is not None:
            g = _hooked(key, g, handed_out) if isinstance(key, Tensor) else _arrived(key, g, handed_out)
        if key in targets and g is not None:
            got[key] = g
            if accumulate:
                _accumulate_input(key, targets[key], g, handed_out)
        if key in runs:
            for edge, gi in zip(key.edges, _input_grads(key, g)):
                if edge in pending:
                    _deliver_to_node(edge, gi, grads, pending, ready)
            if not retain_graph and key.saved_tensors:
                key.saved_tensors = None
    return [got.get(t.grad_fn or t) for t in inputs]


def _accumulate_input(key, t: Tensor, g: np.ndarray, handed_out: set) -> None:
    """``backward(inputs=...)``: ``t.grad += g``, then a leaf's post-accumulate hooks (a
    non-leaf that called ``retain_grad()`` has it already)."""
    if isinstance(key, Tensor):
        _accumulate_leaf(t, g, handed_out)
        run_hooks(t)
    elif key.retained_output is None or key.retained_output() is not t:
        _accumulate_leaf(t, g, handed_out)


def _leading_to(starts: list, targets: dict) -> tuple[dict, set]:
    """For ``run_to_inputs``: ``runs``, the nodes reachable from ``starts`` with an edge into
    a target or into a node of ``runs`` (their backward must run); and for every target or
    node of ``runs``, how many gradients it waits for (one per edge into it from ``runs``)."""
    nodes = [s for s in starts if not isinstance(s, Tensor)]
    left = _count_consumers(*nodes)[0]
    order = [s for s in dict.fromkeys(nodes) if left[s] == 0]  # parents before children (Kahn)
    for node in order:
        for edge in node.edges:
            if edge is not None and not isinstance(edge, Tensor):
                left[edge] -= 1
                if left[edge] == 0:
                    order.append(edge)
    runs: set = set()
    for node in reversed(order):
        if any(e is not None and (e in targets or e in runs) for e in node.edges):
            runs.add(node)
    pending: dict = {}
    for node in runs:
        for e in node.edges:
            if e is not None and (e in targets or e in runs):
                pending[e] = pending.get(e, 0) + 1
    return pending, runs


def _count_consumers(*starts) -> tuple[dict, dict]:
    """Step 1: for every node reachable from the nodes ``starts``, how many of its consumers
    are in the graph; and for every leaf with hooks, ``[edges into it, None]`` (the second
    item will hold the sum of the gradients they deliver)."""
    consumers: dict = dict.fromkeys(starts, 0)
    hooked: dict = {}
    stack = list(consumers)
    while stack:
        node = stack.pop()
        for edge in node.edges:
            if edge is None:
                continue
            if isinstance(edge, Tensor):
                if (grad_hooks or post_accumulate_hooks) and (
                        id(edge) in grad_hooks or id(edge) in post_accumulate_hooks):
                    hooked.setdefault(id(edge), [0, None])[0] += 1
                continue
            count = consumers.get(edge)
            if count is None:  # first seen (the graph has no cycles)
                consumers[edge] = 1
                stack.append(edge)
            else:
                consumers[edge] = count + 1
    return consumers, hooked


def _hooked(key, g: np.ndarray, handed_out: set) -> np.ndarray:
    """``g`` through the ``register_hook`` hooks of ``key`` (a leaf, or a non-leaf's node);
    a gradient the hooks saw may be kept by them: no ``.grad`` will store it as is."""
    if grad_hooks and id(key) in grad_hooks:
        g = run_grad_hooks(id(key), g)
        handed_out.add(id(g))
    return g


def _arrived(node, g: np.ndarray, handed_out: set) -> np.ndarray:
    """A node's complete output gradient: through its tensor's hooks, then kept in that
    tensor's ``.grad`` if it called ``retain_grad()`` (after the hooks, as in PyTorch)."""
    g = _hooked(node, g, handed_out)
    if node.retained_output is not None:
        _retain(node.retained_output(), g)
    return g


def _input_grads(node, grad: np.ndarray | None) -> tuple:
    """Step 2: one gradient (or ``None``) per input of ``node``, given its complete output
    gradient ``grad`` (``None`` when no consumer sent one: then nothing runs)."""
    if node.saved_tensors is None or node._saved_versions:
        _check_can_run(node)
    if grad is None:
        return (None,) * len(node.edges)
    input_grads = node.backward(node, grad)
    if not isinstance(input_grads, tuple):
        input_grads = (input_grads,)
    if len(input_grads) != len(node.edges):
        input_grads = _one_per_input(node, input_grads)
    for g in input_grads:
        if g is not None and type(g) is not np.ndarray:
            return _as_arrays(node, input_grads)
    return input_grads


def _deliver_to_leaf(leaf: Tensor, g: np.ndarray | None, handed_out: set, hooked: dict) -> None:
    """Step 3a: accumulate into a leaf's ``.grad``; a leaf with hooks gets the sum of its
    edges' gradients after the last edge has delivered (``_finish_leaf``)."""
    if hooked and id(leaf) in hooked:
        state = hooked[id(leaf)]
        state[0] -= 1
        if g is not None:
            state[1] = g if state[1] is None else _sum_grads(state[1], g)
        if state[0] == 0 and state[1] is not None:
            _finish_leaf(leaf, state[1], handed_out)
    elif g is not None:
        _accumulate_leaf(leaf, g, handed_out)


def _finish_leaf(leaf: Tensor, g: np.ndarray, handed_out: set) -> None:
    """A leaf's complete gradient of this backward: through its hooks, into ``.grad``, then
    its post-accumulate-grad hooks."""
    _accumulate_leaf(leaf, _hooked(leaf, g, handed_out), handed_out)
    run_hooks(leaf)


def _deliver_to_node(node, g: np.ndarray | None, grads: dict, consumers: dict, ready: list) -> None:
    """Step 3b: add ``g`` to ``node``'s output gradient; once all its consumers have
    delivered, the node is ready: ``(node, its complete gradient)`` goes on ``ready``. (A
    node with one consumer, a chain's, goes straight there: ``grads`` holds only sums
    still waiting for a consumer.) ``run_to_inputs`` also sends leaves this way."""
    left = consumers[node] - 1
    consumers[node] = left
    if node in grads:
        prev = grads.pop(node)
        g = prev if g is None else _sum_grads(prev, g)
    if left:
        if g is not None:
            grads[node] = g
    else:
        ready.append((node, g))


def _one_per_input(node, grads: tuple) -> tuple:
    """Pad ``grads`` with ``None`` for trailing inputs that need no gradient (numbers,
    tensors that don't require grad); raise if one that needs a gradient would get none."""
    n = len(node.edges)
    if len(grads) > n or any(e is not None for e in node.edges[len(grads):]):
        raise RuntimeError(f"{type(node).__name__}.backward returned {len(grads)} gradients "
                           f"for {n} inputs")
    return grads + (None,) * (n - len(grads))


def _as_arrays(node, grads: tuple) -> tuple:
    """NumPy scalars (what NumPy gives for 0-d results) as 0-d arrays; anything else that is
    not an array or ``None`` is the custom Function's mistake: say so, as PyTorch does."""
    out = []
    for i, g in enumerate(grads):
        if g is not None and type(g) is not np.ndarray:
            if not isinstance(g, (np.ndarray, np.generic)):
                raise TypeError(f"{type(node).__name__}.backward returned a {type(g).__name__} as the "
                                f"gradient of input {i}; expected a NumPy array or None")
            g = np.asarray(g)
        out.append(g)
    return tuple(out)


def _retain(out: Tensor | None, grad: np.ndarray) -> None:
    """``out.grad += grad`` for a non-leaf after ``retain_grad()`` (always a copy)."""
    if out is not None:
        g = grad.astype(out.data.dtype)
        out.grad = Tensor._make(g, False) if out.grad is None else Tensor._make(out.grad.data + g, False)


def _check_can_run(node) -> None:
    """Raise if the node's saved arrays were freed or changed in place since forward."""
    if node.saved_tensors is None:
        raise RuntimeError(
            f"Trying to backward through the graph a second time: {type(node).__name__}'s saved "
            "arrays were freed by the first backward. Pass retain_graph=True to the first "
            "backward() if you need to call it again.")
    for counter, slot, version in node._saved_versions:
        if counter[slot] != version:
            what = ("the tensor it views was changed by an in-place operation recorded in the "
                    "graph after the view was taken" if slot else
                    "one of the tensors its backward needs was modified by an in-place operation "
                    f"(it is at version {counter[0]}, expected {version})")
            raise RuntimeError(f"{type(node).__name__}: {what}; use an out-of-place operation "
                               "instead (or clone() first).")
