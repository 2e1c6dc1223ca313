-- wrk script for bench/run_bench.py: POST a fixed body, optional bearer key, and print the
-- results as one JSON line ("WRKJSON {...}") from done().
-- Environment:
--   BENCH_BODY_FILE     file whose bytes are the request body (required)
--   BENCH_AUTH          value for "Authorization: Bearer <value>" (optional)
--   BENCH_COUNT_STATUS  "1": count responses per status code (costs some client throughput)
--   BENCH_WAIT_HEADER   response header (lower case) holding a queue wait in ms; its maximum
--                       over 200 responses is reported as max_wait_header_ms (optional)

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local auth = os.getenv("BENCH_AUTH")
if auth ~= nil and auth ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. auth
end
local body_file = assert(os.getenv("BENCH_BODY_FILE"), "BENCH_BODY_FILE is not set")
local f = assert(io.open(body_file, "rb"))
wrk.body = f:read("*a")
f:close()

local wait_header = os.getenv("BENCH_WAIT_HEADER")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  max_wait = -1
end

if os.getenv("BENCH_COUNT_STATUS") == "1" then
  function response(status, headers, body)
    local key = tostring(status)
    statuses[key] = (statuses[key] or 0) + 1
    if wait_header ~= nil and status == 200 then
      for name, value in pairs(headers) do
        if string.lower(name) == wait_header then
          local ms = tonumber(value)
          if ms ~= nil and ms > max_wait then max_wait = ms end
        end
      end
    end
  end
end

function done(summary, latency, requests)
  local agg = {}
  local wait = -1
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    if s ~= nil then
      for code, n in pairs(s) do agg[code] = (agg[code] or 0) + n end
    end
    local w = thread:get("max_wait")
    if w ~= nil and w > wait then wait = w end
  end
  local parts = {}
  for code, n in pairs(agg) do
    table.insert(parts, string.format('"%s": %d', code, n))
  end
  local pct = {}
  for _, p in ipairs({50, 75, 90, 99, 99.9}) do
    table.insert(pct, string.format('"%s": %d', tostring(p), latency:percentile(p)))
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"duration_us": %d, "requests": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"min": %d, "max": %d, "mean": %.1f, "stdev": %.1f, "percentiles": {%s}}, ' ..
    '"statuses": {%s}, "max_wait_header_ms": %s}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.max, latency.mean, latency.stdev, table.concat(pct, ", "),
    table.concat(parts, ", "), wait >= 0 and tostring(wait) or "null"))
end
