-- Move a job from one status to another only if it is still in the first, in one step:
-- the record's fields, the status index, the rule's outcome count and the concurrency slot.
-- KEYS: 1 job hash, 2 old status index, 3 new status index, 4 rule stats, 5 active slot ('' = none),
--       6 the job's timeline, 7 the events counter, 8 the hour's trend bucket ('' = none),
--       9 the job's issue in the issue log ('' = none)
-- ARGV: 1 old status (JSON), 2 new status (JSON), 3 outcome to count ('' = none),
--       4 job id, 5 creation time (index score), 6 retention horizon (older index entries go),
--       7 timeline entry ('' = none), 8 '1' to replace the last entry (a decision corrected
--       in the same breath) instead of adding one, 9 the trend counts (JSON object of
--       field: increment, '' = none), 10 when the bucket expires (unix time),
--       then field/value pairs (JSON values).
if redis.call('HGET', KEYS[1], 'status') ~= ARGV[1] then return false end
redis.call('HSET', KEYS[1], 'status', ARGV[2])
for i = 11, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
if KEYS[2] ~= KEYS[3] then
  redis.call('ZREM', KEYS[2], ARGV[4])
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[4])
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[6])
end
if ARGV[3] ~= '' then redis.call('HINCRBY', KEYS[4], ARGV[3], 1) end
if KEYS[5] ~= '' and redis.call('GET', KEYS[5]) == ARGV[4] then redis.call('DEL', KEYS[5]) end
if ARGV[7] ~= '' then
  if ARGV[8] == '1' and redis.call('LLEN', KEYS[6]) > 0 then
    redis.call('LSET', KEYS[6], -1, ARGV[7])
  else
    redis.call('RPUSH', KEYS[6], ARGV[7])
    redis.call('EXPIRE', KEYS[6], math.max(1, redis.call('TTL', KEYS[1])))
  end
  redis.call('INCR', KEYS[7])
end
if KEYS[8] ~= '' and ARGV[9] ~= '' then
  for name, n in pairs(cjson.decode(ARGV[9])) do redis.call('HINCRBY', KEYS[8], name, n) end
  redis.call('EXPIREAT', KEYS[8], ARGV[10])
end
note_outcome(KEYS[9], cjson.decode(ARGV[2]), ARGV[5], ARGV[4])
return redis.call('HGETALL', KEYS[1])
