from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from models.io import list_images, read_image, read_label, write_label


@pytest.mark.parametrize("high", [7, 255, 256, 60000])
def test_write_label_round_trips_bit_exact(tmp_path: Path, high: int) -> None:
    labels = np.random.default_rng(0).integers(0, high + 1, (17, 23)).astype(np.int32)
    labels[0, 0] = high
    write_label(tmp_path / "a.png", labels)
    back = read_label(tmp_path / "a.png")
    assert back.dtype == (np.uint8 if high <= 255 else np.uint16)
    np.testing.assert_array_equal(back, labels)


def test_write_label_rejects_negative_ids(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"0\.\.65535"):
        write_label(tmp_path / "a.png", np.full((4, 4), -1, np.int32))


def test_read_image_keeps_native_dtype_for_tiff_and_png(tmp_path: Path) -> None:
    data16 = np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000
    tifffile.imwrite(tmp_path / "a.tif", data16)
    rgba = np.zeros((8, 8, 4), np.uint8)
    Image.fromarray(rgba).save(tmp_path / "b.png")
    assert read_image(tmp_path / "a.tif").dtype == np.uint16
    assert read_image(tmp_path / "b.png").shape == (8, 8, 4)


def test_list_images_keys_by_stem_and_skips_other_files(tmp_path: Path) -> None:
    for name in ("b.png", "a.tif", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert list(list_images(tmp_path)) == ["a", "b"]


def test_list_images_rejects_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a directory"):
        list_images(tmp_path / "nope")


def test_read_label_rejects_float_tiff(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "m.tif", np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match="integers"):
        read_label(tmp_path / "m.tif")


def test_read_image_moves_few_channels_last_and_refuses_stacks(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "five.tif", np.zeros((5, 32, 40), np.uint16))
    assert read_image(tmp_path / "five.tif").shape == (32, 40, 5)
    tifffile.imwrite(tmp_path / "stack.tif", np.zeros((20, 48, 48), np.uint16))
    with pytest.raises(ValueError, match="z-stack or time series"):
        read_image(tmp_path / "stack.tif")
