-- A rule's circuit breaker takes one bad outcome (failed or ineffective).
-- KEYS: 1 the rule's breaker hash. ARGV: 1 the rule's good outcomes so far (verified, or
-- succeeded for rules whose jobs are not verified), 2 threshold, 3 the job id.
-- Good outcomes since the last bad one reset the count: they are read from the rule's own
-- outcome counts, so a success costs the breaker nothing.
if redis.call('HGET', KEYS[1], 'good_seen') ~= ARGV[1] then
  redis.call('HSET', KEYS[1], 'good_seen', ARGV[1], 'consecutive', 0)
end
local count = redis.call('HINCRBY', KEYS[1], 'consecutive', 1)
if count < tonumber(ARGV[2]) then return false end
local reason = count .. ' consecutive failed or ineffective jobs (last: ' .. ARGV[3] .. ')'
if redis.call('HSETNX', KEYS[1], 'disabled_reason', reason) == 1 then return reason end
return false
