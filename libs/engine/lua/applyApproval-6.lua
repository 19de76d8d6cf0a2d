--[[
  Applies a withdrawal.approved: dedups it, raises the flags the engine decided in TypeScript (sanctions,
  claims that prove MFA missing), decides the wallet-stream rules at once (new-address-cooldown, velocity)
  and stores the approval as a pending decision for the rules that wait for the auth stream.

  SPEC    (baked in at load) { h = dedup horizon, cap = eventIds kept per user,
            cd = { {ruleId, severity, cooldownMs}... }, cdKeep = longest cooldown + grace,
            vel = { {ruleId, severity, windowMs, maxCount or -1, maxUsd or -1}... },
            velKeep = longest velocity window + grace, g = grace, pdKeep = how long a pending decision may wait }
  KEYS[1] events     ZSET eventId -> occurredAt (whole seconds)
  KEYS[2] flags      ZSET flagId -> raisedAtMs
  KEYS[3] unacked    HASH flagId -> flag record
  KEYS[4] pending    ZSET "<head JSON>\n<claims JSON>\n<base JSON>" -> due
  KEYS[5] whitelist  ZSET normalised address -> latest whitelisting time
  KEYS[6] velocity   ZSET "<amountUsd>|<withdrawalId>" -> first approval time
  ARGV[1] eventId
  ARGV[2] occurredAtMs
  ARGV[3] withdrawalId
  ARGV[4] amountUsd
  ARGV[5] normalised destination address
  ARGV[6] base: JSON text of the fields every flag of this approval repeats
  ARGV[7] flags decided in TypeScript: JSON { {ruleId, severity, evidence JSON text}... }, or ""
  ARGV[8] the pending decision, or "" when no rule waits: "<head>\n<claims>" where head is JSON
          { e = eventId, t = occurredAtMs, s = sessionId, w = withdrawalId, m = 1 when mfa-missing waits }
          and claims the approval's { factors, mfaVerified } (kept for the evidence); it is due at
          occurredAtMs + grace and stored with the base appended
  ARGV[9] trim time: "" for no trimming now, else trim this user's lists behind this event time (at most
          the watermark; the engine asks every few events per user)

  Returns { 1, record... } applied with the flags it raised, { 0, record... } duplicate with the flags that
  event raised and nobody acked yet, or { -1 } bad argument.
]]
--- @include "recordEvent"
--- @include "raiseFlag"

local eventId, t, wid = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local amount, address, base = tonumber(ARGV[4]), ARGV[5], ARGV[6]
if not t or not amount then return { -1 } end
local horizon = SPEC.h

local trimAt = tonumber(ARGV[9])
if not recordEvent(KEYS[1], eventId, t, horizon, SPEC.cap, trimAt) then
  local out = unackedOf(KEYS[3], eventId)
  table.insert(out, 1, 0)
  return out
end

local out = { 1 }
local function raise(ruleId, severity, evidence)
  local rec = raiseFlag(KEYS[2], KEYS[3], horizon, ruleId, severity, wid, eventId, t, evidence, base)
  if rec then out[#out + 1] = rec end
end

if ARGV[7] ~= '' then
  for _, hit in ipairs(cjson.decode(ARGV[7])) do raise(hit[1], hit[2], hit[3]) end
end

if #SPEC.cd > 0 then
  local at = tonumber(redis.call('ZSCORE', KEYS[5], address))
  if at and at <= t then
    for _, r in ipairs(SPEC.cd) do
      -- "less than cooldown before": an address whitelisted exactly cooldownMs ago is past it.
      if t - at < r[3] then
        raise(r[1], r[2], cjson.encode({ address = address, whitelistedAtMs = at, ageMs = t - at, cooldownMs = r[3] }))
      end
    end
  end
end

if #SPEC.vel > 0 then
  local key, keep = KEYS[6], SPEC.velKeep
  -- Every approval kept (the longest window + grace), parsed once: { at, usd, wid }.
  local all = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
  local list, counted, oldest = {}, false, nil
  for i = 1, #all, 2 do
    local m = all[i]
    local bar = string.find(m, '|', 1, true)
    local w = string.sub(m, bar + 1)
    local at = tonumber(all[i + 1])
    list[#list + 1] = { at = at, usd = tonumber(string.sub(m, 1, bar - 1)) or 0 }
    if w == wid then counted = true end
    if not oldest or at < oldest then oldest = at end
  end
  -- A withdrawal approved twice (two eventIds) counts once, at its first approval.
  if not counted then
    redis.call('ZADD', key, t, ARGV[4] .. '|' .. wid)
    list[#list + 1] = { at = t, usd = amount }
  end
  if oldest and oldest <= t - keep then redis.call('ZREMRANGEBYSCORE', key, '-inf', t - keep) end
  redis.call('PEXPIRE', key, keep)

  for _, r in ipairs(SPEC.vel) do
    local w = r[3]
    -- The window is (t - w, t]: an approval exactly w before no longer counts.
    local count, sum = 0, 0
    for _, a in ipairs(list) do
      if a.at > t - w and a.at <= t then
        count = count + 1
        sum = sum + a.usd
      end
    end
    local overCount = r[4] >= 0 and count > r[4]
    local overUsd = r[5] >= 0 and sum > r[5]
    if overCount or overUsd then
      raise(r[1], r[2], cjson.encode({
        windowMs = w,
        windowStartMs = t - w,
        count = count,
        sumUsd = sum,
        maxCount = r[4] >= 0 and r[4] or cjson.null,
        maxUsd = r[5] >= 0 and r[5] or cjson.null,
        exceeded = (overCount and overUsd) and 'count+usd' or (overCount and 'count' or 'usd'),
      }))
    end
  end
end

if ARGV[8] ~= '' then
  redis.call('ZADD', KEYS[4], t + SPEC.g, ARGV[8] .. '\n' .. base)
  redis.call('PEXPIRE', KEYS[4], SPEC.pdKeep)
end
return out
