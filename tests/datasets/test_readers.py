"""Every data set format, written to disk in its real layout and read back item by item."""

import io
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from certify_datasets import DatasetError, ModelSpec, Preprocessing, detect_format, open_dataset
from certify_testkit.dataset_fixtures import (
    random_images,
    save_image,
    write_cifar,
    write_class_folders,
    write_idx,
    write_video_folders,
)

GREY = ModelSpec("grey", "image", (1, 28, 28), tuple(f"class-{i}" for i in range(10)))
CIFAR_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck"]
RGB = ModelSpec("rgb", "image", (3, 32, 32), tuple(CIFAR_NAMES))


def test_idx_files_read_back_exactly(tmp_path: Path) -> None:
    images = random_images(5, (1, 28, 28), seed=1)[:, 0]
    write_idx(tmp_path, images, [3, 1, 4, 1, 5])
    data = open_dataset(tmp_path, GREY)
    assert (data.format, len(data)) == ("idx", 5)
    assert [data.label(i) for i in range(5)] == [3, 1, 4, 1, 5]
    assert np.array_equal(data.pixels(2), images[2][None].astype(np.float32) / 255)
    name, png = data.upload(2)
    assert name == "2.png" and np.array_equal(np.asarray(Image.open(io.BytesIO(png))),
                                              images[2])


def test_idx_label_beyond_the_model_is_refused(tmp_path: Path) -> None:
    write_idx(tmp_path, random_images(2, (1, 28, 28), 0)[:, 0], [0, 12])
    with pytest.raises(DatasetError, match=r"labels-idx1-ubyte.gz\[1\]: unknown label 12"):
        open_dataset(tmp_path, GREY)


def test_cifar10_batches_map_classes_by_name(tmp_path: Path) -> None:
    images = random_images(4, (3, 32, 32), seed=2)
    shuffled = ModelSpec("rgb", "image", (3, 32, 32), tuple(reversed(CIFAR_NAMES)))
    root = write_cifar(tmp_path, images, [0, 1, 2, 9], CIFAR_NAMES)
    data = open_dataset(tmp_path, shuffled)  # the torchvision root: the batches folder inside
    assert detect_format(root, shuffled) == "cifar10" and data.format == "cifar10"
    assert [data.label(i) for i in range(4)] == [9, 8, 7, 0]  # by name, not by index
    assert "by name" in data.class_note
    assert np.array_equal(data.pixels(3), images[3].astype(np.float32) / 255)


def test_cifar100_fine_labels_and_resizing_to_the_model(tmp_path: Path) -> None:
    names = [f"c{i}" for i in range(100)]
    images = random_images(3, (3, 32, 32), seed=3)
    write_cifar(tmp_path, images, [5, 50, 99], names, hundred=True)
    model = ModelSpec("small", "image", (1, 16, 16), tuple(names))
    data = open_dataset(tmp_path / "cifar-100-python", model)
    assert data.format == "cifar100" and [data.label(i) for i in range(3)] == [5, 50, 99]
    expected = Image.fromarray(images[1].transpose(1, 2, 0)).convert("L").resize(
        (16, 16), Image.Resampling.BILINEAR)
    assert np.array_equal(data.pixels(1)[0], np.asarray(expected, np.float32) / 255)


def test_a_cifar_batch_that_would_run_code_is_refused(tmp_path: Path) -> None:
    root = write_cifar(tmp_path, random_images(1, (3, 32, 32), 0), [0], CIFAR_NAMES)

    class Exploit:
        def __reduce__(self) -> tuple[object, ...]:
            return (print, ("pwned",))

    (root / "test_batch").write_bytes(pickle.dumps({b"data": Exploit()}, protocol=2))
    with pytest.raises(DatasetError, match=r"test_batch: unreadable CIFAR batch: refused to load "
                       r"__builtin__.print"):
        open_dataset(root, RGB)


def test_class_folders_use_model_names_else_sorted_names(tmp_path: Path) -> None:
    images = random_images(4, (3, 40, 30), seed=4)
    named = write_class_folders(tmp_path / "named", {"truck": images[:2], "bird": images[2:]}, ".png")
    data = open_dataset(named, RGB)
    assert data.format == "folder" and [data.label(i) for i in range(4)] == [2, 2, 9, 9]
    assert data.pixels(0).shape == (3, 32, 32)  # resized to the model's input
    other = {f"kind-{c}": images[:1] for c in "jihgfedcba"}  # ten classes, none the model's
    data = open_dataset(write_class_folders(tmp_path / "other", other, ".jpg"), RGB)
    assert data.label(0) == 0 and data.source(0).endswith("kind-a/000.jpg")
    assert "sorted folder names" in data.class_note


def test_a_mismatched_label_map_is_refused(tmp_path: Path) -> None:
    images = random_images(2, (3, 32, 32), seed=5)
    root = write_class_folders(tmp_path, {"truck": images[:1], "zebra": images[1:]})
    with pytest.raises(DatasetError, match=r"mismatched label map: classes \['zebra'\] are not "
                       r"classes of the model, while \['truck'\] are"):
        open_dataset(root, RGB)
    few = write_class_folders(tmp_path / "few", {"a": images[:1], "b": images[1:]})
    with pytest.raises(DatasetError, match=r"2 classes .* but the model has 10"):
        open_dataset(few, RGB)


