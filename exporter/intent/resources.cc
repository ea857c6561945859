#include "exporter/intent/resources.h"

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <utility>

namespace cbe::intent {
namespace {

// Annotations libcalico-go's Kubernetes backend reads Calico's node fields from
// (lib/backend/k8s/resources/node.go and resources.go).
constexpr const char* kIpv4AddressAnnotation = "projectcalico.org/IPv4Address";
constexpr const char* kIpv6AddressAnnotation = "projectcalico.org/IPv6Address";
constexpr const char* kAsNumberAnnotation = "projectcalico.org/ASNumber";
constexpr const char* kRrClusterIdAnnotation = "projectcalico.org/RouteReflectorClusterID";
constexpr const char* kLabelsAnnotation = "projectcalico.org/labels";

// One document: its text and the line (1-based) it starts on.
struct Chunk {
  std::string text;
  int first_line = 1;
};

bool IsSeparator(std::string_view line, std::string_view marker) {
  if (line.substr(0, marker.size()) != marker) {
    return false;
  }
  const std::string_view rest = line.substr(marker.size());
  return rest.empty() || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\r';
}

// Splits a YAML stream on its "---" / "..." lines, so that a broken document names itself and
// leaves the others readable.
std::vector<Chunk> SplitDocuments(std::string_view text) {
  std::vector<Chunk> chunks(1);
  int line_no = 0;
  while (!text.empty()) {
    const std::size_t eol = text.find('\n');
    const std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    ++line_no;
    if (IsSeparator(line, "---") || IsSeparator(line, "...")) {
      chunks.push_back({"", line_no + 1});
      // Content after "--- " on the same line belongs to the new document.
      const std::string_view rest = line.substr(3);
      if (line[0] == '-' && rest.find_first_not_of(" \t\r") != std::string_view::npos) {
        chunks.back().text.append(rest).append("\n");
        chunks.back().first_line = line_no;
      }
      continue;
    }
    chunks.back().text.append(line).append("\n");
  }
  return chunks;
}

// The value of a scalar as Go's YAML 1.1 reader (yaml.v2, behind calicoctl and kubectl) sees
// it: unquoted yes/no/on/off/y/n are booleans there, so a label `rr: yes` is "true".
std::string ScalarValue(const YAML::Node& n) {
  if (n.IsNull()) {
    return "";
  }
  const std::string& v = n.Scalar();
  if (n.Tag() != "?") {
    return v;  // quoted
  }
  static constexpr std::string_view kTrue[] = {"y",  "Y",  "yes",  "Yes",  "YES", "on",
                                               "On", "ON", "true", "True", "TRUE"};
  static constexpr std::string_view kFalse[] = {"n",   "N",   "no",    "No",    "NO",   "off",
                                                "Off", "OFF", "false", "False", "FALSE"};
  for (std::string_view t : kTrue) {
    if (v == t) {
      return "true";
    }
  }
  for (std::string_view f : kFalse) {
    if (v == f) {
      return "false";
    }
  }
  return v;
}

// Reads fields of one object; collects "path: message" errors.
class Reader {
 public:
  explicit Reader(std::vector<std::string>& errors) : errors_(errors) {}

  void Error(const std::string& path, const std::string& message) {
    errors_.push_back(path + ": " + message);
  }

  // The child `key` of map `n` ("" path prefix for the root); undefined when absent or null.
  YAML::Node Child(const YAML::Node& n, const char* key, const std::string& path) {
    if (!n.IsDefined() || n.IsNull()) {
      return YAML::Node(YAML::NodeType::Undefined);
    }
    if (!n.IsMap()) {
      Error(path, "expected a mapping");
      return YAML::Node(YAML::NodeType::Undefined);
    }
    YAML::Node c = n[key];
    if (!c.IsDefined() || c.IsNull()) {
      return YAML::Node(YAML::NodeType::Undefined);
    }
    return c;
  }

  std::optional<std::string> String(const YAML::Node& n, const char* key, const std::string& path) {
    const std::string p = Join(path, key);
    YAML::Node c = Child(n, key, path);
    if (!c.IsDefined()) {
      return std::nullopt;
    }
    if (!c.IsScalar()) {
      Error(p, "expected a string");
      return std::nullopt;
    }
    return c.Scalar();
  }

