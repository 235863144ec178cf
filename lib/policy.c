/* The flat-text policy (SPEC "Policy", enf-policy(5)): one strict parser,
 * the lookups decide() uses, and the canonical and JSON renderings.
 *
 * The parser reads the whole file, collects every diagnostic with its line,
 * resolves references only once every definition is known (so a rule may
 * name an identity defined further down), and prints the diagnostics sorted
 * by line, the way a compiler does.  A policy with any error is never
 * returned: there is no partial policy. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "enf.h"
#include "crypto.h"
#include "keyfmt.h"
#include "encode.h"
#include "policy.h"

/* More digits than this is a typo, not a quorum; it also keeps the value
 * far from overflowing an unsigned. */
#define APPROVALS_DIGITS_MAX 6

struct diag {
	unsigned line;
	int error;
	size_t seq;			/* keeps equal lines in the order found */
	char msg[240];
};

struct names {
	char **v;
	size_t n;
};

/* Names seen so far, by kind, so that duplicate checks and reference
 * resolution stay linear in the size of the policy (enf-sign parses it on
 * every decision).  Open addressing; the key is the kind byte then the
 * name (or key blob). */
struct hent {
	unsigned char *k;
	size_t klen;
	size_t val;
};

struct htab {
	struct hent *e;
	size_t cap, n;
};

struct parser {
	struct htab names;
	const char *fname;
	struct policy *p;
	struct diag *d;
	size_t nd;
	int errors;
	int oom;
	unsigned nstatements;
	unsigned version_line, policy_line;
	struct names *gmembers;		/* parallel to p->groups, until resolved */
};

static void diag(struct parser *ps, unsigned line, int error, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void diag(struct parser *ps, unsigned line, int error, const char *fmt, ...)
{
	struct diag *d;
	va_list ap;

	if (error)
		ps->errors++;
	d = realloc(ps->d, (ps->nd + 1) * sizeof *d);
	if (!d) {
		ps->oom = 1;
		return;
	}
	ps->d = d;
	d += ps->nd;
	d->line = line;
	d->error = error;
	d->seq = ps->nd++;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof d->msg, fmt, ap);
	va_end(ap);
}

static int diag_cmp(const void *a, const void *b)
{
	const struct diag *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void diag_print(struct parser *ps, FILE *out)
{
	if (!out || !ps->nd)
		return;
	qsort(ps->d, ps->nd, sizeof *ps->d, diag_cmp);
	for (size_t i = 0; i < ps->nd; i++)
		fprintf(out, "%s:%u: %s: %s\n", ps->fname, ps->d[i].line,
			ps->d[i].error ? "error" : "warning", ps->d[i].msg);
}

static int push_str(struct parser *ps, char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof *nv);
	char *c = strdup(s);

	if (nv)
		*v = nv;
	if (!nv || !c) {
		free(c);
		ps->oom = 1;
		return -1;
	}
	(*v)[(*n)++] = c;
	return 0;
}

static void free_strs(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The policy's string lists are mutable char *; name_index reads them. */
static int listed(char *const *v, size_t n, const char *s)
{
	return name_index((const char *const *)v, n, s) >= 0;
}

static uint64_t ht_hash(const unsigned char *k, size_t n)
{
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ k[i]) * 1099511628211ULL;
	return h;
}

static struct hent *ht_slot(const struct htab *t, const unsigned char *k, size_t n)
{
	size_t i = (size_t)ht_hash(k, n) & (t->cap - 1);

	while (t->e[i].k && !(t->e[i].klen == n && memcmp(t->e[i].k, k, n) == 0))
		i = (i + 1) & (t->cap - 1);
	return &t->e[i];
}

static int ht_grow(struct htab *t)
{
	struct htab nt = { NULL, t->cap ? t->cap * 2 : 64, t->n };

	if (!(nt.e = calloc(nt.cap, sizeof *nt.e)))
		return -1;
	for (size_t i = 0; i < t->cap; i++)
		if (t->e[i].k)
			*ht_slot(&nt, t->e[i].k, t->e[i].klen) = t->e[i];
	free(t->e);
	*t = nt;
	return 0;
}

static void ht_free(struct htab *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->e[i].k);
	free(t->e);
}

/* Lookup key kind+k; 1 and *val when present. */
static int ht_get(const struct htab *t, char kind, const void *k, size_t n, size_t *val)
{
	unsigned char buf[1 + ENF_NAME_MAX + 1 + ENF_NAME_MAX];
	unsigned char *key = n < sizeof buf ? buf : malloc(n + 1);
	const struct hent *e;

	if (!t->cap || !key) {
		if (key && key != buf)
			free(key);
		return 0;
	}
	key[0] = (unsigned char)kind;
	memcpy(key + 1, k, n);
	e = ht_slot(t, key, n + 1);
	if (key != buf)
		free(key);
	if (e->k && val)
		*val = e->val;
	return e->k != NULL;
}

