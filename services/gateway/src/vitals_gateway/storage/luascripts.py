"""The Lua scripts the window store and the alert materialiser run inside Redis.

Each runs atomically, so a write and its bookkeeping cannot interleave with another
replica's. Every key a script touches comes in `KEYS` (none is built inside a script), and
the keys of one call share a hash tag (`keys.host_tag`, a partition's, `{alerts}`), as
Redis Cluster requires.
"""

from __future__ import annotations

# Write one slot per series into the chunk at `off`; the i-th series' chunk is
# KEYS[first + i - 1], and `name_at(i)` its name (asked only to index a new chunk). A
# SETRANGE that had to create its key (shorter than a full chunk, or the last slot and no
# expiry yet) is redone on a properly filled and expiring chunk. With `max_series` > 0 (raw
# writes) the host's name index is kept up to date and a new series beyond the cap is
# refused and counted. With `guard`, a chunk that is sealed (compressed, see chunkcodec.py)
# is left alone and its index returned, for the caller to unseal it and write again.
# `off` stays the string it came as: the common path passes it on untouched.
_WRITE_SLOTS = """
local function new_chunk(names_key, key, name, chunk, expire_at, off, full, fill, width,
                         max_series, value)
  if max_series > 0 and not redis.call('ZSCORE', names_key, name)
     and redis.call('ZCARD', names_key) >= max_series then
    redis.call('DEL', key)
    return 1
  end
  redis.call('SET', key, string.rep(fill, full / width))
  redis.call('EXPIREAT', key, expire_at)
  redis.call('SETRANGE', key, off, value)
  if max_series > 0 then
    redis.call('ZADD', names_key, 'GT', chunk, name)
  end
  return 0
end

local function write_slots(names_key, first, chunk, expire_at, off, full, fill, width,
                           max_series, blob, name_at, guard)
  local dropped = 0
  local sealed = {}
  local last = tonumber(off) + width == full
  for i = 1, #KEYS - first + 1 do
    local key = KEYS[first + i - 1]
    local value = string.sub(blob, (i - 1) * width + 1, i * width)
    if guard and redis.call('GETRANGE', key, 0, 3) == 'Z1\\193\\255' then
      sealed[#sealed + 1] = i
    else
      local len = redis.call('SETRANGE', key, off, value)
      if len ~= full or (last and redis.call('TTL', key) == -1) then
        dropped = dropped + new_chunk(names_key, key, name_at(i), chunk, expire_at, off, full,
                                      fill, width, max_series, value)
      end
    end
  end
  return {dropped, sealed}
end
"""

# One event of one host (all keys in the host's slot).
# KEYS: latest_ts, latest, names, raw chunk of each series (none: no points)...
# ARGV: ts, ts_field, latest_field ('' = SET latest), doc, chunk, expire_at, off, full,
#       fill, max_series, values, name_from, name_cut,
#       guard ('1': the chunk may be sealed, a late point)
# A series' name is its chunk key less the key's first `name_from` - 1 bytes and its last
# `name_cut` (`keys.series_chunk_affixes`): sent once, in the keys, not twice.
# -> {newer, series dropped, {1-based index of each series whose chunk is sealed}}
INGEST = (
    _WRITE_SLOTS
    + """
local ts = tonumber(ARGV[1])
local newer = 0
local prev = redis.call('HGET', KEYS[1], ARGV[2])
if not prev or ts >= tonumber(prev) then
  newer = 1
  redis.call('HSET', KEYS[1], ARGV[2], ARGV[1])
  if ARGV[3] == '' then
    redis.call('SET', KEYS[2], ARGV[4])
  else
    redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
  end
end
local written = {0, {}}
if #KEYS > 3 then
  local from, cut = tonumber(ARGV[12]), -1 - tonumber(ARGV[13])
  local function name_at(i)
    return string.sub(KEYS[3 + i], from, cut)
  end
  written = write_slots(KEYS[3], 4, ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[8]), ARGV[9], 4,
                        tonumber(ARGV[10]), ARGV[11], name_at, ARGV[14] == '1')
end
return {newer, written[1], written[2]}
"""
)

