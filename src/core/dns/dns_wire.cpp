#include "dns/dns_wire.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <utility>
#include <vector>

#include "poolcert/model/dns_name.hpp"

namespace poolcert {
namespace {

constexpr std::size_t kHeader = 12;     // RFC 1035 4.1.1
constexpr std::size_t kUdpLimit = 512;  // RFC 1035 4.2.1: UDP messages are at most 512 bytes
constexpr unsigned kTypeOpt = 41;       // RFC 6891 6.1.1
constexpr std::size_t kOptFixed = 11;   // root name, type, class, TTL, RDLENGTH

unsigned u16(const unsigned char* at) {
  return (at[0] << 8) | at[1];
}

// The first question of a DNS message (RFC 1035 4.1.2) and the offset just past it; nullopt
// when there is none or it does not read.
std::optional<std::pair<DnsQuestion, std::size_t>> question_of(const unsigned char* message,
                                                               std::size_t length) {
  if (length < kHeader || u16(message + 4) == 0) return std::nullopt;
  char* name = nullptr;
  long name_length = 0;
  if (ares_expand_name(message + kHeader, message, static_cast<int>(length), &name, &name_length) !=
      ARES_SUCCESS) {
    return std::nullopt;
  }
  DnsQuestion question{to_lower_ascii(name), 0};
  ares_free_string(name);
  if (!question.name.empty() && question.name.back() == '.') question.name.pop_back();
  std::size_t end = kHeader + static_cast<std::size_t>(name_length);
  if (end + 4 > length) return std::nullopt;
  question.type = static_cast<int>(u16(message + end));
  return std::make_pair(std::move(question), end + 4);
}

// The largest UDP answer a query allows: 512 bytes, or with an OPT record after its question the
// requestor's payload size there (RFC 6891 6.2.3; below 512 counts as 512, 6.2.5).
std::size_t udp_limit(const unsigned char* query, std::size_t length, std::size_t at) {
  bool only_additional = u16(query + 6) == 0 && u16(query + 8) == 0 && u16(query + 10) > 0;
  if (!only_additional || at + kOptFixed > length) return kUdpLimit;
  if (query[at] != 0 || u16(query + at + 1) != kTypeOpt) return kUdpLimit;  // root owner, OPT
  return std::max<std::size_t>(kUdpLimit, u16(query + at + 3));
}

std::string address_text(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = "";
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(ntohs(v4->sin_port));
  }
  if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    return "[" + std::string(text) + "]:" + std::to_string(ntohs(v6->sin6_port));
  }
  return "an address of family " + std::to_string(address->sa_family);
}

std::string joined(const std::set<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

}  // namespace

void DnsWire::attach(ares_channeldata* channel) {
  // c-ares keeps the pointer: the table must live as long as every channel.
  static const ares_socket_functions kFunctions = {open, close, connect, receive, send};
  ares_set_socket_functions(channel, &kFunctions, this);
}

const DnsWire::TcpFallback* DnsWire::tcp_fallback(const DnsQuestion& question) const {
  auto it = tcp_fallback_.find(question);
  return it == tcp_fallback_.end() ? nullptr : &it->second;
}

const DnsWire::TcpFallback* DnsWire::tcp_fallback_beside(const DnsQuestion& question) const {
  auto asked = asked_.find(question);
  if (asked == asked_.end()) return nullptr;
  for (const auto& [id, at] : asked->second) {
    if (auto it = first_tcp_fallback_.find(at.server); it != first_tcp_fallback_.end()) {
      return &it->second;
    }
  }
  return nullptr;
}

std::string DnsWire::asked_at(const DnsQuestion& question) const {
  std::set<std::string> servers;
  if (auto it = asked_.find(question); it != asked_.end()) {
    for (const auto& [id, asked] : it->second) servers.insert(asked.server);
  }
  return joined(servers);
}

std::string DnsWire::refused() const {
  return joined(refused_);
}

std::string DnsWire::unusable() const {
  std::string out;
  for (const auto& [server, u] : unusable_) {
    out += (out.empty() ? "" : "; ") + server + " sent " + std::to_string(u.count) +
           (u.count == 1 ? " datagram that answers" : " datagrams that answer") +
           " no query asked (the first: " + u.first + ")";
  }
  return out;
}

// c-ares configures no socket it did not open itself (1.18 configure_socket): non-blocking and
// close-on-exec here, and TCP_NODELAY as it sets on its own TCP sockets.
ares_socket_t DnsWire::open(int family, int type, int protocol, void* self) noexcept {
  int kind = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  int fd = ::socket(family, kind | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) return ARES_SOCKET_BAD;
  if (kind == SOCK_STREAM) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  static_cast<DnsWire*>(self)->sockets_[fd] = Socket{kind == SOCK_DGRAM, ""};
  return fd;
}

