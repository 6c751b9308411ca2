"""Tests for nanotorch.utils.data's samplers, the datasets beyond TensorDataset/Subset
(IterableDataset, ConcatDataset, ChainDataset, StackDataset) and the DataLoader's options
(batch_sampler, batch_size=None, the worker options): known answers first, then PyTorch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import nanotorch as nt
import nanotorch.utils.data
from nanotorch.utils.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    DistributedSampler,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    StackDataset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_convert,
    get_worker_info,
)

N = 10


def table(n: int = N) -> TensorDataset:
    """Row i of X is [i, -i], y[i] = i."""
    return TensorDataset(np.stack([np.arange(n), -np.arange(n)], axis=1).astype(np.float32), np.arange(n))


def labels(batches) -> list[list[int]]:
    return [b[1].tolist() for b in batches]


def seeded(seed: int) -> nt.Generator:
    return nt.Generator().manual_seed(seed)


class Counting:
    """A stream of (float, int) samples ``(i / 2, i)``, with a length if ``sized``."""

    @staticmethod
    def make(n: int, sized: bool = True, base=IterableDataset):
        class Stream(base):
            def __iter__(self):
                return iter([(np.float32(i / 2), i) for i in range(n)])

        if sized:
            Stream.__len__ = lambda self: n
        return Stream()


@pytest.fixture
def gathers(monkeypatch):
    """The DataLoader's array gathers, recorded as lists of indices."""
    seen = []

    def spy(a, index):
        assert isinstance(index, np.ndarray) and index.dtype == np.int64
        seen.append(index.tolist())
        return a[index]

    monkeypatch.setattr(nanotorch.utils.data, "_gather", spy)
    return seen


# ------------------------------------------------------------------ samplers
def test_sampler_base_needs_iter_and_has_no_len():
    with pytest.raises(NotImplementedError, match="__iter__"):
        iter(Sampler())
    with pytest.raises(TypeError):
        len(Sampler())
    assert isinstance(DistributedSampler(range(4), 2, 0), Sampler)


def test_sequential_sampler():
    assert list(SequentialSampler(range(5))) == [0, 1, 2, 3, 4]
    assert len(SequentialSampler(table(7))) == 7 and list(SequentialSampler([])) == []


@pytest.mark.parametrize("drop_last, batches", [
    (False, [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]),
    (True, [[0, 1, 2], [3, 4, 5], [6, 7, 8]]),
])
def test_batch_sampler(drop_last, batches):
    sampler = BatchSampler(SequentialSampler(range(N)), 3, drop_last)
    assert list(sampler) == batches and len(sampler) == len(batches)
    assert list(BatchSampler([5, 1, 4], 2, drop_last)) == ([[5, 1]] if drop_last else [[5, 1], [4]])


def test_batch_sampler_validates():
    for bad in (0, -2, 1.5, True, None):
        with pytest.raises(ValueError, match="batch_size should be a positive integer"):
            BatchSampler(range(3), bad, False)
    for bad in (0, 1, None, "yes"):
        with pytest.raises(ValueError, match="drop_last should be a boolean"):
            BatchSampler(range(3), 2, bad)


def test_random_sampler_is_a_permutation_repeated_under_a_seed(rng_restored):
    draws = list(RandomSampler(range(N), generator=seeded(3)))
    assert sorted(draws) == list(range(N)) and draws != list(range(N))
    assert list(RandomSampler(range(N), generator=seeded(3))) == draws
    assert list(RandomSampler(range(N), generator=seeded(4))) != draws
    sampler = RandomSampler(range(N))  # the global generator
    nt.manual_seed(0)
    first, second = list(sampler), list(sampler)
    assert first != second  # a new order every epoch
    nt.manual_seed(0)
    assert list(sampler) == first and list(sampler) == second


def test_random_sampler_num_samples_without_replacement():
    sampler = RandomSampler(range(4), num_samples=10, generator=seeded(0))
    draws = list(sampler)
    assert len(sampler) == 10 and len(draws) == 10
    assert sorted(draws[:4]) == sorted(draws[4:8]) == [0, 1, 2, 3]  # whole permutations first
    assert len(set(draws[8:])) == 2  # then part of one
    assert len(RandomSampler(range(4), num_samples=3)) == 3


