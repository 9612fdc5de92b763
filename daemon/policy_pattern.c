// SPDX-License-Identifier: Apache-2.0
/*
 * Patterns of the policy language: Resource and NotResource entries and the
 * values of String and Arn conditions.
 *
 * Reading (compile time). The text is cut into pieces: literal runs, `*`
 * (any sequence of characters, crossing `/` and `:`), `?` (one character)
 * and policy variables `${name}`. Wildcards exist only in glob mode
 * (Resource, StringLike, Arn*); variables only in Version 2012-10-17
 * documents. `${*}`, `${?}` and `${$}` are the literal characters. MQTT's
 * `+` and `#` are ordinary characters. Adjacent literal pieces are merged and
 * copied into the document's arena; the leading and trailing literals become
 * the pattern's prefix and suffix, so most mismatches cost one memcmp().
 *
 * Matching (evaluation time, no allocation). The prefix and suffix are
 * compared first, then the middle tokens run through the classic greedy
 * matcher that remembers the last `*` and, on a mismatch, lets that star
 * swallow one more character. A variable's value is compared as literal
 * bytes, so a client id containing `*` or `?` is never a wildcard. `?` and
 * star extension step over whole UTF-8 code points.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy_int.h"

/* A piece of pattern text before literals are merged. */
struct piece {
	const char *s; /* literal bytes (in the source text or static) */
	size_t len;
	uint8_t type; /* enum pol_tok_type */
	uint8_t var;
};

/* A variable name and the variable it reads; "[" names end in "[<attr>]". */
struct var_def {
	const char *name;
	enum pol_var var;
};

static const struct var_def var_defs[] = {
	{ "iot:ClientId", POL_VAR_CLIENT_ID },
	{ "iot:DomainName", POL_VAR_DOMAIN_NAME },
	{ "aws:SourceIp", POL_VAR_SOURCE_IP },
	{ "iot:Connection.Thing.ThingName", POL_VAR_THING },
	{ "iot:Connection.Thing.ThingTypeName", POL_VAR_THING },
	{ "iot:Connection.Thing.IsAttached", POL_VAR_THING },
};

#define THING_ATTR_PREFIX "iot:Connection.Thing.Attributes["
#define CERT_VAR_PREFIX "iot:Certificate."

/* Variable names are case-insensitive, as IAM's context keys are. */
static int var_lookup(const char *name, size_t len)
{
	size_t plen = strlen(THING_ATTR_PREFIX);

	for (size_t i = 0; i < ARRAY_SIZE(var_defs); i++) {
		if (strlen(var_defs[i].name) == len && !strncasecmp(var_defs[i].name, name, len))
			return var_defs[i].var;
	}
	/* iot:Connection.Thing.Attributes[<name>], <name> non-empty, no ']' */
	if (len > plen + 1 && !strncasecmp(name, THING_ATTR_PREFIX, plen) && name[len - 1] == ']' &&
	    !memchr(name + plen, ']', len - plen - 1))
		return POL_VAR_THING;
	/*
	 * iot:Certificate.* (Subject.CommonName, Issuer.*, SerialNumber, ...):
	 * valid AWS variables with no value on a custom-auth connection, which
	 * carries no client certificate; unresolved like the thing variables.
	 */
	if (len > strlen(CERT_VAR_PREFIX) &&
	    !strncasecmp(name, CERT_VAR_PREFIX, strlen(CERT_VAR_PREFIX)))
		return POL_VAR_THING;
	return -1;
}

/* Reads `${...}` at @s (which starts with "${"); fills @pc; returns bytes used. */
static int read_variable(struct pol_cc *cc, const char *s, size_t len, struct piece *pc)
{
	const char *end = memchr(s + 2, '}', len - 2);
	size_t nlen;
	int var;

	if (!end)
		return pol_fail(cc, "unterminated policy variable \"%.*s\": missing '}'",
				(int)TG_MIN(len, 64), s);
	nlen = (size_t)(end - (s + 2));
	if (nlen == 1 && (s[2] == '*' || s[2] == '?' || s[2] == '$')) {
		/* Escapes: the literal character itself. */
		pc->type = POL_TOK_LIT;
		pc->s = s + 2;
		pc->len = 1;
		return 4;
	}
	var = var_lookup(s + 2, nlen);
	if (var < 0)
		return pol_fail(cc, "unknown policy variable \"${%.*s}\"", (int)TG_MIN(nlen, 96),
				s + 2);
	pc->type = POL_TOK_VAR;
	pc->var = (uint8_t)var;
	return (int)nlen + 3;
}

