#include "exporter/intent/session_json.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <type_traits>

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

namespace {

// Reads one field of a session object into `out`; false (with `error` set) when it is missing
// or of another type.
template <typename T>
bool Field(const nlohmann::json& j, const char* key, const std::string& where, T* out,
           std::string* error) {
  const auto it = j.find(key);
  if (it == j.end()) {
    *error = where + "." + key + ": missing";
    return false;
  }
  try {
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      // nlohmann converts -1 to a uint32_t without a word: check the range first.
      if (!it->is_number_integer() ||
          (std::is_unsigned_v<T> && !it->is_number_unsigned()) ||
          it->get<std::int64_t>() > static_cast<std::int64_t>(std::numeric_limits<T>::max()) ||
          it->get<std::int64_t>() < static_cast<std::int64_t>(std::numeric_limits<T>::min())) {
        throw nlohmann::json::type_error::create(302, "out of range", nullptr);
      }
    }
    *out = it->get<T>();
  } catch (const nlohmann::json::exception&) {
    *error = where + "." + key + ": expected " +
             (std::is_same_v<T, std::string> ? "a string"
              : std::is_same_v<T, bool>      ? "true or false"
                                             : "a number in range");
    return false;
  }
  return true;
}

std::optional<PeerType> ParsePeerType(std::string_view name) {
  for (PeerType t : {PeerType::kMesh, PeerType::kGlobal, PeerType::kNode}) {
    if (PeerTypeName(t) == name) {
      return t;
    }
  }
  return std::nullopt;
}

// One element of "sessions".
Result<Session> SessionFromJson(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) {
    return Error{where + ": expected an object"};
  }
  Session s;
  std::string family;
  std::string peer_type;
  std::uint16_t port = 0;
  std::string e;
  const bool ok =
      Field(j, "protocol", where, &s.protocol, &e) && Field(j, "family", where, &family, &e) &&
      Field(j, "neighbor_address", where, &s.neighbor_address, &e) &&
      Field(j, "neighbor_port", where, &port, &e) &&
      Field(j, "neighbor_as", where, &s.neighbor_as, &e) &&
      Field(j, "local_as", where, &s.local_as, &e) && Field(j, "passive", where, &s.passive, &e) &&
      Field(j, "rr_client", where, &s.rr_client, &e) &&
      Field(j, "peer_type", where, &peer_type, &e) && Field(j, "source", where, &s.source, &e) &&
      Field(j, "reverse_peering", where, &s.reverse, &e) &&
      Field(j, "peer_node", where, &s.peer_node, &e) &&
      Field(j, "source_address", where, &s.source_address, &e) &&
      Field(j, "ttl_security", where, &s.ttl_security, &e) &&
      Field(j, "password", where, &s.password, &e) &&
      Field(j, "next_hop", where, &s.next_hop, &e) &&
      Field(j, "keepalive_seconds", where, &s.keepalive_seconds, &e) &&
      Field(j, "graceful_restart_seconds", where, &s.graceful_restart_seconds, &e);
  if (!ok) {
    return Error{e};
  }
  if (family != "ipv4" && family != "ipv6") {
    return Error{where + ".family: expected ipv4 or ipv6, got \"" + family + "\""};
  }
  s.family = family == "ipv4" ? 4 : 6;
  const auto type = ParsePeerType(peer_type);
  if (!type) {
    return Error{where + ".peer_type: expected mesh, global or node, got \"" + peer_type + "\""};
  }
  s.peer_type = *type;
  s.neighbor_port = port == 179 ? 0 : port;  // SessionToJson writes BIRD's default as 179.
  return s;
}

}  // namespace

Result<std::vector<Session>> ParseNodeSessionsJson(std::string_view json, std::string* node) {
  const nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return Error{"not JSON"};
  }
  if (!doc.is_object() || !doc.contains("node") || !doc["node"].is_string()) {
    return Error{"node: expected a string"};
  }
  *node = doc["node"].get<std::string>();
  if (!doc.contains("sessions") || !doc["sessions"].is_array()) {
    return Error{"sessions: expected a list"};
  }
  std::vector<Session> out;
  out.reserve(doc["sessions"].size());
  for (std::size_t i = 0; i < doc["sessions"].size(); ++i) {
    auto s = SessionFromJson(doc["sessions"][i], "sessions[" + std::to_string(i) + "]");
    if (!s) {
      return s.error();
    }
    out.push_back(std::move(*s));
  }
  return out;
}

nlohmann::ordered_json FindingToJson(const Finding& f) {
  return {{"kind", FindingKindName(f.kind)}, {"object", f.object}, {"message", f.message}};
}

}  // namespace cbe::intent
