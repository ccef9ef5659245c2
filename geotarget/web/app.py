"""The ASGI application of ``geotarget serve`` (Starlette): the page, the API, the batch pages.

Every analysis runs in a worker thread (:func:`anyio.to_thread.run_sync`, at most
:data:`~geotarget.web.limits.THREADS` at once per process), so a slow request does not hold the
event loop; the server's layer is loaded once per worker process, when it starts.  A request's
bad input is a 400 (the request's shape: unknown or repeated field, too long) or a 422 (a value
the command line refuses, with its one-line message); a page re-shows its form with the message.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import GeotargetError, InputError
from . import csp, jobs, pages
from .limits import MAX_QUERY_BYTES, MAX_RADIUS, MAX_UPLOAD_BYTES, THREADS
from .openapi import OPENAPI, api_page
from .params import analysis, request_args

log = logging.getLogger(__name__)


class RequestError(InputError):
    """A request the server cannot read as asked (unknown or repeated field, too long): 400."""

    status = 400


class TooLarge(RequestError):
    """An upload larger than the server accepts: HTTP 413."""

    status = 413


def json_text(text: str) -> str:
    """JSON text with ``<``, ``>`` and ``&`` written as ``\\u`` escapes: the same JSON, but no
    user string comes back as markup even where a browser guesses HTML.

    Parameters
    ----------
    text : str
        JSON text (these characters occur only inside its strings).

    Returns
    -------
    str
    """
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _json(obj: Any, status: int = 200) -> Response:
    text = json_text(json.dumps(obj, ensure_ascii=False, allow_nan=False))
    return Response(text, status_code=status, media_type="application/json")


@dataclass(frozen=True)
class ServerConfig:
    """What ``geotarget serve`` was started with.

    Attributes
    ----------
    data_dir, layer : str or None
        The layer every request is counted with (``None`` for both: the built-in layer
        covering each venue), as ``--data-dir`` / ``--layer``.
    max_radius : str
        The largest radius accepted.
    geocode : bool
        Look free-text addresses up online (OpenStreetMap Nominatim).
    jobs_dir : str or None
        Where batch jobs are kept (default: a new temporary folder).
    threads : int
        Analyses running at once per worker process.
    network : str or None
        The OpenStreetMap extract requests walk and drive on (``--network``); ``None``: radii
        only.
    """

    data_dir: str | None = None
    layer: str | None = None
    max_radius: str = MAX_RADIUS
    geocode: bool = False
    jobs_dir: str | None = None
    threads: int = THREADS
    network: str | None = None

    def to_json(self) -> str:
        """The configuration as JSON (to hand it to worker processes).

        Returns
        -------
        str
        """
        return json.dumps(asdict(self))


@dataclass
class _State:
    config: ServerConfig
    layer: Any = None
    data: str = "the built-in data"
    jobs_root: Path = field(default_factory=Path)
    limiter: Any = None


def _load(config: ServerConfig) -> tuple[Any, str]:
    """The server's layer (once per process) and the data in words."""
    from ..layers import resolve_layer
    from ..layers.registry import builtin_names, load_builtin

    if config.data_dir and config.layer:
        raise InputError("give --data-dir or --layer, not both")
    lay = resolve_layer(config.layer, config.data_dir)
    if config.network is not None:  # read (and cached) once, before listening
        from ..network import load_network

        for mode in ("walk", "drive"):
            load_network(config.network, mode)
    if lay is None:
        for name in builtin_names():
            load_builtin(name)
        return None, "the built-in data: " + ", ".join(builtin_names())
    info = lay.info()
    return lay, str(info.get("title") or info.get("name") or lay.name)


def _fields(request: Request) -> dict[str, list[str]]:
    q = request.query_params
    return {k: q.getlist(k) for k in q}


