from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torchvision.transforms.v2 as v2

from models.data import (
    IGNORE_INDEX,
    CropSampler,
    accepts_channels,
    adapt_channels,
    augment_pair,
    build_augmentation,
    infer_in_channels,
    percentile_normalize,
    predict_tiled,
    tile_starts,
)
from models.data.augment import RandomRot90


def test_percentile_normalize_treats_8bit_16bit_and_float_alike() -> None:
    base = np.random.default_rng(0).integers(0, 256, (1, 32, 32))
    as8 = percentile_normalize(base.astype(np.uint8))
    as16 = percentile_normalize(base.astype(np.uint16) * 257)
    asfloat = percentile_normalize(base.astype(np.float64) / 255.0)
    np.testing.assert_allclose(as8, as16, atol=1e-5)
    np.testing.assert_allclose(as8, asfloat, atol=1e-5)
    assert as8.dtype == np.float32


def test_percentile_normalize_maps_flat_image_to_zero() -> None:
    assert not percentile_normalize(np.full((2, 8, 8), 7, np.uint16)).any()


def test_adapt_channels_drops_alpha_of_rgba() -> None:
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 3] = 255
    assert adapt_channels(rgba, 3).shape == (3, 4, 4)
    assert adapt_channels(rgba, 1).max() == 0


def test_adapt_channels_converts_between_gray_and_rgb() -> None:
    gray = np.arange(16, dtype=np.uint8).reshape(4, 4)
    rgb = adapt_channels(gray, 3)
    assert rgb.shape == (3, 4, 4)
    np.testing.assert_array_equal(adapt_channels(np.moveaxis(rgb, 0, -1), 1)[0], gray)


def test_adapt_channels_rejects_other_mismatches() -> None:
    with pytest.raises(ValueError, match="image has 5 channels, the model takes 3"):
        adapt_channels(np.zeros((4, 4, 5)), 3)


@pytest.mark.parametrize("in_channels", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("channels", [1, 2, 3, 4, 5])
def test_accepts_channels_says_what_adapt_channels_does(in_channels: int, channels: int) -> None:
    try:
        adapt_channels(np.zeros((4, 4, channels)), in_channels)
        adapted = True
    except ValueError:
        adapted = False
    assert accepts_channels(in_channels, channels) == adapted


def test_infer_in_channels_sees_gray_rgba_as_one_channel() -> None:
    gray_rgba = np.repeat(np.arange(16, dtype=np.uint8).reshape(4, 4, 1), 4, axis=-1)
    colour = np.random.default_rng(0).integers(0, 255, (4, 4, 3)).astype(np.uint8)
    assert infer_in_channels([gray_rgba]) == 1
    assert infer_in_channels([gray_rgba, colour]) == 3


def test_geometric_augmentation_moves_image_and_mask_together() -> None:
    mask = torch.from_numpy(np.random.default_rng(0).integers(0, 3, (32, 32)))
    image = mask[None].float()
    transform = v2.Compose([v2.RandomHorizontalFlip(), v2.RandomVerticalFlip(), RandomRot90()])
    for _ in range(8):
        out_image, out_mask = augment_pair(transform, image, mask)
        torch.testing.assert_close(out_image[0], out_mask.float())


def test_default_augmentation_keeps_mask_values_and_shapes() -> None:
    torch.manual_seed(3)
    mask = torch.zeros(32, 32, dtype=torch.int64)
    mask[8:24, 8:24] = 2
    transform = build_augmentation()
    for _ in range(10):
        out_image, out_mask = augment_pair(transform, torch.rand(2, 32, 32), mask)
        assert out_image.shape == (2, 32, 32) and out_mask.shape == (32, 32)
        assert set(out_mask.unique().tolist()) <= {0, 2, IGNORE_INDEX}


def test_crop_sampler_pads_small_images_with_ignored_mask() -> None:
    sampler = CropSampler(
        [np.ones((1, 20, 24), np.float32)],
        [np.ones((20, 24), np.int64)],
        32,
        augmentation="none",
        generator=np.random.default_rng(0),
    )
    images, masks = sampler.sample(2)
    assert images.shape == (2, 1, 32, 32) and masks is not None
    assert (masks[:, 20:, :] == IGNORE_INDEX).all() and (masks[:, :20, :24] == 1).all()


def test_tile_starts_cover_the_image_with_overlap() -> None:
    starts = tile_starts(100, 32, 8)
    assert starts[0] == 0 and starts[-1] == 100 - 32
    assert all(b - a <= 32 - 8 for a, b in itertools.pairwise(starts))


def test_predict_tiled_equals_direct_for_pointwise_function() -> None:
    image = torch.rand(2, 70, 90)

    def fn(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.sum(1, keepdim=True), x[:, :1] ** 2], dim=1)

    tiled = predict_tiled(fn, image, 2, tile=32, overlap=8)
    torch.testing.assert_close(tiled, fn(image[None])[0])


def test_crop_sampler_prefers_varied_crops_when_given_candidates() -> None:
    image = np.zeros((1, 64, 256), np.float32)
    image[0, :, 192:] = np.random.default_rng(0).random((64, 64))  # the only textured region
    sampler = CropSampler(
        [image], None, 32, augmentation="none", generator=np.random.default_rng(0), candidates=64
    )
    crops, _ = sampler.sample(8)
    assert all(float(c.std()) > 0 for c in crops)


def _share_of_small_image(weighting: str) -> float:
    small = np.zeros((1, 32, 32), np.float32)  # its crops are all zeros
    large = np.ones((1, 32, 320), np.float32)  # ten times the area
    sampler = CropSampler(
        [small, large],
        None,
        32,
        augmentation="none",
        generator=np.random.default_rng(0),
        weighting=weighting,
    )
    crops, _ = sampler.sample(400)
    return float((crops.flatten(1).amax(1) == 0).float().mean())


def test_crop_sampler_weights_images_by_area_or_equally() -> None:
    assert 0.03 < _share_of_small_image("area") < 0.17  # 1/11 expected
    assert 0.4 < _share_of_small_image("image") < 0.6


def test_crop_sampler_rejects_unknown_weighting() -> None:
    with pytest.raises(ValueError, match="weighting must be one of"):
        CropSampler([np.ones((1, 32, 32), np.float32)], None, 32, weighting="size")
