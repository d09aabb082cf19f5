// SPDX-License-Identifier: MIT
// The link settings by name (wire/link_opts): every key, its values and its errors.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/link_opts.h"
#include "wire/link.h"
#include "wire/preset.h"

static char err[512];

/* Compares every field by name, so that a mismatch says which one. */
static void assert_cfg_equal(const struct wire_link_cfg *got, const struct wire_link_cfg *want, const char *ctx)
{
#define SAME_D(f)                                                                                        \
	do {                                                                                             \
		if (!(got->f == want->f))                                                                \
			fail_msg("%s: " #f " is %.17g, expected %.17g", ctx, (double)got->f, (double)want->f); \
	} while (0)
	SAME_D(latency_ms);
	SAME_D(jitter_ms);
	SAME_D(jitter_dist);
	SAME_D(jitter_corr_pct);
	SAME_D(jitter_reorders);
	SAME_D(loss_pct);
	SAME_D(burst);
	SAME_D(ge);
	SAME_D(ge_p_pct);
	SAME_D(ge_r_pct);
	SAME_D(ge_bad_loss_pct);
	SAME_D(ge_good_loss_pct);
	SAME_D(dup_pct);
	SAME_D(dup_delay_ms);
	SAME_D(reorder_pct);
	SAME_D(reorder_gap);
	SAME_D(corrupt_pct);
	SAME_D(rate_kbit);
	SAME_D(queue_limit);
	SAME_D(mtu);
	SAME_D(blocked);
#undef SAME_D
}

/* A configuration with every field off its default, so that a setting that clears a field shows. */
static void busy_cfg(struct wire_link_cfg *c)
{
	wire_link_cfg_default(c);
	c->latency_ms = 7;
	c->jitter_ms = 3;
	c->jitter_dist = WIRE_DIST_PARETO;
	c->jitter_corr_pct = 10;
	c->jitter_reorders = true;
	c->loss_pct = 1;
	c->burst = 2;
	c->dup_pct = 1;
	c->dup_delay_ms = 2;
	c->reorder_pct = 1;
	c->reorder_gap = 3;
	c->corrupt_pct = 1;
	c->rate_kbit = 100;
	c->queue_limit = 10;
	c->mtu = 1000;
	c->blocked = true;
}

enum kind { D, U32, BOOL, DIST };

/* One key that sets one field: key=value must give field == want, and touch nothing else. */
struct single {
	const char *key, *value;
	size_t off;
	enum kind kind;
	double want;
	bool clears_ge; /* a loss setting replaces an explicit Gilbert-Elliott model */
};

#define F(field) offsetof(struct wire_link_cfg, field)

static const struct single singles[] = {
	{ "latency", "100", F(latency_ms), D, 100, false },
	{ "latency", "2s", F(latency_ms), D, 2000, false },
	{ "latency", "0.25", F(latency_ms), D, 0.25, false },
	{ "jitter", "12", F(jitter_ms), D, 12, false },
	{ "jitter", "500us", F(jitter_ms), D, 0.5, false },
	{ "jitter-dist", "uniform", F(jitter_dist), DIST, WIRE_DIST_UNIFORM, false },
	{ "jitter-dist", "normal", F(jitter_dist), DIST, WIRE_DIST_NORMAL, false },
	{ "jitter-dist", "pareto", F(jitter_dist), DIST, WIRE_DIST_PARETO, false },
	{ "jitter-corr", "25", F(jitter_corr_pct), D, 25, false },
	{ "jitter-corr", "99.9%", F(jitter_corr_pct), D, 99.9, false },
	{ "jitter-reorders", "false", F(jitter_reorders), BOOL, 0, false },
	{ "loss", "20", F(loss_pct), D, 20, true },
	{ "loss", "0.5%", F(loss_pct), D, 0.5, true },
	{ "burst", "4", F(burst), D, 4, true },
	{ "burst", "0", F(burst), D, 0, true },
	{ "dup", "3", F(dup_pct), D, 3, false },
	{ "dup-delay", "5", F(dup_delay_ms), D, 5, false },
	{ "dup-delay", "1s", F(dup_delay_ms), D, 1000, false },
	{ "reorder", "10", F(reorder_pct), D, 10, false },
	{ "reorder-gap", "5", F(reorder_gap), U32, 5, false },
	{ "corrupt", "0.1", F(corrupt_pct), D, 0.1, false },
	{ "rate", "512", F(rate_kbit), D, 512, false },
	{ "rate", "30mbit", F(rate_kbit), D, 30000, false },
	{ "rate", "0", F(rate_kbit), D, 0, false },
	{ "queue", "50", F(queue_limit), U32, 50, false },
	{ "mtu", "1500", F(mtu), U32, 1500, false },
	{ "mtu", "0", F(mtu), U32, 0, false },
	{ "blocked", "no", F(blocked), BOOL, 0, false },
};

/* Keys with their own tests below, which set more than one field. */
static const char *const multi_keys[] = { "ge", "preset" };

static void poke(struct wire_link_cfg *c, const struct single *s)
{
	char *p = (char *)c + s->off;
	switch (s->kind) {
	case D:
		*(double *)p = s->want;
		break;
	case U32:
		*(uint32_t *)p = (uint32_t)s->want;
		break;
	case BOOL:
		*(bool *)p = s->want != 0;
		break;
	case DIST:
		*(enum wire_dist *)p = (enum wire_dist)s->want;
		break;
	}
}

static void test_link_opts_every_key_sets_its_field_and_nothing_else(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof singles / sizeof singles[0]; i++) {
		const struct single *s = &singles[i];
		struct wire_link_cfg got, want;
		char ctx[96];
		snprintf(ctx, sizeof ctx, "%s=%s", s->key, s->value);
		/* From the defaults, and from a busy configuration with a GE model on. */
		for (int from_busy = 0; from_busy < 2; from_busy++) {
			if (from_busy) {
				busy_cfg(&got);
				got.ge = true;
				got.ge_p_pct = 1;
				got.ge_r_pct = 50;
				got.ge_bad_loss_pct = 90;
				got.ge_good_loss_pct = 0.5;
			} else {
				wire_link_cfg_default(&got);
			}
			want = got;
			poke(&want, s);
			if (s->clears_ge)
				want.ge = false;
			if (link_opt_set(&got, s->key, s->value, "--x", err, sizeof err) != 0)
				fail_msg("%s was refused: %s", ctx, err);
			assert_cfg_equal(&got, &want, ctx);
		}
		const char *field, *why;
		if (wire_link_cfg_validate(&got, &field, &why) != 0)
			fail_msg("%s: accepted, but %s %s", ctx, field, why);
	}
}

