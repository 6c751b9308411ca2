"""A small CNN on MNIST's standard 60,000/10,000 split: Conv-BN-ReLU-Pool twice, then Linear.

    python examples/train_cnn_mnist.py        # 4 epochs, Adam lr 2e-3 annealed to 0, batch 64
"""

from __future__ import annotations

import argparse
import time

from _common import add_common_flags, limit, setup_distributed, train
from _record import RunRecord, SilentRecord

import nanotorch as nt
from nanotorch import nn
from nanotorch.datasets import load_mnist


class SmallCNN(nn.Module):
    """[N,1,28,28] -> conv3x3(32) -> BN -> ReLU -> pool2 -> conv3x3(64) -> BN -> ReLU -> pool2
    -> flatten [N, 64*7*7] -> Linear -> [N, 10]."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Linear(64 * 7 * 7, 10)

    def forward(self, x: nt.Tensor) -> nt.Tensor:
        x = x.reshape(-1, 1, 28, 28)
        return self.classifier(self.features(x).flatten(1))


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_flags(parser, epochs=4, lr=2e-3)
    args = parser.parse_args(argv)
    nt.backend.use(args.backend)
    nt.manual_seed(args.seed)
    logs, world_size = setup_distributed(args)
    record = RunRecord("train_cnn_mnist", args.run_dir) if logs else SilentRecord()

    data = limit(load_mnist(split="standard"), args.limit)
    record.log(f"MNIST (standard split): {len(data[0])} train, {len(data[2])} test; "
               f"backend: {nt.backend.current().name}; world size {world_size}")
    model = SmallCNN()
    if args.distributed:
        model = nn.parallel.DistributedDataParallel(model)
    optimizer = nt.optim.Adam(model.parameters(), lr=args.lr)
    start = time.perf_counter()
    history = train(model, optimizer, data, epochs=args.epochs, batch_size=args.batch_size,
                    schedule=args.schedule, record=record, log_every=args.log_every,
                    compile=args.compile)
    record.finish(f"final test accuracy: {history[-1]['test_acc']:.2f}%  "
                  f"(training time {time.perf_counter() - start:.1f}s)")
    return history[-1]["test_acc"]


if __name__ == "__main__":
    main()
