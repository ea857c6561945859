#pragma once

// Helpers for the tests of `intent serve` against the Kubernetes API test server
// (fake_apiserver.py): a test PKI made with openssl, the server and the exporter as child
// processes, an HTTP(S) client (libcurl), and confd's suite as API objects. No root needed:
// everything listens on 127.0.0.1 ports the kernel picks.
//
// Compile definitions: CBE_SOURCE_DIR, CBE_EXPORTER_PATH (as tests/integration/lab.h) and
// CBE_INTENT_CONFD_DIR (confd's tests, extracted by tests/unit/intent/CMakeLists.txt).

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace cbe::testing {

using Json = nlohmann::json;

// A fresh directory under /tmp, removed by the destructor (kept with CBE_KEEP_LAB_DIR=1).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A CA, a server certificate for 127.0.0.1 and localhost, and a client certificate, all made
// by `openssl` in `dir`.
struct TestPki {
  explicit TestPki(const std::string& dir);
  std::string ca_cert, server_cert, server_key, client_cert, client_key;
};

struct Http {
  int status = 0;  // 0: no answer (error says why)
  std::string error;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

// GET (or POST with `post_body`) `url`; `ca_file` verifies an https server.
Http HttpCall(const std::string& url, const std::vector<std::string>& headers = {},
              const std::string& ca_file = "", const std::optional<std::string>& post_body = {},
              std::chrono::milliseconds timeout = std::chrono::seconds(10));

// A child process with stdout and stderr to `log_file`; the destructor stops it (SIGTERM,
// SIGKILL after 5 s).
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& log_file);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  bool Running();  // false once it exited (reaped)
  void Kill(int signal);
  void Stop();  // SIGTERM, SIGKILL after 5 s; waits
  int exit_status() const { return status_; }

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

// Polls `pred` every 20 ms until it holds (true) or `deadline` passed (false).
bool Eventually(std::chrono::milliseconds deadline, const std::function<bool()>& pred);

// The API resources of fake_apiserver.py.
inline constexpr const char* kNodes = "v1/nodes";
inline constexpr const char* kPeers = "crd.projectcalico.org/v1/bgppeers";
inline constexpr const char* kConfigs = "crd.projectcalico.org/v1/bgpconfigurations";
inline constexpr const char* kV3Nodes = "projectcalico.org/v3/nodes";
inline constexpr const char* kV3Peers = "projectcalico.org/v3/bgppeers";
inline constexpr const char* kV3Configs = "projectcalico.org/v3/bgpconfigurations";
inline constexpr const char* kToken = "intent-test-token";

class FakeApiServer {
 public:
  struct Options {
    std::string serve = "crd";       // "crd", "v3", "crd,v3"
    double bookmark_interval = 1.0;  // seconds; 0: none
    Json seed = Json::object();      // {"v1/nodes": [...], ...}
    bool client_ca = false;          // accept client certificates of the test CA
  };
  FakeApiServer(const TestPki& pki, const std::string& dir, Options options);
  ~FakeApiServer();

  // Kills the server (SIGKILL) and starts it again on the same port with its saved state.
  void Restart();
  void Kill();
  void Start();
  int port() const { return port_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }

  // POST /_fake/ops; throws unless 200.
  Json Ops(const Json& ops);
  Json Put(const std::string& resource, const Json& object);
  Json Delete(const std::string& resource, const std::string& name);
  Json Config(const Json& settings);  // {"op": "config", ...settings}
  Json Stats();
  // requests["<what>"] of the stats, e.g. "list v1/nodes" (0 when absent).
  int Requests(const std::string& what);
  int OpenWatches(const std::string& resource);

 private:
  const TestPki& pki_;
  std::string dir_;
  Options options_;
  int port_ = 0;
  std::unique_ptr<Child> child_;
};

// A kubeconfig for `server` in `dir`, with the test CA and a token file (or the client
// certificate, as *-data fields, when `client_cert`). Returns its path.
std::string WriteKubeconfig(const std::string& dir, const TestPki& pki, const std::string& server,
                            bool client_cert = false);

// `calico-bgp-exporter intent serve --kubeconfig K --web.listen-address=127.0.0.1:0 ARGS`,
// logging to DIR/intent-serve.log; the constructor waits until it listens.
class IntentServe {
 public:
  IntentServe(const std::string& dir, const std::string& kubeconfig,
              const std::vector<std::string>& args = {});
  int port() const { return port_; }
  Http Get(const std::string& path, const std::vector<std::string>& headers = {}) const;
  std::string Metrics() const;
  // A metric's value on /metrics (nullopt when absent).
  std::optional<double> Metric(const std::string& name,
                               const std::map<std::string, std::string>& labels = {}) const;
  std::string Log() const;
  bool Running() { return child_->Running(); }
  void Stop() { child_->Stop(); }

 private:
  std::string log_file_;
  std::unique_ptr<Child> child_;
  int port_ = 0;
};

// One case of confd's suite: mock_data/calicoctl/<name>/input.yaml, after its parent's input for
// a stepN case.
struct ConfdCase {
  std::string name;
  std::vector<std::string> inputs;
};
std::vector<ConfdCase> ConfdCases();
ConfdCase FindConfdCase(const std::string& name);

// The objects of `c` as the API serves them, by resource: the Kubernetes-datastore form (v1
// Nodes with projectcalico.org/* annotations, crd.projectcalico.org/v1 BGPPeers and
// BGPConfigurations), or projectcalico.org/v3 as calicoctl wrote them. Every resource key is
// present (maybe empty); kinds other than Node, BGPPeer and BGPConfiguration are left out.
Json CaseObjects(const ConfdCase& c, bool v3);

// `intent sessions --node NODE --output json` of the case's files, run in this process: the
// engine on the files, to compare the served answer with. nullopt when the command fails (the
// node is not in the case).
std::optional<Json> ExpectedSessions(const ConfdCase& c, const std::string& node);

// Ops that make the server hold exactly `objects` (CaseObjects' form) in the given resources.
Json ReplaceOps(const Json& objects);

}  // namespace cbe::testing
