// SPDX-License-Identifier: Apache-2.0
/*
 * The authorizer registry: AWS's authorizer resource and its control
 * operations, persisted in a JSON state file, served to readers as immutable
 * snapshots.
 *
 * Data. A snapshot is a sorted array of reference-counted authorizer entries
 * plus the default. Entries are immutable; a write builds a new snapshot that
 * shares the unchanged entries with the old one (each entry counts the
 * snapshots holding it), so an update costs one array copy and the parse of
 * one authorizer.
 *
 * Writes. authz_registry_apply() serializes writers with reg->wlock. A write
 * builds the next snapshot from the current one, writes it to the state file
 * (temp file in the same directory, fsync, rename, fsync of the directory),
 * and only then publishes it; if the write fails nothing is published and the
 * caller gets InternalFailureException. So the file never lags what readers
 * saw, and a crash at any instant leaves the old or the new file.
 *
 * Reads, lock-free. reg->cur points at the published snapshot, which holds
 * one reference of its own. A reader must increment the snapshot's count
 * before a writer can drop that published reference, or it would touch freed
 * memory. The guard is a two-phase grace period:
 *
 *   reader (authz_snapshot_get)           writer (publish, under wlock)
 *   e = epoch & 1                          old = exchange(cur, new)
 *   active[e]++                            e = epoch & 1; epoch++
 *   if (epoch & 1) != e: active[e]--,      wait until active[e] == 0
 *       retry                              put(old)
 *   s = cur; s->refs++; active[e]--
 *
 * Invariant: a reader that loaded `old` from cur is counted in the active[]
 * slot the writer waits on, or has already taken its reference. All
 * operations are sequentially consistent. The reader loaded `old` before the
 * exchange, and its re-check of the epoch came before that load. If the
 * re-check saw the current phase e, the writer's wait (after its flip, after
 * the exchange) sees the reader's increment until the reader is done. If it
 * saw the other phase, the reader was already counted before the previous
 * writer's flip, so that writer waited for it: it finished before this
 * writer took the lock. Readers never wait for writers (the retry happens
 * only when a flip races the reader's two instructions); a writer waits at
 * most for readers that are inside those few instructions.
 */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wctype.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/coding.h>

#include "auth/registry.h"
#include "compiler.h"

#define STATE_VERSION 1
#define FUNCTION_ARN_MAX 2048
#define KEY_NAME_MAX 128
#define PEM_MAX 5120
#define TOKEN_KEY_NAME_MAX 128
#define TAGS_MAX 50
#define TAG_KEY_MAX 128
#define TAG_VALUE_MAX 256
#define PAGE_SIZE_MAX 250
#define MARKER_MAX 1024
#define STALE_GRACE_MAX 86400
#define UNIX_PATH_MAX 108 /* sizeof(sun_path) */

struct authz_entry {
	struct authorizer pub;
	atomic_uint refs;     /* snapshots holding this entry */
	long long created_ms; /* exact values behind pub.created/modified */
	long long modified_ms;
};

struct snap {
	struct authz_snapshot pub; /* pub.items points at items */
	atomic_uint refs;	   /* readers + 1 while published */
	const struct authorizer **items;
	size_t cap;
};

struct authz_registry {
	char *region;
	char *account;
	char *state_path;
	unsigned max_authorizers;
	unsigned max_keys;
	char **domain_defaults; /* names domains use as their default: not deletable */
	size_t ndomain_defaults;
	pthread_mutex_t wlock; /* serializes writers; readers never take it */
	_Atomic(struct snap *) cur;
	atomic_uint epoch;     /* grace-period phase, flipped by writers */
	atomic_uint active[2]; /* readers inside snapshot_get, per phase */
};

/* Why a request or the state file was refused: an AWS exception name and a message. */
struct problem {
	const char *code;
	char msg[640];
};

#define E_INVALID "InvalidRequestException"
#define E_NOT_FOUND "ResourceNotFoundException"
#define E_EXISTS "ResourceAlreadyExistsException"
#define E_CONFLICT "DeleteConflictException"
#define E_LIMIT "LimitExceededException"
#define E_INTERNAL "InternalFailureException"

static __printf(3, 4) int fail(struct problem *p, const char *code, const char *fmt, ...)
{
	va_list ap;

	p->code = code;
	va_start(ap, fmt);
	vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* How an untrusted string is echoed in messages: at most 64 bytes, then "...". */
#define SHOWN(s) (strlen(s) > 64 ? 64 : (int)strlen(s)), (s), (strlen(s) > 64 ? "..." : "")

static json_t *problem_json(const struct problem *p)
{
	return json_pack("{s:s, s:s}", "code", p->code, "message", p->msg);
}

/* ---- entries -------------------------------------------------------------- */

static void entry_free(struct authz_entry *e)
{
	struct authorizer *a = &e->pub;

	free(a->name);
	free(a->arn);
	free(a->function_arn);
	free(a->token_key_name);
	for (unsigned i = 0; i < a->nkeys; i++) {
		free(a->keys[i].name);
		free(a->keys[i].pem);
		sig_pubkey_free(a->keys[i].key);
	}
	free(a->tags_json);
	free(e);
}

static struct authz_entry *entry_of(const struct authorizer *a)
{
	return container_of(a, struct authz_entry, pub);
}

static void entry_get(const struct authorizer *a)
{
	atomic_fetch_add(&entry_of(a)->refs, 1);
}

static void entry_put(const struct authorizer *a)
{
	struct authz_entry *e = entry_of(a);

	if (atomic_fetch_sub(&e->refs, 1) == 1)
		entry_free(e);
}

/* ---- validation of members ------------------------------------------------ */

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '=' || c == ',' || c == '@' || c == '-';
}

bool authz_name_valid(const char *s, size_t len)
{
	if (len == 0 || len > AUTHZ_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!name_char(s[i]))
			return false;
	}
	return true;
}

/* [a-zA-Z0-9_-] plus the characters in @extra, 1..@max long. */
static bool token_valid(const char *s, size_t max, const char *extra)
{
	size_t len = strlen(s);

	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || (c && strchr(extra, c))))
			return false;
	}
	return true;
}

/* Reads a string member; absent is fine (*out = NULL), any other type is not. */
static int get_string(const json_t *obj, const char *member, const char **out, struct problem *p)
{
	const json_t *v = json_object_get(obj, member);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v))
		return fail(p, E_INVALID, "%s must be a string", member);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return fail(p, E_INVALID, "%s contains a NUL character", member);
	*out = json_string_value(v);
	return 0;
}

