"""The backward pass: walk the graph from the output back to the leaves.

1. Count, for every node reachable from the output, how many of its consumers are in the
   graph (an iterative depth-first walk: no recursion, so a chain of 100,000 ops is fine).
2. Start from the output's node with the seed gradient and run nodes whose consumers have
   all delivered their gradient (a node's output gradient is then complete): call its
   ``backward``, send each input's gradient along its edge, summing where several meet.
   A consumer may send ``None`` (no gradient); a node that receives nothing is skipped.
3. Leaves that require grad accumulate into ``.grad``; saved arrays are freed unless
   ``retain_graph=True``. Once a leaf's last incoming edge has delivered, its ``.grad`` is
   final for this backward and its post-accumulate-grad hooks run (``hooks.py``).
"""

from __future__ import annotations

import numpy as np

from nanotorch.autograd.hooks import post_accumulate_hooks, run_hooks
from nanotorch.tensor import Tensor


def _accumulate_leaf(leaf: Tensor, g: np.ndarray, handed_out: set) -> None:
    """``leaf.grad += g``. A first gradient is stored as is only when it is a fresh array
    of the leaf's dtype not already given to another tensor; otherwise it is copied, so
    every ``.grad`` owns writable memory and no two alias."""
    data = leaf.data
    if g.shape != data.shape:
        raise RuntimeError(f"gradient of shape {g.shape} for a tensor of shape {data.shape}")
    grad = leaf.grad
    if grad is not None and (not isinstance(grad, Tensor) or grad.data.shape != data.shape):
        raise RuntimeError(f"the .grad of a tensor of shape {data.shape} is "
                           f"{_describe(grad)}: a .grad must be a tensor of its shape (or None)")
    if grad is None:
        if (type(g) is not np.ndarray or g.base is not None or id(g) in handed_out
                or (g.dtype is not data.dtype and g.dtype != data.dtype) or not g.flags.writeable):
            g = np.array(g, dtype=data.dtype)
        handed_out.add(id(g))
        leaf.grad = Tensor._make(g, False)
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


def run_backward(root: Tensor, gradient: np.ndarray, retain_graph: bool) -> None:
    """Propagate ``gradient`` (the d(something)/d(root), shaped like ``root``) to the leaves.

    ``gradient`` may be the caller's array: it is never stored as a ``.grad`` itself.
    """
    handed_out = {id(gradient)}
    if root.grad_fn is None:
        _accumulate_leaf(root, gradient, handed_out)
        run_hooks(root)
        return
    consumers, hooked = _count_consumers(root.grad_fn)
    grads: dict = {}  # gradients sent to nodes that still wait for other consumers
    ready = [(root.grad_fn, gradient)]
    while ready:
        node, grad = ready.pop()
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


def _count_consumers(start) -> tuple[dict, dict]:
    """Step 1: for every node reachable from ``start``, how many of its consumers are in the
    graph; and for every leaf with post-accumulate-grad hooks, ``[edges into it, False]``
    (the flag becomes True once one edge carries a gradient)."""
    consumers: dict = {}
    hooked: dict = {}
    stack = [start]
    while stack:
        node = stack.pop()
        for edge in node.edges:
            if edge is None:
                continue
            if isinstance(edge, Tensor):
                if post_accumulate_hooks and id(edge) in post_accumulate_hooks:
                    hooked.setdefault(id(edge), [0, False])[0] += 1
                continue
            count = consumers.get(edge)
            if count is None:  # first seen (the graph has no cycles: ``start`` is never an edge)
                consumers[edge] = 1
                stack.append(edge)
            else:
                consumers[edge] = count + 1
    return consumers, hooked


def _input_grads(node, grad: np.ndarray | None) -> tuple:
    """Step 2: one gradient (or ``None``) per input of ``node``, given its complete output
    gradient ``grad`` (``None`` when no consumer sent one: then nothing runs)."""
    if node.saved_tensors is None or node._saved_versions:
        _check_can_run(node)
    if grad is None:
        return (None,) * len(node.edges)
    if node.retained_output is not None:
        _retain(node.retained_output(), grad)
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
    """Step 3a: accumulate into a leaf's ``.grad``; run its hooks after its last edge."""
    if g is not None:
        _accumulate_leaf(leaf, g, handed_out)
    if hooked and id(leaf) in hooked:
        _leaf_delivered(leaf, hooked[id(leaf)], g is not None)


def _deliver_to_node(node, g: np.ndarray | None, grads: dict, consumers: dict, ready: list) -> None:
    """Step 3b: add ``g`` to ``node``'s output gradient; once all its consumers have
    delivered, the node is ready: ``(node, its complete gradient)`` goes on ``ready``. (A
    node with one consumer, a chain's, goes straight there: ``grads`` holds only sums
    still waiting for a consumer.)"""
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


def _leaf_delivered(leaf: Tensor, state: list, got_grad: bool) -> None:
    """Count one delivered edge of a hooked leaf; after the last, run its hooks if any edge
    carried a gradient."""
    state[0] -= 1
    state[1] = state[1] or got_grad
    if state[0] == 0 and state[1]:
        run_hooks(leaf)


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
