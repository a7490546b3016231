-- Start an attempt only if the job may still run: queued, or running (a redelivery after a
-- crash). Atomic, so a cancellation and a start never both win.
-- KEYS: 1 job hash, 2 queued index, 3 running index, 4 the job's timeline, 5 the events counter,
--       6 the issue log's key of the job's issue, its id written `{issue}` (the record names it)
-- ARGV: 1 queued (JSON), 2 running (JSON), 3 worker (JSON), 4 now (JSON), 5 job id,
--       6 worker (plain), 7 now (plain)
-- Returns the record (HGETALL), or {'not-run', status} ('' when there is no record).
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'not-run', ''} end
if status ~= ARGV[1] and status ~= ARGV[2] then return {'not-run', status} end
local attempt = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'worker', ARGV[3], 'started_at', ARGV[4])
redis.call('ZREM', KEYS[2], ARGV[5])
redis.call('ZADD', KEYS[3], redis.call('HGET', KEYS[1], 'created_at'), ARGV[5])
redis.call('RPUSH', KEYS[4], cjson.encode({event = 'started', at = tonumber(ARGV[7]), actor = ARGV[6], attempt = attempt}))
redis.call('EXPIRE', KEYS[4], math.max(1, redis.call('TTL', KEYS[1])))
redis.call('INCR', KEYS[5])
local issue = redis.call('HGET', KEYS[1], 'sentry_issue_id')
if issue and issue ~= 'null' then
  local key = KEYS[6]:sub(1, -8) .. cjson.decode(issue)
  note_outcome(key, 'running', redis.call('HGET', KEYS[1], 'created_at'), ARGV[5])
end
return redis.call('HGETALL', KEYS[1])