static int get_bool(const json_t *obj, const char *member, bool *out, struct problem *p)
{
	const json_t *v = json_object_get(obj, member);

	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return fail(p, E_INVALID, "%s must be true or false", member);
	*out = json_is_true(v);
	return 0;
}

static int get_int(const json_t *obj, const char *member, long long min, long long max,
		   long long *out, struct problem *p)
{
	const json_t *v = json_object_get(obj, member);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return fail(p, E_INVALID, "%s must be an integer from %lld to %lld", member, min,
			    max);
	*out = json_integer_value(v);
	return 0;
}

/* Refuses members not in @allowed (NULL-terminated), naming the first one. */
static int check_members(const json_t *obj, const char *const *allowed, const char *what,
			 struct problem *p)
{
	const char *key;
	const json_t *v;

	json_object_foreach ((json_t *)obj, key, v) {
		size_t i;

		for (i = 0; allowed[i] && strcmp(allowed[i], key); i++)
			;
		if (!allowed[i])
			return fail(p, E_INVALID, "unknown member '%.*s%s' in %s", SHOWN(key),
				    what);
	}
	return 0;
}

static int check_function_arn(const char *arn, struct problem *p)
{
	static const char accepted[] =
		"expected http://HOST/..., https://HOST/..., unix:/ABSOLUTE/PATH or "
		"arn:aws:lambda:REGION:ACCOUNT:function:NAME (an ARN must be mapped to a URL in "
		"the configuration's functions.lambda list)";
	size_t len = strlen(arn);
	const char *rest;

	if (len == 0 || len > FUNCTION_ARN_MAX)
		return fail(p, E_INVALID, "authorizerFunctionArn must be 1 to %d characters",
			    FUNCTION_ARN_MAX);
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)arn[i] <= ' ' || arn[i] == 0x7f)
			return fail(p, E_INVALID,
				    "authorizerFunctionArn contains a space or control character");
	}
	if (!strncmp(arn, "http://", 7) || !strncmp(arn, "https://", 8)) {
		rest = strstr(arn, "//") + 2;
		if (*rest && !strchr("/?#", *rest))
			return 0;
	} else if (!strncmp(arn, "unix:", 5)) {
		if (arn[5] == '/' && len - 5 < UNIX_PATH_MAX)
			return 0;
		if (arn[5] == '/')
			return fail(p, E_INVALID,
				    "authorizerFunctionArn: unix socket path longer than %d bytes",
				    UNIX_PATH_MAX - 1);
	} else if (!strncmp(arn, "arn:aws:lambda:", 15)) {
		/* region:account:function:name[:qualifier] */
		const char *f = strchr(arn + 15, ':');

		f = f ? strchr(f + 1, ':') : NULL;
		if (f && !strncmp(f, ":function:", 10) && f[10] && f[10] != ':')
			return 0;
	}
	return fail(p, E_INVALID, "invalid authorizerFunctionArn '%.*s%s': %s", SHOWN(arn),
		    accepted);
}

/* ---- tags ----------------------------------------------------------------- */

