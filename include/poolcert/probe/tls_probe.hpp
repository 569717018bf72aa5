// A TLS handshake with a live server, to get the chain it presents (OpenSSL, TLS 1.2 and 1.3).
#pragma once

#include <string>
#include <vector>

#include "poolcert/x509/ossl.hpp"

namespace poolcert {

// ProbeTarget is where to connect and what to ask for.
struct ProbeTarget {
  std::string host;
  int port = 5061;        // SIP over TLS
  std::string sni;        // "" sends none
  double timeout_s = 10;  // for connect and handshake together
};

// parse_probe_target reads "HOST", "HOST:PORT", "[IPv6]" or "[IPv6]:PORT". Throws UsageError.
ProbeTarget parse_probe_target(const std::string& text);

// ProbeResult is what the handshake gave: the negotiated protocol and cipher and the chain the
// server sent, leaf first.
struct ProbeResult {
  std::string address;  // the address connected to
  std::string protocol;
  std::string cipher;
  std::vector<ossl::UniquePtr<X509>> chain;
};

// probe_tls connects and handshakes within the timeout; it does not judge the certificates (the
// caller's checks do). Throws Error (kBadInput) with one line for a refused connection, a
// timeout, a peer that does not speak TLS, or a failed handshake.
ProbeResult probe_tls(const ProbeTarget& target);

}  // namespace poolcert
