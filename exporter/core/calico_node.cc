#include "exporter/core/calico_node.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "exporter/core/check.h"

namespace cbe {
namespace {

constexpr std::string_view kCalicoSocketDir = "/var/run/calico/";

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::vector<std::string> DirectoryNames(const char* dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    names.push_back(entry.path().filename().string());
  }
  return names;
}

}  // namespace

std::vector<std::string> CalicoNodeNamespaces(const std::vector<std::string>& pod_log_dirs) {
  std::vector<std::string> found;
  for (std::string_view ns : {kOperatorNamespace, kManifestNamespace}) {
    const std::string prefix = std::string(ns) + "_calico-node-";
    for (const std::string& dir : pod_log_dirs) {
      if (StartsWith(dir, prefix)) {
        found.emplace_back(ns);
        break;
      }
    }
  }
  return found;
}

std::string CalicoNodeHint(const std::vector<std::string>& sockets,
                           const std::vector<std::string>& namespaces, std::string_view node) {
  std::string socket;
  for (const std::string& s : sockets) {
    if (StartsWith(s, kCalicoSocketDir)) {
      socket = s;
      break;
    }
  }
  if (socket.empty()) {
    return "";
  }
  const std::string node_name = node.empty() ? "<node>" : std::string(node);
  const std::string selector =
      "-l k8s-app=calico-node --field-selector spec.nodeName=" + node_name + " -o name";
  std::string out = "\nCALICO-NODE\n\n";
  std::string ns;
  if (namespaces.size() == 1) {
    ns = namespaces.front();
    out += "  calico-node runs in namespace " + ns + " (" +
           (ns == kOperatorNamespace ? "Tigera operator" : "manifest install or Kubespray") +
           "; found in " + kKubeletPodLogs + "):\n  kubectl -n " + ns + " get pod " + selector +
           "\n";
  } else {
    ns = "<namespace>";
    out += "  calico-node runs in namespace " + std::string(kOperatorNamespace) +
           " (Tigera operator) or " + std::string(kManifestNamespace) +
           " (manifest install, Kubespray); this node's pod, in either:\n"
           "  kubectl get pod -A " +
           selector + "\n";
  }
  out += "  its BIRD: kubectl -n " + ns + " exec <pod> -c calico-node -- birdcl -s " + socket +
         " show protocols all <protocol>\n";
  return out;
}

std::string CalicoNodeHintHere(const Snapshot& snapshot) {
  if (AllHealthy(snapshot) || snapshot.bird == nullptr) {
    return "";
  }
  std::vector<std::string> sockets;
  for (const auto& d : snapshot.bird->daemons) {
    sockets.push_back(d.socket);
  }
  const char* node = std::getenv("NODE_NAME");
  return CalicoNodeHint(sockets, CalicoNodeNamespaces(DirectoryNames(kKubeletPodLogs)),
                        node != nullptr ? node : "");
}

}  // namespace cbe