def test_an_empty_class_folder_is_named(tmp_path: Path) -> None:
    root = write_class_folders(tmp_path, {"bird": random_images(1, (3, 32, 32), 6)})
    (root / "truck").mkdir()
    with pytest.raises(DatasetError, match=rf"^{tmp_path / 'truck'}: empty class folder"):
        open_dataset(root, RGB)


def test_imagenet_validation_folder_with_resize_and_centre_crop(tmp_path: Path) -> None:
    synsets = ["n01440764", "n01443537", "n01484850"]
    images = random_images(3, (3, 60, 80), seed=7)
    root = write_class_folders(tmp_path, {s: images[i:i + 1] for i, s in enumerate(synsets)},
                               ".JPEG")
    model = ModelSpec("inet", "image", (3, 24, 24), ("tench", "goldfish", "shark"),
                      Preprocessing(resize=30, center_crop=(24, 24)))
    data = open_dataset(root, model)
    assert data.format == "imagenet-val" and [data.label(i) for i in range(3)] == [0, 1, 2]
    source = Image.open(root / synsets[1] / "000.JPEG").convert("RGB").resize(
        (40, 30), Image.Resampling.BILINEAR).crop((8, 3, 32, 27))
    assert np.array_equal(data.pixels(1), np.asarray(source, np.float32).transpose(2, 0, 1) / 255)


def test_manifest_with_names_indices_and_an_unknown_label(tmp_path: Path) -> None:
    images = random_images(3, (1, 28, 28), seed=8)
    for i, pixels in enumerate(images):
        save_image(pixels, tmp_path / "imgs" / f"{i}.png")
    (tmp_path / "set.csv").write_text("label,path\nclass-7,imgs/0.png\n3,imgs/1.png\nzebra,imgs/2.png\n")
    data = open_dataset(tmp_path / "set.csv", GREY)
    assert data.format == "manifest" and [data.label(i) for i in range(2)] == [7, 3]
    assert np.array_equal(data.pixels(0), images[0].astype(np.float32) / 255)
    with pytest.raises(DatasetError, match=r"set.csv line 4 \(imgs/2.png\): unknown label 'zebra'") as bad:
        data.pixels(2)
    assert bad.value.bad_item
    (tmp_path / "set.tsv").write_text("imgs/0.png\t1\nimgs/missing.png\t2\n")
    data = open_dataset(tmp_path / "set.tsv", GREY)
    with pytest.raises(DatasetError, match=r"imgs/missing.png: unreadable: no such file"):
        data.pixels(1)


def test_unreadable_and_untakeable_images_are_named(tmp_path: Path) -> None:
    root = write_class_folders(tmp_path, {f"class-{i}": random_images(1, (1, 28, 28), i)
                                          for i in range(10)})
    (root / "class-3" / "001.png").write_bytes(b"not a png at all")
    model = ModelSpec("crop", "image", (1, 28, 28), GREY.class_names, Preprocessing(center_crop=(40, 40)))
    data = open_dataset(root, GREY)
    bad = next(i for i in range(len(data)) if data.source(i).endswith("class-3/001.png"))
    with pytest.raises(DatasetError, match=r"class-3/001.png: unreadable: not an image"):
        data.pixels(bad)
    with pytest.raises(DatasetError, match=r"000.png: the model cannot take this image: 28x28 is "
                       r"smaller than the centre crop 40x40"):
        open_dataset(root, model).pixels(0)


def test_video_folder_decodes_like_the_service(tmp_path: Path) -> None:
    from certify_media.video import decode_video_in_process

    root = write_video_folders(tmp_path, {"class-0": 1, "class-1": 2}, frames=6, size=28, seed=9)
    model = ModelSpec("video", "video", (1, 4, 28, 28), ("class-0", "class-1"))
    data = open_dataset(root, model)
    assert data.format == "video-folder" and [data.label(i) for i in range(3)] == [0, 1, 1]
    name, clip = data.upload(2)
    assert name == "2.mp4" and clip == (root / "class-1" / "001.mp4").read_bytes()
    expected = decode_video_in_process(clip, (1, 4, 28, 28)).array
    assert data.pixels(2).shape == (1, 4, 28, 28) and np.array_equal(data.pixels(2), expected)
    (root / "class-0" / "000.mp4").write_bytes(clip[: len(clip) // 3])
    with pytest.raises(DatasetError, match=r"class-0/000.mp4: unreadable|class-0/000.mp4: the model"):
        data.pixels(0)
    with pytest.raises(DatasetError, match=r"model grey takes images; this folder holds videos"):
        open_dataset(root, GREY)


def test_unknown_layouts_and_models_say_what_is_expected(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DatasetError, match=r"notes.txt: not a data set"):
        open_dataset(tmp_path / "notes.txt", GREY)
    with pytest.raises(DatasetError, match=r"format not recognised"):
        open_dataset(tmp_path, GREY)
    with pytest.raises(DatasetError, match=r"model four: takes 4 channels"):
        ModelSpec.from_manifest({"name": "four", "input_shape": [4, 8, 8], "class_names": ["a"]})
    with pytest.raises(DatasetError, match=r"field `preprocessing.resize` must be a positive integer"):
        ModelSpec.from_manifest({"name": "m", "input_shape": [1, 8, 8], "class_names": ["a"],
                                 "preprocessing": {"resize": -3}})
