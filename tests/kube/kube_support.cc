#include "tests/kube/kube_support.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "exporter/intent/cli.h"
#include "tests/integration/lab.h"

extern char** environ;

namespace cbe::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::atomic<int> dir_counter{0};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) {
    throw std::runtime_error("cannot write " + path);
  }
}

void Openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  const CommandResult r = RunCommand(argv, std::chrono::seconds(30));
  if (r.exit_code != 0) {
    throw std::runtime_error("openssl " + args.front() + " failed: " + r.err);
  }
}

std::string Base64(const std::string& data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(data[i]) << 16) |
                       (static_cast<unsigned char>(data[i + 1]) << 8) |
                       static_cast<unsigned char>(data[i + 2]);
    for (int s : {18, 12, 6, 0}) {
      out += kAlphabet[(v >> s) & 63];
    }
  }
  if (i < data.size()) {
    unsigned v = static_cast<unsigned char>(data[i]) << 16;
    if (i + 1 < data.size()) {
      v |= static_cast<unsigned char>(data[i + 1]) << 8;
    }
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < data.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::size_t OnBody(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

std::size_t OnHeader(char* data, std::size_t size, std::size_t n, void* user) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(user);
  const std::string line(data, size * n);
  const std::size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t\r\n") + 1);
    (*headers)[name] = value;
  }
  return size * n;
}

// A YAML scalar as Go's YAML 1.1 reader types it: bools, integers, else strings.
Json Scalar(const YAML::Node& n) {
  const std::string& v = n.Scalar();
  if (n.Tag() != "?") {
    return v;  // quoted
  }
  static const std::set<std::string> kTrue = {"y",  "Y",  "yes",  "Yes",  "YES", "on",
                                              "On", "ON", "true", "True", "TRUE"};
  static const std::set<std::string> kFalse = {"n",   "N",   "no",    "No",    "NO",   "off",
                                               "Off", "OFF", "false", "False", "FALSE"};
  if (kTrue.contains(v)) {
    return true;
  }
  if (kFalse.contains(v)) {
    return false;
  }
  static const std::regex kInteger("-?[0-9]+");
  if (std::regex_match(v, kInteger) && v.size() < 18) {
    return std::stoll(v);
  }
  return v;
}

Json ToJson(const YAML::Node& n) {
  if (n.IsMap()) {
    Json o = Json::object();
    for (const auto& kv : n) {
      o[kv.first.Scalar()] = ToJson(kv.second);
    }
    return o;
  }
  if (n.IsSequence()) {
    Json a = Json::array();
    for (const auto& item : n) {
      a.push_back(ToJson(item));
    }
    return a;
  }
  if (n.IsNull()) {
    return nullptr;
  }
  return Scalar(n);
}

// Label and annotation values are strings in the API: true -> "true", 12 -> "12".
Json StringValues(const Json& map) {
  Json out = Json::object();
  for (const auto& [k, v] : map.items()) {
    out[k] = v.is_string() ? v.get<std::string>() : v.dump();
  }
  return out;
}

std::string KindResource(const std::string& kind, bool v3) {
  if (kind == "Node") {
    return v3 ? kV3Nodes : kNodes;
  }
  if (kind == "BGPPeer") {
    return v3 ? kV3Peers : kPeers;
  }
  return v3 ? kV3Configs : kConfigs;
}

// A projectcalico.org/v3 Node as Kubernetes v1 Node: spec.bgp as projectcalico.org/*
// annotations (libcalico-go's Kubernetes backend).
Json ToKubernetesNode(const Json& v3) {
  Json node = {{"apiVersion", "v1"}, {"kind", "Node"}};
  node["metadata"]["name"] = v3["metadata"]["name"];
  if (v3["metadata"].contains("labels")) {
    node["metadata"]["labels"] = v3["metadata"]["labels"];
  }
  const std::pair<const char*, const char*> fields[] = {
      {"ipv4Address", "projectcalico.org/IPv4Address"},
      {"ipv6Address", "projectcalico.org/IPv6Address"},
      {"asNumber", "projectcalico.org/ASNumber"},
      {"routeReflectorClusterID", "projectcalico.org/RouteReflectorClusterID"},
  };
  const Json bgp = v3.contains("spec") && v3["spec"].is_object() && v3["spec"].contains("bgp")
                       ? v3["spec"]["bgp"]
                       : Json::object();
  for (const auto& [field, annotation] : fields) {
    if (bgp.is_object() && bgp.contains(field)) {
      const Json& v = bgp[field];
      node["metadata"]["annotations"][annotation] = v.is_string() ? v.get<std::string>() : v.dump();
    }
  }
  return node;
}

}  // namespace

