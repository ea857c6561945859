#pragma once

// The JSON forms of the engine's results, in one place: `intent sessions --output json` prints
// an array of SessionToJson objects, `intent serve` answers GET /v1/nodes/NAME/sessions with
// NodeSessionsJson, and `intent findings --output json` / GET /v1/findings print FindingToJson
// objects. Pure.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/intent/findings.h"
#include "exporter/intent/sessions.h"

namespace cbe::intent {

// One session: protocol, family, neighbor_address, neighbor_port, neighbor_as, local_as,
// passive, rr_client, peer_type, source, reverse_peering, peer_node, source_address,
// ttl_security, password, next_hop, keepalive_seconds, graceful_restart_seconds (in that order).
nlohmann::ordered_json SessionToJson(const Session& s);

// {"node": NAME, "sessions": [SessionToJson...]}, compact (no spaces), sessions in the engine's
// order (IPv4 first, then IPv6; each by protocol name).
std::string NodeSessionsJson(std::string_view node, const std::vector<Session>& sessions);

// {"kind": "selector-matches-no-node", "object": "BGPPeer/x", "message": "..."}
nlohmann::ordered_json FindingToJson(const Finding& f);

}  // namespace cbe::intent
