#pragma once

// The JSON forms of the engine's results, in one place: `intent sessions --output json` prints
// an array of SessionToJson objects, `intent serve` answers GET /v1/nodes/NAME/sessions with
// NodeSessionsJson, and `intent findings --output json` / GET /v1/findings print FindingToJson
// objects. Pure.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/base/result.h"
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

// The node exporter's side of GET /v1/nodes/NAME/sessions: NodeSessionsJson read back. Every
// field SessionToJson writes must be there with its type; an error names the first that is not
// ("sessions[3].neighbor_as: expected a number"). `node` gets the answer's node name.
Result<std::vector<Session>> ParseNodeSessionsJson(std::string_view json, std::string* node);

// {"kind": "selector-matches-no-node", "object": "BGPPeer/x", "message": "..."}
nlohmann::ordered_json FindingToJson(const Finding& f);

}  // namespace cbe::intent