# The fleet's side of a batch of events, for the hosts of one partition: last seen, the
# fleet summary (only from a sample not older than the one it holds), due rollups.
# KEYS: hosts, fleet, fleet_ts, due
# ARGV: per event 5 values: host, ts, summary ('' = none), due_member ('' = none), due_score
FLEET = """
for i = 1, #ARGV, 5 do
  local host = ARGV[i]
  local ts = tonumber(ARGV[i + 1])
  local seen = redis.call('HGET', KEYS[1], host)
  if not seen or ts > tonumber(seen) then
    redis.call('HSET', KEYS[1], host, ARGV[i + 1])
  end
  if ARGV[i + 2] ~= '' then
    local prev = redis.call('HGET', KEYS[3], host)
    if not prev or ts >= tonumber(prev) then
      redis.call('HSET', KEYS[3], host, ARGV[i + 1])
      redis.call('HSET', KEYS[2], host, ARGV[i + 2])
    end
  end
  if ARGV[i + 3] ~= '' then
    redis.call('ZADD', KEYS[4], 'NX', ARGV[i + 4], ARGV[i + 3])
  end
end
return #ARGV / 5
"""

# Rolled-up slots (chunks that may be sealed).
# KEYS: names, the chunk of each name...
# ARGV: chunk, expire_at, off, full, fill (one slot), width, blob, names (joined),
#       [max_series: > 0 also indexes new series within the cap (history written directly)]
# -> {series dropped, {1-based index of each name whose chunk is sealed}}
WRITE_SLOTS = (
    _WRITE_SLOTS
    + """
local names = {}
for name in string.gmatch(ARGV[8], '[^\\n]+') do
  names[#names + 1] = name
end
local function name_at(i)
  return names[i]
end
return write_slots(KEYS[1], 2, ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5],
                   tonumber(ARGV[6]), tonumber(ARGV[9] or '0'), ARGV[7], name_at, true)
"""
)

# KEYS: chunks   ARGV: off, length  -> one string per chunk ('' when absent): the slots, or
# the whole chunk when it is sealed (the caller unseals it and takes the slots)
READ_SLOTS = """
local out = {}
local stop = tonumber(ARGV[1]) + tonumber(ARGV[2]) - 1
for i = 1, #KEYS do
  if redis.call('GETRANGE', KEYS[i], 0, 3) == 'Z1\\193\\255' then
    out[i] = redis.call('GET', KEYS[i])
  else
    out[i] = redis.call('GETRANGE', KEYS[i], ARGV[1], stop)
  end
end
return out
"""

# Replace chunks with another form of the same data (sealed <-> plain), each only if it
# still holds what the caller read (its SHA-1), keeping its expiry.
# KEYS: chunks   ARGV: per chunk: sha1 of what was read, the new bytes  -> chunks replaced
REPLACE = """
local n = 0
for i = 1, #KEYS do
  local now = redis.call('GET', KEYS[i])
  if now and redis.sha1hex(now) == ARGV[2 * i - 1] then
    redis.call('SET', KEYS[i], ARGV[2 * i], 'KEEPTTL')
    n = n + 1
  end
end
return n
"""

# Take up to n due buckets, holding them as claimed until `lease_until`; claims that ran
# out (their roller died) go back to due first.
# KEYS: due, claimed   ARGV: now, lease_until, n
CLAIM = """
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 1000)
for _, m in ipairs(expired) do
  redis.call('ZREM', KEYS[2], m)
  redis.call('ZADD', KEYS[1], 'NX', ARGV[1], m)
end
local ready = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, m in ipairs(ready) do
  redis.call('ZREM', KEYS[1], m)
  redis.call('ZADD', KEYS[2], ARGV[2], m)
end
return ready
"""

# Materialise one alert event: history always (the same event twice is one member), the
# active map only when the event is not older than the latest one applied for its alert.
# KEYS: active, history, seen   ARGV: alert_id, ts, event kind, json, history_max, horizon
APPLY_ALERT = """
local ts = tonumber(ARGV[2])
redis.call('ZADD', KEYS[2], ts, ARGV[4])
local n = redis.call('ZCARD', KEYS[2])
local max = tonumber(ARGV[5])
if n > max then
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, n - max - 1)
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[6])
local prev = redis.call('ZSCORE', KEYS[3], ARGV[1])
if prev and tonumber(prev) > ts then
  return 0
end
redis.call('ZADD', KEYS[3], ts, ARGV[1])
if ARGV[3] == 'resolved' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
end
return 1
"""
