-- wrk script for bench/soak/run.sh's tail-latency part: after the run,
-- one line "tail p50 P p99 P p999 P max M rps R errors E" (latencies in µs).
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("tail p50 %d p99 %d p999 %d max %d rps %.0f errors %d\n",
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    latency.max, summary.requests / (summary.duration / 1e6),
    e.connect + e.read + e.write + e.status + e.timeout))
end
