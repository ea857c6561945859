// The exporter itself: its build and the state of its config file.

#include <string>

#include "exporter/base/version.h"
#include "exporter/metrics/exposition.h"
#include "exporter/metrics/families.h"

namespace cbe {

std::string CompilerName() {
#if defined(__clang__)
  return "clang-" +
         std::string(__clang_version__).substr(0, std::string(__clang_version__).find(' '));
#elif defined(__GNUC__)
  return "gcc-" + std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) + "." +
         std::to_string(__GNUC_PATCHLEVEL__);
#else
  return "unknown";
#endif
}

namespace metrics {

void AddBuildInfo(Families& families) {
  families
      .Add("calico_bgp_exporter_build_info",
           "Version, revision and compiler of calico-bgp-exporter; always 1.")
      .Add({{"version", kVersion}, {"revision", kRevision}, {"compiler", CompilerName()}}, 1);
}

void AddConfigFamilies(const ConfigStatus* config, Families& families) {
  Family& successful =
      families.Add("calico_bgp_config_last_reload_successful",
                   "1 if the last load of the config file (at start or on SIGHUP) succeeded.");
  Family& success_timestamp =
      families.Add("calico_bgp_config_last_reload_success_timestamp_seconds",
                   "Unix time of the last successful load of the config file.");
  if (config != nullptr) {
    successful.Add({}, config->last_reload_successful ? 1 : 0);
    success_timestamp.Add({}, config->last_reload_success_timestamp);
  }
}

}  // namespace metrics
}  // namespace cbe
