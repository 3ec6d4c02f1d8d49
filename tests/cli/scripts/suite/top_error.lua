-- An error outside any block ends the file.
local function helper()
  error("top-level boom")
end
helper()
