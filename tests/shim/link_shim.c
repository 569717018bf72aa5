/* An LD_PRELOAD shim for the key-safety tests (tests/e2e/test_key_safety.py): it makes the
 * moment poolcert puts a file in place with linkat(2) deterministic, and does there what an
 * attacker, or a failing disk, would do at that moment. Once, at the first linkat whose new name
 * ends in $POOLCERT_SHIM_SUFFIX (default ".key"), before the real call:
 *   POOLCERT_SHIM_PLANT=FILE     copies FILE to the new name (mode $POOLCERT_SHIM_MODE, octal,
 *                                default 0600; owner $POOLCERT_SHIM_UID when set)
 *   POOLCERT_SHIM_SYMLINK=TARGET makes the new name a symbolic link to TARGET
 *   POOLCERT_SHIM_SWAP_LINK=LINK and POOLCERT_SHIM_SWAP_TO=DIR
 *                                points the symlink LINK at DIR (atomically: a new link, renamed)
 *   POOLCERT_SHIM_FAIL=ERRNO     fails this call with that errno instead of linking
 * and appends one line saying what it did to $POOLCERT_SHIM_LOG (when set), so that a test can
 * tell the shim fired. Test code only: never built into poolcert. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static atomic_int fired;

static void note(const char* what, const char* name) {
  const char* log = getenv("POOLCERT_SHIM_LOG");
  if (log == NULL) return;
  FILE* f = fopen(log, "a");
  if (f == NULL) return;
  fprintf(f, "%s %s\n", what, name);
  fclose(f);
}

static int ends_with(const char* s, const char* suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void plant_copy(int dirfd, const char* name, const char* source) {
  int in = open(source, O_RDONLY | O_CLOEXEC);
  if (in < 0) return;
  const char* mode_text = getenv("POOLCERT_SHIM_MODE");
  mode_t mode = mode_text != NULL ? (mode_t)strtol(mode_text, NULL, 8) : 0600;
  int out = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out >= 0) {
    char buf[8192];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) {
      if (write(out, buf, (size_t)n) != n) break;
    }
    const char* uid = getenv("POOLCERT_SHIM_UID");
    if (uid != NULL && fchown(out, (uid_t)atol(uid), (gid_t)-1) != 0) note("chown-failed", name);
    fchmod(out, mode);
    close(out);
    note("planted", name);
  }
  close(in);
}

static void swap_link(const char* link, const char* to) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.shim-swap", link);
  unlink(tmp);
  if (symlink(to, tmp) == 0 && rename(tmp, link) == 0) note("swapped", link);
}

int linkat(int olddirfd, const char* oldpath, int newdirfd, const char* newpath, int flags) {
  typedef int (*linkat_fn)(int, const char*, int, const char*, int);
  static linkat_fn real;
  if (real == NULL) real = (linkat_fn)dlsym(RTLD_NEXT, "linkat");
  const char* suffix = getenv("POOLCERT_SHIM_SUFFIX");
  if (ends_with(newpath, suffix != NULL ? suffix : ".key") && atomic_exchange(&fired, 1) == 0) {
    const char* plant = getenv("POOLCERT_SHIM_PLANT");
    const char* target = getenv("POOLCERT_SHIM_SYMLINK");
    const char* swap = getenv("POOLCERT_SHIM_SWAP_LINK");
    const char* fail = getenv("POOLCERT_SHIM_FAIL");
    if (plant != NULL) plant_copy(newdirfd, newpath, plant);
    if (target != NULL && symlinkat(target, newdirfd, newpath) == 0) note("symlinked", newpath);
    if (swap != NULL && getenv("POOLCERT_SHIM_SWAP_TO") != NULL) {
      swap_link(swap, getenv("POOLCERT_SHIM_SWAP_TO"));
    }
    if (fail != NULL) {
      note("failed", newpath);
      errno = atoi(fail);
      return -1;
    }
  }
  return real(olddirfd, oldpath, newdirfd, newpath, flags);
}
