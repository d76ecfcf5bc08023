/*
 * identity.h — the node's Ed25519 device key in <dir>/identity.key
 * (identity.c has the format and the checks).
 */
#ifndef ACCORD_IDENTITY_H
#define ACCORD_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "accord.h"

/* Reads the key file at path into sk (64 bytes) and pk (32).
 * Errors: ENOTFOUND (no file), EKEYPERM (group/other may access it, or
 * another user owns it), EIDENTITY (unreadable or damaged); a sentence
 * with the fix goes to err. */
int identity_load(const char *path, uint8_t *sk, uint8_t *pk, char *err,
                  size_t errlen);
/* Makes a new key pair and writes it to path (mode 0600, atomically) in
 * directory dir. Errors: ESTORE, ENOMEM. */
int identity_create(const char *dir, const char *path, uint8_t *sk,
                    uint8_t *pk, char *err, size_t errlen);
/* The actor id of a public key is key_actor (crypto.h). */

#endif