/*
 * Cuts @s into pieces (at most @len + 1 of them fit in @out). Returns the
 * number of pieces or -EINVAL.
 */
static int read_pieces(struct pol_cc *cc, const char *s, size_t len, unsigned flags,
		       struct piece *out)
{
	size_t i = 0, n = 0;

	while (i < len) {
		struct piece *pc = &out[n];
		char c = s[i];

		memset(pc, 0, sizeof(*pc));
		if ((flags & POL_PAT_F_VARS) && c == '$' && i + 1 < len && s[i + 1] == '{') {
			int used = read_variable(cc, s + i, len - i, pc);

			if (used < 0)
				return used;
			i += (size_t)used;
		} else if ((flags & POL_PAT_F_GLOB) && c == '*') {
			i++;
			/* "**" is "*": keep one star so matching stays linear per star. */
			if (n > 0 && out[n - 1].type == POL_TOK_STAR)
				continue;
			pc->type = POL_TOK_STAR;
		} else if ((flags & POL_PAT_F_GLOB) && c == '?') {
			pc->type = POL_TOK_ONE;
			i++;
		} else {
			size_t j = i + 1;

			while (j < len &&
			       !((flags & POL_PAT_F_GLOB) && (s[j] == '*' || s[j] == '?')) &&
			       !((flags & POL_PAT_F_VARS) && s[j] == '$'))
				j++;
			pc->type = POL_TOK_LIT;
			pc->s = s + i;
			pc->len = j - i;
			i = j;
		}
		n++;
	}
	return (int)n;
}

static int oom(struct pol_cc *cc)
{
	pol_fail(cc, "out of memory");
	return -ENOMEM;
}

/* Merges the literal run pcs[*i...] into one arena copy; advances *i. */
static int merge_literals(struct pol_cc *cc, const struct piece *pcs, size_t n, size_t *i,
			  struct pol_tok *tok)
{
	size_t total = 0, j;
	char *buf;

	for (j = *i; j < n && pcs[j].type == POL_TOK_LIT; j++)
		total += pcs[j].len;
	buf = pol_arena_alloc(cc->arena, total + 1);
	if (!buf)
		return oom(cc);
	tok->type = POL_TOK_LIT;
	tok->lit = buf;
	tok->len = (uint32_t)total;
	for (; *i < j; (*i)++) {
		memcpy(buf, pcs[*i].s, pcs[*i].len);
		buf += pcs[*i].len;
	}
	return 0;
}

/* Builds @out from @n pieces. */
static int build_pattern(struct pol_cc *cc, const struct piece *pcs, size_t n,
			 struct pol_pattern *out)
{
	struct pol_tok *toks = pol_arena_alloc(cc->arena, (n + 1) * sizeof(*toks));
	size_t nt = 0, first = 0;
	int rc;