static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void utf8_locale_init(void)
{
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/* \p{Z}: the Unicode space separators. */
static bool is_separator(unsigned cp)
{
	return cp == 0x20 || cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
	       cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

/*
 * AWS's tag character class [\p{L}\p{Z}\p{N}_.:/=+\-@]. Letters and numbers
 * beyond ASCII are classified by glibc's C.UTF-8 tables (iswalnum), which
 * cover \p{L}, \p{Nd} and \p{Nl} but file "other numbers" (\p{No}: ½, ²,
 * circled digits) under punctuation, so those are refused. When the locale
 * is missing, non-ASCII letters are refused rather than guessed.
 */
static bool tag_char(unsigned cp)
{
	if (cp < 0x80)
		return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
		       (cp >= '0' && cp <= '9') || (cp && strchr("_.:/=+-@ ", (int)cp));
	if (is_separator(cp))
		return true;
	pthread_once(&utf8_once, utf8_locale_init);
	return utf8_locale && iswalnum_l((wint_t)cp, utf8_locale);
}

/* Counts the code points of valid UTF-8 @s (jansson guarantees validity), checking each. */
static long tag_text_len(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	long n = 0;

	while (*u) {
		unsigned cp;
		int more;

		if (*u < 0x80)
			cp = *u, more = 0;
		else if ((*u & 0xe0) == 0xc0)
			cp = *u & 0x1f, more = 1;
		else if ((*u & 0xf0) == 0xe0)
			cp = *u & 0x0f, more = 2;
		else
			cp = *u & 0x07, more = 3;
		u++;
		while (more-- && (*u & 0xc0) == 0x80)
			cp = (cp << 6) | (*u++ & 0x3f);
		if (!tag_char(cp))
			return -1;
		n++;
	}
	return n;
}

static int check_tag(const json_t *tag, size_t i, struct problem *p)
{
	static const char *const members[] = { "Key", "Value", NULL };
	const char *key, *value;
	long n;

	if (!json_is_object(tag))
		return fail(p, E_INVALID, "tags[%zu] must be an object {Key, Value}", i);
	if (check_members(tag, members, "a tag", p) || get_string(tag, "Key", &key, p) ||
	    get_string(tag, "Value", &value, p))
		return -1;
	if (!key)
		return fail(p, E_INVALID, "tags[%zu].Key is required", i);
	n = tag_text_len(key);
	if (n < 1 || n > TAG_KEY_MAX)
		return fail(p, E_INVALID,
			    "tags[%zu].Key must be 1 to %d letters, digits, spaces or _.:/=+-@", i,
			    TAG_KEY_MAX);
	if (!strncasecmp(key, "aws:", 4))
		return fail(p, E_INVALID, "tags[%zu].Key: the prefix 'aws:' is reserved", i);
	n = value ? tag_text_len(value) : 0;
	if (n < 0 || n > TAG_VALUE_MAX)
		return fail(p, E_INVALID,
			    "tags[%zu].Value must be 0 to %d letters, digits, spaces or _.:/=+-@",
			    i, TAG_VALUE_MAX);
	return 0;
}

/* Validates AWS's tags list; on success *@out is its compact JSON text (malloc'd) or NULL. */
static int check_tags(const json_t *tags, char **out, struct problem *p)
{
	size_t i, j;
	const json_t *t;

	*out = NULL;
	if (!tags)
		return 0;
	if (!json_is_array(tags))
		return fail(p, E_INVALID, "tags must be a list of {Key, Value}");
	if (json_array_size(tags) > TAGS_MAX)
		return fail(p, E_LIMIT, "at most %d tags are allowed", TAGS_MAX);
	json_array_foreach (tags, i, t) {
		if (check_tag(t, i, p))
			return -1;
		for (j = 0; j < i; j++) {
			if (json_equal(json_object_get(t, "Key"),
				       json_object_get(json_array_get(tags, j), "Key")))
				return fail(p, E_INVALID, "tags[%zu].Key repeats tags[%zu].Key", i,
					    j);
		}
	}
	if (json_array_size(tags) == 0)
		return 0;
	*out = json_dumps(tags, JSON_COMPACT);
	return *out ? 0 : fail(p, E_INTERNAL, "out of memory");
}

/* ---- building an entry ---------------------------------------------------- */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int add_keys(struct authz_registry *reg, struct authorizer *a, const json_t *keys,
		    bool enforce_limit, struct problem *p)
{
	const char *kname;
	const json_t *v;

	if (!keys)
		return 0;
	if (!json_is_object(keys))
		return fail(p, E_INVALID,
			    "tokenSigningPublicKeys must be a map of key name to PEM public key");
	if (json_object_size(keys) > AUTHZ_MAX_KEYS ||
	    (enforce_limit && json_object_size(keys) > reg->max_keys))
		return fail(p, E_LIMIT,
			    "tokenSigningPublicKeys has %zu keys; at most %u are allowed",
			    json_object_size(keys), enforce_limit ? reg->max_keys : AUTHZ_MAX_KEYS);
	json_object_foreach ((json_t *)keys, kname, v) {
		struct authz_key *k = &a->keys[a->nkeys];
		char why[256];

		if (!token_valid(kname, KEY_NAME_MAX, ":"))
			return fail(
				p, E_INVALID,
				"invalid key name '%.*s%s' in tokenSigningPublicKeys: must be 1 to "
				"%d characters of a-z A-Z 0-9 : _ -",
				SHOWN(kname), KEY_NAME_MAX);
		if (!json_is_string(v))
			return fail(p, E_INVALID, "tokenSigningPublicKeys.%s must be a PEM string",
				    kname);
		if (json_string_length(v) > PEM_MAX)
			return fail(p, E_INVALID,
				    "tokenSigningPublicKeys.%s is %zu characters; at most %d",
				    kname, json_string_length(v), PEM_MAX);
		k->key = sig_pubkey_parse(json_string_value(v), json_string_length(v), why,
					  sizeof(why));
		if (!k->key)
			return fail(p, E_INVALID, "tokenSigningPublicKeys.%s: %s", kname, why);
		k->name = strdup(kname);
		k->pem = strdup(json_string_value(v));
		a->nkeys++;
		if (!k->name || !k->pem)
			return fail(p, E_INTERNAL, "out of memory");
	}
	return 0;
}

enum parse_mode {
	PARSE_CREATE, /* CreateAuthorizer arguments: limits apply, times are now */
	PARSE_STATE,  /* a state file record (also an update merged onto one) */
};

static const char *const create_members[] = {
	"authorizerName",
	"authorizerFunctionArn",
	"tokenKeyName",
	"tokenSigningPublicKeys",
	"status",
	"signingDisabled",
	"enableCachingForHttp",
	"staleGraceSeconds",
	"tags",
	NULL,
};
static const char *const state_members[] = {
	"authorizerName", "authorizerFunctionArn", "tokenKeyName",	   "tokenSigningPublicKeys",
	"status",	  "signingDisabled",	   "enableCachingForHttp", "staleGraceSeconds",
	"tags",		  "creationDateMs",	   "lastModifiedDateMs",   NULL,
};

static int parse_status(const json_t *obj, bool *active, struct problem *p)
{
	const char *status;

	if (get_string(obj, "status", &status, p))
		return -1;
	if (!status)
		return 0;
	if (!strcmp(status, "ACTIVE"))
		*active = true;
	else if (!strcmp(status, "INACTIVE"))
		*active = false;
	else
		return fail(p, E_INVALID, "status must be ACTIVE or INACTIVE, not '%.*s%s'",
			    SHOWN(status));
	return 0;
}

static int parse_times(const json_t *obj, enum parse_mode mode, struct authz_entry *e,
		       struct problem *p)
{
	if (mode == PARSE_CREATE) {
		e->created_ms = e->modified_ms = now_ms();
	} else {
		e->created_ms = e->modified_ms = -1;
		if (get_int(obj, "creationDateMs", 0, (long long)1 << 50, &e->created_ms, p) ||
		    get_int(obj, "lastModifiedDateMs", 0, (long long)1 << 50, &e->modified_ms, p))
			return -1;
		if (e->created_ms < 0 || e->modified_ms < 0)
			return fail(p, E_INVALID,
				    "creationDateMs and lastModifiedDateMs are required");
	}
	e->pub.created = (double)e->created_ms / 1000.0;
	e->pub.modified = (double)e->modified_ms / 1000.0;
	return 0;
}

static int parse_fields(struct authz_registry *reg, const json_t *obj, enum parse_mode mode,
			struct authz_entry *e, struct problem *p)
{
	struct authorizer *a = &e->pub;
	const char *name, *fn, *tkn;
	long long grace = 0;

	if (check_members(obj, mode == PARSE_CREATE ? create_members : state_members,
			  mode == PARSE_CREATE ? "CreateAuthorizer" : "an authorizer", p))
		return -1;
	if (get_string(obj, "authorizerName", &name, p) ||
	    get_string(obj, "authorizerFunctionArn", &fn, p) ||
	    get_string(obj, "tokenKeyName", &tkn, p))
		return -1;
	if (!name)
		return fail(p, E_INVALID, "authorizerName is required");
	if (!authz_name_valid(name, strlen(name)))
		return fail(p, E_INVALID,
			    "invalid authorizerName '%.*s%s': must be 1 to %d characters of "
			    "a-z A-Z 0-9 _ = , @ -",
			    SHOWN(name), AUTHZ_NAME_MAX);
	if (!fn)
		return fail(p, E_INVALID, "authorizerFunctionArn is required");
	if (check_function_arn(fn, p))
		return -1;
	if (tkn && !token_valid(tkn, TOKEN_KEY_NAME_MAX, ""))
		return fail(p, E_INVALID,
			    "invalid tokenKeyName '%.*s%s': must be 1 to %d characters of "
			    "a-z A-Z 0-9 _ -",
			    SHOWN(tkn), TOKEN_KEY_NAME_MAX);
	a->active = true;
	if (parse_status(obj, &a->active, p) ||
	    get_bool(obj, "signingDisabled", &a->signing_disabled, p) ||
	    get_bool(obj, "enableCachingForHttp", &a->caching_for_http, p) ||
	    get_int(obj, "staleGraceSeconds", 0, STALE_GRACE_MAX, &grace, p))
		return -1;
	a->stale_grace_s = (unsigned)grace;
	a->name = strdup(name);
	a->function_arn = strdup(fn);
	a->token_key_name = tkn ? strdup(tkn) : NULL;
	if (!a->name || !a->function_arn || (tkn && !a->token_key_name) ||
	    asprintf(&a->arn, "arn:aws:iot:%s:%s:authorizer/%s", reg->region, reg->account, name) <
		    0) {
		a->arn = NULL;
		return fail(p, E_INTERNAL, "out of memory");
	}
	return 0;
}

/*
 * Builds an entry from @obj (CreateAuthorizer arguments or a state record),
 * checking every member. Returns the entry with one reference, or NULL with
 * @p filled.
 */
static struct authz_entry *entry_parse(struct authz_registry *reg, const json_t *obj,
				       enum parse_mode mode, struct problem *p)
{
	struct authz_entry *e = calloc(1, sizeof(*e));

	if (!e) {
		fail(p, E_INTERNAL, "out of memory");
		return NULL;
	}
	atomic_init(&e->refs, 1);
	if (parse_fields(reg, obj, mode, e, p) ||
	    add_keys(reg, &e->pub, json_object_get(obj, "tokenSigningPublicKeys"),
		     mode == PARSE_CREATE, p) ||
	    check_tags(json_object_get(obj, "tags"), &e->pub.tags_json, p) ||
	    parse_times(obj, mode, e, p))
		goto err;
	if (!e->pub.signing_disabled && (!e->pub.token_key_name || e->pub.nkeys == 0)) {
		fail(p, E_INVALID,
		     "tokenKeyName and tokenSigningPublicKeys are required when signing is enabled "
		     "(or set signingDisabled)");
		goto err;
	}
	return e;
err:
	entry_free(e);
	return NULL;
}

/* The state record of @a: the members entry_parse(PARSE_STATE) reads back. */
static json_t *entry_state_json(const struct authorizer *a)
{
	const struct authz_entry *e = entry_of(a);
	json_t *o, *keys;

	o = json_pack("{s:s, s:s, s:s, s:b, s:b, s:I, s:I}", "authorizerName", a->name,
		      "authorizerFunctionArn", a->function_arn, "status",
		      a->active ? "ACTIVE" : "INACTIVE", "signingDisabled", a->signing_disabled,
		      "enableCachingForHttp", a->caching_for_http, "creationDateMs",
		      (json_int_t)e->created_ms, "lastModifiedDateMs", (json_int_t)e->modified_ms);
	if (!o)
		return NULL;
	if (a->token_key_name &&
	    json_object_set_new(o, "tokenKeyName", json_string(a->token_key_name)))
		goto err;
	if (a->stale_grace_s &&
	    json_object_set_new(o, "staleGraceSeconds", json_integer(a->stale_grace_s)))
		goto err;
	if (a->nkeys) {
		keys = json_object();
		if (json_object_set_new(o, "tokenSigningPublicKeys", keys))
			goto err;
		for (unsigned i = 0; i < a->nkeys; i++) {
			if (json_object_set_new(keys, a->keys[i].name, json_string(a->keys[i].pem)))
				goto err;
		}
	}
	if (a->tags_json && json_object_set_new(o, "tags", json_loads(a->tags_json, 0, NULL)))
		goto err;
	return o;
err:
	json_decref(o);
	return NULL;
}

/* AWS's AuthorizerDescription. */
static json_t *entry_describe(const struct authorizer *a)
{
	json_t *o, *keys;

	o = json_pack("{s:s, s:s, s:s, s:s, s:f, s:f, s:b, s:b}", "authorizerName", a->name,
		      "authorizerArn", a->arn, "authorizerFunctionArn", a->function_arn, "status",
		      a->active ? "ACTIVE" : "INACTIVE", "creationDate", a->created,
		      "lastModifiedDate", a->modified, "signingDisabled", a->signing_disabled,
		      "enableCachingForHttp", a->caching_for_http);
	if (!o)
		return NULL;
	if (a->token_key_name &&
	    json_object_set_new(o, "tokenKeyName", json_string(a->token_key_name)))
		goto err;
	if (a->stale_grace_s &&
	    json_object_set_new(o, "staleGraceSeconds", json_integer(a->stale_grace_s)))
		goto err;
	if (a->nkeys) {
		keys = json_object();
		if (json_object_set_new(o, "tokenSigningPublicKeys", keys))
			goto err;
		for (unsigned i = 0; i < a->nkeys; i++) {
			if (json_object_set_new(keys, a->keys[i].name, json_string(a->keys[i].pem)))
				goto err;
		}
	}
	return o;
err:
	json_decref(o);
	return NULL;
}

/* ---- snapshots ------------------------------------------------------------ */

static struct snap *snap_of(struct authz_snapshot *s)
{
	return container_of(s, struct snap, pub);
}

/* An empty snapshot with room for @cap items, one reference. */
static struct snap *snap_alloc(size_t cap)
{
	struct snap *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->items = calloc(cap ? cap : 1, sizeof(*s->items));
	if (!s->items) {
		free(s);
		return NULL;
	}
	s->cap = cap;
	s->pub.items = s->items;
	atomic_init(&s->refs, 1);
	return s;
}

static void snap_free(struct snap *s)
{
	for (size_t i = 0; i < s->pub.n; i++)
		entry_put(s->items[i]);
	free(s->items);
	free(s);
}

static int name_cmp(const char *a, const char *b, size_t blen)
{
	size_t alen = strlen(a);
	int c = memcmp(a, b, alen < blen ? alen : blen);

	return c ? c : (alen > blen) - (alen < blen);
}

/* Index of the first item whose name is >= @name. */
static size_t snap_lower_bound(const struct authz_snapshot *s, const char *name, size_t len)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (name_cmp(s->items[mid]->name, name, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct authorizer *authz_find(const struct authz_snapshot *snap, const char *name, size_t len)
{
	size_t i = snap_lower_bound(snap, name, len);

	if (i < snap->n && name_cmp(snap->items[i]->name, name, len) == 0)
		return snap->items[i];
	return NULL;
}

/*
 * A copy of @base (sharing its entries) with room for one more, the same
 * default and the next generation. NULL when out of memory.
 */
static struct snap *snap_clone(const struct snap *base)
{
	struct snap *s = snap_alloc(base->pub.n + 1);

	if (!s)
		return NULL;
	for (size_t i = 0; i < base->pub.n; i++) {
		s->items[i] = base->items[i];
		entry_get(s->items[i]);
	}
	s->pub.n = base->pub.n;
	s->pub.dflt = base->pub.dflt;
	s->pub.generation = base->pub.generation + 1;
	return s;
}

/* Puts @e (its reference is consumed) in place of an entry of the same name, or inserts it. */
static void snap_put_entry(struct snap *s, struct authz_entry *e)
{
	const char *name = e->pub.name;
	size_t i = snap_lower_bound(&s->pub, name, strlen(name));

	if (i < s->pub.n && !strcmp(s->items[i]->name, name)) {
		if (s->pub.dflt == s->items[i])
			s->pub.dflt = &e->pub;
		entry_put(s->items[i]);
	} else {
		memmove(&s->items[i + 1], &s->items[i], (s->pub.n - i) * sizeof(*s->items));
		s->pub.n++;
	}
	s->items[i] = &e->pub;
}

static void snap_remove(struct snap *s, const struct authorizer *a)
{
	size_t i = snap_lower_bound(&s->pub, a->name, strlen(a->name));

	if (s->pub.dflt == a)
		s->pub.dflt = NULL;
	entry_put(s->items[i]);
	memmove(&s->items[i], &s->items[i + 1], (s->pub.n - i - 1) * sizeof(*s->items));
	s->pub.n--;
}

struct authz_snapshot *authz_snapshot_get(struct authz_registry *reg)
{
	for (;;) {
		unsigned e = atomic_load(&reg->epoch) & 1;
		struct snap *s;

		atomic_fetch_add(&reg->active[e], 1);
		if ((atomic_load(&reg->epoch) & 1) != e) {
			atomic_fetch_sub(&reg->active[e], 1);
			continue;
		}
		s = atomic_load(&reg->cur);
		atomic_fetch_add(&s->refs, 1);
		atomic_fetch_sub(&reg->active[e], 1);
		return &s->pub;
	}
}

void authz_snapshot_put(struct authz_snapshot *snap)
{
	struct snap *s;

	if (!snap)
		return;
	s = snap_of(snap);
	if (atomic_fetch_sub(&s->refs, 1) == 1)
		snap_free(s);
}

/* Publishes @next (its reference becomes the published one); called under wlock. */
static void publish(struct authz_registry *reg, struct snap *next)
{
	struct snap *old = atomic_exchange(&reg->cur, next);
	unsigned e = atomic_fetch_add(&reg->epoch, 1) & 1;

	while (atomic_load(&reg->active[e]) != 0)
		sched_yield();
	authz_snapshot_put(&old->pub);
}

/* ---- persistence ---------------------------------------------------------- */

static json_t *snap_state_json(const struct snap *s)
{
	json_t *root, *list;

	root = json_pack("{s:i, s:o, s:[]}", "version", STATE_VERSION, "defaultAuthorizer",
			 s->pub.dflt ? json_string(s->pub.dflt->name) : json_null(), "authorizers");
	if (!root)
		return NULL;
	list = json_object_get(root, "authorizers");
	for (size_t i = 0; i < s->pub.n; i++) {
		if (json_array_append_new(list, entry_state_json(s->items[i]))) {
			json_decref(root);
			return NULL;
		}
	}
	return root;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	int fd, ret = 0;

	if (!dir)
		return -ENOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1 || fsync(fd) == -1)
		ret = -errno;
	if (fd != -1)
		close(fd);
	free(dir);
	return ret;
}

/*
 * Replaces @path with @text atomically and durably: temp file in the same
 * directory, write, fsync, rename over @path, fsync of the directory.
 */
static int write_file_atomic(const char *path, const char *text, size_t len)
{
	char *tmp;
	int fd, ret;

	if (asprintf(&tmp, "%s.tmp", path) < 0)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1) {
		ret = -errno;
		goto out;
	}
	ret = write_all(fd, text, len);
	if (!ret && fsync(fd) == -1)
		ret = -errno;
	if (close(fd) == -1 && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path) == -1)
		ret = -errno;
	if (ret)
		unlink(tmp);
	else
		ret = fsync_dir_of(path);
out:
	free(tmp);
	return ret;
}

static int persist(struct authz_registry *reg, const struct snap *s, struct problem *p)
{
	json_t *root;
	char *text;
	int ret;

	if (!reg->state_path)
		return 0;
	root = snap_state_json(s);
	text = root ? json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
	json_decref(root);
	if (!text)
		return fail(p, E_INTERNAL, "out of memory writing the state file");
	ret = write_file_atomic(reg->state_path, text, strlen(text));
	free(text);
	if (ret)
		return fail(p, E_INTERNAL, "cannot write the state file %s: %s", reg->state_path,
			    strerror(-ret));
	return 0;
}

/* Persists @next and publishes it, or drops it. Consumes @next. */
static int commit(struct authz_registry *reg, struct snap *next, struct problem *p)
{
	if (persist(reg, next, p)) {
		authz_snapshot_put(&next->pub);
		return -1;
	}
	publish(reg, next);
	return 0;
}

static int load_records(struct authz_registry *reg, const json_t *list, struct snap *s, char *err,
			size_t errlen)
{
	const json_t *rec;
	size_t i;

	json_array_foreach (list, i, rec) {
		struct problem p;
		struct authz_entry *e;

		if (!json_is_object(rec)) {
			snprintf(err, errlen, "%s: authorizers[%zu] is not an object",
				 reg->state_path, i);
			return -1;
		}
		e = entry_parse(reg, rec, PARSE_STATE, &p);
		if (!e) {
			snprintf(err, errlen, "%s: authorizers[%zu]: %s", reg->state_path, i,
				 p.msg);
			return -1;
		}
		if (authz_find(&s->pub, e->pub.name, strlen(e->pub.name))) {
			snprintf(err, errlen, "%s: authorizers[%zu]: duplicate authorizerName '%s'",
				 reg->state_path, i, e->pub.name);
			entry_put(&e->pub);
			return -1;
		}
		snap_put_entry(s, e);
	}
	return 0;
}

/* Checks the document's shape and loads it into a new snapshot; NULL with @err set. */
static struct snap *load_document(struct authz_registry *reg, const json_t *root, char *err,
				  size_t errlen)
{
	static const char *const members[] = { "version", "defaultAuthorizer", "authorizers",
					       NULL };
	const json_t *list = json_object_get(root, "authorizers");
	const json_t *dflt = json_object_get(root, "defaultAuthorizer");
	const json_t *version = json_object_get(root, "version");
	struct problem p;
	struct snap *s;

	if (!json_is_object(root) || check_members(root, members, "the state file", &p)) {
		snprintf(err, errlen, "%s: %s", reg->state_path,
			 json_is_object(root) ? p.msg : "not a JSON object");
		return NULL;
	}
	if (!json_is_integer(version) || json_integer_value(version) != STATE_VERSION) {
		snprintf(err, errlen, "%s: version must be %d", reg->state_path, STATE_VERSION);
		return NULL;
	}
	if (!json_is_array(list) || (dflt && !json_is_null(dflt) && !json_is_string(dflt))) {
		snprintf(err, errlen,
			 "%s: authorizers must be a list and defaultAuthorizer a name or null",
			 reg->state_path);
		return NULL;
	}
	s = snap_alloc(json_array_size(list));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (load_records(reg, list, s, err, errlen))
		goto err;
	if (json_is_string(dflt)) {
		s->pub.dflt =
			authz_find(&s->pub, json_string_value(dflt), json_string_length(dflt));
		if (!s->pub.dflt) {
			snprintf(err, errlen, "%s: defaultAuthorizer '%.*s%s' is not an authorizer",
				 reg->state_path, SHOWN(json_string_value(dflt)));
			goto err;
		}
	}
	return s;
err:
	snap_free(s);
	return NULL;
}

/* Loads the state file; a missing file is an empty registry. NULL with @err set. */
static struct snap *load_state(struct authz_registry *reg, char *err, size_t errlen)
{
	json_error_t jerr;
	struct snap *s;
	json_t *root;
	int fd;

	if (!reg->state_path)
		return snap_alloc(0);
	fd = open(reg->state_path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT)
			return snap_alloc(0);
		snprintf(err, errlen, "%s: %s", reg->state_path, strerror(errno));
		return NULL;
	}
	root = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr);
	close(fd);
	if (!root) {
		snprintf(err, errlen, "%s:%d:%d: %s", reg->state_path, jerr.line, jerr.column,
			 jerr.text);
		return NULL;
	}
	s = load_document(reg, root, err, errlen);
	json_decref(root);
	return s;
}

