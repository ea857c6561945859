// confd's own template suite as the oracle (calico-confd-tests-87c1590.tar.gz, extracted into the
// build folder): for every case, the sessions the engine computes for node kube-master must be
// the `protocol bgp` blocks confd rendered into compiled_templates/<case>/bird.cfg and bird6.cfg
// (name, neighbour address and port, neighbour AS, local AS, passive, RR client). The golden
// files are parsed here; cases that cannot be compared are listed with the reason.

#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "exporter/intent/cli.h"
#include "exporter/intent/resources.h"
#include "exporter/intent/session_json.h"
#include "exporter/intent/sessions.h"

namespace {

namespace fs = std::filesystem;
using namespace cbe::intent;

const fs::path kSuite = CBE_INTENT_CONFD_DIR;
const char* const kNode = "kube-master";  // the node confd rendered the golden files for

// Golden cases the engine is not compared on, and why. Every entry must name an existing
// compiled_templates folder (checked below), and every folder must be compared or listed here.
// The mesh/hash case (CALICO_ROUTER_ID=hash) and static-routes-no-ipv4-address
// (CALICO_ROUTER_ID=10.10.10.10) are compared: the router ID changes no session.
const std::map<std::string, std::string> kExclusions = {
    {"explicit_peering/local_bgp_peer",
     "Local_Workload_ peers come from live workload endpoints (local_bgp_peer_watcher.go), not "
     "from resources"},
    {"bgpfilter/filter_deletion/step1", "steps are applied by Go test code not in the tarball"},
    {"bgpfilter/filter_deletion/step2", "steps are applied by Go test code not in the tarball"},
    {"bgpfilter/node_mesh/priority1", "steps are applied by Go test code not in the tarball"},
    {"bgpfilter/node_mesh/priority2", "steps are applied by Go test code not in the tarball"},
    {"bgpfilter/node_mesh/priority3", "steps are applied by Go test code not in the tarball"},
    {"mesh/password/step1", "steps (secrets) are applied by Go test code not in the tarball"},
    {"mesh/password/step2", "steps (secrets) are applied by Go test code not in the tarball"},
    {"mesh/password/step3", "steps (secrets) are applied by Go test code not in the tarball"},
    {"mesh/restart-time/pcr-disabled", "variants set by Go test code not in the tarball"},
    {"mesh/restart-time/pcr-enabled", "variants set by Go test code not in the tarball"},
    {"mesh/restart-time/pcr-ipip-only", "variants set by Go test code not in the tarball"},
    {"password-deadlock", "no input in mock_data: built by Go test code not in the tarball"},
    {"password/step1", "steps (secrets) are applied by Go test code not in the tarball"},
    {"password/step2", "steps (secrets) are applied by Go test code not in the tarball"},
    {"password/step3", "steps (secrets) are applied by Go test code not in the tarball"},
    {"password/step4", "steps (secrets) are applied by Go test code not in the tarball"},
    {"password/step5", "steps (secrets) are applied by Go test code not in the tarball"},
    {"password/step6", "steps (secrets) are applied by Go test code not in the tarball"},
    {"sourceaddr_gracefulrestart/step1", "steps are applied by Go test code not in the tarball"},
    {"sourceaddr_gracefulrestart/step2", "steps are applied by Go test code not in the tarball"},
    {"sourceaddr_gracefulrestart/step3", "steps are applied by Go test code not in the tarball"},
};

struct GoldenSession {
  std::string protocol;
  std::string address;
  unsigned port = 0;
  unsigned long as = 0;
  unsigned long local_as = 0;
  bool passive = false;
  bool rr_client = false;
  auto operator<=>(const GoldenSession&) const = default;
};

std::ostream& operator<<(std::ostream& o, const GoldenSession& s) {
  return o << s.protocol << " " << s.address << " port " << s.port << " as " << s.as << " local "
           << s.local_as << (s.passive ? " passive" : "") << (s.rr_client ? " rr-client" : "");
}

std::string ReadFile(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  REQUIRE(f.good());
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The `template bgp` and `protocol bgp NAME from TEMPLATE` blocks of a BIRD config, statements at
// the block's own level only (filters nest deeper), templates inherited.
std::vector<GoldenSession> ParseBirdConfig(const std::string& text) {
  static const std::regex kBlock(R"(^(template|protocol) bgp (\S+)(?: from (\S+))? \{)");
  static const std::regex kLocalAs(R"(^\s*local as (\d+);)");
  static const std::regex kNeighbor(R"(^\s*neighbor (\S+)(?: port (\d+))? as (\d+);)");
  std::map<std::string, GoldenSession> templates;
  std::vector<GoldenSession> out;
  GoldenSession cur;
  bool in_template = false;
  int depth = 0;
  std::istringstream in(text);
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (depth == 0 && std::regex_search(line, m, kBlock)) {
      in_template = m[1] == "template";
      cur = m[3].matched ? templates.at(m[3]) : GoldenSession{};
      cur.protocol = m[2];
      depth = 1;
      continue;
    }
    if (depth == 1) {
      if (std::regex_search(line, m, kLocalAs)) {
        cur.local_as = std::stoul(m[1]);
      } else if (std::regex_search(line, m, kNeighbor)) {
        cur.address = m[1];
        cur.port = m[2].matched ? std::stoul(m[2]) : 0;
        cur.as = std::stoul(m[3]);
      } else if (line.find("passive on;") != std::string::npos) {
        cur.passive = true;
      } else if (line.find("rr client;") != std::string::npos) {
        cur.rr_client = true;
      }
    }
    if (depth > 0) {
      for (char c : line) {
        depth += c == '{' ? 1 : c == '}' ? -1 : 0;
      }
      if (depth == 0) {
        if (in_template) {
          templates[cur.protocol] = cur;
        } else {
          out.push_back(cur);
        }
      }
    }
  }
  return out;
}

std::vector<GoldenSession> Golden(const std::string& dir) {
  std::vector<GoldenSession> all;
  for (const char* file : {"bird.cfg", "bird6.cfg"}) {
    const fs::path p = kSuite / "compiled_templates" / dir / file;
    if (fs::exists(p)) {
      for (GoldenSession& s : ParseBirdConfig(ReadFile(p))) {
        all.push_back(std::move(s));
      }
    }
  }
  std::sort(all.begin(), all.end());
  return all;
}

GoldenSession FromSession(const Session& s) {
  return {s.protocol, s.neighbor_address, s.neighbor_port, s.neighbor_as,
          s.local_as, s.passive,          s.rr_client};
}

struct Case {
  std::string dir;               // under compiled_templates/
  std::vector<fs::path> inputs;  // applied in order
};

// Every golden folder with its inputs: mock_data/calicoctl/<dir>/input.yaml, and for a stepN
// folder its parent's input first (a step updates the resources of the step before).
std::vector<Case> DiscoverCases(std::vector<std::string>& unexplained) {
  std::vector<Case> cases;
  const fs::path golden = kSuite / "compiled_templates";
  const fs::path mock = kSuite / "mock_data" / "calicoctl";
  std::set<std::string> dirs;
  for (const auto& e : fs::recursive_directory_iterator(golden)) {
    if (e.path().filename() == "bird.cfg") {
      dirs.insert(fs::relative(e.path().parent_path(), golden).string());
    }
  }
  for (const std::string& dir : dirs) {
    if (kExclusions.contains(dir)) {
      continue;
    }
    Case c{dir, {}};
    const fs::path input = mock / dir / "input.yaml";
    const fs::path parent = fs::path(dir).parent_path();
    if (fs::path(dir).filename().string().starts_with("step") && !parent.empty() &&
        fs::exists(mock / parent / "input.yaml")) {
      c.inputs.push_back(mock / parent / "input.yaml");
    }
    if (!fs::exists(input)) {
      unexplained.push_back(dir);
      continue;
    }
    c.inputs.push_back(input);
    cases.push_back(std::move(c));
  }
  return cases;
}

std::vector<GoldenSession> EngineSessions(const std::vector<std::string>& texts,
                                          const std::vector<std::string>& names) {
  Cluster cluster;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const std::vector<LoadError> errors = AddDocuments(texts[i], names[i], cluster);
    for (const LoadError& e : errors) {
      UNSCOPED_INFO(e.Format());
    }
    CHECK(errors.empty());
  }
  const PeeringModel model(std::move(cluster));
  const NodeSessions ns = model.SessionsFor(kNode);
  CHECK(ns.error == "");
  // What intent serve answers reads back to the same sessions (the node exporter's side).
  const std::string answer = NodeSessionsJson(kNode, ns.sessions);
  std::string node;
  const auto read_back = ParseNodeSessionsJson(answer, &node);
  REQUIRE(read_back.ok());
  CHECK(node == kNode);
  CHECK(NodeSessionsJson(node, *read_back) == answer);
  std::vector<GoldenSession> out;
  for (const Session& s : ns.sessions) {
    out.push_back(FromSession(s));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string Show(const std::vector<GoldenSession>& v) {
  std::ostringstream o;
  for (const GoldenSession& s : v) {
    o << "  " << s << "\n";
  }
  return o.str();
}

// Runs `compute` on every case and requires all equal; prints k of N.
template <typename Compute>
void RunSuite(const char* what, Compute compute) {
  std::vector<std::string> unexplained;
  const std::vector<Case> cases = DiscoverCases(unexplained);
  for (const std::string& dir : unexplained) {
    UNSCOPED_INFO("golden folder " << dir << " has no input and no exclusion reason");
  }
  CHECK(unexplained.empty());
  for (const auto& [dir, why] : kExclusions) {
    INFO("exclusion names no golden folder: " << dir);
    CHECK(fs::exists(kSuite / "compiled_templates" / dir / "bird.cfg"));
  }
  REQUIRE(cases.size() >= 60);
  int equal = 0;
  for (const Case& c : cases) {
    const std::vector<GoldenSession> want = Golden(c.dir);
    const std::vector<GoldenSession> got = compute(c);
    INFO("case " << c.dir << "\nexpected (golden):\n" << Show(want) << "engine:\n" << Show(got));
    CHECK(got == want);
    equal += got == want ? 1 : 0;
  }
  std::cout << "confd suite (" << what << "): " << equal << " of " << cases.size()
            << " cases equal; " << kExclusions.size() << " golden folders excluded\n";
  REQUIRE(equal == static_cast<int>(cases.size()));
}

// The same resources in the Kubernetes-datastore form: BGPPeer and BGPConfiguration as
// crd.projectcalico.org/v1, Nodes as Kubernetes v1 Nodes with projectcalico.org/* annotations,
// all wrapped in one `kind: List` per file as `kubectl get -o yaml` prints them.
std::string ToKubernetesDatastore(const std::string& v3_text) {
  YAML::Node list;
  list["apiVersion"] = "v1";
  list["kind"] = "List";
  list["items"] = YAML::Node(YAML::NodeType::Sequence);
  for (YAML::Node doc : YAML::LoadAll(v3_text)) {
    if (!doc.IsMap()) {
      continue;
    }
    const std::string kind = doc["kind"].as<std::string>();
    if (kind == "BGPPeer" || kind == "BGPConfiguration") {
      doc["apiVersion"] = "crd.projectcalico.org/v1";
    } else if (kind == "Node") {
      YAML::Node node;
      node["apiVersion"] = "v1";
      node["kind"] = "Node";
      node["metadata"]["name"] = doc["metadata"]["name"];
      if (doc["metadata"]["labels"]) {
        node["metadata"]["labels"] = doc["metadata"]["labels"];
      }
      const YAML::Node bgp = doc["spec"]["bgp"];
      const std::pair<const char*, const char*> fields[] = {
          {"ipv4Address", "projectcalico.org/IPv4Address"},
          {"ipv6Address", "projectcalico.org/IPv6Address"},
          {"asNumber", "projectcalico.org/ASNumber"},
          {"routeReflectorClusterID", "projectcalico.org/RouteReflectorClusterID"},
      };
      for (const auto& [field, annotation] : fields) {
        if (bgp && bgp[field]) {
          node["metadata"]["annotations"][annotation] = bgp[field].as<std::string>();
        }
      }
      doc = node;
    }
    list["items"].push_back(doc);
  }
  YAML::Emitter e;
  e << list;
  return e.c_str();
}

TEST_CASE("intent answers that do not read back are errors naming the field", "[unit][intent]") {
  std::string node;
  CHECK(ParseNodeSessionsJson("{", &node).error().message == "not JSON");
  CHECK(ParseNodeSessionsJson("[]", &node).error().message == "node: expected a string");
  CHECK(ParseNodeSessionsJson(R"({"node":"a"})", &node).error().message ==
        "sessions: expected a list");
  CHECK(ParseNodeSessionsJson(R"({"node":"a","sessions":[1]})", &node).error().message ==
        "sessions[0]: expected an object");
  CHECK(ParseNodeSessionsJson(R"({"node":"a","sessions":[{"protocol":"Mesh_x"}]})", &node)
            .error()
            .message == "sessions[0].family: missing");
  Session s;
  s.protocol = "Mesh_10_0_0_1";
  s.neighbor_address = "10.0.0.1";
  std::string text = NodeSessionsJson("a", {s});
  const std::string as = "\"neighbor_as\":0";
  text.replace(text.find(as), as.size(), "\"neighbor_as\":-1");
  CHECK(ParseNodeSessionsJson(text, &node).error().message ==
        "sessions[0].neighbor_as: expected a number in range");
  const auto empty = ParseNodeSessionsJson(R"({"node":"b","sessions":[]})", &node);
  REQUIRE(empty.ok());
  CHECK(empty->empty());
  CHECK(node == "b");
}

TEST_CASE("golden parser reads protocol blocks and their template", "[unit][intent]") {
  const std::vector<GoldenSession> s = ParseBirdConfig(
      "template bgp bgp_template {\n  local as 64512;\n}\n"
      "protocol bgp Mesh_10_0_0_3 from bgp_template {\n  neighbor 10.0.0.3 port 179 as 64513;\n"
      "  export filter {\n    local as 1;\n  };\n  passive on;\n  rr client;\n}\n");
  REQUIRE(s.size() == 1);
  CHECK(s[0] == GoldenSession{"Mesh_10_0_0_3", "10.0.0.3", 179, 64513, 64512, true, true});
}

TEST_CASE("confd suite: v3 resources give confd's sessions for kube-master", "[unit][intent]") {
  RunSuite("projectcalico.org/v3 input", [](const Case& c) {
    std::vector<std::string> texts;
    std::vector<std::string> names;
    for (const fs::path& p : c.inputs) {
      texts.push_back(ReadFile(p));
      names.push_back(p.string());
    }
    return EngineSessions(texts, names);
  });
}

TEST_CASE("confd suite: the Kubernetes-datastore form gives the same sessions", "[unit][intent]") {
  RunSuite("Kubernetes-datastore form", [](const Case& c) {
    std::vector<std::string> texts;
    std::vector<std::string> names;
    for (const fs::path& p : c.inputs) {
      texts.push_back(ToKubernetesDatastore(ReadFile(p)));
      names.push_back(p.string() + " (as Kubernetes datastore)");
    }
    return EngineSessions(texts, names);
  });
}

TEST_CASE("confd suite: `intent sessions --output json` matches the golden files",
          "[unit][intent]") {
  RunSuite("intent sessions --output json", [](const Case& c) {
    std::vector<std::string> args = {"sessions", "--node", kNode, "--output", "json"};
    for (const fs::path& p : c.inputs) {
      args.push_back(p.string());
    }
    std::istringstream in;
    std::ostringstream out;
    std::ostringstream err;
    const int rc = RunIntentCommand(args, in, out, err);
    INFO(err.str());
    CHECK(rc == 0);
    std::vector<GoldenSession> got;
    const nlohmann::json j = nlohmann::json::parse(out.str());
    for (const nlohmann::json& s : j) {
      for (const char* key : {"protocol", "neighbor_address", "neighbor_port", "neighbor_as",
                              "local_as", "passive", "rr_client", "peer_type", "source"}) {
        CHECK(s.contains(key));
      }
      const unsigned port = s.at("neighbor_port").get<unsigned>();
      got.push_back({s.at("protocol"), s.at("neighbor_address"), port == 179 ? 0 : port,
                     s.at("neighbor_as"), s.at("local_as"), s.at("passive"), s.at("rr_client")});
    }
    std::sort(got.begin(), got.end());
    return got;
  });
}

TEST_CASE("intent sessions reads standard input for '-'", "[unit][intent]") {
  const fs::path input = kSuite / "mock_data/calicoctl/explicit_peering/route_reflector/input.yaml";
  std::istringstream in(ReadFile(input));
  std::ostringstream out;
  std::ostringstream err;
  REQUIRE(RunIntentCommand({"sessions", "--node", kNode, "-"}, in, out, err) == 0);
  CHECK(out.str().find("Node_10_192_0_3") != std::string::npos);
  CHECK(out.str().find("PROTOCOL") == 0);  // the table
}

}  // namespace