def test_random_sampler_with_replacement_is_uniform():
    draws = np.array(list(RandomSampler(range(5), replacement=True, num_samples=20_000, generator=seeded(1))))
    assert draws.shape == (20_000,) and draws.min() == 0 and draws.max() == 4
    np.testing.assert_allclose(np.bincount(draws) / draws.size, [0.2] * 5, atol=0.015)
    assert len(set(RandomSampler(range(3), replacement=True, num_samples=6, generator=seeded(0)))) < 6


def test_random_sampler_validates():
    with pytest.raises(TypeError, match="replacement should be a boolean"):
        RandomSampler(range(3), replacement=1)
    for bad in (0, -1, 2.5):
        with pytest.raises(ValueError, match="num_samples should be a positive integer"):
            RandomSampler(range(3), num_samples=bad)
    with pytest.raises(ValueError, match="num_samples=0"):
        RandomSampler([])
    with pytest.raises(TypeError, match="generator"):
        RandomSampler(range(3), generator=7)


def test_subset_random_sampler():
    sampler = SubsetRandomSampler([7, 3, 9, 1], generator=seeded(2))
    draws = list(sampler)
    assert len(sampler) == 4 and sorted(draws) == [1, 3, 7, 9]
    assert list(SubsetRandomSampler([7, 3, 9, 1], generator=seeded(2))) == draws
    assert {tuple(SubsetRandomSampler([7, 3, 9, 1])) for _ in range(20)} != {tuple(draws)}


def test_weighted_random_sampler_follows_the_weights():
    weights = [0.0, 1.0, 3.0, 0.0, 6.0]
    draws = np.array(list(WeightedRandomSampler(weights, 20_000, generator=seeded(0))))
    assert draws.size == 20_000 and not np.isin(draws, [0, 3]).any()  # zero weight: never drawn
    frequencies = np.bincount(draws, minlength=5) / draws.size
    np.testing.assert_allclose(frequencies, np.array(weights) / 10, atol=0.015)
    again = list(WeightedRandomSampler(nt.tensor(weights), 20_000, generator=seeded(0)))
    assert again == draws.tolist()
    distinct = list(WeightedRandomSampler([1.0, 5.0, 2.0, 0.5], 4, replacement=False, generator=seeded(1)))
    assert sorted(distinct) == [0, 1, 2, 3]
    sampler = WeightedRandomSampler([1, 2], 3)
    assert len(sampler) == 3 and sampler.weights.dtype == np.float64


def test_weighted_random_sampler_validates():
    for bad in (0, True, 1.5):
        with pytest.raises(ValueError, match="num_samples should be a positive integer"):
            WeightedRandomSampler([1.0, 2.0], bad)
    with pytest.raises(ValueError, match="replacement should be a boolean"):
        WeightedRandomSampler([1.0, 2.0], 2, replacement=1)
    with pytest.raises(ValueError, match=r"1d sequence .* shape \(1, 2\)"):
        WeightedRandomSampler([[1.0, 2.0]], 2)
    with pytest.raises(RuntimeError, match="< 0"):
        list(WeightedRandomSampler([1.0, -2.0], 2))
    with pytest.raises(RuntimeError, match="without replacement"):
        list(WeightedRandomSampler([1.0, 1.0], 3, replacement=False))


# ------------------------------------------------------------------ datasets
def test_iterable_dataset_is_abstract_and_has_no_default_len():
    with pytest.raises(TypeError, match="abstract"):
        IterableDataset()
    stream = Counting.make(3, sized=False)
    assert [i for _, i in stream] == [0, 1, 2] and isinstance(stream, Dataset)
    with pytest.raises(TypeError, match="no len"):
        len(stream)
    assert len(Counting.make(3)) == 3


def test_concat_dataset():
    ds = ConcatDataset([[10, 11], [], [12], [13, 14]])
    assert ds.cumulative_sizes == [2, 2, 3, 5] and len(ds) == 5
    assert [ds[i] for i in range(5)] == [10, 11, 12, 13, 14]
    assert [ds[i] for i in range(-5, 0)] == [10, 11, 12, 13, 14]
    with pytest.raises(ValueError, match="absolute value of index"):
        ds[-6]
    with pytest.raises(IndexError, match="index 5 is out of range"):
        ds[5]
    with pytest.raises(AssertionError, match="empty"):
        ConcatDataset([])
    with pytest.raises(AssertionError, match="IterableDataset"):
        ConcatDataset([[1], Counting.make(2)])


