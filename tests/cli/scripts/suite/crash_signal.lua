-- Kills its own process with SIGSEGV: Lua cannot raise a signal itself, but the shell that
-- os.execute starts can, and its parent ($PPID) is this file's process.
io.stderr:write("crash_signal: about to crash\n")
io.stderr:flush()
os.execute("kill -SEGV $PPID; sleep 5")
error("still alive after SIGSEGV")
