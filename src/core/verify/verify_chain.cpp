// chain.trusted and chain.complete: does the leaf build to a trust anchor, and did the input
// carry every intermediate (the server must send them; clients will not have them).
#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include <set>

#include "poolcert/model/checks.hpp"
#include "poolcert/model/error.hpp"
#include "poolcert/sys/file_io.hpp"
#include "poolcert/verify/verify.hpp"
#include "poolcert/x509/inspect.hpp"
#include "poolcert/x509/x509_load.hpp"

namespace poolcert {
namespace {

constexpr int kMaxChainDepth = 16;

std::string subject_of(const X509* cert) {
  std::string text = subject_text(cert);
  return text.empty() ? "(empty subject)" : text;
}

bool self_signed(X509* cert) {
  return X509_check_issued(cert, cert) == X509_V_OK;
}

// The leaf's validity is validity.window's business: here it must not fail the chain too.
int ignore_leaf_time(int ok, X509_STORE_CTX* ctx) {
  if (ok == 0 && X509_STORE_CTX_get_error_depth(ctx) == 0) {
    int err = X509_STORE_CTX_get_error(ctx);
    if (err == X509_V_ERR_CERT_HAS_EXPIRED || err == X509_V_ERR_CERT_NOT_YET_VALID) return 1;
  }
  return ok;
}

ossl::UniquePtr<X509_STORE_CTX> make_context(const CertificateChecks& in,
                                             STACK_OF(X509) * untrusted) {
  ossl::UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), in.trust, in.leaf, untrusted) != 1) {
    throw OpenSslError("setting up chain building");
  }
  X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx.get()), in.options->at);
  return ctx;
}

CheckResult check_trusted(const CertificateChecks& in) {
  ossl::UniquePtr<STACK_OF(X509)> untrusted(sk_X509_new_null());
  if (!untrusted) throw OpenSslError("allocating a certificate stack");
  for (X509* c : in.supplied) {
    if (c == in.leaf) continue;
    if (sk_X509_push(untrusted.get(), c) == 0) throw OpenSslError("stacking a certificate");
    X509_up_ref(c);  // the stack's reference, freed by its pop_free deleter
  }
  ossl::UniquePtr<X509_STORE_CTX> ctx = make_context(in, untrusted.get());
  X509_STORE_CTX_set_verify_cb(ctx.get(), ignore_leaf_time);
  int ok = X509_verify_cert(ctx.get());
  std::string anchor;
  if (ok == 1) {
    STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
    anchor = subject_of(sk_X509_value(chain, sk_X509_num(chain) - 1));
  }
  int err = X509_STORE_CTX_get_error(ctx.get());
  int depth = X509_STORE_CTX_get_error_depth(ctx.get());
  ERR_clear_error();
  std::string where = in.options->ca_bundle ? in.options->ca_bundle->string() : "the system store";
  if (ok == 1) {
    return {std::string(check::kChainTrusted), CheckStatus::kPass,
            "builds to " + anchor + " from " + where, "a chain to " + where, anchor};
  }
  std::string why = X509_verify_cert_error_string(err);
  return {std::string(check::kChainTrusted), CheckStatus::kFail,
          "does not build to a trust anchor in " + where + ": " + why + " (at depth " +
              std::to_string(depth) + ")",
          "a chain to " + where, why};
}

