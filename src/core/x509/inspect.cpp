#include "poolcert/x509/inspect.hpp"

#include <openssl/err.h>

#include "poolcert/model/error.hpp"
#include "poolcert/x509/x509_vocab.hpp"

namespace poolcert {
namespace {

std::string asn1_text(const ASN1_STRING* s) {
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, s);
  if (len < 0) return {};
  std::string out(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

std::vector<std::pair<std::string, std::string>> name_entries(const X509_NAME* name) {
  std::vector<std::pair<std::string, std::string>> out;
  for (int i = 0; name != nullptr && i < X509_NAME_entry_count(name); ++i) {
    const X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);
    int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
    const char* sn = nid != NID_undef ? OBJ_nid2sn(nid) : nullptr;
    std::string attr;
    if (sn != nullptr) {
      attr = sn;
    } else {
      char oid[80];
      OBJ_obj2txt(oid, sizeof oid, X509_NAME_ENTRY_get_object(e), 1);
      attr = oid;
    }
    out.emplace_back(attr, asn1_text(X509_NAME_ENTRY_get_data(e)));
  }
  return out;
}

std::string last_cn(const std::vector<std::pair<std::string, std::string>>& subject) {
  std::string cn;
  for (const auto& [attr, value] : subject) {
    if (attr == "CN") cn = value;
  }
  return cn;
}

// Reads the extensions both kinds share from one extension stack view.
template <class GetExt>
void read_extensions(X509Facts& f, GetExt get) {
  int crit = 0;
  if (auto* names = static_cast<GENERAL_NAMES*>(get(NID_subject_alt_name, &crit))) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
      int type = 0;
      const void* v = GENERAL_NAME_get0_value(gn, &type);
      const auto* s = static_cast<const ASN1_STRING*>(v);
      if (type == GEN_DNS) {
        f.dns_sans.push_back(asn1_text(s));
      } else if (type == GEN_IPADD) {
        ossl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
        GENERAL_NAME_print(bio.get(), const_cast<GENERAL_NAME*>(gn));
        char* d = nullptr;
        long n = BIO_get_mem_data(bio.get(), &d);
        f.other_sans.emplace_back(d, static_cast<std::size_t>(n));
      } else if (type == GEN_EMAIL) {
        f.other_sans.push_back("email:" + asn1_text(s));
      } else if (type == GEN_URI) {
        f.other_sans.push_back("URI:" + asn1_text(s));
      } else {
        f.other_sans.push_back("other:" + std::to_string(type));
      }
    }
    GENERAL_NAMES_free(names);
  }
  if (auto* eku = static_cast<EXTENDED_KEY_USAGE*>(get(NID_ext_key_usage, &crit))) {
    f.has_eku = true;
    for (int i = 0; i < sk_ASN1_OBJECT_num(eku); ++i) {
      const ASN1_OBJECT* oid = sk_ASN1_OBJECT_value(eku, i);
      int nid = OBJ_obj2nid(oid);
      if (nid != NID_undef) {
        f.eku.push_back(eku_name(nid));
      } else {
        char txt[80];
        OBJ_obj2txt(txt, sizeof txt, oid, 1);
        f.eku.emplace_back(txt);
      }
    }
    EXTENDED_KEY_USAGE_free(eku);
  }
  if (auto* ku = static_cast<ASN1_BIT_STRING*>(get(NID_key_usage, &crit))) {
    f.has_key_usage = true;
    unsigned long bits = 0;
    for (int b = 0; b < 9; ++b) {
      if (ASN1_BIT_STRING_get_bit(ku, b)) bits |= 1UL << b;
    }
    f.key_usage = key_usage_names(bits);
    ASN1_BIT_STRING_free(ku);
  }
  if (auto* bc = static_cast<BASIC_CONSTRAINTS*>(get(NID_basic_constraints, &crit))) {
    f.is_ca = bc->ca != 0;
    BASIC_CONSTRAINTS_free(bc);
  }
  if (auto* cdp = static_cast<CRL_DIST_POINTS*>(get(NID_crl_distribution_points, &crit))) {
    for (int i = 0; i < sk_DIST_POINT_num(cdp); ++i) {
      const DIST_POINT* dp = sk_DIST_POINT_value(cdp, i);
      if (dp->distpoint == nullptr || dp->distpoint->type != 0) continue;
      GENERAL_NAMES* full = dp->distpoint->name.fullname;
      for (int j = 0; j < sk_GENERAL_NAME_num(full); ++j) {
        int type = 0;
        const void* v = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(full, j), &type);
        if (type == GEN_URI) {
          f.crl_distribution_points.push_back(asn1_text(static_cast<const ASN1_STRING*>(v)));
        }
      }
    }
    CRL_DIST_POINTS_free(cdp);
  }
  ERR_clear_error();  // a malformed extension reads as absent; the checks report that
}