TempDir::TempDir() {
  path_ = "/tmp/cbk" + std::to_string(::getpid()) + "k" + std::to_string(dir_counter++);
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  const char* keep = std::getenv("CBE_KEEP_LAB_DIR");
  if (keep == nullptr || std::string(keep) != "1") {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
}

TestPki::TestPki(const std::string& dir) {
  ca_cert = dir + "/ca.crt";
  server_cert = dir + "/server.crt";
  server_key = dir + "/server.key";
  client_cert = dir + "/client.crt";
  client_key = dir + "/client.key";
  const std::string ca_key = dir + "/ca.key";
  const std::vector<std::string> ec = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                       "-nodes"};
  std::vector<std::string> ca = {"req",     "-x509", "-days", "2",    "-subj", "/CN=cbe-test-ca",
                                 "-keyout", ca_key,  "-out",  ca_cert};
  ca.insert(ca.begin() + 2, ec.begin(), ec.end());
  Openssl(ca);
  WriteFile(dir + "/server.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  WriteFile(dir + "/client.ext", "extendedKeyUsage=clientAuth\n");
  for (const auto& [name, subject] : {std::pair{"server", "/CN=kube-apiserver"},
                                      std::pair{"client", "/CN=system:serviceaccount:x:intent"}}) {
    const std::string base = dir + "/" + name;
    std::vector<std::string> req = {"req",         "-subj", subject,      "-keyout",
                                    base + ".key", "-out",  base + ".csr"};
    req.insert(req.begin() + 1, ec.begin(), ec.end());
    Openssl(req);
    Openssl({"x509", "-req", "-in", base + ".csr", "-CA", ca_cert, "-CAkey", ca_key,
             "-CAcreateserial", "-days", "2", "-extfile", base + ".ext", "-out", base + ".crt"});
  }
}

Http HttpCall(const std::string& url, const std::vector<std::string>& headers,
              const std::string& ca_file, const std::optional<std::string>& post_body,
              milliseconds timeout) {
  Http out;
  CURL* easy = curl_easy_init();
  curl_slist* list = nullptr;
  for (const std::string& h : headers) {
    list = curl_slist_append(list, h.c_str());
  }
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &out.body);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &out.headers);
  if (!ca_file.empty()) {
    curl_easy_setopt(easy, CURLOPT_CAINFO, ca_file.c_str());
  }
  if (post_body) {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, post_body->c_str());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(post_body->size()));
  }
  if (curl_easy_perform(easy) == CURLE_OK) {
    long code = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    out.status = static_cast<int>(code);
  } else {
    out.error = error;
  }
  curl_slist_free_all(list);
  curl_easy_cleanup(easy);
  return out;
}

Child::Child(const std::vector<std::string>& argv, const std::string& log_file) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> pointers;
  for (const std::string& a : argv) {
    pointers.push_back(const_cast<char*>(a.c_str()));
  }
  pointers.push_back(nullptr);
  const int rc = posix_spawnp(&pid_, argv[0].c_str(), &actions, nullptr, pointers.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  }
}

Child::~Child() { Stop(); }

bool Child::Running() {
  if (pid_ <= 0) {
    return false;
  }
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    status_ = status;
    pid_ = -1;
    return false;
  }
  return true;
}

void Child::Kill(int signal) {
  if (pid_ > 0) {
    ::kill(pid_, signal);
  }
}

