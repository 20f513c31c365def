-- wrk script: 90% GET /api/v1/memory/<user>, 10% POST /api/v1/memory (~2 KB), random users.
local token = os.getenv("AURA_BENCH_TOKEN")
local users = tonumber(os.getenv("AURA_BENCH_USERS") or "1000")
local size = tonumber(os.getenv("AURA_BENCH_CONTENT_BYTES") or "2000")
local filler = string.rep("likes tea, hiking and short answers; ", math.ceil(size / 37)):sub(1, size)
local headers = {["Content-Type"] = "application/json"}
if token then headers["Authorization"] = "Bearer " .. token end
request = function()
  local id = math.random(1, users)
  if math.random(1, 10) == 1 then
    saves = (saves or 0) + 1  -- a new text each time: saving the same text again changes nothing
    local body = string.format('{"user_id": %d, "content": "User %d, save %d: %s"}', id, id, saves, filler)
    return wrk.format("POST", "/api/v1/memory", headers, body)
  end
  return wrk.format("GET", "/api/v1/memory/" .. id, headers)
end
