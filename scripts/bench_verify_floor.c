/* The floor for `poolcert verify` (issue 4): the least a program must do per issued certificate,
 * in one process with libcrypto only. Loads the root (trusted) and the intermediate (untrusted)
 * once, then for each leaf file: reads it (PEM), builds and verifies its chain with
 * X509_verify_cert, and reads its subjectAltName DNS names.
 *
 *   bench_verify_floor ROOT.cer INTERMEDIATE.cer LEAF.cer...    # or: ... -  (leaf paths on stdin)
 *
 * Prints "<verified> <names>" on stdout; exits 1 if any leaf fails to parse or verify. */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

static X509 *read_pem(const char *path) {
  FILE *f = fopen(path, "rb");
  X509 *x;
  if (f == NULL) {
    perror(path);
    return NULL;
  }
  x = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  if (x == NULL) fprintf(stderr, "%s: not a PEM certificate\n", path);
  return x;
}

static long names = 0, verified = 0;

static int check_leaf(X509_STORE *store, STACK_OF(X509) *untrusted, const char *path) {
  X509 *leaf = read_pem(path);
  X509_STORE_CTX *ctx;
  GENERAL_NAMES *sans;
  int ok, i;
  if (leaf == NULL) return 0;
  ctx = X509_STORE_CTX_new();
  ok = ctx != NULL && X509_STORE_CTX_init(ctx, store, leaf, untrusted) == 1 &&
       X509_verify_cert(ctx) == 1;
  if (!ok)
    fprintf(stderr, "%s: %s\n", path,
            ctx ? X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)) : "no memory");
  X509_STORE_CTX_free(ctx);
  sans = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
  for (i = 0; i < sk_GENERAL_NAME_num(sans); i++) {
    const GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, i);
    if (gn->type == GEN_DNS && ASN1_STRING_length(gn->d.dNSName) > 0) names++;
  }
  GENERAL_NAMES_free(sans);
  X509_free(leaf);
  if (ok) verified++;
  return ok;
}

int main(int argc, char **argv) {
  X509_STORE *store;
  STACK_OF(X509) *untrusted;
  X509 *root, *inter;
  int i, ok = 1;
  char line[4096];
  if (argc < 4) {
    fprintf(stderr, "usage: %s ROOT.cer INTERMEDIATE.cer LEAF.cer... | -\n", argv[0]);
    return 2;
  }
  root = read_pem(argv[1]);
  inter = read_pem(argv[2]);
  store = X509_STORE_new();
  untrusted = sk_X509_new_null();
  if (root == NULL || inter == NULL || store == NULL || untrusted == NULL ||
      X509_STORE_add_cert(store, root) != 1 || sk_X509_push(untrusted, inter) <= 0) {
    ERR_print_errors_fp(stderr);
    return 1;
  }
  if (argc == 4 && strcmp(argv[3], "-") == 0) {
    while (fgets(line, sizeof line, stdin) != NULL) {
      line[strcspn(line, "\n")] = '\0';
      if (line[0] != '\0') ok &= check_leaf(store, untrusted, line);
    }
  } else {
    for (i = 3; i < argc; i++) ok &= check_leaf(store, untrusted, argv[i]);
  }
  printf("%ld %ld\n", verified, names);
  sk_X509_pop_free(untrusted, X509_free);
  X509_STORE_free(store);
  X509_free(root);
  return ok ? 0 : 1;
}
