--[[
  Decides one user's pending approvals whose due time (occurredAt + grace) the watermark has passed, for
  the rules that wait for the auth stream: mfa-missing, mfa-reset-withdrawal, new-device-withdrawal. Only
  the approvals named in ARGV are decided (the caller registered their possible flags in its unacked index
  first, so a crash after this script loses no flag); the rest wait for the caller's next page.

  SPEC    (baked in at load) { h = dedup horizon, g = grace,
            mm = { {ruleId, severity, lookbackMs}... },
            mc = { {ruleId, severity, windowMs}... },
            nd = { {ruleId, severity, loginWithinMs, unseenMs}... } }
  KEYS[1] pending       ZSET "<head JSON { e, t, s, w, m }>\n<claims JSON>\n<base JSON>" -> due
  KEYS[2] flags         ZSET flagId -> raisedAtMs
  KEYS[3] unacked       HASH flagId -> flag record
  KEYS[4] mfaPassed     ZSET "<atMs>|<factor>|<sessionId>" -> atMs
  KEYS[5] mfaChanges    ZSET "<atMs>|<reset|enrolled>|<factor>" -> atMs
  KEYS[6] logins        HASH "s:<sessionId>" -> "<loginAtMs>|<device last seen before it, or empty>|<deviceId>"
  ARGV[1] watermark (event time, ms)
  ARGV[2] this call's token, unique per call (a re-sent call carries the same one)
  ARGV[3..] eventIds of the approvals to decide

  Returns { n, record1..recordN, flagId... }: the n flags this call raised, then the flagIds of every flag of
  this user still unacked (so the caller keeps their index entries). A call ioredis re-sent after its reply was
  lost finds its decisions made by its first run and hands back that run's still-unacked flags: the same reply.
]]
--- @include "raiseFlag"
--- @include "withRaw"

local W = tonumber(ARGV[1])
if not W then return { -1 } end
local spec = SPEC
local horizon, grace = spec.h, spec.g

local CALL = ARGV[2]
local wanted = {}
for i = 3, #ARGV do wanted[ARGV[i]] = true end

local records = {}
local mfaCache, sessionCache = nil, {}

