--[[
  Adds one flag to one trigger's window for one target scope and, when the scope is open, trips it if a
  window of event time containing this flag now reaches the threshold. Idempotent: the member (flagId for
  distinct-users, withdrawalId otherwise) is added once; a repeat changes nothing.

  The window is a ZSET member -> event time (ms) with the member's data in a hash. The sweep mirrors
  `firstCrossing` in triggers.ts: windows are (e - windowMs, e]; only windows containing this flag can
  newly cross, and the earliest crossing end is the trip's event time, so the outcome depends on the set
  of flags, not their arrival order. Members count only for the scope version they arrived under: after a
  resume, flags seen before it do not count again.

  The sweep reads every member within one window of the flag, so it is skipped when a cheap upper bound
  says no window containing the flag can reach the threshold: per-bucket counts and cents (buckets of a
  sixtieth of the window, so the bound is at most ~2% high) for counts and sums; each user's earliest and latest flag for distinct users. Bounds
  only ever overestimate (trimmed or pre-resume members still count in them), so skipping is always safe.

  KEYS[1] window zset   KEYS[2] window data hash   KEYS[3] window buckets hash   KEYS[4] user first-seen zset
  KEYS[5] user last-seen zset   KEYS[6] state key   KEYS[7] audit stream   KEYS[8] outbox hash   KEYS[9] scopes set
  ARGV[1] kind (distinct-users | distinct-withdrawals | sum-amount-usd)   ARGV[2] member   ARGV[3] userId
  ARGV[4] amount (cents)   ARGV[5] event time (ms)   ARGV[6] event time (ISO)   ARGV[7] window (ms)
  ARGV[8] allowed lateness (ms)   ARGV[9] threshold (count or cents)   ARGV[10] trigger id   ARGV[11] scope
  ARGV[12] now (ISO)   ARGV[13] label   ARGV[14] window text   ARGV[15] flagId   ARGV[16] threshold text
  ARGV[17] the newest event time (ISO) the breaker has processed, this flag included: a trip's `at`
  (its `crossedAt` is the end of the crossing window; `at` is never earlier)
  Returns JSON {r='late'|'duplicate'|'added'|'added-halted'|'bounded'} or {r='tripped', change}, or
  {r='invalid', field} before any write when the amount or time cannot be counted exactly.
]]
--- @include "state"
local kind, member, user = ARGV[1], ARGV[2], ARGV[3]
local cents, ts, ts_iso = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local window, lateness, threshold = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local trigger, scope, now_iso = ARGV[10], ARGV[11], ARGV[12]
local CHUNK = 500
local bucket_ms = math.ceil(window / 60)
local function fmt(n) return string.format('%d', n) end
-- Checked before any write: Redis does not undo a script's writes when a later command fails, so a cents
-- value HINCRBY refuses would leave the member written and every retry would see a duplicate.
-- One flag's cents stay below 1e14 so that cjson and number-to-string (14 digits) keep them exact.
local MAX_EXACT, MAX_CENTS = 9007199254740991, 1e14
if not cents or cents ~= cents or cents < 0 or cents >= MAX_CENTS or cents ~= math.floor(cents) then
  return cjson.encode({ r = 'invalid', field = 'amountUsd' })
end
if not ts or ts ~= ts or math.abs(ts) > MAX_EXACT then return cjson.encode({ r = 'invalid', field = 'occurredAt' }) end

local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local max_ts = ts
if newest[2] and tonumber(newest[2]) > max_ts then max_ts = tonumber(newest[2]) end
local horizon = max_ts - window - lateness
if ts < horizon then return cjson.encode({ r = 'late' }) end

