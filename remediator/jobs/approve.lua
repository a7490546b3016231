-- One more person approves a job that waits for several: their name joins its approvals
-- unless it is there already, only while the job still waits.
-- KEYS: 1 job hash, 2 the job's timeline, 3 the events counter
-- ARGV: 1 the waiting status (JSON), 2 the approver (JSON string), 3 timeline entry
-- Returns false when the job no longer waits, else {'again' | 'added', the approvals (JSON)}.
if redis.call('HGET', KEYS[1], 'status') ~= ARGV[1] then return false end
local raw = redis.call('HGET', KEYS[1], 'approvals')
local approvals = {}
if raw then approvals = cjson.decode(raw) end
local name = cjson.decode(ARGV[2])
for _, seen in ipairs(approvals) do
  if seen == name then return {'again', raw} end
end
table.insert(approvals, name)
local encoded = cjson.encode(approvals)
redis.call('HSET', KEYS[1], 'approvals', encoded)
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('EXPIRE', KEYS[2], math.max(1, redis.call('TTL', KEYS[1])))
redis.call('INCR', KEYS[3])
return {'added', encoded}
