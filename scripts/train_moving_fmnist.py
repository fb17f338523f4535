"""Train the shipped moving-Fashion-MNIST video model with Gaussian noise augmentation.

Videos are rendered on the fly from the Fashion-MNIST *train* split with fresh
seeded trajectories every step. Each batch is either whole 16-frame videos or
random 8-frame clips of them, so the model is trained on both views that
certification uses (Cohen on the whole video, Smooth-Reduce on clips). Noise
is added first, then the clip is cut, as in certification.

    nice -n 10 .venv/bin/python scripts/train_moving_fmnist.py --steps 1500
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from certify_core.datasets import load_fashion_mnist
from certify_core.models import ModelManifest, sha256_file
from certify_core.models.video_architectures import moving_fmnist_c2d
from certify_core.moving_fmnist import (
    DEFAULT_CANVAS,
    DEFAULT_FRAMES,
    load_moving_fashion_mnist,
    make_moving_videos,
)

CLIP = 8
ZOO = Path(__file__).resolve().parent.parent / "certify_core" / "zoo"


def batch_views(
    images: np.ndarray, labels: np.ndarray, rng: np.random.Generator, size: int, sigma: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """A noisy batch: whole videos or random clips of them (chosen per batch)."""
    pick = rng.integers(0, len(images), size=size)
    data = make_moving_videos(
        images[pick], labels[pick], DEFAULT_FRAMES, DEFAULT_CANVAS, int(rng.integers(2**31))
    )
    videos, targets = data.tensors()
    videos = videos + sigma * torch.randn_like(videos)
    if rng.random() < 0.5:
        start = int(rng.integers(0, DEFAULT_FRAMES - CLIP + 1))
        videos = videos[:, :, start:start + CLIP]
    return videos, targets


def accuracy(model: torch.nn.Module, videos: torch.Tensor, labels: torch.Tensor,
             sigma: float, clip: bool) -> float:
    gen = torch.Generator().manual_seed(0)
    with torch.inference_mode():
        noisy = videos + sigma * torch.randn(videos.shape, generator=gen)
        view = noisy[:, :, 4:4 + CLIP] if clip else noisy
        return float((model(view).argmax(1) == labels).float().mean())


def train(args: argparse.Namespace) -> tuple[torch.nn.Module, dict[str, float]]:
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    source = load_fashion_mnist("train")
    model = moving_fmnist_c2d(width=args.width)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, args.lr, total_steps=args.steps)
    start = time.perf_counter()
    for step in range(args.steps):
        videos, targets = batch_views(source.inputs, source.labels, rng, args.batch, args.sigma)
        loss = F.cross_entropy(model(videos), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 100 == 0:
            print(f"step {step} loss {loss.item():.3f} {time.perf_counter() - start:.0f}s", flush=True)
    model.eval()
    return model, {"train_seconds": round(time.perf_counter() - start, 1)}


def evaluate(model: torch.nn.Module, sigma: float) -> dict[str, float]:
    """Accuracy on 1000 test-split videos (reported only; no model selection uses it)."""
    test = load_moving_fashion_mnist("test", count=1000, seed=12345)
    videos, labels = test.tensors()
    return {
        "clean_video_acc": accuracy(model, videos, labels, 0.0, clip=False),
        "noisy_video_acc": accuracy(model, videos, labels, sigma, clip=False),
        "noisy_clip_acc": accuracy(model, videos, labels, sigma, clip=True),
    }


def save(model: torch.nn.Module, args: argparse.Namespace, metrics: dict[str, float]) -> Path:
    directory = ZOO / args.name
    directory.mkdir(parents=True, exist_ok=True)
    weights = directory / "model.pt"
    torch.save(model.state_dict(), weights)
    manifest = ModelManifest(
        name=args.name, format="state_dict", weights="model.pt",
        input_shape=(1, CLIP, DEFAULT_CANVAS, DEFAULT_CANVAS),
        class_names=load_moving_fashion_mnist("test", count=1).class_names,
        sigma=args.sigma, architecture="moving_fmnist_c2d",
        architecture_kwargs={"num_classes": 10, "in_channels": 1, "width": args.width},
        sha256=sha256_file(weights), kind="video",
        training={"dataset": "moving-fashion-mnist (train split)", "steps": args.steps,
                  "batch": args.batch, "lr": args.lr, "seed": args.seed,
                  "views": "whole 16-frame videos and random 8-frame clips, noise first",
                  "canvas": DEFAULT_CANVAS, "frames": DEFAULT_FRAMES, **metrics},
    )
    return manifest.save(directory)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--name", default="moving-fmnist-c2d-s025")
    parser.add_argument("--sigma", type=float, default=0.25)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--width", type=int, default=16)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, metrics = train(args)
    metrics |= evaluate(model, args.sigma)
    print(json.dumps(metrics), flush=True)
    print(f"saved {save(model, args, metrics)}")


if __name__ == "__main__":
    main()
