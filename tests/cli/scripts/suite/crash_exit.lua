-- Ends its process without a result (Lua's os.exit is open in the adapter).
io.stderr:write("crash_exit: leaving now\n")
os.exit(3)
