-- wrk script of kassa's `pos` benchmark (benches/load/pos.rs): one scenario per run, chosen
-- by KASSA_SCENARIO, each request for a caller drawn at random from the tab-separated rows
-- of KASSA_DATA. Prints one line "KASSA_RESULT requests duration_us non2xx socket_errors
-- p50_us p99_us max_us" at the end for the benchmark to read. KASSA_PAUSE_MS paces each
-- connection.
local scenario = os.getenv("KASSA_SCENARIO")
local threads_total = tonumber(os.getenv("KASSA_THREADS"))
local run_tag = os.getenv("KASSA_RUN_TAG")
local pause_ms = tonumber(os.getenv("KASSA_PAUSE_MS") or "0")

-- A till that is not flat out: each connection waits this long between requests.
if pause_ms > 0 then
  function delay()
    return pause_ms
  end
end

local rows = {}
for line in io.lines(os.getenv("KASSA_DATA")) do
  local fields = {}
  for field in string.gmatch(line, "[^\t]+") do
    fields[#fields + 1] = field
  end
  rows[#rows + 1] = fields
end

local threads = {}
function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

local sent = 0
function init(args)
  math.randomseed(os.time() * 100 + thread_id)
end

local function any_row()
  return rows[math.random(#rows)]
end

local function as_caller(row)
  return { ["Authorization"] = "Bearer " .. row[1], ["X-Tenant-Key"] = row[2] }
end

local function json_post(path, headers, body)
  headers["Content-Type"] = "application/json"
  return wrk.format("POST", path, headers, body)
end

-- Usernames and store names unique across threads, requests and runs.
local function unique(prefix)
  return prefix .. run_tag .. "t" .. thread_id .. "n" .. sent
end

function request()
  sent = sent + 1
  if scenario == "me" then
    return wrk.format("GET", "/api/users/auth/me/", as_caller(any_row()))
  elseif scenario == "employees" then
    return wrk.format("GET", "/api/users/employees/?page_size=20", as_caller(any_row()))
  elseif scenario == "login" then
    local row = any_row()
    return json_post("/api/users/auth/login/", {},
      '{"username":"' .. row[1] .. '","password":"' .. row[2] .. '"}')
  elseif scenario == "pin-login" then
    -- A cashier's PIN on their till: device token, store key, employee id, PIN.
    local row = any_row()
    return json_post("/api/users/auth/pin-login/", { ["X-Device-Token"] = row[1], ["X-Tenant-Key"] = row[2] },
      '{"employee_id":' .. row[3] .. ',"pin":"' .. row[4] .. '"}')
  elseif scenario == "approval" then
    -- The owner approves one action on a cashier's till, with the owner's PIN.
    local row = any_row()
    local headers = as_caller(row)
    headers["X-Device-Token"] = row[3]
    return json_post("/api/users/approvals/", headers,
      '{"permission":"manage_sales","approver_employee_id":' .. row[4] .. ',"pin":"' .. row[5] .. '"}')
  elseif scenario == "refresh" then
    -- A refresh token works once (it rotates): each thread walks its own share of them.
    local row = rows[(thread_id - 1 + (sent - 1) * threads_total) % #rows + 1]
    return json_post("/api/users/auth/token/refresh/", {}, '{"refresh":"' .. row[1] .. '"}')
  elseif scenario == "introspect" then
    -- A platform service asks whether a cashier's token is live, and their role in the store.
    local row = any_row()
    return wrk.format("POST", "/oauth/introspect",
      { ["Authorization"] = row[1], ["Content-Type"] = "application/x-www-form-urlencoded" },
      "token=" .. row[2] .. "&tenant_key=" .. row[3])
  elseif scenario == "create" then
    return json_post("/api/users/employees/", as_caller(any_row()),
      '{"username":"' .. unique("c") .. '","first_name":"Кассир","role":"cashier"}')
  elseif scenario == "register" then
    local password = rows[1][1]
    return json_post("/api/users/auth/register/", {},
      '{"username":"' .. unique("r") .. '","password":"' .. password .. '","password_confirm":"' .. password ..
      '","first_name":"Владелец","store_name":"Магазин ' .. unique("") .. '","owner_phone":"+998901234567"}')
  end
  error("unknown KASSA_SCENARIO " .. tostring(scenario))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("KASSA_RESULT %d %d %d %d %d %d %d\n", summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
