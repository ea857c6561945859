#include "exporter/intent/session_json.h"

namespace cbe::intent {

nlohmann::ordered_json SessionToJson(const Session& s) {
  nlohmann::ordered_json j;
  j["protocol"] = s.protocol;
  j["family"] = s.family == 4 ? "ipv4" : "ipv6";
  j["neighbor_address"] = s.neighbor_address;
  j["neighbor_port"] = s.neighbor_port == 0 ? 179 : s.neighbor_port;
  j["neighbor_as"] = s.neighbor_as;
  j["local_as"] = s.local_as;
  j["passive"] = s.passive;
  j["rr_client"] = s.rr_client;
  j["peer_type"] = PeerTypeName(s.peer_type);
  j["source"] = s.source;
  j["reverse_peering"] = s.reverse;
  j["peer_node"] = s.peer_node;
  j["source_address"] = s.source_address;
  j["ttl_security"] = s.ttl_security;
  j["password"] = s.password;
  j["next_hop"] = s.next_hop;
  j["keepalive_seconds"] = s.keepalive_seconds;
  j["graceful_restart_seconds"] = s.graceful_restart_seconds;
  return j;
}

std::string NodeSessionsJson(std::string_view node, const std::vector<Session>& sessions) {
  nlohmann::ordered_json doc;
  doc["node"] = node;
  nlohmann::ordered_json& list = doc["sessions"] = nlohmann::ordered_json::array();
  for (const Session& s : sessions) {
    list.push_back(SessionToJson(s));
  }
  return doc.dump();
}

nlohmann::ordered_json FindingToJson(const Finding& f) {
  return {{"kind", FindingKindName(f.kind)}, {"object", f.object}, {"message", f.message}};
}

}  // namespace cbe::intent
