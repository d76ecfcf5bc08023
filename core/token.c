/*
 * token.c — the invite token codec (docs/token.md): what `accord invite`
 * prints and a joiner pastes.
 *
 * A token is "accord-invite:" followed by the lowercase RFC 4648 base32
 * (no padding) of payload ‖ checksum, where
 *   payload = version (1 byte, 1) ‖ workspace id (16) ‖ workspace key (32)
 *             ‖ secret (32) ‖ expires (8, big-endian ms since the epoch)
 *             ‖ address count (1, 0..16) ‖ per address: length (1, 1..255)
 *             ‖ bytes (printable ASCII, HOST:PORT)
 *   checksum = the first 4 bytes of BLAKE2b-256(payload)
 * The checksum catches a token mangled by copy and paste (it is not a
 * signature: the secret inside is what grants anything). It is checked
 * before the version, with the same algorithm for every version, so a
 * damaged token is reported as such and an intact token of a newer
 * version as EVERSION.
 *
 * Invariants: parsing reads at most TOKEN_MAX characters, allocates only
 * after the whole token checked out, and refuses trailing bytes, unknown
 * versions, empty or non-printable addresses and anything left over.
 */
#define _POSIX_C_SOURCE 200809L
#include <string.h>

#include "crypto.h"
#include "members.h"
#include "mem.h"

#define TOKEN_PREFIX "accord-invite:"
#define TOKEN_VERSION 1
#define TOKEN_ADDRS_MAX 16
#define TOKEN_FIXED (1 + 16 + 32 + 32 + 8 + 1)
#define TOKEN_SUM 4
#define TOKEN_BIN_MAX (TOKEN_FIXED + TOKEN_ADDRS_MAX * 256 + TOKEN_SUM)
#define TOKEN_MAX (sizeof TOKEN_PREFIX - 1 + (TOKEN_BIN_MAX * 8 + 4) / 5)

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

static int addr_ok(const char *a, size_t *len) {
  if (!a) return 0;
  size_t n = strnlen(a, 256);
  if (n == 0 || n > 255) return 0;
  for (size_t i = 0; i < n; i++)
    if (a[i] < 0x21 || a[i] > 0x7e) return 0;
  *len = n;
  return 1;
}

int token_encode(const accord_invite *inv, char **out) {
  uint8_t bin[TOKEN_BIN_MAX], h[32];
  size_t n = 0, len;
  *out = NULL;
  if (inv->naddrs > TOKEN_ADDRS_MAX) return ACCORD_EINVAL;
  bin[n++] = TOKEN_VERSION;
  memcpy(bin + n, inv->ws, 16);
  n += 16;
  memcpy(bin + n, inv->key, 32);
  n += 32;
  memcpy(bin + n, inv->secret, 32);
  n += 32;
  for (int i = 7; i >= 0; i--)
    bin[n++] = (uint8_t)((uint64_t)inv->expires >> (8 * i));
  bin[n++] = (uint8_t)inv->naddrs;
  for (size_t i = 0; i < inv->naddrs; i++) {
    if (!addr_ok(inv->addrs[i], &len)) {
      crypto_wipe(bin, sizeof bin);
      return ACCORD_EINVAL;
    }
    bin[n++] = (uint8_t)len;
    memcpy(bin + n, inv->addrs[i], len);
    n += len;
  }
  hash_bytes(bin, n, h);
  memcpy(bin + n, h, TOKEN_SUM);
  n += TOKEN_SUM;
  size_t plen = sizeof TOKEN_PREFIX - 1, tlen = plen + (n * 8 + 4) / 5;
  char *t = mem_alloc(tlen + 1);
  if (!t) {
    crypto_wipe(bin, sizeof bin);
    return ACCORD_ENOMEM;
  }
  memcpy(t, TOKEN_PREFIX, plen);
  size_t o = plen;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    acc = acc << 8 | bin[i];
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      t[o++] = b32[(acc >> bits) & 31];
    }
  }
  if (bits) t[o++] = b32[(acc << (5 - bits)) & 31];
  t[o] = 0;
  crypto_wipe(bin, sizeof bin);
  *out = t;
  return 0;
}