/* ---- the registry --------------------------------------------------------- */

struct authz_registry *authz_registry_new(const struct authz_registry_config *cfg, char *err,
					  size_t errlen)
{
	struct authz_registry *reg = calloc(1, sizeof(*reg));
	struct snap *s;

	if (!reg)
		goto err_nomem;
	pthread_mutex_init(&reg->wlock, NULL);
	reg->region = strdup(cfg->region);
	reg->account = strdup(cfg->account);
	reg->state_path = cfg->state_path ? strdup(cfg->state_path) : NULL;
	reg->max_authorizers = cfg->max_authorizers;
	reg->max_keys = cfg->max_keys;
	reg->domain_defaults = calloc(cfg->ndomain_defaults + 1, sizeof(char *));
	if (!reg->region || !reg->account || (cfg->state_path && !reg->state_path) ||
	    !reg->domain_defaults)
		goto err_nomem;
	for (size_t i = 0; i < cfg->ndomain_defaults; i++) {
		reg->domain_defaults[i] = strdup(cfg->domain_defaults[i]);
		if (!reg->domain_defaults[i])
			goto err_nomem;
		reg->ndomain_defaults++;
	}
	s = load_state(reg, err, errlen);
	if (!s)
		goto err_free;
	atomic_init(&reg->cur, s);
	return reg;
err_nomem:
	snprintf(err, errlen, "out of memory");
err_free:
	authz_registry_free(reg);
	return NULL;
}

