-- wrk script: POSTs the requests of a file in turn, counting failures.
-- Usage: wrk ... -s rotate.lua URL -- REQUEST_FILE
-- Each line of the file is "<Authorization header>\t<JSON body>"; lines rotate tenants, members
-- and ids, and every thread starts at its own place in the file.
-- A failure is a non-2xx status or a body that reports one: "errors" (a GraphQL error) or a
-- typename ending in Error (an expected failure of a mutation, returned as data).
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("index", counter)
  table.insert(threads, thread)
end

function init(args)
  requests = {}
  for line in io.lines(args[1]) do
    local tab = line:find("\t", 1, true)
    local headers = { ["Content-Type"] = "application/json", ["Authorization"] = line:sub(1, tab - 1) }
    table.insert(requests, wrk.format("POST", nil, headers, line:sub(tab + 1)))
  end
  position = (index * 7919) % #requests
  non2xx = 0
  failed = 0
end

function request()
  position = position % #requests + 1
  return requests[position]
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  elseif body:find('"errors"', 1, true) or body:find('Error"', 1, true) then
    failed = failed + 1
  end
end

function done(summary, latency, requests)
  local non2xx_total, failed_total = 0, 0
  for _, thread in ipairs(threads) do
    non2xx_total = non2xx_total + thread:get("non2xx")
    failed_total = failed_total + thread:get("failed")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, '
      .. '"non2xx": %d, "failed": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), non2xx_total, failed_total,
    e.connect + e.read + e.write + e.timeout))
end