static void test_link_opts_bool_keys_turn_on_with_true(void **state)
{
	(void)state;
	struct wire_link_cfg c;
	wire_link_cfg_default(&c);
	assert_int_equal(link_opt_set(&c, "jitter-reorders", "true", "--jitter-reorders", err, sizeof err), 0);
	assert_true(c.jitter_reorders);
	assert_int_equal(link_opt_set(&c, "blocked", "on", "--blocked", err, sizeof err), 0);
	assert_true(c.blocked);
}

static void test_link_opts_every_key_in_the_table_is_tested(void **state)
{
	(void)state;
	size_t n = 0;
	for (const struct link_opt *o = link_opts; o->key; o++, n++) {
		bool found = false;
		for (size_t i = 0; i < sizeof singles / sizeof singles[0] && !found; i++)
			found = strcmp(singles[i].key, o->key) == 0;
		for (size_t i = 0; i < sizeof multi_keys / sizeof multi_keys[0] && !found; i++)
			found = strcmp(multi_keys[i], o->key) == 0;
		if (!found)
			fail_msg("link_opts[] has '%s', which no test sets", o->key);
		assert_non_null(o->arg);
		assert_non_null(o->help);
		assert_ptr_equal(link_opt_find(o->key), o);
	}
	assert_true(n >= 18);
	assert_null(link_opt_find("nosuch"));
	assert_null(link_opt_find(""));
	assert_null(link_opt_find("Latency"));
}

