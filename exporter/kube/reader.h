#pragma once

// The reader of the intent mode: which API serves Calico's resources (discovery), then one
// reflector (LIST + WATCH) per resource, each on its own thread, and the view the engine
// computes from. The view exists only once every resource's first LIST finished: the engine
// never sees a half-synced cluster. After that the view always holds each resource's latest
// known state, also while the API is unreachable (the last good state is kept).
//
// Kubernetes datastore first: Kubernetes `v1` Nodes and crd.projectcalico.org/v1 BGPPeers and
// BGPConfigurations, which the API server itself serves. Only when those CRDs are not served
// (Calico on etcd) the projectcalico.org/v3 API of Calico's API server: it is an aggregated API,
// served by a pod, so reaching it needs the pod network that a BGP problem may have broken.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "exporter/base/clock.h"
#include "exporter/base/result.h"
#include "exporter/kube/backoff.h"
#include "exporter/kube/http.h"
#include "exporter/kube/reflector.h"
#include "exporter/kube/stats.h"
#include "exporter/kube/store.h"

namespace cbe::kube {

enum class ApiMode {
  kKubernetesDatastore,  // v1 nodes + crd.projectcalico.org/v1 bgppeers, bgpconfigurations
  kCalicoApiServer,      // projectcalico.org/v3 nodes, bgppeers, bgpconfigurations
};
std::string_view ApiModeName(ApiMode m);  // "kubernetes-datastore", "calico-apiserver"
// The three resources of a mode: nodes, bgppeers, bgpconfigurations.
std::vector<ResourceType> ResourcesOf(ApiMode m);

// The mode from discovery: the group versions of GET /apis, and the resources of
// GET /apis/crd.projectcalico.org/v1 and /apis/projectcalico.org/v3 (nullopt: not asked or not
// served). Pure.
Result<ApiMode> ChooseApi(const std::set<std::string>& group_versions,
                          const std::optional<std::set<std::string>>& crd_resources,
                          const std::optional<std::set<std::string>>& v3_resources);

struct ReaderOptions {
  ReflectorOptions reflector;
  BackoffOptions discovery_backoff;
};

// A complete view of the cluster's Calico resources.
struct ClusterView {
  intent::Cluster cluster;
  std::vector<RejectedObject> rejected;  // objects kept out (or held at their last good version)
};

class ClusterReader {
 public:
  // `changed` is called (on a reader thread) after every change of the view, the first
  // complete one included; it must not block.
  ClusterReader(ReaderOptions options, HttpClientFactory* http, TokenSource token,
                const Clock* clock, std::function<double()> random01,
                std::function<void()> changed);
  ~ClusterReader();
  ClusterReader(const ClusterReader&) = delete;
  ClusterReader& operator=(const ClusterReader&) = delete;

  void Start();
  // Ends every thread: waits at once, running requests within about a second.
  void Stop();

  // nullopt until every resource's first LIST finished.
  std::optional<ClusterView> View() const;
  ReaderStats Stats() const;

 private:
  void Run();  // discovery with backoff, then the reflectors
  Result<ApiMode> Discover(HttpClient& http);
  Result<std::string> GetBody(HttpClient& http, const std::string& path, bool not_found_ok,
                              bool& not_found);
  bool Wait(std::chrono::milliseconds delay);

  ReaderOptions options_;
  HttpClientFactory* http_;
  TokenSource token_;
  const Clock* clock_;
  std::function<double()> random01_;
  std::function<void()> changed_;

  std::atomic<bool> stop_{false};
  std::mutex wait_mu_;
  std::condition_variable wait_cv_;
  std::thread discovery_thread_;

  mutable std::mutex mu_;  // guards the fields below
  std::optional<ApiMode> mode_;
  std::uint64_t discovery_requests_ = 0;
  std::array<std::uint64_t, kErrorKinds> discovery_errors_{};
  std::vector<std::unique_ptr<ResourceStore>> stores_;
  std::vector<std::unique_ptr<Reflector>> reflectors_;
  std::vector<std::unique_ptr<HttpClient>> clients_;
  std::vector<std::thread> threads_;
};

}  // namespace cbe::kube

namespace cbe::kube {

// The bearer token of `credentials`: its fixed token, or its token file read again on every call
// (a projected service-account token is rotated by the kubelet), whitespace trimmed.
TokenSource TokenSourceFor(const Credentials& credentials);

}  // namespace cbe::kube
