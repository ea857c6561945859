#pragma once

// Where this node's calico-node runs, for the hints `check` prints: the Tigera operator puts it
// in namespace calico-system, the manifest install (calico.yaml) and Kubespray in kube-system.
// On a node, kubelet's pod log directories (/var/log/pods/<namespace>_<pod>_<uid>) tell which;
// inside the DaemonSet's container they are not mounted, and the hint names both.

#include <string>
#include <string_view>
#include <vector>

#include "exporter/core/snapshot.h"

namespace cbe {

inline constexpr std::string_view kOperatorNamespace = "calico-system";
inline constexpr std::string_view kManifestNamespace = "kube-system";
inline constexpr const char* kKubeletPodLogs = "/var/log/pods";

// The namespaces of calico-node pods among kubelet's pod log directory names: calico-system
// and/or kube-system, in that order. Pure.
std::vector<std::string> CalicoNodeNamespaces(const std::vector<std::string>& pod_log_dirs);

// The lines after `check`'s next steps: how to reach this node's calico-node and its BIRD.
// Empty when no socket is Calico's (under /var/run/calico/: a BIRD host outside Kubernetes has
// no calico-node). `namespaces` empty: not detected, both are named. `node` empty: "<node>".
// Pure.
std::string CalicoNodeHint(const std::vector<std::string>& sockets,
                           const std::vector<std::string>& namespaces, std::string_view node);

// CalicoNodeHint for this machine and the snapshot's BIRD sockets, or "" when every session is
// healthy: reads kubelet's pod log directories and NODE_NAME (the DaemonSet sets it).
std::string CalicoNodeHintHere(const Snapshot& snapshot);

}  // namespace cbe
