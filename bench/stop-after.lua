-- wrk script: each thread stops after the number of responses given as the first argument
-- (`wrk -t1 -s stop-after.lua URL -- 5000`), so that a server is measured after a set count.
local left

function init(args)
  left = tonumber(args[1])
end

function response()
  left = left - 1
  if left <= 0 then
    wrk.thread:stop()
  end
end
