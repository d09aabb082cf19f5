// SPDX-License-Identifier: MIT
// Scenario files: parsed with inih, checked against the peer count, resolved per link, written back out.
#include "harness/scenario.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "wire/parse.h"
#include "wire/link_opts.h"
#include "wire/preset.h"

/* A scenario is a few dozen lines; anything this big is the wrong file. */
#define SCN_FILE_MAX (1u << 20)
/* The longest line we take. inih's own line buffer is shorter (see next_line). */
#define SCN_LINE_MAX 4096
/* Keys of [link *] are kept until the end of the file, once each: at most one per setting. */
#define LINK_ALL_MAX 32
/* Stands in for a value too long for inih's line buffer; the handler swaps the real one back in. */
#define LONG_VALUE_MARK "\x1a"

enum sect_kind { SECT_NONE, SECT_SESSION, SECT_LINK_ALL, SECT_LINK_ONE, SECT_AT };

static const char *const session_keys[] = { "peers", "netcode", "duration", "seed", "preset", "input-delay",
					    "disconnect-timeout", "peer-cmd" };
enum { SK_PEERS, SK_NETCODE, SK_DURATION, SK_SEED, SK_PRESET, SK_INPUT_DELAY, SK_DISCONNECT, SK_PEER_CMD, SK_COUNT };

/*
 * The state of one scn_load(). Lines reach inih through next_line(), which
 * counts them: inih calls the reader once per line and the handler (if at
 * all) before reading the next, so ld->line is the handler's line number,
 * which Debian's inih (built without INI_HANDLER_LINENO) does not pass.
 */
struct load {
	struct scenario *s;          /* the copy being built; the caller's is replaced only on success */
	const char *path;
	char *buf;                   /* the whole file, owned */
	size_t len, pos;
	int line;                    /* lines handed to inih so far */

	int err_line;                /* the first error's line, 0 for none; msg holds it */
	char msg[1024];

	/* The current section, parsed by next_line() from its header. */
	enum sect_kind sect;
	int sect_line;
	char sect_name[64];
	int from, to;                /* SECT_LINK_ONE */
	bool both;
	double at_s;                 /* SECT_AT */
	uint32_t sect_ov_start;      /* SECT_LINK_ONE: its first entry in s->overrides */
	uint32_t sect_presets;       /* SECT_LINK_ONE: presets moved to the front so far */

	int long_line;               /* the line whose value is in long_value */
	char long_value[SCN_LINE_MAX + 1];

	int session_line[SK_COUNT];  /* where each [session] key was set, 0 if not */
	char preset[32];             /* the base preset of [session] or [link *] */
	int preset_line;
	struct {
		char key[SCN_KEY_MAX];
		char value[SCN_VALUE_MAX];
		int line;
	} all[LINK_ALL_MAX];         /* [link *] keys other than preset, in file order */
	uint32_t nall;
	uint32_t ev_seq[SCN_MAX_EVENTS]; /* sort key within a time, parallel to s->events */
};

static int failf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int failf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Records an error at the current line, unless there already is one. Returns -1. */
static int load_fail(struct load *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int load_fail(struct load *ld, const char *fmt, ...)
{
	if (ld->err_line)
		return -1;
	int n = snprintf(ld->msg, sizeof ld->msg, "%s:%d: ", ld->path, ld->line);
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof ld->msg)
		vsnprintf(ld->msg + n, sizeof ld->msg - (size_t)n, fmt, ap);
	va_end(ap);
	ld->err_line = ld->line;
	return -1;
}

/* "file: " or "": the scenario as a whole, for messages. */
static const char *where(const struct scenario *s, char *buf, size_t len)
{
	if (s->path[0])
		snprintf(buf, len, "%s: ", s->path);
	else
		buf[0] = '\0';
	return buf;
}

/* "file:line: ", or "command line: " for an entry with line 0 (added by a flag), for messages. */
static const char *where_entry(const struct scenario *s, int line, char *buf, size_t len)
{
	if (line <= 0)
		snprintf(buf, len, "command line: ");
	else if (s->path[0])
		snprintf(buf, len, "%s:%d: ", s->path, line);
	else
		snprintf(buf, len, "line %d: ", line);
	return buf;
}

static void spec_name(int from, int to, bool both, char *buf, size_t len)
{
	if (from < 0 && to < 0)
		snprintf(buf, len, "*");
	else
		snprintf(buf, len, "%d%s%d", from, both ? "<->" : "->", to);
}

const char *scn_netcode_name(enum scn_netcode n)
{
	return n == SCN_LOCKSTEP ? "lockstep" : "rollback";
}

void scn_default(struct scenario *s)
{
	memset(s, 0, sizeof *s);
	s->peers = 4;
	s->netcode = SCN_ROLLBACK;
	s->duration_s = 30;
	s->input_delay = 2;
	s->disconnect_s = SCN_DEFAULT_DISCONNECT_S;
	strcpy(s->preset, "broadband");
	wire_link_cfg_default(&s->link);
	wire_preset_apply(wire_preset_find("broadband"), &s->link);
}

bool scn_setting_covers(const struct scn_setting *set, uint32_t from, uint32_t to)
{
#define SCN_MATCH(a, b) ((set->from < 0 || (uint32_t)set->from == (a)) && (set->to < 0 || (uint32_t)set->to == (b)))
	return SCN_MATCH(from, to) || (set->both && SCN_MATCH(to, from));
#undef SCN_MATCH
}

