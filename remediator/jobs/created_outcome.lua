-- A new record's status as its issue's outcome (see issue_outcome.lua).
-- KEYS: 1 the issue's hash. ARGV: 1 status (plain), 2 creation time, 3 job id.
note_outcome(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