void authz_registry_free(struct authz_registry *reg)
{
	struct snap *s;

	if (!reg)
		return;
	s = atomic_load(&reg->cur);
	if (s)
		authz_snapshot_put(&s->pub);
	pthread_mutex_destroy(&reg->wlock);
	for (size_t i = 0; i < reg->ndomain_defaults; i++)
		free(reg->domain_defaults[i]);
	free(reg->domain_defaults);
	free(reg->region);
	free(reg->account);
	free(reg->state_path);
	free(reg);
}

/* ---- operations ----------------------------------------------------------- */

/* The validated authorizerName of a request. */
static int arg_name(const json_t *args, const char **name, struct problem *p)
{
	if (get_string(args, "authorizerName", name, p))
		return -1;
	if (!*name)
		return fail(p, E_INVALID, "authorizerName is required");
	if (!authz_name_valid(*name, strlen(*name)))
		return fail(p, E_INVALID,
			    "invalid authorizerName '%.*s%s': must be 1 to %d characters of "
			    "a-z A-Z 0-9 _ = , @ -",
			    SHOWN(*name), AUTHZ_NAME_MAX);
	return 0;
}

static json_t *name_arn(const struct authorizer *a)
{
	return json_pack("{s:s, s:s}", "authorizerName", a->name, "authorizerArn", a->arn);
}

