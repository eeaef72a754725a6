// PostGraphile 4 over the benchmark's copy of the data, in node cluster workers.
// Environment: DATABASE_URL (a login role subject to RLS), PORT, WORKERS, JWT_SECRET (tenantflow's
// TENANTFLOW_SECRET_KEY: the same access tokens are accepted, and their `tid` claim becomes the
// transaction-local app.current_tenant_id that the RLS policies read).
"use strict";
const cluster = require("node:cluster");
const http = require("node:http");
const jwt = require("jsonwebtoken");
const { postgraphile } = require("postgraphile");

const workers = Number(process.env.WORKERS || 2);
const secret = process.env.JWT_SECRET;

function tenantOf(req) {
  const header = req.headers.authorization || "";
  if (!header.toLowerCase().startsWith("bearer ")) return null;
  try {
    const claims = jwt.verify(header.slice(7).trim(), secret, {
      algorithms: ["HS256"],
      audience: "tenantflow-api",
      issuer: "tenantflow",
    });
    return typeof claims.tid === "string" ? claims.tid : null;
  } catch {
    return null;
  }
}

if (cluster.isPrimary) {
  for (let i = 0; i < workers; i += 1) cluster.fork();
  cluster.on("exit", (worker, code) => {
    console.error(`postgraphile worker ${worker.process.pid} exited (${code})`);
  });
  const stop = () => {
    for (const worker of Object.values(cluster.workers)) worker.kill("SIGTERM");
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} else {
  const middleware = postgraphile(process.env.DATABASE_URL, "public", {
    // No token (or a bad one) means no tenant setting, and the policies then show no rows.
    pgSettings: (req) => {
      const tenant = tenantOf(req);
      return tenant ? { "app.current_tenant_id": tenant } : {};
    },
    dynamicJson: true,
    setofFunctionsContainNulls: false,
    ignoreRBAC: false,
    disableQueryLog: true,
    graphiql: false,
    enableQueryBatching: false,
    retryOnInitFail: false,
  });
  http.createServer(middleware).listen(Number(process.env.PORT), "127.0.0.1");
}
