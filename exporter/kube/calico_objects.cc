#include "exporter/kube/calico_objects.h"

#include <set>

namespace cbe::kube {

std::string ObjectName(const nlohmann::json& object) {
  const auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) {
    return "";
  }
  const auto name = metadata->find("name");
  return name != metadata->end() && name->is_string() ? name->get<std::string>() : "";
}

Result<CalicoObject> DecodeCalicoObject(const ResourceType& type, const nlohmann::json& object) {
  nlohmann::json trimmed = {{"apiVersion", type.api_version}, {"kind", type.kind}};
  if (const auto m = object.find("metadata"); m != object.end()) {
    nlohmann::json& metadata = trimmed["metadata"] = nlohmann::json::object();
    if (m->is_object()) {
      for (const char* key : {"name", "labels", "annotations"}) {
        if (const auto v = m->find(key); v != m->end()) {
          metadata[key] = *v;
        }
      }
    } else {
      metadata = *m;  // let the engine say what is wrong with it
    }
  }
  if (const auto spec = object.find("spec"); spec != object.end()) {
    trimmed["spec"] = *spec;
  }
  intent::Cluster one;
  const std::vector<intent::LoadError> errors =
      intent::AddDocuments(trimmed.dump(), type.Name(), one);
  if (!errors.empty()) {
    std::string message;
    std::set<std::string> seen;  // a field of the wrong type is reported once per use
    for (const intent::LoadError& e : errors) {
      if (seen.insert(e.message).second) {
        message += (message.empty() ? "" : "; ") + e.message;
      }
    }
    return Error{message};
  }
  if (!one.nodes.empty()) {
    return CalicoObject(std::move(one.nodes.front()));
  }
  if (!one.peers.empty()) {
    return CalicoObject(std::move(one.peers.front()));
  }
  if (!one.configs.empty()) {
    return CalicoObject(std::move(one.configs.front()));
  }
  return Error{type.kind + " " + ObjectName(object) + ": not read (kind " + type.kind + ")"};
}

void AddTo(intent::Cluster& cluster, const CalicoObject& o) {
  if (const auto* n = std::get_if<intent::Node>(&o)) {
    cluster.nodes.push_back(*n);
  } else if (const auto* p = std::get_if<intent::BgpPeer>(&o)) {
    cluster.peers.push_back(*p);
  } else {
    cluster.configs.push_back(std::get<intent::BgpConfiguration>(o));
  }
}

}  // namespace cbe::kube
