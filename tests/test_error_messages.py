"""A catalogue of the mistakes a newcomer (often coming from PyTorch) makes, and what NanoTorch
answers: each error must name the problem and say what to do, in the op or call they wrote.

One row per mistake: (name, code that makes it, exception type, phrases the message must hold).
"""

from __future__ import annotations

import re

import pytest

import nanotorch as nt
from nanotorch import nn
from nanotorch.utils.data import DataLoader, TensorDataset


def logits():
    return nt.randn(8, 10, requires_grad=True)


def labels():
    return nt.randint(0, 10, (8,))


def backward_twice():
    x = nt.randn(3, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    y.backward()


CATALOGUE = [
    ("CrossEntropyLoss with its arguments swapped",
     lambda: nn.CrossEntropyLoss()(labels(), logits()), TypeError,
     ["cross_entropy", "int64 of shape (8,)", "float of shape (8, 10)", "look swapped",
      "criterion(model(x), labels)"]),
    ("F.nll_loss with its arguments swapped",
     lambda: nn.functional.nll_loss(labels(), logits()), TypeError, ["nll_loss", "look swapped"]),
    ("integer scores (not swapped)",
     lambda: nn.CrossEntropyLoss()(labels(), labels()), TypeError,
     ["input must be floating point scores [N, C]", "int64 of shape (8,)"]),
    ("a label outside the classes",
     lambda: nn.CrossEntropyLoss()(logits(), nt.tensor([0, 1, 2, 3, 4, 5, 6, 10])), IndexError,
     ["target 10 is out of bounds for 10 classes"]),
    ("float labels",
     lambda: nn.CrossEntropyLoss()(logits(), nt.randn(8)), TypeError,
     ["target must be an integer tensor of class indices"]),
    ("Tensor.cuda()", lambda: nt.randn(2).cuda(), RuntimeError,
     [".cuda()", "CPU only", "no 'cuda' device", "remove the call", 'device = "cpu"']),
    ("Module.cuda()", lambda: nn.Linear(2, 2).cuda(), RuntimeError, [".cuda()", "CPU only"]),
    ("Tensor.to('cuda')", lambda: nt.randn(2).to("cuda"), RuntimeError,
     [".to('cuda')", "CPU only", "remove the call"]),
    ("Module.to(device='cuda:0')", lambda: nn.Linear(2, 2).to(device="cuda:0"), RuntimeError,
     [".to('cuda:0')", "no 'cuda:0' device"]),
    ("Tensor.to(nt.device('cuda'))", lambda: nt.randn(2).to(nt.device("cuda")), RuntimeError,
     [".to('cuda')", "CPU only"]),
    ("zeros(device='cuda')", lambda: nt.zeros(2, device="cuda"), RuntimeError,
     ["zeros(device='cuda')", "CPU only"]),
    ("a device type that does not exist", lambda: nt.device("gpu"), RuntimeError,
     ["cpu, cuda", "device string: gpu"]),
    ("DataLoader(num_workers=2)",
     lambda: DataLoader(TensorDataset(nt.randn(4, 2)), batch_size=2, num_workers=2), ValueError,
     ["num_workers=2", "main process", "num_workers=0"]),
    ("a Linear layer fed the wrong width",
     lambda: nn.Linear(784, 10)(nt.randn(5, 100)), ValueError,
     ["linear", "(5, 100)", "in_features=784"]),
    ("a Conv2d fed the wrong channel count",
     lambda: nn.Conv2d(3, 8, 3)(nt.randn(2, 1, 28, 28)), ValueError, ["conv2d", "1 channels", "expects 3"]),
    ("backward through a freed graph", backward_twice, RuntimeError,
     ["second time", "retain_graph=True"]),
    ("numpy() on a tensor that requires grad", lambda: nt.randn(3, requires_grad=True).numpy(),
     RuntimeError, ["detach().numpy()"]),
    ("item() on a vector", lambda: nt.randn(3).item(), ValueError, ["one element", "has 3"]),
    ("an unknown backend", lambda: nt.backend.use("cuda"), ValueError,
     ["unknown backend 'cuda'", "'c'", "'numpy'"]),
]


@pytest.mark.parametrize("make, error, phrases", [row[1:] for row in CATALOGUE],
                         ids=[row[0] for row in CATALOGUE])
def test_the_error_names_the_problem_and_the_fix(make, error, phrases):
    with pytest.raises(error) as info:
        make()
    message = str(info.value)
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in {message!r}"


def test_the_swapped_loss_error_comes_from_the_loss_call_not_a_reshape_deep_inside():
    with pytest.raises(TypeError) as info:
        nn.CrossEntropyLoss()(labels(), logits())
    assert not re.search("reshape", str(info.value))
    # this test, Module.__call__, CrossEntropyLoss.forward, F.cross_entropy, its check (it was ten deep)
    assert len(info.traceback) <= 5


def test_the_cpu_still_works_where_the_gpu_does_not():
    x = nt.randn(2)
    assert x.to("cpu") is x and x.cpu() is x
    model = nn.Linear(2, 2)
    assert model.to("cpu") is model and model.cpu() is model
    assert len(DataLoader(TensorDataset(nt.randn(4, 2)), batch_size=2, num_workers=0)) == 2


# Issue 11: each user-facing rule is checked once, in the op, so every backend says the same.
SAME_ON_EVERY_BACKEND = [
    lambda: nt.nn.functional.cross_entropy(nt.zeros(3, 5), nt.tensor([0, 5, 1])),
    lambda: nt.nn.functional.cross_entropy(nt.zeros(3, 5), nt.tensor([0, -2, 1])),
    lambda: nt.nn.functional.nll_loss(nt.zeros(3, 5), nt.tensor([0, 7, 1])),
    lambda: nt.nn.functional.linear(nt.zeros(2, 3), nt.zeros(4, 5)),
    lambda: nt.nn.functional.linear(nt.zeros(2, 3), nt.zeros(4, 3), nt.zeros(5)),
    lambda: nt.nn.functional.max_pool2d(nt.zeros(1, 1, 4, 4), 3, padding=2),
    lambda: nt.nn.functional.avg_pool2d(nt.zeros(1, 1, 2, 2), 3),
    lambda: nt.nn.functional.conv2d(nt.zeros(1, 2, 4, 4), nt.zeros(3, 1, 3, 3)),
    lambda: nt.nn.functional.batch_norm(nt.zeros(2, 3), None, None, nt.zeros(4), training=True),
]


@pytest.mark.parametrize("make", SAME_ON_EVERY_BACKEND)
def test_a_rule_has_one_wording_on_every_backend(make):
    messages = set()
    for name in nt.backend.available():
        with nt.backend.use(name), pytest.raises((ValueError, TypeError, IndexError)) as info:
            make()
        messages.add((info.type, str(info.value)))
    assert len(messages) == 1, messages
