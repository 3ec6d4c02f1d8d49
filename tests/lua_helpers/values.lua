-- A helper for assertions.lua's dofile test (and a host file for lifecycle.lua to put into the
-- guest's initramfs): plain Lua that returns a table.
local values = {answer = 42}
values.helper_ran = true
return values
