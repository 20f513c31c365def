-- wrk script: POST /api/v1/memory for random users (token from the AURA_BENCH_TOKEN env var).
local token = os.getenv("AURA_BENCH_TOKEN")
local users = tonumber(os.getenv("AURA_BENCH_USERS") or "1000")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
request = function()
  local id = math.random(1, users)
  local body = string.format('{"user_id": %d, "content": "Benchmark memory for user %d: likes tea, hiking and short answers."}', id, id)
  return wrk.format(nil, "/api/v1/memory", nil, body)
end
