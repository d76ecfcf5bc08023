/*
 * identity.c — the node's device key file, <dir>/identity.key (DESIGN §2).
 *
 * Format: the 8 bytes "ACCKEY01" then libsodium's 64-byte Ed25519 secret
 * key (seed ‖ public key): 72 bytes. The file is created 0600 through a
 * temporary file, fsynced and renamed, so it is either whole or absent.
 *
 * Reading refuses a file that group or others may access (EKEYPERM, with
 * the chmod that fixes it in the message), that is not a regular file, or
 * whose secret and public halves disagree (EIDENTITY). Key bytes are wiped
 * from every buffer on every path.
 */
#define _POSIX_C_SOURCE 200809L
#include "identity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"

#define KEY_MAGIC "ACCKEY01"
#define KEY_FILE_BYTES (8 + SIGN_SECRET_BYTES)

__attribute__((format(printf, 3, 4))) static void say(char *err, size_t len,
                                                      const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (err && len) vsnprintf(err, len, fmt, ap);
  va_end(ap);
}

int identity_load(const char *path, uint8_t *sk, uint8_t *pk, char *err,
                  size_t errlen) {
  uint8_t b[KEY_FILE_BYTES + 1];
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    say(err, errlen, "cannot read the identity key %s: %s", path,
        strerror(errno));
    return errno == ENOENT ? ACCORD_ENOTFOUND : ACCORD_EIDENTITY;
  }
  struct stat st;
  int rc = 0;
  if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
    say(err, errlen, "the identity key %s is not a regular file", path);
    rc = ACCORD_EIDENTITY;
  } else if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    say(err, errlen,
        "the identity key %s is accessible by group or others; fix: chmod "
        "600 %s",
        path, path);
    rc = ACCORD_EKEYPERM;
  } else if (st.st_uid != geteuid()) {
    say(err, errlen,
        "the identity key %s belongs to another user; fix: chown it to "
        "the user running accord",
        path);
    rc = ACCORD_EKEYPERM;
  }
  ssize_t n = 0;
  if (!rc) {
    n = read(fd, b, sizeof b);
    if (n != KEY_FILE_BYTES || memcmp(b, KEY_MAGIC, 8)) {
      say(err, errlen, "the identity key %s is damaged (%s)", path,
          n < 0 ? strerror(errno) : "wrong size or header");
      rc = ACCORD_EIDENTITY;
    }
  }
  close(fd);
  if (!rc) {
    memcpy(sk, b + 8, SIGN_SECRET_BYTES);
    memcpy(pk, sk + 32, SIGN_PUBLIC_BYTES);
    if (!sign_key_check(sk, pk)) {
      say(err, errlen, "the identity key %s is damaged (%s)", path,
          "the key pair does not match");
      rc = ACCORD_EIDENTITY;
    }
  }
  crypto_wipe(b, sizeof b);
  if (rc) crypto_wipe(sk, SIGN_SECRET_BYTES);
  return rc;
}

int identity_create(const char *dir, const char *path, uint8_t *sk,
                    uint8_t *pk, char *err, size_t errlen) {
  uint8_t b[KEY_FILE_BYTES];
  char tmp[4096];
  int rc = sign_keypair(pk, sk);
  if (rc) return rc;
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
    return ACCORD_EINVAL;
  unlink(tmp); /* left by a crash before the rename */
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                0600);
  if (fd < 0) {
    say(err, errlen, "cannot create the identity key %s: %s", tmp,
        strerror(errno));
    crypto_wipe(sk, SIGN_SECRET_BYTES);
    return ACCORD_ESTORE;
  }
  memcpy(b, KEY_MAGIC, 8);
  memcpy(b + 8, sk, SIGN_SECRET_BYTES);
  ssize_t n = write(fd, b, sizeof b);
  int ok = n == (ssize_t)sizeof b && fsync(fd) == 0;
  crypto_wipe(b, sizeof b);
  if (close(fd) || !ok || rename(tmp, path)) {
    say(err, errlen, "cannot write the identity key %s: %s", path,
        strerror(errno));
    unlink(tmp);
    crypto_wipe(sk, SIGN_SECRET_BYTES);
    return ACCORD_ESTORE;
  }
  /* the rename is durable once the directory is */
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return 0;
}
