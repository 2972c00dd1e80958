// The one Lua script behind the Redis limit store: every limit of one request in one atomic round
// trip, all-or-nothing, on Redis server time. Mirrors memory.ts exactly (same two phases, same
// rounding) so both stores give the same answers; the contract suite runs against both.
//
// KEYS: per limit, 1 key (bucket: a hash {t: tokens, ts: ms}) or 3 keys (window: the counters of
//       the previous, current and next window, so the script picks by its own clock).
// ARGV[1]  '' (use Redis TIME) or a test time in ms (sent only when the store was built with the
//          test-only time option)
// ARGV[2]  number of limits; ARGV[3]  '1' = dry run (report, charge nothing)
// ARGV[4]  least TTL in ms for written keys (0; test time only: frozen test clocks outlive the
//          real-time TTLs that an idle bucket would otherwise get)
// then 7 per limit:
//   bucket: 'b', shadow, tokens per ms, capacity, -, -, -
//   window: 'w', shadow, limit, previous start, current start, next start, next end
// Reply: admitted (0/1), then per limit: ok, remaining, wait ms, reset ms, window ms.
export const LIMIT_SCRIPT = `
if redis.replicate_commands then pcall(redis.replicate_commands) end
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local n = tonumber(ARGV[2])
local dry = ARGV[3] == '1'
local ttlFloor = tonumber(ARGV[4])
local EPS = 1e-9
local ki = 1
local keyOf, level, okOf, ws, we = {}, {}, {}, {}, {}
local blocked = false
for i = 1, n do
  local a = 5 + (i - 1) * 7
  local kind = ARGV[a]
  local shadow = ARGV[a + 1] == '1'
  local ok
  if kind == 'b' then
    local rate = tonumber(ARGV[a + 2])
    local cap = tonumber(ARGV[a + 3])
    local key = KEYS[ki]
    ki = ki + 1
    local v = redis.call('HMGET', key, 't', 'ts')
    local tokens = cap
    if v[1] then
      local elapsed = now - tonumber(v[2])
      if elapsed < 0 then elapsed = 0 end
      tokens = math.min(cap, tonumber(v[1]) + elapsed * rate)
    end
    keyOf[i] = key
    level[i] = tokens
    ok = tokens >= 1 - EPS
  else
    local cap = tonumber(ARGV[a + 2])
    local s0, s1, s2, e2 = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5]), tonumber(ARGV[a + 6])
    local w
    if now < s1 then w = 0; ws[i] = s0; we[i] = s1
    elseif now < s2 then w = 1; ws[i] = s1; we[i] = s2
    else w = 2; ws[i] = s2; we[i] = e2 end
    local key = KEYS[ki + w]
    ki = ki + 3
    local used = tonumber(redis.call('GET', key) or '0')
    keyOf[i] = key
    level[i] = used
    ok = used + 1 <= cap
  end
  okOf[i] = ok
  if (not ok) and (not shadow) then blocked = true end
end
local out = { blocked and 0 or 1 }
local charge = (not blocked) and (not dry)
for i = 1, n do
  local a = 5 + (i - 1) * 7
  local ok = okOf[i]
  local take = charge and ok
  if ARGV[a] == 'b' then
    local rate = tonumber(ARGV[a + 2])
    local cap = tonumber(ARGV[a + 3])
    local tokens = level[i]
    local after = tokens
    if take then after = math.max(0, tokens - 1) end
    local reset = math.max(0, math.ceil((cap - after) / rate - EPS))
    local wait = 0
    if not ok then wait = math.ceil((1 - tokens) / rate) end
    if take then
      redis.call('HSET', keyOf[i], 't', tostring(after), 'ts', tostring(now))
      redis.call('PEXPIRE', keyOf[i], math.max(reset + 1000, ttlFloor))
    end
    out[#out + 1] = ok and 1 or 0
    out[#out + 1] = math.floor(after + EPS)
    out[#out + 1] = wait
    out[#out + 1] = reset
    out[#out + 1] = math.ceil(cap / rate)
  else
    local cap = tonumber(ARGV[a + 2])
    local used = level[i]
    if take then
      used = redis.call('INCR', keyOf[i])
      -- Kept a minute past the window's end, so a slow gateway clock still finds it; then gone.
      redis.call('PEXPIRE', keyOf[i], math.max(we[i] - now + 60000, ttlFloor))
    end
    local wait = 0
    if not ok then wait = we[i] - now end
    out[#out + 1] = ok and 1 or 0
    out[#out + 1] = math.max(0, cap - used)
    out[#out + 1] = wait
    out[#out + 1] = we[i] - now
    out[#out + 1] = we[i] - ws[i]
  end
end
return out
`;