int DnsWire::close(ares_socket_t fd, void* self) noexcept {
  static_cast<DnsWire*>(self)->sockets_.erase(fd);
  return ::close(fd);
}

int DnsWire::connect(ares_socket_t fd, const sockaddr* to, ares_socklen_t length,
                     void* self) noexcept {
  int rc = ::connect(fd, to, length);
  int error = errno;
  auto& wire = *static_cast<DnsWire*>(self);
  if (auto it = wire.sockets_.find(fd); it != wire.sockets_.end()) {
    it->second.peer = address_text(to);
  }
  errno = error;  // c-ares reads it after the call
  return rc;
}

ares_ssize_t DnsWire::receive(ares_socket_t fd, void* buffer, size_t length, int flags,
                              sockaddr* from, ares_socklen_t* from_length, void* self) noexcept {
  ares_ssize_t got = ::recvfrom(fd, buffer, length, flags, from, from_length);
  int error = errno;
  auto& wire = *static_cast<DnsWire*>(self);
  auto it = wire.sockets_.find(fd);
  if (it != wire.sockets_.end() && it->second.udp) {
    if (got < 0 && error == ECONNREFUSED) wire.refused_.insert(it->second.peer);
    if (got > 0) {
      wire.note_answer(it->second, static_cast<const unsigned char*>(buffer),
                       static_cast<std::size_t>(got));
    }
  }
  errno = error;
  return got;
}

ares_ssize_t DnsWire::send(ares_socket_t fd, const iovec* parts, int count, void* self) noexcept {
  msghdr message{};
  message.msg_iov = const_cast<iovec*>(parts);
  message.msg_iovlen = static_cast<std::size_t>(count);
  ares_ssize_t sent = ::sendmsg(fd, &message, MSG_NOSIGNAL);  // as c-ares's own send
  int error = errno;
  auto& wire = *static_cast<DnsWire*>(self);
  auto it = wire.sockets_.find(fd);
  if (it != wire.sockets_.end() && it->second.udp) {
    if (sent < 0 && error == ECONNREFUSED) {
      // udp(7): an earlier datagram's ICMP port unreachable, not this one's. Sent again, this
      // one's own refusal reaches c-ares on the next read, which fails every query to that
      // server; returned, it would fail this query only, and the earlier one would time out.
      wire.refused_.insert(it->second.peer);
      sent = ::sendmsg(fd, &message, MSG_NOSIGNAL);
      error = errno;
    }
    if (sent > 0) wire.note_query(it->second, parts, count);
  }
  errno = error;
  return sent;
}

void DnsWire::note_query(const Socket& socket, const iovec* parts, int count) {
  std::vector<unsigned char> query;
  for (int i = 0; i < count; ++i) {
    const auto* base = static_cast<const unsigned char*>(parts[i].iov_base);
    query.insert(query.end(), base, base + parts[i].iov_len);
  }
  auto question = question_of(query.data(), query.size());
  if (!question) return;
  asked_[question->first][u16(query.data())] =
      Asked{udp_limit(query.data(), query.size(), question->second), socket.peer};
}

// What c-ares 1.18 does with a datagram (process_answer): drops it without a header, or when its
// ID and question are no query's; asks again over TCP when it is truncated or longer than the
// query allowed; else takes it.
void DnsWire::note_answer(const Socket& socket, const unsigned char* answer, std::size_t length) {
  auto unusable = [&](const std::string& why) {
    Unusable& u = unusable_[socket.peer];
    if (u.count++ == 0) u.first = why;
  };
  if (length < kHeader) {
    return unusable("shorter than a DNS header, " + std::to_string(length) + " bytes");
  }
  auto question = question_of(answer, length);
  if (!question) return unusable("no question that reads, " + std::to_string(length) + " bytes");
  const Asked* asked = nullptr;
  if (auto it = asked_.find(question->first); it != asked_.end()) {
    if (auto id = it->second.find(u16(answer)); id != it->second.end()) asked = &id->second;
  }
  if (asked == nullptr) return unusable("an ID and question that no query had");
  bool truncated = (answer[2] & 0x02) != 0;  // RFC 1035 4.1.1: TC
  if (truncated || length > asked->limit) {
    TcpFallback fallback{question->first, socket.peer, length, asked->limit, truncated};
    first_tcp_fallback_.try_emplace(socket.peer, fallback);
    tcp_fallback_[question->first] = std::move(fallback);
  }
}

}  // namespace poolcert
