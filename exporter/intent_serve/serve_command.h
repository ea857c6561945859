#pragma once

// `calico-bgp-exporter intent serve`: one replica per cluster reads Calico's resources from the
// Kubernetes API (LIST + WATCH) and serves each node's expected BGP sessions, the cluster's
// config problems and its own metrics over HTTP(S). Flags -> credentials -> reader -> engine ->
// web server -> signal loop.

#include <string>
#include <vector>

namespace cbe {

// `args` are the words after "intent serve". Exit codes: 0 after SIGTERM/SIGINT (or a valid
// --config.check), 1 when it cannot listen, 2 on a usage, credentials or config error.
int RunIntentServe(const std::vector<std::string>& args);

}  // namespace cbe
