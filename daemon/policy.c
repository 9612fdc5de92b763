// SPDX-License-Identifier: Apache-2.0
/*
 * AWS IoT policy documents: compile (jansson, once per distinct text) and
 * evaluate (every Connect, Publish, Subscribe and Receive; no lock, no
 * allocation). Patterns are in policy_pattern.c, conditions in
 * policy_cond.c, the cache in policy_cache.c.
 *
 * What a document may be (everything else is a compile error naming the
 * JSON path and the reason):
 *  - JSON text of at most POLICY_MAX_DOC_CHARS characters, counted as AWS
 *    does for CreatePolicy: Unicode characters (code points), whitespace
 *    (space, tab, CR, LF) excluded; and at most MAX_DOC_BYTES bytes in all.
 *    Strict UTF-8, no duplicate keys (JSON_REJECT_DUPLICATES).
 *  - An object with "Statement", optional "Version" and optional "Id".
 *    Version "2012-10-17" enables policy variables. An absent Version, or
 *    "2008-10-17", is accepted as IAM does: variables are not substituted,
 *    so "${iot:ClientId}" is plain text (AWS's documents always carry
 *    2012-10-17). Any other Version is refused.
 *  - Statement: one object or a non-empty array of objects, each with
 *    Effect ("Allow" | "Deny"), exactly one of Action / NotAction, exactly
 *    one of Resource / NotResource, optional Sid (string) and Condition.
 *    Principal, NotPrincipal and unknown elements are refused.
 *  - Action entries: "*" or "service:pattern", matched case-insensitively
 *    with `*` and `?`. Actions other than the five policy_eval() knows (e.g.
 *    iot:UpdateThingShadow) are accepted and never match them.
 *  - Resource entries: "*" or an ARN pattern ("arn:..."), matched
 *    case-sensitively over the whole ARN (policy_pattern.c).
 *
 * Evaluation: a statement applies when it covers the action (precomputed per
 * action at compile time), the resource matches one Resource entry (or no
 * NotResource entry), and every condition holds. A statement that uses a
 * policy variable without a value for this connection (a NULL field of
 * struct policy_vars, and always the thing variables) applies to nothing:
 * an Allow grants nothing and a Deny denies nothing (IAM: an unresolvable
 * variable makes the whole statement invalid). Any applying Deny in the set
 * wins, else any applying Allow, else the implicit deny; the decision names
 * the first applying Deny (document order, then statement order), else the
 * first applying Allow.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy_int.h"

#define MAX_DOC_BYTES (64 * 1024)
#define CHUNK_SIZE 4096

/* ---- arena ---- */

struct pol_chunk {
	struct pol_chunk *next;
	size_t used, size;
	max_align_t data[];
};

void *pol_arena_alloc(struct pol_arena *a, size_t size)
{
	struct pol_chunk *c = a->head;
	size_t align = sizeof(max_align_t);
	void *p;

	size = (size + align - 1) & ~(align - 1);
	if (!c || c->size - c->used < size) {
		size_t csize = size > CHUNK_SIZE ? size : CHUNK_SIZE;

		c = calloc(1, sizeof(*c) + csize);
		if (!c)
			return NULL;
		c->size = csize;
		c->next = a->head;
		a->head = c;
	}
	p = (char *)c->data + c->used;
	c->used += size;
	return p;
}

void pol_arena_free(struct pol_arena *a)
{
	struct pol_chunk *c = a->head;

	while (c) {
		struct pol_chunk *next = c->next;

		free(c);
		c = next;
	}
	a->head = NULL;
}

/* ---- error paths ---- */

static size_t path_append(struct pol_cc *cc, const char *fmt, ...) __printf(2, 3);

static size_t path_append(struct pol_cc *cc, const char *fmt, ...)
{
	size_t old = cc->path_len, room = sizeof(cc->path) - old;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cc->path + old, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room) {
		/* Truncated: end with "..." so the reader sees it. */
		memcpy(cc->path + sizeof(cc->path) - 4, "...", 4);
		cc->path_len = sizeof(cc->path) - 1;
	} else {
		cc->path_len = old + (size_t)n;
	}
	return old;
}

size_t pol_path_key(struct pol_cc *cc, const char *key)
{
	return path_append(cc, cc->path_len ? ".%s" : "%s", key);
}

size_t pol_path_index(struct pol_cc *cc, size_t i)
{
	return path_append(cc, "[%zu]", i);
}

size_t pol_path_quoted(struct pol_cc *cc, const char *key)
{
	return path_append(cc, "[\"%s\"]", key);
}

