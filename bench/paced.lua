-- wrk script: each connection waits `delay_ms` between requests, so C connections offer about
-- C * 1000 / (delay_ms + latency) requests per second. wrk measures latency from send to response,
-- excluding the pause. Usage: wrk -s bench/paced.lua -c 10 ... (set AITIP_BENCH_DELAY_MS, default 10)
local delay_ms = tonumber(os.getenv("AITIP_BENCH_DELAY_MS") or "10")
local token = os.getenv("AITIP_BENCH_TOKEN")

function init(args)
  wrk.headers["Authorization"] = "Bearer " .. token
end

function delay()
  return delay_ms
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_s=%.2f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
