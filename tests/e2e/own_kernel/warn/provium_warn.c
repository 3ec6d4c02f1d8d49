// A module of the own_kernel test's own, built against the test's kernel tree
// (make -C TREE M=DIR modules): loading it WARNs, so that the test sees the report's frames
// resolved to this file's lines.
#include <linux/bug.h>
#include <linux/init.h>
#include <linux/module.h>

static noinline void provium_warn_here(void)
{
	WARN(1, "provium_warn: loaded, as the test asked");
}

static int __init provium_warn_init(void)
{
	provium_warn_here();
	return 0;
}

static void __exit provium_warn_exit(void)
{
}

module_init(provium_warn_init);
module_exit(provium_warn_exit);
MODULE_LICENSE("GPL");