def test_dataset_add_concatenates_and_chains():
    both = table(3) + table(2)
    assert isinstance(both, ConcatDataset) and len(both) == 5 and both[3][1].item() == 0
    chained = Counting.make(2) + Counting.make(3)
    assert isinstance(chained, ChainDataset) and len(chained) == 5
    assert [i for _, i in chained] == [0, 1, 0, 1, 2]


def test_chain_dataset_takes_only_iterable_datasets():
    chained = ChainDataset([Counting.make(1), [5, 6]])
    with pytest.raises(AssertionError, match="only supports IterableDataset"):
        list(chained)
    with pytest.raises(AssertionError, match="only supports IterableDataset"):
        len(chained)
    with pytest.raises(TypeError, match="no len"):
        len(ChainDataset([Counting.make(1, sized=False)]))


def test_stack_dataset():
    pairs = StackDataset([1, 2, 3], "abc")
    assert len(pairs) == 3 and pairs[1] == (2, "b")
    named = StackDataset(x=[1, 2], y="ab")
    assert named[0] == {"x": 1, "y": "a"} and len(named) == 2
    with pytest.raises(ValueError, match="not both"):
        StackDataset([1], y=[2])
    with pytest.raises(ValueError, match="At least one"):
        StackDataset()
    with pytest.raises(ValueError, match=r"Size mismatch .*\[1, 2\]"):
        StackDataset([1], [1, 2])


def test_get_worker_info_is_none_in_the_main_process():
    assert get_worker_info() is None


def test_default_convert():
    out = default_convert({"a": np.arange(3), "b": (np.float64(1.5), 2, "s"), "c": np.array(["x"])})
    assert isinstance(out["a"], nt.Tensor) and out["a"].dtype == np.int64
    b = out["b"]
    assert isinstance(b, list) and b[0].dtype == np.float32 and b[0].item() == 1.5 and b[1:] == [2, "s"]
    assert out["c"].dtype.kind == "U"  # strings stay an array
    t = nt.ones(2)
    assert default_convert(t) is t and default_convert(3) == 3


# ------------------------------------------------------------- the DataLoader
def test_loader_with_a_batch_sampler(gathers):
    loader = DataLoader(table(), batch_sampler=[[6, 5], [0], [1, 2, 3]])
    assert len(loader) == 3 and labels(loader) == [[6, 5], [0], [1, 2, 3]]
    assert loader.batch_size is None and loader.drop_last is False
    assert gathers == [[6, 5], [6, 5], [0], [0], [1, 2, 3], [1, 2, 3]]  # one gather per array
    squares = [(np.float32(i), i * i) for i in range(5)]  # not array-backed: sample by sample
    assert [b[1].tolist() for b in DataLoader(squares, batch_sampler=BatchSampler([4, 1, 2], 2, False))] \
        == [[16, 1], [4]]


def test_loader_samplers_gather_each_batch_as_one_array(gathers):
    loader = DataLoader(table(), batch_size=4, sampler=RandomSampler(range(N), generator=seeded(5)))
    order = sum(labels(loader), [])
    assert order == list(RandomSampler(range(N), generator=seeded(5)))
    assert gathers[::2] == [order[:4], order[4:8], order[8:]] and len(gathers) == 6
    gathers.clear()
    labels(DataLoader(table(), batch_size=3, sampler=WeightedRandomSampler([1.0] * N, 7)))
    assert [len(g) for g in gathers] == [3, 3, 3, 3, 1, 1]
    gathers.clear()
    labels(DataLoader(table(), batch_size=2, sampler=SubsetRandomSampler([3, 4, 5])))
    assert sorted(gathers[0] + gathers[2]) == [3, 4, 5]


def test_loader_shuffle_is_a_random_sampler():
    loader = DataLoader(table(), batch_size=3, shuffle=True, generator=seeded(9))
    assert isinstance(loader.sampler, RandomSampler) and isinstance(loader.batch_sampler, BatchSampler)
    assert sum(labels(loader), []) == list(RandomSampler(range(N), generator=seeded(9)))
    assert isinstance(DataLoader(table()).sampler, SequentialSampler)


