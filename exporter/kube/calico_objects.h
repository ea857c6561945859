#pragma once

// The API objects the reader keeps, read into the intent engine's types (exporter/intent) as
// soon as they arrive, so that only Calico's meaning stays in memory (a Kubernetes Node's JSON
// is kilobytes, its intent::Node a few hundred bytes). Pure.

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>

#include "exporter/base/result.h"
#include "exporter/intent/resources.h"
#include "exporter/kube/protocol.h"

namespace cbe::kube {

using CalicoObject = std::variant<intent::Node, intent::BgpPeer, intent::BgpConfiguration>;

// metadata.name of an API object ("" when it has none).
std::string ObjectName(const nlohmann::json& object);

// Reads one object of `type` with the engine's own reader (intent::AddDocuments), so a file and
// the API give the same model: apiVersion and kind come from `type` (LIST items of built-in
// types carry neither), and only metadata (name, labels, annotations) and spec are read;
// fields the engine does not know are ignored. An error names the object and the field:
// "BGPPeer/x: spec.asNumber: not an AS number: \"abc\"".
Result<CalicoObject> DecodeCalicoObject(const ResourceType& type, const nlohmann::json& object);

// Appends `o` to the list of its kind in `cluster`.
void AddTo(intent::Cluster& cluster, const CalicoObject& o);

}  // namespace cbe::kube
