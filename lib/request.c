/* Making and approving requests (request.h). */
#include <string.h>
#include "enf.h"
#include "request.h"
#include "sshkeygen.h"

/* ssh-keygen's signature over msg[0..n) in namespace ns, appended to out. */
static int append_signature(const char *ssh_key, const char *ns, const char *msg, size_t n,
			    struct wbuf *out)
{
	struct wbuf sig;
	int rc;

	wbuf_init(&sig, 0);
	rc = sshkeygen_sign(ssh_key, ns, msg, n, &sig);
	if (rc == ENF_OK && wbuf_put(out, sig.p, sig.len) < 0)
		rc = enf_err(ENF_FAIL, "out of memory");
	wbuf_free(&sig);
	return rc;
}

int request_make(const struct envelope *e, const char *ssh_key, struct wbuf *out)
{
	int rc = envelope_write_body(e, out);

	if (rc == ENF_OK && ssh_key)
		rc = append_signature(ssh_key, NS_REQUEST, (const char *)out->p, out->len, out);
	return rc;
}

int request_approve(const char *text, size_t n, const char *ssh_key, struct wbuf *out)
{
	struct envelope e, check;
	char why[256];
	int rc;

	if (envelope_parse(&e, text, n, 0, why, sizeof why) != ENF_OK)
		return enf_err(ENF_NO, "malformed request: %s", why);
	if (wbuf_put(out, text, n) < 0)
		rc = enf_err(ENF_FAIL, "out of memory");
	else
		rc = append_signature(ssh_key, NS_APPROVE, e.body, e.bodylen, out);
	envelope_free(&e);
	/* What we write must itself be a request enf-sign can parse. */
	if (rc == ENF_OK && envelope_parse(&check, (const char *)out->p, out->len, 0, why,
					   sizeof why) != ENF_OK)
		return enf_err(ENF_FAIL, "approved request does not parse: %s", why);
	if (rc == ENF_OK)
		envelope_free(&check);
	return rc;
}
