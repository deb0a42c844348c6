-- wrk script of the views benchmark (tests/views_bench.rs): every beacon
-- is a NEW page view (a new visit: share row the first time, visit, `view`
-- signal, change-log rows), the heaviest beacon and the one the issue's
-- "durable views/s" counts. Share tokens are read from WL_TOKENS (one per
-- line, signed by the bench with a real device's share key) and used in
-- turn, so each share gets few enough views a minute from this one address
-- to stay below the burst filter (30 new views per network per share a
-- minute). No visitor cookie: each view is a new visitor.
-- Globals: wrk copies them per thread and reads them back with thread:get.
counter = 0
thread_id = 0
accepted = 0
refused = 0
local threads = {}
local tokens = {}

function init(args)
  math.randomseed(os.time() + thread_id)
  for line in io.lines(os.getenv("WL_TOKENS")) do
    table.insert(tokens, line)
  end
end

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

-- PV=random sends page-view ids as the page's script made them before
-- (32 random hex digits), to measure what time-first ids save.
local random_pv = os.getenv("PV") == "random"

function request()
  counter = counter + 1
  local token = tokens[((counter * 7919 + thread_id) % #tokens) + 1]
  -- A page-view id as the page's script makes one (templates/beacon.js):
  -- 12 hex digits of the time in ms, then 80 random bits.
  local pv = string.format("%012x%08x%08x%04x", os.time() * 1000 + counter % 1000,
    math.random(0, 0xffffffff), math.random(0, 0xffffffff), math.random(0, 0xffff))
  if random_pv then
    pv = string.format("%08x%08x%08x%08x", math.random(0, 0xffffffff), math.random(0, 0xffffffff),
      math.random(0, 0xffffffff), math.random(0, 0xffffffff))
  end
  local body = string.format('{"t":"%s","pv":"%s","dwell_ms":0}', token, pv)
  return wrk.format("POST", "/t/beacon", {["Content-Type"] = "text/plain"}, body)
end

function response(status, headers, body)
  if status == 204 then
    accepted = accepted + 1
  else
    refused = refused + 1
  end
end

function done(summary, latency, requests)
  local total, lost = 0, 0
  for _, t in ipairs(threads) do
    total = total + t:get("accepted")
    lost = lost + t:get("refused")
  end
  io.write(string.format("ACCEPTED %d\nREFUSED %d\n", total, lost))
end
