/* Signing keys: public keys and verification (pubkey.h), private keys and
 * signing (privkey.h).  One header for callers that use both. */
#ifndef ENF_KEY_H
#define ENF_KEY_H

#include "privkey.h"
#include "pubkey.h"

#endif