def test_loader_sequential_sampler_shorter_than_the_dataset(gathers):
    loader = DataLoader(table(), batch_size=4, sampler=SequentialSampler(range(6)))
    assert labels(loader) == [[0, 1, 2, 3], [4, 5]] and gathers == []  # slices, no gathers
    with pytest.raises(IndexError, match="sampler gave index 10"):
        list(DataLoader(table(), batch_size=4, sampler=SequentialSampler(range(11))))
    with pytest.raises(IndexError, match="sampler gave index -1"):
        list(DataLoader(table(), batch_sampler=[[0, -1]]))


def test_loader_without_batching():
    loader = DataLoader(table(3), batch_size=None)
    samples = list(loader)
    assert len(loader) == 3 and loader.batch_sampler is None
    assert isinstance(samples[0], list) and samples[2][1].item() == 2
    assert samples[2][0].tolist() == [2.0, -2.0]
    raw = list(DataLoader([np.arange(2), np.arange(2) + 5], batch_size=None))
    assert isinstance(raw[1], nt.Tensor) and raw[1].tolist() == [5, 6]
    with pytest.raises(ValueError, match="mutually exclusive with drop_last"):
        DataLoader(table(), batch_size=None, drop_last=True)


def test_loader_batch_sampler_excludes_the_other_options():
    for kwargs in ({"batch_size": 2}, {"shuffle": True}, {"sampler": [0]}, {"drop_last": True}):
        with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
            DataLoader(table(), batch_sampler=[[0]], **kwargs)
    with pytest.raises(TypeError, match="batch_sampler must be"):
        DataLoader(table(), batch_sampler=iter([[0]]))


def test_loader_worker_options():
    called = []
    loader = DataLoader(table(4), batch_size=2, timeout=5, worker_init_fn=called.append,
                        pin_memory_device="", in_order=False)
    assert labels(loader) == [[0, 1], [2, 3]] and called == []  # no worker to initialise
    for kwargs, message in (({"num_workers": -1}, "non-negative"), ({"timeout": -1}, "timeout"),
                            ({"prefetch_factor": 2}, "prefetch_factor"),
                            ({"persistent_workers": True}, "persistent_workers"),
                            ({"multiprocessing_context": "spawn"}, "multiprocessing_context")):
        with pytest.raises(ValueError, match=message):
            DataLoader(table(), **kwargs)
    pinned = DataLoader(table(4), batch_size=2, pin_memory=True)
    with pytest.warns(UserWarning, match="pin_memory"):
        assert labels(pinned) == [[0, 1], [2, 3]]


def test_loader_over_an_iterable_dataset():
    loader = DataLoader(Counting.make(5, sized=False), batch_size=2)
    batches = list(loader)
    assert [b[1].tolist() for b in batches] == [[0, 1], [2, 3], [4]]
    assert batches[2][0].dtype == np.float32 and batches[2][0].tolist() == [2.0]
    with pytest.raises(TypeError, match="no len"):
        len(loader)
    sized = DataLoader(Counting.make(5), batch_size=2, drop_last=True)
    assert len(sized) == 2 and [b[1].tolist() for b in sized] == [[0, 1], [2, 3]]
    assert len(DataLoader(Counting.make(5), batch_size=2)) == 3
    single = DataLoader(Counting.make(2), batch_size=None)
    assert len(single) == 2 and [s[1] for s in single] == [0, 1]
    assert [b[1].tolist() for b in DataLoader(Counting.make(3), shuffle=False, batch_size=3)] == [[0, 1, 2]]


def test_loader_over_an_iterable_dataset_rejects_order_options():
    stream = Counting.make(3)
    for kwargs, name in (({"shuffle": True}, "shuffle"), ({"sampler": [0]}, "sampler"),
                         ({"batch_sampler": [[0]]}, "batch_sampler")):
        with pytest.raises(ValueError, match=f"expected unspecified {name} option"):
            DataLoader(stream, **kwargs)


def test_loader_needs_a_map_style_or_iterable_dataset():
    class OnlyIter:
        def __iter__(self):
            return iter([1, 2])

    with pytest.raises(TypeError, match="must subclass it"):
        DataLoader(OnlyIter())

    class NoLen:
        def __getitem__(self, i):
            return i * 2

    with pytest.raises(TypeError, match="__getitem__ and __len__"):
        DataLoader(NoLen())
    assert [b.tolist() for b in DataLoader(NoLen(), batch_size=2, sampler=[3, 1])] == [[6, 2]]