static void ht_put(struct parser *ps, char kind, const void *k, size_t n, size_t val)
{
	struct htab *t = &ps->names;
	unsigned char *key;
	struct hent *e;

	if ((t->n + 1) * 2 > t->cap && ht_grow(t) != 0) {
		ps->oom = 1;
		return;
	}
	if (!(key = malloc(n + 1))) {
		ps->oom = 1;
		return;
	}
	key[0] = (unsigned char)kind;
	memcpy(key + 1, k, n);
	e = ht_slot(t, key, n + 1);
	if (e->k) {
		free(key);
		return;
	}
	e->k = key;
	e->klen = n + 1;
	e->val = val;
	t->n++;
}

static int name_get(const struct parser *ps, char kind, const char *name, size_t *val)
{
	return ht_get(&ps->names, kind, name, strlen(name), val);
}

static void name_put(struct parser *ps, char kind, const char *name, size_t val)
{
	ht_put(ps, kind, name, strlen(name), val);
}

/* ---- lookups ---- */

const struct pol_identity *policy_identity(const struct policy *p, const char *name)
{
	for (size_t i = 0; p && name && i < p->nidentities; i++)
		if (strcmp(p->identities[i].name, name) == 0)
			return &p->identities[i];
	return NULL;
}

const struct pol_group *policy_group(const struct policy *p, const char *name)
{
	for (size_t i = 0; p && name && i < p->ngroups; i++)
		if (strcmp(p->groups[i].name, name) == 0)
			return &p->groups[i];
	return NULL;
}

const struct pol_rule *policy_rule(const struct policy *p, const char *name)
{
	for (size_t i = 0; p && name && i < p->nrules; i++)
		if (strcmp(p->rules[i].name, name) == 0)
			return &p->rules[i];
	return NULL;
}

int policy_has_purpose(const struct policy *p, const char *s)
{
	return p && s && listed(p->purposes, p->npurposes, s);
}

int policy_revoked_identity(const struct policy *p, const char *s)
{
	return p && s && listed(p->revoked_identities, p->nrevoked_identities, s);
}

int policy_revoked_key(const struct policy *p, const char *s)
{
	return p && s && listed(p->revoked_keys, p->nrevoked_keys, s);
}

int policy_revoked_rule(const struct policy *p, const char *s)
{
	return p && s && listed(p->revoked_rules, p->nrevoked_rules, s);
}

/* ---- freeing ---- */

static void rule_clear(struct pol_rule *r)
{
	free_strs(r->scopes, r->nscopes);
	r->scopes = NULL;
	r->nscopes = 0;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	free_strs(p->purposes, p->npurposes);
	for (size_t i = 0; i < p->nidentities; i++) {
		pubkey_free(&p->identities[i].key);
		free(p->identities[i].comment);
	}
	free(p->identities);
	for (size_t i = 0; i < p->ngroups; i++)
		free(p->groups[i].members);
	free(p->groups);
	for (size_t i = 0; i < p->nrules; i++)
		rule_clear(&p->rules[i]);
	free(p->rules);
	free_strs(p->revoked_identities, p->nrevoked_identities);
	free_strs(p->revoked_keys, p->nrevoked_keys);
	free_strs(p->revoked_rules, p->nrevoked_rules);
	free(p);
}

/* ---- statements ---- */

/* Name syntax, with the diagnostic; what names `what` ("identity"). */
static int check_name(struct parser *ps, unsigned line, const char *what, const char *s)
{
	if (enf_valid_name(s))
		return 1;
	diag(ps, line, 1, "bad %s name '%.64s%s': names match [a-z0-9][a-z0-9._-]{0,63}",
	     what, s, strlen(s) > 64 ? "..." : "");
	return 0;
}

static void st_version(struct parser *ps, char **tok, size_t ntok, unsigned line)
{
	if (ps->version_line) {
		diag(ps, line, 1, "repeated 'version' (first at line %u)", ps->version_line);
		return;
	}
	ps->version_line = line;
	if (ntok != 2 || strcmp(tok[1], "1") != 0)
		diag(ps, line, 1, "unsupported version: expected 'version 1'");
	else if (ps->nstatements != 1)
		diag(ps, line, 1, "'version 1' must be the first statement");
}

