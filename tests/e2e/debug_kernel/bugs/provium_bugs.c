// A module of the debug_kernel test's own, built against the test's debug kernel (kconfig/
// debug.config: KASAN, lockdep, the hung task detector): loaded with bug=KIND, it makes the kernel
// report that kind of bug, so that the test reads real reports as the kernel prints them.
#include <linux/delay.h>
#include <linux/init.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/slab.h>
#include <linux/string.h>

static char *bug = "";
module_param(bug, charp, 0444);
MODULE_PARM_DESC(bug, "use-after-free, out-of-bounds, lock-order, refcount-underflow, hung-task or null-dereference");

static DEFINE_MUTEX(provium_first);
static DEFINE_MUTEX(provium_second);

static noinline int provium_use_after_free(void)
{
	char *buffer = kmalloc(64, GFP_KERNEL);

	if (!buffer)
		return -ENOMEM;
	kfree(buffer);
	return READ_ONCE(buffer[8]);
}

static noinline int provium_out_of_bounds(void)
{
	char *buffer = kmalloc(64, GFP_KERNEL);
	int value;

	if (!buffer)
		return -ENOMEM;
	value = READ_ONCE(buffer[64]);
	kfree(buffer);
	return value;
}

// Both orders, one after the other: no deadlock, but lockdep sees the inversion.
static noinline void provium_lock_order(void)
{
	mutex_lock(&provium_first);
	mutex_lock(&provium_second);
	mutex_unlock(&provium_second);
	mutex_unlock(&provium_first);
	mutex_lock(&provium_second);
	mutex_lock(&provium_first);
	mutex_unlock(&provium_first);
	mutex_unlock(&provium_second);
}

// The second release finds the count at 0 (refcount_dec would only say it "hit 0").
static noinline void provium_refcount_underflow(void)
{
	refcount_t count = REFCOUNT_INIT(1);

	if (refcount_dec_and_test(&count))
		refcount_dec_and_test(&count);
}

// Sleeps uninterruptibly far longer than the detector's timeout (the test sets it to 1 s).
static int provium_hang(void *unused)
{
	msleep(60 * 1000);
	return 0;
}

// Not instrumented, and through a pointer the compiler cannot see is NULL: KASAN's check of a
// literal NULL (or the compiler's trap for it) would report something else first.
static noinline __no_sanitize_address void provium_null_dereference(void)
{
	int *volatile where = NULL;

	*where = 1;
}

static int __init provium_bugs_init(void)
{
	if (!strcmp(bug, "use-after-free"))
		provium_use_after_free();
	else if (!strcmp(bug, "out-of-bounds"))
		provium_out_of_bounds();
	else if (!strcmp(bug, "lock-order"))
		provium_lock_order();
	else if (!strcmp(bug, "refcount-underflow"))
		provium_refcount_underflow();
	else if (!strcmp(bug, "hung-task"))
		return PTR_ERR_OR_ZERO(kthread_run(provium_hang, NULL, "provium_hang"));
	else if (!strcmp(bug, "null-dereference"))
		provium_null_dereference();
	else
		return -EINVAL;
	return 0;
}

static void __exit provium_bugs_exit(void)
{
}

module_init(provium_bugs_init);
module_exit(provium_bugs_exit);
MODULE_LICENSE("GPL");
