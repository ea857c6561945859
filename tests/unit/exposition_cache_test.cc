#include "exporter/metrics/exposition_cache.h"

#include <catch2/catch.hpp>
#include <string>

#include "exporter/metrics/exposition.h"

namespace cbe {
namespace {

std::shared_ptr<const BirdSnapshot> BirdWithPeers(int n) {
  auto b = std::make_shared<BirdSnapshot>();
  DaemonSnapshot d;
  d.daemon = "bird";
  d.socket = "/var/run/calico/bird.ctl";
  d.up = true;
  d.version = "2.0.12";
  for (int i = 0; i < n; ++i) {
    PeerSnapshot p;
    p.protocol = "Mesh_10_0_" + std::to_string(i / 250) + "_" + std::to_string(i % 250);
    p.peer = "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250);
    p.peer_type = "node_mesh";
    p.state = i % 2 == 0 ? "Established" : "Active";
    p.protocol_state = i % 2 == 0 ? "up" : "start";
    p.up = i % 2 == 0;
    d.peers.push_back(p);
  }
  b->daemons.push_back(d);
  b->run = ProbeRun{"bird", true, 0.01, 1795668522};
  return b;
}

std::string Inflated(std::string_view gzip) {
  std::string out;
  REQUIRE(GzipInflate(gzip, [&](std::string_view chunk) {
    CHECK(chunk.size() <= 64 * 1024);
    out += chunk;
    return true;
  }));
  return out;
}

TEST_CASE("exposition cache: one rendering per snapshot, kept as gzip only", "[unit]") {
  SnapshotStore store;
  store.Publish(&Snapshot::bird, BirdWithPeers(2000));
  ExpositionCache cache(&store);

  const auto first = cache.Get();
  const std::string text = SerializeSnapshot(*store.Get());
  REQUIRE(text.size() > 200'000);  // Several inflate chunks.
  CHECK(first->text.empty());
  CHECK(first->text_size == text.size());
  CHECK(first->gzip.size() < text.size() / 8);
  CHECK(Inflated(first->gzip) == text);
  std::string written;
  CHECK(first->WriteText([&](std::string_view chunk) {
    written += chunk;
    return true;
  }));
  CHECK(written == text);

  CHECK(cache.Get() == first);  // Nothing published: the same bytes.

  store.Publish(&Snapshot::bird, BirdWithPeers(3));
  const auto second = cache.Get();
  CHECK(second != first);
  CHECK(Inflated(second->gzip) == SerializeSnapshot(*store.Get()));
  CHECK(second->text_size < first->text_size);
}

TEST_CASE("exposition cache: a write that fails stops the text", "[unit]") {
  SnapshotStore store;
  store.Publish(&Snapshot::bird, BirdWithPeers(2000));
  ExpositionCache cache(&store);
  int calls = 0;
  CHECK_FALSE(cache.Get()->WriteText([&](std::string_view) { return ++calls < 2; }));
  CHECK(calls == 2);
}

TEST_CASE("gzip: round trip, and truncated or foreign input is refused", "[unit]") {
  std::string data;
  for (int i = 0; i < 50'000; ++i) {
    data += "calico_bgp_peer_up{peer=\"10.0.0." + std::to_string(i % 251) + "\"} 1\n";
  }
  const std::string gz = GzipCompress(data);
  REQUIRE(gz.size() > 20);
  CHECK(gz.capacity() < data.size() / 4);  // Not the worst-case buffer it was made in.
  CHECK(Inflated(gz) == data);

  const auto ignore = [](std::string_view) { return true; };
  CHECK_FALSE(GzipInflate(gz.substr(0, gz.size() / 2), ignore));
  CHECK_FALSE(GzipInflate(gz.substr(0, gz.size() - 4), ignore));  // Trailer cut.
  CHECK_FALSE(GzipInflate("not gzip at all", ignore));
  CHECK_FALSE(GzipInflate("", ignore));
  CHECK(Inflated(GzipCompress("")).empty());

  GzipStream pieces;
  for (std::size_t at = 0; at < data.size(); at += 1000) {
    pieces.Write(std::string_view(data).substr(at, 1000));
  }
  CHECK(Inflated(pieces.Finish()) == data);
}

}  // namespace
}  // namespace cbe
