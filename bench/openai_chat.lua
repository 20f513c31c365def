-- wrk script: the same whole chat reply as chat.lua, through AURA's OpenAI-compatible route:
-- POST /v1/chat/completions naming the user in `user` (a service token acts for any user).
local token = os.getenv("AURA_BENCH_TOKEN")
local users = tonumber(os.getenv("AURA_BENCH_USERS") or "1000")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if token then wrk.headers["Authorization"] = "Bearer " .. token end
request = function()
  local body = string.format(
    '{"model": "bench", "messages": [{"role": "user", "content": "What do I like?"}], "user": "%d"}',
    math.random(1, users)
  )
  return wrk.format(nil, "/v1/chat/completions", nil, body)
end
