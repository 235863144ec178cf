/* enf-keygen: the instance, its credentials and its keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "crypto.h"
#include "enf.h"
#include "keyfmt.h"
#include "keygen_cmd.h"
#include "keylist.h"
#include "keystore.h"
#include "token.h"
#include "trust.h"

static const char usage[] =
	"usage: enf-keygen [-H DIR] init [--lockout N] [--bind tpm|host|none] [--argon2 T:M:P]\n"
	"                              [--tpm-pcrs LIST] [--tcti CONF]\n"
	"       enf-keygen [-H DIR] new [-a ALG] -p PURPOSE[,PURPOSE...] NAME\n"
	"       enf-keygen [-H DIR] new --token TOKEN --pin-file F [-a ALG] -p PURPOSES NAME\n"
	"       enf-keygen [-H DIR] adopt --token TOKEN --id HEX --pin-file F [-a ALG] -p PURPOSES NAME\n"
	"       enf-keygen [-H DIR] token add NAME --module LIB.so --label LABEL [--serial S]\n"
	"                              [--timeout SECONDS] --pin-file F\n"
	"       enf-keygen [-H DIR] token list [--json] | token remove NAME\n"
	"       enf-keygen [-H DIR] list [--json]\n"
	"       enf-keygen [-H DIR] pubkey [--format ssh|pem] NAME\n"
	"       enf-keygen [-H DIR] instance\n"
	"       enf-keygen [-H DIR] state [--pin-file F] NAME active|deactivated|compromised|destroyed\n"
	"       enf-keygen [-H DIR] passwd --role officer|operator [--new-passphrase-file F]\n"
	"       enf-keygen [-H DIR] reset-lockout\n"
	"       enf-keygen [-H DIR] allowed-signers [NAME...]\n"
	"       enf-keygen [-H DIR] krl -o FILE\n"
	"credentials: --officer-passphrase-file F | $ENF_OFFICER_PASSPHRASE_FILE (officer),\n"
	"             --passphrase-file F | $ENF_PASSPHRASE_FILE (operator), else the terminal\n"
	"ALG: ed25519 (default), ecdsa-p256, ecdsa-p384, rsa3072, rsa4096\n";

enum { O_LOCKOUT = 1, O_BIND, O_ARGON2, O_TPM_PCRS, O_TCTI, O_JSON, O_FORMAT, O_ROLE, O_NEWPASS,
       O_OFFPASS, O_OPPASS, O_ALG, O_PURPOSE, O_OUTPUT, O_TOKEN, O_ID, O_MODULE, O_LABEL,
       O_SERIAL, O_PINFILE, O_TIMEOUT };

struct opts {
	const char *home, *alg, *purposes, *format, *role, *newpass, *offpass, *oppass;
	const char *bind, *argon2, *tpm_pcrs, *tcti;
	const char *output;
	const char *token, *id, *module, *label, *serial, *pinfile;
	unsigned lockout, timeout;
	int json;
	unsigned seen;	/* bit per option, to refuse one a command does not take */
	char **args;	/* the command's operands */
	size_t nargs;
};

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v < lo || v > hi)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* The instance does not exist yet: init has no keystore to open. */
static int cmd_init(const struct opts *o, struct keystore *unused)
{
	struct keygen_init a = { o->lockout, o->bind, o->argon2, o->tpm_pcrs, o->tcti, o->offpass,
				 o->oppass };

	(void)unused;
	return keygen_init(o->home, &a, stdout);
}

/* new and adopt: what the options must say before anything is read. */
static int new_key(const struct opts *o, struct keystore *ks, int adopt)
{
	struct keygen_new a = { o->args[0], o->purposes, o->alg ? alg_parse(o->alg) : ALG_ED25519,
				o->token, o->id, o->pinfile, o->offpass };

	if (a.alg < 0)
		return enf_err(ENF_USAGE, "unknown algorithm (ed25519, ecdsa-p256, ecdsa-p384, rsa3072, rsa4096)");
	if (!o->purposes)
		return enf_err(ENF_USAGE, "%s needs -p PURPOSE[,PURPOSE...]", adopt ? "adopt" : "new");
	if (adopt && (!o->token || !o->id))
		return enf_err(ENF_USAGE, "adopt needs --token TOKEN and --id HEX");
	if (o->pinfile && !o->token)
		return enf_err(ENF_USAGE, "--pin-file goes with --token");
	return keygen_new(ks, &a, stdout);
}

static int cmd_new(const struct opts *o, struct keystore *ks) { return new_key(o, ks, 0); }
static int cmd_adopt(const struct opts *o, struct keystore *ks) { return new_key(o, ks, 1); }

static int cmd_list(const struct opts *o, struct keystore *ks)
{
	int rc = keylist_print(ks, o->json, stdout);

	return rc == ENF_OK ? cli_flush_stdout() : rc;
}

static int write_stdout(const struct wbuf *w)
{
	return w->failed ? enf_err(ENF_FAIL, "out of memory") : cli_write_stdout(w->p, w->len);
}

