-- Note one webhook on its issue: the fields it set, the first sighting, the issue's place in
-- the index (open issues first, newest first), its timeline entry, and the events counter.
-- KEYS: 1 the issue's hash, 2 its webhooks list, 3 the issues index, 4 the events counter
-- ARGV: 1 issue id, 2 the webhook's time, 3 retention (seconds), 4 timeline entry (JSON),
--       5 the open issues' boost, 6 most timeline entries kept, then field/value pairs.
for i = 7, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('HSETNX', KEYS[1], 'first_seen', ARGV[2])
redis.call('HSETNX', KEYS[1], 'status', 'unresolved')
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('RPUSH', KEYS[2], ARGV[4])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[6]), -1)
redis.call('EXPIRE', KEYS[2], ARGV[3])
local at, boost, ttl = tonumber(ARGV[2]), tonumber(ARGV[5]), tonumber(ARGV[3])
local score = at
if redis.call('HGET', KEYS[1], 'status') == 'unresolved' then score = at + boost end
redis.call('ZADD', KEYS[3], score, ARGV[1])
-- entries past the retention go (their hashes expired): settled ones, then open ones
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. (at - ttl))
redis.call('ZREMRANGEBYSCORE', KEYS[3], '(' .. boost, '(' .. (boost + at - ttl))
redis.call('INCR', KEYS[4])
return score
