--[[
  Records a step of the recovery from a state loss in the epoch marker, only if the marker is still the
  epoch the caller knows (a later loss replaced it otherwise).

  KEYS[1] epoch   HASH (see checkEpoch-1.lua)
  ARGV[1] the epoch id the caller knows
  ARGV[2] field (breakerHaltedAt | rebuiltAt | acknowledgedAt)
  ARGV[3] value (ISO 8601)
  ARGV[4] '1' to clear lostAt as well (the loss was acknowledged)

  Returns 1 when written, 0 when the marker is another epoch's or missing.
]]
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
if ARGV[4] == '1' then redis.call('HDEL', KEYS[1], 'lostAt', 'lostBy') end
return 1
