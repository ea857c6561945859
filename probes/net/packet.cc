#include "probes/net/packet.h"

#include <netinet/in.h>

#include <cstring>
#include <string>

namespace cbe::net {
namespace {

constexpr std::size_t kIpv4MinHeader = 20;
constexpr std::size_t kIpv6Header = 40;
constexpr std::size_t kTcpHeader = 20;
constexpr std::size_t kIcmpHeader = 8;
constexpr std::uint8_t kProtoIcmp = 1;
constexpr std::uint8_t kProtoTcp = 6;
constexpr std::uint8_t kProtoUdp = 17;
constexpr std::uint8_t kProtoIcmpv6 = 58;

IpAddress V4At(Bytes d, std::size_t off) {
  in_addr a{};
  std::memcpy(&a, d.data() + off, 4);
  return IpAddress::FromV4(a);
}
IpAddress V6At(Bytes d, std::size_t off) {
  in6_addr a{};
  std::memcpy(&a, d.data() + off, 16);
  return IpAddress::FromV6(a);
}

// The IPv4 header length, or 0 when `d` does not start with a sane IPv4 header.
std::size_t Ipv4HeaderLength(Bytes d) {
  if (d.size() < kIpv4MinHeader || (d[0] >> 4) != 4) {
    return 0;
  }
  const std::size_t ihl = static_cast<std::size_t>(d[0] & 0x0f) * 4;
  return ihl >= kIpv4MinHeader && ihl <= d.size() ? ihl : 0;
}

sock_filter Stmt(std::uint16_t code, std::uint32_t k) { return {code, 0, 0, k}; }
sock_filter Jump(std::uint16_t code, std::uint32_t k, std::uint8_t jt, std::uint8_t jf) {
  return {code, jt, jf, k};
}

// Appends "accept" and "drop" returns; the jumps before them were built with offsets that land
// on these two instructions.
void AddReturns(std::vector<sock_filter>* p) {
  p->push_back(Stmt(BPF_RET | BPF_K, 0xffffffff));
  p->push_back(Stmt(BPF_RET | BPF_K, 0));
}

// Fixes the jump offsets: `kAccept`/`kDrop` markers in jt/jf become offsets to the returns.
constexpr std::uint8_t kAccept = 0xfe;
constexpr std::uint8_t kDrop = 0xff;
void ResolveJumps(std::vector<sock_filter>* p) {
  const std::size_t accept = p->size() - 2;
  const std::size_t drop = p->size() - 1;
  for (std::size_t i = 0; i < accept; ++i) {
    sock_filter& f = (*p)[i];
    if (BPF_CLASS(f.code) != BPF_JMP) {
      continue;
    }
    if (f.jt == kAccept) {
      f.jt = static_cast<std::uint8_t>(accept - i - 1);
    } else if (f.jt == kDrop) {
      f.jt = static_cast<std::uint8_t>(drop - i - 1);
    }
    if (f.jf == kAccept) {
      f.jf = static_cast<std::uint8_t>(accept - i - 1);
    } else if (f.jf == kDrop) {
      f.jf = static_cast<std::uint8_t>(drop - i - 1);
    }
  }
}

}  // namespace

std::uint16_t InternetChecksum(Bytes data, std::uint32_t sum) {
  std::size_t i = 0;
  for (; i + 1 < data.size(); i += 2) {
    sum += static_cast<std::uint32_t>(data[i] << 8 | data[i + 1]);
  }
  if (i < data.size()) {
    sum += static_cast<std::uint32_t>(data[i] << 8);
  }
  while (sum >> 16) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<std::uint16_t>(~sum);
}

std::uint32_t PseudoHeaderSum(const IpAddress& src, const IpAddress& dst, std::uint8_t protocol,
                              std::uint32_t length) {
  std::uint32_t sum = 0;
  for (const IpAddress* a : {&src, &dst}) {
    for (std::size_t i = 0; i + 1 < a->size(); i += 2) {
      sum += static_cast<std::uint32_t>(a->bytes()[i] << 8 | a->bytes()[i + 1]);
    }
  }
  sum += protocol;
  sum += length >> 16;
  sum += length & 0xffff;
  return sum;
}

std::vector<std::uint8_t> BuildTcpSyn(const IpAddress& src, const IpAddress& dst,
                                      std::uint16_t src_port, std::uint16_t dst_port,
                                      std::uint32_t seq) {
  std::vector<std::uint8_t> seg(kTcpHeader + 4, 0);
  WriteBe16(&seg, 0, src_port);
  WriteBe16(&seg, 2, dst_port);
  WriteBe32(&seg, 4, seq);
  seg[12] = static_cast<std::uint8_t>((seg.size() / 4) << 4);  // Data offset.
  seg[13] = kTcpSyn;
  WriteBe16(&seg, 14, 64240);  // Window.
  seg[20] = 2;                 // MSS option.
  seg[21] = 4;
  WriteBe16(&seg, 22, src.is_v4() ? 1460 : 1440);
  const std::uint16_t sum = InternetChecksum(
      seg, PseudoHeaderSum(src, dst, kProtoTcp, static_cast<std::uint32_t>(seg.size())));
  WriteBe16(&seg, 16, sum);
  return seg;
}

std::optional<TcpSegment> ParseTcpSegment(Bytes data, bool with_ipv4_header) {
  TcpSegment s;
  std::size_t off = 0;
  if (with_ipv4_header) {
    off = Ipv4HeaderLength(data);
    if (off == 0 || data[9] != kProtoTcp) {
      return std::nullopt;
    }
    s.src = V4At(data, 12);
  }
  if (data.size() < off + kTcpHeader) {
    return std::nullopt;
  }
  s.src_port = ReadBe16(data, off);
  s.dst_port = ReadBe16(data, off + 2);
  s.seq = ReadBe32(data, off + 4);
  s.ack = ReadBe32(data, off + 8);
  s.flags = data[off + 13];
  return s;
}

std::optional<IcmpError> ParseIcmpError(Bytes data, bool v6) {
  IcmpError e;
  e.v6 = v6;
  std::size_t icmp = 0;
  if (!v6) {
    icmp = Ipv4HeaderLength(data);
    if (icmp == 0 || data[9] != kProtoIcmp) {
      return std::nullopt;
    }
    e.reporter = V4At(data, 12);
  }
  if (data.size() < icmp + kIcmpHeader) {
    return std::nullopt;
  }
  e.type = data[icmp];
  e.code = data[icmp + 1];
  const bool error =
      v6 ? (e.type >= 1 && e.type <= 4) : (e.type == 3 || e.type == 11 || e.type == 12);
  if (!error) {
    return std::nullopt;
  }
  if (v6 && e.type == 2) {
    e.mtu = ReadBe32(data, icmp + 4);
  } else if (!v6 && e.type == 3 && e.code == 4) {
    e.mtu = ReadBe16(data, icmp + 6);
  }
  const Bytes inner = data.subspan(icmp + kIcmpHeader);
  std::size_t transport = 0;
  if (v6) {
    if (inner.size() < kIpv6Header || (inner[0] >> 4) != 6) {
      return std::nullopt;
    }
    e.inner_protocol = inner[6];
    e.inner_dst = V6At(inner, 24);
    transport = kIpv6Header;
  } else {
    transport = Ipv4HeaderLength(inner);
    if (transport == 0) {
      return std::nullopt;
    }
    e.inner_protocol = inner[9];
    e.inner_dst = V4At(inner, 16);
  }
  // RFC 792 quotes at least 8 bytes of the transport header: ports, or echo id and sequence.
  if (inner.size() >= transport + 8) {
    if (e.inner_protocol == kProtoTcp || e.inner_protocol == kProtoUdp) {
      e.inner_src_port = ReadBe16(inner, transport);
      e.inner_dst_port = ReadBe16(inner, transport + 2);
    } else if (e.inner_protocol == kProtoIcmp || e.inner_protocol == kProtoIcmpv6) {
      e.inner_echo_id = ReadBe16(inner, transport + 4);
      e.inner_echo_seq = ReadBe16(inner, transport + 6);
    }
  }
  return e;
}

UnreachableMeaning ClassifyUnreachable(const IcmpError& e) {
  if (e.v6) {
    // 1 destination unreachable: 0 no route, 1 administratively prohibited, 2 beyond scope,
    // 3 address unreachable, 4 port unreachable, 5 source policy, 6 reject route.
    if (e.type == 1 && (e.code == 1 || e.code == 4 || e.code == 5 || e.code == 6)) {
      return UnreachableMeaning::kFiltered;
    }
    return UnreachableMeaning::kUnreachable;
  }
  // 3 destination unreachable: 0 net, 1 host, 2 protocol, 3 port, 9/10 net/host prohibited,
  // 13 communication prohibited (what iptables REJECT sends).
  if (e.type == 3 && (e.code == 2 || e.code == 3 || e.code == 9 || e.code == 10 || e.code == 13)) {
    return UnreachableMeaning::kFiltered;
  }
  return UnreachableMeaning::kUnreachable;
}

std::string DescribeIcmpError(const IcmpError& e) {
  std::string what;
  if (e.v6) {
    static const char* kUnreach[] = {"no route to destination",
                                     "communication administratively prohibited",
                                     "beyond scope of source address",
                                     "address unreachable",
                                     "port unreachable",
                                     "source address failed ingress/egress policy",
                                     "reject route to destination"};
    if (e.type == 1 && e.code < 7) {
      what = kUnreach[e.code];
    } else if (e.type == 2) {
      what = "packet too big";
    } else if (e.type == 3) {
      what = "time exceeded";
    } else {
      what = "parameter problem";
    }
  } else {
    static const char* kUnreach[] = {"net unreachable",
                                     "host unreachable",
                                     "protocol unreachable",
                                     "port unreachable",
                                     "fragmentation needed",
                                     "source route failed",
                                     "destination network unknown",
                                     "destination host unknown",
                                     "source host isolated",
                                     "network administratively prohibited",
                                     "host administratively prohibited",
                                     "network unreachable for TOS",
                                     "host unreachable for TOS",
                                     "communication administratively prohibited",
                                     "host precedence violation",
                                     "precedence cutoff in effect"};
    if (e.type == 3 && e.code < 16) {
      what = kUnreach[e.code];
    } else if (e.type == 11) {
      what = "time exceeded";
    } else {
      what = "parameter problem";
    }
  }
  std::string out = std::string(e.v6 ? "icmp6" : "icmp") + " type " + std::to_string(e.type) +
                    " code " + std::to_string(e.code) + " (" + what + ")";
  if (e.reporter) {
    out += " from " + e.reporter->ToString();
  }
  return out;
}

std::vector<std::uint8_t> BuildIcmpEcho(bool v6, std::uint16_t id, std::uint16_t seq,
                                        std::size_t payload_size) {
  std::vector<std::uint8_t> p(kIcmpHeader + payload_size, 0);
  p[0] = v6 ? 128 : 8;
  WriteBe16(&p, 4, id);
  WriteBe16(&p, 6, seq);
  for (std::size_t i = kIcmpHeader; i < p.size(); ++i) {
    p[i] = static_cast<std::uint8_t>(i);
  }
  if (!v6) {
    WriteBe16(&p, 2, InternetChecksum(p));
  }
  return p;
}

std::optional<IcmpEchoReply> ParseIcmpEchoReply(Bytes data, bool v6, bool with_ipv4_header) {
  IcmpEchoReply r;
  std::size_t off = 0;
  if (!v6 && with_ipv4_header) {
    off = Ipv4HeaderLength(data);
    if (off == 0 || data[9] != kProtoIcmp) {
      return std::nullopt;
    }
    r.src = V4At(data, 12);
  }
  if (data.size() < off + kIcmpHeader || data[off] != (v6 ? 129 : 0) || data[off + 1] != 0) {
    return std::nullopt;
  }
  r.id = ReadBe16(data, off + 4);
  r.seq = ReadBe16(data, off + 6);
  r.size = data.size() - off;
  return r;
}

std::vector<sock_filter> TcpAnswerFilter(bool v6, std::uint16_t remote_port,
                                         std::uint16_t local_port) {
  std::vector<sock_filter> p;
  if (v6) {
    p.push_back(Stmt(BPF_LD | BPF_H | BPF_ABS, 0));
  } else {
    p.push_back(Stmt(BPF_LDX | BPF_B | BPF_MSH, 0));  // X = IPv4 header length.
    p.push_back(Stmt(BPF_LD | BPF_H | BPF_IND, 0));
  }
  p.push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, remote_port, 0, kDrop));
  p.push_back(Stmt(BPF_LD | BPF_H | (v6 ? BPF_ABS : BPF_IND), 2));
  p.push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, local_port, kAccept, kDrop));
  AddReturns(&p);
  ResolveJumps(&p);
  return p;
}