int scn_setting_apply(const struct scenario *s, const struct scn_setting *set, struct wire_link_cfg *cfg, char *err,
		      size_t errlen)
{
	char at[320], what[360];
	snprintf(what, sizeof what, "%s%s", where_entry(s, set->line, at, sizeof at), set->key);
	return link_opt_set(cfg, set->key, set->value, what, err, errlen);
}

/* ---- Reading lines for inih ---- */

static bool is_blank(char c)
{
	return isspace((unsigned char)c) != 0;
}

/* Copies n bytes and a newline into inih's buffer; the caller made sure they fit. */
static char *emit(char *str, const char *p, size_t n)
{
	memcpy(str, p, n);
	str[n] = '\n';
	str[n + 1] = '\0';
	return str;
}

/* Parses a section header's name (between the brackets) into ld's current section. */
static int parse_section(struct load *ld, const char *p, size_t n)
{
	while (n && is_blank(*p))
		p++, n--;
	while (n && is_blank(p[n - 1]))
		n--;
	if (n >= sizeof ld->sect_name)
		return load_fail(ld, "[%.*s...]: is not a section: the name is too long", 40, p);
	memcpy(ld->sect_name, p, n);
	ld->sect_name[n] = '\0';
	const char *name = ld->sect_name;
	char what[400];
	snprintf(what, sizeof what, "%s:%d: [%s]", ld->path, ld->line, name);
	ld->sect_line = ld->line;
	ld->sect = SECT_NONE;

	if (strcmp(name, "session") == 0) {
		ld->sect = SECT_SESSION;
	} else if (strncmp(name, "link", 4) == 0 && is_blank(name[4])) {
		int from, to, both;
		/* Here only the syntax and the ceiling of SCN_MAX_PEERS; scn_check() knows the final count. */
		if (parse_link_spec(what, name + 5, SCN_MAX_PEERS, &from, &to, &both, ld->msg, sizeof ld->msg) < 0) {
			ld->err_line = ld->line;
			return -1;
		}
		ld->sect = from < 0 ? SECT_LINK_ALL : SECT_LINK_ONE;
		ld->from = from;
		ld->to = to;
		ld->both = both != 0;
		ld->sect_ov_start = ld->s->noverrides;
		ld->sect_presets = 0;
	} else if (strncmp(name, "at", 2) == 0 && is_blank(name[2])) {
		const char *t = name + 3;
		while (is_blank(*t))
			t++;
		if (parse_seconds(what, t, SCN_MAX_DURATION_S, &ld->at_s, ld->msg, sizeof ld->msg) < 0) {
			ld->err_line = ld->line;
			return -1;
		}
		ld->sect = SECT_AT;
	} else if (strcmp(name, "link") == 0 || strcmp(name, "at") == 0) {
		return load_fail(ld, "[%s]: needs %s", name,
				 name[0] == 'l' ? "a link: [link *], [link I->J] or [link I<->J]"
						: "a time in seconds: [at 10], [at 2.5], [at 500ms]");
	} else {
		return load_fail(ld,
				 "[%s]: unknown section; the sections are [session], [link *], [link I->J], "
				 "[link I<->J] and [at SECONDS]",
				 name);
	}
	return 0;
}

/*
 * inih's reader: hands over one physical line per call, so that line numbers
 * agree with ours. Along the way it strips leading whitespace (inih would
 * take an indented line for a continuation of the previous value), parses
 * section headers itself (to report a bad one at its own line, even when no
 * key follows it), and passes a value too long for inih's buffer (a long
 * peer-cmd) through long_value. Returns NULL at the end or after an error.
 */