void Child::Stop() {
  if (!Running()) {
    return;
  }
  Kill(SIGTERM);
  if (!Eventually(std::chrono::seconds(5), [this] { return !Running(); })) {
    Kill(SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    status_ = status;
    pid_ = -1;
  }
}

bool Eventually(milliseconds deadline, const std::function<bool()>& pred) {
  const auto end = steady_clock::now() + deadline;
  while (true) {
    if (pred()) {
      return true;
    }
    if (steady_clock::now() >= end) {
      return false;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
}

FakeApiServer::FakeApiServer(const TestPki& pki, const std::string& dir, Options options)
    : pki_(pki), dir_(dir), options_(std::move(options)) {
  WriteFile(dir_ + "/seed.json", options_.seed.dump());
  Start();
}

FakeApiServer::~FakeApiServer() { Kill(); }

void FakeApiServer::Start() {
  const std::string port_file = dir_ + "/apiserver.port";
  fs::remove(port_file);
  std::vector<std::string> argv = {"/usr/bin/python3",
                                   std::string(CBE_SOURCE_DIR) + "/tests/kube/fake_apiserver.py",
                                   "--cert",
                                   pki_.server_cert,
                                   "--key",
                                   pki_.server_key,
                                   "--token",
                                   kToken,
                                   "--port-file",
                                   port_file,
                                   "--port",
                                   std::to_string(port_),
                                   "--serve",
                                   options_.serve,
                                   "--state",
                                   dir_ + "/apiserver-state.json",
                                   "--seed",
                                   dir_ + "/seed.json",
                                   "--bookmark-interval",
                                   std::to_string(options_.bookmark_interval),
                                   "--log",
                                   dir_ + "/apiserver-requests.log"};
  if (options_.client_ca) {
    argv.insert(argv.end(), {"--client-ca", pki_.ca_cert});
  }
  child_ = std::make_unique<Child>(argv, dir_ + "/apiserver.log");
  if (!Eventually(std::chrono::seconds(10), [&] { return fs::exists(port_file); })) {
    throw std::runtime_error("fake_apiserver.py did not start: " +
                             ReadFile(dir_ + "/apiserver.log"));
  }
  port_ = std::stoi(ReadFile(port_file));
}

void FakeApiServer::Kill() {
  if (child_) {
    child_->Kill(SIGKILL);
    child_->Stop();
    child_.reset();
  }
}

void FakeApiServer::Restart() {
  Kill();
  Start();
}

Json FakeApiServer::Ops(const Json& ops) {
  const Http r = HttpCall(url() + "/_fake/ops", {"Authorization: Bearer control"}, pki_.ca_cert,
                          ops.dump(), std::chrono::seconds(60));
  if (r.status != 200) {
    throw std::runtime_error("fake ops failed: " + std::to_string(r.status) + " " + r.error + " " +
                             r.body);
  }
  return Json::parse(r.body);
}

Json FakeApiServer::Put(const std::string& resource, const Json& object) {
  return Ops(Json::array({{{"op", "put"}, {"resource", resource}, {"object", object}}}));
}

Json FakeApiServer::Delete(const std::string& resource, const std::string& name) {
  return Ops(Json::array({{{"op", "delete"}, {"resource", resource}, {"name", name}}}));
}

Json FakeApiServer::Config(const Json& settings) {
  Json op = settings;
  op["op"] = "config";
  return Ops(Json::array({op}));
}

Json FakeApiServer::Stats() {
  const Http r = HttpCall(url() + "/_fake/stats", {"Authorization: Bearer control"}, pki_.ca_cert);
  if (r.status != 200) {
    throw std::runtime_error("fake stats failed: " + r.error);
  }
  return Json::parse(r.body);
}

int FakeApiServer::Requests(const std::string& what) {
  const Json s = Stats();
  return s["requests"].value(what, 0);
}

int FakeApiServer::OpenWatches(const std::string& resource) {
  const Json s = Stats();
  return s["open_watches"].value(resource, 0);
}

std::string WriteKubeconfig(const std::string& dir, const TestPki& pki, const std::string& server,
                            bool client_cert) {
  const std::string path = dir + "/kubeconfig";
  std::string user;
  if (client_cert) {
    user = "    client-certificate-data: " + Base64(ReadFile(pki.client_cert)) +
           "\n    client-key-data: " + Base64(ReadFile(pki.client_key)) + "\n";
  } else {
    WriteFile(dir + "/token", std::string(kToken) + "\n");
    user = "    tokenFile: token\n";
  }
  WriteFile(path,
            "apiVersion: v1\nkind: Config\ncurrent-context: test\ncontexts:\n"
            "- name: test\n  context: {cluster: fake, user: intent}\nclusters:\n"
            "- name: fake\n  cluster:\n    server: " +
                server + "\n    certificate-authority: ca.crt\nusers:\n- name: intent\n  user:\n" +
                user);
  return path;
}

IntentServe::IntentServe(const std::string& dir, const std::string& kubeconfig,
                         const std::vector<std::string>& args)
    : log_file_(dir + "/intent-serve.log") {
  fs::remove(log_file_);
  std::vector<std::string> argv = {
      CBE_EXPORTER_PATH,  "intent",   "serve",
      "--kubeconfig",     kubeconfig, "--web.listen-address=127.0.0.1:0",
      "--log.level=debug"};
  argv.insert(argv.end(), args.begin(), args.end());
  child_ = std::make_unique<Child>(argv, log_file_);
  static const std::regex kPorts(R"(ports=(\d+))");
  const bool listening = Eventually(std::chrono::seconds(10), [&] {
    std::smatch m;
    const std::string log = Log();
    if (std::regex_search(log, m, kPorts)) {
      port_ = std::stoi(m[1]);
      return true;
    }
    return !child_->Running();
  });
  if (!listening || port_ == 0) {
    throw std::runtime_error("intent serve did not start listening: " + Log());
  }
}

Http IntentServe::Get(const std::string& path, const std::vector<std::string>& headers) const {
  return HttpCall("http://127.0.0.1:" + std::to_string(port_) + path, headers);
}

std::string IntentServe::Metrics() const { return Get("/metrics").body; }

std::optional<double> IntentServe::Metric(const std::string& name,
                                          const std::map<std::string, std::string>& labels) const {
  return MetricValue(Metrics(), name, labels);
}

std::string IntentServe::Log() const { return ReadFile(log_file_); }

std::vector<ConfdCase> ConfdCases() {
  const fs::path mock = fs::path(CBE_INTENT_CONFD_DIR) / "mock_data" / "calicoctl";
  std::set<std::string> dirs;
  for (const auto& e : fs::recursive_directory_iterator(mock)) {
    if (e.path().filename() == "input.yaml") {
      dirs.insert(fs::relative(e.path().parent_path(), mock).string());
    }
  }
  std::vector<ConfdCase> cases;
  for (const std::string& dir : dirs) {
    ConfdCase c{dir, {}};
    const fs::path parent = fs::path(dir).parent_path();
    if (fs::path(dir).filename().string().starts_with("step") && !parent.empty() &&
        fs::exists(mock / parent / "input.yaml")) {
      c.inputs.push_back((mock / parent / "input.yaml").string());
    }
    c.inputs.push_back((mock / dir / "input.yaml").string());
    cases.push_back(std::move(c));
  }
  return cases;
}

ConfdCase FindConfdCase(const std::string& name) {
  for (ConfdCase& c : ConfdCases()) {
    if (c.name == name) {
      return c;
    }
  }
  throw std::runtime_error("no confd case " + name);
}

Json CaseObjects(const ConfdCase& c, bool v3) {
  std::map<std::string, std::map<std::string, Json>> by_resource;
  for (const char* r :
       v3 ? std::vector{kV3Nodes, kV3Peers, kV3Configs} : std::vector{kNodes, kPeers, kConfigs}) {
    by_resource[r];
  }
  for (const std::string& file : c.inputs) {
    for (const YAML::Node& doc : YAML::LoadAll(ReadFile(file))) {
      if (!doc.IsMap() || !doc["kind"]) {
        continue;
      }
      const std::string kind = doc["kind"].Scalar();
      if (kind != "Node" && kind != "BGPPeer" && kind != "BGPConfiguration") {
        continue;
      }
      Json o = ToJson(doc);
      if (o["metadata"].contains("labels")) {
        o["metadata"]["labels"] = StringValues(o["metadata"]["labels"]);
      }
      if (!v3) {
        o = kind == "Node" ? ToKubernetesNode(o) : o;
        o["apiVersion"] = kind == "Node" ? "v1" : "crd.projectcalico.org/v1";
      }
      by_resource[KindResource(kind, v3)][o["metadata"]["name"].get<std::string>()] = o;
    }
  }
  Json out = Json::object();
  for (const auto& [resource, objects] : by_resource) {
    out[resource] = Json::array();
    for (const auto& [name, o] : objects) {
      out[resource].push_back(o);
    }
  }
  return out;
}

std::optional<Json> ExpectedSessions(const ConfdCase& c, const std::string& node) {
  std::vector<std::string> args = {"sessions", "--node", node, "--output", "json"};
  args.insert(args.end(), c.inputs.begin(), c.inputs.end());
  std::istringstream in;
  std::ostringstream out;
  std::ostringstream err;
  if (intent::RunIntentCommand(args, in, out, err) != 0) {
    return std::nullopt;
  }
  return Json::parse(out.str());
}

Json ReplaceOps(const Json& objects) {
  Json ops = Json::array();
  for (const auto& [resource, list] : objects.items()) {
    ops.push_back({{"op", "replace"}, {"resource", resource}, {"objects", list}});
  }
  return ops;
}

}  // namespace cbe::testing
