-- wrk script: POST beacons as the share page's script sends them, each from
-- a new page view with no visitor cookie: every beacon opens a new visit
-- (the heaviest case: a visit row, a page-view row, a `view` signal and two
-- change-log rows each). So every accepted beacon stores exactly one signal,
-- whatever order the server sees them in, and the run can check
-- stored signals == accepted beacons.
-- Globals: wrk copies them per thread and reads them back with thread:get.
counter = 0
thread_id = 0
accepted = 0
local token = os.getenv("WL_TOKEN")
local run = os.getenv("WL_RUN") or "0"
local threads = {}
-- BEACON_DELAY_MS paces each connection (a steady offered load instead of
-- "as fast as possible", which only measures how fast 503s are sent).
local pace = tonumber(os.getenv("BEACON_DELAY_MS") or "0")

function delay()
  return pace
end

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function request()
  local pv = string.format("bench-%s-%d-%d", run, thread_id, counter)
  counter = counter + 1
  local body = string.format('{"t":"%s","pv":"%s","dwell_ms":0}', token, pv)
  return wrk.format("POST", "/t/beacon", {["Content-Type"] = "text/plain"}, body)
end

function response(status, headers, body)
  if status == 204 then
    accepted = accepted + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do
    total = total + t:get("accepted")
  end
  io.write(string.format("ACCEPTED %d\n", total))
end
