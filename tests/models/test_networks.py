from __future__ import annotations

import pytest
import torch

from models.networks import ENCODERS, UNetDecoder, build_encoder, build_segmenter


@pytest.mark.parametrize("in_channels", [1, 3, 5])
def test_segmenter_keeps_size_for_any_channel_count(in_channels: int) -> None:
    net = build_segmenter("small", in_channels, 3).eval()
    out = net(torch.rand(1, in_channels, 64, 64))
    assert out.shape == (1, 3, 64, 64)


@pytest.mark.parametrize("encoder", sorted(ENCODERS))
def test_segmenter_handles_odd_sizes(encoder: str) -> None:
    net = build_segmenter(encoder, 1, 2).eval()
    with torch.no_grad():
        out = net(torch.rand(1, 1, 37, 45))
    assert out.shape == (1, 2, 37, 45)


@pytest.mark.parametrize("encoder", sorted(ENCODERS))
def test_encoder_features_match_declared_channels(encoder: str) -> None:
    net = build_encoder(encoder, 2).eval()
    with torch.no_grad():
        features = net(torch.rand(1, 2, 64, 64))
    assert [f.shape[1] for f in features] == list(net.out_channels)
    assert [f.shape[-1] for f in features] == [64 // 2**i for i in range(len(features))]


def test_decoder_sizes_itself_from_encoder_channels() -> None:
    decoder = UNetDecoder((4, 8, 16))
    out = decoder(torch.rand(1, 4, 16, 16), torch.rand(1, 8, 8, 8), torch.rand(1, 16, 4, 4))
    assert out.shape == (1, 4, 16, 16)


def test_build_encoder_rejects_unknown_name() -> None:
    with pytest.raises(ValueError, match="unknown encoder 'vit'"):
        build_encoder("vit", 1)


def test_segmenter_rejects_wrong_channel_count() -> None:
    with pytest.raises(ValueError, match=r"expected input \(B, 3, H, W\)"):
        build_segmenter("small", 3, 2)(torch.rand(1, 1, 32, 32))
