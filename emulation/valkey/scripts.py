"""Lua scripts for what Valkey has no single command for; each runs atomically.

A lease is a hash ``{owner, token}`` under its name with a PX expiry, and its
fencing counter is ``<name>:fence``, a key without expiry so tokens keep rising
after the lease is released, expires or the server restarts (with persistence).
"""

from __future__ import annotations

LEASE_ACQUIRE = """
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner then
  if owner ~= ARGV[1] then return false end
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(redis.call('HGET', KEYS[1], 'token'))
end
local token = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'token', token)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return token
"""

LEASE_RENEW = """
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# Compare-and-delete: only the owner may release.
LEASE_RELEASE = """
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

LEASE_HOLDER = """
local held = redis.call('HMGET', KEYS[1], 'owner', 'token')
if not held[1] then return false end
return {held[1], tonumber(held[2]), redis.call('PTTL', KEYS[1])}
"""

# XAUTOCLAIM does not say how often an entry was delivered; XPENDING does. Both
# run in one script so the counts are those the claim left. One XAUTOCLAIM looks
# at only COUNT * 10 pending entries, so an idle entry behind many busy ones
# would never be found: follow the cursor until COUNT are claimed or the PEL
# ends, as the port (and the memory adapter) promise.
CLAIM_IDLE = """
local want = tonumber(ARGV[4])
local cursor = '0-0'
local taken = 0
local out = {}
repeat
  local claimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], cursor,
                             'COUNT', want - taken)
  cursor = claimed[1]
  for _, entry in ipairs(claimed[2]) do
    if entry then
      taken = taken + 1
      local info = redis.call('XPENDING', KEYS[1], ARGV[1], entry[1], entry[1], 1)
      local data = false
      for i = 1, #entry[2], 2 do
        if entry[2][i] == 'd' then data = entry[2][i + 1] end
      end
      if data then table.insert(out, {entry[1], data, info[1][4]}) end
    end
  end
until cursor == '0-0' or taken >= want
return out
"""

# XCLAIM with min-idle 0 and JUSTID resets an entry's idle time without counting a
# delivery, but would take an entry from any consumer: only those XPENDING shows
# pending to ARGV[2] are passed on. XCLAIM drops from the PEL, and does not
# return, an entry whose data was trimmed. Ids go to XCLAIM in chunks, as Lua's
# unpack is bounded by its stack.
TOUCH = """
local mine = {}
for i = 3, #ARGV do
  local info = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if #info > 0 and info[1][2] == ARGV[2] then table.insert(mine, ARGV[i]) end
end
local out = {}
for first = 1, #mine, 1000 do
  local args = {KEYS[1], ARGV[1], ARGV[2], 0}
  for i = first, math.min(first + 999, #mine) do table.insert(args, mine[i]) end
  table.insert(args, 'JUSTID')
  local touched = redis.call('XCLAIM', unpack(args))
  for _, id in ipairs(touched) do table.insert(out, id) end
end
return out
"""

DEAD_LETTER = """
local info = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #info == 0 then return false end
local found = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
if #found == 0 then return false end
local data = false
for i = 1, #found[1][2], 2 do
  if found[1][2][i] == 'd' then data = found[1][2][i + 1] end
end
if not data then return false end
local moved
if ARGV[3] ~= '' then
  moved = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'd', data)
else
  moved = redis.call('XADD', KEYS[2], '*', 'd', data)
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return moved
"""

# Sliding-window log in a sorted set scored by server time in microseconds. One
# log per key whatever window a call gives: each call trims and counts by its
# own window, and a counted hit sets the key's expiry to that window (what the
# port documents for Counters.allow, and the memory adapter mirrors).
ALLOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[2]) * 1000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
local seq = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[1], now, now .. '-' .. seq)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
"""
