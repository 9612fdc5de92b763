/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals of the policy engine shared by its files (policy.c: documents,
 * statements, sets and evaluation; policy_pattern.c: patterns with wildcards
 * and variables; policy_cond.c: Condition operators and keys). Nothing outside
 * daemon/policy*.c includes this header.
 *
 * A compiled document lives in one arena (freed at once with the document)
 * and is never written after policy_compile() returns, which is what makes
 * evaluation lock-free. Evaluation state lives in a struct pol_ctx on the
 * evaluating thread's stack.
 */
#ifndef TG_DAEMON_POLICY_INT_H
#define TG_DAEMON_POLICY_INT_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "compiler.h"
#include "policy.h"

/* Bump allocator: chunks linked from @head, every block zeroed, freed at once. */
struct pol_arena {
	struct pol_chunk *head;
};

void *pol_arena_alloc(struct pol_arena *a, size_t size);
void pol_arena_free(struct pol_arena *a);

/*
 * Policy variables. Every thing variable shares one id: for custom
 * authentication none of them is ever resolved (decisions.md #13).
 */
enum pol_var {
	POL_VAR_CLIENT_ID,   /* ${iot:ClientId} */
	POL_VAR_DOMAIN_NAME, /* ${iot:DomainName} */
	POL_VAR_SOURCE_IP,   /* ${aws:SourceIp} */
	POL_VAR_THING,	     /* ${iot:Connection.Thing.*} */
	POL_VAR__COUNT,
};
#define POL_VAR_BIT(v) (1u << (v))

/* One element of a pattern after the literal prefix and before the suffix. */
enum pol_tok_type {
	POL_TOK_LIT,  /* @lit, @len bytes */
	POL_TOK_ONE,  /* `?`: exactly one character (UTF-8 code point) */
	POL_TOK_STAR, /* `*`: any sequence, `/` and `:` included */
	POL_TOK_VAR,  /* the value of variable @var, matched literally */
};

struct pol_tok {
	const char *lit;
	uint32_t len;
	uint8_t type; /* enum pol_tok_type */
	uint8_t var;  /* enum pol_var for POL_TOK_VAR */
};

enum pol_pat_kind {
	POL_PAT_EXACT,	     /* the text equals the prefix */
	POL_PAT_PREFIX_STAR, /* the text starts with the prefix (pattern "prefix*") */
	POL_PAT_GENERAL,     /* prefix, tokens, suffix */
};

/*
 * A compiled pattern. Every text it matches starts with @prefix and ends
 * with @suffix, is at least @min_len bytes long, and its middle matches
 * @toks (which start and end with a non-literal token).
 */
struct pol_pattern {
	const char *prefix;
	const char *suffix;
	const struct pol_tok *toks;
	uint32_t prefix_len;
	uint32_t suffix_len;
	uint32_t min_len;
	uint16_t ntoks;
	uint8_t kind;	  /* enum pol_pat_kind */
	uint8_t var_mask; /* POL_VAR_BIT of each variable used */
};

/* How a pattern's text is read. */
#define POL_PAT_F_GLOB (1u << 0) /* `*` and `?` are wildcards (else literal) */
#define POL_PAT_F_VARS (1u << 1) /* ${...} are variables (Version 2012-10-17) */

/*
 * Compile-time state: the document being built, where in the JSON we are
 * (the path every error names) and the first error.
 */
struct pol_cc {
	struct policy_doc *doc;
	struct pol_arena *arena;
	struct policy_error *err;
	bool vars; /* Version 2012-10-17: substitute policy variables */
	size_t path_len;
	char path[sizeof(((struct policy_error *)0)->path)];
};

/* Path helpers: each push returns the previous length for pol_path_pop(). */
size_t pol_path_key(struct pol_cc *cc, const char *key);
size_t pol_path_index(struct pol_cc *cc, size_t i);
size_t pol_path_quoted(struct pol_cc *cc, const char *key);
void pol_path_pop(struct pol_cc *cc, size_t len);
/* Records the first error (at the current path); always returns -EINVAL. */
int pol_fail(struct pol_cc *cc, const char *fmt, ...) __printf(2, 3);

/*
 * Compiles @len bytes of @s into @out (allocated in cc->arena). @flags is
 * POL_PAT_F_*. On a bad variable, fails at the current path.
 */
int pol_pattern_compile(struct pol_cc *cc, const char *s, size_t len, unsigned flags,
			struct pol_pattern *out);
/*
 * As pol_pattern_compile(), for an ARN: splits @s into its six
 * colon-separated parts (the last one keeps any further colons) and
 * compiles each into out[0..5].
 */
int pol_arn_pattern_compile(struct pol_cc *cc, const char *s, size_t len, unsigned flags,
			    struct pol_pattern out[6]);

/* Evaluation state of one policy_eval() call. */
struct pol_ctx {
	const struct policy_vars *vars;
	const char *resource;
	size_t resource_len;
	unsigned resolved; /* POL_VAR_BIT of the variables that have a value */
	const char *val[POL_VAR__COUNT];
	size_t len[POL_VAR__COUNT]; /* SIZE_MAX until first needed */
};

/* Value of a resolved variable. */
static inline const char *pol_ctx_var(struct pol_ctx *cx, unsigned var, size_t *len)
{
	if (cx->len[var] == SIZE_MAX)
		cx->len[var] = strlen(cx->val[var]);
	*len = cx->len[var];
	return cx->val[var];
}

/*
 * Does @pat match the @len bytes of @s? Every variable in @pat must be
 * resolved in @cx. @icase compares literals ASCII-case-insensitively.
 */
bool pol_pattern_match(const struct pol_pattern *pat, const char *s, size_t len, struct pol_ctx *cx,
		       bool icase);

/* Splits an ARN into its six parts; false when it has fewer than six. */
bool pol_arn_split(const char *s, size_t len, const char *part[6], size_t part_len[6]);

/* One condition: an operator applied to one key, with its values. */
struct pol_cond;

/*
 * Context values a document uses, for policy_set_missing(): the
 * POL_VAR_BIT() of each variable or equivalent condition key, and this bit
 * for the iot:LastWillTopic key.
 */
#define POL_USES_LAST_WILL (1u << POL_VAR__COUNT)

/*
 * Compiles the Condition element @obj of a statement: sets *@conds / *@nconds
 * (arena), ORs the variables of the values into *@var_mask and the context
 * values the keys read into *@uses.
 */
int pol_cond_compile(struct pol_cc *cc, json_t *obj, const struct pol_cond **conds,
		     uint16_t *nconds, unsigned *var_mask, unsigned *uses);
/* Are all @n conditions true for @cx? */
bool pol_cond_eval_all(const struct pol_cond *conds, uint16_t n, struct pol_ctx *cx);

/* Effect of a statement. */
enum pol_effect {
	POL_ALLOW,
	POL_DENY,
};

struct pol_stmt {
	const struct pol_pattern *res; /* Resource or NotResource patterns */
	const struct pol_cond *conds;
	const char *sid; /* NULL when absent */
	uint16_t nres;
	uint16_t nconds;
	uint16_t index;	  /* position in the document */
	uint8_t effect;	  /* enum pol_effect */
	uint8_t actions;  /* bit (1 << enum policy_action) for each action it covers */
	uint8_t var_mask; /* every variable its resources and conditions use */
	bool not_resource;
};

struct policy_doc {
	atomic_size_t refs;
	struct pol_arena arena;
	const struct pol_stmt *stmts;
	size_t nstmts;
	unsigned uses; /* POL_VAR_BIT()s and POL_USES_LAST_WILL */
};

#endif /* TG_DAEMON_POLICY_INT_H */