static void st_policy(struct parser *ps, char **tok, size_t ntok, unsigned line)
{
	if (ps->policy_line) {
		diag(ps, line, 1, "repeated 'policy' (first at line %u)", ps->policy_line);
		return;
	}
	/* Seen even when malformed, so that it is not also "missing". */
	ps->policy_line = line;
	if (ntok != 2)
		diag(ps, line, 1, "expected 'policy ID'");
	else if (check_name(ps, line, "policy", tok[1]))
		strcpy(ps->p->id, tok[1]);
}

static void st_purpose(struct parser *ps, char **tok, size_t ntok, unsigned line)
{
	if (ntok != 2) {
		diag(ps, line, 1, "expected 'purpose NAME'");
		return;
	}
	if (!check_name(ps, line, "purpose", tok[1]))
		return;
	if (name_get(ps, 'p', tok[1], NULL)) {
		diag(ps, line, 1, "duplicate purpose '%s'", tok[1]);
		return;
	}
	if (push_str(ps, &ps->p->purposes, &ps->p->npurposes, tok[1]) == 0)
		name_put(ps, 'p', tok[1], ps->p->npurposes - 1);
}

/* tok[2..ntok) joined by single spaces, or NULL when empty. */
static char *join(char **tok, size_t from, size_t ntok)
{
	size_t len = 0;
	char *s;

	if (from >= ntok)
		return NULL;
	for (size_t i = from; i < ntok; i++)
		len += strlen(tok[i]) + 1;
	if (!(s = malloc(len)))
		return NULL;
	s[0] = '\0';
	for (size_t i = from; i < ntok; i++) {
		if (i > from)
			strcat(s, " ");
		strcat(s, tok[i]);
	}
	return s;
}

static int identity_key(struct parser *ps, struct pubkey *k, char **tok, unsigned line)
{
	char *kl = join(tok, 2, 4);
	size_t i;

	if (!kl) {
		ps->oom = 1;
		return -1;
	}
	enf_err_clear();
	if (pubkey_from_line(k, kl, NULL) != ENF_OK) {
		const char *why = enf_errmsg();
		diag(ps, line, 1, "identity '%s': not a valid OpenSSH public key%s%s", tok[1],
		     why[0] ? ": " : "", why);
		free(kl);
		return -1;
	}
	free(kl);
	/* One key, one identity: otherwise one approval would count as two
	 * distinct approvers. */
	if (ht_get(&ps->names, 'k', k->blob, k->bloblen, &i)) {
		diag(ps, line, 1, "identity '%s' has the same public key as identity '%s'"
		     " (line %u)", tok[1], ps->p->identities[i].name, ps->p->identities[i].line);
		pubkey_free(k);
		return -1;
	}
	return 0;
}

static void st_identity(struct parser *ps, char **tok, size_t ntok, unsigned line)
{
	struct pol_identity *v, id;
	size_t at;

	if (ntok < 4) {
		diag(ps, line, 1, "expected 'identity NAME KEYTYPE BASE64 [COMMENT]'");
		return;
	}
	if (!check_name(ps, line, "identity", tok[1]))
		return;
	if (name_get(ps, 'i', tok[1], &at)) {
		diag(ps, line, 1, "duplicate identity '%s' (first at line %u)", tok[1],
		     ps->p->identities[at].line);
		return;
	}
	memset(&id, 0, sizeof id);
	if (identity_key(ps, &id.key, tok, line) != 0)
		return;
	strcpy(id.name, tok[1]);
	id.line = line;
	id.comment = join(tok, 4, ntok);
	v = realloc(ps->p->identities, (ps->p->nidentities + 1) * sizeof *v);
	if (!v || (ntok > 4 && !id.comment)) {
		if (v)
			ps->p->identities = v;
		pubkey_free(&id.key);
		free(id.comment);
		ps->oom = 1;
		return;
	}
	ps->p->identities = v;
	name_put(ps, 'i', id.name, ps->p->nidentities);
	ht_put(ps, 'k', id.key.blob, id.key.bloblen, ps->p->nidentities);
	v[ps->p->nidentities++] = id;
}

