-- wrk script: a whole (non-streamed) chat reply for random users: POST /api/v1/orcha/chat.
-- With AURA_BENCH_MODEL_DIRECT set, the same request shape straight to the model instead, to
-- measure the model's own latency (AURA's overhead is the difference).
local token = os.getenv("AURA_BENCH_TOKEN")
local users = tonumber(os.getenv("AURA_BENCH_USERS") or "1000")
local direct = os.getenv("AURA_BENCH_MODEL_DIRECT")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if token then wrk.headers["Authorization"] = "Bearer " .. token end
request = function()
  local id = math.random(1, users)
  if direct then
    local body = '{"model": "bench", "messages": [{"role": "user", "content": "What do I like?"}]}'
    return wrk.format(nil, "/v1/chat/completions", nil, body)
  end
  local body = string.format('{"user_id": %d, "message": "What do I like?"}', id)
  return wrk.format(nil, "/api/v1/orcha/chat", nil, body)
end
