#include "poolcert/dns/dns_check.hpp"

#include <ares.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/select.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <regex>

#include "dns/dns_wire.hpp"
#include "poolcert/model/dns_name.hpp"
#include "poolcert/model/error.hpp"

namespace poolcert {
namespace {

constexpr int kClassIn = 1;  // RFC 1035 3.2.4
constexpr int kTypeA = 1;
constexpr int kTypeCname = 5;
constexpr int kTypeSrv = 33;  // RFC 2782

// One c-ares library init per process, before any channel (its docs ask for it).
void init_library() {
  static const int status = ares_library_init(ARES_LIB_INIT_ALL);
  if (status != ARES_SUCCESS) {
    throw Error(ErrorKind::kOperation, std::string("c-ares: ") + ares_strerror(status));
  }
}

struct ChannelDeleter {
  void operator()(ares_channeldata* c) const { ares_destroy(c); }
};
using Channel = std::unique_ptr<ares_channeldata, ChannelDeleter>;

struct Query {
  RecordCheck* check = nullptr;
  DnsQuestion question;
  const DnsWire* wire = nullptr;
  bool done = false;
};

std::string cause_of(int status) {
  switch (status) {
    case ARES_ETIMEOUT:
      return "timeout: no answer from the DNS server";
    case ARES_ESERVFAIL:
      return "SERVFAIL from the DNS server";
    case ARES_EREFUSED:
      return "the DNS server refused the query";
    case ARES_ECONNREFUSED:
      return "connection refused: no DNS server at that address and port";
    case ARES_ECANCELLED:
      return "timeout: the check's time ran out";
    default:
      return std::string("query failed: ") + ares_strerror(status);
  }
}

const char* type_name(int type) {
  return type == kTypeSrv ? "SRV" : type == kTypeCname ? "CNAME" : "A";
}

// What a UDP answer did that made c-ares ask again over TCP; `named`: say which question's.
std::string tcp_fallback_cause(const DnsWire::TcpFallback& udp, bool named) {
  std::string question = udp.question.name + " " + type_name(udp.question.type);
  std::string limit = std::to_string(udp.limit) + " bytes";
  if (udp.truncated) {
    return "the DNS server at " + udp.server + " answered " + (named ? question + " " : "") +
           "with the truncation bit set (an answer over " + limit + ")";
  }
  bool edns = udp.limit != 512;
  return "the DNS server at " + udp.server + " sent an answer " +
         (named ? "to " + question + " " : "") + "over " +
         (edns ? limit + ", the size its EDNS0 query offered," : limit) + " (" +
         std::to_string(udp.bytes) + " bytes) without the truncation bit (a malformed reply, " +
         (edns ? "RFC 6891 6.2.3)" : "RFC 1035 4.2.1)");
}

// Why a query failed: c-ares's status, and where that alone misleads, what the datagrams showed
// (DnsWire). ARES_ECONNREFUSED after a TCP fallback means TCP was refused, for this question or
// for another at the same server (c-ares then ends every query to it), not that no DNS server
// is there. The servers that refused a datagram; datagrams that answer no query (c-ares drops
// them, and the query times out).
std::string failure_message(int status, const DnsQuestion& question, const DnsWire& wire) {
  bool timeout = status == ARES_ETIMEOUT || status == ARES_ECANCELLED;
  std::string tcp = status == ARES_ECONNREFUSED ? "connection refused"
                    : timeout                   ? "timeout"
                                                : cause_of(status);
  if (const DnsWire::TcpFallback* own = wire.tcp_fallback(question)) {
    return tcp_fallback_cause(*own, false) + "; asked again over TCP: " + tcp;
  }
  const DnsWire::TcpFallback* beside = wire.tcp_fallback_beside(question);
  if (status == ARES_ECONNREFUSED && beside != nullptr) {
    return tcp_fallback_cause(*beside, true) +
           "; asked again over TCP: connection refused, which ended every query to that server";
  }
  std::string refused = wire.refused();
  if (status == ARES_ECONNREFUSED && !refused.empty()) {
    return "connection refused: no DNS server at " + refused;
  }
  std::string cause = cause_of(status);
  std::string asked_at = wire.asked_at(question);
  if (status == ARES_ETIMEOUT && !asked_at.empty()) cause += " at " + asked_at;
  std::string unusable = wire.unusable();
  if (timeout && !unusable.empty()) cause += "; " + unusable;
  return cause;
}

// The target of the answer's CNAME record (RFC 1035 4.1: header, questions, then answers; names
// may be compressed, which ares_expand_name undoes). nullopt when there is none or the message
// is malformed.
std::optional<std::string> cname_target(const unsigned char* abuf, int alen) {
  auto u16 = [&](int at) { return (abuf[at] << 8) | abuf[at + 1]; };
  if (alen < 12) return std::nullopt;
  int questions = u16(4);
  int answers = u16(6);
  int at = 12;
  auto skip_name = [&]() {
    char* name = nullptr;
    long length = 0;
    if (ares_expand_name(abuf + at, abuf, alen, &name, &length) != ARES_SUCCESS) return false;
    ares_free_string(name);
    at += static_cast<int>(length);
    return true;
  };
  for (int i = 0; i < questions; ++i) {
    if (!skip_name() || at + 4 > alen) return std::nullopt;
    at += 4;  // type, class
  }
  for (int i = 0; i < answers; ++i) {
    if (!skip_name() || at + 10 > alen) return std::nullopt;
    int type = u16(at);
    int rdlength = u16(at + 8);
    at += 10;  // type, class, TTL, RDLENGTH
    if (at + rdlength > alen) return std::nullopt;
    if (type == kTypeCname) {
      char* target = nullptr;
      long length = 0;
      if (ares_expand_name(abuf + at, abuf, alen, &target, &length) != ARES_SUCCESS) {
        return std::nullopt;
      }
      std::string out = to_lower_ascii(target);
      ares_free_string(target);
      if (!out.empty() && out.back() == '.') out.pop_back();
      return out;
    }
    at += rdlength;
  }
  return std::nullopt;
}

// A CNAME is checked by the record itself, asked for as CNAME: whether its target resolves is the
// target's own A record's business.
void compare_cname(RecordCheck& c, const unsigned char* abuf, int alen) {
  std::optional<std::string> target = cname_target(abuf, alen);
  if (!target) {
    c.status = RecordStatus::kMissing;
    c.message = "no CNAME " + c.expected.name;
    return;
  }
  c.found = {*target};
  c.status = *target == c.expected.target ? RecordStatus::kPresent : RecordStatus::kDifferent;
  c.message = "CNAME " + c.expected.name + " -> " + *target +
              (c.status == RecordStatus::kPresent ? "" : ", expected " + c.expected.target);
}

void compare_a(RecordCheck& c, const unsigned char* abuf, int alen) {
  hostent* host = nullptr;
  ares_addrttl ttls[32];
  int n = 32;
  int status = ares_parse_a_reply(abuf, alen, &host, ttls, &n);
  if (host != nullptr) ares_free_hostent(host);
  if (status == ARES_ENODATA) {
    c.status = RecordStatus::kMissing;
    c.message = "no A record for " + c.expected.name;
    return;
  }
  if (status != ARES_SUCCESS) {
    c.status = RecordStatus::kError;
    c.message = "bad answer: " + std::string(ares_strerror(status));
    return;
  }
  for (int i = 0; i < n; ++i) {
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &ttls[i].ipaddr, text, sizeof text);
    c.found.emplace_back(text);
  }
  if (c.expected.placeholder) {
    c.status = RecordStatus::kPresent;
    c.message = "A " + c.expected.name + " -> " + c.found.front() + " (address not checked: no " +
                c.expected.address + " in the spec)";
    return;
  }
  bool has = std::find(c.found.begin(), c.found.end(), c.expected.address) != c.found.end();
  c.status = has ? RecordStatus::kPresent : RecordStatus::kDifferent;
  std::string found;
  for (const std::string& f : c.found) found += (found.empty() ? "" : ", ") + f;
  c.message = has ? "A " + c.expected.name + " -> " + c.expected.address
                  : "A " + c.expected.name + " is " + found + ", expected " + c.expected.address;
}

void compare_srv(RecordCheck& c, const unsigned char* abuf, int alen) {
  ares_srv_reply* reply = nullptr;
  int status = ares_parse_srv_reply(abuf, alen, &reply);
  if (status == ARES_ENODATA || (status == ARES_SUCCESS && reply == nullptr)) {
    c.status = RecordStatus::kMissing;
    c.message = "no SRV record " + c.expected.name;
    return;
  }
  if (status != ARES_SUCCESS) {
    c.status = RecordStatus::kError;
    c.message = "bad answer: " + std::string(ares_strerror(status));
    return;
  }
  const DnsRecord& want = c.expected;
  std::string difference;
  bool equal = false;
  for (ares_srv_reply* r = reply; r != nullptr; r = r->next) {
    std::string target = to_lower_ascii(r->host);
    if (!target.empty() && target.back() == '.') target.pop_back();
    c.found.push_back(std::to_string(r->priority) + " " + std::to_string(r->weight) + " " +
                      std::to_string(r->port) + " " + target);
    if (r->port == want.port && target == want.target && r->priority == want.priority &&
        r->weight == want.weight) {
      equal = true;
    } else if (difference.empty()) {
      std::vector<std::string> parts;
      if (r->port != want.port) {
        parts.push_back("port " + std::to_string(r->port) + " (expected " +
                        std::to_string(want.port) + ")");
      }
      if (target != want.target)
        parts.push_back("target " + target + " (expected " + want.target + ")");
      if (r->priority != want.priority) {
        parts.push_back("priority " + std::to_string(r->priority) + " (expected " +
                        std::to_string(want.priority) + ")");
      }
      if (r->weight != want.weight) {
        parts.push_back("weight " + std::to_string(r->weight) + " (expected " +
                        std::to_string(want.weight) + ")");
      }
      for (const std::string& p : parts) difference += (difference.empty() ? "" : ", ") + p;
    }
  }
  ares_free_data(reply);
  c.status = equal ? RecordStatus::kPresent : RecordStatus::kDifferent;
  c.message = equal ? "SRV " + want.name + " -> " + std::to_string(want.port) + " " + want.target
                    : "SRV " + want.name + " differs: " + difference;
}

void on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  auto* q = static_cast<Query*>(arg);
  q->done = true;
  RecordCheck& c = *q->check;
  if (status == ARES_ENOTFOUND || status == ARES_ENODATA) {
    c.status = RecordStatus::kMissing;
    c.message =
        (status == ARES_ENOTFOUND ? "no such name: " : "no " + c.expected.type + " record: ") +
        c.expected.name;
    return;
  }
  if (status != ARES_SUCCESS) {
    c.status = RecordStatus::kError;
    c.message = failure_message(status, q->question, *q->wire);
    return;
  }
  if (c.expected.type == "SRV") {
    compare_srv(c, abuf, alen);
  } else if (c.expected.type == "CNAME") {
    compare_cname(c, abuf, alen);
  } else {
    compare_a(c, abuf, alen);
  }
}

