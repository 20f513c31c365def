-- wrk script: POST /api/v1/memory for random users, ~AURA_BENCH_CONTENT_BYTES (2000) of text each
-- (the frontend sends a summary of recent conversations). Token from AURA_BENCH_TOKEN, if set.
local token = os.getenv("AURA_BENCH_TOKEN")
local users = tonumber(os.getenv("AURA_BENCH_USERS") or "1000")
local size = tonumber(os.getenv("AURA_BENCH_CONTENT_BYTES") or "2000")
local filler = string.rep("likes tea, hiking and short answers; ", math.ceil(size / 37)):sub(1, size)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if token then wrk.headers["Authorization"] = "Bearer " .. token end
request = function()
  local id = math.random(1, users)
  saves = (saves or 0) + 1  -- a new text each time: saving the same text again changes nothing
  local body = string.format('{"user_id": %d, "content": "User %d, save %d: %s"}', id, id, saves, filler)
  return wrk.format(nil, "/api/v1/memory", nil, body)
end