static int not_found(struct problem *p, const char *name)
{
	return fail(p, E_NOT_FOUND, "authorizer '%s' does not exist", name);
}

static int op_create(struct authz_registry *reg, const json_t *args, json_t **res,
		     struct problem *p)
{
	struct snap *cur = atomic_load(&reg->cur), *next;
	struct authz_entry *e = entry_parse(reg, args, PARSE_CREATE, p);
	const struct authorizer *old;

	if (!e)
		return -1;
	old = authz_find(&cur->pub, e->pub.name, strlen(e->pub.name));
	if (old) {
		fail(p, E_EXISTS, "authorizer '%s' already exists", old->name);
		*res = json_pack("{s:s, s:s, s:s, s:s}", "code", p->code, "message", p->msg,
				 "resourceId", old->name, "resourceArn", old->arn);
		goto err;
	}
	if (cur->pub.n >= reg->max_authorizers) {
		fail(p, E_LIMIT, "%zu authorizers exist; the limit is %u (limits.authorizers)",
		     cur->pub.n, reg->max_authorizers);
		goto err;
	}
	next = snap_clone(cur);
	if (!next) {
		fail(p, E_INTERNAL, "out of memory");
		goto err;
	}
	*res = name_arn(&e->pub);
	snap_put_entry(next, e);
	if (commit(reg, next, p)) {
		json_decref(*res);
		*res = NULL;
		return -1;
	}
	return 0;
err:
	entry_put(&e->pub);
	return -1;
}

