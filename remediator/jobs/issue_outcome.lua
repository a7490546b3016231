-- Shared by the scripts that set a job's status (prepended to them): the issue's hash in
-- the issue log keeps the status of its newest job (`outcome`), so the issues page filters
-- by outcome without reading job records. Nothing is written for an issue not in the log.
local function note_outcome(issue_key, status, created_at, job_id)
  if issue_key == '' or redis.call('EXISTS', issue_key) == 0 then return end
  local newest = tonumber(redis.call('HGET', issue_key, 'outcome_created') or '0')
  if tonumber(created_at) >= newest then
    redis.call('HSET', issue_key, 'outcome', status, 'outcome_created', created_at, 'outcome_job', job_id)
  end
end
