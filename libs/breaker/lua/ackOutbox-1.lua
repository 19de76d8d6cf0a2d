--[[
  Removes changes from the outbox once the control topic has them, but only where the entry is still the
  one that was published: a newer change written meanwhile stays for the next flush.
  KEYS[1] outbox hash
  ARGV[1..n] alternating scope, change JSON as read
  Returns the number removed.
]]
local removed = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    redis.call('HDEL', KEYS[1], ARGV[i])
    removed = removed + 1
  end
end
return removed