/* A bad value for each key: refused, cfg untouched, and the message starts with the source. */
static void test_link_opts_bad_value_leaves_cfg_unchanged_and_names_the_source(void **state)
{
	(void)state;
	static const struct {
		const char *key, *value;
	} bad[] = {
		{ "preset", "nosuch" },	  { "preset", "" },		{ "latency", "70000" },	  { "latency", "abc" },
		{ "latency", "-1" },	  { "latency", "5 ms" },	{ "jitter", "60001" },	  { "jitter", "nan" },
		{ "jitter-dist", "gaussian" }, { "jitter-dist", "" },	{ "jitter-corr", "100" }, { "jitter-corr", "-5" },
		{ "jitter-reorders", "maybe" }, { "jitter-reorders", "" }, { "loss", "120" },	  { "loss", "inf" },
		{ "loss", "5x" },	  { "burst", "0.5" },		{ "burst", "-1" },	  { "burst", "1e7" },
		{ "ge", "" },		  { "ge", "200" },		{ "ge", "1,2,3,4,5" },	  { "ge", "1,,100" },
		{ "ge", "1/20/" },	  { "ge", "x" },		{ "dup", "abc" },	  { "dup", "101" },
		{ "dup-delay", "2000" },  { "dup-delay", "2s" },	{ "reorder", "101" },	  { "reorder", "-0.1" },
		{ "reorder-gap", "1.5" }, { "reorder-gap", "-1" },	{ "reorder-gap", "1000001" },
		{ "corrupt", "nan" },	  { "corrupt", "0x1p1" },	{ "rate", "0.5" },	  { "rate", "10furlongs" },
		{ "queue", "0" },	  { "queue", "1000001" },	{ "mtu", "20" },	  { "mtu", "65564" },
		{ "blocked", "2" },	  { "blocked", "blocked" },
	};
	const char *what = "file.ini:12: key";
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct wire_link_cfg c, before;
		busy_cfg(&c);
		before = c;
		char ctx[96];
		snprintf(ctx, sizeof ctx, "%s=%s", bad[i].key, bad[i].value);
		err[0] = '\0';
		if (link_opt_set(&c, bad[i].key, bad[i].value, what, err, sizeof err) != -1)
			fail_msg("%s was accepted", ctx);
		assert_cfg_equal(&c, &before, ctx);
		if (strncmp(err, what, strlen(what)) != 0)
			fail_msg("%s: the error \"%s\" does not start with \"%s\"", ctx, err, what);
	}
}

static void test_link_opts_unknown_key_is_refused_by_name(void **state)
{
	(void)state;
	struct wire_link_cfg c, before;
	busy_cfg(&c);
	before = c;
	assert_int_equal(link_opt_set(&c, "latancy", "5", "--link 0->1", err, sizeof err), -1);
	assert_cfg_equal(&c, &before, "latancy");
	assert_non_null(strstr(err, "--link 0->1"));
	assert_non_null(strstr(err, "latancy"));
	assert_int_equal(link_opt_set(&c, "", "5", "--link 0->1", err, sizeof err), -1);
	assert_cfg_equal(&c, &before, "empty key");
}

static void test_link_opts_ge_sets_the_four_netem_parameters(void **state)
{
	(void)state;
	static const char *const forms[] = { "1,20,100,0", "1/20/100/0", "1%,20%,100%,0%" };
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		struct wire_link_cfg c;
		wire_link_cfg_default(&c);
		assert_int_equal(link_opt_set(&c, "ge", forms[i], "--ge", err, sizeof err), 0);
		assert_true(c.ge);
		assert_true(c.ge_p_pct == 1);
		assert_true(c.ge_r_pct == 20);
		assert_true(c.ge_bad_loss_pct == 100);
		assert_true(c.ge_good_loss_pct == 0);
	}
	struct wire_link_cfg c;
	wire_link_cfg_default(&c);
	assert_int_equal(link_opt_set(&c, "ge", "2,30,80,0.5", "--ge", err, sizeof err), 0);
	assert_true(c.ge_p_pct == 2 && c.ge_r_pct == 30 && c.ge_bad_loss_pct == 80 && c.ge_good_loss_pct == 0.5);
}

static void test_link_opts_ge_fills_omitted_parameters_with_netem_defaults(void **state)
{
	(void)state;
	struct wire_link_cfg c;
	wire_link_cfg_default(&c);
	/* netem: r = 1 - p, 1-h = 100%, 1-k = 0%. */
	assert_int_equal(link_opt_set(&c, "ge", "5", "--ge", err, sizeof err), 0);
	assert_true(c.ge);
	assert_true(c.ge_p_pct == 5 && c.ge_r_pct == 95 && c.ge_bad_loss_pct == 100 && c.ge_good_loss_pct == 0);
	assert_int_equal(link_opt_set(&c, "ge", "5,10", "--ge", err, sizeof err), 0);
	assert_true(c.ge_p_pct == 5 && c.ge_r_pct == 10 && c.ge_bad_loss_pct == 100 && c.ge_good_loss_pct == 0);
	const char *field, *why;
	assert_int_equal(wire_link_cfg_validate(&c, &field, &why), 0);
}