	if (!toks)
		return oom(cc);
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n;) {
		if (pcs[i].type == POL_TOK_LIT) {
			rc = merge_literals(cc, pcs, n, &i, &toks[nt++]);
			if (rc)
				return rc;
			continue;
		}
		toks[nt].type = pcs[i].type;
		toks[nt].var = pcs[i].var;
		if (pcs[i].type == POL_TOK_VAR)
			out->var_mask |= (uint8_t)POL_VAR_BIT(pcs[i].var);
		nt++;
		i++;
	}

	out->prefix = "";
	out->suffix = "";
	if (nt > 0 && toks[0].type == POL_TOK_LIT) {
		out->prefix = toks[0].lit;
		out->prefix_len = toks[0].len;
		first = 1;
	}
	if (first == nt) {
		out->kind = POL_PAT_EXACT;
		out->min_len = out->prefix_len;
		return 0;
	}
	if (toks[nt - 1].type == POL_TOK_LIT) {
		out->suffix = toks[nt - 1].lit;
		out->suffix_len = toks[nt - 1].len;
		nt--;
	}
	out->toks = &toks[first];
	out->ntoks = (uint16_t)(nt - first);
	out->min_len = out->prefix_len + out->suffix_len;
	for (size_t i = first; i < nt; i++) {
		if (toks[i].type == POL_TOK_LIT)
			out->min_len += toks[i].len;
		else if (toks[i].type == POL_TOK_ONE)
			out->min_len++;
	}
	out->kind = (out->ntoks == 1 && out->toks[0].type == POL_TOK_STAR && !out->suffix_len) ?
			    POL_PAT_PREFIX_STAR :
			    POL_PAT_GENERAL;
	return 0;
}

int pol_pattern_compile(struct pol_cc *cc, const char *s, size_t len, unsigned flags,
			struct pol_pattern *out)
{
	struct piece *pcs = calloc(len + 1, sizeof(*pcs));
	int n, rc;

	if (!pcs)
		return oom(cc);
	n = read_pieces(cc, s, len, flags, pcs);
	rc = n < 0 ? n : build_pattern(cc, pcs, (size_t)n, out);
	free(pcs);
	return rc;
}

/*
 * Splits @n pieces at the first five colons of their literal text into
 * @out (room for n + 5) and records where each part starts in @start[0..6].
 * Returns the number of pieces written, or -1 when there are fewer than
 * five colons.
 */
static int split_arn_pieces(const struct piece *pcs, size_t n, struct piece *out, size_t start[7])
{
	size_t nout = 0, part = 0;

	start[0] = 0;
	for (size_t i = 0; i < n; i++) {
		struct piece pc = pcs[i];
		const char *colon;

		while (part < 5 && pc.type == POL_TOK_LIT && (colon = memchr(pc.s, ':', pc.len))) {
			size_t head = (size_t)(colon - pc.s);

			if (head) {
				out[nout] = pc;
				out[nout++].len = head;
			}
			start[++part] = nout;
			pc.s += head + 1;
			pc.len -= head + 1;
		}
		if (pc.type != POL_TOK_LIT || pc.len)
			out[nout++] = pc;
	}
	start[6] = nout;
	return part == 5 ? (int)nout : -1;
}

int pol_arn_pattern_compile(struct pol_cc *cc, const char *s, size_t len, unsigned flags,
			    struct pol_pattern out[6])
{
	struct piece *pcs = calloc(2 * (len + 1) + 5, sizeof(*pcs));
	struct piece *split = pcs ? pcs + len + 1 : NULL;
	size_t start[7];
	int n, rc = 0;

	if (!pcs)
		return oom(cc);
	n = read_pieces(cc, s, len, flags, pcs);
	if (n < 0) {
		rc = n;
		goto out;
	}
	n = split_arn_pieces(pcs, (size_t)n, split, start);
	if (n < 0 || len < 4 || memcmp(s, "arn:", 4)) {
		rc = pol_fail(cc, "expected an ARN of six colon-separated parts "
				  "(arn:partition:service:region:account:resource)");
		goto out;
	}
	for (size_t p = 0; p < 6 && !rc; p++)
		rc = build_pattern(cc, split + start[p], start[p + 1] - start[p], &out[p]);
out:
	free(pcs);
	return rc;
}

bool pol_arn_split(const char *s, size_t len, const char *part[6], size_t part_len[6])
{
	const char *p = s, *end = s + len;

	for (size_t k = 0; k < 5; k++) {
		const char *colon = memchr(p, ':', (size_t)(end - p));

		if (!colon)
			return false;
		part[k] = p;
		part_len[k] = (size_t)(colon - p);
		p = colon + 1;
	}
	part[5] = p;
	part_len[5] = (size_t)(end - p);
	return true;
}

/* ASCII case-insensitive equality of @n bytes (IgnoreCase operators). */
static bool eq_icase(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (x != y && ((x | 0x20) != (y | 0x20) || (x | 0x20) < 'a' || (x | 0x20) > 'z'))
			return false;
	}
	return true;
}

