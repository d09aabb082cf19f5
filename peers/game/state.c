// SPDX-License-Identifier: MIT
// The game state's explicit serialisation, its XXH3 hashes, and the field-by-field diff.
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <xxhash.h>

#include "game/game.h"

/* Bytes per entity, summed from the field lists: the serialisation's layout cannot drift from them. */
#define FIELD_SIZE(type, name) +sizeof(type)
#define GLOBALS_SIZE (0 GAME_GLOBAL_FIELDS(FIELD_SIZE))
#define SHIP_SIZE (0 GAME_SHIP_FIELDS(FIELD_SIZE))
#define BULLET_SIZE (0 GAME_BULLET_FIELDS(FIELD_SIZE))
#define ENTITY_MAX_SIZE 64

_Static_assert(GLOBALS_SIZE + GAME_MAX_PLAYERS * SHIP_SIZE + GAME_MAX_BULLETS * BULLET_SIZE == GAME_SERIALIZED_SIZE,
	       "GAME_SERIALIZED_SIZE in game.h must match the field lists");
_Static_assert(GAME_SERIALIZED_SIZE <= GAME_SERIALIZED_MAX, "GAME_SERIALIZED_MAX is too small");
_Static_assert(GLOBALS_SIZE <= ENTITY_MAX_SIZE && SHIP_SIZE <= ENTITY_MAX_SIZE && BULLET_SIZE <= ENTITY_MAX_SIZE,
	       "an entity outgrew ENTITY_MAX_SIZE");
/* No padding: the structs are exactly their fields, which keeps save/load by memcpy canonical. */
_Static_assert(sizeof(struct game_ship) == SHIP_SIZE, "struct game_ship has padding");
_Static_assert(sizeof(struct game_bullet) == BULLET_SIZE, "struct game_bullet has padding");

/*
 * Little-endian, whatever the host: width is 4 or 8; signed values go as
 * two's complement. Spelt out byte by byte, which compilers merge into one
 * store on little-endian hosts.
 */
static inline uint8_t *put_le(uint8_t *p, uint64_t v, size_t width)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
	if (width == 8) {
		p[4] = (uint8_t)(v >> 32);
		p[5] = (uint8_t)(v >> 40);
		p[6] = (uint8_t)(v >> 48);
		p[7] = (uint8_t)(v >> 56);
	}
	return p + width;
}

#define PUT_FIELD(type, name) p = put_le(p, (uint64_t)e->name, sizeof(type));

static uint8_t *put_globals(uint8_t *p, const struct game_state *e)
{
	GAME_GLOBAL_FIELDS(PUT_FIELD)
	return p;
}

static uint8_t *put_ship(uint8_t *p, const struct game_ship *e)
{
	GAME_SHIP_FIELDS(PUT_FIELD)
	return p;
}

static uint8_t *put_bullet(uint8_t *p, const struct game_bullet *e)
{
	GAME_BULLET_FIELDS(PUT_FIELD)
	return p;
}

size_t game_serialize(const struct game_state *s, uint8_t *buf, size_t cap)
{
	if (cap < GAME_SERIALIZED_SIZE)
		return 0;
	uint8_t *p = put_globals(buf, s);
	for (uint32_t k = 0; k < GAME_MAX_PLAYERS; k++)
		p = put_ship(p, &s->ship[k]);
	for (uint32_t i = 0; i < GAME_MAX_BULLETS; i++)
		p = put_bullet(p, &s->bullet[i]);
	return (size_t)(p - buf);
}

static inline const uint8_t *get_le(const uint8_t *p, uint64_t *v, size_t width)
{
	*v = 0;
	for (size_t i = 0; i < width; i++)
		*v |= (uint64_t)p[i] << (8 * i);
	return p + width;
}

/* Reads a field back; signed fields come back from two's complement through the unsigned type of their width. */
#define GET_FIELD(type, name)                                                                  \
	{                                                                                      \
		uint64_t v;                                                                    \
		p = get_le(p, &v, sizeof(type));                                               \
		if (sizeof(type) == 4)                                                         \
			e->name = (type)(uint32_t)v;                                           \
		else                                                                           \
			e->name = (type)v;                                                     \
	}

static const uint8_t *get_globals(const uint8_t *p, struct game_state *e)
{
	GAME_GLOBAL_FIELDS(GET_FIELD)
	return p;
}

