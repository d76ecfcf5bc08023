/*
 * api.c — errors, version and freeing: the parts of the public API that
 * belong to no object.
 */
#include <stdlib.h>

#include "accord.h"
#include "mem.h"

const char *accord_strerror(int code) {
  switch (code) {
    case 0: return "success";
#define ACCORD_STRERROR_(name, code, text) \
  case code: return text;
    ACCORD_ERRNO_MAP(ACCORD_STRERROR_)
#undef ACCORD_STRERROR_
    default: return "unknown error";
  }
}

const char *accord_err_name(int code) {
  switch (code) {
    case 0: return "OK";
#define ACCORD_ERRNAME_(name, code, text) \
  case code: return #name;
    ACCORD_ERRNO_MAP(ACCORD_ERRNAME_)
#undef ACCORD_ERRNAME_
    default: return "EUNKNOWN";
  }
}

const char *accord_version(void) { return ACCORD_VERSION_STRING; }

void accord_free(void *p) { mem_free(p); }
