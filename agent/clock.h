/* Deadlines in milliseconds of the monotonic clock, for waits with poll(). */
#ifndef PROVIUM_CLOCK_H
#define PROVIUM_CLOCK_H

#include <stdint.h>

int64_t clock_now_ms(void);

/* Milliseconds from now until `deadline` (-1: none) as poll() takes them: -1 for no limit, 0
 * once it passed. */
int clock_ms_until(int64_t deadline);

#endif