local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. fmt(horizon))
for i = 1, #old, CHUNK do
  local part = {}
  for k = i, math.min(i + CHUNK - 1, #old) do table.insert(part, old[k]) end
  redis.call('ZREM', KEYS[1], unpack(part))
  redis.call('HDEL', KEYS[2], unpack(part))
end
if #old > 0 then
  -- Buckets are dropped from the lowest one kept (field `lo`) up, so trimming costs what it removes.
  local first_bucket = math.floor(horizon / bucket_ms)
  local lowest = tonumber(redis.call('HGET', KEYS[3], 'lo')) or first_bucket
  if first_bucket - lowest > 1000 then
    -- Event time jumped far ahead: fewer fields exist than buckets passed.
    for _, field in ipairs(redis.call('HKEYS', KEYS[3])) do
      if field ~= 'lo' and tonumber(string.sub(field, 3)) < first_bucket then redis.call('HDEL', KEYS[3], field) end
    end
  else
    for x = lowest, first_bucket - 1 do redis.call('HDEL', KEYS[3], 'n:' .. fmt(x), 'c:' .. fmt(x)) end
  end
  redis.call('HSET', KEYS[3], 'lo', fmt(math.max(lowest, first_bucket)))
  local gone = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', '(' .. fmt(horizon))
  for i = 1, #gone, CHUNK do
    local part = {}
    for k = i, math.min(i + CHUNK - 1, #gone) do table.insert(part, gone[k]) end
    redis.call('ZREM', KEYS[4], unpack(part))
    redis.call('ZREM', KEYS[5], unpack(part))
  end
end

if redis.call('ZSCORE', KEYS[1], member) then return cjson.encode({ r = 'duplicate' }) end
local b = math.floor(ts / bucket_ms)
if (tonumber(redis.call('HGET', KEYS[3], 'c:' .. fmt(b))) or 0) + cents > MAX_EXACT then
  return cjson.encode({ r = 'invalid', field = 'amountUsd' })
end

local cur = read_snapshot(KEYS[6])
local version = 0
if cur then version = cur.version end
redis.call('ZADD', KEYS[1], ts, member)
redis.call('HSET', KEYS[2], member, cjson.encode({ u = user, c = cents, v = version, t = ts_iso }))
local lowest = tonumber(redis.call('HGET', KEYS[3], 'lo'))
if not lowest or b < lowest then redis.call('HSET', KEYS[3], 'lo', fmt(b)) end
redis.call('HINCRBY', KEYS[3], 'n:' .. fmt(b), 1)
redis.call('HINCRBY', KEYS[3], 'c:' .. fmt(b), fmt(cents))
local first = redis.call('ZSCORE', KEYS[4], user)
if not first or ts < tonumber(first) then redis.call('ZADD', KEYS[4], ts, user) end
local last = redis.call('ZSCORE', KEYS[5], user)
if not last or ts > tonumber(last) then redis.call('ZADD', KEYS[5], ts, user) end
local ttl = 2 * (window + lateness)
for k = 1, 5 do redis.call('PEXPIRE', KEYS[k], ttl) end
if cur and cur.state == 'halted' then return cjson.encode({ r = 'added-halted' }) end

-- Upper bounds: can any window containing ts reach the threshold?
local lo, hi = ts - window, ts + window
if kind == 'distinct-users' then
  -- Users with a flag in (lo, hi) have their latest flag after lo and their earliest before hi.
  local users_bound = redis.call('ZCOUNT', KEYS[5], '(' .. fmt(lo), '+inf') - redis.call('ZCOUNT', KEYS[4], fmt(hi), '+inf')
  if users_bound < threshold then return cjson.encode({ r = 'bounded' }) end
else
  local prefix = 'c:'
  if kind == 'distinct-withdrawals' then prefix = 'n:' end
  local b0, b1 = math.floor(lo / bucket_ms), math.floor(hi / bucket_ms)
  local fields = {}
  for x = b0, b1 do table.insert(fields, prefix .. fmt(x)) end
  local vals = redis.call('HMGET', KEYS[3], unpack(fields))
  -- A window ending in bucket eb lies within buckets eb - span .. eb.
  local span = math.ceil(window / bucket_ms)
  local prefix_sum = { [b0 - 1] = 0 }
  for x = b0, b1 do prefix_sum[x] = prefix_sum[x - 1] + (tonumber(vals[x - b0 + 1]) or 0) end
  local best = 0
  for eb = math.floor(ts / bucket_ms), b1 do
    local s = prefix_sum[eb] - prefix_sum[math.max(b0, eb - span) - 1]
    if s > best then best = s end
  end
  if best < threshold then return cjson.encode({ r = 'bounded' }) end
end

local raw = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. fmt(lo), '(' .. fmt(hi), 'WITHSCORES')
local list = {}
for i = 1, #raw, 2 do
  table.insert(list, { m = raw[i], s = tonumber(raw[i + 1]) })
end
local kept = {}
for i = 1, #list, CHUNK do
  local part = {}
  for k = i, math.min(i + CHUNK - 1, #list) do table.insert(part, list[k].m) end
  local data = redis.call('HMGET', KEYS[2], unpack(part))
  for k = 1, #part do
    local e = list[i + k - 1]
    local ok, d = pcall(cjson.decode, data[k] or '')
    if ok and type(d) == 'table' and tonumber(d.v) == version then
      e.u, e.c, e.t = d.u, tonumber(d.c) or 0, d.t
      table.insert(kept, e)
    end
  end
end

local per_user, users, sum, start = {}, 0, 0, 1
for j = 1, #kept do
  local add = kept[j]
  per_user[add.u] = (per_user[add.u] or 0) + 1
  if per_user[add.u] == 1 then users = users + 1 end
  sum = sum + add.c
  local e = add.s
  while kept[start].s <= e - window do
    local gone = kept[start]
    per_user[gone.u] = per_user[gone.u] - 1
    if per_user[gone.u] == 0 then users = users - 1 end
    sum = sum - gone.c
    start = start + 1
  end
  if e >= ts and (j == #kept or kept[j + 1].s > e) then
    local measure = users
    if kind == 'distinct-withdrawals' then measure = j - start + 1 end
    if kind == 'sum-amount-usd' then measure = sum end
    if measure >= threshold then
      local shown = tostring(measure)
      if kind == 'sum-amount-usd' then shown = string.format('%.2f', measure / 100) end
      local members, seen_users, user_list = {}, {}, {}
      for k = start, j do
        if #members < 50 then table.insert(members, kept[k].m) end
        if not seen_users[kept[k].u] and #user_list < 50 then
          seen_users[kept[k].u] = true
          table.insert(user_list, kept[k].u)
        end
      end
      local reason = string.format('%s: %s %s within %s (threshold %s)', trigger, shown, ARGV[13], ARGV[14], ARGV[16])
      local detail = {
        measure = shown, members = members, users = user_list, windowFrom = kept[start].t,
        windowTo = add.t, lastFlagId = ARGV[15],
      }
      local keys = { state = KEYS[6], audit = KEYS[7], outbox = KEYS[8], scopes = KEYS[9] }
      local at_iso = ARGV[17]
      if not at_iso or at_iso < add.t then at_iso = add.t end
      local change = apply_change(keys, cur, scope, 'halted', reason, trigger, 'breaker', at_iso, now_iso, 'trip',
        { detail = detail }, add.t)
      return cjson.encode({ r = 'tripped', change = change })
    end
  end
end
return cjson.encode({ r = 'added' })