static inline bool eq(const char *a, const char *b, size_t n, bool icase)
{
	if (icase)
		return eq_icase(a, b, n);
	if (n < 8) {
		/* Short literals (ARN parts, "/"): a call to memcmp() costs more. */
		for (size_t i = 0; i < n; i++)
			if (a[i] != b[i])
				return false;
		return true;
	}
	return !memcmp(a, b, n);
}

/*
 * Equality of a prefix. Patterns of one policy share their ARN head
 * ("arn:aws:iot:<region>:<account>:topic/") and differ near the end of the
 * prefix, so comparing the last 8 bytes first rejects most mismatches in one
 * load instead of a 40-byte memcmp().
 */
static inline bool eq_prefix(const char *s, const char *prefix, size_t n, bool icase)
{
	uint64_t x, y;

	if (n >= sizeof(x) && !icase) {
		memcpy(&x, s + n - sizeof(x), sizeof(x));
		memcpy(&y, prefix + n - sizeof(y), sizeof(y));
		if (x != y)
			return false;
	}
	return eq(s, prefix, n, icase);
}

/* Index after the UTF-8 code point that starts at @p (< @n). */
static inline size_t next_char(const char *s, size_t p, size_t n)
{
	for (p++; p < n && ((unsigned char)s[p] & 0xc0) == 0x80; p++)
		;
	return p;
}

/* Does @tok (a literal or a variable) match at @s + @p? Advances @p. */
static inline bool match_fixed(const struct pol_tok *tok, const char *s, size_t *p, size_t n,
			       struct pol_ctx *cx, bool icase)
{
	const char *lit = tok->lit;
	size_t len = tok->len;

	if (tok->type == POL_TOK_VAR)
		lit = pol_ctx_var(cx, tok->var, &len);
	if (n - *p < len || !eq(s + *p, lit, len, icase))
		return false;
	*p += len;
	return true;
}

static bool match_tokens(const struct pol_tok *toks, size_t nt, const char *s, size_t n,
			 struct pol_ctx *cx, bool icase)
{
	size_t ti = 0, p = 0;
	size_t star_ti = SIZE_MAX, star_p = 0;

	while (ti < nt || p < n) {
		if (ti < nt) {
			const struct pol_tok *tok = &toks[ti];

			if (tok->type == POL_TOK_STAR) {
				star_ti = ++ti;
				star_p = p;
				continue;
			}
			if (tok->type == POL_TOK_ONE) {
				if (p < n) {
					p = next_char(s, p, n);
					ti++;
					continue;
				}
			} else if (match_fixed(tok, s, &p, n, cx, icase)) {
				ti++;
				continue;
			}
		}
		/* Mismatch, or text left over: the last star takes one more character. */
		if (star_ti == SIZE_MAX || star_p >= n)
			return false;
		star_p = next_char(s, star_p, n);
		if (star_ti < nt && toks[star_ti].type == POL_TOK_LIT && !icase) {
			/* A literal after the star can start only where its first byte is. */
			const char *hit = memchr(s + star_p, toks[star_ti].lit[0], n - star_p);

			if (!hit)
				return false;
			star_p = (size_t)(hit - s);
		}
		p = star_p;
		ti = star_ti;
	}
	return true;
}

bool pol_pattern_match(const struct pol_pattern *pat, const char *s, size_t len, struct pol_ctx *cx,
		       bool icase)
{
	if (pat->kind == POL_PAT_EXACT)
		return len == pat->prefix_len && eq_prefix(s, pat->prefix, len, icase);
	if (len < pat->min_len || !eq_prefix(s, pat->prefix, pat->prefix_len, icase))
		return false;
	if (pat->kind == POL_PAT_PREFIX_STAR)
		return true;
	if (!eq(s + len - pat->suffix_len, pat->suffix, pat->suffix_len, icase))
		return false;
	return match_tokens(pat->toks, pat->ntoks, s + pat->prefix_len,
			    len - pat->prefix_len - pat->suffix_len, cx, icase);
}