-- Every mfa.passed kept for the user, parsed once per call: { at, factor, session }.
local function mfas()
  if mfaCache then return mfaCache end
  mfaCache = {}
  local all = redis.call('ZRANGE', KEYS[4], 0, -1, 'WITHSCORES')
  for i = 1, #all, 2 do
    local m = all[i]
    local p1 = string.find(m, '|', 1, true)
    local p2 = p1 and string.find(m, '|', p1 + 1, true)
    if p2 then
      mfaCache[#mfaCache + 1] = { at = tonumber(all[i + 1]), factor = string.sub(m, p1 + 1, p2 - 1), session = string.sub(m, p2 + 1) }
    end
  end
  return mfaCache
end

local function decideMfaMissing(p, raisedAt)
  local list = mfas()
  for _, r in ipairs(spec.mm) do
    local lo, hi = p.t - r[3], p.t + grace
    local found = false
    local lastSession, lastUser = nil, nil
    for _, f in ipairs(list) do
      if f.session == p.s then
        if f.at >= lo and f.at <= hi then found = true end
        if not lastSession or f.at > lastSession.at then lastSession = f end
      end
      if f.at <= hi and (not lastUser or f.at > lastUser.at) then lastUser = f end
    end
    if not found then
      local evidence = cjson.encode({
        reason = 'no-mfa-in-window',
        sessionId = p.s,
        lookbackMs = r[3],
        graceMs = grace,
        windowStartMs = lo,
        windowEndMs = hi,
        lastMfaForSession = lastSession and { atMs = lastSession.at, factor = lastSession.factor } or cjson.null,
        lastMfaForUser = lastUser and { atMs = lastUser.at, factor = lastUser.factor, sessionId = lastUser.session } or cjson.null,
      })
      local rec = raiseFlag(KEYS[2], KEYS[3], horizon, r[1], r[2], p.w, p.e, raisedAt, withRaw(evidence, 'claims', p.c), p.b, CALL)
      if rec then records[#records + 1] = rec end
    end
  end
end

local function decideMfaChange(p, raisedAt)
  for _, r in ipairs(spec.mc) do
    -- "less than window before" is (approval - window, approval]: a reset exactly window before does not
    -- count. The newest reset or enrolment in it is the evidence.
    local hit = redis.call('ZREVRANGEBYSCORE', KEYS[5], p.t, string.format('(%.0f', p.t - r[3]), 'WITHSCORES', 'LIMIT', 0, 1)
    if #hit > 0 then
      local m, at = hit[1], tonumber(hit[2])
      local p1 = string.find(m, '|', 1, true)
      local p2 = p1 and string.find(m, '|', p1 + 1, true)
      local change = p2 and string.sub(m, p1 + 1, p2 - 1) or 'reset'
      local factor = p2 and string.sub(m, p2 + 1) or ''
      local evidence = cjson.encode({
        change = 'mfa.' .. change,
        factor = factor ~= '' and factor or cjson.null,
        atMs = at,
        ageMs = p.t - at,
        windowMs = r[3],
      })
      local rec = raiseFlag(KEYS[2], KEYS[3], horizon, r[1], r[2], p.w, p.e, raisedAt, evidence, p.b, CALL)
      if rec then records[#records + 1] = rec end
    end
  end
end

local function decideNewDevice(p, raisedAt)
  local login = sessionCache[p.s]
  if login == nil then
    login = false
    local v = redis.call('HGET', KEYS[6], 's:' .. p.s)
    if v then
      local at, seen, device = string.match(v, '^([^|]*)|([^|]*)|(.*)$')
      if at then login = { at = tonumber(at), seen = tonumber(seen), device = device } end
    end
    sessionCache[p.s] = login
  end
  if not login or not login.at then return end
  for _, r in ipairs(spec.nd) do
    local within, unseen = r[3], r[4]
    -- The login lies less than `within` before the approval, (approval - within, approval], and its device
    -- had no sighting in the unseen window before the login (a sighting exactly `unseen` before counts as seen).
    if login.at <= p.t and login.at > p.t - within and (not login.seen or login.at - login.seen > unseen) then
      local evidence = cjson.encode({
        sessionId = p.s,
        deviceId = login.device,
        loginAtMs = login.at,
        deviceLastSeenAtMs = login.seen or cjson.null,
        unseenMs = unseen,
        loginWithinMs = within,
      })
      local rec = raiseFlag(KEYS[2], KEYS[3], horizon, r[1], r[2], p.w, p.e, raisedAt, evidence, p.b, CALL)
      if rec then records[#records + 1] = rec end
    end
  end
end

-- The head, claims and base of a pending member, or nil when it is not one.
local function parsePending(member)
  local n1 = string.find(member, '\n', 1, true)
  local n2 = n1 and string.find(member, '\n', n1 + 1, true)
  if not n2 then return nil end
  local ok, p = pcall(cjson.decode, string.sub(member, 1, n1 - 1))
  if not ok or type(p) ~= 'table' then return nil end
  p.c = string.sub(member, n1 + 1, n2 - 1)
  p.b = string.sub(member, n2 + 1)
  return p
end

local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', W)
for _, member in ipairs(due) do
  local p = parsePending(member)
  if not p then
    redis.call('ZREM', KEYS[1], member)
  elseif wanted[p.e] then
    -- Decided at the moment the wait ended: occurredAt + grace, in event time.
    local raisedAt = p.t + grace
    if #spec.mm > 0 and p.m == 1 then decideMfaMissing(p, raisedAt) end
    if #spec.mc > 0 then decideMfaChange(p, raisedAt) end
    if #spec.nd > 0 then decideNewDevice(p, raisedAt) end
    redis.call('ZREM', KEYS[1], member)
  end
end

-- The flags raised now, then any still-unacked flag an earlier run of this same call raised.
local now = {}
for _, rec in ipairs(records) do now[rec] = true end
local ids = {}
local unacked = redis.call('HGETALL', KEYS[3])
for i = 1, #unacked, 2 do
  ids[#ids + 1] = unacked[i]
  local rec = unacked[i + 1]
  if not now[rec] and string.find(rec, CALL, 1, true) then
    local ok, r = pcall(cjson.decode, rec)
    if ok and type(r) == 'table' and r.k == CALL then records[#records + 1] = rec end
  end
end
local out = { #records }
for _, rec in ipairs(records) do out[#out + 1] = rec end
for _, id in ipairs(ids) do out[#out + 1] = id end
return out
