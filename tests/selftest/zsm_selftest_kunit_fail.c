// SPDX-License-Identifier: GPL-2.0
/*
 * A KUnit suite with one passing and one failing case, for the runner's
 * self-test: scripts/check-runner.py expects exactly
 *
 *	PASS kunit.zsm_selftest.zsm_selftest_passes
 *	FAIL kunit.zsm_selftest.zsm_selftest_fails
 *
 * and a parameterised case whose three parameters must count as one case:
 *
 *	PASS kunit.zsm_selftest.zsm_selftest_params
 */
#include <kunit/test.h>
#include <linux/module.h>

static void zsm_selftest_passes(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, 1 + 1, 2);
}

static void zsm_selftest_fails(struct kunit *test)
{
	/* Planted failure: the runner must report this case as FAIL. */
	KUNIT_EXPECT_EQ_MSG(test, 1 + 1, 3, "planted failure");
}

static const int zsm_selftest_values[] = { 1, 2, 3 };

static void zsm_selftest_value_desc(const int *value, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "value %d", *value);
}

KUNIT_ARRAY_PARAM(zsm_selftest_value, zsm_selftest_values,
		  zsm_selftest_value_desc);

static void zsm_selftest_params(struct kunit *test)
{
	const int *value = test->param_value;

	KUNIT_EXPECT_GT(test, *value, 0);
}

static struct kunit_case zsm_selftest_cases[] = {
	KUNIT_CASE(zsm_selftest_passes),
	KUNIT_CASE(zsm_selftest_fails),
	KUNIT_CASE_PARAM(zsm_selftest_params, zsm_selftest_value_gen_params),
	{}
};

static struct kunit_suite zsm_selftest_suite = {
	.name = "zsm_selftest",
	.test_cases = zsm_selftest_cases,
};

kunit_test_suite(zsm_selftest_suite);

MODULE_DESCRIPTION("zsm runner self-test: a planted failing KUnit case");
MODULE_LICENSE("GPL");
