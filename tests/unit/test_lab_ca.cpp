#include <doctest/doctest.h>

#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <sys/stat.h>

#include "poolcert/ca/lab_ca.hpp"
#include "poolcert/model/error.hpp"
#include "poolcert/sys/file_io.hpp"
#include "poolcert/x509/csr.hpp"
#include "poolcert/x509/key.hpp"
#include "poolcert/x509/x509_load.hpp"
#include "temp_dir.hpp"

using namespace poolcert;
namespace fs = std::filesystem;

namespace {

// A lab CA made once for the whole file: RSA key generation is the slow part.
struct LabFixture {
  test::TempDir tmp;
  LabCaInit init;
  LabFixture() {
    LabCaSettings settings;
    settings.intermediate = true;
    settings.cdp_url = "http://pki.lab/inter.crl";
    settings.aia_url = "http://pki.lab/inter.cer";
    settings.key_bits = 2048;
    init = init_lab_ca(tmp.path() / "ca", settings);
  }
};

const LabFixture& lab() {
  static LabFixture fixture;
  return fixture;
}

CertificatePlan server_plan() {
  CertificatePlan plan;
  plan.server_fqdn = "ocssrv01.company.local";
  plan.common_name = "ocspool.company.local";
  plan.subject = {{"O", "Company"}, {"CN", "ocspool.company.local"}};
  for (const char* n : {"ocspool.company.local", "sip.company.local", "ocssrv01.company.local"})
    plan.sans.push_back({n, "test"});
  plan.eku = {"serverAuth", "clientAuth"};
  plan.key_usage = {"digitalSignature", "keyEncipherment", "keyCertSign"};
  plan.digest = "sha256";
  return plan;
}

// Writes a fresh CSR for server_plan() and returns its path.
fs::path write_csr(const test::TempDir& dir, const std::string& name) {
  ossl::UniquePtr<EVP_PKEY> key = generate_key(KeySpec{});
  ossl::UniquePtr<X509_REQ> req = build_csr(server_plan(), key.get());
  return dir.write(name, encode_csr_pem(req.get()));
}

ossl::UniquePtr<X509> read_cert(const fs::path& file) {
  X509Objects objects = load_x509_objects(file);
  REQUIRE(objects.certificates.size() == 1);
  return std::move(objects.certificates.front());
}

// X509_verify_cert with the root trusted and the intermediate untrusted, as a client sees it.
int verify_with_chain(X509* leaf, X509* root, X509* intermediate) {
  ossl::UniquePtr<X509_STORE> store(X509_STORE_new());
  REQUIRE(X509_STORE_add_cert(store.get(), root) == 1);
  ossl::UniquePtr<STACK_OF(X509)> untrusted(sk_X509_new_null());
  REQUIRE(X509_up_ref(intermediate) == 1);
  REQUIRE(sk_X509_push(untrusted.get(), intermediate) == 1);  // the stack's reference
  ossl::UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  REQUIRE(X509_STORE_CTX_init(ctx.get(), store.get(), leaf, untrusted.get()) == 1);
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
  int ok = X509_verify_cert(ctx.get());
  if (ok != 1) MESSAGE(X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
  return ok;
}

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("ca init makes a self-signed root that verifies its own signature") {
  const LabCaInit& init = lab().init;
  REQUIRE(init.files.size() == 2);
  CHECK(init.files[0].role == "root");
  ossl::UniquePtr<X509> root = read_cert(init.files[0].certificate);
  CHECK(X509_verify(root.get(), X509_get0_pubkey(root.get())) == 1);
  CHECK(X509_check_issued(root.get(), root.get()) == X509_V_OK);
  CHECK(X509_check_ca(root.get()) == 1);
  X509Facts f = certificate_facts(root.get());
  CHECK(f.common_name == "poolcert lab Root CA");
  CHECK(f.is_ca == true);
  CHECK(f.key_usage == std::vector<std::string>{"keyCertSign", "cRLSign"});
  CHECK(X509_get0_subject_key_id(root.get()) != nullptr);
  CHECK(mode_of(init.files[0].key) == 0600);
  CHECK(mode_of(init.files[1].key) == 0600);
  CHECK(mode_of(init.files[0].certificate) == 0644);
  CHECK(mode_of(init.dir) == 0700);
}

TEST_CASE("the intermediate is signed by the root and may only issue leaves") {
  const LabCaInit& init = lab().init;
  ossl::UniquePtr<X509> root = read_cert(init.files[0].certificate);
  ossl::UniquePtr<X509> inter = read_cert(init.files[1].certificate);
  CHECK(X509_verify(inter.get(), X509_get0_pubkey(root.get())) == 1);
  CHECK(X509_get_pathlen(inter.get()) == 0);
  CHECK(certificate_facts(inter.get()).common_name == "poolcert lab Issuing CA");
}

TEST_CASE("a CA folder reads back and is never overwritten") {
  LabCa ca = load_lab_ca(lab().init.dir);
  REQUIRE(ca.chain.size() == 2);
  CHECK(certificate_facts(ca.chain[0].get()).common_name == "poolcert lab Issuing CA");
  CHECK(ca.cdp_url == "http://pki.lab/inter.crl");
  CHECK(ca.aia_url == "http://pki.lab/inter.cer");
  std::string before = read_input_file(lab().init.dir / "root.key");
  CHECK_THROWS_AS(init_lab_ca(lab().init.dir, LabCaSettings{}), UsageError);
  CHECK(read_input_file(lab().init.dir / "root.key") == before);
}

TEST_CASE("ca.json is read strictly") {
  test::TempDir tmp;
  fs::path dir = tmp.path();
  for (const char* name : {"root.cer", "intermediate.cer", "intermediate.key"})
    fs::copy_file(lab().init.dir / name, dir / name);
  std::string good = read_input_file(lab().init.dir / "ca.json");
  auto with = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    REQUIRE(text.find(from) != std::string::npos);
    text.replace(text.find(from), from.size(), to);
    tmp.write("ca.json", text);
  };
  with("\"name\"", "\"nmae\"");
  CHECK_THROWS_WITH_AS(load_lab_ca(dir), doctest::Contains("nmae: unknown field"), BadFileError);
  with("\"intermediate.key\"", "\"../intermediate.key\"");
  CHECK_THROWS_WITH_AS(load_lab_ca(dir), doctest::Contains("issuer_key"), BadFileError);
  with("\"http://pki.lab/inter.crl\"", "42");
  CHECK_THROWS_WITH_AS(load_lab_ca(dir), doctest::Contains("crl_distribution_point"), BadFileError);
  tmp.write("ca.json", "{");
  CHECK_THROWS_AS(load_lab_ca(dir), BadFileError);
  fs::remove(dir / "ca.json");
  CHECK_THROWS_AS(load_lab_ca(dir), UsageError);
}

TEST_CASE("ca sign issues a leaf that X509_verify_cert accepts with the CA's chain") {
  test::TempDir tmp;
  fs::path csr = write_csr(tmp, "ocssrv01.company.local.csr");
  LabCa ca = load_lab_ca(lab().init.dir);
  std::vector<IssuedCertificate> issued = sign_requests(ca, {csr}, SignOptions{});
  REQUIRE(issued.size() == 1);
  CHECK(issued[0].certificate == tmp.path() / "ocssrv01.company.local.cer");
  CHECK(mode_of(issued[0].certificate) == 0644);

  ossl::UniquePtr<X509> leaf = read_cert(issued[0].certificate);
  CHECK(verify_with_chain(leaf.get(), ca.chain[1].get(), ca.chain[0].get()) == 1);
  X509Facts f = certificate_facts(leaf.get());
  CHECK(join_name(f.subject) == "O=Company, CN=ocspool.company.local");
  CHECK(f.dns_sans == std::vector<std::string>{"ocspool.company.local", "sip.company.local",
                                               "ocssrv01.company.local"});
  CHECK(f.eku == std::vector<std::string>{"serverAuth", "clientAuth"});
  // Copied from the request, without the keyCertSign it asked for (RFC 5280 4.2.1.3).
  CHECK(f.key_usage == std::vector<std::string>{"digitalSignature", "keyEncipherment"});
  CHECK(f.is_ca == false);
  CHECK(f.crl_distribution_points == std::vector<std::string>{"http://pki.lab/inter.crl"});
  CHECK(f.signature_algorithm == "sha256WithRSAEncryption");
  CHECK(f.serial.size() == 32);  // 128 bits
  CHECK(*f.not_after - *f.not_before == 365 * 86400 + 300);

  X509Objects p7b = load_x509_objects(issued[0].chain);
  CHECK(p7b.encoding == "PKCS#7 DER");
  REQUIRE(p7b.certificates.size() == 3);
  CHECK(X509_cmp(p7b.certificates[0].get(), leaf.get()) == 0);
  CHECK(X509_cmp(p7b.certificates[2].get(), ca.chain[1].get()) == 0);

  // Never over an existing output.
  CHECK_THROWS_AS(sign_requests(ca, {csr}, SignOptions{}), UsageError);
}

TEST_CASE("explicit usages replace the request's") {
  test::TempDir tmp;
  fs::path csr = write_csr(tmp, "a.csr");
  LabCa ca = load_lab_ca(lab().init.dir);
  X509Objects objects = load_x509_objects(csr);
  LeafOptions options;
  options.usages.eku = std::vector<std::string>{"serverAuth"};
  options.usages.key_usage = std::vector<std::string>{"digitalSignature"};
  ossl::UniquePtr<X509> leaf = issue_leaf(ca, objects.requests[0].get(), options);
  X509Facts f = certificate_facts(leaf.get());
  CHECK(f.eku == std::vector<std::string>{"serverAuth"});
  CHECK(f.key_usage == std::vector<std::string>{"digitalSignature"});
}

TEST_CASE("a tampered CSR is refused and nothing is written") {
  test::TempDir tmp;
  fs::path good = write_csr(tmp, "good.csr");
  X509Objects objects = load_x509_objects(good);
  unsigned char* der = nullptr;
  int len = i2d_X509_REQ(objects.requests[0].get(), &der);
  REQUIRE(len > 100);
  std::string bytes(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  bytes[static_cast<std::size_t>(len) - 10] ^= 0x01;  // inside the signature value
  fs::path bad = tmp.write("bad.csr", bytes);

  LabCa ca = load_lab_ca(lab().init.dir);
  CHECK_THROWS_WITH_AS(sign_requests(ca, {good, bad}, SignOptions{}),
                       doctest::Contains("bad.csr: the request's self-signature does not verify"),
                       BadFileError);
  CHECK_FALSE(fs::exists(tmp.path() / "good.cer"));
  CHECK_FALSE(fs::exists(tmp.path() / "bad.cer"));
}

TEST_CASE("a leaf may not outlive its CA") {
  test::TempDir tmp;
  fs::path csr = write_csr(tmp, "long.csr");
  LabCa ca = load_lab_ca(lab().init.dir);
  SignOptions options;
  options.days = 20000;
  CHECK_THROWS_AS(sign_requests(ca, {csr}, options), UsageError);
}

TEST_CASE("ca init refuses bad settings before making anything") {
  test::TempDir tmp;
  LabCaSettings settings;
  settings.cdp_url = "ftp://pki.lab/x.crl";
  CHECK_THROWS_AS(init_lab_ca(tmp.path() / "ca", settings), UsageError);
  settings.cdp_url = "http://pki.lab/a b.crl";
  CHECK_THROWS_AS(init_lab_ca(tmp.path() / "ca", settings), UsageError);
  settings.cdp_url.clear();
  settings.name = std::string(60, 'x');  // "<name> Root CA" over 64 characters
  CHECK_THROWS_AS(init_lab_ca(tmp.path() / "ca", settings), UsageError);
  CHECK_FALSE(fs::exists(tmp.path() / "ca"));
}