std::vector<sock_filter> TcpIcmpErrorFilter(bool v6, std::uint16_t remote_port,
                                            std::uint16_t local_port) {
  std::vector<sock_filter> p;
  if (v6) {
    p.push_back(Stmt(BPF_LD | BPF_B | BPF_ABS, 0));
    p.push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, kDrop));  // Destination unreachable.
    p.push_back(Stmt(BPF_LD | BPF_B | BPF_ABS, kIcmpHeader + 6));
    p.push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, kProtoTcp, 0, kDrop));
    p.push_back(Stmt(BPF_LD | BPF_H | BPF_ABS, kIcmpHeader + kIpv6Header));
    p.push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, local_port, 0, kDrop));
    p.push_back(Stmt(BPF_LD | BPF_H | BPF_ABS, kIcmpHeader + kIpv6Header + 2));
    p.push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, remote_port, kAccept, kDrop));
  } else {
    p.push_back(Stmt(BPF_LDX | BPF_B | BPF_MSH, 0));  // X = outer header length.
    p.push_back(Stmt(BPF_LD | BPF_B | BPF_IND, 0));   // ICMP type.
    p.push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, 3, 0, kDrop));
    p.push_back(Stmt(BPF_LD | BPF_B | BPF_IND, kIcmpHeader + 9));  // Inner protocol.
    p.push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, kProtoTcp, 0, kDrop));
    p.push_back(Stmt(BPF_LD | BPF_B | BPF_IND, kIcmpHeader));  // Inner version/IHL.
    p.push_back(Stmt(BPF_ALU | BPF_AND | BPF_K, 0x0f));
    p.push_back(Stmt(BPF_ALU | BPF_LSH | BPF_K, 2));
    p.push_back(Stmt(BPF_ALU | BPF_ADD | BPF_X, 0));
    p.push_back(Stmt(BPF_MISC | BPF_TAX, 0));  // X = outer + inner header lengths.
    p.push_back(Stmt(BPF_LD | BPF_H | BPF_IND, kIcmpHeader));
    p.push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, local_port, 0, kDrop));
    p.push_back(Stmt(BPF_LD | BPF_H | BPF_IND, kIcmpHeader + 2));
    p.push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, remote_port, kAccept, kDrop));
  }
  AddReturns(&p);
  ResolveJumps(&p);
  return p;
}

