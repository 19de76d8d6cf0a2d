--[[
  Checks the state epoch marker: a hash written at the first start on an empty Redis and read on every tick
  by the detector and the breaker, so a Redis that lost its data (restarted without persistence, flushed,
  failed over to an empty replica) is noticed instead of trusted.

  KEYS[1] epoch   HASH { id, createdAt, lostAt?, lostBy?, breakerHaltedAt?, rebuiltAt?, acknowledgedAt? }
  ARGV[1] the epoch id the caller saw last ('' when it has seen none yet)
  ARGV[2] a fresh epoch id, used when the marker has to be written
  ARGV[3] now (ISO 8601, wall clock)
  ARGV[4] the caller: detector | breaker
  ARGV[5] '1' when the caller knows this Redis held its state before (committed offsets, control-topic
          snapshots) although the marker is missing, so a missing marker is a loss and not a first start

  Returns { status, field1, value1, ... } with status 'ok', 'created' (a first start) or 'lost' (the marker
  vanished or was replaced since the caller saw it, or is missing where state existed). A loss is written
  into the new marker (lostAt, lostBy), so every process sharing this Redis learns of it.
]]
local known, fresh, now, who, held = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local status = 'ok'
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'id', fresh, 'createdAt', now)
  if known ~= '' or held == '1' then
    redis.call('HSET', KEYS[1], 'lostAt', now, 'lostBy', who)
    status = 'lost'
  else
    status = 'created'
  end
elseif known ~= '' and redis.call('HGET', KEYS[1], 'id') ~= known then
  -- Another process wrote a new marker after the loss; it may not have known there was state before.
  if redis.call('HSETNX', KEYS[1], 'lostAt', now) == 1 then redis.call('HSET', KEYS[1], 'lostBy', who) end
  status = 'lost'
end
local out = { status }
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all do out[#out + 1] = all[i] end
return out