// A channel whose sockets go through `wire`, which must outlive it.
Channel make_channel(const DnsCheckOptions& options, DnsWire& wire) {
  init_library();
  ares_options opts{};
  // One try per server within the whole timeout: the loop below enforces the bound anyway.
  opts.timeout = std::max(100, static_cast<int>(options.timeout_s * 1000));
  opts.tries = 1;
  opts.flags = ARES_FLAG_NOSEARCH;
  ares_channel raw = nullptr;
  int status = ares_init_options(&raw, &opts, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS);
  if (status != ARES_SUCCESS) {
    throw Error(ErrorKind::kOperation, std::string("c-ares init: ") + ares_strerror(status));
  }
  Channel channel(raw);
  wire.attach(channel.get());
  if (!options.resolvers.empty()) {
    std::string csv;
    for (const Resolver& r : options.resolvers) {
      bool v6 = r.address.find(':') != std::string::npos;
      csv += (csv.empty() ? "" : ",") + (v6 ? "[" + r.address + "]" : r.address) + ":" +
             std::to_string(r.port);
    }
    status = ares_set_servers_ports_csv(channel.get(), csv.c_str());
    if (status != ARES_SUCCESS) {
      throw UsageError("--resolver " + csv + ": " + ares_strerror(status));
    }
  }
  return channel;
}

