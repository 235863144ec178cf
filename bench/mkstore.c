/* bench/mkstore: adds N ed25519 keys to an instance through libenf in one
 * governance change (one officer unlock), to measure `enf-keygen list` on a
 * large keystore.
 * usage: mkstore HOME N  (officer passphrase in $ENF_OFFICER_PASSPHRASE_FILE) */
#include <stdio.h>
#include <stdlib.h>
#include "cred.h"
#include "crypto.h"
#include "keystore.h"

int main(int argc, char **argv)
{
	struct keystore *ks = NULL;
	struct secret pass;
	char **names, *purpose = "bench";
	long n = argc == 3 ? atol(argv[2]) : 0;
	int rc;

	if (n <= 0 || !(names = calloc((size_t)n, sizeof *names)))
		return 2;
	for (long i = 0; i < n; i++)
		if (!(names[i] = malloc(32)) || snprintf(names[i], 32, "bench-%06ld", i) < 0)
			return 3;
	rc = crypto_init();
	if (rc == ENF_OK)
		rc = ks_open(argv[1], &ks);
	if (rc == ENF_OK && (rc = cred_read(ROLE_OFFICER, NULL, 0, "officer passphrase", &pass)) == ENF_OK) {
		rc = ks_unlock(ks, ROLE_OFFICER, &pass);
		secret_free(&pass);
	}
	if (rc == ENF_OK)
		rc = ks_key_new_many(ks, names, (size_t)n, ALG_ED25519, &purpose, 1);
	if (rc != ENF_OK)
		fprintf(stderr, "mkstore: %s\n", enf_errmsg());
	ks_close(ks);
	for (long i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}
