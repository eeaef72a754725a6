"""Offline GraphiQL: the IDE page and the routes that serve its vendored assets.

Strawberry's stock page loads seven files from unpkg. The same files, vendored from the npm registry
by `scripts/vendor_graphiql.sh` into `tenantflow/static/graphiql/`, are served by this server under
`GRAPHIQL_ASSETS_PATH`, so the IDE works with no internet access. The SRI hashes are Strawberry's
own for those exact files, so a wrongly vendored file is refused by the browser.

A link `/graphql?query=…&variables=…&operationName=…` opens the IDE with that operation in its
editors (the view serves the page to browsers even when `query` is given), and the page keeps the
URL in step with the editors, so the address bar is always a link to what is on screen.
"""

from __future__ import annotations

import html

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

GRAPHIQL_ASSETS_PATH = "/static/graphiql"
_ASSETS_PLACEHOLDER = "__GRAPHIQL_ASSETS__"

# Adapted from strawberry/static/graphiql.html (strawberry-graphql 0.341.2, MIT): same features
# (explorer plugin, headers editor, subscriptions over a websocket to the page's own URL), with
# local asset URLs in place of unpkg.
_PAGE = """<!doctype html>
<html>
  <head>
    <meta charset="utf-8" />
    <title>tenantflow GraphiQL</title>
    <link
      rel="icon"
      href="data:image/svg+xml,
        <svg xmlns=%22http://www.w3.org/2000/svg%22 viewBox=%220 0 100 100%22>
          <text y=%22.9em%22 font-size=%2280%22>&#x2699;</text>
        </svg>"
    />
    <style>
      body {
        height: 100%;
        margin: 0;
        width: 100%;
        overflow: hidden;
      }

      #graphiql {
        height: 100vh;
        display: flex;
      }

      .docExplorerHide {
        display: none;
      }

      .doc-explorer-contents {
        overflow-y: hidden !important;
      }

      .docExplorerWrap {
        width: unset !important;
        min-width: unset !important;
      }

      .graphiql-explorer-actions select {
        margin-left: 4px;
      }
    </style>

    <script
      crossorigin
      src="__GRAPHIQL_ASSETS__/react.production.min.js"
      integrity="sha384-tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8"
    ></script>
    <script
      crossorigin
      src="__GRAPHIQL_ASSETS__/react-dom.production.min.js"
      integrity="sha384-bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh"
    ></script>
    <script
      crossorigin
      src="__GRAPHIQL_ASSETS__/js.cookie.min.js"
      integrity="sha384-/vxhYfM1LENRhdpZ8dwEsQn/X4VhpbEZSiU4m/FwR+PVpzar4fkEOw8FP9Y+OfQN"
    ></script>
    <link
      crossorigin
      rel="stylesheet"
      href="__GRAPHIQL_ASSETS__/graphiql.min.css"
      integrity="sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM"
    />
    <link
      crossorigin
      rel="stylesheet"
      href="__GRAPHIQL_ASSETS__/plugin-explorer.css"
      integrity="sha384-5DFJlDPW2tSATRbM8kzoP1j194jexLswuNmClWoRr2Q0x7R68JIQzPHZ02Faktwi"
    />
  </head>

  <body>
    <div id="graphiql" class="graphiql-container">Loading...</div>
    <script
      crossorigin
      src="__GRAPHIQL_ASSETS__/graphiql.min.js"
      integrity="sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie"
    ></script>
    <script
      crossorigin
      src="__GRAPHIQL_ASSETS__/plugin-explorer.umd.js"
      integrity="sha384-2oonKe47vfHIZnmB6ZZ10vl7T0Y+qrHQF2cmNTaFDuPshpKqpUMGMc9jgj9MLDZ9"
    ></script>
    <script>
      const EXAMPLE_QUERY = `# Welcome to the tenantflow GraphiQL.
#
# To act as a signed-in user:
#   1. Get an access token: run
#        mutation { logIn(input: {email: "you@example.com", password: "…"}) {
#          ... on AuthPayload { accessToken } } }
#      (signUp returns one too; an API key, tfk_…, works the same way).
#   2. Open the Headers tab below the editor and enter
#        {"Authorization": "Bearer <accessToken>"}
#      Every query and mutation sends it as its Authorization header.
#   3. Subscriptions use the same Headers tab: GraphiQL sends it as the
#      websocket's connection_init payload, where the server reads the
#      Authorization key (in any case). Try
#        subscription { executionEvents { status execution { id } } }
#
# Access tokens last 15 minutes: run logIn again (or refreshToken) for a new one.
# A link to /graphql?query=…&variables=… opens here with that operation.
#
# Keyboard shortcuts:
#       Run Query:  Ctrl-Enter (or press the play button)
#   Auto Complete:  Ctrl-Space (or just start typing)
#
{
  viewer {
    role
    tenant { name }
  }
}
`;

      // URL parameters make an operation a link: query, variables, operationName.
      const parameters = {};
      for (const [key, value] of new URLSearchParams(window.location.search)) {
        parameters[key] = value;
      }

      function updateURL(data) {
        Object.assign(parameters, data);

        const newSearch =
          "?" +
          Object.keys(parameters)
            .filter(function (key) {
              return Boolean(parameters[key]);
            })
            .map(function (key) {
              return (
                encodeURIComponent(key) +
                "=" +
                encodeURIComponent(parameters[key])
              );
            })
            .join("&");
        history.replaceState(null, null, newSearch);
      }

      const fetchURL = window.location.href.split("?")[0];

      function httpUrlToWebSocketUrl(url) {
        const parsedURL = new URL(url);
        parsedURL.protocol = parsedURL.protocol === "http:" ? "ws:" : "wss:";
        parsedURL.hash = "";
        return parsedURL.toString();
      }

      const defaultHeaders = {};
      const csrfToken = Cookies.get("csrftoken");

      if (csrfToken) {
        defaultHeaders["x-csrftoken"] = csrfToken;
      }

      const fetcher = GraphiQL.createFetcher({
        url: fetchURL,
        headers: defaultHeaders,
        subscriptionUrl: httpUrlToWebSocketUrl(fetchURL),
      });

      function GraphiQLWithExplorer() {
        const [query, setQuery] = React.useState(
          parameters.query || EXAMPLE_QUERY,
        );
        const [variables, setVariables] = React.useState(
          parameters.variables,
        );
        const [operationName, setOperationName] = React.useState(
          parameters.operationName,
        );
        const [headers, setHeaders] = React.useState(parameters.headers);

        function onEditQuery(newQuery) {
          setQuery(newQuery);
          updateURL({ query: newQuery === EXAMPLE_QUERY ? "" : newQuery });
        }

        function onEditVariables(newVariables) {
          setVariables(newVariables);
          updateURL({ variables: newVariables });
        }

        function onEditOperationName(newOperationName) {
          setOperationName(newOperationName);
          updateURL({ operationName: newOperationName });
        }

        function onEditHeaders(newHeaders) {
          setHeaders(newHeaders);
        }

        const explorerPlugin = GraphiQLPluginExplorer.explorerPlugin();

        return React.createElement(GraphiQL, {
          fetcher: fetcher,
          defaultEditorToolsVisibility: true,
          plugins: [explorerPlugin],
          query: query,
          variables: variables,
          operationName: operationName,
          headers: headers,
          onEditQuery: onEditQuery,
          onEditVariables: onEditVariables,
          onEditOperationName: onEditOperationName,
          onEditHeaders: onEditHeaders,
          inputValueDeprecation: true,
          isHeadersEditorEnabled: true,
          shouldPersistHeaders: true,
        });
      }

      const root = ReactDOM.createRoot(document.getElementById("graphiql"));
      root.render(React.createElement(GraphiQLWithExplorer));
    </script>
  </body>
</html>
"""


def render_graphiql_html(assets_url: str = GRAPHIQL_ASSETS_PATH) -> str:
    """The GraphiQL page, loading its assets from `assets_url` (a path on this server)."""
    return _PAGE.replace(_ASSETS_PLACEHOLDER, html.escape(assets_url.rstrip("/"), quote=True))


def graphiql_static_routes(path: str = GRAPHIQL_ASSETS_PATH) -> list[BaseRoute]:
    """Routes serving the vendored GraphiQL assets; mount them next to the GraphQL view."""
    assets = StaticFiles(packages=[("tenantflow", "static/graphiql")])
    return [Mount(path, app=assets, name="graphiql-static")]
