# jobbot production image: the bot and its Azure/Slack SDKs only (no emulator, no KQL engine).
# Build: docker build -t jobbot .    Run: docker run -p 3000:3000 --env-file jobbot.env jobbot
# `jobbot demo` and `--scenario` need the demo extra, which this image leaves out on purpose: in it they exit 2
# with one line naming `pip install 'jobbot[demo]'` (run the demo from a checkout instead, see README).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY kql ./kql
COPY runbooks ./runbooks
COPY scenarios ./scenarios
RUN python -m pip install --no-cache-dir --upgrade "pip==25.3" \
    && python -m pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=3000
RUN useradd --create-home --uid 10001 jobbot
COPY --from=build /wheels /wheels
RUN python -m pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER 10001
WORKDIR /home/jobbot
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"3000\")}/healthz', timeout=2)"]
ENTRYPOINT ["jobbot"]
CMD ["serve"]
