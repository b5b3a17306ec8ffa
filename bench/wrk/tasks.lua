-- wrk script for the REST benchmarks: every request carries the token of a random user.
--   wrk ... -s bench/wrk/tasks.lua http://127.0.0.1:PORT -- TOKENS_FILE read|write
-- TOKENS_FILE has one token per line. `write` POSTs a new task (unique title per request).
-- `done` prints one machine-readable line (prefix BENCH_JSON) for bench/generators.py.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

function init(args)
  tokens = {}
  for line in io.lines(args[1]) do
    if #line > 0 then tokens[#tokens + 1] = "Bearer " .. line end
  end
  mode = args[2] or "read"
  counter = 0
  math.randomseed(os.time() * 100 + thread_id)
end

function request()
  local headers = {["Authorization"] = tokens[math.random(#tokens)]}
  if mode == "write" then
    counter = counter + 1
    headers["Content-Type"] = "application/json"
    local body = string.format('{"title":"bench %d-%d","description":"written by the benchmark"}',
      thread_id, counter)
    return wrk.format("POST", "/api/tasks", headers, body)
  end
  return wrk.format("GET", "/api/tasks", headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, latency.mean))
end
