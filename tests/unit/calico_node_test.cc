#include "exporter/core/calico_node.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace cbe {
namespace {

using Names = std::vector<std::string>;

TEST_CASE("CalicoNodeNamespaces: calico-node's pod log directories name its namespace", "[unit]") {
  // kubelet's /var/log/pods/<namespace>_<pod>_<uid>.
  CHECK(
      CalicoNodeNamespaces({"calico-system_calico-node-x7k2p_0b5f1c7e-1d2a-4c55-9d36-7f4a1b2c3d4e",
                            "calico-system_calico-typha-5d8f9_1234",
                            "kube-system_kube-proxy-abcde_5678"}) == Names{"calico-system"});
  CHECK(CalicoNodeNamespaces({"kube-system_calico-node-4hq9z_9d1e", "kube-system_coredns-1_2"}) ==
        Names{"kube-system"});
  CHECK(CalicoNodeNamespaces({"kube-system_calico-kube-controllers-7c9_3", "default_web-1_4"})
            .empty());
  CHECK(CalicoNodeNamespaces({}).empty());
  CHECK(CalicoNodeNamespaces({"kube-system_calico-node-a_1", "calico-system_calico-node-b_2"}) ==
        Names{"calico-system", "kube-system"});
}

const Names kCalicoSockets = {"/var/run/calico/bird.ctl", "/var/run/calico/bird6.ctl"};

TEST_CASE("CalicoNodeHint: the detected namespace, with this node's name", "[unit]") {
  CHECK(CalicoNodeHint(kCalicoSockets, {"calico-system"}, "worker-1") ==
        "\nCALICO-NODE\n\n"
        "  calico-node runs in namespace calico-system (Tigera operator; found in /var/log/pods):\n"
        "  kubectl -n calico-system get pod -l k8s-app=calico-node "
        "--field-selector spec.nodeName=worker-1 -o name\n"
        "  its BIRD: kubectl -n calico-system exec <pod> -c calico-node -- birdcl -s "
        "/var/run/calico/bird.ctl show protocols all <protocol>\n");
  const std::string manifest = CalicoNodeHint(kCalicoSockets, {"kube-system"}, "");
  CHECK(manifest.find("namespace kube-system (manifest install or Kubespray; found in "
                      "/var/log/pods)") != std::string::npos);
  CHECK(manifest.find("kubectl -n kube-system get pod") != std::string::npos);
  CHECK(manifest.find("spec.nodeName=<node>") != std::string::npos);
  CHECK(manifest.find("calico-system") == std::string::npos);
}

TEST_CASE("CalicoNodeHint: not detected (or both found), both namespaces", "[unit]") {
  for (const Names& namespaces : {Names{}, Names{"calico-system", "kube-system"}}) {
    const std::string hint = CalicoNodeHint(kCalicoSockets, namespaces, "worker-1");
    CHECK(hint.find("calico-system (Tigera operator) or kube-system (manifest install, "
                    "Kubespray)") != std::string::npos);
    CHECK(hint.find("kubectl get pod -A -l k8s-app=calico-node --field-selector "
                    "spec.nodeName=worker-1 -o name") != std::string::npos);
    CHECK(hint.find("kubectl -n <namespace> exec <pod>") != std::string::npos);
  }
}

TEST_CASE("CalicoNodeHint: none for a BIRD that is not Calico's", "[unit]") {
  CHECK(CalicoNodeHint({"/run/bird/bird.ctl"}, {}, "rs1").empty());
  CHECK(CalicoNodeHint({}, {"kube-system"}, "").empty());
  CHECK(CalicoNodeHint({"/run/bird/bird.ctl", "/var/run/calico/bird6.ctl"}, {}, "")
            .find("birdcl -s /var/run/calico/bird6.ctl") != std::string::npos);
}

}  // namespace
}  // namespace cbe