static const uint8_t *get_ship(const uint8_t *p, struct game_ship *e)
{
	GAME_SHIP_FIELDS(GET_FIELD)
	return p;
}

static const uint8_t *get_bullet(const uint8_t *p, struct game_bullet *e)
{
	GAME_BULLET_FIELDS(GET_FIELD)
	return p;
}

int game_deserialize(struct game_state *s, const uint8_t *buf, size_t len)
{
	if (len != GAME_SERIALIZED_SIZE)
		return -1;
	struct game_state out;
	memset(&out, 0, sizeof out);
	const uint8_t *p = get_globals(buf, &out);
	for (uint32_t k = 0; k < GAME_MAX_PLAYERS; k++)
		p = get_ship(p, &out.ship[k]);
	for (uint32_t i = 0; i < GAME_MAX_BULLETS; i++)
		p = get_bullet(p, &out.bullet[i]);
	if (out.nplayers < 2 || out.nplayers > GAME_MAX_PLAYERS)
		return -1;
	*s = out;
	return 0;
}

uint64_t game_hash(const struct game_state *s)
{
	uint8_t buf[GAME_SERIALIZED_SIZE];
	size_t n = game_serialize(s, buf, sizeof buf);
	return XXH3_64bits(buf, n);
}

/* Serialises one entity; returns its size, or 0 for an entity past the end. */
static size_t put_entity(const struct game_state *s, uint32_t entity, uint8_t *buf)
{
	uint8_t *end;
	if (entity == 0)
		end = put_globals(buf, s);
	else if (entity < GAME_ENTITY_BULLET(0))
		end = put_ship(buf, &s->ship[entity - GAME_ENTITY_SHIP(0)]);
	else if (entity < GAME_ENTITIES)
		end = put_bullet(buf, &s->bullet[entity - GAME_ENTITY_BULLET(0)]);
	else
		return 0;
	return (size_t)(end - buf);
}

uint64_t game_entity_hash(const struct game_state *s, uint32_t entity)
{
	uint8_t buf[ENTITY_MAX_SIZE];
	size_t n = put_entity(s, entity, buf);
	return n ? XXH3_64bits(buf, n) : 0;
}

/* Fills d from the first field, in list order, whose values differ; returns 1, or 0 if none does. */
#define DIFF_FIELD(type, name)                                                  \
	if (ea->name != eb->name) {                                             \
		snprintf(d->field, sizeof d->field, "%s", #name);              \
		d->a = (int64_t)ea->name;                                       \
		d->b = (int64_t)eb->name;                                       \
		return 1;                                                       \
	}

static int diff_globals(const struct game_state *ea, const struct game_state *eb, struct game_diff *d)
{
	GAME_GLOBAL_FIELDS(DIFF_FIELD)
	return 0;
}

static int diff_ship(const struct game_ship *ea, const struct game_ship *eb, struct game_diff *d)
{
	GAME_SHIP_FIELDS(DIFF_FIELD)
	return 0;
}

static int diff_bullet(const struct game_bullet *ea, const struct game_bullet *eb, struct game_diff *d)
{
	GAME_BULLET_FIELDS(DIFF_FIELD)
	return 0;
}

int game_diff(const struct game_state *a, const struct game_state *b, struct game_diff *d)
{
	for (uint32_t e = 0; e < GAME_ENTITIES; e++) {
		if (game_entity_hash(a, e) == game_entity_hash(b, e))
			continue;
		struct game_diff out = { 0 };
		int found;
		if (e == 0) {
			snprintf(out.entity, sizeof out.entity, "globals");
			found = diff_globals(a, b, &out);
		} else if (e < GAME_ENTITY_BULLET(0)) {
			uint32_t k = e - GAME_ENTITY_SHIP(0);
			snprintf(out.entity, sizeof out.entity, "ship %" PRIu32, k);
			found = diff_ship(&a->ship[k], &b->ship[k], &out);
		} else {
			uint32_t i = e - GAME_ENTITY_BULLET(0);
			snprintf(out.entity, sizeof out.entity, "bullet %" PRIu32, i);
			found = diff_bullet(&a->bullet[i], &b->bullet[i], &out);
		}
		if (found) {
			*d = out;
			return 1;
		}
	}
	return 0;
}

void game_diff_format(const struct game_diff *d, char *buf, size_t cap)
{
	if (cap == 0)
		return;
	snprintf(buf, cap, "%s.%s: %" PRId64 " != %" PRId64, d->entity, d->field, d->a, d->b);
}
