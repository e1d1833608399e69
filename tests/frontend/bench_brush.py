"""Browser benchmark: time per brush-stroke frame on a 2048x2048 16-bit image.

Run: .venv/bin/python -m tests.frontend.bench_brush [--out bench-out/brush_bench.json]

Starts the service on 127.0.0.1 with a temporary SQLite database, uploads a synthetic 2048x2048
uint16 TIFF, opens it in Chromium and draws long strokes with the real mouse at two zooms. The
page measures with performance.now(): per mouse event, the mask edit plus the overlay repaint of
the dirty rectangle; per frame, the composite (as issued, and rasterised by reading a pixel back);
and from event to painted frame. Prints the figures and writes them to JSON; asserts nothing
(speed is reported, not tested).
"""

import argparse
import io
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import tifffile
from playwright.sync_api import Page, sync_playwright

from backend.config import Settings
from backend.migrate import upgrade
from tests.conftest import ADMIN_PASSWORD, ADMIN_TOKEN, LiveServer
from tests.frontend.conftest import CHROMIUM, CHROMIUM_ARGS

SIZE = 2048
BRUSH = 24
EVENTS = 240
METRICS = ("edit_per_event", "composite_per_frame", "composite_rasterised", "event_to_frame")

READY = """() => window.maskloopEditor
  && document.querySelector('[data-testid=annotation-canvas]').dataset.zoom"""
FULL_REDRAW = """() => {
  const ed = window.maskloopEditor, t0 = performance.now();
  ed.overlay.repaintAll();
  const t1 = performance.now();
  ed.stage.invalidate();
  ed.stage.composite();
  return {overlay_full_repaint_ms: t1 - t0, composite_full_ms: performance.now() - t1};
}"""
# Canvas drawing may be rasterised lazily; reading one pixel back after each composite forces
# the pixels to exist, which gives the honest cost of a frame.
RESET = """() => {
  const ed = window.maskloopEditor, s = ed.stage, p = ed.perf;
  p.eventToFrame.length = p.editMs.length = p.compositeMs.length = 0;
  window.flushedMs = [];
  if (!s.measured) {
    const draw = s.composite.bind(s);
    s.composite = () => {
      const t = performance.now();
      draw();
      s.ctx.getImageData(0, 0, 1, 1);
      window.flushedMs.push(performance.now() - t);
    };
    s.measured = true;
  }
}"""
ZOOM_X4 = """() => {
  const s = window.maskloopEditor.stage;
  s.zoomAt(4 / s.zoom, s.cssWidth / 2, s.cssHeight / 2);
}"""
READ = "() => ({...window.maskloopEditor.perf, flushed: window.flushedMs})"


def image_bytes() -> bytes:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    array = 800 + 20000 * (np.sin(xx / 37.0) * np.cos(yy / 53.0)) ** 2
    array += rng.normal(0, 300, (SIZE, SIZE))
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, array.clip(0, 65535).astype(np.uint16))
    return buffer.getvalue()


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    return {
        "n": len(values),
        "mean_ms": round(statistics.fmean(values), 3),
        "median_ms": round(statistics.median(values), 3),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 3),
        "max_ms": round(ordered[-1], 3),
    }


def upload_image(server: LiveServer) -> int:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=server.url, timeout=120, headers=headers) as admin:
        body = {"name": "bench", "kind": "semantic", "classes": [{"name": "a", "color": "#ff3b30"}]}
        cid = admin.post("/api/v1/collections", json=body).json()["id"]
        r = admin.post(
            f"/api/v1/collections/{cid}/images", files={"files": ("big.tif", image_bytes())}
        )
        r.raise_for_status()
        return r.json()["data"][0]["id"]


def stroke_scenario(page: Page, zoomed: bool) -> dict:
    canvas = page.get_by_test_id("annotation-canvas")
    canvas.focus()
    page.keyboard.press("0")  # fit
    if zoomed:
        page.evaluate(ZOOM_X4)
    box = canvas.bounding_box()
    assert box is not None
    page.evaluate(RESET)
    x0, y0 = box["x"] + 80, box["y"] + 80
    page.mouse.move(x0, y0)
    page.mouse.down()
    for k in range(1, EVENTS + 1):  # a zig-zag stroke, mouse events 6-10 px apart
        page.mouse.move(x0 + (k % 80) * 10, y0 + k * 2.5 + (k // 80) * 6)
    page.mouse.up()
    page.wait_for_timeout(100)
    perf = page.evaluate(READ)
    page.keyboard.press("Control+z")
    series = (perf["editMs"], perf["compositeMs"], perf["flushed"], perf["eventToFrame"])
    result: dict = {"zoom": float(canvas.get_attribute("data-zoom") or 0)}
    result.update({name: summary(values) for name, values in zip(METRICS, series, strict=True)})
    return result


def run(out: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        upgrade(f"sqlite:///{db}")
        settings = Settings(
            data_dir=Path(tmp) / "data",
            database_url=f"sqlite:///{db}",
            admin_password=ADMIN_PASSWORD,
            admin_token=ADMIN_TOKEN,
            worker="none",
            device="cpu",
        )
        with LiveServer(settings) as server, sync_playwright() as p:
            image_id = upload_image(server)
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            viewport = {"width": 1400, "height": 860}
            page = browser.new_page(viewport=viewport, base_url=server.url)
            page.goto("/")
            page.get_by_test_id("login-username").fill("admin")
            page.get_by_test_id("login-password").fill(ADMIN_PASSWORD)
            page.get_by_test_id("login-submit").click()
            page.get_by_test_id("current-user").wait_for()
            started = time.perf_counter()
            page.goto(f"/#/annotate/{image_id}")
            page.wait_for_function(READY, polling=20)
            open_ms = (time.perf_counter() - started) * 1000
            page.get_by_test_id("brush-size").fill(str(BRUSH))
            results = {
                "image": f"{SIZE}x{SIZE} uint16",
                "brush_size": BRUSH,
                "viewport": viewport,
                "chromium": browser.version,
                "open_image_ms": round(open_ms, 1),
                "full_redraw_reference": page.evaluate(FULL_REDRAW),
                "scenarios": {
                    "fit": stroke_scenario(page, zoomed=False),
                    "zoomed_x4": stroke_scenario(page, zoomed=True),
                },
            }
            browser.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench-out/brush_bench.json"))
    args = parser.parse_args()
    results = run(args.out)
    print(
        f"brush benchmark: {results['image']}, brush {results['brush_size']} px, "
        f"Chromium {results['chromium']} (software rendering)"
    )
    print(
        f"  opening the image (fetch 8 MB, decode TIFF, contrast, first frame): "
        f"{results['open_image_ms']:.0f} ms"
    )
    ref = results["full_redraw_reference"]
    print(
        f"  without dirty rectangles each move would cost: overlay repaint "
        f"{ref['overlay_full_repaint_ms']:.1f} ms + full composite "
        f"{ref['composite_full_ms']:.1f} ms"
    )
    for name, scenario in results["scenarios"].items():
        print(f"  {name} (zoom {scenario['zoom']:.3f}):")
        for key in METRICS:
            v = scenario[key]
            print(
                f"    {key:22s} n={v.get('n', 0):4d}  median {v.get('median_ms', 0):6.2f} ms"
                f"  p95 {v.get('p95_ms', 0):6.2f} ms  max {v.get('max_ms', 0):6.2f} ms"
            )
    print(f"  written to {args.out}")


if __name__ == "__main__":
    main()