  std::optional<bool> Bool(const YAML::Node& n, const char* key, const std::string& path) {
    if (!String(n, key, path)) {
      return std::nullopt;
    }
    const std::optional<std::string> s = ScalarValue(n[key]);
    if (*s == "true") {
      return true;
    }
    if (*s == "false") {
      return false;
    }
    Error(Join(path, key), "expected true or false, not \"" + *s + "\"");
    return std::nullopt;
  }

  std::optional<long> Integer(const YAML::Node& n, const char* key, const std::string& path,
                              long min, long max) {
    std::optional<std::string> s = String(n, key, path);
    if (!s) {
      return std::nullopt;
    }
    long v = 0;
    const auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
    if (ec != std::errc() || end != s->data() + s->size() || v < min || v > max) {
      Error(Join(path, key), "expected an integer from " + std::to_string(min) + " to " +
                                 std::to_string(max) + ", not \"" + *s + "\"");
      return std::nullopt;
    }
    return v;
  }

  std::optional<std::uint32_t> AsNumber(const YAML::Node& n, const char* key,
                                        const std::string& path) {
    std::optional<std::string> s = String(n, key, path);
    if (!s) {
      return std::nullopt;
    }
    std::optional<std::uint32_t> as = ParseAsNumber(*s);
    if (!as) {
      Error(Join(path, key), "not an AS number: \"" + *s + "\"");
    }
    return as;
  }

  // A Go duration ("30s", "1m30s", "120ms") as whole seconds, rounded as confd rounds them.
  std::optional<int> Duration(const YAML::Node& n, const char* key, const std::string& path) {
    std::optional<std::string> s = String(n, key, path);
    if (!s) {
      return std::nullopt;
    }
    std::optional<double> seconds = ParseGoDuration(*s);
    if (!seconds) {
      Error(Join(path, key), "not a duration: \"" + *s + "\"");
      return std::nullopt;
    }
    return static_cast<int>(std::lround(*seconds));
  }

  // An IP address, or CIDR when `allow_prefix`, in canonical form.
  std::string Ip(const YAML::Node& n, const char* key, const std::string& path, bool allow_prefix,
                 int family) {
    std::optional<std::string> s = String(n, key, path);
    if (!s || s->empty()) {
      return "";
    }
    std::string ip = CanonicalIp(*s, allow_prefix);
    if (ip.empty() || (family == 4 && IsIpv6(ip)) || (family == 6 && !IsIpv6(ip))) {
      Error(Join(path, key), std::string("not an IPv") + (family == 4 ? "4" : "6") +
                                 (allow_prefix ? " address or CIDR" : " address") + ": \"" + *s +
                                 "\"");
      return "";
    }
    return ip;
  }

  static std::string Join(const std::string& path, const char* key) {
    return path.empty() ? key : path + "." + key;
  }

  static std::optional<double> ParseGoDuration(std::string_view s) {
    if (s == "0") {
      return 0.0;
    }
    double total = 0;
    bool any = false;
    while (!s.empty()) {
      std::size_t n = 0;
      while (n < s.size() && ((s[n] >= '0' && s[n] <= '9') || s[n] == '.')) {
        ++n;
      }
      if (n == 0) {
        return std::nullopt;
      }
      double v = 0;
      const auto [end, ec] = std::from_chars(s.data(), s.data() + n, v);
      if (ec != std::errc() || end != s.data() + n) {
        return std::nullopt;
      }
      s.remove_prefix(n);
      std::size_t u = 0;
      while (u < s.size() && !((s[u] >= '0' && s[u] <= '9') || s[u] == '.')) {
        ++u;
      }
      const std::string_view unit = s.substr(0, u);
      s.remove_prefix(u);
      static constexpr std::pair<std::string_view, double> kUnits[] = {
          {"h", 3600}, {"m", 60}, {"s", 1}, {"ms", 1e-3}, {"us", 1e-6}, {"µs", 1e-6}, {"ns", 1e-9}};
      bool known = false;
      for (const auto& [name, factor] : kUnits) {
        if (unit == name) {
          total += v * factor;
          known = true;
        }
      }
      if (!known) {
        return std::nullopt;
      }
      any = true;
    }
    return any ? std::optional<double>(total) : std::nullopt;
  }