static void st_group(struct parser *ps, char **tok, size_t ntok, unsigned line)
{
	struct pol_group *g;
	struct names *m, members = { NULL, 0 };
	size_t at;

	if (ntok < 3) {
		diag(ps, line, 1, "expected 'group NAME MEMBER...'");
		return;
	}
	if (!check_name(ps, line, "group", tok[1]))
		return;
	if (name_get(ps, 'g', tok[1], &at)) {
		diag(ps, line, 1, "duplicate group '%s' (first at line %u)", tok[1],
		     ps->p->groups[at].line);
		return;
	}
	for (size_t i = 2; i < ntok; i++) {
		char key[2 * ENF_NAME_MAX + 2];

		if (!check_name(ps, line, "identity", tok[i]))
			goto fail;
		snprintf(key, sizeof key, "%s/%s", tok[1], tok[i]);
		if (name_get(ps, 'm', key, NULL)) {
			diag(ps, line, 1, "group '%s': repeated member '%s'", tok[1], tok[i]);
			goto fail;
		}
		if (push_str(ps, &members.v, &members.n, tok[i]) != 0)
			goto fail;
		name_put(ps, 'm', key, 0);
	}
	g = realloc(ps->p->groups, (ps->p->ngroups + 1) * sizeof *g);
	if (g)
		ps->p->groups = g;
	m = realloc(ps->gmembers, (ps->p->ngroups + 1) * sizeof *m);
	if (m)
		ps->gmembers = m;
	if (!g || !m) {
		ps->oom = 1;
		goto fail;
	}
	g += ps->p->ngroups;
	memset(g, 0, sizeof *g);
	strcpy(g->name, tok[1]);
	g->line = line;
	name_put(ps, 'g', g->name, ps->p->ngroups);
	m[ps->p->ngroups++] = members;
	return;
fail:
	free_strs(members.v, members.n);
}

enum attr { A_KEY, A_IDENTITY, A_PURPOSE, A_SCOPE, A_APPROVALS, A_COUNT };
static const char *const attr_names[A_COUNT] = {
	"key", "identity", "purpose", "scope", "approvals"
};

static int attr_of(const char *s, size_t n)
{
	for (int a = 0; a < A_COUNT; a++)
		if (strlen(attr_names[a]) == n && strncmp(attr_names[a], s, n) == 0)
			return a;
	return -1;
}

static int rule_scopes(struct parser *ps, struct pol_rule *r, const char *v, unsigned line)
{
	char *copy = strdup(v), *save = NULL, *s;
	int ok = 1;

	if (!copy) {
		ps->oom = 1;
		return -1;
	}
	/* strtok would skip empty items; an empty item is an error here. */
	if (v[0] == ',' || v[strlen(v) - 1] == ',' || strstr(v, ",,")) {
		diag(ps, line, 1, "rule '%s': empty scope pattern in 'scope=%s'", r->name, v);
		free(copy);
		return -1;
	}
	for (s = strtok_r(copy, ",", &save); s && ok; s = strtok_r(NULL, ",", &save)) {
		if (!scope_pattern_valid(s)) {
			diag(ps, line, 1, "rule '%s': bad scope pattern '%.*s': scopes are "
			     SCOPE_CHARS "{1,%d}, with '*' only at the end", r->name,
			     SCOPE_MAX + 2, s, SCOPE_MAX);
			ok = 0;
		} else if (listed(r->scopes, r->nscopes, s)) {
			diag(ps, line, 0, "rule '%s': repeated scope pattern '%s'", r->name, s);
		} else if (push_str(ps, &r->scopes, &r->nscopes, s) != 0) {
			ok = 0;
		}
	}
	free(copy);
	return ok ? 0 : -1;
}

static int rule_approvals(struct parser *ps, struct pol_rule *r, const char *v, unsigned line)
{
	const char *colon = strchr(v, ':');
	size_t nd = colon ? (size_t)(colon - v) : 0;
	unsigned long n = 0;

	if (!colon || nd == 0 || strspn(v, "0123456789") != nd) {
		diag(ps, line, 1, "rule '%s': expected 'approvals=N:GROUP', got 'approvals=%s'",
		     r->name, v);
		return -1;
	}
	if (nd > APPROVALS_DIGITS_MAX) {
		diag(ps, line, 1, "rule '%s': approvals count '%.*s' is out of range", r->name,
		     (int)nd, v);
		return -1;
	}
	for (size_t i = 0; i < nd; i++)
		n = n * 10 + (unsigned long)(v[i] - '0');
	if (n < 1) {
		diag(ps, line, 1, "rule '%s': approvals=N:GROUP needs N of at least 1", r->name);
		return -1;
	}
	if (!check_name(ps, line, "group", colon + 1))
		return -1;
	r->approvals = (unsigned)n;
	strcpy(r->group, colon + 1);
	return 0;
}

static int rule_attr(struct parser *ps, struct pol_rule *r, int a, const char *v, unsigned line)
{
	switch (a) {
	case A_KEY:
		if (!check_name(ps, line, "key", v))
			return -1;
		strcpy(r->key, v);
		return 0;
	case A_IDENTITY:
		if (!check_name(ps, line, "identity", v))
			return -1;
		strcpy(r->identity, v);
		return 0;
	case A_PURPOSE:
		if (!check_name(ps, line, "purpose", v))
			return -1;
		strcpy(r->purpose, v);
		return 0;
	case A_SCOPE:
		return rule_scopes(ps, r, v, line);
	default:
		return rule_approvals(ps, r, v, line);
	}
}