// Walks from the leaf to a self-signed root, issuers first from the input, then from the trust
// store; every certificate between the leaf and the root must have come from the input.
CheckResult check_complete(const CertificateChecks& in) {
  ossl::UniquePtr<X509_STORE_CTX> ctx = make_context(in, nullptr);
  std::vector<ossl::UniquePtr<X509>> from_store;  // keeps the store's issuers alive
  std::vector<std::string> path;
  std::vector<std::string> not_supplied;
  X509* cur = in.leaf;
  for (int depth = 0; depth < kMaxChainDepth; ++depth) {
    if (self_signed(cur)) {
      if (not_supplied.empty()) {
        std::size_t intermediates = path.empty() ? 0 : path.size() - 1;  // the root is not one
        return {std::string(check::kChainComplete), CheckStatus::kPass,
                intermediates == 0
                    ? "no intermediate between the leaf and " + subject_of(cur)
                    : "every intermediate up to " + subject_of(cur) + " was supplied",
                "all intermediates",
                std::to_string(intermediates) +
                    (intermediates == 1 ? " intermediate supplied" : " intermediates supplied")};
      }
      std::string list;
      for (const std::string& s : not_supplied) list += (list.empty() ? "" : "; ") + s;
      return {std::string(check::kChainComplete), CheckStatus::kFail,
              "intermediate " + list +
                  " was not supplied with the certificate: the server must send it (give the "
                  ".p7b or the chain file)",
              "all intermediates", "missing: " + list};
    }
    X509* issuer = nullptr;
    for (X509* c : in.supplied) {
      if (c != cur && X509_check_issued(c, cur) == X509_V_OK) {
        issuer = c;
        break;
      }
    }
    if (issuer == nullptr) {
      X509* found = nullptr;
      if (X509_STORE_CTX_get1_issuer(&found, ctx.get(), cur) != 1 || found == nullptr) {
        ERR_clear_error();
        X509_NAME* name = X509_get_issuer_name(cur);
        char buf[256];
        X509_NAME_oneline(name, buf, sizeof buf);
        return {std::string(check::kChainComplete), CheckStatus::kWarn,
                std::string("cannot tell: the issuer ") + buf +
                    " is neither in the input nor in the trust store",
                "all intermediates", "issuer not found"};
      }
      from_store.emplace_back(found);
      issuer = found;
      if (!self_signed(issuer)) not_supplied.push_back(subject_of(issuer));
    }
    path.push_back(subject_of(issuer));
    cur = issuer;
  }
  return {std::string(check::kChainComplete), CheckStatus::kFail,
          "the chain is longer than 16 certificates", "a chain of at most 16", "longer"};
}

// Orders certificates as X509_STORE_add_cert tells them apart (X509_cmp: the SHA-1 fingerprint,
// then the encoding), so a set of them holds each certificate once.
struct CertificateOrder {
  bool operator()(const X509* a, const X509* b) const { return X509_cmp(a, b) < 0; }
};

// Puts each distinct certificate of `certs` into `store`, the first of its copies in file order,
// as X509_STORE_add_cert would, but in n log n. X509_STORE_add_cert looks for the certificate in
// the store's object stack with sk_X509_OBJECT_find, which sorts the whole stack whenever it is
// unsorted, and every insertion leaves it unsorted: OpenSSL 3.0 sorts again for each certificate
// (a bundle of 25,000 took a minute). Here duplicates are dropped with a set, the objects
// pushed, and the stack sorted once by the comparator the store gave it, as its first lookup
// would do; the verify threads then only read it.
void add_distinct_certificates(X509_STORE* store, const std::vector<ossl::UniquePtr<X509>>& certs) {
  STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(store);
  std::set<const X509*, CertificateOrder> seen;
  for (const auto& cert : certs) {
    if (!seen.insert(cert.get()).second) continue;  // a copy of one already in the store
    ossl::UniquePtr<X509_OBJECT> object(X509_OBJECT_new());
    if (!object || X509_OBJECT_set1_X509(object.get(), cert.get()) != 1 ||  // its own reference
        sk_X509_OBJECT_push(objects, object.get()) == 0) {
      throw OpenSslError("adding a CA bundle certificate");
    }
    object.release();  // owned by the store now (X509_STORE_free frees its objects)
  }
  sk_X509_OBJECT_sort(objects);
}

}  // namespace

void check_chain(const CertificateChecks& in, std::vector<CheckResult>& out) {
  out.push_back(check_trusted(in));
  out.push_back(check_complete(in));
}

ossl::UniquePtr<X509_STORE> load_trust_store(const std::optional<std::filesystem::path>& bundle) {
  ossl::UniquePtr<X509_STORE> store(X509_STORE_new());
  if (!store) throw OpenSslError("allocating a trust store");
  if (!bundle) {
    if (X509_STORE_set_default_paths(store.get()) != 1) {
      throw OpenSslError("loading the system trust store");
    }
    return store;
  }
  X509Objects objects = load_x509_objects(*bundle);
  if (objects.certificates.empty()) {
    throw BadFileError(*bundle, "the CA bundle holds no certificates");
  }
  add_distinct_certificates(store.get(), objects.certificates);
  return store;
}

}  // namespace poolcert