std::vector<sock_filter> EchoReplyFilter(bool v6, std::uint16_t id) {
  std::vector<sock_filter> p;
  if (v6) {
    p.push_back(Stmt(BPF_LDX | BPF_W | BPF_IMM, 0));
  } else {
    p.push_back(Stmt(BPF_LDX | BPF_B | BPF_MSH, 0));
  }
  p.push_back(Stmt(BPF_LD | BPF_B | BPF_IND, 0));
  p.push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, v6 ? 129 : 0, 0, kDrop));
  p.push_back(Stmt(BPF_LD | BPF_H | BPF_IND, 4));
  p.push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, id, kAccept, kDrop));
  AddReturns(&p);
  ResolveJumps(&p);
  return p;
}

// Over 60 lines on purpose: one switch over the instruction classes, as the kernel's own
// interpreter reads; split up, the registers and the program counter would be passed around.
std::uint32_t RunBpf(const std::vector<sock_filter>& program, Bytes pkt) {
  std::uint32_t a = 0;
  std::uint32_t x = 0;
  const auto load = [&](std::uint32_t off, std::uint32_t size, bool* ok) -> std::uint32_t {
    if (off + size > pkt.size()) {
      *ok = false;
      return 0;
    }
    std::uint32_t v = 0;
    for (std::uint32_t i = 0; i < size; ++i) {
      v = v << 8 | pkt[off + i];
    }
    return v;
  };
  for (std::size_t pc = 0; pc < program.size(); ++pc) {
    const sock_filter& f = program[pc];
    bool ok = true;
    const std::uint32_t size = BPF_SIZE(f.code) == BPF_W ? 4 : BPF_SIZE(f.code) == BPF_H ? 2 : 1;
    switch (BPF_CLASS(f.code)) {
      case BPF_LD:
        if (BPF_MODE(f.code) == BPF_ABS) {
          a = load(f.k, size, &ok);
        } else if (BPF_MODE(f.code) == BPF_IND) {
          a = load(x + f.k, size, &ok);
        } else if (BPF_MODE(f.code) == BPF_IMM) {
          a = f.k;
        }
        break;
      case BPF_LDX:
        if (BPF_MODE(f.code) == BPF_MSH) {
          x = (load(f.k, 1, &ok) & 0x0f) * 4;
        } else {
          x = f.k;
        }
        break;
      case BPF_ALU:
        switch (BPF_OP(f.code)) {
          case BPF_AND:
            a &= f.k;
            break;
          case BPF_LSH:
            a <<= f.k;
            break;
          case BPF_ADD:
            a += BPF_SRC(f.code) == BPF_X ? x : f.k;
            break;
          default:
            return 0;
        }
        break;
      case BPF_MISC:
        x = a;
        break;
      case BPF_JMP:
        pc += (a == f.k) ? f.jt : f.jf;
        break;
      case BPF_RET:
        return f.k;
      default:
        return 0;
    }
    if (!ok) {
      return 0;  // The kernel drops a packet when a load runs past its end.
    }
  }
  return 0;
}

}  // namespace cbe::net
