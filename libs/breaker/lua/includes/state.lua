-- Shared by every script that reads or changes a scope's state. A snapshot is a JSON string
-- {scope, state, since, reason, trigger, by, version, at, crossedAt}; every change bumps the version by
-- one, writes the snapshot, records the change in the outbox (for the control topic, signed when
-- published) and appends to the audit inbox, all inside the calling script, so two breaker instances can
-- never interleave a read and a write. The breaker seals inbox entries into the hash chain afterwards
-- (libs/breaker/audit-chain.ts: the chain needs a key that Redis must not hold).

-- Returns the snapshot table, or nil when missing. A corrupt snapshot comes back as halted (fail closed)
-- with `corrupt = true`, so a halt rewrites it and a resume needs four eyes like any halt.
local function read_snapshot(key)
  local raw = redis.call('GET', key)
  if not raw then return nil end
  local ok, v = pcall(cjson.decode, raw)
  if ok and type(v) == 'table' and (v.state == 'open' or v.state == 'halted') and tonumber(v.version) then
    v.version = tonumber(v.version)
    return v
  end
  return { state = 'halted', version = 0, corrupt = true }
end

local function append_audit(audit_key, entry)
  redis.call('XADD', audit_key, '*', 'e', cjson.encode(entry))
end

-- Decodes an optional JSON object argument ('' for none).
local function optional_json(arg)
  if arg == nil or arg == '' then return nil end
  return cjson.decode(arg)
end

local function merge(into, from)
  if from then
    for k, v in pairs(from) do into[k] = v end
  end
  return into
end

-- keys: { state =, audit =, outbox =, scopes = }; crossed_iso '' for none; returns the change table.
local function apply_change(keys, cur, scope, new_state, reason, trigger, by, at_iso, now_iso, action, extra,
                            crossed_iso)
  local previous = 'open'
  local version = 1
  if cur then
    previous = cur.state
    version = cur.version + 1
  end
  -- A change never takes effect before the scope's previous change (a trip after a resume, say); the
  -- initial snapshot (version 0) is no change.
  if cur and cur.version > 0 and type(cur.at) == 'string' and at_iso < cur.at then at_iso = cur.at end
  local crossed = cjson.null
  if crossed_iso and crossed_iso ~= '' then crossed = crossed_iso end
  local snap = {
    scope = scope, state = new_state, since = at_iso, reason = reason,
    trigger = trigger, by = by, version = version, at = at_iso, crossedAt = crossed,
  }
  redis.call('SET', keys.state, cjson.encode(snap))
  redis.call('SADD', keys.scopes, scope)
  local change = merge({ previous = previous }, snap)
  redis.call('HSET', keys.outbox, scope, cjson.encode(change))
  local entry = {
    recordedAt = now_iso, action = action, outcome = 'changed', scope = scope, by = by, reason = reason,
    trigger = trigger, state = new_state, version = version, at = at_iso, crossedAt = crossed,
    previous = previous,
  }
  append_audit(keys.audit, merge(entry, extra))
  return change
end
