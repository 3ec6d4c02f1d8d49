-- Kills its own process with SIGSEGV: Lua cannot raise a signal itself, but the shell that
-- os.execute starts can, and its parent ($PPID) is this file's process. What it printed before
-- (stdout, line-buffered in the file's process) still reaches the report.
print("crash_signal: about to crash")
os.execute("kill -SEGV $PPID; sleep 5")
error("still alive after SIGSEGV")
