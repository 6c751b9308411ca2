"""Tests for nanotorch.utils.data: Dataset, TensorDataset, Subset, random_split, DataLoader."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

import nanotorch as nt
import nanotorch.utils.data
from nanotorch.utils.data import DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split

N = 10


def arrays(n: int = N):
    """X float64 [n, 2] (row i = [i, -i]) and y int32 [n] (y = i)."""
    x = np.stack([np.arange(n), -np.arange(n)], axis=1).astype(np.float64)
    return x, np.arange(n, dtype=np.int32)


def rows(batches, field: int = 1) -> list[int]:
    return [int(v) for b in batches for v in b[field].data]


class Gathers:
    """Counts the DataLoader's batch gathers (``a[index]``, one per array and batch)."""

    def __init__(self):
        self.gathers = 0

    def __call__(self, a, index):
        assert index.dtype == np.int64
        self.gathers += 1
        return a[index]


@pytest.fixture
def counting(monkeypatch):
    spy = Gathers()
    monkeypatch.setattr(nanotorch.utils.data, "_gather", spy)
    return spy


class Squares(Dataset):
    """A map-style dataset that is not array-backed: counts its __getitem__ calls."""

    def __init__(self, n: int = N):
        self.n, self.calls = n, 0

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        self.calls += 1
        return np.array([i, i * i], dtype=np.float64), i


# ------------------------------------------------------------------ datasets
def test_dataset_array_form():
    x, y = arrays()
    ds = Dataset(x, y)
    assert len(ds) == N and ds.arrays[0] is x and ds.arrays[1] is y
    xi, yi = ds[3]
    assert xi.tolist() == [3.0, -3.0] and yi == 3
    noncontiguous = Dataset(np.arange(20).reshape(10, 2)[:, 0])
    assert noncontiguous.arrays[0].flags.c_contiguous
    with pytest.raises(ValueError, match="differ in length"):
        Dataset(x, y[:5])
    with pytest.raises(ValueError, match="0-d"):
        Dataset(np.float32(1.0))
    with pytest.raises(NotImplementedError):
        len(Dataset())


def test_tensor_dataset():
    x, y = arrays()
    ds = TensorDataset(nt.tensor(x), y)
    xi, yi = ds[2]
    assert isinstance(xi, nt.Tensor) and xi.dtype == np.float32 and xi.tolist() == [2.0, -2.0]
    assert yi.dtype == np.int32 and yi.item() == 2  # int32 stays int32, as in PyTorch
    assert [t.shape for t in ds.tensors] == [(N, 2), (N,)]
    with pytest.raises(ValueError, match="differ in length"):
        TensorDataset(x, y[:3])
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()


def test_subset():
    x, y = arrays()
    sub = Subset(Dataset(x, y), [7, 2, 5])
    assert len(sub) == 3 and sub[1][1] == 2 and sub[-1][1] == 5
    assert sub[0:2][1].tolist() == [7, 2]
    with pytest.raises(IndexError, match="out of range"):
        Subset(Dataset(x, y), [1, N])
    assert Subset(Dataset(x, y), [-1, -N])[0][1] == N - 1  # from the end, as PyTorch
    assert Subset(Dataset(x, y), [-1, -N])[1][1] == 0
    with pytest.raises(IndexError, match=f"index {-N - 1} is out of range"):
        Subset(Dataset(x, y), [-N - 1])
    with pytest.raises(ValueError, match="out of range|ints"):
        Subset(Dataset(x, y), [0.5])
    assert len(Subset(Dataset(x, y), [])) == 0


@pytest.mark.parametrize("lengths, sizes", [
    ([3, 7], [3, 7]),
    ([0.7, 0.3], [7, 3]),
    ([0.5, 0.5], [5, 5]),
    ([0.25, 0.25, 0.5], [3, 2, 5]),  # floor: 2, 2, 5; the 1 left over goes to the first
    ([1 / 3] * 3, [4, 3, 3]),
])
def test_random_split_sizes_and_disjointness(lengths, sizes):
    parts = random_split(Dataset(*arrays()), lengths, generator=np.random.default_rng(0))
    assert [len(p) for p in parts] == sizes
    taken = np.concatenate([p.indices for p in parts])
    assert sorted(taken.tolist()) == list(range(N))


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:Length of split")
@pytest.mark.parametrize("n, lengths", [(10, [0.25, 0.25, 0.5]), (11, [0.5, 0.5]), (7, [0.1] * 10)])
def test_random_split_sizes_match_torch(n, lengths):
    torch = pytest.importorskip("torch")
    ours = random_split(Dataset(np.zeros(n)), lengths)
    theirs = torch.utils.data.random_split(range(n), lengths)
    assert [len(p) for p in ours] == [len(p) for p in theirs]


