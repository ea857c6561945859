// The families of `intent serve` (intent_serve_exposition.h).

#include <set>
#include <utility>

#include "exporter/metrics/exposition.h"
#include "exporter/metrics/families.h"
#include "exporter/metrics/intent_serve_exposition.h"

namespace cbe {
namespace {

using metrics::Family;
using prometheus::MetricType;

void AddEngineFamilies(const IntentServeStatus& s, metrics::Families& f) {
  f.Add("calico_bgp_intent_synced",
        "1 once every resource's first LIST finished and the sessions are served; 0 before "
        "(GET /v1/nodes/NAME/sessions answers 503)")
      .Add({}, s.serving ? 1 : 0);
  if (!s.serving) {
    return;
  }
  f.Add("calico_bgp_intent_nodes", "Calico nodes in the served model").Add({}, s.nodes);
  f.Add("calico_bgp_intent_last_change_timestamp_seconds",
        "Unix time the served model last changed")
      .Add({}, s.last_change_unix);
  Family& d = f.Add("calico_bgp_intent_recompute_duration_seconds",
                    "Time the engine took for the last change, by step: model (the view "
                    "assembled and the model built: then the new sessions are served), findings "
                    "(the config problems, computed after)");
  d.Add({{"step", "model"}}, s.model_seconds);
  d.Add({{"step", "findings"}}, s.findings_seconds);
}

void AddReaderFamilies(const kube::ReaderStats& r, metrics::Families& f) {
  Family& info = f.Add("calico_bgp_kube_resource_info",
                       "The API version each resource is read from (Kubernetes datastore first, "
                       "projectcalico.org/v3 without it); always 1");
  Family& sync = f.Add("calico_bgp_kube_last_sync_timestamp_seconds",
                       "Unix time the resource was last known current: a LIST finished, a WATCH "
                       "opened, an event or a bookmark arrived");
  Family& watching = f.Add("calico_bgp_kube_watch_up", "1 while a WATCH of the resource is open");
  Family& objects = f.Add("calico_bgp_kube_objects", "Objects of the resource in the view");
  Family& rejected = f.Add("calico_bgp_kube_rejected_objects",
                           "Objects of the resource the engine cannot read: kept out, or held at "
                           "their last good version");
  Family& requests = f.Add("calico_bgp_kube_requests_total",
                           "Requests to the Kubernetes API, by verb: list (one per page), watch, "
                           "get (discovery)",
                           MetricType::Counter);
  Family& restarts = f.Add("calico_bgp_kube_watch_restarts_total",
                           "Watches that ended and were opened again, by reason: timeout (the "
                           "server's timeoutSeconds, normal), expired (410: relisted), dropped "
                           "(the connection broke), error",
                           MetricType::Counter);
  Family& errors = f.Add("calico_bgp_kube_errors_total",
                         "Failed requests and unreadable objects, by kind", MetricType::Counter);
  requests.Add({{"resource", "discovery"}, {"verb", "get"}},
               static_cast<double>(r.discovery_requests));
  for (std::size_t k = 0; k < kube::kErrorKinds; ++k) {
    errors.Add({{"resource", "discovery"},
                {"kind", std::string(kube::ErrorKindName(static_cast<kube::ErrorKind>(k)))}},
               static_cast<double>(r.discovery_errors[k]));
  }
  for (const kube::ResourceStats& s : r.resources) {
    const metrics::Labels res{{"resource", s.resource}};
    info.Add(metrics::With(res, {{"api_version", s.api_version}}), 1);
    if (s.last_sync_unix > 0) {
      sync.Add(res, s.last_sync_unix);
    }
    watching.Add(res, s.watching ? 1 : 0);
    objects.Add(res, static_cast<double>(s.objects));
    rejected.Add(res, static_cast<double>(s.rejected));
    requests.Add(metrics::With(res, {{"verb", "list"}}), static_cast<double>(s.list_requests));
    requests.Add(metrics::With(res, {{"verb", "watch"}}), static_cast<double>(s.watch_requests));
    for (std::size_t e = 0; e < kube::kWatchEnds; ++e) {
      restarts.Add(
          metrics::With(
              res, {{"reason", std::string(kube::WatchEndName(static_cast<kube::WatchEnd>(e)))}}),
          static_cast<double>(s.watch_restarts[e]));
    }
    for (std::size_t k = 0; k < kube::kErrorKinds; ++k) {
      errors.Add(
          metrics::With(
              res, {{"kind", std::string(kube::ErrorKindName(static_cast<kube::ErrorKind>(k)))}}),
          static_cast<double>(s.errors[k]));
    }
  }
}

void AddProblemFamily(const IntentServeStatus& s, metrics::Families& f) {
  Family& problem = f.Add("calico_bgp_config_problem",
                          "A mistake in Calico's BGP configuration that no session shows as "
                          "down (kind; object: the BGPPeer or Node to fix); always 1. GET "
                          "/v1/findings says what is wrong");
  std::set<std::pair<std::string, std::string>> seen;  // one series per kind and object
  for (const intent::Finding& finding : s.findings) {
    seen.emplace(ProblemKind(finding.kind), finding.object);
  }
  for (const kube::RejectedObject& r : s.rejected) {
    seen.emplace(std::string(kInvalidObjectProblem), r.object);
  }
  for (const auto& [kind, object] : seen) {
    problem.Add({{"kind", kind}, {"object", object}}, 1);
  }
}

}  // namespace

std::string ProblemKind(intent::FindingKind kind) {
  std::string name(intent::FindingKindName(kind));
  for (char& c : name) {
    c = c == '-' ? '_' : c;
  }
  return name;
}

std::string RenderIntentServeExposition(const IntentServeStatus& status) {
  std::string out;
  metrics::Families families(kRenderChunk, [&out](std::string_view text) { out += text; });
  metrics::AddBuildInfo(families);
  AddEngineFamilies(status, families);
  AddReaderFamilies(status.reader, families);
  AddProblemFamily(status, families);
  families.CloseAll();
  return out;
}

}  // namespace cbe
