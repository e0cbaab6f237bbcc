-- wrk script for bench/gateway.py: one OpenAI chat completion per request.
-- Environment: BENCH_KEY (bearer credential, may be empty), BENCH_DELAY_MS (pause before each
-- request on a connection, 0 for a closed-loop maximum-load run).
-- done() prints one machine-readable line: "BENCH {json}".

local key = os.getenv("BENCH_KEY") or ""
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")

wrk.method = "POST"
wrk.path = "/v1/chat/completions"
wrk.headers["Content-Type"] = "application/json"
if key ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. key
end
wrk.body = '{"model":"demo-model","messages":[{"role":"user","content":"Say hello."}],' ..
           '"max_tokens":16}'

if pause > 0 then
  function delay()
    return pause
  end
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write +
                 summary.errors.timeout
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"non2xx":%d,"errors":%d,' ..
    '"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.errors.status, errors,
    latency:percentile(50), latency:percentile(99), latency.max))
end