 private:
  std::vector<std::string>& errors_;
};

Labels ReadLabels(Reader& r, const YAML::Node& metadata, const char* key) {
  Labels labels;
  YAML::Node m = r.Child(metadata, key, "metadata");
  if (!m.IsDefined()) {
    return labels;
  }
  if (!m.IsMap()) {
    r.Error(std::string("metadata.") + key, "expected a mapping");
    return labels;
  }
  for (const auto& kv : m) {
    if (!kv.first.IsScalar() || !(kv.second.IsScalar() || kv.second.IsNull())) {
      r.Error(std::string("metadata.") + key, "expected string keys and values");
      continue;
    }
    labels[kv.first.Scalar()] = ScalarValue(kv.second);
  }
  return labels;
}

Node ReadCalicoNode(Reader& r, const YAML::Node& obj) {
  Node node;
  YAML::Node metadata = r.Child(obj, "metadata", "");
  node.labels = ReadLabels(r, metadata, "labels");
  YAML::Node bgp = r.Child(r.Child(obj, "spec", ""), "bgp", "spec");
  node.ipv4 = r.Ip(bgp, "ipv4Address", "spec.bgp", true, 4);
  node.ipv6 = r.Ip(bgp, "ipv6Address", "spec.bgp", true, 6);
  node.as_number = r.AsNumber(bgp, "asNumber", "spec.bgp");
  node.rr_cluster_id = r.String(bgp, "routeReflectorClusterID", "spec.bgp").value_or("");
  return node;
}

// A Kubernetes Node: Calico's labels from the projectcalico.org/labels annotation with the
// Kubernetes labels merged over them; BGP fields from the projectcalico.org/* annotations.
Node ReadKubernetesNode(Reader& r, const YAML::Node& obj) {
  Node node;
  YAML::Node metadata = r.Child(obj, "metadata", "");
  Labels annotations = ReadLabels(r, metadata, "annotations");
  const std::string path = "metadata.annotations";
  auto annotation = [&](const char* key) -> std::optional<std::string> {
    const auto it = annotations.find(key);
    return it == annotations.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  if (auto json = annotation(kLabelsAnnotation)) {
    const nlohmann::json j = nlohmann::json::parse(*json, nullptr, false);
    if (!j.is_object()) {
      r.Error(path + "." + kLabelsAnnotation, "expected a JSON object of labels");
    } else {
      for (const auto& [k, v] : j.items()) {
        if (v.is_string()) {
          node.labels[k] = v.get<std::string>();
        }
      }
    }
  }
  for (const auto& [k, v] : ReadLabels(r, metadata, "labels")) {
    node.labels[k] = v;
  }
  auto ip = [&](const char* key, int family) -> std::string {
    std::optional<std::string> v = annotation(key);
    if (!v || v->empty()) {
      return "";
    }
    std::string canonical = CanonicalIp(*v, true);
    if (canonical.empty() || IsIpv6(canonical) != (family == 6)) {
      r.Error(path + "." + key, std::string("not an IPv") + (family == 4 ? "4" : "6") +
                                    " address or CIDR: \"" + *v + "\"");
      return "";
    }
    return canonical;
  };
  node.ipv4 = ip(kIpv4AddressAnnotation, 4);
  node.ipv6 = ip(kIpv6AddressAnnotation, 6);
  if (auto as = annotation(kAsNumberAnnotation)) {
    node.as_number = ParseAsNumber(*as);
    if (!node.as_number) {
      r.Error(path + "." + kAsNumberAnnotation, "not an AS number: \"" + *as + "\"");
    }
  }
  node.rr_cluster_id = annotation(kRrClusterIdAnnotation).value_or("");
  return node;
}

BgpPeer ReadBgpPeer(Reader& r, const YAML::Node& obj) {
  BgpPeer p;
  YAML::Node spec = r.Child(obj, "spec", "");
  const std::string s = "spec";
  p.node = r.String(spec, "node", s).value_or("");
  p.node_selector = r.String(spec, "nodeSelector", s).value_or("");
  p.peer_selector = r.String(spec, "peerSelector", s).value_or("");
  p.peer_ip = r.String(spec, "peerIP", s).value_or("");
  p.as_number = r.AsNumber(spec, "asNumber", s).value_or(0);
  p.local_as_number = r.AsNumber(spec, "localASNumber", s);
  p.source_address = r.String(spec, "sourceAddress", s).value_or("");
  p.keep_original_next_hop = r.Bool(spec, "keepOriginalNextHop", s).value_or(false);
  p.next_hop_mode = r.String(spec, "nextHopMode", s).value_or("");
  if (auto ttl = r.Integer(spec, "ttlSecurity", s, 0, 255)) {
    p.ttl_security = static_cast<int>(*ttl);
  }
  p.password = r.Child(spec, "password", s).IsDefined();
  p.reachable_by = r.String(spec, "reachableBy", s).value_or("");
  p.reverse_peering = r.String(spec, "reversePeering", s).value_or("");
  p.keepalive_seconds = r.Duration(spec, "keepaliveTime", s);
  p.max_restart_seconds = r.Duration(spec, "maxRestartTime", s);
  if (auto n = r.Integer(spec, "numAllowedLocalASNumbers", s, 0, 10)) {
    p.num_allowed_local_as = static_cast<int>(*n);
  }
  p.local_workload_selector = r.String(spec, "localWorkloadSelector", s).value_or("");
  YAML::Node filters = r.Child(spec, "filters", s);
  if (filters.IsDefined()) {
    if (!filters.IsSequence()) {
      r.Error("spec.filters", "expected a list of names");
    } else {
      for (const auto& f : filters) {
        if (f.IsScalar()) {
          p.filters.push_back(f.Scalar());
        }
      }
    }
  }
  if (!p.peer_ip.empty() && !p.peer_selector.empty()) {
    r.Error("spec", "peerIP and peerSelector are mutually exclusive");
  }
  if (!p.node.empty() && !p.node_selector.empty()) {
    r.Error("spec", "node and nodeSelector are mutually exclusive");
  }
  return p;
}

BgpConfiguration ReadBgpConfiguration(Reader& r, const YAML::Node& obj) {
  BgpConfiguration c;
  YAML::Node spec = r.Child(obj, "spec", "");
  c.as_number = r.AsNumber(spec, "asNumber", "spec");
  c.node_to_node_mesh_enabled = r.Bool(spec, "nodeToNodeMeshEnabled", "spec");
  c.listen_port =
      static_cast<std::uint16_t>(r.Integer(spec, "listenPort", "spec", 0, 65535).value_or(0));
  c.node_mesh_password = r.Child(spec, "nodeMeshPassword", "spec").IsDefined();
  c.node_mesh_max_restart_seconds = r.Duration(spec, "nodeMeshMaxRestartTime", "spec");
  return c;
}

template <typename T>
void Upsert(std::vector<T>& into, T item) {
  for (T& existing : into) {
    if (existing.name == item.name) {
      existing = std::move(item);
      return;
    }
  }
  into.push_back(std::move(item));
}

class DocumentLoader {
 public:
  DocumentLoader(std::string_view file, Cluster& cluster, std::vector<LoadError>& errors)
      : file_(file), cluster_(cluster), errors_(errors) {}

  void Load(const Chunk& chunk) {
    YAML::Node doc;
    try {
      doc = YAML::Load(chunk.text);
    } catch (const YAML::Exception& e) {
      ++document_;
      Fail(chunk.first_line + std::max(0, e.mark.line), e.msg);
      return;
    }
    if (!doc.IsDefined() || doc.IsNull()) {
      return;  // An empty document (comments only) is no document.
    }
    ++document_;
    line_ = chunk.first_line + std::max(0, doc.Mark().line);
    try {
      Object(doc, "", "", "");
    } catch (const YAML::Exception& e) {
      Fail(line_, e.msg);
    }
  }

 private:
  void Fail(int line, const std::string& message) {
    errors_.push_back({std::string(file_), document_, line, message});
  }

  // One object, or a List of them; `prefix` names a list item ("items[2]: ").
  void Object(const YAML::Node& obj, const std::string& prefix, const std::string& list_kind,
              const std::string& list_api) {
    if (!obj.IsMap()) {
      Fail(line_, prefix + "expected a mapping (a Kubernetes or Calico object)");
      return;
    }
    std::vector<std::string> problems;
    Reader r(problems);
    std::string kind = r.String(obj, "kind", "").value_or(list_kind);
    std::string api = r.String(obj, "apiVersion", "").value_or(list_api);
    YAML::Node items = obj["items"];
    if ((kind == "List" || kind.ends_with("List")) && items.IsDefined()) {
      if (!items.IsSequence()) {
        Fail(line_, prefix + "items: expected a list");
        return;
      }
      const std::string item_kind = kind == "List" ? "" : kind.substr(0, kind.size() - 4);
      for (std::size_t i = 0; i < items.size(); ++i) {
        Object(items[i], prefix + "items[" + std::to_string(i) + "]: ", item_kind, api);
      }
      return;
    }
    if (kind.empty()) {
      Fail(line_, prefix + "kind: missing");
      return;
    }
    if (kind != "Node" && kind != "BGPPeer" && kind != "BGPConfiguration") {
      ++cluster_.ignored_documents;
      return;
    }
    const bool calico = api == "projectcalico.org/v3" || api == "crd.projectcalico.org/v1";
    if (!calico && !(kind == "Node" && api == "v1")) {
      Fail(line_, prefix + "apiVersion: \"" + api + "\" is not projectcalico.org/v3, " +
                      "crd.projectcalico.org/v1" + (kind == "Node" ? " or v1" : ""));
      return;
    }
    const std::string name =
        r.String(r.Child(obj, "metadata", ""), "name", "metadata").value_or("");
    if (name.empty()) {
      problems.push_back("metadata.name: missing");
    }
    ObjectRef ref{kind, name, std::string(file_), document_};
    if (kind == "Node") {
      Node n = api == "v1" ? ReadKubernetesNode(r, obj) : ReadCalicoNode(r, obj);
      n.ref = ref;
      n.name = name;
      Keep(prefix, problems, cluster_.nodes, std::move(n));
    } else if (kind == "BGPPeer") {
      BgpPeer p = ReadBgpPeer(r, obj);
      p.ref = ref;
      p.name = name;
      Keep(prefix, problems, cluster_.peers, std::move(p));
    } else {
      BgpConfiguration c = ReadBgpConfiguration(r, obj);
      c.ref = ref;
      c.name = name;
      Keep(prefix, problems, cluster_.configs, std::move(c));
    }
  }

  template <typename T>
  void Keep(const std::string& prefix, const std::vector<std::string>& problems,
            std::vector<T>& into, T item) {
    if (!problems.empty()) {
      for (const std::string& p : problems) {
        Fail(line_, prefix + item.ref.Id() + ": " + p);
      }
      return;
    }
    Upsert(into, std::move(item));
  }

  std::string_view file_;
  Cluster& cluster_;
  std::vector<LoadError>& errors_;
  int document_ = 0;
  int line_ = 0;
};

}  // namespace

std::string LoadError::Format() const {
  std::string s = file;
  if (document > 0) {
    s += ": document " + std::to_string(document);
  }
  if (line > 0) {
    s += " (line " + std::to_string(line) + ")";
  }
  return s + ": " + message;
}

std::vector<LoadError> AddDocuments(std::string_view text, std::string_view file,
                                    Cluster& cluster) {
  std::vector<LoadError> errors;
  DocumentLoader loader(file, cluster, errors);
  for (const Chunk& chunk : SplitDocuments(text)) {
    loader.Load(chunk);
  }
  return errors;
}

std::string CanonicalIp(std::string_view text, bool allow_prefix) {
  std::string_view addr = text;
  if (const std::size_t slash = text.find('/'); slash != std::string_view::npos) {
    if (!allow_prefix) {
      return "";
    }
    addr = text.substr(0, slash);
    const std::string_view len = text.substr(slash + 1);
    int bits = -1;
    const auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), bits);
    const int max = addr.find(':') == std::string_view::npos ? 32 : 128;
    if (len.empty() || ec != std::errc() || end != len.data() + len.size() || bits < 0 ||
        bits > max) {
      return "";
    }
  }
  const std::string s(addr);
  char out[INET6_ADDRSTRLEN] = {};
  if (in_addr a4{}; inet_pton(AF_INET, s.c_str(), &a4) == 1) {
    return inet_ntop(AF_INET, &a4, out, sizeof(out)) ? std::string(out) : "";
  }
  if (in6_addr a6{}; inet_pton(AF_INET6, s.c_str(), &a6) == 1) {
    return inet_ntop(AF_INET6, &a6, out, sizeof(out)) ? std::string(out) : "";
  }
  return "";
}

bool IsIpv6(std::string_view canonical_ip) {
  return canonical_ip.find(':') != std::string_view::npos;
}

std::optional<std::uint32_t> ParseAsNumber(std::string_view text) {
  auto number = [](std::string_view s, std::uint64_t max) -> std::optional<std::uint64_t> {
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v > max) {
      return std::nullopt;
    }
    return v;
  };
  if (const std::size_t dot = text.find('.'); dot != std::string_view::npos) {
    auto hi = number(text.substr(0, dot), 0xffff);
    auto lo = number(text.substr(dot + 1), 0xffff);
    if (!hi || !lo) {
      return std::nullopt;
    }
    return static_cast<std::uint32_t>((*hi << 16) | *lo);
  }
  auto v = number(text, 0xffffffffULL);
  return v ? std::optional<std::uint32_t>(static_cast<std::uint32_t>(*v)) : std::nullopt;
}

}  // namespace cbe::intent
