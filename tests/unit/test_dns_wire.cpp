// DnsWire under a c-ares channel that sends EDNS0 (poolcert's own channel does not): an answer
// over 512 bytes within the query's EDNS0 size is an answer, one over it without TC is not. The
// DNS server is this test's UDP socket; its TCP port is held bound without listening, so c-ares's
// TCP retry is refused.
#include <ares.h>
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "dns/dns_wire.hpp"

namespace {

constexpr int kEdnsSize = 1232;

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

void on_done(void* arg, int status, int /*timeouts*/, unsigned char* /*abuf*/, int /*alen*/) {
  *static_cast<int*>(arg) = status;
}

// An answer to `query` (header, its question, A records) of exactly `bytes` bytes, TC clear.
std::vector<unsigned char> answer_of(const unsigned char* query, std::size_t question_end,
                                     std::size_t bytes) {
  std::vector<unsigned char> out(query, query + question_end);
  out[2] = 0x81;  // QR, RD
  out[3] = 0x80;  // RA
  std::size_t records = (bytes - out.size()) / 16;
  out[6] = static_cast<unsigned char>(records >> 8);
  out[7] = static_cast<unsigned char>(records);
  out[10] = out[11] = 0;  // no OPT in the answer: c-ares 1.18 looks for one on FORMERR only
  for (std::size_t i = 0; i < records; ++i) {
    const unsigned char rr[] = {0xc0, 0x0c, 0, 1, 0,  1, 0, 0,
                                0,    60,   0, 4, 10, 0, 1, static_cast<unsigned char>(i)};
    out.insert(out.end(), rr, rr + sizeof rr);
  }
  return out;
}

struct StubServer {
  Fd udp;
  Fd tcp;
  int port = 0;

  StubServer() {
    for (int attempt = 0; attempt < 50 && port == 0; ++attempt) {
      udp.fd = ::socket(AF_INET, SOCK_DGRAM, 0);
      sockaddr_in at{};
      at.sin_family = AF_INET;
      at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      socklen_t length = sizeof at;
      REQUIRE(::bind(udp.fd, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0);
      REQUIRE(::getsockname(udp.fd, reinterpret_cast<sockaddr*>(&at), &length) == 0);
      tcp.fd = ::socket(AF_INET, SOCK_STREAM, 0);
      if (::bind(tcp.fd, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0) {
        port = ntohs(at.sin_port);
      } else {
        ::close(udp.fd);
        ::close(tcp.fd);
      }
    }
    REQUIRE(port != 0);
  }

  // Reads one query (2 s at most), checks that it offers kEdnsSize, answers it with `bytes`.
  void answer(std::size_t bytes) {
    pollfd ready{udp.fd, POLLIN, 0};
    REQUIRE(::poll(&ready, 1, 2000) == 1);
    unsigned char query[512];
    sockaddr_in from{};
    socklen_t from_length = sizeof from;
    ssize_t got = ::recvfrom(udp.fd, query, sizeof query, 0, reinterpret_cast<sockaddr*>(&from),
                             &from_length);
    REQUIRE(got > 12 + 11);
    std::size_t end = 12;
    while (query[end] != 0) end += 1u + query[end];
    end += 5;                                            // the root label, type, class
    REQUIRE(end + 11 == static_cast<std::size_t>(got));  // then the OPT record only
    CHECK(query[end + 2] == 41);                         // RFC 6891 6.1.1: type OPT
    CHECK(((query[end + 3] << 8) | query[end + 4]) == kEdnsSize);
    std::vector<unsigned char> reply = answer_of(query, end, bytes);
    REQUIRE(::sendto(udp.fd, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from),
                     from_length) == static_cast<ssize_t>(reply.size()));
  }
};

int run_until_done(ares_channeldata* channel, const int& status) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (status == -1 && std::chrono::steady_clock::now() < deadline) {
    fd_set readers;
    fd_set writers;
    FD_ZERO(&readers);
    FD_ZERO(&writers);
    int nfds = ares_fds(channel, &readers, &writers);
    timeval tv{0, 50000};
    ::select(nfds, &readers, &writers, nullptr, &tv);
    ares_process(channel, &readers, &writers);
  }
  return status;
}

}  // namespace

struct ChannelDeleter {
  void operator()(ares_channeldata* channel) const { ares_destroy(channel); }
};

TEST_CASE("DnsWire: an EDNS0 query allows its size; over it without TC is malformed") {
  REQUIRE(ares_library_init(ARES_LIB_INIT_ALL) == ARES_SUCCESS);
  StubServer server;
  poolcert::DnsWire wire;  // before the channel, which closes its sockets through it
  ares_options options{};
  options.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_EDNS;
  options.ednspsz = kEdnsSize;
  options.tries = 1;
  options.timeout = 2000;
  ares_channel raw = nullptr;
  REQUIRE(ares_init_options(&raw, &options,
                            ARES_OPT_FLAGS | ARES_OPT_EDNSPSZ | ARES_OPT_TRIES |
                                ARES_OPT_TIMEOUTMS) == ARES_SUCCESS);
  std::unique_ptr<ares_channeldata, ChannelDeleter> channel(raw);
  wire.attach(channel.get());
  std::string at = "127.0.0.1:" + std::to_string(server.port);
  REQUIRE(ares_set_servers_ports_csv(channel.get(), at.c_str()) == ARES_SUCCESS);

  int fits = -1;
  ares_query(channel.get(), "fits.example", 1, 1, on_done, &fits);
  server.answer(800);
  CHECK(run_until_done(channel.get(), fits) == ARES_SUCCESS);
  CHECK(wire.tcp_fallback({"fits.example", 1}) == nullptr);

  int over = -1;
  ares_query(channel.get(), "over.example", 1, 1, on_done, &over);
  std::size_t bytes = 1500 - (1500 - 12 - 18) % 16;  // header, question, whole A records
  server.answer(bytes);
  CHECK(run_until_done(channel.get(), over) == ARES_ECONNREFUSED);  // asked again over TCP
  const poolcert::DnsWire::TcpFallback* fallback = wire.tcp_fallback({"over.example", 1});
  REQUIRE(fallback != nullptr);
  CHECK(fallback->server == at);
  CHECK(fallback->limit == static_cast<std::size_t>(kEdnsSize));
  CHECK(fallback->bytes == bytes);
  CHECK_FALSE(fallback->truncated);
  CHECK(wire.refused().empty());  // UDP was answered; only TCP was refused
}
