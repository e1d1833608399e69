"""Classic baselines for the label-efficiency benchmark: Otsu thresholding and an ilastik-style
pixel classifier (random forest on multiscale filter features).

Both train on the same K labeled images as the networks and return label images in the same
form: class indices for ``semantic`` collections, instance ids (connected components of the
foreground) for ``instance`` ones. Only grayscale (2-D) images are handled; the benchmark
reduces colour images to luminance first.

Pixel classifier after Sommer et al., "ilastik: Interactive learning and segmentation toolkit",
ISBI 2011, and Berg et al., Nature Methods 16:1226 (2019): Gaussian smoothing, Laplacian of
Gaussian, gradient magnitude, difference of Gaussians, structure-tensor and Hessian eigenvalues
at several scales, classified per pixel by a random forest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy import ndimage as ndi
from skimage.filters import threshold_otsu
from skimage.measure import label as connected_components
from sklearn.ensemble import RandomForestClassifier

from models.metrics import segmentation_scores

Kind = Literal["semantic", "instance"]
Polarity = Literal["bright", "dark", "minority"]
POLARITIES: tuple[Polarity, ...] = ("minority", "bright", "dark")
DEFAULT_SIGMAS: tuple[float, ...] = (0.7, 1.6, 3.5, 5.0, 10.0)

__all__ = [
    "OtsuBaseline",
    "PixelClassifier",
    "filter_features",
    "normalize_percentile",
    "to_output",
]


def normalize_percentile(image: np.ndarray, low: float = 1.0, high: float = 99.8) -> np.ndarray:
    """Map the image's [low, high] percentiles to [0, 1] (8-bit, 16-bit and float alike).

    Shape: (H, W) -> (H, W) float32.
    """
    img = np.asarray(image, dtype=np.float32)
    lo, hi = np.percentile(img, [low, high])
    return (img - lo) / max(float(hi - lo), 1e-6)


def to_output(foreground: np.ndarray, kind: Kind) -> np.ndarray:
    """Turn a boolean foreground into a label image: classes {0, 1} or connected components."""
    if kind == "instance":
        return connected_components(foreground, connectivity=1).astype(np.int32)
    return foreground.astype(np.int32)


def _otsu_foreground(image: np.ndarray, polarity: Polarity) -> np.ndarray:
    img = np.asarray(image, dtype=np.float32)
    if img.min() == img.max():
        return np.zeros(img.shape, dtype=bool)
    above = img > threshold_otsu(img)
    if polarity == "bright":
        return above
    if polarity == "dark":
        return ~above
    return above if above.mean() <= 0.5 else ~above


@dataclass
class OtsuBaseline:
    """Global Otsu threshold per image.

    The polarity is one of ``minority`` (foreground is the smaller side of the threshold, which
    handles fluorescence and brightfield in one collection), ``bright`` or ``dark``; ``fit``
    picks the one that scores best on the labeled images.
    """

    kind: Kind
    polarity: Polarity = "minority"

    def __post_init__(self) -> None:
        if self.kind not in ("semantic", "instance"):
            raise ValueError(f"kind must be 'semantic' or 'instance', got {self.kind!r}")
        if self.polarity not in POLARITIES:
            raise ValueError(f"polarity must be one of {POLARITIES}, got {self.polarity!r}")

    def fit(self, images: Sequence[np.ndarray], masks: Sequence[np.ndarray]) -> OtsuBaseline:
        if len(images) != len(masks) or not images:
            raise ValueError("fit needs as many masks as images, at least one of each")

        def score(polarity: Polarity) -> float:
            dices = [
                segmentation_scores(
                    _otsu_foreground(im, polarity).astype(np.int32),
                    (m > 0).astype(np.int32),
                    kind="semantic",
                )["dice"]
                for im, m in zip(images, masks, strict=True)
            ]
            return float(np.mean(dices))

        self.polarity = max(POLARITIES, key=score)  # ties keep the earlier (minority) choice
        return self

    def predict(self, image: np.ndarray) -> np.ndarray:
        return to_output(_otsu_foreground(image, self.polarity), self.kind)


def _eigen2(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (larger, smaller) of the symmetric 2x2 fields [[a, b], [b, c]]."""
    mean = 0.5 * (a + c)
    root = np.sqrt(0.25 * (a - c) ** 2 + b**2)
    return mean + root, mean - root


