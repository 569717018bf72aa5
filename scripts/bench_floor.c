/*
 * bench_floor: the floor for poolcert's benchmark (issue 3).
 *
 * Does, in one process and with nothing else around it, the work poolcert does per server:
 * generate a key, build a PKCS#10 request with the same subject and extensions as poolcert's
 * ocs2007-enterprise style profile, sign it with SHA-256, and PEM-write the key (PKCS#8, 0600)
 * and the request to DIR/<fqdn>.key and DIR/<fqdn>.csr. No spec parsing, no threads, no
 * fsync, no atomic rename: the least a program can do for the same files.
 *
 *   cc -O2 -Wall -o bench_floor scripts/bench_floor.c -lcrypto
 *   bench_floor OUTDIR N ec|rsa
 *
 * Servers are srv0001.company.local .. srvNNNN.company.local.
 * Only OpenSSL 3 EVP / X509 / PEM APIs; nothing deprecated.
 */
#define _POSIX_C_SOURCE 200809L
#define OPENSSL_API_COMPAT 30000
#define OPENSSL_NO_DEPRECATED

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static const char *const kPoolFqdn = "ocspool.company.local";
static const char *const kPoolSans[] = {"ocspool.company.local", "sip.company.local",
                                        "sip.company.com", "ocspool.company.com"};

static int fail(const char *what) {
  fprintf(stderr, "bench_floor: %s failed\n", what);
  ERR_print_errors_fp(stderr);
  return 0;
}

/* Appends the extension `nid` encoded from `value` to `exts`. Returns 1 on success. */
static int push_ext(STACK_OF(X509_EXTENSION) *exts, int nid, int critical, void *value) {
  X509_EXTENSION *ext = X509V3_EXT_i2d(nid, critical, value);
  if (ext == NULL) return fail("X509V3_EXT_i2d");
  if (sk_X509_EXTENSION_push(exts, ext) <= 0) {
    X509_EXTENSION_free(ext);
    return fail("sk_X509_EXTENSION_push");
  }
  return 1;
}

static int add_dns(GENERAL_NAMES *names, const char *dns) {
  ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
  if (ia5 == NULL) return fail("ASN1_IA5STRING_new");
  if (ASN1_STRING_set(ia5, dns, (int)strlen(dns)) != 1) {
    ASN1_IA5STRING_free(ia5);
    return fail("ASN1_STRING_set");
  }
  GENERAL_NAME *gn = GENERAL_NAME_new();
  if (gn == NULL) {
    ASN1_IA5STRING_free(ia5);
    return fail("GENERAL_NAME_new");
  }
  GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
  if (sk_GENERAL_NAME_push(names, gn) <= 0) {
    GENERAL_NAME_free(gn);
    return fail("sk_GENERAL_NAME_push");
  }
  return 1;
}

static int build_extensions(STACK_OF(X509_EXTENSION) *exts, const char *server_fqdn) {
  int ok = 0;
  GENERAL_NAMES *names = GENERAL_NAMES_new();
  EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
  ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
  if (names == NULL || eku == NULL || ku == NULL) {
    fail("allocating extensions");
    goto done;
  }
  for (size_t i = 0; i < sizeof kPoolSans / sizeof kPoolSans[0]; ++i) {
    if (!add_dns(names, kPoolSans[i])) goto done;
  }
  if (!add_dns(names, server_fqdn)) goto done;
  if (!push_ext(exts, NID_subject_alt_name, 0, names)) goto done;

  /* OBJ_nid2obj returns static objects: the stack does not own anything to free. */
  ASN1_OBJECT *server_auth = OBJ_nid2obj(NID_server_auth);
  ASN1_OBJECT *client_auth = OBJ_nid2obj(NID_client_auth);
  if (server_auth == NULL || client_auth == NULL) {
    fail("OBJ_nid2obj");
    goto done;
  }
  if (sk_ASN1_OBJECT_push(eku, server_auth) <= 0 || sk_ASN1_OBJECT_push(eku, client_auth) <= 0) {
    fail("sk_ASN1_OBJECT_push");
    goto done;
  }
  if (!push_ext(exts, NID_ext_key_usage, 0, eku)) goto done;

  /* keyUsage bits: digitalSignature (0), keyEncipherment (2). */
  if (ASN1_BIT_STRING_set_bit(ku, 0, 1) != 1 || ASN1_BIT_STRING_set_bit(ku, 2, 1) != 1) {
    fail("ASN1_BIT_STRING_set_bit");
    goto done;
  }
  if (!push_ext(exts, NID_key_usage, 1, ku)) goto done;
  ok = 1;
done:
  GENERAL_NAMES_free(names);
  sk_ASN1_OBJECT_free(eku);
  ASN1_BIT_STRING_free(ku);
  return ok;
}