/* Every attribute of the rule, all diagnosed; -1 if any error. */
static int rule_attrs(struct parser *ps, struct pol_rule *r, char **tok, size_t ntok,
		      unsigned line)
{
	int seen[A_COUNT] = { 0 }, bad = 0;

	for (size_t i = 2; i < ntok; i++) {
		char *eq = strchr(tok[i], '=');
		int a = eq ? attr_of(tok[i], (size_t)(eq - tok[i])) : -1;

		if (!eq) {
			diag(ps, line, 1, "rule '%s': expected ATTRIBUTE=VALUE, got '%.64s'",
			     r->name, tok[i]);
			bad = 1;
		} else if (a < 0) {
			diag(ps, line, 1, "rule '%s': unknown attribute '%.*s'", r->name,
			     (int)(eq - tok[i] > 64 ? 64 : eq - tok[i]), tok[i]);
			bad = 1;
		} else if (seen[a]) {
			diag(ps, line, 1, "rule '%s': repeated attribute '%s'", r->name,
			     attr_names[a]);
			bad = 1;
		} else if (!eq[1]) {
			seen[a] = 1;
			diag(ps, line, 1, "rule '%s': empty value for '%s'", r->name,
			     attr_names[a]);
			bad = 1;
		} else {
			seen[a] = 1;
			if (rule_attr(ps, r, a, eq + 1, line) != 0)
				bad = 1;
		}
	}
	for (int a = 0; a < A_APPROVALS; a++)
		if (!seen[a]) {
			diag(ps, line, 1, "rule '%s': missing attribute '%s='", r->name,
			     attr_names[a]);
			bad = 1;
		}
	return bad ? -1 : 0;
}

static void st_rule(struct parser *ps, char **tok, size_t ntok, unsigned line)
{
	struct pol_rule r, *v;
	size_t at;

	if (ntok < 2) {
		diag(ps, line, 1, "expected 'rule NAME key=K identity=I purpose=P scope=S[,S...]"
		     " [approvals=N:GROUP]'");
		return;
	}
	if (!check_name(ps, line, "rule", tok[1]))
		return;
	if (name_get(ps, 'r', tok[1], &at)) {
		diag(ps, line, 1, "duplicate rule '%s' (first at line %u)", tok[1],
		     ps->p->rules[at].line);
		return;
	}
	memset(&r, 0, sizeof r);
	strcpy(r.name, tok[1]);
	r.line = line;
	if (rule_attrs(ps, &r, tok, ntok, line) != 0) {
		rule_clear(&r);
		return;
	}
	v = realloc(ps->p->rules, (ps->p->nrules + 1) * sizeof *v);
	if (!v) {
		rule_clear(&r);
		ps->oom = 1;
		return;
	}
	ps->p->rules = v;
	name_put(ps, 'r', r.name, ps->p->nrules);
	v[ps->p->nrules++] = r;
}

/* Revocations may name what this policy does not define: keys live in the
 * keystore, and a revocation must outlive the definition it cancels (an
 * identity removed from the policy stays revoked if it comes back). */
static void st_revoke(struct parser *ps, char **tok, size_t ntok, unsigned line)
{
	struct policy *p = ps->p;
	char ***v;
	size_t *n;

	if (ntok != 3) {
		diag(ps, line, 1, "expected 'revoke identity|key|rule NAME'");
		return;
	}
	if (strcmp(tok[1], "identity") == 0) {
		v = &p->revoked_identities;
		n = &p->nrevoked_identities;
	} else if (strcmp(tok[1], "key") == 0) {
		v = &p->revoked_keys;
		n = &p->nrevoked_keys;
	} else if (strcmp(tok[1], "rule") == 0) {
		v = &p->revoked_rules;
		n = &p->nrevoked_rules;
	} else {
		diag(ps, line, 1, "cannot revoke '%.64s': expected 'revoke identity|key|rule NAME'",
		     tok[1]);
		return;
	}
	if (!check_name(ps, line, tok[1], tok[2]))
		return;
	/* 'I', 'K', 'R': revoked identities, keys, rules. */
	if (name_get(ps, (char)(tok[1][0] - 'a' + 'A'), tok[2], NULL)) {
		diag(ps, line, 0, "%s '%s' is already revoked", tok[1], tok[2]);
		return;
	}
	if (push_str(ps, v, n, tok[2]) == 0)
		name_put(ps, (char)(tok[1][0] - 'a' + 'A'), tok[2], 0);
}

static const struct {
	const char *word;
	void (*fn)(struct parser *, char **, size_t, unsigned);
} statements[] = {
	{ "version", st_version }, { "policy", st_policy }, { "purpose", st_purpose },
	{ "identity", st_identity }, { "group", st_group }, { "rule", st_rule },
	{ "revoke", st_revoke },
};

