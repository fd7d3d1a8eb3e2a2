"""The explorer's HTTP server: routes → :class:`~convscope.explorer.session.Explorer` → JSON.

Standard library only (``http.server.ThreadingHTTPServer``: one thread per request).
It binds 127.0.0.1 unless told otherwise, serves only the files in this package's
``static/`` folder (any other path, ``..`` included, is a 404), and answers bad
requests with a status and ``{"error": "what was expected, what was received"}``:
400 for bad input, 404 for unknown paths, 405 for a wrong method, 413 for uploads
over :data:`~convscope.explorer.preprocess.MAX_UPLOAD_BYTES`.

Routes::

    GET  /                          the page (static/index.html)
    GET  /static/<file>             its scripts and style sheet
    GET  /api/info                  layers, shapes, classes, palettes
    GET  /api/test-images?class=K&limit=N   test images, misclassified first
    GET  /api/filters               every Conv2d layer's kernels
    GET  /api/max-activating?layer=L&channel=C&k=K
    POST /api/forward   {"input"}                       feature maps and probabilities
    POST /api/draw      {"width", "height", "pixels"}   a drawing → forward
    POST /api/upload?invert=1   (the image file's bytes)  → forward
    POST /api/unit      {"input", "layer", "channel", "row", "col"}  unit_arithmetic
    POST /api/explain   {"input", "method", "target", "layer"?}      saliency, Grad-CAM, ...
"""

from __future__ import annotations

import json
import mimetypes
import sys
import threading
import traceback
import webbrowser
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from convscope.explorer.preprocess import MAX_UPLOAD_BYTES
from convscope.explorer.session import Explorer

STATIC = Path(__file__).resolve().parent / "static"
# JSON request bodies are small (an input image as base64); a drawing is at most 2048².
MAX_JSON_BYTES = 8 * 1024 * 1024
# A too-large body up to this size is read and dropped before answering 413.
MAX_DISCARD_BYTES = 64 * 1024 * 1024
TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".png": "image/png"}


class HTTPError(Exception):
    """A request that cannot be answered: its status and the message shown to the user."""

    def __init__(self, status: HTTPStatus, message: str):
        super().__init__(message)
        self.status = status


def static_file(url_path: str) -> Path:
    """The file under :data:`STATIC` that ``url_path`` names, or HTTPError 404.

    >>> static_file("/").name, static_file("/static/app.js").name
    ('index.html', 'app.js')
    >>> static_file("/static/../session.py")
    Traceback (most recent call last):
        ...
    convscope.explorer.server.HTTPError: No such file: '/static/../session.py'.
    """
    path = unquote(url_path)
    relative = "index.html" if path in ("/", "/index.html") else path.removeprefix("/static/")
    candidate = (STATIC / relative).resolve()
    if (
        not (path in ("/", "/index.html") or path.startswith("/static/"))
        or ".." in Path(relative).parts
        or "\\" in relative
        or not candidate.is_relative_to(STATIC)
        or not candidate.is_file()
    ):
        raise HTTPError(HTTPStatus.NOT_FOUND, f"No such file: {url_path!r}.")
    return candidate


def _int_param(query: dict[str, list[str]], name: str, default: Any = None) -> Any:
    values = query.get(name)
    if not values:
        if default is None:
            raise HTTPError(HTTPStatus.BAD_REQUEST, f"Expected the query parameter {name!r}.")
        return default
    try:
        return int(values[0])
    except ValueError:
        raise HTTPError(
            HTTPStatus.BAD_REQUEST, f"Expected {name} to be an integer; received {values[0]!r}."
        ) from None


