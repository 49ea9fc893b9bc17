-- The load test's wrk side (scripts/bench-load.sh), one wrk per route: tallies every response's
-- status, paces each connection (LOAD_DELAY_MS milliseconds between a response and the next
-- request; wrk starts a request's clock when it is sent, so the pause is not counted as latency),
-- and prints one line `LOAD_RESULT {json}` from done(): requests, rps, latency percentiles in ms,
-- status counts, and the errors. A 429 counts as `overloaded` only when its body carries the
-- documented `OVERLOADED` code (docs/API.md); any other status outside 2xx is `unexpected`.
-- Read routes use this script as it is; analyze.lua adds a POST body.
local delay_ms = tonumber(os.getenv("LOAD_DELAY_MS") or "0") or 0

statuses = {}
overloaded = 0
unexpected = 0

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if status == 429 and body and body:find("OVERLOADED", 1, true) then
    overloaded = overloaded + 1
  elseif status < 200 or status > 299 then
    unexpected = unexpected + 1
    if unexpected <= 3 then
      io.stderr:write(string.format("unexpected %d: %s\n", status, (body or ""):sub(1, 300)))
    end
  end
end

if delay_ms > 0 then
  function delay()
    return delay_ms
  end
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local counts, over, unexp = {}, 0, 0
  for _, thread in ipairs(threads) do
    for k, v in pairs(thread:get("statuses")) do
      counts[k] = (counts[k] or 0) + v
    end
    over = over + thread:get("overloaded")
    unexp = unexp + thread:get("unexpected")
  end
  local parts = {}
  for k, v in pairs(counts) do
    table.insert(parts, string.format('"%s":%d', k, v))
  end
  table.sort(parts)
  local secs = summary.duration / 1e6
  local e = summary.errors
  local function ms(p)
    return latency:percentile(p) / 1000
  end
  io.write(string.format(
    'LOAD_RESULT {"requests":%d,"duration_s":%.3f,"rps":%.3f,"p50_ms":%.3f,"p90_ms":%.3f,' ..
      '"p99_ms":%.3f,"max_ms":%.3f,"mean_ms":%.3f,"statuses":{%s},"overloaded":%d,' ..
      '"unexpected_status":%d,"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d}}\n',
    summary.requests, secs, summary.requests / secs, ms(50), ms(90), ms(99), latency.max / 1000,
    latency.mean / 1000, table.concat(parts, ","), over, unexp, e.connect, e.read, e.write, e.timeout))
end