static X509_REQ *build_req(EVP_PKEY *key, const char *server_fqdn) {
  X509_REQ *req = X509_REQ_new();
  X509_NAME *name = X509_NAME_new();
  STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
  int ok = 0;
  if (req == NULL || name == NULL || exts == NULL) {
    fail("allocating the request");
    goto done;
  }
  if (X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1) {
    fail("X509_REQ_set_version");
    goto done;
  }
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"Company", -1,
                                 -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)kPoolFqdn, -1,
                                 -1, 0) != 1) {
    fail("X509_NAME_add_entry_by_txt");
    goto done;
  }
  if (X509_REQ_set_subject_name(req, name) != 1) {
    fail("X509_REQ_set_subject_name");
    goto done;
  }
  if (X509_REQ_set_pubkey(req, key) != 1) {
    fail("X509_REQ_set_pubkey");
    goto done;
  }
  if (!build_extensions(exts, server_fqdn)) goto done;
  if (X509_REQ_add_extensions(req, exts) != 1) {
    fail("X509_REQ_add_extensions");
    goto done;
  }
  if (X509_REQ_sign(req, key, EVP_sha256()) <= 0) {
    fail("X509_REQ_sign");
    goto done;
  }
  ok = 1;
done:
  X509_NAME_free(name);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  if (!ok) {
    X509_REQ_free(req);
    req = NULL;
  }
  return req;
}

/* Opens `path` for writing with `mode` (applied with fchmod, so the umask does not matter). */
static BIO *open_out(const char *path, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    fprintf(stderr, "bench_floor: open %s: %s\n", path, strerror(errno));
    return NULL;
  }
  if (fchmod(fd, mode) != 0) {
    fprintf(stderr, "bench_floor: chmod %s: %s\n", path, strerror(errno));
    close(fd);
    return NULL;
  }
  BIO *bio = BIO_new_fd(fd, BIO_CLOSE);
  if (bio == NULL) {
    close(fd);
    fail("BIO_new_fd");
  }
  return bio;
}

static int close_out(BIO *bio, const char *path) {
  /* BIO_free closes the fd but cannot report a failed close: flush first and check that. */
  int ok = BIO_flush(bio) == 1;
  int fd = -1;
  if (BIO_get_fd(bio, &fd) < 0) ok = 0;
  BIO_set_close(bio, BIO_NOCLOSE);
  BIO_free(bio);
  if (fd < 0 || close(fd) != 0) ok = 0;
  if (!ok) fprintf(stderr, "bench_floor: writing %s failed\n", path);
  return ok;
}

static int one_server(const char *dir, const char *fqdn, int rsa) {
  int ok = 0;
  char key_path[4096], csr_path[4096];
  X509_REQ *req = NULL;
  BIO *out = NULL;
  if (snprintf(key_path, sizeof key_path, "%s/%s.key", dir, fqdn) >= (int)sizeof key_path ||
      snprintf(csr_path, sizeof csr_path, "%s/%s.csr", dir, fqdn) >= (int)sizeof csr_path) {
    fprintf(stderr, "bench_floor: path too long\n");
    return 0;
  }
  EVP_PKEY *key = rsa ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
                      : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  if (key == NULL) return fail("EVP_PKEY_Q_keygen");

  req = build_req(key, fqdn);
  if (req == NULL) goto done;

  /* PEM_write_bio_PrivateKey writes PKCS#8 ("BEGIN PRIVATE KEY") in OpenSSL 3. */
  if ((out = open_out(key_path, 0600)) == NULL) goto done;
  if (PEM_write_bio_PrivateKey(out, key, NULL, NULL, 0, NULL, NULL) != 1) {
    fail("PEM_write_bio_PrivateKey");
    BIO_free(out);
    goto done;
  }
  if (!close_out(out, key_path)) goto done;

  if ((out = open_out(csr_path, 0644)) == NULL) goto done;
  if (PEM_write_bio_X509_REQ(out, req) != 1) {
    fail("PEM_write_bio_X509_REQ");
    BIO_free(out);
    goto done;
  }
  if (!close_out(out, csr_path)) goto done;
  ok = 1;
done:
  X509_REQ_free(req);
  EVP_PKEY_free(key);
  return ok;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s OUTDIR N ec|rsa\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1];
  char *end = NULL;
  errno = 0;
  long n = strtol(argv[2], &end, 10);
  if (errno != 0 || end == argv[2] || *end != '\0' || n < 1 || n > 9999) {
    fprintf(stderr, "bench_floor: N must be 1..9999\n");
    return 2;
  }
  int rsa;
  if (strcmp(argv[3], "ec") == 0) {
    rsa = 0;
  } else if (strcmp(argv[3], "rsa") == 0) {
    rsa = 1;
  } else {
    fprintf(stderr, "bench_floor: key type must be ec or rsa\n");
    return 2;
  }
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    fprintf(stderr, "bench_floor: mkdir %s: %s\n", dir, strerror(errno));
    return 1;
  }
  for (long i = 1; i <= n; ++i) {
    char fqdn[64];
    snprintf(fqdn, sizeof fqdn, "srv%04ld.company.local", i);
    if (!one_server(dir, fqdn, rsa)) return 1;
  }
  return 0;
}
