#pragma once

// Calico's resources as far as BGP peering needs them (Node, BGPPeer, BGPConfiguration), read
// from YAML or JSON documents in either form calicoctl and kubectl print:
//   - projectcalico.org/v3 (calicoctl, or the aggregated API server),
//   - the Kubernetes datastore: crd.projectcalico.org/v1 BGPPeer and BGPConfiguration, and
//     Kubernetes `v1` Node objects whose Calico fields are projectcalico.org/* annotations, as
//     libcalico-go's Kubernetes backend maps them (lib/backend/k8s/resources/node.go).
// `List` objects and multi-document YAML are read; other kinds are counted and skipped. Pure: text
// in, model out; a malformed document is an error naming the file and the document.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/intent/selector.h"

namespace cbe::intent {

// Where a resource came from: its kind and name, the file, the 1-based document in it.
struct ObjectRef {
  std::string kind;
  std::string name;
  std::string file;
  int document = 0;
  // "BGPPeer/name": how findings and sessions name the object.
  std::string Id() const { return kind + "/" + name; }
  bool operator==(const ObjectRef&) const = default;
};

struct Node {
  ObjectRef ref;
  std::string name;
  Labels labels;
  std::string ipv4;  // canonical address without prefix length ("" = none)
  std::string ipv6;  // canonical, compressed, lower case ("" = none)
  std::optional<std::uint32_t> as_number;
  std::string rr_cluster_id;  // "" = not a route reflector
  bool operator==(const Node&) const = default;
};

struct BgpPeer {
  ObjectRef ref;
  std::string name;
  std::string node;
  std::string node_selector;
  std::string peer_selector;
  std::string peer_ip;          // as written: "10.0.0.1", "10.0.0.1:179", "[fd00::1]:179"
  std::uint32_t as_number = 0;  // 0 = unset
  std::optional<std::uint32_t> local_as_number;
  std::string source_address;  // "", "UseNodeIP" or "None"
  bool keep_original_next_hop = false;
  std::string next_hop_mode;  // "", "Auto", "Self", "Keep"
  std::optional<int> ttl_security;
  bool password = false;
  std::string reachable_by;
  std::string reverse_peering;  // "", "Auto", "Manual"
  std::optional<int> keepalive_seconds;
  std::optional<int> max_restart_seconds;
  std::optional<int> num_allowed_local_as;
  std::vector<std::string> filters;
  std::string local_workload_selector;
  bool operator==(const BgpPeer&) const = default;
};

struct BgpConfiguration {
  ObjectRef ref;
  std::string name;  // "default" or "node.<nodename>"
  std::optional<std::uint32_t> as_number;
  std::optional<bool> node_to_node_mesh_enabled;
  std::uint16_t listen_port = 0;  // 0 = unset
  bool node_mesh_password = false;
  std::optional<int> node_mesh_max_restart_seconds;
  bool operator==(const BgpConfiguration&) const = default;
};

// Everything read so far. A later document with the same kind and name replaces the earlier one,
// as `calicoctl apply` / `kubectl apply` would.
struct Cluster {
  std::vector<Node> nodes;
  std::vector<BgpPeer> peers;
  std::vector<BgpConfiguration> configs;
  int ignored_documents = 0;  // documents of other kinds (IPPool, Service, ...)
};

struct LoadError {
  std::string file;
  int document = 0;  // 1-based; 0 = the file as a whole
  int line = 0;      // 1-based when known
  std::string message;
  // "file: document 2 (line 14): spec.asNumber: not an AS number: \"abc\""
  std::string Format() const;
};

// Adds the documents of `text` (one file, named `file` in errors) to `cluster`. Returns the
// errors; documents with errors are left out, the others are added.
std::vector<LoadError> AddDocuments(std::string_view text, std::string_view file, Cluster& cluster);

// Canonical text form of an IP address (inet_ntop), or "" when `text` is not one. A prefix
// length ("/16") is accepted and dropped when `allow_prefix`.
std::string CanonicalIp(std::string_view text, bool allow_prefix = false);
bool IsIpv6(std::string_view canonical_ip);

// AS number in plain ("64512") or dotted ("1.10") notation.
std::optional<std::uint32_t> ParseAsNumber(std::string_view text);

}  // namespace cbe::intent
