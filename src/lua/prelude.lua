-- The globals of docs/lua.md ("Globals") that are plain Lua: test, todo, the replaced assert,
-- assert_eq, assert_contains, dofile relative to the run's start directory, and the wrappers
-- of exec's stdout/stderr. Run once per fresh state with the adapter's internal functions.
local internal = ...
local record_block, begin_block, set_traceback, start_dir =
  internal.record_block, internal.begin_block, internal.set_traceback, internal.start_dir
local debug_getinfo, debug_traceback = debug.getinfo, debug.traceback
local getmetatable, setmetatable, rawget, type, tostring, error, xpcall =
  getmetatable, setmetatable, rawget, type, tostring, error, xpcall
local string_find, string_format, string_byte, string_sub = string.find, string.format, string.byte, string.sub

-- exec() output: .value, and .contains/.starts_with/.trim called with a dot.
local Output = {}
Output.__index = Output
local function bytes_of(v)
  if getmetatable(v) == Output then return rawget(v, "value") end
  return v
end
Output.__tostring = function(o) return rawget(o, "value") end
Output.__concat = function(a, b) return tostring(bytes_of(a)) .. tostring(bytes_of(b)) end
Output.__len = function(o) return #rawget(o, "value") end
Output.__eq = function(a, b) return rawget(a, "value") == rawget(b, "value") end

local function output(s)
  local o = {value = s}
  -- Called with a colon by mistake, the first argument is the output itself.
  local function argument(a, b) if a == o then return b end return a end
  o.contains = function(a, b)
    local needle = bytes_of(argument(a, b))
    return string_find(s, needle, 1, true) ~= nil
  end
  o.starts_with = function(a, b)
    local prefix = bytes_of(argument(a, b))
    return string_sub(s, 1, #prefix) == prefix
  end
  o.trim = function()
    return (s:gsub("^%s+", ""):gsub("%s+$", ""))
  end
  return setmetatable(o, Output)
end

-- A value as a failure message shows it: strings quoted, escaped and cut at 400 bytes; tables
-- with their first elements or fields.
local show
local function show_table(t)
  local parts, count = {}, 0
  for i, element in ipairs(t) do
    count = i
    if i <= 20 then parts[#parts + 1] = show(element) end
  end
  for key, element in pairs(t) do
    if not (math.type(key) == "integer" and key >= 1 and key <= count) then
      count = count + 1
      if #parts < 20 then parts[#parts + 1] = tostring(key) .. " = " .. show(element) end
    end
  end
  if count > #parts then parts[#parts + 1] = "..." end
  return "{" .. table.concat(parts, ", ") .. "}"
end

function show(v)
  v = bytes_of(v)
  if type(v) == "table" then return show_table(v) end
  if type(v) ~= "string" then return tostring(v) end
  local shown = v
  if #shown > 400 then shown = string_sub(shown, 1, 400) end
  shown = shown:gsub('[%c"\\\128-\255]', function(c)
    if c == "\n" then return "\\n" elseif c == "\t" then return "\\t"
    elseif c == '"' then return '\\"' elseif c == "\\" then return "\\\\" end
    return string_format("\\x%02x", string_byte(c))
  end)
  if #v > 400 then return '"' .. shown .. '"... (' .. #v .. " bytes)" end
  return '"' .. shown .. '"'
end

local function with_message(msg, text)
  if msg ~= nil then return tostring(msg) .. ": " .. text end
  return text
end

function assert(...)
  local v, msg = ...
  if v then return ... end
  if msg ~= nil and type(msg) ~= "string" and type(msg) ~= "number" then error(msg, 0) end
  error(with_message(msg, "assertion failed"), 2)
end

function assert_eq(expected, actual, msg)
  local a, b = expected, actual
  -- An exec output equals the string it holds.
  if type(bytes_of(a)) == "string" and type(bytes_of(b)) == "string" then a, b = bytes_of(a), bytes_of(b) end
  if a == b then return end
  error(with_message(msg, "expected " .. show(expected) .. ", got " .. show(actual)), 2)
end

function assert_contains(haystack, needle, msg)
  local hay, sought = bytes_of(haystack), bytes_of(needle)
  if type(hay) == "string" then
    if type(sought) ~= "string" then
      error(with_message(msg, "assert_contains: the needle must be a string, got " .. type(sought)), 2)
    end
    if string_find(hay, sought, 1, true) then return end
  elseif type(hay) == "table" then
    for _, element in ipairs(hay) do
      if element == sought or bytes_of(element) == sought then return end
    end
  else
    error(with_message(msg, "assert_contains: the haystack must be a string or a list, got " .. type(hay)), 2)
  end
  error(with_message(msg, "expected " .. show(haystack) .. " to contain " .. show(needle)), 2)
end

-- todo(): ends the current block (or the rest of the file) as skipped.
local Todo = {}
Todo.__tostring = function(t) return "todo: " .. (t.reason or "") end

function todo(reason)
  error(setmetatable({reason = reason ~= nil and tostring(reason) or ""}, Todo), 0)
end

-- assert_tap(provium.tap(...)): fails the block with a line per failing subtest; a run whose
-- subtests were all skipped skips the block.
function assert_tap(result, msg)
  if type(result) ~= "table" or type(result.explanation) ~= "string" then
    error("assert_tap: argument 1 must be what provium.tap returned, got " .. type(result), 2)
  end
  if result.all_skipped then todo(result.explanation) end
  if not result.passed then error(with_message(msg, "TAP run " .. result.explanation), 2) end
end

local function traceback_handler(e)
  if getmetatable(e) ~= Todo then
    local text = type(e) == "string" and e or tostring(e)
    set_traceback(debug_traceback(text, 2))
  end
  return e
end

function test(name, fn)
  if type(name) ~= "string" then error("test: argument 1 must be the block's name (a string)", 2) end
  if type(fn) ~= "function" then error("test: argument 2 must be a function", 2) end
  if internal.building then error("test: a fixture script prepares a VM; it has no test() blocks", 2) end
  local where = debug_getinfo(2, "Sl")
  begin_block()
  local ok, err = xpcall(fn, traceback_handler)
  if ok then
    record_block(name, "passed", "", where.short_src, where.currentline)
  elseif getmetatable(err) == Todo then
    record_block(name, "todo", err.reason, where.short_src, where.currentline)
  else
    record_block(name, "failed", type(err) == "string" and err or tostring(err), where.short_src, where.currentline)
  end
end

local io_open, load = io.open, load
function dofile(path)
  if type(path) ~= "string" then error("dofile: the path must be a string", 2) end
  local full = path
  if string_sub(path, 1, 1) ~= "/" then full = start_dir .. "/" .. path end
  local file, why = io_open(full, "rb")
  if not file then error("dofile: cannot open " .. path .. " (" .. tostring(why) .. ")", 2) end
  local text = file:read("a")
  file:close()
  local chunk, syntax = load(text, "@" .. path, "t")
  if not chunk then error(syntax, 0) end
  return chunk()
end

return {output = output, Todo = Todo, traceback_handler = traceback_handler}