static void test_link_opts_preset_broadband_gives_32ms_12ms_and_2pct(void **state)
{
	(void)state;
	struct wire_link_cfg c, want;
	busy_cfg(&c);
	c.ge = true;
	want = c;
	want.latency_ms = 32;
	want.jitter_ms = 12;
	want.loss_pct = 2;
	want.rate_kbit = 0;
	want.ge = false;
	assert_int_equal(link_opt_set(&c, "preset", "broadband", "--preset", err, sizeof err), 0);
	assert_cfg_equal(&c, &want, "preset=broadband");
}

/* The presets that DESIGN.md promises, by name. */
static void test_link_opts_every_preset_has_the_documented_figures(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		double latency_ms, jitter_ms, loss_pct, rate_kbit;
	} want[] = {
		{ "fiber", 10, 1, 0, 0 },	{ "cable", 25, 5, 0, 0 },   { "dsl", 30, 10, 0, 0 },
		{ "broadband", 32, 12, 2, 0 }, { "satellite", 100, 10, 0, 0 }, { "congested", 50, 50, 1, 0 },
		{ "3g", 360, 30, 7, 0 },	{ "4g", 100, 20, 4, 0 },    { "5g", 30, 20, 4, 0 },
		{ "wifi", 40, 0, 0.2, 30000 },
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		struct wire_link_cfg c;
		wire_link_cfg_default(&c);
		if (link_opt_set(&c, "preset", want[i].name, "--preset", err, sizeof err) != 0)
			fail_msg("preset %s: %s", want[i].name, err);
		if (c.latency_ms != want[i].latency_ms || c.jitter_ms != want[i].jitter_ms ||
		    c.loss_pct != want[i].loss_pct || c.rate_kbit != want[i].rate_kbit)
			fail_msg("preset %s is %g±%g ms, %g%%, %g kbit/s", want[i].name, c.latency_ms, c.jitter_ms,
				 c.loss_pct, c.rate_kbit);
		const char *field, *why;
		assert_int_equal(wire_link_cfg_validate(&c, &field, &why), 0);
	}
	/* And every preset in the table applies and validates. */
	for (const struct wire_preset *p = wire_presets; p->name; p++) {
		struct wire_link_cfg c;
		const char *field, *why;
		wire_link_cfg_default(&c);
		assert_int_equal(link_opt_set(&c, "preset", p->name, "--preset", err, sizeof err), 0);
		assert_int_equal(wire_link_cfg_validate(&c, &field, &why), 0);
	}
}

static void test_link_opts_unknown_preset_lists_the_known_ones(void **state)
{
	(void)state;
	struct wire_link_cfg c;
	wire_link_cfg_default(&c);
	assert_int_equal(link_opt_set(&c, "preset", "nosuch", "--preset", err, sizeof err), -1);
	assert_non_null(strstr(err, "nosuch"));
	assert_non_null(strstr(err, "broadband"));
	assert_non_null(strstr(err, "wifi"));
}

static void test_link_opts_list_sets_every_item(void **state)
{
	(void)state;
	struct wire_link_cfg c, want;
	busy_cfg(&c);
	want = c;
	want.loss_pct = 20;
	want.latency_ms = 100;
	assert_int_equal(link_opt_set_list(&c, "loss=20,latency=100", "--link 0->1", err, sizeof err), 0);
	assert_cfg_equal(&c, &want, "loss=20,latency=100");
}

static void test_link_opts_list_applies_in_order_so_the_last_value_wins(void **state)
{
	(void)state;
	struct wire_link_cfg c;
	wire_link_cfg_default(&c);
	assert_int_equal(link_opt_set_list(&c, "loss=20,loss=3", "--link *", err, sizeof err), 0);
	assert_true(c.loss_pct == 3);
}

static void test_link_opts_list_is_all_or_nothing(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"loss=20,latency=70000", "loss=20,bogus=1", "loss=20,latency", "loss=20,", ",loss=20",
		"loss=20,,latency=5",	 "",		    "loss=20,=5",      "loss=20,preset=nosuch",
		"loss=20,ge=1,20",	 "loss=20 ,latency=5",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct wire_link_cfg c, before;
		busy_cfg(&c);
		before = c;
		err[0] = '\0';
		if (link_opt_set_list(&c, bad[i], "--link 0->1", err, sizeof err) != -1)
			fail_msg("'%s' was accepted", bad[i]);
		assert_cfg_equal(&c, &before, bad[i]);
		if (strncmp(err, "--link 0->1", 11) != 0)
			fail_msg("'%s': the error \"%s\" does not name the source", bad[i], err);
	}
}