def test_loader_over_concat_and_stack_datasets():
    concat = DataLoader(table(3) + table(2), batch_size=2)
    assert labels(concat) == [[0, 1], [2, 0], [1]]
    stacked = DataLoader(StackDataset(x=table(4), y=list(range(10, 14))), batch_size=3)
    batches = list(stacked)
    assert batches[0]["x"][1].tolist() == [0, 1, 2] and batches[1]["y"].tolist() == [13]


# ------------------------------------------------------------- against PyTorch
def plain(x):
    """Batches as nested lists of (dtype, values), tuples as lists (PyTorch collates
    tuples into lists, NanoTorch keeps them tuples)."""
    if hasattr(x, "numpy") and hasattr(x, "dtype"):
        return str(x.dtype).rsplit(".", 1)[-1], x.numpy().tolist()
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    return x


def stream_for(data, n: int, sized: bool = True):
    """A ``Counting`` stream subclassing ``data.IterableDataset`` (NanoTorch's or PyTorch's)."""
    return Counting.make(n, sized, base=data.IterableDataset)


LOADERS = {  # (data module, (x, y) as its tensors) -> a DataLoader
    "in order": lambda d, t: d.DataLoader(d.TensorDataset(*t), batch_size=3),
    "drop_last": lambda d, t: d.DataLoader(d.TensorDataset(*t), batch_size=4, drop_last=True),
    "sampler": lambda d, t: d.DataLoader(d.TensorDataset(*t), batch_size=2, sampler=[6, 0, 3, 3, 1]),
    "short sequential": lambda d, t: d.DataLoader(d.TensorDataset(*t), batch_size=4,
                                                  sampler=d.SequentialSampler(range(6))),
    "batch_sampler": lambda d, t: d.DataLoader(d.TensorDataset(*t), batch_sampler=[[6, 5], [0], [1, 2, 3]]),
    "BatchSampler": lambda d, t: d.DataLoader(d.TensorDataset(*t),
                                              batch_sampler=d.BatchSampler([4, 2, 0, 1], 3, True)),
    "no batching": lambda d, t: d.DataLoader(d.TensorDataset(*t), batch_size=None),
    "samples, no batching": lambda d, t: d.DataLoader([(np.arange(2), 3, "a"), (np.arange(2) + 1, 4, "b")],
                                                      batch_size=None),
    "iterable": lambda d, t: d.DataLoader(stream_for(d, 5), batch_size=2),
    "iterable drop_last": lambda d, t: d.DataLoader(stream_for(d, 5), batch_size=2, drop_last=True),
    "iterable no batching": lambda d, t: d.DataLoader(stream_for(d, 3), batch_size=None),
    "chain": lambda d, t: d.DataLoader(stream_for(d, 3) + stream_for(d, 2), batch_size=2),
    "concat": lambda d, t: d.DataLoader(d.TensorDataset(t[0][:3]) + d.TensorDataset(t[0][3:]), batch_size=4),
    "stack": lambda d, t: d.DataLoader(d.StackDataset(x=d.TensorDataset(t[0]), y=t[1]), batch_size=5),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(LOADERS))
def test_loader_batches_match_torch(name):
    torch = pytest.importorskip("torch")
    x = np.arange(14, dtype=np.float32).reshape(7, 2)
    y = np.arange(7)
    ours = LOADERS[name](nanotorch.utils.data, (nt.tensor(x), nt.tensor(y)))
    theirs = LOADERS[name](torch.utils.data, (torch.tensor(x), torch.tensor(y)))
    assert len(ours) == len(theirs)
    assert plain(list(ours)) == plain(list(theirs))