static int cmd_pubkey(const struct opts *o, struct keystore *ks)
{
	struct wbuf out;
	int rc, pem = o->format && strcmp(o->format, "pem") == 0;

	if (o->format && !pem && strcmp(o->format, "ssh") != 0)
		return enf_err(ENF_USAGE, "--format takes ssh or pem");
	wbuf_init(&out, 0);
	if ((rc = keygen_pubkey(ks, o->args[0], pem, &out)) == ENF_OK)
		rc = write_stdout(&out);
	wbuf_free(&out);
	return rc;
}

static int cmd_instance(const struct opts *o, struct keystore *ks)
{
	struct wbuf out;
	int rc;

	(void)o;
	wbuf_init(&out, 0);
	if ((rc = ks_instance_export(ks, &out)) == ENF_OK)
		rc = write_stdout(&out);
	wbuf_free(&out);
	return rc;
}

static int cmd_state(const struct opts *o, struct keystore *ks)
{
	int state = key_state_parse(o->args[1]);

	if (state < 0)
		return enf_err(ENF_USAGE, "STATE is active, deactivated, compromised or destroyed");
	return keygen_state(ks, o->args[0], state, o->offpass, o->pinfile);
}

static int cmd_passwd(const struct opts *o, struct keystore *ks)
{
	int role = o->role ? role_parse(o->role) : -1;

	if (role < 0)
		return enf_err(ENF_USAGE, "passwd needs --role officer|operator");
	return keygen_passwd(ks, role, o->offpass, o->oppass, o->newpass);
}

static int cmd_reset(const struct opts *o, struct keystore *ks)
{
	return keygen_reset_lockout(ks, o->offpass);
}

/* Needs no credential: public keys, states and purposes only. */
static int cmd_allowed_signers(const struct opts *o, struct keystore *ks)
{
	struct wbuf out;
	int rc;

	for (size_t i = 0; i < o->nargs; i++)
		if (!enf_valid_name(o->args[i]))
			return enf_err(ENF_USAGE, "NAME must match [a-z0-9][a-z0-9._-]{0,63}");
	wbuf_init(&out, 0);
	rc = trust_allowed_signers(ks, o->args, o->nargs, &out);
	if (rc == ENF_OK)
		rc = write_stdout(&out);
	wbuf_free(&out);
	return rc;
}

static int cmd_krl(const struct opts *o, struct keystore *ks)
{
	return o->output ? keygen_krl(ks, o->output) : enf_err(ENF_USAGE, "krl needs -o FILE");
}

static int cmd_token(const struct opts *o, struct keystore *ks)
{
	char **args = o->args;
	size_t n = o->nargs;
	struct token_def_args a = { n > 1 ? args[1] : NULL, o->module, o->label, o->serial,
				    o->timeout, o->pinfile };

	if (n == 1 && strcmp(args[0], "list") == 0)
		return token_list(ks, o->json);
	if (n == 2 && strcmp(args[0], "add") == 0)
		return token_add(ks, &a, o->offpass);
	if (n == 2 && strcmp(args[0], "remove") == 0)
		return token_remove(ks, args[1], o->offpass);
	return enf_err(ENF_USAGE, "token takes add NAME, list or remove NAME");
}

/* ---- dispatch ---- */

#define BIT(o) (1u << (o))
static const struct verb {
	const char *name;
	int (*fn)(const struct opts *, struct keystore *);
	int nargs;		/* operands; -1: any number */
	unsigned allowed;	/* BIT(O_...) of the options it takes */
	int creates;		/* no instance to open yet */
} verbs[] = {
	{ "init", cmd_init, 0, BIT(O_LOCKOUT) | BIT(O_BIND) | BIT(O_ARGON2) | BIT(O_TPM_PCRS) |
		BIT(O_TCTI) | BIT(O_OFFPASS) | BIT(O_OPPASS), 1 },
	{ "new", cmd_new, 1, BIT(O_ALG) | BIT(O_PURPOSE) | BIT(O_OFFPASS) | BIT(O_TOKEN) |
		BIT(O_PINFILE), 0 },
	{ "adopt", cmd_adopt, 1, BIT(O_ALG) | BIT(O_PURPOSE) | BIT(O_OFFPASS) | BIT(O_TOKEN) |
		BIT(O_ID) | BIT(O_PINFILE), 0 },
	{ "token", cmd_token, -1, BIT(O_MODULE) | BIT(O_LABEL) | BIT(O_SERIAL) | BIT(O_PINFILE) |
		BIT(O_TIMEOUT) | BIT(O_JSON) | BIT(O_OFFPASS), 0 },
	{ "list", cmd_list, 0, BIT(O_JSON), 0 },
	{ "pubkey", cmd_pubkey, 1, BIT(O_FORMAT), 0 },
	{ "instance", cmd_instance, 0, 0, 0 },
	{ "state", cmd_state, 2, BIT(O_OFFPASS) | BIT(O_PINFILE), 0 },
	{ "passwd", cmd_passwd, 0, BIT(O_ROLE) | BIT(O_NEWPASS) | BIT(O_OFFPASS) | BIT(O_OPPASS), 0 },
	{ "reset-lockout", cmd_reset, 0, BIT(O_OFFPASS), 0 },
	{ "allowed-signers", cmd_allowed_signers, -1, 0, 0 },
	{ "krl", cmd_krl, 0, BIT(O_OUTPUT), 0 },
};