static char *next_line(char *str, int num, void *stream)
{
	struct load *ld = stream;
	if (ld->err_line || ld->pos >= ld->len)
		return NULL;
	if (num < 16) {
		load_fail(ld, "inih's line buffer is too small (%d bytes)", num);
		return NULL;
	}
	const char *p = ld->buf + ld->pos, *nl = memchr(p, '\n', ld->len - ld->pos);
	size_t n = nl ? (size_t)(nl - p) : ld->len - ld->pos;
	ld->pos += n + (nl != NULL);
	ld->line++;
	if (ld->line == 1 && n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3, n -= 3; /* a UTF-8 byte order mark */
	if (memchr(p, '\0', n)) {
		load_fail(ld, "contains a NUL byte; is this a text file?");
		return NULL;
	}
	if (n > SCN_LINE_MAX) {
		load_fail(ld, "the line is longer than %d characters", SCN_LINE_MAX);
		return NULL;
	}
	while (n && is_blank(*p))
		p++, n--;
	while (n && is_blank(p[n - 1]))
		n--;
	size_t room = (size_t)num - 2; /* for the newline and the NUL */

	if (n == 0 || *p == ';' || *p == '#')
		return emit(str, "", 0);

	if (*p == '[') {
		const char *close = memchr(p, ']', n);
		if (!close) {
			load_fail(ld, "'%.*s': a section header needs a closing ']'", (int)(n < 60 ? n : 60), p);
			return NULL;
		}
		const char *rest = close + 1, *end = p + n;
		while (rest < end && is_blank(*rest))
			rest++;
		if (rest < end && *rest != ';' && *rest != '#') {
			load_fail(ld, "'%.*s': nothing but a comment may follow a section header", (int)(n < 60 ? n : 60),
				  p);
			return NULL;
		}
		if (parse_section(ld, p + 1, (size_t)(close - p - 1)) < 0)
			return NULL;
		return emit(str, "[s]", 3);
	}

	if (n <= room)
		return emit(str, p, n);

	/* Too long for inih: find the separator as inih does ('=' or ':', unless a " ;" comment comes first). */
	size_t k;
	bool was_space = false;
	for (k = 0; k < n; k++) {
		if (p[k] == '=' || p[k] == ':')
			break;
		if (was_space && p[k] == ';') {
			k = n;
			break;
		}
		was_space = is_blank(p[k]);
	}
	if (k == n)
		return emit(str, "?", 1); /* no separator: inih reports the syntax error */
	if (k + 1 + strlen(LONG_VALUE_MARK) > room) {
		load_fail(ld, "'%.*s...': the key is too long", 40, p);
		return NULL;
	}
	/* The value as inih would make it: cut at an inline " ;" comment, then trimmed. */
	const char *v = p + k + 1;
	size_t vn = n - k - 1;
	was_space = false;
	for (size_t i = 0; i < vn; i++) {
		if (was_space && v[i] == ';') {
			vn = i;
			break;
		}
		was_space = is_blank(v[i]);
	}
	while (vn && is_blank(*v))
		v++, vn--;
	while (vn && is_blank(v[vn - 1]))
		vn--;
	memcpy(ld->long_value, v, vn);
	ld->long_value[vn] = '\0';
	ld->long_line = ld->line;
	memcpy(str, p, k);
	strcpy(str + k, "=" LONG_VALUE_MARK "\n");
	return str;
}

/* ---- Keys ---- */

/* Checks a link setting's value on a scratch configuration, so that a bad one fails at its own line. */
static int check_setting(struct load *ld, const char *key, const char *value, const char *what)
{
	struct wire_link_cfg scratch;
	wire_link_cfg_default(&scratch);
	if (link_opt_set(&scratch, key, value, what, ld->msg, sizeof ld->msg) < 0) {
		ld->err_line = ld->line;
		return -1;
	}
	return 0;
}

/* Records the base preset of [session] or [link *]: one per file, applied by finish() before the other keys. */
static int set_base_preset(struct load *ld, const char *name, const char *value, const char *what)
{
	if (ld->preset_line)
		return load_fail(ld, "%s: a preset is already set at line %d; a file has one base preset", name,
				 ld->preset_line);
	if (check_setting(ld, "preset", value, what) < 0)
		return -1;
	snprintf(ld->preset, sizeof ld->preset, "%s", value);
	ld->preset_line = ld->line;
	return 0;
}

static int on_session(struct load *ld, const char *name, const char *value, const char *what)
{
	struct scenario *s = ld->s;
	int k;
	for (k = 0; k < SK_COUNT; k++)
		if (strcmp(name, session_keys[k]) == 0)
			break;
	if (k == SK_COUNT)
		return load_fail(ld,
				 "%s: unknown key in [session]; the keys are peers, netcode, duration, seed, preset, "
				 "input-delay, disconnect-timeout and peer-cmd",
				 name);
	if (ld->session_line[k])
		return load_fail(ld, "%s: already set at line %d", name, ld->session_line[k]);
	if (k != SK_PEER_CMD && strlen(value) >= SCN_VALUE_MAX)
		return load_fail(ld, "%s: the value is longer than %d characters", name, SCN_VALUE_MAX - 1);

	char *err = ld->msg;
	size_t errlen = sizeof ld->msg;
	int r = 0;
	switch (k) {
	case SK_PEERS:
		r = parse_u32(what, value, SCN_MIN_PEERS, SCN_MAX_PEERS, &s->peers, err, errlen);
		break;
	case SK_NETCODE:
		if (strcmp(value, "rollback") == 0)
			s->netcode = SCN_ROLLBACK;
		else if (strcmp(value, "lockstep") == 0)
			s->netcode = SCN_LOCKSTEP;
		else
			r = failf(err, errlen, "%s: '%s' is not rollback or lockstep", what, value);
		break;
	case SK_DURATION: {
		double d;
		r = parse_seconds(what, value, SCN_MAX_DURATION_S, &d, err, errlen);
		if (r == 0 && d <= 0)
			r = failf(err, errlen, "%s: must be more than 0 seconds", what);
		if (r == 0)
			s->duration_s = d;
		break;
	}
	case SK_SEED:
		r = parse_u64(what, value, 0, UINT64_MAX, &s->seed, err, errlen);
		if (r == 0)
			s->have_seed = true;
		break;
	case SK_PRESET:
		r = set_base_preset(ld, name, value, what);
		break;
	case SK_INPUT_DELAY:
		r = parse_u32(what, value, 0, SCN_MAX_INPUT_DELAY, &s->input_delay, err, errlen);
		break;
	case SK_DISCONNECT: {
		double d;
		r = parse_seconds(what, value, SCN_MAX_DISCONNECT_S, &d, err, errlen);
		if (r == 0 && d < 1)
			r = failf(err, errlen, "%s: must be at least 1 second", what);
		if (r == 0)
			s->disconnect_s = d;
		break;
	}
	case SK_PEER_CMD:
		if (strlen(value) >= sizeof s->peer_cmd)
			r = failf(err, errlen, "%s: the command is longer than %zu characters", what,
				  sizeof s->peer_cmd - 1);
		else
			strcpy(s->peer_cmd, value);
		break;
	}
	if (r < 0) {
		ld->err_line = ld->line;
		return -1;
	}
	ld->session_line[k] = ld->line;
	return 0;
}

static int on_link_all(struct load *ld, const char *name, const char *value, const char *what)
{
	if (strcmp(name, "preset") == 0)
		return set_base_preset(ld, name, value, what);
	if (check_setting(ld, name, value, what) < 0)
		return -1;
	for (uint32_t k = 0; k < ld->nall; k++)
		if (strcmp(ld->all[k].key, name) == 0)
			return load_fail(ld, "%s: already set for every link at line %d", name, ld->all[k].line);
	if (ld->nall == LINK_ALL_MAX)
		return load_fail(ld, "%s: too many settings in [link *]", name);
	/* Applied at the end of the file, over the preset: see finish(). */
	snprintf(ld->all[ld->nall].key, sizeof ld->all[0].key, "%s", name);
	snprintf(ld->all[ld->nall].value, sizeof ld->all[0].value, "%s", value);
	ld->all[ld->nall].line = ld->line;
	ld->nall++;
	return 0;
}

static int on_override(struct load *ld, const char *name, const char *value, const char *what)
{
	struct scenario *s = ld->s;
	if (check_setting(ld, name, value, what) < 0)
		return -1;
	for (uint32_t k = ld->sect_ov_start; k < s->noverrides; k++)
		if (strcmp(s->overrides[k].key, name) == 0)
			return load_fail(ld, "%s: already set in this section at line %d", name, s->overrides[k].line);
	if (s->noverrides == SCN_MAX_OVERRIDES)
		return load_fail(ld, "%s: more than %d link overrides in this scenario", name, SCN_MAX_OVERRIDES);
	/* A preset is the base of its section: it goes before the section's other keys. */
	uint32_t at = strcmp(name, "preset") == 0 ? ld->sect_ov_start + ld->sect_presets++ : s->noverrides;
	memmove(&s->overrides[at + 1], &s->overrides[at], sizeof *s->overrides * (s->noverrides - at));
	struct scn_setting *o = &s->overrides[at];
	memset(o, 0, sizeof *o);
	o->from = ld->from;
	o->to = ld->to;
	o->both = ld->both;
	snprintf(o->key, sizeof o->key, "%s", name);
	snprintf(o->value, sizeof o->value, "%s", value);
	o->line = ld->line;
	s->noverrides++;
	return 0;
}

/*
 * Inserts ev keeping s->events sorted by (time, seq). seq is the line, or for
 * a preset its section's header line, so that within a section a preset
 * comes first and otherwise file order holds. Events already in s before
 * this load have seq 0.
 */
static int add_event(struct load *ld, const struct scn_event *ev, uint32_t seq, const char *name)
{
	struct scenario *s = ld->s;
	if (s->nevents == SCN_MAX_EVENTS)
		return load_fail(ld, "%s: more than %d timeline events in this scenario", name, SCN_MAX_EVENTS);
	uint32_t k = s->nevents;
	while (k > 0 && (s->events[k - 1].at_s > ev->at_s ||
			 (s->events[k - 1].at_s == ev->at_s && ld->ev_seq[k - 1] > seq)))
		k--;
	memmove(&s->events[k + 1], &s->events[k], sizeof *s->events * (s->nevents - k));
	memmove(&ld->ev_seq[k + 1], &ld->ev_seq[k], sizeof *ld->ev_seq * (s->nevents - k));
	s->events[k] = *ev;
	ld->ev_seq[k] = seq;
	s->nevents++;
	return 0;
}

static int on_at(struct load *ld, const char *name, const char *value, const char *what)
{
	struct scn_event ev;
	memset(&ev, 0, sizeof ev);
	ev.at_s = ld->at_s;
	ev.line = ld->line;
	uint32_t seq = (uint32_t)ld->line;

	/* "I->J setting": the link, then the setting after the last space. */
	const char *sp = NULL;
	for (const char *c = name; *c; c++)
		if (is_blank(*c))
			sp = c;
	if (sp || link_opt_find(name)) {
		const char *key = sp ? sp + 1 : name;
		int from = -1, to = -1, both = 1;
		if (sp) {
			char spec[64];
			size_t n = (size_t)(sp - name);
			if (n >= sizeof spec)
				return load_fail(ld, "%s: is not 'I->J setting'", name);
			memcpy(spec, name, n);
			spec[n] = '\0';
			if (parse_link_spec(what, spec, SCN_MAX_PEERS, &from, &to, &both, ld->msg, sizeof ld->msg) <
			    0) {
				ld->err_line = ld->line;
				return -1;
			}
		}
		if (strlen(key) >= SCN_KEY_MAX || !link_opt_find(key))
			return load_fail(ld, "%s: unknown link setting '%s'", name, key);
		if (check_setting(ld, key, value, what) < 0)
			return -1;
		ev.kind = SCN_EV_SET_LINK;
		ev.set.from = from;
		ev.set.to = to;
		ev.set.both = both != 0;
		snprintf(ev.set.key, sizeof ev.set.key, "%s", key);
		snprintf(ev.set.value, sizeof ev.set.value, "%s", value);
		ev.set.line = ld->line;
		if (strcmp(key, "preset") == 0)
			seq = (uint32_t)ld->sect_line;
	} else if (strcmp(name, "partition") == 0) {
		/* The groups must cover every peer, so they are checked against the final count in scn_check(). */
		ev.kind = SCN_EV_PARTITION;
		snprintf(ev.groups, sizeof ev.groups, "%s", value);
	} else if (strcmp(name, "heal") == 0) {
		if (strcmp(value, "all") != 0)
			return load_fail(ld, "%s: '%s' is not 'all'; a heal ends every partition", name, value);
		ev.kind = SCN_EV_HEAL;
	} else if (strcmp(name, "kill") == 0 || strcmp(name, "restart") == 0 || strcmp(name, "desync") == 0) {
		ev.kind = name[0] == 'k' ? SCN_EV_KILL : name[0] == 'r' ? SCN_EV_RESTART : SCN_EV_DESYNC;
		if (parse_u32(what, value, 0, SCN_MAX_PEERS - 1, &ev.peer, ld->msg, sizeof ld->msg) < 0) {
			ld->err_line = ld->line;
			return -1;
		}
	} else {
		return load_fail(ld,
				 "%s: unknown key in [at]; use a link setting (latency = 600), 'I->J setting', "
				 "partition, heal, kill, restart or desync",
				 name);
	}
	return add_event(ld, &ev, seq, name);
}

/* Routes a key to its section's parser. Returns 0, or -1 with the error recorded in ld. */
static int on_section_key(struct load *ld, const char *name, const char *value, const char *what)
{
	switch (ld->sect) {
	case SECT_SESSION:
		return on_session(ld, name, value, what);
	case SECT_LINK_ALL:
		return on_link_all(ld, name, value, what);
	case SECT_LINK_ONE:
		return on_override(ld, name, value, what);
	case SECT_AT:
		return on_at(ld, name, value, what);
	case SECT_NONE:
		break;
	}
	return load_fail(ld, "%s: is outside any section; put it under [session], [link ...] or [at SECONDS]", name);
}

/* inih's handler: 1 to go on, 0 on an error (recorded in ld, which then stops the reader). */
static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct load *ld = user;
	(void)section; /* next_line() parsed the header already */
	if (ld->err_line)
		return 0;
	if (ld->long_line == ld->line && strcmp(value, LONG_VALUE_MARK) == 0)
		value = ld->long_value;
	char what[400];
	snprintf(what, sizeof what, "%s:%d: %s", ld->path, ld->line, name);
	int r;
	if (!*name)
		r = load_fail(ld, "a key is missing before '='");
	else if (ld->sect != SECT_SESSION && strlen(value) >= SCN_VALUE_MAX)
		r = load_fail(ld, "%s: the value is longer than %d characters", name, SCN_VALUE_MAX - 1);
	else
		r = on_section_key(ld, name, value, what);
	return r == 0;
}

