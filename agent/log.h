/* Messages of the guest programs. They go to stderr, which is the serial console: the host
 * shows its tail when something fails. The console is slow under TCG, so only problems are
 * reported, never progress. */
#ifndef PROVIUM_LOG_H
#define PROVIUM_LOG_H

/* Each program defines its name; every message starts with "NAME: ". */
extern const char log_name[];

__attribute__((format(printf, 1, 2))) void log_msg(const char *fmt, ...);

#endif
