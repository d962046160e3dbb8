-- wrk script: every request a distinct URL, so a cache misses (and stores) each
-- one. The path gets `?r=RUN.THREAD&n=COUNTER`: RUN is random per wrk run, so
-- no run repeats a URL an earlier run (of this or another server) left stored.
local threads = 0
local prefix
local n = 0

setup = function(thread)
  threads = threads + 1
  thread:set("id", threads)
end

-- Eight random bytes in hex, from the kernel: two runs started in the same second still differ.
local function nonce()
  local f = assert(io.open("/dev/urandom", "rb"))
  local bytes = f:read(8)
  f:close()
  return (bytes:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

init = function(args)
  prefix = wrk.path .. "?r=" .. nonce() .. "." .. tostring(id or 0) .. "&n="
end

request = function()
  n = n + 1
  return wrk.format(nil, prefix .. n)
end