static void test_link_opts_list_error_names_the_source_and_the_key(void **state)
{
	(void)state;
	struct wire_link_cfg c;
	wire_link_cfg_default(&c);
	assert_int_equal(link_opt_set_list(&c, "loss=20,latency=70000", "--link 0->1", err, sizeof err), -1);
	assert_non_null(strstr(err, "--link 0->1"));
	assert_non_null(strstr(err, "latency"));
	assert_non_null(strstr(err, "70000"));
}

static void test_link_opts_list_ge_takes_slashes(void **state)
{
	(void)state;
	struct wire_link_cfg c;
	wire_link_cfg_default(&c);
	assert_int_equal(link_opt_set_list(&c, "ge=1/20/100/0", "--link 0->1", err, sizeof err), 0);
	assert_true(c.ge);
	assert_true(c.ge_p_pct == 1 && c.ge_r_pct == 20 && c.ge_bad_loss_pct == 100 && c.ge_good_loss_pct == 0);
}

static void test_link_opts_list_preset_is_the_base_wherever_it_appears(void **state)
{
	(void)state;
	struct wire_link_cfg c;
	wire_link_cfg_default(&c);
	assert_int_equal(link_opt_set_list(&c, "loss=20,preset=broadband", "--link 0->1", err, sizeof err), 0);
	assert_true(c.loss_pct == 20);
	assert_true(c.latency_ms == 32 && c.jitter_ms == 12);

	wire_link_cfg_default(&c);
	assert_int_equal(link_opt_set_list(&c, "ge=1/20/100/0,preset=3g", "--link 0->1", err, sizeof err), 0);
	assert_true(c.ge);
	assert_true(c.latency_ms == 360);
}

static void test_link_opts_preset_replaces_an_explicit_ge_model(void **state)
{
	(void)state;
	struct wire_link_cfg c;
	wire_link_cfg_default(&c);
	assert_int_equal(link_opt_set(&c, "ge", "1,20,100,0", "--ge", err, sizeof err), 0);
	assert_int_equal(link_opt_set(&c, "preset", "3g", "--link 0->1: preset", err, sizeof err), 0);
	assert_false(c.ge);
	assert_true(c.loss_pct == 7);
}

static void test_link_opts_help_lists_every_key_and_every_preset(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	link_opts_print_help(f);
	assert_int_equal(fclose(f), 0);
	for (const struct link_opt *o = link_opts; o->key; o++) {
		char flag[64];
		snprintf(flag, sizeof flag, "--%s %s", o->key, o->arg);
		if (!strstr(text, flag))
			fail_msg("--help lacks '%s'", flag);
	}
	for (const struct wire_preset *p = wire_presets; p->name; p++) {
		char line[64];
		snprintf(line, sizeof line, "  %s ", p->name);
		if (!strstr(text, line))
			fail_msg("--help lacks the preset '%s'", p->name);
	}
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_link_opts_every_key_sets_its_field_and_nothing_else),
		cmocka_unit_test(test_link_opts_bool_keys_turn_on_with_true),
		cmocka_unit_test(test_link_opts_every_key_in_the_table_is_tested),
		cmocka_unit_test(test_link_opts_bad_value_leaves_cfg_unchanged_and_names_the_source),
		cmocka_unit_test(test_link_opts_unknown_key_is_refused_by_name),
		cmocka_unit_test(test_link_opts_ge_sets_the_four_netem_parameters),
		cmocka_unit_test(test_link_opts_ge_fills_omitted_parameters_with_netem_defaults),
		cmocka_unit_test(test_link_opts_preset_broadband_gives_32ms_12ms_and_2pct),
		cmocka_unit_test(test_link_opts_every_preset_has_the_documented_figures),
		cmocka_unit_test(test_link_opts_unknown_preset_lists_the_known_ones),
		cmocka_unit_test(test_link_opts_list_sets_every_item),
		cmocka_unit_test(test_link_opts_list_applies_in_order_so_the_last_value_wins),
		cmocka_unit_test(test_link_opts_list_is_all_or_nothing),
		cmocka_unit_test(test_link_opts_list_error_names_the_source_and_the_key),
		cmocka_unit_test(test_link_opts_list_ge_takes_slashes),
		cmocka_unit_test(test_link_opts_list_preset_is_the_base_wherever_it_appears),
		cmocka_unit_test(test_link_opts_preset_replaces_an_explicit_ge_model),
		cmocka_unit_test(test_link_opts_help_lists_every_key_and_every_preset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
