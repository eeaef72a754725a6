"""The GraphQL endpoint: Strawberry's ASGI view held to the GraphQL-over-HTTP spec.

Over HTTP it takes `POST` with `application/json` and `GET ?query=` (queries only), and answers in
the media type the `Accept` header prefers:
- `application/graphql-response+json`: 200 once execution started (field errors included);
  400 for a request error (document parse or validation failure, unknown operation, variable
  coercion failure), with no `data` entry.
- `application/json` (also when `Accept` is missing or `*/*`, for legacy clients): 200 for every
  well-formed request, request errors included.
Requests that are not well-formed get 400 (bad JSON, missing or mistyped parameters, batches);
a mutation over GET gets 405 with `Allow: POST`; a POST whose Content-Type is not
`application/json` (UTF-8) gets 415; an `Accept` allowing neither type gets 406. Those bodies are
GraphQL-shaped with short fixed messages. Subscriptions are served over the websocket only
(`graphql-transport-ws`, Strawberry's own handling, unchanged).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import timedelta
from typing import Any, ClassVar, TypeVar, overload

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema import BaseSchema
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET

from tenantflow.web.graphiql import GRAPHIQL_ASSETS_PATH, render_graphiql_html
from tenantflow.web.transport_ws import CheckedTransportWSHandler

ContextT = TypeVar("ContextT")
ContextGetter = Callable[[Request | WebSocket, Response | WebSocket], Awaitable[ContextT]]

JSON = "application/json"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
_UTF8 = ("utf-8", "utf8")
# Parse, validation and variable errors: the request itself is wrong.
BAD_USER_INPUT = "BAD_USER_INPUT"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
RATE_LIMITED = "RATE_LIMITED"


class GraphQLHTTPError(HTTPException):
    """A refusal at the HTTP level, answered with a GraphQL-shaped body and extra headers."""

    def __init__(
        self, status_code: int, reason: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(status_code, reason)
        self.headers = dict(headers or {})


class GraphQLView(GraphQL[ContextT, None]):
    """Strawberry's ASGI view with spec-conformant HTTP handling and an offline GraphiQL.

    Mount it for both HTTP and websocket at the same path (see `graphql_routes`), with
    `graphiql_static_routes()` when GraphiQL is on, and wrap the app in `BodyLimitMiddleware`.
    """

    # Request errors carrying one of these `extensions.code` values get this status whatever the
    # media type (the contract wants 429 for a spent budget); the rest follow the spec.
    # Messages of the wrong shape close with 4400 instead of raising inside Strawberry.
    graphql_transport_ws_handler_class = CheckedTransportWSHandler

    request_error_statuses: ClassVar[Mapping[str, int]] = {
        "RATE_LIMITED": 429,
        "SERVICE_UNAVAILABLE": 503,
        "INTERNAL_SERVER_ERROR": 500,
    }

    def __init__(
        self,
        schema: BaseSchema,
        *,
        context_getter: ContextGetter[ContextT] | None = None,
        graphiql: bool = False,
        graphiql_assets_path: str = GRAPHIQL_ASSETS_PATH,
        allow_queries_via_get: bool = True,
        keep_alive: bool = False,
        keep_alive_interval: float = 1,
        subscription_protocols: Sequence[str] = (GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        connection_init_wait_timeout: timedelta = timedelta(seconds=10),
        max_subscriptions_per_connection: int | None = 100,
        allowed_origins: Sequence[str] = (),
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql else None,
            allow_queries_via_get=allow_queries_via_get,
            keep_alive=keep_alive,
            keep_alive_interval=keep_alive_interval,
            subscription_protocols=subscription_protocols,
            connection_init_wait_timeout=connection_init_wait_timeout,
            multipart_uploads_enabled=False,  # the contract takes JSON bodies only
            max_subscriptions_per_connection=max_subscriptions_per_connection,
            allowed_origins=allowed_origins,
        )
        self._context_getter = context_getter
        self._graphiql_assets_path = graphiql_assets_path

    # -- hooks of Strawberry's view ------------------------------------------------------------

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> ContextT:
        if self._context_getter is None:
            return await super().get_context(request, response)
        return await self._context_getter(request, response)

    def encode_json(self, data: object) -> str:
        # A str, not bytes: Strawberry sends bytes over websockets as binary frames, which
        # graphql-transport-ws clients cannot read.
        return _dumps(data).decode()

    def decode_json(self, data: str | bytes) -> object:
        # orjson.JSONDecodeError subclasses json.JSONDecodeError, which Strawberry catches.
        # It refuses unpaired surrogate escapes ("\ud800") too: a 400 before GraphQL runs (RFC
        # 8259 leaves their meaning open, and no UTF-8 response could carry one back).
        return orjson.loads(data)

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        # Strawberry runs any GET that has `query`; a browser following a GraphiQL link
        # (`?query=…`) wants the IDE with that operation in it, and says so in Accept. With the
        # IDE off, such a GET runs as it always did.
        if request.method == "GET" and request.query_params.get("query") is not None:
            return self.graphql_ide is not None and prefers_html(request.headers.get("accept"))
        return super().should_render_graphql_ide(request)

    @property
    def graphql_ide_html(self) -> str:
        return render_graphiql_html(self._graphiql_assets_path)

    async def render_graphql_ide(self, request: Request) -> Response:
        root_path = str(request.scope.get("root_path", ""))
        return HTMLResponse(render_graphiql_html(root_path + self._graphiql_assets_path))

    @overload
    async def run(
        self, request: Request, context: ContextT = UNSET, root_value: None = UNSET
    ) -> Response: ...

    @overload
    async def run(
        self, request: WebSocket, context: ContextT = UNSET, root_value: None = UNSET
    ) -> WebSocket: ...

    async def run(
        self, request: Request | WebSocket, context: ContextT = UNSET, root_value: None = UNSET
    ) -> Response | WebSocket:
        if isinstance(request, WebSocket):
            return await super().run(request, context, root_value)
        media_type = JSON  # for refusals made before the Accept header is read
        try:
            adapter = self.request_adapter_class(request)
            if not self.is_request_allowed(adapter):
                raise GraphQLHTTPError(405, "Method not allowed", {"Allow": "GET, POST"})
            if self.should_render_graphql_ide(adapter):
                if self.graphql_ide:
                    return await self.render_graphql_ide(request)
                raise GraphQLHTTPError(404, "Not found")
            negotiated = negotiate_media_type(request.headers.get("accept"))
            if negotiated is None:
                raise GraphQLHTTPError(406, f"Accept must allow {GRAPHQL_RESPONSE_JSON} or {JSON}")
            media_type = negotiated
            request_data = await self.parse_http_body(adapter)
            return await self._execute(request, request_data, media_type, context)
        except HTTPException as exc:
            headers = exc.headers if isinstance(exc, GraphQLHTTPError) else {}
            body: GraphQLHTTPResponse = {
                "errors": [{"message": exc.reason, "extensions": {"code": BAD_USER_INPUT}}]
            }
            return self._response(body, media_type, exc.status_code, headers=headers)

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData:
        if request.method == "GET":
            params = self._params_from_query_string(request.query_params)
        else:
            _check_json_content_type(request.content_type)
            params = self._params_from_body(await request.get_body())
        return _request_data(params)

    # -- our request handling ------------------------------------------------------------------

    def _params_from_query_string(
        self, query: Mapping[str, str | list[str] | None]
    ) -> dict[str, object]:
        params: dict[str, object] = {
            "query": query.get("query"),
            "operationName": query.get("operationName") or None,  # "" means absent over GET
        }
        for name in ("variables", "extensions"):
            raw = query.get(name)
            if not raw:
                continue
            if not isinstance(raw, str):
                raise GraphQLHTTPError(400, f"{name} must be given once")
            try:
                params[name] = self.decode_json(raw)
            except json.JSONDecodeError:
                raise GraphQLHTTPError(400, f"{name} must be a JSON object") from None
        return params

    def _params_from_body(self, body: bytes) -> dict[str, object]:
        try:
            data = self.decode_json(body)
        except json.JSONDecodeError:
            raise GraphQLHTTPError(400, "Request body is not valid JSON") from None
        if isinstance(data, list):
            raise GraphQLHTTPError(400, "Batched requests are not supported")
        if not isinstance(data, dict):
            raise GraphQLHTTPError(400, "Request body must be a JSON object")
        return data

    def _allowed_operation_types(self, method: str) -> set[OperationType]:
        # Subscriptions are served over the websocket only.
        if method == "GET":
            return {OperationType.QUERY} if self.allow_queries_via_get else set()
        return {OperationType.QUERY, OperationType.MUTATION}

    async def _execute(
        self,
        request: Request,
        request_data: GraphQLRequestData,
        media_type: str,
        context: ContextT,
    ) -> Response:
        sub_response = await self.get_sub_response(request)
        if context is UNSET:
            try:
                context = await self.get_context(request, response=sub_response)
            except GraphQLError as error:  # refused while reading credentials (an outage)
                body: GraphQLHTTPResponse = {"errors": [error.formatted]}
                status = self._error_status([error], media_type)
                return self._response(body, media_type, status, headers=_retry_after([error]))
        try:
            return await self._execute_in(request, request_data, media_type, context, sub_response)
        finally:
            await self.release_context(context)

    async def release_context(self, context: ContextT) -> None:
        """Called once a request's response is built: release what its context holds."""

    async def _execute_in(
        self,
        request: Request,
        request_data: GraphQLRequestData,
        media_type: str,
        context: ContextT,
        sub_response: Response,
    ) -> Response:
        try:
            result = await self.schema.execute(
                request_data.query,
                variable_values=request_data.variables,
                context_value=context,
                root_value=None,  # resolvers of this API take no root value
                operation_name=request_data.operation_name,
                allowed_operation_types=self._allowed_operation_types(request.method),
                operation_extensions=request_data.extensions,
            )
        except InvalidOperationTypeError as exc:
            if exc.operation_type is OperationType.SUBSCRIPTION:
                result = _request_error("Subscriptions are served over the websocket only")
            else:  # a mutation over GET (or a query, when GET is off): the spec's 405
                reason = exc.as_http_error_reason(request.method)
                raise GraphQLHTTPError(405, reason, {"Allow": "POST"}) from None
        except CannotGetOperationTypeError as exc:
            result = _request_error(exc.as_http_error_reason())
        except MissingQueryError:
            raise GraphQLHTTPError(400, "Missing query") from None

        response_data = await self.process_result(request, result)
        errors = result.errors or []
        if errors:
            self._handle_errors(errors, response_data)
        status = 200
        if _is_request_error(result):
            response_data.pop("data", None)  # GraphQL spec: no data entry for request errors
            _default_code(response_data, BAD_USER_INPUT)
            status = self._error_status(errors, media_type)
        elif _has_code(errors, SERVICE_UNAVAILABLE):
            # The contract wants 503 when the database failed a field, partial data or not.
            status = self.request_error_statuses[SERVICE_UNAVAILABLE]
        elif _has_code(errors, RATE_LIMITED):
            # A budget spent inside a field (LOGIN, in signUp, logIn, refreshToken) is a 429 too.
            status = self.request_error_statuses[RATE_LIMITED]
        return self._response(
            response_data,
            media_type,
            status,
            sub_response=sub_response,
            headers=_retry_after(errors),
        )

    def _error_status(self, errors: Sequence[GraphQLError], media_type: str) -> int:
        """The status of a request refused before execution: by code, else by the spec."""
        for error in errors:
            code = (error.extensions or {}).get("code")
            if isinstance(code, str) and code in self.request_error_statuses:
                return self.request_error_statuses[code]
        return 400 if media_type == GRAPHQL_RESPONSE_JSON else 200

    def _response(
        self,
        payload: GraphQLHTTPResponse,
        media_type: str,
        status: int,
        *,
        sub_response: Response | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        response = Response(
            _dumps(payload),
            status_code=status,
            headers=headers,
            media_type=f"{media_type}; charset=utf-8",
        )
        response.headers.add_vary_header("Accept")  # the body's media type depends on it
        if sub_response is not None:
            # Headers, status and background tasks that resolvers or extensions set.
            response.headers.raw.extend(sub_response.headers.raw)
            response.background = sub_response.background
            if sub_response.status_code:
                response.status_code = sub_response.status_code
        return response


def graphql_routes(view: GraphQLView[Any], path: str = "/graphql") -> list[BaseRoute]:
    """The HTTP and websocket routes of `view` at `path`."""
    # No method list: the view answers other methods itself, with a GraphQL-shaped 405.
    return [Route(path, view), WebSocketRoute(path, view)]


def negotiate_media_type(accept: str | None) -> str | None:
    """The response media type for an `Accept` header, or None when it allows neither.

    Highest q wins, then the more specific media range, then the range listed first; a tie on
    one range (`*/*`, `application/*`) goes to application/json. A missing header means
    application/json: legacy clients (curl, old SDKs) send none and expect it.
    """
    if accept is None or not accept.strip():
        return JSON
    ranges = list(_parse_accept(accept))
    best: tuple[float, int, int, int] | None = None
    chosen: str | None = None
    for media_type, tie_break in ((GRAPHQL_RESPONSE_JSON, 0), (JSON, 1)):
        match = _best_range(media_type, ranges)
        if match is None or match[0] <= 0:
            continue
        quality, specificity, position = match
        rank = (quality, specificity, -position, tie_break)
        if best is None or rank > best:
            best, chosen = rank, media_type
    return chosen


def prefers_html(accept: str | None) -> bool:
    """Whether `accept` ranks text/html above both JSON types (by q, then by how specific the
    matching range is): a browser's does (`text/html,…,*/*;q=0.8`); `*/*` and JSON's do not."""
    ranges = list(_parse_accept(accept or ""))
    html = _best_range("text/html", ranges)
    if html is None or html[0] <= 0:
        return False
    json_matches = [_best_range(media_type, ranges) for media_type in (JSON, GRAPHQL_RESPONSE_JSON)]
    best_json = max((m[:2] for m in json_matches if m is not None), default=(0.0, -1))
    return html[:2] > best_json


def _parse_accept(accept: str) -> Iterator[tuple[str, float, int]]:
    """(media range, q, position) for each usable range of an Accept header."""
    for position, item in enumerate(accept.split(",")):
        media_range, *raw_params = (part.strip() for part in item.split(";"))
        if "/" not in media_range:
            continue
        params = {
            key.strip().lower(): value.strip().strip('"').lower()
            for key, _, value in (param.partition("=") for param in raw_params)
        }
        if params.get("charset", "utf-8") not in _UTF8:
            continue  # we answer in UTF-8 only
        try:
            quality = float(params.get("q", "1"))
        except ValueError:
            continue
        yield media_range.lower(), min(max(quality, 0.0), 1.0), position


def _best_range(
    media_type: str, ranges: list[tuple[str, float, int]]
) -> tuple[float, int, int] | None:
    """(q, specificity, position) of the most specific range matching `media_type` (RFC 9110)."""
    main_type = media_type.split("/", 1)[0]
    specificity_of = {media_type: 2, f"{main_type}/*": 1, "*/*": 0}
    best: tuple[float, int, int] | None = None
    for media_range, quality, position in ranges:
        specificity = specificity_of.get(media_range)
        if specificity is None:
            continue
        if best is None or specificity > best[1]:
            best = (quality, specificity, position)
    return best


def _check_json_content_type(content_type: str | None) -> None:
    if not content_type:
        raise GraphQLHTTPError(415, f"Content-Type must be {JSON}")
    mime_type, params = parse_content_type(content_type)
    if mime_type.lower() != JSON or params.get("charset", "utf-8").lower() not in _UTF8:
        raise GraphQLHTTPError(415, f"Content-Type must be {JSON}")


def _request_data(params: Mapping[str, object]) -> GraphQLRequestData:
    query = params.get("query")
    if query is None or query == "":
        raise GraphQLHTTPError(400, "Missing query")
    if not isinstance(query, str):
        raise GraphQLHTTPError(400, "query must be a string")
    operation_name = params.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise GraphQLHTTPError(400, "operationName must be a string")
    variables = params.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise GraphQLHTTPError(400, "variables must be a JSON object")
    extensions = params.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise GraphQLHTTPError(400, "extensions must be a JSON object")
    return GraphQLRequestData(
        query=query,
        variables=variables,
        operation_name=operation_name,
        extensions=extensions,
    )


def _has_code(errors: Sequence[GraphQLError], code: str) -> bool:
    return any((error.extensions or {}).get("code") == code for error in errors)


def _retry_after(errors: Sequence[GraphQLError]) -> dict[str, str]:
    """`Retry-After` from the errors' `retryAfter` extensions (rate limits, outages), if any."""
    waits = [
        wait
        for error in errors
        if isinstance(wait := (error.extensions or {}).get("retryAfter"), int)
    ]
    return {"Retry-After": str(max(waits))} if waits else {}


def _default_code(response_data: GraphQLHTTPResponse, code: str) -> None:
    """Give every error of a refused request an `extensions.code` (the contract wants one)."""
    for error in response_data.get("errors") or []:
        if isinstance(error, dict):
            extensions = error.setdefault("extensions", {})
            if isinstance(extensions, dict):
                extensions.setdefault("code", code)


def _request_error(message: str) -> ExecutionResult:
    return PreExecutionError(data=None, errors=[GraphQLError(message)])


def _is_request_error(result: ExecutionResult) -> bool:
    """Whether the operation failed before any field ran (so the response has no data)."""
    if isinstance(result, PreExecutionError):  # parse, validation, or an extension refusing
        return True
    # graphql-core reports a variable coercion failure as data=None with errors at no path;
    # an execution that started and nulled the root has an error at a field path.
    return (
        result.data is None
        and bool(result.errors)
        and all(error.path is None for error in result.errors or [])
    )


def _dumps(data: object) -> bytes:
    try:
        return orjson.dumps(data)
    except TypeError:
        # orjson refuses what the standard library takes (integers beyond 64 bits).
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