static int b32_val(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

/* Decodes the base32 text into bin; 0 on success. */
static int b32_decode(const char *s, size_t len, uint8_t *bin, size_t *n) {
  uint32_t acc = 0;
  int bits = 0;
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    int v = b32_val(s[i]);
    if (v < 0) return ACCORD_EMALFORMED;
    acc = acc << 5 | (uint32_t)v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      if (o == TOKEN_BIN_MAX) return ACCORD_EMALFORMED;
      bin[o++] = (uint8_t)(acc >> bits);
    }
  }
  /* what is left must be padding zeros of the last character */
  if (bits >= 5 || (acc & ((1u << bits) - 1))) return ACCORD_EMALFORMED;
  *n = o;
  return 0;
}

static size_t invite_bytes(size_t naddrs, size_t strs) {
  return sizeof(accord_invite) + naddrs * sizeof(char *) + strs;
}

int accord_invite_parse(const char *token, accord_invite **out) {
  if (!out) return ACCORD_EINVAL;
  *out = NULL;
  if (!token) return ACCORD_EINVAL;
  size_t plen = sizeof TOKEN_PREFIX - 1;
  size_t len = strnlen(token, TOKEN_MAX + 1);
  if (len > TOKEN_MAX || len < plen || memcmp(token, TOKEN_PREFIX, plen))
    return ACCORD_EMALFORMED;
  uint8_t bin[TOKEN_BIN_MAX], h[32];
  size_t n = 0;
  int rc = b32_decode(token + plen, len - plen, bin, &n);
  if (!rc && n < TOKEN_FIXED + TOKEN_SUM) rc = ACCORD_EMALFORMED;
  if (!rc) {
    hash_bytes(bin, n - TOKEN_SUM, h);
    if (memcmp(h, bin + n - TOKEN_SUM, TOKEN_SUM)) rc = ACCORD_EMALFORMED;
  }
  if (!rc && bin[0] != TOKEN_VERSION) rc = ACCORD_EVERSION;
  size_t end = n - TOKEN_SUM, naddrs = 0, strs = 0;
  if (!rc) {
    naddrs = bin[TOKEN_FIXED - 1];
    if (naddrs > TOKEN_ADDRS_MAX) rc = ACCORD_EMALFORMED;
    size_t p = TOKEN_FIXED;
    for (size_t i = 0; i < naddrs && !rc; i++) {
      size_t l = p < end ? bin[p] : 0;
      if (!l || p + 1 + l > end) {
        rc = ACCORD_EMALFORMED;
        break;
      }
      for (size_t k = 0; k < l; k++)
        if (bin[p + 1 + k] < 0x21 || bin[p + 1 + k] > 0x7e)
          rc = ACCORD_EMALFORMED;
      strs += l + 1;
      p += 1 + l;
    }
    if (!rc && p != end) rc = ACCORD_EMALFORMED;
  }
  accord_invite *inv = NULL;
  if (!rc && !(inv = mem_alloc(invite_bytes(naddrs, strs)))) rc = ACCORD_ENOMEM;
  if (!rc) {
    memcpy(inv->ws, bin + 1, 16);
    memcpy(inv->key, bin + 17, 32);
    memcpy(inv->secret, bin + 49, 32);
    uint64_t e = 0;
    for (int i = 0; i < 8; i++) e = e << 8 | bin[81 + i];
    inv->expires = (int64_t)e;
    inv->naddrs = naddrs;
    char **addrs = (char **)(inv + 1);
    char *sp = (char *)(addrs + naddrs);
    inv->addrs = (const char **)addrs;
    size_t p = TOKEN_FIXED;
    for (size_t i = 0; i < naddrs; i++) {
      size_t l = bin[p];
      memcpy(sp, bin + p + 1, l);
      sp[l] = 0;
      addrs[i] = sp;
      sp += l + 1;
      p += 1 + l;
    }
    *out = inv;
  }
  crypto_wipe(bin, sizeof bin);
  return rc;
}

void accord_invite_free(accord_invite *inv) {
  if (!inv) return;
  size_t strs = 0;
  for (size_t i = 0; i < inv->naddrs; i++) strs += strlen(inv->addrs[i]) + 1;
  crypto_wipe(inv, invite_bytes(inv->naddrs, strs));
  mem_free(inv);
}
