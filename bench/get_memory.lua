-- wrk script: GET /api/v1/memory/<random user> (token from AURA_BENCH_TOKEN, if set).
local token = os.getenv("AURA_BENCH_TOKEN")
local users = tonumber(os.getenv("AURA_BENCH_USERS") or "1000")
if token then wrk.headers["Authorization"] = "Bearer " .. token end
request = function()
  return wrk.format("GET", "/api/v1/memory/" .. math.random(1, users))
end
