#include "exporter/kube/reader.h"

#include "exporter/base/logging.h"

namespace cbe::kube {
namespace {

constexpr const char* kCrdGroupVersion = "crd.projectcalico.org/v1";
constexpr const char* kV3GroupVersion = "projectcalico.org/v3";

bool Serves(const std::optional<std::set<std::string>>& resources,
            std::initializer_list<const char*> names) {
  if (!resources) {
    return false;
  }
  for (const char* n : names) {
    if (!resources->contains(n)) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string_view ApiModeName(ApiMode m) {
  return m == ApiMode::kKubernetesDatastore ? "kubernetes-datastore" : "calico-apiserver";
}

std::vector<ResourceType> ResourcesOf(ApiMode m) {
  if (m == ApiMode::kKubernetesDatastore) {
    return {{"v1", "nodes", "Node"},
            {kCrdGroupVersion, "bgppeers", "BGPPeer"},
            {kCrdGroupVersion, "bgpconfigurations", "BGPConfiguration"}};
  }
  return {{kV3GroupVersion, "nodes", "Node"},
          {kV3GroupVersion, "bgppeers", "BGPPeer"},
          {kV3GroupVersion, "bgpconfigurations", "BGPConfiguration"}};
}

Result<ApiMode> ChooseApi(const std::set<std::string>& group_versions,
                          const std::optional<std::set<std::string>>& crd_resources,
                          const std::optional<std::set<std::string>>& v3_resources) {
  if (group_versions.contains(kCrdGroupVersion) &&
      Serves(crd_resources, {"bgppeers", "bgpconfigurations"})) {
    return ApiMode::kKubernetesDatastore;
  }
  if (group_versions.contains(kV3GroupVersion) &&
      Serves(v3_resources, {"nodes", "bgppeers", "bgpconfigurations"})) {
    return ApiMode::kCalicoApiServer;
  }
  return Error{
      "the API serves neither crd.projectcalico.org/v1 bgppeers and bgpconfigurations "
      "(Calico's Kubernetes datastore) nor projectcalico.org/v3 nodes, bgppeers and "
      "bgpconfigurations (Calico's API server): is Calico installed?"};
}

ClusterReader::ClusterReader(ReaderOptions options, HttpClientFactory* http, TokenSource token,
                             const Clock* clock, std::function<double()> random01,
                             std::function<void()> changed)
    : options_(options),
      http_(http),
      token_(std::move(token)),
      clock_(clock),
      random01_(std::move(random01)),
      changed_(std::move(changed)) {}

ClusterReader::~ClusterReader() { Stop(); }

void ClusterReader::Start() {
  discovery_thread_ = std::thread([this] { Run(); });
}

void ClusterReader::Stop() {
  {
    std::lock_guard lock(wait_mu_);
    stop_ = true;
  }
  wait_cv_.notify_all();
  if (discovery_thread_.joinable()) {
    discovery_thread_.join();
  }
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    for (auto& r : reflectors_) {
      r->Stop();
    }
    threads.swap(threads_);
  }
  for (std::thread& t : threads) {
    t.join();
  }
}

bool ClusterReader::Wait(std::chrono::milliseconds delay) {
  std::unique_lock lock(wait_mu_);
  clock_->WaitUntil(lock, wait_cv_, clock_->Monotonic() + delay, [this] { return stop_.load(); });
  return !stop_;
}

Result<std::string> ClusterReader::GetBody(HttpClient& http, const std::string& path,
                                           bool not_found_ok, bool& not_found) {
  Result<std::string> token = token_ ? token_() : Result<std::string>(std::string());
  if (!token) {
    return Error{token.error().message};
  }
  std::string body;
  HttpRequest request;
  request.path_and_query = path;
  request.bearer_token = *token;
  request.response_timeout = options_.reflector.request_timeout;
  request.idle_timeout = options_.reflector.request_timeout;
  request.total_timeout = options_.reflector.request_timeout * 2;
  request.on_body = [&body](std::string_view chunk) {
    body.append(chunk);
    return body.size() < (std::size_t{16} << 20);
  };
  {
    std::lock_guard lock(mu_);
    ++discovery_requests_;
  }
  const HttpResponse r = http.Get(request);
  not_found = r.status == 404 && !r.error;
  if (not_found && not_found_ok) {
    return std::string();
  }
  ErrorKind kind = ErrorKind::kHttp;
  std::string message;
  if (r.error) {
    kind = *r.error;
    message = "GET " + path + ": " + r.message;
  } else if (r.status != 200) {
    const Status s = DecodeStatus(r.error_body, r.status);
    kind = KindOfStatus(r.status);
    message = "GET " + path + ": HTTP " + std::to_string(r.status) + " " + s.message;
  } else {
    return body;
  }
  std::lock_guard lock(mu_);
  ++discovery_errors_[static_cast<std::size_t>(kind)];
  return Error{std::string(ErrorKindName(kind)) + ": " + message};
}

Result<ApiMode> ClusterReader::Discover(HttpClient& http) {
  bool not_found = false;
  Result<std::string> apis = GetBody(http, "/apis", false, not_found);
  if (!apis) {
    return apis.error();
  }
  Result<std::set<std::string>> gvs = DecodeGroupVersions(*apis);
  if (!gvs) {
    return Error{"GET /apis: " + gvs.error().message};
  }
  std::optional<std::set<std::string>> served[2];
  const char* group_versions[2] = {kCrdGroupVersion, kV3GroupVersion};
  for (int i = 0; i < 2; ++i) {
    if (!gvs->contains(group_versions[i]) || (i == 1 && served[0])) {
      continue;  // not served, or the Kubernetes datastore is enough
    }
    Result<std::string> body =
        GetBody(http, std::string("/apis/") + group_versions[i], true, not_found);
    if (!body) {
      return body.error();
    }
    if (!not_found) {
      Result<std::set<std::string>> names = DecodeResourceNames(*body);
      if (!names) {
        return Error{std::string("GET /apis/") + group_versions[i] + ": " + names.error().message};
      }
      served[i] = std::move(*names);
    }
    if (i == 0 && !Serves(served[0], {"bgppeers", "bgpconfigurations"})) {
      served[0].reset();
    }
  }
  return ChooseApi(*gvs, served[0], served[1]);
}

void ClusterReader::Run() {
  std::unique_ptr<HttpClient> http = http_->Create(&stop_);
  Backoff backoff(options_.discovery_backoff, random01_);
  Result<ApiMode> mode = Error{""};
  while (!stop_) {
    mode = Discover(*http);
    if (mode) {
      break;
    }
    logging::Warn("Kubernetes API discovery failed, retrying with backoff",
                  {{"err", mode.error().message}});
    if (!Wait(backoff.Next())) {
      return;
    }
  }
  if (stop_) {
    return;
  }
  std::lock_guard lock(mu_);
  mode_ = *mode;
  std::string names;
  for (const ResourceType& type : ResourcesOf(*mode)) {
    names += (names.empty() ? "" : ", ") + type.Name();
    stores_.push_back(std::make_unique<ResourceStore>(type));
    clients_.push_back(http_->Create(&stop_));
    ReflectorEnv env{clients_.back().get(), clock_, random01_, token_, changed_};
    reflectors_.push_back(
        std::make_unique<Reflector>(stores_.back().get(), options_.reflector, std::move(env)));
  }
  logging::Info("reading Calico's resources",
                {{"api", std::string(ApiModeName(*mode))}, {"resources", names}});
  for (auto& r : reflectors_) {
    threads_.emplace_back([reflector = r.get()] { reflector->Run(); });
  }
}

std::optional<ClusterView> ClusterReader::View() const {
  std::lock_guard lock(mu_);
  if (stores_.empty()) {
    return std::nullopt;
  }
  for (const auto& s : stores_) {
    if (!s->listed()) {
      return std::nullopt;
    }
  }
  ClusterView view;
  for (const auto& s : stores_) {
    s->AddTo(view.cluster, view.rejected);
  }
  return view;
}

ReaderStats ClusterReader::Stats() const {
  std::lock_guard lock(mu_);
  ReaderStats out;
  out.discovery_requests = discovery_requests_;
  out.discovery_errors = discovery_errors_;
  out.mode = mode_ ? std::string(ApiModeName(*mode_)) : "";
  out.synced = !stores_.empty();
  for (const auto& s : stores_) {
    out.resources.push_back(s->Stats());
    out.synced = out.synced && out.resources.back().listed;
  }
  return out;
}

}  // namespace cbe::kube

#include <fstream>
#include <sstream>

namespace cbe::kube {

TokenSource TokenSourceFor(const Credentials& credentials) {
  if (credentials.token_file.empty()) {
    return [token = credentials.token]() -> Result<std::string> { return token; };
  }
  return [file = credentials.token_file]() -> Result<std::string> {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      return Error{"cannot read the token file " + file};
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    std::string token = buffer.str();
    const std::size_t end = token.find_last_not_of(" \t\r\n");
    token.erase(end == std::string::npos ? 0 : end + 1);
    token.erase(0, token.find_first_not_of(" \t\r\n"));
    if (token.empty()) {
      return Error{"the token file " + file + " is empty"};
    }
    return token;
  };
}

}  // namespace cbe::kube
