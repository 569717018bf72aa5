#include "poolcert/probe/tls_probe.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <regex>

#include "poolcert/model/error.hpp"

namespace poolcert {
namespace {

using Clock = std::chrono::steady_clock;

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

[[noreturn]] void fail(const ProbeTarget& t, const std::string& why) {
  throw Error(ErrorKind::kBadInput, t.host + ":" + std::to_string(t.port) + ": " + why);
}

int millis_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Waits for `events` on fd until the deadline; false on timeout.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  while (true) {
    int n = ::poll(&p, 1, millis_left(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

// Connects without blocking past the deadline, trying each address getaddrinfo gives.
int connect_within(const ProbeTarget& t, Clock::time_point deadline, std::string& address) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  int rc = ::getaddrinfo(t.host.c_str(), std::to_string(t.port).c_str(), &hints, &list);
  if (rc != 0) fail(t, std::string("cannot resolve: ") + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(list, ::freeaddrinfo);
  std::string last = "no address";
  for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    char host[NI_MAXHOST] = "";
    ::getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, nullptr, 0, NI_NUMERICHOST);
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last = std::strerror(errno);
      ::close(fd);
      continue;
    }
    if (!wait_for(fd, POLLOUT, deadline)) {
      ::close(fd);
      fail(t, "timeout: no TCP connection within " + std::to_string(static_cast<int>(t.timeout_s)) +
                  " s");
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      last =
          err == ECONNREFUSED ? "connection refused (nothing listens there)" : std::strerror(err);
      ::close(fd);
      continue;
    }
    address = host;
    return fd;
  }
  fail(t, last);
}

std::string handshake_error(SSL* ssl, int rc) {
  int err = SSL_get_error(ssl, rc);
  unsigned long code = ERR_peek_last_error();
  std::string why;
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    why = buf;
  }
  ERR_clear_error();
  if (err == SSL_ERROR_SYSCALL && why.empty()) {
    return "TLS handshake failed: the peer closed the connection (does it speak TLS?)";
  }
  return "TLS handshake failed: " + (why.empty() ? "error " + std::to_string(err) : why);
}

}  // namespace

ProbeTarget parse_probe_target(const std::string& text) {
  if (text.size() > 300)
    throw UsageError("target: longer than 300 characters");  // bounds the regex
  static const std::regex kV6(R"(\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?)");
  static const std::regex kHost(R"(([^:\[\]]+)(?::(\d{1,5}))?)");
  std::smatch m;
  if (!std::regex_match(text, m, kV6) && !std::regex_match(text, m, kHost)) {
    throw UsageError(quote_value(text) + ": expected HOST, HOST:PORT or [IPv6]:PORT");
  }
  ProbeTarget t;
  t.host = m[1].str();
  if (m[2].matched) {
    t.port = std::stoi(m[2].str());
    if (t.port < 1 || t.port > 65535) throw UsageError(quote_value(text) + ": port out of range");
  }
  return t;
}

ProbeResult probe_tls(const ProbeTarget& t) {
  Clock::time_point deadline =
      Clock::now() + std::chrono::milliseconds(static_cast<long>(t.timeout_s * 1000));
  ProbeResult result;
  Socket sock(connect_within(t, deadline, result.address));

  ossl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) throw OpenSslError("creating a TLS context");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);  // judged by verify's checks
  ossl::UniquePtr<SSL> ssl(SSL_new(ctx.get()));
  if (!ssl || SSL_set_fd(ssl.get(), sock.get()) != 1) throw OpenSslError("creating a TLS session");
  if (!t.sni.empty() && SSL_set_tlsext_host_name(ssl.get(), t.sni.c_str()) != 1) {
    throw OpenSslError("setting SNI " + t.sni, ErrorKind::kBadInput);
  }
  while (true) {
    int rc = SSL_connect(ssl.get());
    if (rc == 1) break;
    int err = SSL_get_error(ssl.get(), rc);
    short events = err == SSL_ERROR_WANT_READ ? POLLIN : err == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (events == 0) fail(t, handshake_error(ssl.get(), rc));
    if (!wait_for(sock.get(), events, deadline)) {
      fail(t, "timeout: no TLS handshake within " + std::to_string(static_cast<int>(t.timeout_s)) +
                  " s (does the server speak TLS on this port?)");
    }
  }
  result.protocol = SSL_get_version(ssl.get());
  result.cipher = SSL_get_cipher_name(ssl.get());
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl.get());  // client side: leaf first
  for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
    X509* cert = sk_X509_value(chain, i);
    X509_up_ref(cert);
    result.chain.emplace_back(cert);  // owns the reference taken above
  }
  SSL_shutdown(ssl.get());  // best effort; the socket is non-blocking
  ERR_clear_error();
  if (result.chain.empty()) fail(t, "the server presented no certificate");
  return result;
}

}  // namespace poolcert