/* After the whole file: the base preset, then the [link *] keys over it in file order. */
static int finish(struct load *ld)
{
	struct scenario *s = ld->s;
	char what[400];
	if (ld->preset_line) {
		snprintf(what, sizeof what, "%s:%d: preset", ld->path, ld->preset_line);
		if (link_opt_set(&s->link, "preset", ld->preset, what, ld->msg, sizeof ld->msg) < 0)
			return -1;
		snprintf(s->preset, sizeof s->preset, "%s", ld->preset);
	}
	for (uint32_t k = 0; k < ld->nall; k++) {
		snprintf(what, sizeof what, "%s:%d: %s", ld->path, ld->all[k].line, ld->all[k].key);
		if (link_opt_set(&s->link, ld->all[k].key, ld->all[k].value, what, ld->msg, sizeof ld->msg) < 0)
			return -1;
	}
	snprintf(s->path, sizeof s->path, "%s", ld->path);
	return 0;
}

/* Reads the whole file into a NUL-terminated buffer the caller frees. */
static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		failf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (!buf) {
			failf(err, errlen, "%s: out of memory", path);
			break;
		}
		n += fread(buf + n, 1, cap - 1 - n, f);
		if (ferror(f)) {
			failf(err, errlen, "%s: %s", path, strerror(errno));
			break;
		}
		/* On n, not cap: the buffer doubles past the limit, so a check on cap let files up to twice it in. */
		if (n > SCN_FILE_MAX) {
			failf(err, errlen, "%s: is larger than %u bytes; is this a scenario?", path, SCN_FILE_MAX);
			break;
		}
		if (feof(f)) {
			fclose(f);
			buf[n] = '\0';
			*len = n;
			return buf;
		}
		char *bigger = realloc(buf, cap * 2);
		if (!bigger)
			free(buf);
		buf = bigger;
		cap *= 2;
	}
	free(buf);
	fclose(f);
	return NULL;
}