void pol_path_pop(struct pol_cc *cc, size_t len)
{
	cc->path_len = len;
	cc->path[len] = '\0';
}

int pol_fail(struct pol_cc *cc, const char *fmt, ...)
{
	struct policy_error *err = cc->err;
	va_list ap;

	if (err->reason[0])
		return -EINVAL;
	snprintf(err->path, sizeof(err->path), "%s", cc->path);
	va_start(ap, fmt);
	vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int oom(struct pol_cc *cc)
{
	pol_fail(cc, "out of memory");
	return -ENOMEM;
}

/* ---- actions ---- */

static const char *const action_names[POLICY_ACT__COUNT] = {
	[POLICY_ACT_CONNECT] = "iot:Connect",
	[POLICY_ACT_PUBLISH] = "iot:Publish",
	[POLICY_ACT_RETAIN_PUBLISH] = "iot:RetainPublish",
	[POLICY_ACT_SUBSCRIBE] = "iot:Subscribe",
	[POLICY_ACT_RECEIVE] = "iot:Receive",
};

int policy_action_parse(const char *name, enum policy_action *out)
{
	for (size_t i = 0; i < POLICY_ACT__COUNT; i++) {
		if (!strcasecmp(name, action_names[i])) {
			*out = (enum policy_action)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *policy_action_name(enum policy_action act)
{
	return (unsigned)act < POLICY_ACT__COUNT ? action_names[act] : "unknown";
}

const char *policy_action_resource_type(enum policy_action act)
{
	switch (act) {
	case POLICY_ACT_CONNECT:
		return "client";
	case POLICY_ACT_SUBSCRIBE:
		return "topicfilter";
	default:
		return "topic";
	}
}

/* "*" or "<service>:<pattern>" with a service of letters, digits and '-'. */
static bool action_valid(const char *s, size_t len)
{
	const char *colon = memchr(s, ':', len);

	if (len == 1 && s[0] == '*')
		return true;
	if (!colon || colon == s || colon == s + len - 1)
		return false;
	for (const char *p = s; p < colon; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-'))
			return false;
	return true;
}

/* ORs into *@mask the actions that entry @s covers. */
static int compile_action(struct pol_cc *cc, const char *s, size_t len, uint8_t *mask)
{
	struct pol_arena tmp = { 0 };
	struct pol_arena *keep = cc->arena;
	struct pol_pattern pat;
	int rc;

	if (!action_valid(s, len))
		return pol_fail(cc, "expected \"*\" or \"service:action\" (e.g. \"iot:Publish\")");
	cc->arena = &tmp;
	rc = pol_pattern_compile(cc, s, len, POL_PAT_F_GLOB, &pat);
	cc->arena = keep;
	for (size_t i = 0; !rc && i < POLICY_ACT__COUNT; i++)
		if (pol_pattern_match(&pat, action_names[i], strlen(action_names[i]), NULL, true))
			*mask |= (uint8_t)(1u << i);
	pol_arena_free(&tmp);
	return rc;
}

/* ---- statements ---- */

/* Calls @fn for each string of @v: a string or a non-empty array of strings. */
typedef int (*pol_str_fn)(struct pol_cc *cc, const char *s, size_t len, size_t i, void *arg);

static int for_each_string(struct pol_cc *cc, json_t *v, pol_str_fn fn, void *arg)
{
	json_t *e;
	size_t i;

	if (json_is_string(v))
		return fn(cc, json_string_value(v), json_string_length(v), 0, arg);
	if (!json_is_array(v))
		return pol_fail(cc, "expected a string or an array of strings");
	if (json_array_size(v) == 0)
		return pol_fail(cc, "expected at least one entry");
	json_array_foreach (v, i, e) {
		size_t mark = pol_path_index(cc, i);
		int rc = json_is_string(e) ?
				 fn(cc, json_string_value(e), json_string_length(e), i, arg) :
				 pol_fail(cc, "expected a string");

		pol_path_pop(cc, mark);
		if (rc)
			return rc;
	}
	return 0;
}

static size_t string_count(json_t *v)
{
	return json_is_array(v) ? json_array_size(v) : 1;
}

static int action_cb(struct pol_cc *cc, const char *s, size_t len, size_t i, void *arg)
{
	return compile_action(cc, s, len, arg);
}

/* The statement whose resources are being compiled, and where they go. */
struct res_target {
	struct pol_stmt *st;
	struct pol_pattern *res;
};

static int resource_cb(struct pol_cc *cc, const char *s, size_t len, size_t i, void *arg)
{
	struct res_target *t = arg;
	struct pol_pattern *pat = &t->res[i];
	int rc;

	if (!(len == 1 && s[0] == '*') && (len < 4 || memcmp(s, "arn:", 4)))
		return pol_fail(cc, "expected an ARN (\"arn:aws:iot:...\") or \"*\"");
	rc = pol_pattern_compile(cc, s, len, POL_PAT_F_GLOB | (cc->vars ? POL_PAT_F_VARS : 0), pat);
	if (!rc)
		t->st->var_mask |= pat->var_mask;
	return rc;
}

/* Which elements a statement had, for the checks after reading them all. */
#define SEEN_EFFECT (1u << 0)
#define SEEN_ACTION (1u << 1)
#define SEEN_NOT_ACTION (1u << 2)
#define SEEN_RESOURCE (1u << 3)
#define SEEN_NOT_RESOURCE (1u << 4)

static int compile_resources(struct pol_cc *cc, json_t *v, struct pol_stmt *st)
{
	struct res_target t = { st, pol_arena_alloc(cc->arena, string_count(v) * sizeof(*t.res)) };

	if (!t.res)
		return oom(cc);
	st->res = t.res;
	st->nres = (uint16_t)string_count(v);
	return for_each_string(cc, v, resource_cb, &t);
}

static int compile_sid(struct pol_cc *cc, json_t *v, struct pol_stmt *st)
{
	char *sid;

	if (!json_is_string(v))
		return pol_fail(cc, "expected a string");
	sid = pol_arena_alloc(cc->arena, json_string_length(v) + 1);
	if (!sid)
		return oom(cc);
	memcpy(sid, json_string_value(v), json_string_length(v));
	st->sid = sid;
	return 0;
}

static int compile_effect(struct pol_cc *cc, json_t *v, struct pol_stmt *st)
{
	const char *s = json_string_value(v);

	if (s && !strcmp(s, "Allow"))
		st->effect = POL_ALLOW;
	else if (s && !strcmp(s, "Deny"))
		st->effect = POL_DENY;
	else
		return pol_fail(cc, "expected \"Allow\" or \"Deny\"");
	return 0;
}

/* Compiles element @name (value @v) of a statement; records it in *@seen. */
static int compile_element(struct pol_cc *cc, const char *name, json_t *v, struct pol_stmt *st,
			   unsigned *seen)
{
	unsigned var_mask = 0;
	int rc;

	if (!strcmp(name, "Sid"))
		return compile_sid(cc, v, st);
	if (!strcmp(name, "Effect")) {
		*seen |= SEEN_EFFECT;
		return compile_effect(cc, v, st);
	}
	if (!strcmp(name, "Action") || !strcmp(name, "NotAction")) {
		*seen |= name[0] == 'A' ? SEEN_ACTION : SEEN_NOT_ACTION;
		return for_each_string(cc, v, action_cb, &st->actions);
	}
	if (!strcmp(name, "Resource") || !strcmp(name, "NotResource")) {
		*seen |= name[0] == 'R' ? SEEN_RESOURCE : SEEN_NOT_RESOURCE;
		return compile_resources(cc, v, st);
	}
	if (!strcmp(name, "Condition")) {
		rc = pol_cond_compile(cc, v, &st->conds, &st->nconds, &var_mask, &cc->doc->uses);
		st->var_mask |= (uint8_t)var_mask;
		return rc;
	}
	if (!strcmp(name, "Principal") || !strcmp(name, "NotPrincipal"))
		return pol_fail(cc, "not allowed in an AWS IoT policy");
	return pol_fail(cc, "unknown statement element");
}

static int check_elements(struct pol_cc *cc, unsigned seen)
{
	if (!(seen & SEEN_EFFECT))
		return pol_fail(cc, "missing Effect");
	if ((seen & SEEN_ACTION) && (seen & SEEN_NOT_ACTION))
		return pol_fail(cc, "has both Action and NotAction; use one");
	if (!(seen & (SEEN_ACTION | SEEN_NOT_ACTION)))
		return pol_fail(cc, "missing Action (or NotAction)");
	if ((seen & SEEN_RESOURCE) && (seen & SEEN_NOT_RESOURCE))
		return pol_fail(cc, "has both Resource and NotResource; use one");
	if (!(seen & (SEEN_RESOURCE | SEEN_NOT_RESOURCE)))
		return pol_fail(cc, "missing Resource (or NotResource)");
	return 0;
}

static int compile_statement(struct pol_cc *cc, json_t *obj, size_t index, struct pol_stmt *st)
{
	unsigned seen = 0;
	const char *name;
	json_t *v;

	if (!json_is_object(obj))
		return pol_fail(cc, "expected an object");
	st->index = (uint16_t)index;
	json_object_foreach (obj, name, v) {
		size_t mark = pol_path_key(cc, name);
		int rc = compile_element(cc, name, v, st, &seen);

		pol_path_pop(cc, mark);
		if (rc)
			return rc;
	}
	if (seen & SEEN_NOT_ACTION)
		st->actions = (uint8_t)(~st->actions & ((1u << POLICY_ACT__COUNT) - 1));
	st->not_resource = seen & SEEN_NOT_RESOURCE;
	cc->doc->uses |= st->var_mask;
	return check_elements(cc, seen);
}

static int compile_statements(struct pol_cc *cc, json_t *v)
{
	size_t n = json_is_array(v) ? json_array_size(v) : 1;
	struct pol_stmt *stmts;
	json_t *e;
	size_t i;

	if (!json_is_object(v) && !json_is_array(v))
		return pol_fail(cc, "expected an object or an array of objects");
	if (n == 0)
		return pol_fail(cc, "expected at least one statement");
	stmts = pol_arena_alloc(cc->arena, n * sizeof(*stmts));
	if (!stmts)
		return oom(cc);
	cc->doc->stmts = stmts;
	cc->doc->nstmts = n;
	if (json_is_object(v))
		return compile_statement(cc, v, 0, &stmts[0]);
	json_array_foreach (v, i, e) {
		size_t mark = pol_path_index(cc, i);
		int rc = compile_statement(cc, e, i, &stmts[i]);

		pol_path_pop(cc, mark);
		if (rc)
			return rc;
	}
	return 0;
}

static int compile_version(struct pol_cc *cc, json_t *v)
{
	const char *s = json_string_value(v);

	if (!v)
		return 0;
	if (!s)
		return pol_fail(cc, "expected a string");
	if (!strcmp(s, "2012-10-17"))
		cc->vars = true;
	else if (strcmp(s, "2008-10-17"))
		return pol_fail(cc, "unsupported version \"%.32s\"; use \"2012-10-17\"", s);
	return 0;
}

static int compile_document(struct pol_cc *cc, json_t *root)
{
	const char *name;
	json_t *v;
	size_t mark;
	int rc;

	if (!json_is_object(root))
		return pol_fail(cc, "expected a JSON object");
	json_object_foreach (root, name, v) {
		if (strcmp(name, "Version") && strcmp(name, "Statement") && strcmp(name, "Id")) {
			pol_path_key(cc, name);
			return pol_fail(cc, "unknown policy element");
		}
	}
	mark = pol_path_key(cc, "Version");
	rc = compile_version(cc, json_object_get(root, "Version"));
	pol_path_pop(cc, mark);
	if (rc)
		return rc;
	v = json_object_get(root, "Id");
	if (v && !json_is_string(v)) {
		pol_path_key(cc, "Id");
		return pol_fail(cc, "expected a string");
	}
	v = json_object_get(root, "Statement");
	pol_path_key(cc, "Statement");
	if (!v)
		return pol_fail(cc, "missing Statement");
	return compile_statements(cc, v);
}

/* Characters as AWS counts them: UTF-8 code points that are not whitespace. */
static size_t count_chars(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		n += (c & 0xc0) != 0x80 && c != ' ' && c != '\t' && c != '\n' && c != '\r';
	}
	return n;
}

static void set_error(struct policy_error *err, const char *fmt, ...) __printf(2, 3);

static void set_error(struct policy_error *err, const char *fmt, ...)
{
	va_list ap;

	err->path[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
	va_end(ap);
}

struct policy_doc *policy_compile(const char *json, size_t len, struct policy_error *err)
{
	struct policy_error scratch;
	struct policy_doc *doc = NULL;
	struct pol_cc cc = { 0 };
	json_error_t jerr;
	json_t *root;
	size_t chars;
	int rc;

	if (!err)
		err = &scratch;
	memset(err, 0, sizeof(*err));
	if (!json) {
		set_error(err, "no document");
		errno = EINVAL;
		return NULL;
	}
	if (len > MAX_DOC_BYTES) {
		set_error(err, "document is %zu bytes; at most %d are accepted", len,
			  MAX_DOC_BYTES);
		errno = EINVAL;
		return NULL;
	}
	chars = count_chars(json, len);
	if (chars > POLICY_MAX_DOC_CHARS) {
		set_error(
			err,
			"document has %zu characters (whitespace excluded); at most %d are allowed",
			chars, POLICY_MAX_DOC_CHARS);
		errno = EINVAL;
		return NULL;
	}
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		set_error(err, "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column,
			  jerr.text);
		errno = EINVAL;
		return NULL;
	}
	doc = calloc(1, sizeof(*doc));
	if (!doc) {
		set_error(err, "out of memory");
		rc = -ENOMEM;
		goto err_decref;
	}
	atomic_init(&doc->refs, 1);
	cc.doc = doc;
	cc.arena = &doc->arena;
	cc.err = err;
	rc = compile_document(&cc, root);
	if (rc)
		goto err_free_doc;
	json_decref(root);
	return doc;

err_free_doc:
	pol_arena_free(&doc->arena);
	free(doc);
err_decref:
	json_decref(root);
	errno = -rc;
	return NULL;
}

struct policy_doc *policy_doc_get(struct policy_doc *doc)
{
	atomic_fetch_add_explicit(&doc->refs, 1, memory_order_relaxed);
	return doc;
}

void policy_doc_put(struct policy_doc *doc)
{
	if (!doc || atomic_fetch_sub_explicit(&doc->refs, 1, memory_order_acq_rel) != 1)
		return;
	pol_arena_free(&doc->arena);
	free(doc);
}

size_t policy_doc_statement_count(const struct policy_doc *doc)
{
	return doc->nstmts;
}

/* ---- sets and evaluation ---- */

/* A statement as a set sees it: where it comes from. */
struct set_entry {
	const struct pol_stmt *st;
	uint16_t doc;
};

/*
 * Per action, the statements that cover it: first every Deny, then every
 * Allow, each in (document, statement) order.
 */
struct policy_set {
	struct policy_doc *docs[POLICY_MAX_DOCS];
	size_t ndocs;
	uint32_t start[POLICY_ACT__COUNT];
	uint32_t ndeny[POLICY_ACT__COUNT];
	uint32_t nallow[POLICY_ACT__COUNT];
	struct set_entry entries[];
};

/* Appends the statements of @set's documents covering @act with @effect. */
static uint32_t collect(struct policy_set *set, enum policy_action act, enum pol_effect effect,
			uint32_t at)
{
	uint32_t n = 0;

	for (size_t d = 0; d < set->ndocs; d++) {
		const struct policy_doc *doc = set->docs[d];

		for (size_t i = 0; i < doc->nstmts; i++) {
			const struct pol_stmt *st = &doc->stmts[i];

			if (st->effect != effect || !(st->actions & (1u << act)))
				continue;
			set->entries[at + n].st = st;
			set->entries[at + n].doc = (uint16_t)d;
			n++;
		}
	}
	return n;
}

struct policy_set *policy_set_new(struct policy_doc *const *docs, size_t n)
{
	struct policy_set *set;
	size_t total = 0;
	uint32_t at = 0;

	if (n > POLICY_MAX_DOCS || (n && !docs)) {
		errno = EINVAL;
		return NULL;
	}
	for (size_t d = 0; d < n; d++) {
		if (!docs[d]) {
			errno = EINVAL;
			return NULL;
		}
		total += docs[d]->nstmts * POLICY_ACT__COUNT;
	}
	set = calloc(1, sizeof(*set) + total * sizeof(set->entries[0]));
	if (!set)
		return NULL;
	for (size_t d = 0; d < n; d++)
		set->docs[d] = policy_doc_get(docs[d]);
	set->ndocs = n;
	for (unsigned act = 0; act < POLICY_ACT__COUNT; act++) {
		set->start[act] = at;
		set->ndeny[act] = collect(set, act, POL_DENY, at);
		at += set->ndeny[act];
		set->nallow[act] = collect(set, act, POL_ALLOW, at);
		at += set->nallow[act];
	}
	return set;
}

void policy_set_free(struct policy_set *set)
{
	if (!set)
		return;
	for (size_t d = 0; d < set->ndocs; d++)
		policy_doc_put(set->docs[d]);
	free(set);
}

static bool resources_match(const struct pol_stmt *st, struct pol_ctx *cx)
{
	for (uint16_t i = 0; i < st->nres; i++)
		if (pol_pattern_match(&st->res[i], cx->resource, cx->resource_len, cx, false))
			return !st->not_resource;
	return st->not_resource;
}

static inline bool stmt_applies(const struct pol_stmt *st, struct pol_ctx *cx)
{
	if (st->var_mask & ~cx->resolved)
		return false;
	if (!resources_match(st, cx))
		return false;
	return !st->nconds || pol_cond_eval_all(st->conds, st->nconds, cx);
}

static enum policy_result decide(enum policy_result res, const struct set_entry *e,
				 struct policy_decision *out)
{
	if (out) {
		out->result = res;
		out->doc = e ? e->doc : -1;
		out->statement = e ? e->st->index : -1;
		out->sid = e ? e->st->sid : NULL;
	}
	return res;
}

static void ctx_init(struct pol_ctx *cx, const char *resource, size_t len,
		     const struct policy_vars *vars)
{
	static const struct policy_vars none;

	cx->vars = vars ? vars : &none;
	cx->resource = resource;
	cx->resource_len = len;
	cx->val[POL_VAR_CLIENT_ID] = cx->vars->client_id;
	cx->val[POL_VAR_DOMAIN_NAME] = cx->vars->domain_name;
	cx->val[POL_VAR_SOURCE_IP] = cx->vars->source_ip;
	cx->val[POL_VAR_THING] = NULL;
	cx->resolved = 0;
	for (unsigned v = 0; v < POL_VAR__COUNT; v++) {
		cx->len[v] = SIZE_MAX;
		if (cx->val[v])
			cx->resolved |= POL_VAR_BIT(v);
	}
}

enum policy_result policy_eval(const struct policy_set *set, enum policy_action act,
			       const char *resource, size_t len, const struct policy_vars *vars,
			       struct policy_decision *out)
{
	const struct set_entry *e, *end;
	struct pol_ctx cx;

	if (!set || (unsigned)act >= POLICY_ACT__COUNT || !resource)
		return decide(POLICY_IMPLICIT_DENY, NULL, out);
	ctx_init(&cx, resource, len, vars);
	e = &set->entries[set->start[act]];
	for (end = e + set->ndeny[act]; e < end; e++)
		if (stmt_applies(e->st, &cx))
			return decide(POLICY_EXPLICIT_DENY, e, out);
	for (end = e + set->nallow[act]; e < end; e++)
		if (stmt_applies(e->st, &cx))
			return decide(POLICY_ALLOWED, e, out);
	return decide(POLICY_IMPLICIT_DENY, NULL, out);
}

size_t policy_set_missing(const struct policy_set *set, const struct policy_vars *vars,
			  const char **names, size_t max)
{
	static const struct policy_vars none;
	unsigned uses = 0;
	size_t n = 0;

	if (!vars)
		vars = &none;
	for (size_t d = 0; d < set->ndocs; d++)
		uses |= set->docs[d]->uses;
	const struct {
		unsigned bit;
		bool missing;
		const char *name;
	} values[] = {
		{ POL_VAR_BIT(POL_VAR_CLIENT_ID), !vars->client_id, "iot:ClientId" },
		{ POL_VAR_BIT(POL_VAR_DOMAIN_NAME), !vars->domain_name, "iot:DomainName" },
		{ POL_VAR_BIT(POL_VAR_SOURCE_IP), !vars->source_ip, "aws:SourceIp" },
		{ POL_USES_LAST_WILL, !vars->last_will_topic, "iot:LastWillTopic" },
		{ POL_VAR_BIT(POL_VAR_THING), true, "iot:Connection.Thing.*" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
		if (!(uses & values[i].bit) || !values[i].missing)
			continue;
		if (n < max)
			names[n] = values[i].name;
		n++;
	}
	return n;
}

static size_t append(char *buf, size_t size, size_t at, const char *s, size_t len)
{
	if (at < size) {
		size_t n = TG_MIN(len, size - 1 - at);

		memcpy(buf + at, s, n);
		buf[at + n] = '\0';
	}
	return at + len;
}

size_t policy_arn(char *buf, size_t size, const struct policy_env *env, const char *type,
		  const char *name, size_t name_len)
{
	size_t n = 0;

	if (size)
		buf[0] = '\0';
	n = append(buf, size, n, "arn:aws:iot:", 12);
	n = append(buf, size, n, env->region, strlen(env->region));
	n = append(buf, size, n, ":", 1);
	n = append(buf, size, n, env->account, strlen(env->account));
	n = append(buf, size, n, ":", 1);
	n = append(buf, size, n, type, strlen(type));
	n = append(buf, size, n, "/", 1);
	return append(buf, size, n, name, name_len);
}
