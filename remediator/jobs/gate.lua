-- The storm-control decision for one planned job (see gate.py for KEYS and ARGV).
-- ARGV[9] = '1' reserves the job's place in every limit; ARGV[11] = '1' only looks (writes nothing).
-- ARGV[12] = n, then n triples (command, key or topic, payload): the job's Celery message as
-- kombu would write it (dispatch/job_message.py), run only when the job may go ahead.
local job_id, now = ARGV[1], tonumber(ARGV[2])
local existing = redis.call('GET', KEYS[1])
if existing then return {'duplicate', existing} end
if ARGV[11] ~= '1' then redis.call('SET', KEYS[1], job_id, 'EX', ARGV[3]) end
local disabled = redis.call('HGET', KEYS[2], 'disabled_reason')
if disabled then return {'suppressed', disabled} end
local paused = redis.call('GET', KEYS[3])
if paused then return {'held', paused} end
local once = tonumber(ARGV[4])
if once > 0 then
  local previous = redis.call('GET', KEYS[4])
  if previous then return {'once_within', previous} end
end
local active = redis.call('GET', KEYS[5])
if active then return {'coalesced', active} end
local rule_max, rule_per = tonumber(ARGV[5]), tonumber(ARGV[6])
if rule_max > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now - rule_per)
  if redis.call('ZCARD', KEYS[6]) >= rule_max then return {'max_runs', ''} end
end
local tier_max, tier_per = tonumber(ARGV[7]), tonumber(ARGV[8])
if tier_max > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', now - tier_per)
  if redis.call('ZCARD', KEYS[7]) >= tier_max then return {'tier_cap', ''} end
end
if ARGV[9] == '1' then
  if once > 0 then redis.call('SET', KEYS[4], job_id, 'EX', math.ceil(once)) end
  redis.call('SET', KEYS[5], job_id, 'EX', ARGV[10])
  if rule_max > 0 then
    redis.call('ZADD', KEYS[6], now, job_id)
    redis.call('EXPIRE', KEYS[6], math.ceil(rule_per))
  end
  if tier_max > 0 then
    redis.call('ZADD', KEYS[7], now, job_id)
    redis.call('EXPIRE', KEYS[7], math.ceil(tier_per))
  end
end
local publishes = tonumber(ARGV[12] or '0')
for i = 0, publishes - 1 do
  local command, target, payload = ARGV[13 + 3 * i], ARGV[14 + 3 * i], ARGV[15 + 3 * i]
  if command == 'lpush' then redis.call('LPUSH', target, payload)
  elseif command == 'publish' then redis.call('PUBLISH', target, payload)
  elseif command == 'pexpire' then redis.call('PEXPIRE', target, payload)
  else return redis.error_reply('gate: not a publish command: ' .. command) end
end
return {'ok', ''}