def html(page: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """An HTML response whose CSP allows exactly its own inline scripts (by hash).

    Parameters
    ----------
    page : str
        The page.
    status : int, default 200
        The status code.
    headers : dict, optional
        More headers.

    Returns
    -------
    starlette.responses.Response
    """
    h = {"Content-Security-Policy": csp.policy(page), **(headers or {})}
    return Response(page, status_code=status, media_type="text/html; charset=utf-8", headers=h)


def _status_of(e: GeotargetError) -> int:
    return e.status if isinstance(e, RequestError) else 422


def _json_error(e: GeotargetError) -> Response:
    return _json({"error": " ".join(str(e).split()), "exit_code": e.exit_code}, _status_of(e))


def _args(state: _State, request: Request, platforms_default: str | None) -> Any:
    try:
        return request_args(
            _fields(request),
            layer=state.layer,
            max_radius=state.config.max_radius,
            geocode=state.config.geocode,
            platforms_default=platforms_default,
            network=state.config.network,
        )
    except InputError as e:
        raise RequestError(str(e)) from None


async def _off_loop(state: _State, fn: Callable[..., Any], *args: Any) -> Any:
    return await anyio.to_thread.run_sync(fn, *args, limiter=state.limiter)


def _state(request: Request) -> _State:
    s: _State = request.app.state.geotarget
    return s


async def index(request: Request) -> Response:
    """``GET /``: the form; with a venue, the answer below it."""
    state = _state(request)
    fields = _fields(request)
    kw: dict[str, Any] = {
        "max_radius": state.config.max_radius,
        "geocode": state.config.geocode,
        "walks": state.config.network is not None,
    }
    if not any(v for k, vs in fields.items() for v in vs if k not in ("currency",)):
        return html(pages.form_page(fields, error=None, data=state.data, **kw))
    try:
        args = _args(state, request, "all")

        def work() -> str:
            return pages.result_page(*analysis(args, with_picture=True), fields, **kw)

        return html(await _off_loop(state, work))
    except GeotargetError as e:
        msg = " ".join(str(e).split())
        return html(pages.form_page(fields, error=msg, data=state.data, **kw), _status_of(e))


async def api_analyse(request: Request) -> Response:
    """``GET /api/analyse``: the ``geotarget.result/1`` JSON (``geotarget analyse --json``)."""
    state = _state(request)
    try:
        args = _args(state, request, None)
        text = await _off_loop(state, lambda: analysis(args)[0].to_json())
    except GeotargetError as e:
        return _json_error(e)
    return Response(json_text(text), media_type="application/json")


async def report(request: Request) -> Response:
    """``GET /report``: the self-contained HTML report (``geotarget report --tiles none``)."""
    from ..render.report import render_report

    state = _state(request)
    try:
        args = _args(state, request, "all")

        def work() -> str:
            result, pic = analysis(args, with_picture=True)
            return render_report(result, "html", tiles="none", pic=pic)

        page = await _off_loop(state, work)
    except GeotargetError as e:
        return _json_error(e)
    return html(page, headers={"Content-Disposition": 'attachment; filename="report.html"'})


async def map_png(request: Request) -> Response:
    """``GET /map.png``: the static map (``geotarget report --png``)."""
    from ..render.png import render_png

    state = _state(request)
    try:
        args = _args(state, request, "all")

        def work() -> bytes:
            result, pic = analysis(args, with_picture=True)
            return render_png(result, pic=pic)

        data = await _off_loop(state, work)
    except GeotargetError as e:
        return _json_error(e)
    return Response(data, media_type="image/png")


async def health(request: Request) -> Response:
    """``GET /healthz``: the process is up and its layer loaded."""
    state = _state(request)
    return JSONResponse({"ok": True, "data": state.data, "pid": os.getpid()})


#: the site's icon: a map pin in the catchment's colours (browsers ask for /favicon.ico)
FAVICON = (
    "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'>"
    "<circle cx='8' cy='8' r='7' fill='none' stroke='#1f5fa8' stroke-width='2'/>"
    "<circle cx='8' cy='8' r='3' fill='#c0392b'/></svg>"
)


async def favicon(request: Request) -> Response:
    """``GET /favicon.ico``: :data:`FAVICON`."""
    return Response(FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})


async def api_docs(request: Request) -> Response:
    """``GET /api``: the API in words; ``GET /openapi.json``: the OpenAPI document."""
    return html(pages._whole_page("geotarget API", api_page()))


async def openapi(request: Request) -> Response:
    """``GET /openapi.json``."""
    return JSONResponse(OPENAPI)


async def _upload(request: Request) -> tuple[bytes, str, dict[str, list[str]]]:
    """The uploaded file and the other fields of a batch form, within the size limit."""
    size = request.headers.get("content-length")
    if size is None or not size.isdigit():
        raise RequestError("an upload needs a Content-Length: send the file as a form upload")
    if int(size) > MAX_UPLOAD_BYTES:
        raise TooLarge(
            f"the upload is {int(size) / 1e6:.1f} MB: the server accepts at most "
            f"{MAX_UPLOAD_BYTES / 1e6:g} MB (split the file, or run geotarget batch)"
        )
    try:
        form = await request.form(max_files=1, max_fields=20, max_part_size=MAX_UPLOAD_BYTES)
    except HTTPException as e:
        raise RequestError(f"the upload cannot be read: {e.detail}") from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise RequestError("no venue file: send it in the form field 'file'")
        data = await upload.read()
        fields = {k: [v] for k, v in form.multi_items() if k != "file" and isinstance(v, str)}
        return data, str(upload.filename or "upload.csv")[:100], fields
    finally:
        await form.close()


async def _submit(request: Request) -> str:
    state = _state(request)
    data, name, fields = await _upload(request)
    try:
        args = request_args(
            fields,
            layer=state.layer,
            max_radius=state.config.max_radius,
            geocode=False,
            platforms_default=None,
            options_imply_platforms=False,
            network=state.config.network or "",  # a walk then meets the refusal below
        )
    except InputError as e:
        raise RequestError(str(e)) from None
    if args.walk is not None or args.drive is not None:
        raise RequestError(
            "the batch page takes radii: for many venues' walks run geotarget batch "
            "--walk 10min --network FILE"
        )
    job: str = await _off_loop(state, jobs.submit, state.jobs_root, data, name, args, state.layer)
    return job