static int op_update(struct authz_registry *reg, const json_t *args, json_t **res,
		     struct problem *p)
{
	static const char *const members[] = { "authorizerName",
					       "authorizerFunctionArn",
					       "tokenKeyName",
					       "tokenSigningPublicKeys",
					       "status",
					       "enableCachingForHttp",
					       "staleGraceSeconds",
					       NULL };
	struct snap *cur = atomic_load(&reg->cur), *next;
	const struct authorizer *old;
	struct authz_entry *e;
	const char *name, *key;
	json_t *merged, *v;

	if (arg_name(args, &name, p))
		return -1;
	if (json_object_get(args, "signingDisabled"))
		return fail(p, E_INVALID,
			    "signingDisabled can only be set by CreateAuthorizer; create a new "
			    "authorizer to change it");
	if (check_members(args, members, "UpdateAuthorizer", p))
		return -1;
	old = authz_find(&cur->pub, name, strlen(name));
	if (!old)
		return not_found(p, name);
	merged = entry_state_json(old);
	if (!merged)
		return fail(p, E_INTERNAL, "out of memory");
	json_object_foreach ((json_t *)args, key, v) {
		if (json_object_set(merged, key, v)) {
			json_decref(merged);
			return fail(p, E_INTERNAL, "out of memory");
		}
	}
	/* Limits apply to what the update sets, like on create. */
	v = json_object_get(args, "tokenSigningPublicKeys");
	if (json_is_object(v) && json_object_size(v) > reg->max_keys) {
		json_decref(merged);
		return fail(p, E_LIMIT,
			    "tokenSigningPublicKeys has %zu keys; at most %u are allowed",
			    json_object_size(v), reg->max_keys);
	}
	e = entry_parse(reg, merged, PARSE_STATE, p);
	json_decref(merged);
	if (!e)
		return -1;
	e->modified_ms = now_ms();
	e->pub.modified = (double)e->modified_ms / 1000.0;
	next = snap_clone(cur);
	if (!next) {
		entry_put(&e->pub);
		return fail(p, E_INTERNAL, "out of memory");
	}
	*res = name_arn(&e->pub);
	snap_put_entry(next, e);
	if (commit(reg, next, p)) {
		json_decref(*res);
		*res = NULL;
		return -1;
	}
	return 0;
}

static int op_delete(struct authz_registry *reg, const json_t *args, json_t **res,
		     struct problem *p)
{
	static const char *const members[] = { "authorizerName", NULL };
	struct snap *cur = atomic_load(&reg->cur), *next;
	const struct authorizer *a;
	const char *name;

	if (check_members(args, members, "DeleteAuthorizer", p) || arg_name(args, &name, p))
		return -1;
	a = authz_find(&cur->pub, name, strlen(name));
	if (!a)
		return not_found(p, name);
	if (a->active)
		return fail(p, E_CONFLICT,
			    "authorizer '%s' is ACTIVE; set its status to INACTIVE first "
			    "(UpdateAuthorizer status INACTIVE)",
			    name);
	if (cur->pub.dflt == a)
		return fail(p, E_CONFLICT,
			    "authorizer '%s' is the default authorizer; clear the default first "
			    "(ClearDefaultAuthorizer)",
			    name);
	for (size_t i = 0; i < reg->ndomain_defaults; i++) {
		if (!strcmp(reg->domain_defaults[i], name))
			return fail(p, E_CONFLICT,
				    "authorizer '%s' is the default authorizer of a domain; change "
				    "that domain in the configuration first",
				    name);
	}
	next = snap_clone(cur);
	if (!next)
		return fail(p, E_INTERNAL, "out of memory");
	snap_remove(next, authz_find(&next->pub, name, strlen(name)));
	if (commit(reg, next, p))
		return -1;
	*res = json_object();
	return 0;
}

/*
 * Setting the authorizer that already is the default succeeds again
 * (idempotent), and naming another one replaces the default: tollgate never
 * answers ResourceAlreadyExistsException here.
 */
static int op_set_default(struct authz_registry *reg, const json_t *args, json_t **res,
			  struct problem *p)
{
	static const char *const members[] = { "authorizerName", NULL };
	struct snap *cur = atomic_load(&reg->cur), *next;
	const struct authorizer *a;
	const char *name;

	if (check_members(args, members, "SetDefaultAuthorizer", p) || arg_name(args, &name, p))
		return -1;
	a = authz_find(&cur->pub, name, strlen(name));
	if (!a)
		return not_found(p, name);
	if (!a->active)
		return fail(p, E_INVALID,
			    "authorizer '%s' is INACTIVE; activate it before making it the default",
			    name);
	if (cur->pub.dflt != a) {
		next = snap_clone(cur);
		if (!next)
			return fail(p, E_INTERNAL, "out of memory");
		next->pub.dflt = authz_find(&next->pub, name, strlen(name));
		if (commit(reg, next, p))
			return -1;
	}
	*res = name_arn(a);
	return 0;
}

static int op_clear_default(struct authz_registry *reg, const json_t *args, json_t **res,
			    struct problem *p)
{
	static const char *const members[] = { NULL };
	struct snap *cur = atomic_load(&reg->cur), *next;

	if (check_members(args, members, "ClearDefaultAuthorizer", p))
		return -1;
	if (!cur->pub.dflt)
		return fail(p, E_NOT_FOUND, "no default authorizer is set");
	next = snap_clone(cur);
	if (!next)
		return fail(p, E_INTERNAL, "out of memory");
	next->pub.dflt = NULL;
	if (commit(reg, next, p))
		return -1;
	*res = json_object();
	return 0;
}

static int op_describe(struct authz_registry *reg, const json_t *args, json_t **res,
		       struct problem *p)
{
	static const char *const members[] = { "authorizerName", NULL };
	struct authz_snapshot *s;
	const struct authorizer *a;
	const char *name;

	if (check_members(args, members, "DescribeAuthorizer", p) || arg_name(args, &name, p))
		return -1;
	s = authz_snapshot_get(reg);
	a = authz_find(s, name, strlen(name));
	if (a)
		*res = json_pack("{s:o}", "authorizerDescription", entry_describe(a));
	authz_snapshot_put(s);
	if (!a)
		return not_found(p, name);
	return *res ? 0 : fail(p, E_INTERNAL, "out of memory");
}

static int op_describe_default(struct authz_registry *reg, const json_t *args, json_t **res,
			       struct problem *p)
{
	static const char *const members[] = { NULL };
	struct authz_snapshot *s;
	bool found;

