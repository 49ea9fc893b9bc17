-- The load test's analyses (scripts/bench-load.sh): every request POSTs the clip LOAD_CLIP to the
-- URL given to wrk (/cv/analyze/video) as multipart `video`, with `ref_len_m` and `ref_len_px`
-- (LOAD_REF_LEN_M, LOAD_REF_LEN_PX) and `run_name=load`. Tallies and reports as report.lua does.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local clip = assert(os.getenv("LOAD_CLIP"), "LOAD_CLIP: the clip to POST")
local file = assert(io.open(clip, "rb"))
local video = file:read("*a")
file:close()

local boundary = "golfiq-load-7f3a9c1e"
local function field(name, value)
  return "--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"" .. name .. "\"\r\n\r\n" ..
    value .. "\r\n"
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
wrk.body = field("ref_len_m", os.getenv("LOAD_REF_LEN_M") or "1.0") ..
  field("ref_len_px", os.getenv("LOAD_REF_LEN_PX") or "100.0") ..
  field("run_name", "load") ..
  "--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"video\"; filename=\"load.mp4\"\r\n" ..
  "Content-Type: video/mp4\r\n\r\n" .. video .. "\r\n--" .. boundary .. "--\r\n"
