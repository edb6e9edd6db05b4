# chat: a small, non-root image. Run it with real engines through compose.yaml.
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY chat ./chat
COPY templates ./templates
COPY static ./static
RUN pip wheel --no-cache-dir --wheel-dir /wheels '.[postgres,redis]'

FROM python:3.12-slim
RUN useradd --create-home --uid 10001 chat
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels 'chat[postgres,redis]' && rm -rf /wheels
USER chat
WORKDIR /home/chat
ENV CHAT_HOST=0.0.0.0 CHAT_PORT=8000 PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ['CHAT_PORT']}/health\", timeout=2)"]
# --workers N needs the shared broker (CHAT_BROKER_URL=redis://…), as compose.yaml sets it.
CMD ["sh", "-c", "exec chat serve --workers ${CHAT_WORKERS:-1}"]
