"""Offline GraphiQL: the IDE page and the routes that serve its vendored assets.

Strawberry's stock page loads seven files from unpkg. The same files, vendored from the npm registry
by `scripts/vendor_graphiql.sh` into `tenantflow/static/graphiql/`, are served by this server under
`GRAPHIQL_ASSETS_PATH`, so the IDE works with no internet access. The SRI hashes are Strawberry's
own for those exact files, so a wrongly vendored file is refused by the browser.
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
      const EXAMPLE_QUERY = `# Welcome to the tenantflow GraphiQL
#
# Put "Authorization: Bearer <accessToken or API key>" in the Headers tab
# (below the editor) to act as a signed-in user.
#
# Keyboard shortcuts:
#
#       Run Query:  Ctrl-Enter (or press the play button)
#   Auto Complete:  Ctrl-Space (or just start typing)
#
{
  __typename
}
`;

      // URL parameters let a query be shared as a link.
      const parameters = {};

      for (const entry of window.location.search.slice(1).split("&")) {
        const eq = entry.indexOf("=");
        if (eq >= 0) {
          parameters[decodeURIComponent(entry.slice(0, eq))] =
            decodeURIComponent(entry.slice(eq + 1));
        }
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
          parameters.q || EXAMPLE_QUERY,
        );
        const [variables, setVariables] = React.useState(
          parameters.variables,
        );
        const [headers, setHeaders] = React.useState(parameters.headers);

        function onEditQuery(newQuery) {
          setQuery(newQuery);
          updateURL({ q: newQuery });
        }

        function onEditVariables(newVariables) {
          setVariables(newVariables);
          updateURL({ variables: newVariables });
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
          headers: headers,
          onEditQuery: onEditQuery,
          onEditVariables: onEditVariables,
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