// Reads the AD CS template from an extension stack (Microsoft's OIDs: OpenSSL has no NIDs).
std::string template_of(const STACK_OF(X509_EXTENSION) * exts) {
  ossl::UniquePtr<ASN1_OBJECT> name_oid(OBJ_txt2obj("1.3.6.1.4.1.311.20.2", 1));
  ossl::UniquePtr<ASN1_OBJECT> v2_oid(OBJ_txt2obj("1.3.6.1.4.1.311.21.7", 1));
  if (exts == nullptr || !name_oid || !v2_oid) return {};
  int at = X509v3_get_ext_by_OBJ(exts, name_oid.get(), -1);
  if (at >= 0) {
    const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(X509v3_get_ext(exts, at));
    const unsigned char* p = ASN1_STRING_get0_data(data);
    ossl::UniquePtr<ASN1_STRING> bmp(d2i_ASN1_BMPSTRING(nullptr, &p, ASN1_STRING_length(data)));
    ERR_clear_error();
    return bmp ? asn1_text(bmp.get()) : std::string("(unreadable template name)");
  }
  at = X509v3_get_ext_by_OBJ(exts, v2_oid.get(), -1);
  if (at < 0) return {};
  const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(X509v3_get_ext(exts, at));
  const unsigned char* p = ASN1_STRING_get0_data(data);
  STACK_OF(ASN1_TYPE)* seq = d2i_ASN1_SEQUENCE_ANY(nullptr, &p, ASN1_STRING_length(data));
  std::string out = "(unreadable template)";
  if (seq != nullptr && sk_ASN1_TYPE_num(seq) > 0 &&
      ASN1_TYPE_get(sk_ASN1_TYPE_value(seq, 0)) == V_ASN1_OBJECT) {
    char txt[128];
    OBJ_obj2txt(txt, sizeof txt, sk_ASN1_TYPE_value(seq, 0)->value.object, 1);
    out = std::string("template OID ") + txt;
  }
  sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
  ERR_clear_error();
  return out;
}

std::optional<std::time_t> asn1_time(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  return ::timegm(&tm);
}

std::string signature_name(int nid) {
  const char* ln = OBJ_nid2ln(nid);
  return ln != nullptr ? ln : "unknown";
}

void read_key(X509Facts& f, EVP_PKEY* key, const X509_PUBKEY* spki) {
  if (key == nullptr || spki == nullptr) {
    ERR_clear_error();
    f.key.type = "unreadable";
    return;
  }
  f.key = key_facts(key);
  f.spki_sha256 = spki_sha256(spki);
}

}  // namespace

X509Facts certificate_facts(X509* cert) {
  X509Facts f;
  f.kind = "certificate";
  f.subject = name_entries(X509_get_subject_name(cert));
  f.common_name = last_cn(f.subject);
  f.issuer = name_entries(X509_get_issuer_name(cert));
  if (const ASN1_INTEGER* serial = X509_get0_serialNumber(cert)) {
    static const char kHex[] = "0123456789abcdef";
    for (int i = 0; i < serial->length; ++i) {
      f.serial += kHex[serial->data[i] >> 4];
      f.serial += kHex[serial->data[i] & 15];
    }
  }
  read_extensions(
      f, [cert](int nid, int* crit) { return X509_get_ext_d2i(cert, nid, crit, nullptr); });
  read_key(f, X509_get0_pubkey(cert), X509_get_X509_PUBKEY(cert));
  f.signature_algorithm = signature_name(X509_get_signature_nid(cert));
  f.not_before = asn1_time(X509_get0_notBefore(cert));
  f.not_after = asn1_time(X509_get0_notAfter(cert));
  f.template_name = template_of(X509_get0_extensions(cert));
  return f;
}

X509Facts request_facts(X509_REQ* req) {
  X509Facts f;
  f.kind = "csr";
  f.subject = name_entries(X509_REQ_get_subject_name(req));
  f.common_name = last_cn(f.subject);
  ossl::UniquePtr<STACK_OF(X509_EXTENSION)> exts(X509_REQ_get_extensions(req));
  ERR_clear_error();
  read_extensions(f, [&exts](int nid, int* crit) {
    return exts ? X509V3_get_d2i(exts.get(), nid, crit, nullptr) : nullptr;
  });
  f.template_name = template_of(exts.get());
  EVP_PKEY* key = X509_REQ_get0_pubkey(req);
  read_key(f, key, X509_REQ_get_X509_PUBKEY(req));
  f.signature_algorithm = signature_name(X509_REQ_get_signature_nid(req));
  f.signature_valid = key != nullptr && X509_REQ_verify(req, key) == 1;
  ERR_clear_error();
  return f;
}

std::string subject_text(const X509* cert) {
  return join_name(name_entries(X509_get_subject_name(cert)));
}

std::string format_utc(std::time_t t) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string join_name(const std::vector<std::pair<std::string, std::string>>& name) {
  std::string out;
  for (const auto& [attr, value] : name) {
    if (!out.empty()) out += ", ";
    out += attr + "=" + value;
  }
  return out;
}

}  // namespace poolcert