def test_random_split_is_reproducible_and_validated():
    ds = Dataset(*arrays())
    nt.manual_seed(3)
    a = [p.indices.tolist() for p in random_split(ds, [4, 6])]
    nt.manual_seed(3)
    assert [p.indices.tolist() for p in random_split(ds, [4, 6])] == a
    b = [p.indices.tolist() for p in random_split(ds, [4, 6], generator=np.random.default_rng(1))]
    assert b == [p.indices.tolist() for p in random_split(ds, [4, 6], generator=np.random.default_rng(1))]
    with pytest.raises(ValueError, match="add up to"):
        random_split(ds, [4, 5])
    with pytest.raises(ValueError, match="add up to 1"):
        random_split(ds, [0.5, 0.4])
    with pytest.raises(ValueError, match="non-negative"):
        random_split(ds, [12, -2])


# ------------------------------------------------------------ array batches
@pytest.mark.parametrize("batch_size, drop_last, sizes", [
    (3, False, [3, 3, 3, 1]),
    (3, True, [3, 3, 3]),
    (5, False, [5, 5]),
    (5, True, [5, 5]),
    (12, False, [10]),
    (12, True, []),
    (1, False, [1] * N),
])
def test_batch_sizes_and_last_partial_batch(batch_size, drop_last, sizes):
    loader = DataLoader(Dataset(*arrays()), batch_size=batch_size, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(sizes) and [len(b[0]) for b in batches] == sizes
    assert rows(batches) == list(range(sum(sizes)))  # in order


def test_batches_are_tensors_float64_as_float32_other_dtypes_kept():
    x, y = arrays()
    mask = np.arange(N) % 2 == 0
    (xb, yb, mb), = DataLoader(Dataset(x, y.astype(np.uint8), mask), batch_size=N)
    assert all(isinstance(t, nt.Tensor) for t in (xb, yb, mb))
    assert (xb.dtype, yb.dtype, mb.dtype) == (np.float32, np.uint8, np.bool_)  # uint8 kept, as PyTorch
    np.testing.assert_array_equal(xb.data, x)
    assert not xb.requires_grad


def test_sequential_batches_are_views(counting):
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    y = np.arange(6, dtype=np.int64)
    for xb, yb in DataLoader(Dataset(x, y), batch_size=4):
        assert np.shares_memory(xb.data, x) and np.shares_memory(yb.data, y)
    assert counting.gathers == 0


def test_shuffled_batches_gather_once_per_array(counting):
    x, y = arrays()
    batches = list(DataLoader(Dataset(x, y), batch_size=4, shuffle=True))
    assert counting.gathers == 2 * 3
    order = rows(batches)
    assert sorted(order) == list(range(N))
    for xb, yb in batches:  # rows stay together
        np.testing.assert_array_equal(xb.data[:, 0], yb.data)


def test_shuffle_is_reproducible_with_manual_seed():
    loader = DataLoader(Dataset(*arrays(50)), batch_size=8, shuffle=True)
    nt.manual_seed(0)
    first, second = rows(loader), rows(loader)
    assert first != second  # a new permutation every epoch
    nt.manual_seed(0)
    assert rows(loader) == first and rows(loader) == second


def test_shuffle_with_a_generator_leaves_the_global_one_alone():
    ds = Dataset(*arrays(50))
    epochs = rows(DataLoader(ds, batch_size=8, shuffle=True, generator=np.random.default_rng(7)))
    nt.manual_seed(1)
    expected_global = nt.random.default_generator.numpy.random()
    nt.manual_seed(1)
    again = rows(DataLoader(ds, batch_size=8, shuffle=True, generator=np.random.default_rng(7)))
    assert again == epochs
    assert nt.random.default_generator.numpy.random() == expected_global
    assert epochs == np.random.default_rng(7).permutation(50).tolist()


def test_subset_of_array_dataset_is_gathered(counting):
    x, y = arrays()
    inner = Subset(Dataset(x, y), [9, 8, 7, 6, 5, 4])
    outer = Subset(inner, [5, 0, 2])  # rows 4, 9, 7
    batches = list(DataLoader(outer, batch_size=2))
    assert rows(batches) == [4, 9, 7] and counting.gathers == 2 * 2
    np.testing.assert_array_equal(batches[0][0].data, x[[4, 9]])
    nt.manual_seed(0)
    assert sorted(rows(DataLoader(inner, batch_size=4, shuffle=True))) == [4, 5, 6, 7, 8, 9]


def test_subclass_keeping_arrays_is_array_backed(counting):
    class Like(Dataset):  # as MNIST: arrays set by Dataset.__init__, no __getitem__
        def __init__(self):
            super().__init__(*arrays())

    assert rows(DataLoader(Like(), batch_size=4, shuffle=True)) != []
    assert counting.gathers == 2 * 3


def test_subclass_overriding_getitem_is_used_per_sample():
    class Doubled(Dataset):
        def __getitem__(self, i):
            x, y = super().__getitem__(i)
            return x * 2, y

    (xb, yb), = DataLoader(Doubled(*arrays(4)), batch_size=4)
    assert xb.data[:, 0].tolist() == [0.0, 2.0, 4.0, 6.0] and yb.dtype == np.int32


# ------------------------------------------------------------ sample batches
def test_map_style_dataset_with_default_collate():
    ds = Squares()
    loader = DataLoader(ds, batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and ds.calls == N
    xb, yb = batches[-1]
    assert xb.shape == (2, 2) and xb.dtype == np.float32 and xb.data[:, 1].tolist() == [64.0, 81.0]
    assert yb.dtype == np.int64 and yb.tolist() == [8, 9]
    nt.manual_seed(5)
    assert sorted(rows(DataLoader(ds, batch_size=3, shuffle=True))) == list(range(N))


def test_collate_fn_is_used_even_for_array_datasets():
    seen = []

    def collate(samples):
        seen.append(len(samples))
        return samples

    batches = list(DataLoader(Dataset(*arrays()), batch_size=4, collate_fn=collate))
    assert seen == [4, 4, 2] and batches[2][1][1] == 9


def test_default_collate_structures():
    Point = namedtuple("Point", "x y")
    batch = default_collate([{"a": (1, 2.5), "s": "u", "t": nt.tensor([1.0]), "p": Point(1, True)},
                             {"a": (3, 4.5), "s": "v", "t": nt.tensor([2.0]), "p": Point(2, False)}])
    assert batch["a"][0].dtype == np.int64 and batch["a"][0].tolist() == [1, 3]
    assert batch["a"][1].dtype == np.float32 and batch["a"][1].tolist() == [2.5, 4.5]
    assert batch["s"] == ["u", "v"]
    assert batch["t"].shape == (2, 1) and batch["t"].tolist() == [[1.0], [2.0]]
    assert isinstance(batch["p"], Point) and batch["p"].y.dtype == np.bool_
    lists = default_collate([[np.float64(1), np.int16(2)], [np.float64(3), np.int16(4)]])
    assert isinstance(lists, list) and (lists[0].dtype, lists[1].dtype) == (np.float32, np.int16)


def test_default_collate_errors():
    with pytest.raises(ValueError, match="different shapes"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(ValueError, match="numbers of fields"):
        default_collate([(1, 2), (1,)])
    with pytest.raises(TypeError, match="got object"):
        default_collate([object(), object()])
    with pytest.raises(ValueError, match="non-empty"):
        default_collate([])


def test_dataloader_validates_its_arguments():
    ds = Dataset(*arrays())
    for bad in (0, -1, 1.5, True):  # None means no batching (tests/test_data_samplers.py)
        with pytest.raises(ValueError, match="batch_size"):
            DataLoader(ds, batch_size=bad)
    with pytest.raises(TypeError, match="__getitem__ and __len__"):
        DataLoader(iter(range(3)))
    with pytest.raises(TypeError, match="generator"):
        DataLoader(ds, shuffle=True, generator=42)
    with pytest.raises(TypeError, match="callable"):
        DataLoader(ds, collate_fn="stack")
    with pytest.raises(TypeError, match="dtype"):
        DataLoader(Dataset(np.array(["a", "b"])))


def test_seed_module_path():
    from nanotorch import dataset
    assert dataset.DataLoader is DataLoader and dataset.Dataset is Dataset
    assert dataset.TensorDataset is TensorDataset and dataset.random_split is random_split
