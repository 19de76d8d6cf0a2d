-- Shared by every script that reads or changes a scope's state. A snapshot is a JSON string
-- {scope, state, since, reason, trigger, by, version}; every change bumps the version by one, writes the
-- snapshot, records the change in the outbox (for the control topic) and appends to the audit stream, all
-- inside the calling script, so two breaker instances can never interleave a read and a write.

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

-- keys: { state =, audit =, outbox =, scopes = }; returns the change table.
local function apply_change(keys, cur, scope, new_state, reason, trigger, by, at_iso, now_iso, action, extra)
  local previous = 'open'
  local version = 1
  if cur then
    previous = cur.state
    version = cur.version + 1
  end
  local snap = {
    scope = scope, state = new_state, since = at_iso, reason = reason,
    trigger = trigger, by = by, version = version,
  }
  redis.call('SET', keys.state, cjson.encode(snap))
  redis.call('SADD', keys.scopes, scope)
  local change = {
    scope = scope, state = new_state, since = at_iso, reason = reason,
    trigger = trigger, by = by, version = version, at = at_iso, previous = previous,
  }
  redis.call('HSET', keys.outbox, scope, cjson.encode(change))
  local entry = {
    recordedAt = now_iso, action = action, outcome = 'changed', scope = scope, by = by, reason = reason,
    trigger = trigger, state = new_state, version = version, at = at_iso, previous = previous,
  }
  if extra then
    for k, v in pairs(extra) do entry[k] = v end
  end
  append_audit(keys.audit, entry)
  return change
end