/* Copies line `line` of the file, trimmed and shortened, for a syntax error message. */
static void quote_line(const struct load *ld, int line, char *out, size_t outlen)
{
	const char *p = ld->buf, *end = ld->buf + ld->len;
	for (int k = 1; k < line && p < end; k++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		p = nl ? nl + 1 : end;
	}
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	const char *e = nl ? nl : end;
	while (p < e && is_blank(*p))
		p++;
	while (e > p && is_blank(e[-1]))
		e--;
	size_t n = (size_t)(e - p);
	snprintf(out, outlen, "%.*s%s", (int)(n > 60 ? 60 : n), p, n > 60 ? "..." : "");
}

int scn_load(struct scenario *s, const char *path, char *err, size_t errlen)
{
	if (strlen(path) >= sizeof s->path)
		return failf(err, errlen, "%s: the path is longer than %zu characters", path, sizeof s->path - 1);
	struct load *ld = calloc(1, sizeof *ld);
	struct scenario *copy = malloc(sizeof *copy);
	int rc = -1;
	if (!ld || !copy) {
		failf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	memcpy(copy, s, sizeof *copy);
	ld->s = copy;
	ld->path = path;
	ld->buf = read_file(path, &ld->len, err, errlen);
	if (!ld->buf)
		goto out;

	int r = ini_parse_stream(next_line, ld, on_key, ld);
	if (r == -2) {
		failf(err, errlen, "%s: out of memory", path);
	} else if (r > 0 && (!ld->err_line || r < ld->err_line)) {
		/* inih's own complaint: a line that is neither a section, a key = value nor a comment. */
		char text[80];
		quote_line(ld, r, text, sizeof text);
		failf(err, errlen, "%s:%d: '%s' is not 'key = value', a [section] or a comment", path, r, text);
	} else if (ld->err_line || finish(ld) < 0) {
		failf(err, errlen, "%s", ld->msg);
	} else {
		memcpy(s, copy, sizeof *s);
		rc = 0;
	}
out:
	if (ld)
		free(ld->buf);
	free(ld);
	free(copy);
	return rc;
}

/* ---- Checking and resolving ---- */

/* 0 if the peers of a link selector exist in s, else -1 with a message naming the entry. */
static int check_link_peers(const struct scenario *s, int from, int to, const char *label, int line, char *err,
			    size_t errlen)
{
	int bad = from >= (int)s->peers ? from : to >= (int)s->peers ? to : -1;
	if (bad < 0)
		return 0;
	char at[320];
	return failf(err, errlen, "%s%s: there is no peer %d; this session has peers 0 to %u",
		     where_entry(s, line, at, sizeof at), label, bad, s->peers - 1);
}

/* The setting to blame for an invalid field: the last one that set it, else the last one applied. */
static const struct scn_setting *blame(const struct scn_setting *const *applied, size_t n, const char *field)
{
	for (size_t k = n; k-- > 0;)
		if (strcmp(applied[k]->key, field) == 0)
			return applied[k];
	return n ? applied[n - 1] : NULL;
}

int scn_link_cfg(const struct scenario *s, uint32_t from, uint32_t to, struct wire_link_cfg *out, char *err,
		 size_t errlen)
{
	char at[320];
	if (from >= s->peers || to >= s->peers)
		return failf(err, errlen, "%slink %u->%u: there is no such peer; this session has peers 0 to %u",
			     where(s, at, sizeof at), from, to, s->peers ? s->peers - 1 : 0);
	struct wire_link_cfg c = s->link;
	const struct scn_setting *applied[SCN_MAX_OVERRIDES];
	size_t napplied = 0;
	for (uint32_t k = 0; k < s->noverrides && k < SCN_MAX_OVERRIDES; k++) {
		const struct scn_setting *o = &s->overrides[k];
		if (!scn_setting_covers(o, from, to))
			continue;
		if (scn_setting_apply(s, o, &c, err, errlen) < 0)
			return -1;
		applied[napplied++] = o;
	}
	const char *field, *why;
	if (wire_link_cfg_validate(&c, &field, &why) < 0) {
		const struct scn_setting *b = blame(applied, napplied, field);
		if (!b)
			return failf(err, errlen, "%s[link *]: %s: %s", where(s, at, sizeof at), field, why);
		return failf(err, errlen, "%slink %u->%u: %s: %s", where_entry(s, b->line, at, sizeof at), from, to, field,
			     why);
	}
	*out = c;
	return 0;
}

/*
 * Plays the timeline's link settings over one link's starting settings and
 * checks the result after each one, as the harness applies them: one at a
 * time, in order, refusing any that would leave the link invalid.
 */
static int check_link_timeline(const struct scenario *s, uint32_t from, uint32_t to, struct wire_link_cfg c,
			       char *err, size_t errlen)
{
	for (uint32_t k = 0; k < s->nevents; k++) {
		const struct scn_event *ev = &s->events[k];
		const char *field, *why;
		if (ev->kind != SCN_EV_SET_LINK || !scn_setting_covers(&ev->set, from, to))
			continue;
		if (scn_setting_apply(s, &ev->set, &c, err, errlen) < 0)
			return -1;
		if (wire_link_cfg_validate(&c, &field, &why) < 0) {
			char at[320];
			return failf(err, errlen, "%s%s: link %u->%u from %g s: %s: %s",
				     where_entry(s, ev->line, at, sizeof at), ev->set.key, from, to, ev->at_s, field, why);
		}
	}
	return 0;
}

int scn_check(const struct scenario *s, char *err, size_t errlen)
{
	char at[320], label[160], spec[32];
	if (s->peers < SCN_MIN_PEERS || s->peers > SCN_MAX_PEERS)
		return failf(err, errlen, "%speers: %u is out of range (%u to %u)", where(s, at, sizeof at), s->peers,
			     SCN_MIN_PEERS, SCN_MAX_PEERS);
	if (!(s->duration_s > 0 && s->duration_s <= SCN_MAX_DURATION_S))
		return failf(err, errlen, "%sduration: %g s is out of range (more than 0, up to %g)",
			     where(s, at, sizeof at), s->duration_s, SCN_MAX_DURATION_S);
	if (s->input_delay > SCN_MAX_INPUT_DELAY)
		return failf(err, errlen, "%sinput-delay: %u frames is out of range (0 to %u)", where(s, at, sizeof at),
			     s->input_delay, SCN_MAX_INPUT_DELAY);
	if (!(s->disconnect_s >= 1 && s->disconnect_s <= SCN_MAX_DISCONNECT_S))
		return failf(err, errlen, "%sdisconnect-timeout: %g s is out of range (1 to %g)", where(s, at, sizeof at),
			     s->disconnect_s, SCN_MAX_DISCONNECT_S);
	if (s->noverrides > SCN_MAX_OVERRIDES || s->nevents > SCN_MAX_EVENTS)
		return failf(err, errlen, "%stoo many overrides or events", where(s, at, sizeof at));

	for (uint32_t k = 0; k < s->noverrides; k++) {
		const struct scn_setting *o = &s->overrides[k];
		spec_name(o->from, o->to, o->both, spec, sizeof spec);
		snprintf(label, sizeof label, "[link %s] %s", spec, o->key);
		if (check_link_peers(s, o->from, o->to, label, o->line, err, errlen) < 0)
			return -1;
	}
	for (uint32_t k = 0; k < s->nevents; k++) {
		const struct scn_event *ev = &s->events[k];
		switch (ev->kind) {
		case SCN_EV_SET_LINK:
			spec_name(ev->set.from, ev->set.to, ev->set.both, spec, sizeof spec);
			snprintf(label, sizeof label, "%s %s", spec, ev->set.key);
			if (check_link_peers(s, ev->set.from, ev->set.to, label, ev->line, err, errlen) < 0)
				return -1;
			break;
		case SCN_EV_PARTITION: {
			uint32_t group[SCN_MAX_PEERS];
			char what[360];
			snprintf(what, sizeof what, "%spartition", where_entry(s, ev->line, at, sizeof at));
			if (parse_groups(what, ev->groups, s->peers, group, err, errlen) < 0)
				return -1;
			break;
		}
		case SCN_EV_KILL:
		case SCN_EV_RESTART:
		case SCN_EV_DESYNC: {
			static const char *const names[] = { [SCN_EV_KILL] = "kill", [SCN_EV_RESTART] = "restart",
							     [SCN_EV_DESYNC] = "desync" };
			if (ev->peer >= s->peers)
				return failf(err, errlen, "%s%s: there is no peer %u; this session has peers 0 to %u",
					     where_entry(s, ev->line, at, sizeof at), names[ev->kind], ev->peer, s->peers - 1);
			break;
		}
		case SCN_EV_HEAL:
			break;
		}
	}

	const char *field, *why;
	if (wire_link_cfg_validate(&s->link, &field, &why) < 0)
		return failf(err, errlen, "%s[link *]: %s: %s", where(s, at, sizeof at), field, why);
	for (uint32_t i = 0; i < s->peers; i++)
		for (uint32_t j = 0; j < s->peers; j++) {
			struct wire_link_cfg c;
			if (i == j)
				continue;
			if (scn_link_cfg(s, i, j, &c, err, errlen) < 0 || check_link_timeline(s, i, j, c, err, errlen) < 0)
				return -1;
		}
	return 0;
}

/* ---- Writing ---- */

/*
 * Whether inih gives str back unchanged as a value written by put_value():
 * no newline, no surrounding space, no " ;" comment. A '\r' inside a value
 * is kept (lines end only at '\n'), and so is a leading ';' (see put_value).
 */
static bool value_ok(const char *str)
{
	size_t n = strlen(str);
	if (n && (is_blank(str[0]) || is_blank(str[n - 1])))
		return false;
	for (size_t i = 0; i < n; i++)
		if (str[i] == '\n' || (i && str[i] == ';' && is_blank(str[i - 1])))
			return false;
	return true;
}

/* "key = value", or "key =;value": after a space, a leading ';' would start an inline comment. */
static void put_value(FILE *out, const char *key, const char *value)
{
	fprintf(out, "%s =%s%s\n", key, value[0] == ';' ? "" : " ", value);
}

/* The shortest of %.15g, %.16g and %.17g that reads back as exactly v: "0.1", not "0.10000000000000001". */
static const char *fmt_double(double v, char *buf, size_t len)
{
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	return buf;
}

/* One field of cfg in the form its key takes; false for preset and for a key this writer does not know. */
static bool cfg_value(const struct wire_link_cfg *c, const char *key, char *buf, size_t len)
{
#define NUM(k, v)                                  \
	if (strcmp(key, k) == 0) {                 \
		fmt_double((double)(v), buf, len); \
		return true;                       \
	}
#define U32(k, v)                                    \
	if (strcmp(key, k) == 0) {                   \
		snprintf(buf, len, "%" PRIu32, (v)); \
		return true;                         \
	}
#define BOOL(k, v)                                                \
	if (strcmp(key, k) == 0) {                                \
		snprintf(buf, len, "%s", (v) ? "true" : "false"); \
		return true;                                      \
	}
	NUM("latency", c->latency_ms)
	NUM("jitter", c->jitter_ms)
	NUM("jitter-corr", c->jitter_corr_pct)
	BOOL("jitter-reorders", c->jitter_reorders)
	NUM("loss", c->loss_pct)
	NUM("burst", c->burst)
	NUM("dup", c->dup_pct)
	NUM("dup-delay", c->dup_delay_ms)
	NUM("reorder", c->reorder_pct)
	U32("reorder-gap", c->reorder_gap)
	NUM("corrupt", c->corrupt_pct)
	NUM("rate", c->rate_kbit)
	U32("queue", c->queue_limit)
	U32("mtu", c->mtu)
	BOOL("blocked", c->blocked)
#undef NUM
#undef U32
#undef BOOL
	if (strcmp(key, "jitter-dist") == 0) {
		snprintf(buf, len, "%s", wire_dist_name(c->jitter_dist));
		return true;
	}
	if (strcmp(key, "ge") == 0) {
		char p[32], r[32], h[32], k[32];
		snprintf(buf, len, "%s,%s,%s,%s", fmt_double(c->ge_p_pct, p, sizeof p),
			 fmt_double(c->ge_r_pct, r, sizeof r), fmt_double(c->ge_bad_loss_pct, h, sizeof h),
			 fmt_double(c->ge_good_loss_pct, k, sizeof k));
		return true;
	}
	return false;
}

int scn_write_resolved(const struct scenario *s, FILE *out)
{
	char buf[128], spec[32], num[32];
	/* Refuse before writing anything, so that a failure leaves no half file. */
	if (!value_ok(s->preset) || !value_ok(s->peer_cmd))
		return -1;
	for (const struct link_opt *o = link_opts; o->key; o++)
		if (strcmp(o->key, "preset") != 0 && !cfg_value(&s->link, o->key, buf, sizeof buf))
			return -1;
	for (uint32_t k = 0; k < s->noverrides; k++) {
		const struct scn_setting *o = &s->overrides[k];
		if (o->from < 0 || o->to < 0 || !value_ok(o->value))
			return -1;
	}
	for (uint32_t k = 0; k < s->nevents; k++) {
		const struct scn_event *ev = &s->events[k];
		if (ev->kind == SCN_EV_SET_LINK &&
		    (((ev->set.from < 0) != (ev->set.to < 0)) || !value_ok(ev->set.value)))
			return -1;
		if (ev->kind == SCN_EV_PARTITION && !value_ok(ev->groups))
			return -1;
	}

	fprintf(out, "; loopsim scenario with every value resolved\n");
	fprintf(out, "[session]\npeers = %" PRIu32 "\nnetcode = %s\nduration = %s\nseed = %" PRIu64
		     "\ninput-delay = %" PRIu32 "\n",
		s->peers, scn_netcode_name(s->netcode), fmt_double(s->duration_s, num, sizeof num), s->seed,
		s->input_delay);
	fprintf(out, "disconnect-timeout = %s\n", fmt_double(s->disconnect_s, num, sizeof num));
	if (s->preset[0])
		fprintf(out, "preset = %s\n", s->preset);
	if (s->peer_cmd[0])
		put_value(out, "peer-cmd", s->peer_cmd);

	/* Every field, so that the preset only matters as a label. ge comes after loss and burst, which clear it. */
	fprintf(out, "\n[link *]\n");
	for (const struct link_opt *o = link_opts; o->key; o++) {
		if (strcmp(o->key, "preset") == 0 || (strcmp(o->key, "ge") == 0 && !s->link.ge))
			continue;
		cfg_value(&s->link, o->key, buf, sizeof buf);
		fprintf(out, "%s = %s\n", o->key, buf);
	}

	/*
	 * Consecutive overrides of one link share a section, unless reading back
	 * would change them: a preset moves to its section's front and a repeated
	 * key is refused, so either starts a new section.
	 */
	const struct scn_setting *first = NULL;
	for (uint32_t k = 0; k < s->noverrides; k++) {
		const struct scn_setting *o = &s->overrides[k];
		bool join = first && strcmp(o->key, "preset") != 0 && first->from == o->from && first->to == o->to &&
			    first->both == o->both;
		for (const struct scn_setting *p = first; join && p < o; p++)
			join = strcmp(p->key, o->key) != 0;
		if (!join) {
			spec_name(o->from, o->to, o->both, spec, sizeof spec);
			fprintf(out, "\n[link %s]\n", spec);
			first = o;
		}
		put_value(out, o->key, o->value);
	}

	for (uint32_t k = 0; k < s->nevents; k++) {
		const struct scn_event *ev = &s->events[k];
		/* One section per time; a preset starts its own, or reading back would move it to the front. */
		bool preset = ev->kind == SCN_EV_SET_LINK && strcmp(ev->set.key, "preset") == 0;
		if (k == 0 || ev->at_s != s->events[k - 1].at_s || preset)
			fprintf(out, "\n[at %s]\n", fmt_double(ev->at_s, num, sizeof num));
		switch (ev->kind) {
		case SCN_EV_SET_LINK:
			if (ev->set.from < 0) {
				put_value(out, ev->set.key, ev->set.value);
			} else {
				spec_name(ev->set.from, ev->set.to, ev->set.both, spec, sizeof spec);
				char key[sizeof spec + SCN_KEY_MAX];
				snprintf(key, sizeof key, "%s %s", spec, ev->set.key);
				put_value(out, key, ev->set.value);
			}
			break;
		case SCN_EV_PARTITION:
			put_value(out, "partition", ev->groups);
			break;
		case SCN_EV_HEAL:
			fprintf(out, "heal = all\n");
			break;
		case SCN_EV_KILL:
			fprintf(out, "kill = %" PRIu32 "\n", ev->peer);
			break;
		case SCN_EV_RESTART:
			fprintf(out, "restart = %" PRIu32 "\n", ev->peer);
			break;
		case SCN_EV_DESYNC:
			fprintf(out, "desync = %" PRIu32 "\n", ev->peer);
			break;
		}
	}
	return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}