	if (check_members(args, members, "DescribeDefaultAuthorizer", p))
		return -1;
	s = authz_snapshot_get(reg);
	found = s->dflt != NULL;
	if (found)
		*res = json_pack("{s:o}", "authorizerDescription", entry_describe(s->dflt));
	authz_snapshot_put(s);
	if (!found)
		return fail(p, E_NOT_FOUND, "no default authorizer is set");
	return *res ? 0 : fail(p, E_INTERNAL, "out of memory");
}

/* A marker is the base64 of the name the next page starts at: opaque to clients. */
static json_t *marker_encode(const char *name)
{
	unsigned char out[(AUTHZ_NAME_MAX + 2) / 3 * 4 + 1];
	word32 len = sizeof(out);

	if (Base64_Encode_NoNl((const unsigned char *)name, (word32)strlen(name), out, &len) != 0)
		return NULL;
	return json_stringn((const char *)out, len);
}

static int marker_decode(const char *marker, char *name, size_t size, struct problem *p)
{
	size_t len = strlen(marker), i;
	word32 out = (word32)size - 1;

	for (i = 0; i < len && (token_valid((char[]){ marker[i], 0 }, 1, "+/") &&
				marker[i] != '_' && marker[i] != '-');
	     i++)
		;
	while (i < len && i + 2 >= len && marker[i] == '=')
		i++;
	if (len == 0 || len > MARKER_MAX || i != len || len % 4 ||
	    Base64_Decode((const unsigned char *)marker, (word32)len, (unsigned char *)name,
			  &out) != 0 ||
	    !authz_name_valid(name, out))
		return fail(p, E_INVALID, "invalid marker: pass the nextMarker of a previous page");
	name[out] = '\0';
	return 0;
}

struct list_args {
	int status;	/* -1 any, 1 ACTIVE, 0 INACTIVE */
	long long page; /* pageSize */
	bool ascending;
	char start[AUTHZ_NAME_MAX + 1]; /* from the marker, "" = from the first */
};

static int list_parse(const json_t *args, struct list_args *la, struct problem *p)
{
	static const char *const members[] = { "status", "pageSize", "marker", "ascendingOrder",
					       NULL };
	const char *marker;
	bool active;

	la->status = -1;
	la->page = PAGE_SIZE_MAX;
	la->ascending = true;
	la->start[0] = '\0';
	if (check_members(args, members, "ListAuthorizers", p) ||
	    get_int(args, "pageSize", 1, PAGE_SIZE_MAX, &la->page, p) ||
	    get_bool(args, "ascendingOrder", &la->ascending, p) ||
	    get_string(args, "marker", &marker, p))
		return -1;
	if (json_object_get(args, "status")) {
		if (parse_status(args, &active, p))
			return -1;
		la->status = active;
	}
	if (marker && marker_decode(marker, la->start, sizeof(la->start), p))
		return -1;
	return 0;
}

/*
 * Ascending order is by name (bytewise) and is the default; ascendingOrder
 * false lists in reverse. A page starts at the marker's name, or where it
 * would be if that authorizer was deleted meanwhile.
 */
static int op_list(struct authz_registry *reg, const json_t *args, json_t **res, struct problem *p)
{
	struct authz_snapshot *s;
	struct list_args la;
	json_t *list;
	long long taken = 0;
	ptrdiff_t i, n, step;

	if (list_parse(args, &la, p))
		return -1;
	*res = json_pack("{s:[]}", "authorizers");
	if (!*res)
		return fail(p, E_INTERNAL, "out of memory");
	list = json_object_get(*res, "authorizers");
	s = authz_snapshot_get(reg);
	n = (ptrdiff_t)s->n;
	step = la.ascending ? 1 : -1;
	if (!la.start[0]) {
		i = la.ascending ? 0 : n - 1;
	} else {
		i = (ptrdiff_t)snap_lower_bound(s, la.start, strlen(la.start));
		/* Descending starts at the last name <= the marker's. */
		if (!la.ascending && !(i < n && !strcmp(s->items[i]->name, la.start)))
			i--;
	}
	for (; i >= 0 && i < n; i += step) {
		const struct authorizer *a = s->items[i];

		if (la.status >= 0 && a->active != (bool)la.status)
			continue;
		if (taken == la.page) {
			json_object_set_new(*res, "nextMarker", marker_encode(a->name));
			break;
		}
		json_array_append_new(list, name_arn(a));
		taken++;
	}
	authz_snapshot_put(s);
	return 0;
}

struct op {
	const char *name;
	int (*fn)(struct authz_registry *reg, const json_t *args, json_t **res, struct problem *p);
	bool writes; /* runs under wlock */
};

static const struct op ops[] = {
	{ "CreateAuthorizer", op_create, true },
	{ "UpdateAuthorizer", op_update, true },
	{ "DeleteAuthorizer", op_delete, true },
	{ "SetDefaultAuthorizer", op_set_default, true },
	{ "ClearDefaultAuthorizer", op_clear_default, true },
	{ "DescribeAuthorizer", op_describe, false },
	{ "DescribeDefaultAuthorizer", op_describe_default, false },
	{ "ListAuthorizers", op_list, false },
};

int authz_registry_apply(struct authz_registry *reg, const char *op, const json_t *args,
			 json_t **result)
{
	struct problem p = { E_INTERNAL, "" };
	json_t *res = NULL, *empty = NULL;
	int ret;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ops) && strcmp(ops[i].name, op); i++)
		;
	if (i == ARRAY_SIZE(ops)) {
		fail(&p, E_INVALID, "unknown operation %.*s%s", SHOWN(op));
		*result = problem_json(&p);
		return -1;
	}
	if (!args)
		args = empty = json_object();
	if (!json_is_object(args)) {
		fail(&p, E_INVALID, "the arguments of %s must be a map", op);
		*result = problem_json(&p);
		return -1;
	}
	if (ops[i].writes)
		pthread_mutex_lock(&reg->wlock);
	ret = ops[i].fn(reg, args, &res, &p);
	if (ops[i].writes)
		pthread_mutex_unlock(&reg->wlock);
	json_decref(empty);
	if (ret) {
		*result = res ? res : problem_json(&p);
		return -1;
	}
	*result = res;
	return 0;
}

int authz_verify_token(const struct authorizer *a, const char *token, size_t token_len,
		       const unsigned char *sig, size_t sig_len)
{
	if (a->nkeys == 0)
		return -EINVAL;
	for (unsigned i = 0; i < a->nkeys; i++) {
		if (sig_verify(a->keys[i].key, token, token_len, sig, sig_len) == 0)
			return 0;
	}
	return -EBADMSG;
}