/* The verb's operand count and options, then the verb on the open instance. */
static int run(const struct opts *o, int argc, char **argv)
{
	const struct verb *v = CLI_VERB(verbs, argc, argv);
	struct keystore *ks = NULL;
	int rc;

	if (!v)
		return ENF_USAGE;
	if (v->nargs >= 0 && o->nargs != (size_t)v->nargs)
		return enf_err(ENF_USAGE, "wrong number of arguments");
	/* Credential options may be given to any command (environment-like);
	 * the others only where they mean something. */
	if (o->seen & ~v->allowed & ~(BIT(O_OFFPASS) | BIT(O_OPPASS)))
		return enf_err(ENF_USAGE, "an option does not apply to this command");
	if (crypto_init() != ENF_OK)
		return ENF_FAIL;
	if (v->creates)
		return v->fn(o, NULL);
	if ((rc = ks_open_home(o->home, &ks)) != ENF_OK)
		return rc;
	rc = v->fn(o, ks);
	ks_close(ks);
	return rc;
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "home", required_argument, NULL, 'H' },
		{ "lockout", required_argument, NULL, O_LOCKOUT },
		{ "bind", required_argument, NULL, O_BIND },
		{ "argon2", required_argument, NULL, O_ARGON2 },
		{ "tpm-pcrs", required_argument, NULL, O_TPM_PCRS },
		{ "tcti", required_argument, NULL, O_TCTI },
		{ "json", no_argument, NULL, O_JSON },
		{ "format", required_argument, NULL, O_FORMAT },
		{ "role", required_argument, NULL, O_ROLE },
		{ "new-passphrase-file", required_argument, NULL, O_NEWPASS },
		{ "officer-passphrase-file", required_argument, NULL, O_OFFPASS },
		{ "passphrase-file", required_argument, NULL, O_OPPASS },
		{ "algorithm", required_argument, NULL, 'a' },
		{ "purpose", required_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },
		{ "token", required_argument, NULL, O_TOKEN },
		{ "id", required_argument, NULL, O_ID },
		{ "module", required_argument, NULL, O_MODULE },
		{ "label", required_argument, NULL, O_LABEL },
		{ "serial", required_argument, NULL, O_SERIAL },
		{ "pin-file", required_argument, NULL, O_PINFILE },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		CLI_LONGOPTS_END
	};
	int c;

	while ((c = cli_getopt(argc, argv, "hH:a:p:o:", lo)) != -1) {
		switch (c) {
		case 'H': o->home = optarg; break;
		case 'a': o->alg = optarg; o->seen |= BIT(O_ALG); break;
		case 'p': o->purposes = optarg; o->seen |= BIT(O_PURPOSE); break;
		case 'o': o->output = optarg; o->seen |= BIT(O_OUTPUT); break;
		case O_LOCKOUT:
			if (parse_uint(optarg, 1, 1000, &o->lockout) < 0)
				return enf_err(ENF_USAGE, "--lockout takes a number from 1 to 1000");
			break;
		case O_BIND: o->bind = optarg; break;
		case O_ARGON2: o->argon2 = optarg; break;
		case O_TPM_PCRS: o->tpm_pcrs = optarg; break;
		case O_TCTI: o->tcti = optarg; break;
		case O_JSON: o->json = 1; break;
		case O_FORMAT: o->format = optarg; break;
		case O_ROLE: o->role = optarg; break;
		case O_NEWPASS: o->newpass = optarg; break;
		case O_OFFPASS: o->offpass = optarg; break;
		case O_OPPASS: o->oppass = optarg; break;
		case O_TOKEN: o->token = optarg; break;
		case O_ID: o->id = optarg; break;
		case O_MODULE: o->module = optarg; break;
		case O_LABEL: o->label = optarg; break;
		case O_SERIAL: o->serial = optarg; break;
		case O_PINFILE: o->pinfile = optarg; break;
		case O_TIMEOUT:
			if (parse_uint(optarg, 1, 3600, &o->timeout) < 0)
				return enf_err(ENF_USAGE, "--timeout takes seconds from 1 to 3600");
			break;
		default: return ENF_USAGE;
		}
		if ((c >= O_LOCKOUT && c <= O_OPPASS) || (c >= O_TOKEN && c <= O_TIMEOUT))
			o->seen |= BIT(c);
	}
	return ENF_OK;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	int rc;

	if (cli_start(argc, argv, usage) != ENF_OK)
		return cli_exit(ENF_FAIL);
	if ((rc = parse(argc, argv, &o)) == ENF_OK) {
		o.args = argv + optind + 1;
		o.nargs = optind < argc ? (size_t)(argc - optind - 1) : 0;
		rc = run(&o, argc - optind, argv + optind);
	}
	return cli_exit(rc);
}