@pytest.mark.torch
@pytest.mark.parametrize("n, batch_size", [(10, 3), (9, 3), (1, 4), (0, 2), (7, 1)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_sequential_and_batch_samplers_match_torch(n, batch_size, drop_last):
    torch = pytest.importorskip("torch")
    ours = BatchSampler(SequentialSampler(range(n)), batch_size, drop_last)
    theirs = torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(range(n)), batch_size,
                                           drop_last)
    assert list(ours) == list(theirs) and len(ours) == len(theirs)
    assert list(SequentialSampler(range(n))) == list(torch.utils.data.SequentialSampler(range(n)))


@pytest.mark.torch
def test_concat_and_stack_datasets_match_torch():
    torch = pytest.importorskip("torch")
    parts = [[10, 11], [], [12], [13, 14]]
    ours, theirs = ConcatDataset(parts), torch.utils.data.ConcatDataset(parts)
    assert ours.cumulative_sizes == theirs.cumulative_sizes and len(ours) == len(theirs)
    assert [ours[i] for i in range(-5, 5)] == [theirs[i] for i in range(-5, 5)]
    assert StackDataset([1, 2], "ab")[1] == torch.utils.data.StackDataset([1, 2], "ab")[1]
    assert StackDataset(x=[1, 2], y="ab")[0] == torch.utils.data.StackDataset(x=[1, 2], y="ab")[0]


ERRORS = {
    "RandomSampler(replacement=1)": lambda d: d.RandomSampler(range(3), replacement=1),
    "RandomSampler(num_samples=0)": lambda d: d.RandomSampler(range(3), num_samples=0),
    "RandomSampler(empty)": lambda d: d.RandomSampler([]),
    "WeightedRandomSampler(num_samples=True)": lambda d: d.WeightedRandomSampler([1.0], True),
    "WeightedRandomSampler(replacement=1)": lambda d: d.WeightedRandomSampler([1.0], 1, replacement=1),
    "WeightedRandomSampler(2-d)": lambda d: d.WeightedRandomSampler([[1.0]], 1),
    "WeightedRandomSampler(negative)": lambda d: list(d.WeightedRandomSampler([1.0, -1.0], 1)),
    "WeightedRandomSampler(too many)": lambda d: list(d.WeightedRandomSampler([1.0], 2, replacement=False)),
    "BatchSampler(batch_size=0)": lambda d: d.BatchSampler(range(3), 0, False),
    "BatchSampler(drop_last=None)": lambda d: d.BatchSampler(range(3), 1, None),
    "Sampler()": lambda d: list(d.Sampler()),
    "len(Sampler())": lambda d: len(d.Sampler()),
    "IterableDataset()": lambda d: d.IterableDataset(),
    "ConcatDataset([])": lambda d: d.ConcatDataset([]),
    "ConcatDataset[-6]": lambda d: d.ConcatDataset([[1, 2], [3]])[-6],
    "ConcatDataset[3]": lambda d: d.ConcatDataset([[1, 2], [3]])[3],
    "ChainDataset([list])": lambda d: list(d.ChainDataset([[1]])),
    "StackDataset()": lambda d: d.StackDataset(),
    "StackDataset(args and kwargs)": lambda d: d.StackDataset([1], y=[1]),
    "StackDataset(mismatch)": lambda d: d.StackDataset([1], [1, 2]),
    "DataLoader(num_workers=-1)": lambda d: d.DataLoader(range(3), num_workers=-1),
    "DataLoader(timeout=-1)": lambda d: d.DataLoader(range(3), timeout=-1),
    "DataLoader(prefetch_factor=2)": lambda d: d.DataLoader(range(3), prefetch_factor=2),
    "DataLoader(persistent_workers=True)": lambda d: d.DataLoader(range(3), persistent_workers=True),
    "DataLoader(multiprocessing_context)": lambda d: d.DataLoader(range(3), multiprocessing_context="spawn"),
    "DataLoader(batch_sampler, batch_size)": lambda d: d.DataLoader(range(3), 2, batch_sampler=[[0]]),
    "DataLoader(batch_size=None, drop_last)": lambda d: d.DataLoader(range(3), None, drop_last=True),
    "DataLoader(batch_size=0)": lambda d: d.DataLoader(range(3), batch_size=0),
    "DataLoader(empty, shuffle)": lambda d: d.DataLoader([], shuffle=True),
    "DataLoader(sampler, shuffle)": lambda d: d.DataLoader(range(3), sampler=[0], shuffle=True),
    "DataLoader(iterable, shuffle)": lambda d: d.DataLoader(stream_for(d, 2), shuffle=True),
    "DataLoader(iterable, sampler)": lambda d: d.DataLoader(stream_for(d, 2), sampler=[0]),
    "len(DataLoader(unsized iterable))": lambda d: len(d.DataLoader(stream_for(d, 2, sized=False))),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(name):
    torch = pytest.importorskip("torch")
    raised = []
    for module in (nanotorch.utils.data, torch.utils.data):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(Exception) as info:
                ERRORS[name](module)
        raised.append(info.type)
    assert raised[0] is raised[1]
