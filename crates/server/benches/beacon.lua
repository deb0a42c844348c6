-- wrk script: POST beacons as the share page's script sends them while a
-- page is open: each thread keeps PAGES page views (so at most
-- threads x PAGES new views from this one address, below the burst limit
-- of 30 per network and share a minute, or they would be counted as
-- `burst`) and each beacon raises one page's dwell by 1 ms: a `dwell`
-- signal, and per batch one visit update, one page-view update (none for
-- a visit's first page, which is the visit row) and two change-log rows. The first beacon of each page opens it (a `view`).
-- Globals: wrk copies them per thread and reads them back with thread:get.
counter = 0
thread_id = 0
accepted = 0
refused = 0
local token = os.getenv("WL_TOKEN")
local run = os.getenv("WL_RUN") or "0"
local pages = tonumber(os.getenv("PAGES") or "12")
local threads = {}
-- BEACON_DELAY_MS paces each connection (a steady offered load instead of
-- "as fast as possible").
local pace = tonumber(os.getenv("BEACON_DELAY_MS") or "0")

function delay()
  return pace
end

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function request()
  local page = counter % pages
  local pv = string.format("bench-%s-%d-%d", run, thread_id, page)
  -- Opening beacons carry no dwell; later ones a dwell that only grows.
  local dwell = counter < pages and 0 or counter
  counter = counter + 1
  local body = string.format('{"t":"%s","pv":"%s","dwell_ms":%d}', token, pv, dwell)
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