// Runs the channel until every query is answered or the deadline passes, then cancels the rest.
void run_until(ares_channeldata* channel, std::chrono::steady_clock::time_point deadline) {
  while (true) {
    fd_set readers;
    fd_set writers;
    FD_ZERO(&readers);
    FD_ZERO(&writers);
    int nfds = ares_fds(channel, &readers, &writers);
    if (nfds == 0) return;
    auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) {
      ares_cancel(channel);  // callbacks run now with ARES_ECANCELLED
      return;
    }
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(left).count();
    timeval max{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
    timeval tv{};
    timeval* wait = ares_timeout(channel, &max, &tv);
    ::select(nfds, &readers, &writers, nullptr, wait);
    ares_process(channel, &readers, &writers);
  }
}

}  // namespace

const char* record_status_name(RecordStatus status) noexcept {
  switch (status) {
    case RecordStatus::kPresent:
      return "present";
    case RecordStatus::kMissing:
      return "missing";
    case RecordStatus::kDifferent:
      return "different";
    case RecordStatus::kError:
      return "error";
  }
  return "?";
}

Resolver parse_resolver(const std::string& text) {
  if (text.size() > 64)
    throw UsageError("--resolver: longer than 64 characters");  // bounds the regex
  static const std::regex kV6(R"(\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?)");
  static const std::regex kV4(R"(([0-9.]+)(?::(\d{1,5}))?)");
  std::smatch m;
  Resolver r;
  bool v6 = std::regex_match(text, m, kV6);
  if (!v6 && !std::regex_match(text, m, kV4)) {
    throw UsageError("--resolver " + quote_value(text) + ": expected IP or IP:PORT ([IPv6]:PORT)");
  }
  r.address = m[1].str();
  unsigned char buf[sizeof(in6_addr)];
  if (inet_pton(v6 ? AF_INET6 : AF_INET, r.address.c_str(), buf) != 1) {
    throw UsageError("--resolver " + quote_value(text) + ": " + quote_value(r.address) +
                     " is not an IP address");
  }
  if (m[2].matched) {
    r.port = std::stoi(m[2].str());
    if (r.port < 1 || r.port > 65535)
      throw UsageError("--resolver " + quote_value(text) + ": bad port");
  }
  return r;
}

std::vector<RecordCheck> check_dns_records(const std::vector<DnsRecord>& records,
                                           const DnsCheckOptions& options) {
  std::vector<RecordCheck> checks(records.size());
  std::vector<Query> queries(records.size());
  DnsWire wire;  // before the channel: ares_destroy closes its sockets through it
  Channel channel = make_channel(options, wire);
  for (std::size_t i = 0; i < records.size(); ++i) {
    checks[i].expected = records[i];
    int type = records[i].type == "SRV"     ? kTypeSrv
               : records[i].type == "CNAME" ? kTypeCname
                                            : kTypeA;
    std::string name = to_lower_ascii(records[i].name);
    if (!name.empty() && name.back() == '.') name.pop_back();
    queries[i] = Query{&checks[i], DnsQuestion{std::move(name), type}, &wire};
    ares_query(channel.get(), records[i].name.c_str(), kClassIn, type, on_answer, &queries[i]);
  }
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<long>(options.timeout_s * 1000) + 200);
  run_until(channel.get(), deadline);
  for (Query& q : queries) {
    if (!q.done) {
      q.check->status = RecordStatus::kError;
      q.check->message = failure_message(ARES_ETIMEOUT, q.question, wire);
    }
  }
  return checks;
}

}  // namespace poolcert
