// What a DNS check's datagrams showed, seen under c-ares (internal to dns_check.cpp).
#pragma once

#include <ares.h>

#include <compare>
#include <cstddef>
#include <map>
#include <set>
#include <string>

namespace poolcert {

// DnsQuestion is one question as c-ares asked it: the name (lower case, no final dot) and the
// type (1 A, 5 CNAME, 33 SRV).
struct DnsQuestion {
  std::string name;
  int type = 0;
  auto operator<=>(const DnsQuestion&) const = default;
};

// DnsWire sits under one c-ares channel (ares_set_socket_functions) and keeps what the servers'
// datagrams showed where c-ares's status code alone misleads:
// - c-ares asks again over TCP after a truncated UDP answer, and also after one longer than the
//   query allowed without the truncation bit (a malformed reply); it then reports only how TCP
//   ended, ARES_ECONNREFUSED from a server without TCP.
// - It drops datagrams that answer no query asked: the query then times out.
// - A connected UDP socket reports an earlier datagram's ICMP port unreachable on the next send:
//   c-ares fails the query being sent, and the refused one waits for its timeout. DnsWire sends
//   that datagram again, so the refusal reaches c-ares on its next read, for every query.
//
// attach() before the first query; the DnsWire must outlive the channel (c-ares closes its
// sockets through it in ares_destroy). Its socket functions never throw (bad_alloc terminates).
class DnsWire {
 public:
  // TcpFallback is the UDP answer after which c-ares asked a question again over TCP.
  struct TcpFallback {
    DnsQuestion question;
    std::string server;      // "127.0.0.1:5353", "[::1]:53"
    std::size_t bytes = 0;   // the datagram's length
    std::size_t limit = 0;   // what the query allowed: 512, or its EDNS0 UDP payload size
    bool truncated = false;  // the TC bit was set; else the answer was over the limit without it
  };

  void attach(ares_channeldata* channel);

  // The answer after which c-ares asked `question` again over TCP, or nullptr.
  const TcpFallback* tcp_fallback(const DnsQuestion& question) const;
  // The first TCP fallback of any question at a server `question` was sent to, or nullptr. When
  // that TCP connection fails, c-ares ends every query to the server (1.18 handle_error).
  const TcpFallback* tcp_fallback_beside(const DnsQuestion& question) const;
  // The servers `question` was sent to over UDP, joined with ", "; "" when none.
  std::string asked_at(const DnsQuestion& question) const;
  // The servers that answered a datagram with ICMP port unreachable, joined with ", ".
  std::string refused() const;
  // What servers sent that answers no query asked: "127.0.0.1:5353 sent 4 datagrams that
  // answer no query asked (the first: shorter than a DNS header, 3 bytes)"; "" when nothing.
  std::string unusable() const;

 private:
  struct Socket {
    bool udp = false;
    std::string peer;
  };
  struct Asked {
    std::size_t limit = 0;
    std::string server;
  };
  struct Unusable {
    int count = 0;
    std::string first;
  };

  static ares_socket_t open(int family, int type, int protocol, void* self) noexcept;
  static int close(ares_socket_t fd, void* self) noexcept;
  static int connect(ares_socket_t fd, const sockaddr* to, ares_socklen_t length,
                     void* self) noexcept;
  static ares_ssize_t receive(ares_socket_t fd, void* buffer, size_t length, int flags,
                              sockaddr* from, ares_socklen_t* from_length, void* self) noexcept;
  static ares_ssize_t send(ares_socket_t fd, const iovec* parts, int count, void* self) noexcept;

  void note_query(const Socket& socket, const iovec* parts, int count);
  void note_answer(const Socket& socket, const unsigned char* answer, std::size_t length);

  std::map<ares_socket_t, Socket> sockets_;
  std::map<DnsQuestion, std::map<unsigned, Asked>> asked_;  // by question, then query ID
  std::map<DnsQuestion, TcpFallback> tcp_fallback_;
  std::map<std::string, TcpFallback> first_tcp_fallback_;  // by server
  std::set<std::string> refused_;
  std::map<std::string, Unusable> unusable_;  // by server
};

}  // namespace poolcert