def make_handler(explorer: Explorer, quiet: bool = True) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to ``explorer``."""

    def get_routes(query: dict[str, list[str]]) -> dict[str, Callable[[], Any]]:
        return {
            "/api/info": explorer.info,
            "/api/filters": explorer.filters,
            "/api/test-images": lambda: explorer.test_images(
                _int_param(query, "class", -1) if "class" in query else None,
                _int_param(query, "limit", 24),
            ),
            "/api/max-activating": lambda: explorer.max_activating(
                (query.get("layer") or [""])[0],
                _int_param(query, "channel"),
                _int_param(query, "k", 9),
            ),
        }

    def post_json(path: str, body: dict[str, Any]) -> Any:
        if path == "/api/draw":
            return explorer.drawing(body.get("width"), body.get("height"), body.get("pixels"))
        image = explorer.parse_input(body.get("input"))
        if path == "/api/forward":
            return explorer.forward(image)
        if path == "/api/unit":
            unit = [body.get(k) for k in ("layer", "channel")] + [
                body.get("row", 0),
                body.get("col", 0),
            ]
            return explorer.unit(image, *unit)
        return explorer.explanation(image, *(body.get(k) for k in ("method", "target", "layer")))

    json_posts = ("/api/forward", "/api/draw", "/api/unit", "/api/explain")

    class Handler(BaseHTTPRequestHandler):
        server_version = "convscope-explorer"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            if not quiet:
                super().log_message(format, *args)

        # ------------------------------------------------------------- replies

        def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, status: HTTPStatus, value: Any) -> None:
            self._send(status, json.dumps(value).encode(), "application/json")

        def _answer(self, work: Callable[[], Any]) -> None:
            try:
                self._json(HTTPStatus.OK, work())
            except HTTPError as error:
                self._json(error.status, {"error": str(error)})
            except (ValueError, TypeError, FileNotFoundError) as error:
                self._json(HTTPStatus.BAD_REQUEST, {"error": str(error)})
            except Exception as error:  # a bug: say so, keep serving
                traceback.print_exc(file=sys.stderr)
                self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"Internal error: {error}"})

        def _body(self, limit: int) -> bytes:
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                raise HTTPError(HTTPStatus.LENGTH_REQUIRED, "Expected a Content-Length.") from None
            if length > limit:
                self._discard(length)
                raise HTTPError(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    f"Expected at most {limit // 2**20} MB; received {length / 2**20:.1f} MB.",
                )
            return self.rfile.read(length)

        def _discard(self, length: int) -> None:
            """Read and drop a too-large body, so the client gets the 413 rather than a
            broken connection; past :data:`MAX_DISCARD_BYTES` the connection is closed."""
            self.close_connection = True
            remaining = length if length <= MAX_DISCARD_BYTES else 0
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1 << 16))
                if not chunk:
                    break
                remaining -= len(chunk)

        # ------------------------------------------------------------- methods

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            routes = get_routes(parse_qs(url.query))
            if url.path in routes:
                self._answer(routes[url.path])
                return
            if url.path.startswith("/api/") or url.path in ("/api",):
                self._json(HTTPStatus.NOT_FOUND, {"error": f"No such endpoint: GET {url.path}."})
                return
            try:
                path = static_file(url.path)
            except HTTPError as error:
                self._json(error.status, {"error": str(error)})
                return
            kind = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
            self._send(HTTPStatus.OK, path.read_bytes(), kind or "application/octet-stream")

        do_HEAD = do_GET

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/api/upload":
                query = parse_qs(url.query)
                self._answer(
                    lambda: explorer.upload(
                        self._body(MAX_UPLOAD_BYTES), _int_param(query, "invert", 0) == 1
                    )
                )
                return
            if url.path not in json_posts:
                known = url.path in get_routes({})
                status = HTTPStatus.METHOD_NOT_ALLOWED if known else HTTPStatus.NOT_FOUND
                self._json(status, {"error": f"No such endpoint: POST {url.path}."})
                return

            def work() -> Any:
                try:
                    body = json.loads(self._body(MAX_JSON_BYTES) or b"null")
                except (json.JSONDecodeError, UnicodeDecodeError):
                    raise HTTPError(HTTPStatus.BAD_REQUEST, "Expected a JSON body.") from None
                if not isinstance(body, dict):
                    raise HTTPError(HTTPStatus.BAD_REQUEST, "Expected a JSON object as the body.")
                return post_json(url.path, body)

            self._answer(work)

    return Handler


def make_server(
    explorer: Explorer, host: str = "127.0.0.1", port: int = 8000, quiet: bool = True
) -> ThreadingHTTPServer:
    """A server for ``explorer`` bound to ``host:port`` (port 0: any free port), not started."""
    server = ThreadingHTTPServer((host, port), make_handler(explorer, quiet))
    server.daemon_threads = True
    return server


def serve(
    run_dir: str | Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    open_browser: bool = True,
    which: str = "best",
) -> None:
    """Load a run, print the explorer's URL, open it in a browser, serve until Ctrl-C.

    Raises:
        FileNotFoundError: ``run_dir`` is not a run, or has no such checkpoint.
        ValueError: the port is in use or the host cannot be bound.
    """
    explorer = Explorer.from_run(run_dir, which)
    try:
        server = make_server(explorer, host, port)
    except OSError as error:
        raise ValueError(
            f"Cannot listen on {host}:{port} ({error.strerror or error}); pass another --port."
        ) from None
    url = f"http://{host}:{server.server_address[1]}/"
    print(f"convscope explorer for {run_dir}: {url}  (Ctrl-C stops it)", flush=True)
    if open_browser:
        threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nStopped.", flush=True)
    finally:
        server.server_close()