async def batch_form(request: Request) -> Response:
    """``GET /batch``: the upload form; ``POST /batch``: start a job, then its page."""
    if request.method == "GET":
        return html(pages.batch_page({}))
    try:
        job = await _submit(request)
    except GeotargetError as e:
        msg = " ".join(str(e).split())
        return html(pages.batch_page({}, error=msg), _status_of(e))
    return RedirectResponse(f"/batch/{job}", status_code=303)


def _job(request: Request) -> Path:
    d = jobs.job_dir(_state(request).jobs_root, request.path_params["job"])
    if d is None:
        raise HTTPException(404, "no such batch job")
    return d


async def batch_job(request: Request) -> Response:
    """``GET /batch/{job}``: a job's progress, then its downloads."""
    d = _job(request)
    s = jobs.status(d)
    return html(pages.job_page(s, s["files"], jobs.preview(d) if s["state"] == "done" else None))


async def api_batch(request: Request) -> Response:
    """``POST /api/batch``: start a job (202, its status address)."""
    try:
        job = await _submit(request)
    except GeotargetError as e:
        return _json_error(e)
    return JSONResponse(
        {"job": job, "status": f"/api/batch/{job}", "page": f"/batch/{job}"}, status_code=202
    )


async def api_batch_status(request: Request) -> Response:
    """``GET /api/batch/{job}``: the job's status."""
    return _json(jobs.status(_job(request)))


async def api_batch_file(request: Request) -> Response:
    """``GET /api/batch/{job}/{name}``: one of a finished job's files."""
    d = _job(request)
    name = request.path_params["name"]
    if name not in jobs.FILES or not (d / name).is_file():
        raise HTTPException(404, "no such file for this job (yet)")
    media = "text/csv" if name.endswith(".csv") else "application/vnd.apache.parquet"
    return Response(
        (d / name).read_bytes(),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith("/api/"):
        return _json({"error": exc.detail}, exc.status_code)
    page = pages._whole_page(
        "geotarget", f"<p class='gt-error'>{exc.status_code}: {exc.detail}</p><a href='/'>Back</a>"
    )
    return html(page, exc.status_code)


async def _bug(request: Request, exc: Exception) -> Response:
    log.error("internal error on %s: %s: %s", request.url.path, type(exc).__name__, exc)
    return JSONResponse(
        {"error": f"internal error: {type(exc).__name__} (a bug: please report it)"},
        status_code=500,
    )


class Guard:
    """ASGI middleware: refuses over-long query strings (414) and adds the security headers and,
    where a response has none, a CSP that allows nothing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one connection's event."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(scope.get("query_string", b"")) > MAX_QUERY_BYTES:
            r = JSONResponse(
                {"error": f"the query string is longer than {MAX_QUERY_BYTES:,} bytes"},
                status_code=414,
            )
            await r(scope, receive, self._headers(send))
            return
        await self.app(scope, receive, self._headers(send))

    @staticmethod
    def _headers(send: Send) -> Callable[[Message], Awaitable[None]]:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = dict(csp.SECURITY_HEADERS)
                if b"content-security-policy" not in names:
                    extra["Content-Security-Policy"] = csp.policy(None)
                headers += [(k.encode(), v.encode()) for k, v in extra.items()]
                message = {**message, "headers": headers}
            await send(message)

        return wrapped


def create_app(config: ServerConfig | None = None) -> Starlette:
    """The ASGI application.

    Parameters
    ----------
    config : ServerConfig, optional
        The layer, limits and folders (default: the built-in data).

    Returns
    -------
    starlette.applications.Starlette
        Its layer is loaded when it starts (the lifespan), once per worker process.

    Raises
    ------
    GeotargetError
        When it starts: a ``--data-dir``/``--layer`` that cannot be read.
    """
    cfg = config or ServerConfig()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        lay, data = _load(cfg)
        root = Path(cfg.jobs_dir or tempfile.mkdtemp(prefix="geotarget-jobs-"))
        app.state.geotarget = _State(
            cfg, lay, data, root, anyio.CapacityLimiter(max(1, cfg.threads))
        )
        log.info("geotarget serve: process %d ready (%s)", os.getpid(), data)
        yield

    routes = [
        Route("/", index),
        Route("/api/analyse", api_analyse),
        Route("/report", report),
        Route("/map.png", map_png),
        Route("/batch", batch_form, methods=["GET", "POST"]),
        Route("/batch/{job}", batch_job),
        Route("/api/batch", api_batch, methods=["POST"]),
        Route("/api/batch/{job}", api_batch_status),
        Route("/api/batch/{job}/{name}", api_batch_file),
        Route("/api", api_docs),
        Route("/openapi.json", openapi),
        Route("/healthz", health),
        Route("/favicon.ico", favicon),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _bug},
    )
    app.add_middleware(Guard)
    return app


def app_from_env() -> Starlette:
    """The application for each worker process of ``geotarget serve --workers N`` (its
    configuration handed over by :func:`geotarget.settings.serve_config`).

    Returns
    -------
    starlette.applications.Starlette
    """
    from ..settings import serve_config

    text = serve_config()
    return create_app(ServerConfig(**json.loads(text)) if text else None)
