-- One wrk script for every benchmark scenario; the mode comes after `--` on wrk's command line:
--
--   get  TEMPLATE LO HI          GET TEMPLATE with each "{r}" replaced by a random integer in [LO, HI]
--   post PATH KIND N             POST a fresh body of KIND (customer | activity; activity bodies
--                                name a random customer in [1, N])
--   mix  TEMPLATE LO HI PATH KIND N PERCENT
--                                PERCENT % posts as above, the rest gets as above
--
-- Headers (the API key) come from wrk's -H. Random numbers are seeded per thread, so runs repeat.
-- done() prints one line: BENCH {"rps":…,"p50":…,"p90":…,"p99":…} (latencies in microseconds).

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

local mode, template, lo, hi, path, kind, n, percent
local serial = 0
local FIRST = { "Anna", "Paul", "Marie", "Leon", "Sophie", "Jonas", "Giulia", "Louis", "Zofia", "Erik" }
local LAST = { "Müller", "Schmidt", "Weber", "Rossi", "Martin", "Nowak", "Andersson", "De Vries", "García", "Smith" }
local TYPES = { "page_view", "newsletter_open", "email_click", "login", "order" }

function init(args)
  math.randomseed(7919 * (tid or 1))
  mode = args[1]
  if mode == "get" or mode == "mix" then
    template, lo, hi = args[2], tonumber(args[3]), tonumber(args[4])
  end
  if mode == "post" then
    path, kind, n = args[2], args[3], tonumber(args[4])
  elseif mode == "mix" then
    path, kind, n, percent = args[5], args[6], tonumber(args[7]), tonumber(args[8])
  end
end

local function customer_body()
  local f, l = FIRST[math.random(#FIRST)], LAST[math.random(#LAST)]
  serial = serial + 1
  return string.format(
    '{"firstname":"%s","lastname":"%s","gender":"%s","email":"%s.%d.%d@example.com","street":"Hauptstraße %d","zip":"%05d","city":"Berlin","countryCode":"DE","customerLanguage":"de","phone":"+49 30 %07d","birthdate":%d,"segments":[%d]}',
    f, l, (math.random(2) == 1) and "female" or "male", f:lower(), tid or 1, serial, math.random(200), math.random(99999),
    math.random(9999999), math.random(0, 1000000000), math.random(3, 20))
end

local function activity_body()
  return string.format(
    '{"customerId":%d,"type":"%s","activityDate":%d,"attributes":{"campaign":"spring-sale","url":"https://shop.example.com/shop","value":%d.%02d,"items":%d}}',
    math.random(n), TYPES[math.random(#TYPES)], 1767225600 + math.random(86400), math.random(500), math.random(99), math.random(5))
end

local function get()
  return wrk.format("GET", (template:gsub("{r}", function() return tostring(math.random(lo, hi)) end)))
end

-- wrk.format uses the headers it is given instead of wrk.headers (the -H ones): merge them.
local post_headers
local function post()
  if not post_headers then
    post_headers = { ["Content-Type"] = "application/json" }
    for k, v in pairs(wrk.headers) do post_headers[k] = v end
  end
  local body = (kind == "activity") and activity_body() or customer_body()
  return wrk.format("POST", path, post_headers, body)
end

function request()
  if mode == "get" then return get() end
  if mode == "post" then return post() end
  if math.random(100) <= percent then return post() end
  return get()
end

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    'BENCH {"requests":%d,"seconds":%.3f,"rps":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d,"non2xx":%d,"socketErrors":%d}\n',
    summary.requests, secs, summary.requests / secs, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, e.status, e.connect + e.read + e.write + e.timeout))
end
