-- wrk script: HTTP/1.1 pipelining. Each write sends DEPTH requests at once
-- (argument after `--`, default 16); wrk counts every response.
local batch

init = function(args)
  local depth = tonumber(args[1]) or 16
  local reqs = {}
  for i = 1, depth do
    reqs[i] = wrk.format()
  end
  batch = table.concat(reqs)
end

request = function()
  return batch
end