def filter_features(image: np.ndarray, sigmas: Sequence[float] = DEFAULT_SIGMAS) -> np.ndarray:
    """ilastik-style pixel features of a normalised grayscale image.

    Per sigma: Gaussian, Laplacian of Gaussian, gradient magnitude, difference of Gaussians
    (sigma vs 1.6 sigma), two structure-tensor and two Hessian eigenvalues; plus the raw value.
    Shape: (H, W) -> (H, W, 1 + 8 * len(sigmas)) float32.
    """
    img = np.asarray(image, dtype=np.float32)
    if img.ndim != 2:
        raise ValueError(f"filter_features needs a 2-D image, got shape {img.shape}")
    feats = [img]
    for s in sigmas:
        smooth = ndi.gaussian_filter(img, s)
        feats.append(smooth)
        feats.append(ndi.gaussian_laplace(img, s))
        feats.append(ndi.gaussian_gradient_magnitude(img, s))
        feats.append(smooth - ndi.gaussian_filter(img, 1.6 * s))
        gy = ndi.gaussian_filter(img, s, order=(1, 0))
        gx = ndi.gaussian_filter(img, s, order=(0, 1))
        ts = 2.0 * s  # integration scale of the structure tensor, as in ilastik (window 2 sigma)
        feats.extend(
            _eigen2(
                ndi.gaussian_filter(gx * gx, ts),
                ndi.gaussian_filter(gx * gy, ts),
                ndi.gaussian_filter(gy * gy, ts),
            )
        )
        feats.extend(
            _eigen2(
                ndi.gaussian_filter(img, s, order=(0, 2)),
                ndi.gaussian_filter(img, s, order=(1, 1)),
                ndi.gaussian_filter(img, s, order=(2, 0)),
            )
        )
    return np.stack(feats, axis=-1)


@dataclass
class PixelClassifier:
    """Random forest on :func:`filter_features` of percentile-normalised images.

    ``samples_per_image`` pixels are drawn from each labeled image (stratified by class so that
    small classes are seen); ``n_jobs`` is passed to scikit-learn.
    """

    kind: Kind
    num_classes: int = 2
    sigmas: tuple[float, ...] = DEFAULT_SIGMAS
    n_estimators: int = 100
    samples_per_image: int = 20_000
    seed: int = 0
    n_jobs: int | None = None
    forest: RandomForestClassifier | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in ("semantic", "instance"):
            raise ValueError(f"kind must be 'semantic' or 'instance', got {self.kind!r}")
        if self.num_classes < 2:
            raise ValueError(f"num_classes must be at least 2, got {self.num_classes}")
        if not self.sigmas or min(self.sigmas) <= 0:
            raise ValueError(f"sigmas must be positive, got {self.sigmas}")
        if self.n_estimators < 1 or self.samples_per_image < 1:
            raise ValueError(
                f"n_estimators ({self.n_estimators}) and samples_per_image "
                f"({self.samples_per_image}) must be positive"
            )

    def features(self, image: np.ndarray) -> np.ndarray:
        """Shape: (H, W) -> (H, W, F)."""
        return filter_features(normalize_percentile(image), self.sigmas)

    def _targets(self, mask: np.ndarray) -> np.ndarray:
        return (mask > 0).astype(np.int32) if self.kind == "instance" else mask.astype(np.int32)

    def fit(
        self,
        images: Sequence[np.ndarray],
        masks: Sequence[np.ndarray],
        *,
        features: Sequence[np.ndarray] | None = None,
    ) -> PixelClassifier:
        """Train on labeled images; ``features`` may pass precomputed :meth:`features`."""
        if len(images) != len(masks) or not images:
            raise ValueError("fit needs as many masks as images, at least one of each")
        rng = np.random.default_rng(self.seed)
        xs, ys = [], []
        for i, (image, mask) in enumerate(zip(images, masks, strict=True)):
            if image.shape != mask.shape:
                raise ValueError(f"image {i} shape {image.shape} differs from mask {mask.shape}")
            feat = features[i] if features is not None else self.features(image)
            target = self._targets(mask).ravel()
            idx = self._sample(target, rng)
            xs.append(feat.reshape(-1, feat.shape[-1])[idx])
            ys.append(target[idx])
        self.forest = RandomForestClassifier(
            n_estimators=self.n_estimators,
            min_samples_leaf=2,
            n_jobs=self.n_jobs,
            random_state=self.seed,
        ).fit(np.concatenate(xs), np.concatenate(ys))
        return self

    def _sample(self, target: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        classes = np.unique(target)
        per_class = max(1, self.samples_per_image // len(classes))
        picks = []
        for c in classes:
            where = np.flatnonzero(target == c)
            picks.append(rng.choice(where, size=min(per_class, where.size), replace=False))
        return np.concatenate(picks)

    def predict_proba(self, image: np.ndarray, *, features: np.ndarray | None = None) -> np.ndarray:
        """Class probabilities. Shape: (H, W) -> (num_classes, H, W)."""
        if self.forest is None:
            raise RuntimeError("PixelClassifier.predict before fit")
        feat = features if features is not None else self.features(image)
        h, w, f = feat.shape
        proba = self.forest.predict_proba(feat.reshape(-1, f))
        out = np.zeros((self.num_classes if self.kind == "semantic" else 2, h * w), np.float32)
        out[self.forest.classes_] = proba.T
        return out.reshape(-1, h, w)

    def predict(self, image: np.ndarray, *, features: np.ndarray | None = None) -> np.ndarray:
        proba = self.predict_proba(image, features=features)
        if self.kind == "instance":
            return to_output(proba[1] > 0.5, "instance")
        return proba.argmax(axis=0).astype(np.int32)
