"""Real model files for the registry's tests and benchmark, made from a shipped architecture
(`fmnist_cnn`): TorchScript, a torch.export archive, safetensors, and hostile ones."""

import io
import json
import pathlib
import warnings
import zipfile

import torch
from safetensors.torch import save as save_safetensors
from torch import nn

from certify_core.models.architectures import fmnist_cnn

CLASS_NAMES = [f"class-{i}" for i in range(10)]
INPUT_SHAPE = [1, 28, 28]


def network(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return fmnist_cnn().eval()


def torchscript_bytes(seed: int = 0) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit is deprecated in this torch, still supported
        torch.jit.save(torch.jit.script(network(seed)), buffer)
    return buffer.getvalue()


def exported_bytes(seed: int = 0) -> bytes:
    batch = torch.export.Dim("batch", min=1, max=4096)
    program = torch.export.export(network(seed), (torch.rand(2, *INPUT_SHAPE),),
                                  dynamic_shapes=({0: batch},))
    buffer = io.BytesIO()
    torch.export.save(program, buffer)
    return buffer.getvalue()


def safetensors_bytes(seed: int = 0) -> bytes:
    return save_safetensors({name: tensor.contiguous() for name, tensor in
                             network(seed).state_dict().items()})


WEIGHTS = {"torchscript": torchscript_bytes, "exported": exported_bytes,
           "safetensors": safetensors_bytes}


def manifest(name: str, fmt: str, /, **extra: object) -> str:
    data: dict[str, object] = {"name": name, "format": fmt, "input_shape": INPUT_SHAPE,
                               "class_names": CLASS_NAMES, "sigma": 0.25}
    if fmt == "safetensors":
        data["architecture"] = "fmnist_cnn"
    return json.dumps({**data, **extra})


class _RaisesOnLoad(nn.Module):
    """TorchScript runs `__setstate__` while loading: code of the uploader's choosing."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)[:, :10]

    @torch.jit.export
    def __getstate__(self) -> tuple[bool, bool]:
        return (self.armed, self.training)

    @torch.jit.export
    def __setstate__(self, state: tuple[bool, bool]) -> None:
        self.armed = state[0]
        self.training = state[1]
        if self.armed:
            raise RuntimeError("this model refuses to load")


def torchscript_raising_on_load() -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(_RaisesOnLoad()), buffer)
    return buffer.getvalue()


def pickled_state_dict() -> bytes:
    buffer = io.BytesIO()
    torch.save(network().state_dict(), buffer)
    return buffer.getvalue()


def zip_bomb(unpacked_bytes: int = 64 * 1024 * 1024) -> bytes:
    """A zip laid out like a TorchScript archive, one member of zeros deflated ~1000:1."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/constants.pkl", b"")
        archive.writestr("archive/code/__torch__/m.py", b"")
        with archive.open("archive/data/0", "w") as member:
            chunk = bytes(1024 * 1024)
            for _ in range(unpacked_bytes // len(chunk)):
                member.write(chunk)
    return buffer.getvalue()


class _TouchesOnUnpickle:
    """A pickle that, when unpickled in full (not weights_only), creates `marker`."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def exported_with_pickle_inside(marker: str) -> bytes:
    """A real .pt2 whose sample inputs are a pickle that runs code: torch.export.load reads them
    with weights_only=True, and on failure falls back to a full unpickle."""
    source = zipfile.ZipFile(io.BytesIO(exported_bytes()))
    payload = io.BytesIO()
    torch.save(_TouchesOnUnpickle(marker), payload)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member in source.infolist():
            data = source.read(member)
            if member.filename.endswith("sample_inputs/model.pt"):
                data = payload.getvalue()
            archive.writestr(member, data)
    return buffer.getvalue()