/* ---- lines ---- */

/* Statements are ASCII; a comment may hold any text but control bytes.
 * Returns 0, or -1 after diagnosing the first bad byte. */
static int check_bytes(struct parser *ps, const char *s, size_t len, unsigned line,
		       size_t *code_len)
{
	int comment = 0;

	*code_len = len;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *bad = NULL;

		if (c == '#' && !comment) {
			comment = 1;
			*code_len = i;
		}
		if (c == '\0')
			bad = "NUL byte";
		else if (c == '\r')
			bad = "carriage return (the policy uses LF line endings)";
		else if ((c < 0x20 && c != '\t') || c == 0x7f)
			bad = "control character";
		else if (c > 0x7f && !comment)
			bad = "non-ASCII byte outside a comment";
		if (bad) {
			diag(ps, line, 1, "%s", bad);
			return -1;
		}
	}
	return 0;
}

static size_t tokenize(char *s, char **tok)
{
	size_t n = 0;
	char *save = NULL;

	for (char *t = strtok_r(s, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
		tok[n++] = t;
	return n;
}

static void parse_line(struct parser *ps, const char *s, size_t len, unsigned line)
{
	size_t code_len, ntok, i;
	char *copy, **tok;

	if (check_bytes(ps, s, len, line, &code_len) != 0)
		return;
	copy = malloc(code_len + 1);
	/* At most one token per two bytes, plus one. */
	tok = malloc((code_len / 2 + 2) * sizeof *tok);
	if (!copy || !tok) {
		ps->oom = 1;
		goto out;
	}
	memcpy(copy, s, code_len);
	copy[code_len] = '\0';
	if ((ntok = tokenize(copy, tok)) == 0)
		goto out;
	ps->nstatements++;
	if (ps->nstatements == 1 && strcmp(tok[0], "version") != 0)
		diag(ps, line, 1, "missing 'version 1': it must be the first statement");
	for (i = 0; i < sizeof statements / sizeof statements[0]; i++)
		if (strcmp(tok[0], statements[i].word) == 0)
			break;
	if (i == sizeof statements / sizeof statements[0])
		diag(ps, line, 1, "unknown statement '%.64s'", tok[0]);
	else
		statements[i].fn(ps, tok, ntok, line);
out:
	free(copy);
	free(tok);
}

/* ---- references ---- */

static void resolve_groups(struct parser *ps)
{
	struct policy *p = ps->p;

	for (size_t g = 0; g < p->ngroups; g++) {
		struct names *m = &ps->gmembers[g];
		struct pol_group *gr = &p->groups[g];

		gr->members = calloc(m->n, sizeof *gr->members);
		if (!gr->members) {
			ps->oom = 1;
			return;
		}
		for (size_t i = 0; i < m->n; i++) {
			size_t id;

			if (!name_get(ps, 'i', m->v[i], &id)) {
				diag(ps, gr->line, 1, "group '%s': undefined identity '%s'",
				     gr->name, m->v[i]);
				continue;
			}
			gr->members[gr->nmembers++] = id;
		}
	}
}

static int group_has(const struct policy *p, const struct pol_group *g, const char *name)
{
	for (size_t i = 0; i < g->nmembers; i++)
		if (strcmp(p->identities[g->members[i]].name, name) == 0)
			return 1;
	return 0;
}

static void rule_warnings(struct parser *ps, const struct pol_rule *r, const struct pol_group *g)
{
	for (size_t i = 0; i < r->nscopes; i++)
		if (strcmp(r->scopes[i], "*") == 0)
			diag(ps, r->line, 0, "rule '%s': scope '*' matches every scope", r->name);
	if (g) {
		int own = group_has(ps->p, g, r->identity);
		size_t others = g->nmembers - (own ? 1 : 0);

		if (own)
			diag(ps, r->line, 0, "rule '%s': approval group '%s' contains the rule's "
			     "own identity '%s' (its approvals do not count)", r->name, g->name,
			     r->identity);
		if (r->approvals > others)
			diag(ps, r->line, 0, "rule '%s': approvals=%u:%s can never be met: the "
			     "group has %zu member%s other than '%s'", r->name, r->approvals,
			     g->name, others, others == 1 ? "" : "s", r->identity);
	}
}

static void resolve_rules(struct parser *ps)
{
	struct policy *p = ps->p;

	for (size_t i = 0; i < p->nrules; i++) {
		const struct pol_rule *r = &p->rules[i];
		const struct pol_group *g = NULL;
		size_t gi;
		int ok = 1;

		if (!name_get(ps, 'i', r->identity, NULL)) {
			diag(ps, r->line, 1, "rule '%s': undefined identity '%s'", r->name,
			     r->identity);
			ok = 0;
		}
		if (!name_get(ps, 'p', r->purpose, NULL)) {
			diag(ps, r->line, 1, "rule '%s': undefined purpose '%s'", r->name,
			     r->purpose);
			ok = 0;
		}
		if (r->approvals) {
			if (name_get(ps, 'g', r->group, &gi)) {
				g = &p->groups[gi];
			} else {
				diag(ps, r->line, 1, "rule '%s': undefined group '%s'", r->name,
				     r->group);
				ok = 0;
			}
		}
		if (ok)
			rule_warnings(ps, r, g);
	}
}

static void finish(struct parser *ps, unsigned nlines)
{
	if (ps->nstatements == 0)
		diag(ps, 1, 1, "missing 'version 1': it must be the first statement");
	if (!ps->policy_line)
		diag(ps, nlines ? nlines : 1, 1, "missing 'policy ID' statement");
	resolve_groups(ps);
	resolve_rules(ps);
}

int policy_parse(const char *text, size_t n, const char *fname, FILE *diagout,
		 struct policy **out)
{
	struct parser ps;
	size_t off = 0;
	unsigned line = 0;
	int rc;

	if (out)
		*out = NULL;
	memset(&ps, 0, sizeof ps);
	ps.fname = fname ? fname : "policy";
	if (!(ps.p = calloc(1, sizeof *ps.p)))
		return enf_err(ENF_FAIL, "out of memory");
	while (off < n && !ps.oom) {
		const char *nl = memchr(text + off, '\n', n - off);
		size_t len = nl ? (size_t)(nl - (text + off)) : n - off;

		parse_line(&ps, text + off, len, ++line);
		off += len + (nl ? 1 : 0);
	}
	if (!ps.oom)
		finish(&ps, line);
	if (!ps.oom && hash_buf(HASH_SHA256, text, n, ps.p->digest) != ENF_OK)
		ps.oom = 1;
	diag_print(&ps, diagout);
	if (ps.oom)
		rc = enf_err(ENF_FAIL, "out of memory parsing the policy");
	else if (ps.errors)
		rc = enf_err(ENF_NO, "%s: %d error%s", ps.fname, ps.errors,
			     ps.errors == 1 ? "" : "s");
	else
		rc = ENF_OK;
	for (size_t g = 0; g < ps.p->ngroups; g++)
		free_strs(ps.gmembers[g].v, ps.gmembers[g].n);
	free(ps.gmembers);
	free(ps.d);
	ht_free(&ps.names);
	if (rc == ENF_OK && out)
		*out = ps.p;
	else
		policy_free(ps.p);
	return rc;
}

/* ---- rendering ---- */

static void show_revocations(FILE *o, const char *kind, char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(o, "revoke %s %s\n", kind, v[i]);
}

static int show_text(const struct policy *p, FILE *o)
{
	struct wbuf w;

	fprintf(o, "version 1\npolicy %s\n", p->id);
	for (size_t i = 0; i < p->npurposes; i++)
		fprintf(o, "purpose %s\n", p->purposes[i]);
	for (size_t i = 0; i < p->nidentities; i++) {
		wbuf_init(&w, 0);
		if (pubkey_to_line(&p->identities[i].key, p->identities[i].comment, &w) != ENF_OK ||
		    wbuf_cstr_terminate(&w) != 0) {
			wbuf_free(&w);
			return enf_err(ENF_FAIL, "cannot encode identity '%s'",
				       p->identities[i].name);
		}
		fprintf(o, "identity %s %s\n", p->identities[i].name, (char *)w.p);
		wbuf_free(&w);
	}
	for (size_t i = 0; i < p->ngroups; i++) {
		fprintf(o, "group %s", p->groups[i].name);
		for (size_t m = 0; m < p->groups[i].nmembers; m++)
			fprintf(o, " %s", p->identities[p->groups[i].members[m]].name);
		fputc('\n', o);
	}
	for (size_t i = 0; i < p->nrules; i++) {
		const struct pol_rule *r = &p->rules[i];
		fprintf(o, "rule %s key=%s identity=%s purpose=%s scope=", r->name, r->key,
			r->identity, r->purpose);
		for (size_t s = 0; s < r->nscopes; s++)
			fprintf(o, "%s%s", s ? "," : "", r->scopes[s]);
		if (r->approvals)
			fprintf(o, " approvals=%u:%s", r->approvals, r->group);
		fputc('\n', o);
	}
	show_revocations(o, "identity", p->revoked_identities, p->nrevoked_identities);
	show_revocations(o, "key", p->revoked_keys, p->nrevoked_keys);
	show_revocations(o, "rule", p->revoked_rules, p->nrevoked_rules);
	return ENF_OK;
}

static void json_str(FILE *o, const char *s)
{
	struct wbuf w;

	wbuf_init(&w, 0);
	if (json_string(&w, s ? s : "", s ? strlen(s) : 0) == 0)
		fwrite(w.p, 1, w.len, o);
	wbuf_free(&w);
}

static void json_strs(FILE *o, char *const *v, size_t n)
{
	fputc('[', o);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputc(',', o);
		json_str(o, v[i]);
	}
	fputc(']', o);
}

static int json_identity(FILE *o, const struct pol_identity *id)
{
	char fp[FINGERPRINT_MAX];
	struct wbuf w;

	wbuf_init(&w, 0);
	if (pubkey_to_line(&id->key, NULL, &w) != ENF_OK || wbuf_cstr_terminate(&w) != 0) {
		wbuf_free(&w);
		return enf_err(ENF_FAIL, "cannot encode identity '%s'", id->name);
	}
	pubkey_fingerprint(&id->key, fp);
	fputs("{\"name\":", o);
	json_str(o, id->name);
	fputs(",\"type\":", o);
	json_str(o, pubkey_ssh_type(&id->key));
	fputs(",\"key\":", o);
	json_str(o, (char *)w.p);
	fputs(",\"fingerprint\":", o);
	json_str(o, fp);
	fputs(",\"comment\":", o);
	if (id->comment)
		json_str(o, id->comment);
	else
		fputs("null", o);
	fprintf(o, ",\"line\":%u}", id->line);
	wbuf_free(&w);
	return ENF_OK;
}

static void json_rule(FILE *o, const struct pol_rule *r)
{
	fputs("{\"name\":", o);
	json_str(o, r->name);
	fputs(",\"key\":", o);
	json_str(o, r->key);
	fputs(",\"identity\":", o);
	json_str(o, r->identity);
	fputs(",\"purpose\":", o);
	json_str(o, r->purpose);
	fputs(",\"scopes\":", o);
	json_strs(o, r->scopes, r->nscopes);
	fputs(",\"approvals\":", o);
	if (r->approvals) {
		fprintf(o, "{\"count\":%u,\"group\":", r->approvals);
		json_str(o, r->group);
		fputc('}', o);
	} else {
		fputs("null", o);
	}
	fprintf(o, ",\"line\":%u}", r->line);
}

static int show_json(const struct policy *p, FILE *o)
{
	char digest[2 * sizeof p->digest + 1];

	hex_to_str(digest, sizeof digest, p->digest, sizeof p->digest);
	fputs("{\"version\":1,\"id\":", o);
	json_str(o, p->id);
	fprintf(o, ",\"digest\":\"%s\",\"purposes\":", digest);
	json_strs(o, p->purposes, p->npurposes);
	fputs(",\"identities\":[", o);
	for (size_t i = 0; i < p->nidentities; i++) {
		if (i)
			fputc(',', o);
		if (json_identity(o, &p->identities[i]) != ENF_OK)
			return ENF_FAIL;
	}
	fputs("],\"groups\":[", o);
	for (size_t i = 0; i < p->ngroups; i++) {
		fprintf(o, "%s{\"name\":", i ? "," : "");
		json_str(o, p->groups[i].name);
		fputs(",\"members\":[", o);
		for (size_t m = 0; m < p->groups[i].nmembers; m++) {
			if (m)
				fputc(',', o);
			json_str(o, p->identities[p->groups[i].members[m]].name);
		}
		fprintf(o, "],\"line\":%u}", p->groups[i].line);
	}
	fputs("],\"rules\":[", o);
	for (size_t i = 0; i < p->nrules; i++) {
		if (i)
			fputc(',', o);
		json_rule(o, &p->rules[i]);
	}
	fputs("],\"revoked\":{\"identities\":", o);
	json_strs(o, p->revoked_identities, p->nrevoked_identities);
	fputs(",\"keys\":", o);
	json_strs(o, p->revoked_keys, p->nrevoked_keys);
	fputs(",\"rules\":", o);
	json_strs(o, p->revoked_rules, p->nrevoked_rules);
	fputs("}}\n", o);
	return ENF_OK;
}

int policy_show(const struct policy *p, FILE *out, int json)
{
	int rc;

	if (!p || !out)
		return enf_err(ENF_FAIL, "no policy to show");
	rc = json ? show_json(p, out) : show_text(p, out);
	if (rc == ENF_OK && (fflush(out) != 0 || ferror(out)))
		rc = enf_err(ENF_FAIL, "cannot write the policy");
	return rc;
}
