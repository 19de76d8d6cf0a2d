--[[
  Moves raw entries from the audit inbox into the sealed trail, once the breaker has linked them into the
  hash chain (it holds the key; Redis does not). Compare-and-set on the chain head, so two instances never
  fork the chain: the loser reads again and retries. Each sealed entry also goes to the audit outbox until
  withdrawals.audit.v1 has it.
  KEYS[1] audit inbox stream   KEYS[2] sealed trail stream   KEYS[3] chain head   KEYS[4] audit outbox hash
  ARGV[1] head expected ('' when none)   ARGV[2] new head JSON {seq, hash}
  ARGV[3..] triples: inbox entry id, raw entry JSON as read, sealed entry JSON; the sealed JSON's seq is
  the outbox field
  Returns the number sealed, -1 when the head moved, -2 when an inbox entry changed or vanished.
]]
local head = redis.call('GET', KEYS[3]) or ''
if head ~= ARGV[1] then return -1 end
for i = 3, #ARGV, 3 do
  local got = redis.call('XRANGE', KEYS[1], ARGV[i], ARGV[i])
  if #got ~= 1 or got[1][2][2] ~= ARGV[i + 1] then return -2 end
end
local n = 0
for i = 3, #ARGV, 3 do
  local sealed = ARGV[i + 2]
  redis.call('XADD', KEYS[2], '*', 'e', sealed)
  redis.call('HSET', KEYS[4], tostring(cjson.decode(sealed).seq), sealed)
  redis.call('XDEL', KEYS[1], ARGV[i])
  n = n + 1
end
redis.call('SET', KEYS[3], ARGV[2])
return n
