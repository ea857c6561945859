// SIGHUP: the config file is re-read; a broken one is logged and the running config kept.

#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "lab.h"

namespace cbe::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kProbesOff =
    "probes:\n  tcp: {enabled: false}\n  icmp: {enabled: false}\n  mtu: {enabled: false}\n"
    "  listener: {enabled: false}\nclock: {chrony: {enabled: false}, "
    "peer_offset: {enabled: false}}\n";

TEST_CASE("reload: SIGHUP applies a new config and keeps the old one when broken",
          "[integration][reload]") {
  char tmpl[] = "/tmp/cbe-reload-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  const std::string config = dir + "/config.yml";
  const auto write = [&](const std::string& text) { std::ofstream(config) << text; };
  write("bird:\n  sockets: [" + dir + "/first.ctl]\n  interval: 200ms\n  timeout: 100ms\n" +
        kProbesOff);
  ExporterProcess exporter("", config, 19850, dir + "/exporter.log");
  REQUIRE(exporter.WaitReady(10s));
  const auto value = [&](const std::string& name, const std::map<std::string, std::string>& l) {
    return MetricValue(exporter.Get("/metrics"), name, l);
  };
  CHECK(PollUntil(5s, [&] { return value("calico_bgp_bird_up", {{"daemon", "first"}}) == 0.0; }));
  CHECK(value("calico_bgp_config_last_reload_successful", {}) == 1.0);

  write("bird:\n  intervall: 5s\n");
  REQUIRE(::kill(exporter.Pid(), SIGHUP) == 0);
  CHECK(
      PollUntil(5s, [&] { return value("calico_bgp_config_last_reload_successful", {}) == 0.0; }));
  CHECK(exporter.LogTail().find("bird.intervall: unknown key") != std::string::npos);
  CHECK(value("calico_bgp_bird_up", {{"daemon", "first"}}) == 0.0);  // The old config runs on.

  write("bird:\n  sockets: [" + dir + "/second.ctl]\n  interval: 200ms\n  timeout: 100ms\n" +
        kProbesOff);
  REQUIRE(::kill(exporter.Pid(), SIGHUP) == 0);
  CHECK(PollUntil(5s, [&] {
    return value("calico_bgp_config_last_reload_successful", {}) == 1.0 &&
           value("calico_bgp_bird_up", {{"daemon", "second"}}) == 0.0 &&
           !value("calico_bgp_bird_up", {{"daemon", "first"}}).has_value();
  }));
  CHECK(exporter.Running());
  CHECK(exporter.Stop() == 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cbe::testing
