-- wrk script: the same read as get_memory.lua, as an agent makes it: POST /mcp, one JSON-RPC
-- tools/call of get_memory (the 2025-11-25 generation), the user in X-Aura-User (a service token).
local token = os.getenv("AURA_BENCH_TOKEN")
local users = tonumber(os.getenv("AURA_BENCH_USERS") or "1000")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2025-11-25"
if token then wrk.headers["Authorization"] = "Bearer " .. token end
local body = '{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "get_memory", "arguments": {}}}'
request = function()
  wrk.headers["X-Aura-User"] = tostring(math.random(1, users))
  return wrk.format(nil, "/mcp", nil, body)
end
