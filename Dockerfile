# The maskloop API image. Build context: the repository root (see .dockerignore).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# PyPI's torch wheel for Linux is the CUDA build (several GB). For a CPU-only image, pass PyTorch's
# CPU wheel index here; the same pinned versions are then taken from it before the rest installs.
ARG TORCH_INDEX_URL=""

RUN useradd --system --create-home --uid 10001 maskloop \
    && mkdir -p /app /data \
    && chown maskloop:maskloop /data

WORKDIR /app

RUN if [ -n "$TORCH_INDEX_URL" ]; then \
        pip install --index-url "$TORCH_INDEX_URL" torch==2.14.1 torchvision==0.29.1; \
    fi

# Dependencies first, in their own layer, so a code change does not reinstall torch.
# The editable install keeps migrations/ and frontend/ beside the packages, where the app finds them.
COPY pyproject.toml ./
RUN mkdir backend models \
    && touch README.md backend/__init__.py models/__init__.py \
    && pip install -e .

COPY . .

USER maskloop
ENV MASKLOOP_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# serve migrates the database, then serves.
CMD ["maskloop", "serve", "--host", "0.0.0.0", "--port", "8000"]
