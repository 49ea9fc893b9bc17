# syntax=docker/dockerfile:1
# The dispatcher image: every handler on :8000, the operators' golfiq-admin CLI, the bundled models,
# libonnxruntime from the PyPI wheel, FFmpeg's H.264/HEVC decoder libraries (built from Debian's
# source), data under /data. Two ways to build:
#   docker compose -f docker-compose.staging.yml up --build     (builds the binary in the builder stage)
#   scripts/compose-smoke.sh                                     (no registry: host-built binary, --target prebuilt)
ARG BUILDER_IMAGE=rust:1.95-bookworm
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BUILDER_IMAGE} AS builder
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-pip python3-venv \
    && rm -rf /var/lib/apt/lists/*
COPY . .
RUN ./scripts/setup-ort.sh && FFMPEG_CLI=0 ./scripts/setup-ffmpeg.sh \
    && cargo build --release --locked -p local --bin dispatcher -p admin --bin golfiq-admin \
    && mkdir -p /out && cp target/release/dispatcher target/release/golfiq-admin /out/ \
    && cp -a .ort/lib /out/onnxruntime \
    && cp -a .ffmpeg/lib /out/ffmpeg

FROM ${BASE_IMAGE} AS runtime-base
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /data/runs /data/uploads /data/rounds /data/bags /data/config
COPY models/weights /opt/models/weights
ENV MODELS_DIR=/opt/models/weights \
    ORT_DYLIB_PATH=/opt/onnxruntime/lib/libonnxruntime.so \
    FFMPEG_LIB_DIR=/opt/ffmpeg/lib \
    RUN_STORE_BACKEND=file \
    RUN_STORE_DIR=/data/runs \
    RUNS_UPLOAD_DIR=/data/uploads \
    GOLFIQ_ROUNDS_DIR=/data/rounds \
    GOLFIQ_BAGS_DIR=/data/bags \
    FEATURE_FLAGS_CONFIG_PATH=/data/config/feature_flags.json \
    MODEL_VARIANT=yolov10 \
    PORT=8000
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s CMD curl -fsS http://127.0.0.1:8000/health || exit 1
CMD ["/usr/local/bin/dispatcher"]

# Built without a registry: the binary and library come from the host (see scripts/compose-smoke.sh).
FROM runtime-base AS prebuilt
COPY target/release/dispatcher target/release/golfiq-admin /usr/local/bin/
COPY .ort/lib /opt/onnxruntime/lib
COPY .ffmpeg/lib /opt/ffmpeg/lib

# The default target: the binary from the builder stage.
FROM runtime-base AS runtime
COPY --from=builder /out/dispatcher /out/golfiq-admin /usr/local/bin/
COPY --from=builder /out/onnxruntime /opt/onnxruntime/lib
COPY --from=builder /out/ffmpeg /opt/ffmpeg/lib
