--[[
  Rebuilds the sealed audit trail from withdrawals.audit.v1 after Redis lost it, only while the chain head
  is missing (another instance may have restored it first).
  KEYS[1] sealed trail stream   KEYS[2] chain head
  ARGV[1] head JSON {seq, hash}   ARGV[2..] sealed entry JSON, oldest first (already verified)
  Returns the number restored, 0 when the head was there.
]]
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('DEL', KEYS[1])
for i = 2, #ARGV do redis.call('XADD', KEYS[1], '*', 'e', ARGV[i]) end
redis.call('SET', KEYS[2], ARGV[1])
return #ARGV - 1
