#include "exporter/kube/http.h"

#include <curl/curl.h>

#include <mutex>

namespace cbe::kube {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr std::size_t kMaxErrorBody = 64 * 1024;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// What one transfer's callbacks share.
struct Transfer {
  const HttpRequest* request = nullptr;
  const std::atomic<bool>* stop = nullptr;
  CURL* easy = nullptr;
  SteadyClock::time_point start;
  SteadyClock::time_point last_byte;
  bool answered = false;  // the status line arrived
  int status = 0;
  bool consumer_stopped = false;
  std::optional<ErrorKind> aborted;  // why the progress callback ended it
  std::string abort_message;
  std::string error_body;
};

std::size_t OnHeader(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::string_view line(data, size * n);
  t->answered = true;
  t->last_byte = SteadyClock::now();
  if (line == "\r\n" || line == "\n") {  // the end of the headers
    long code = 0;                       // NOLINT(google-runtime-int): curl's type
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
    t->status = static_cast<int>(code);
    if (t->request->on_response && t->status >= 200) {
      t->request->on_response(t->status);
    }
  }
  return size * n;
}

std::size_t OnBody(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t bytes = size * n;
  t->last_byte = SteadyClock::now();
  if (t->status == 0) {
    long code = 0;  // NOLINT(google-runtime-int): curl's type
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
    t->status = static_cast<int>(code);
  }
  if (t->status < 200 || t->status > 299) {
    const std::size_t room = kMaxErrorBody - std::min(kMaxErrorBody, t->error_body.size());
    t->error_body.append(data, std::min(room, bytes));
    return bytes;
  }
  if (t->request->on_body && !t->request->on_body(std::string_view(data, bytes))) {
    t->consumer_stopped = true;
    return 0;  // ends the transfer (CURLE_WRITE_ERROR)
  }
  return bytes;
}

std::string Seconds(std::chrono::milliseconds d) {
  const long long ms = d.count();  // NOLINT(google-runtime-int)
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  const auto now = SteadyClock::now();
  const HttpRequest& r = *t->request;
  if (t->stop != nullptr && t->stop->load()) {
    t->consumer_stopped = true;
    return 1;
  }
  if (!t->answered && now - t->start > r.response_timeout) {
    t->aborted = ErrorKind::kTimeout;
    t->abort_message = "no answer within " + Seconds(r.response_timeout);
    return 1;
  }
  if (t->answered && r.idle_timeout.count() > 0 && now - t->last_byte > r.idle_timeout) {
    t->aborted = ErrorKind::kTimeout;
    t->abort_message = "no data for " + Seconds(r.idle_timeout);
    return 1;
  }
  return 0;
}

ErrorKind KindOf(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_URL_MALFORMAT:
      return ErrorKind::kConnect;
    case CURLE_OPERATION_TIMEDOUT:
      return ErrorKind::kTimeout;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return ErrorKind::kTls;
    default:
      return ErrorKind::kDropped;  // recv/send errors, partial bodies, empty replies
  }
}

// "https://host:6443/prefix" -> host and port, for CONNECT_TO.
bool SplitServer(const std::string& server, std::string& host, std::string& port) {
  const std::size_t scheme = server.find("://");
  if (scheme == std::string::npos) {
    return false;
  }
  std::string rest = server.substr(scheme + 3);
  rest = rest.substr(0, rest.find('/'));
  const std::size_t colon = rest.rfind(':');
  if (colon != std::string::npos && rest.find(']', colon) == std::string::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  } else {
    host = rest;
    port = server.starts_with("https") ? "443" : "80";
  }
  return true;
}

class CurlClient : public HttpClient {
 public:
  CurlClient(const Credentials& c, const std::string& user_agent, const std::atomic<bool>* stop)
      : stop_(stop), easy_(curl_easy_init()), base_(c.server) {
    Configure(c, user_agent);
  }
  ~CurlClient() override {
    curl_slist_free_all(connect_to_);
    curl_easy_cleanup(easy_);
  }
  CurlClient(const CurlClient&) = delete;
  CurlClient& operator=(const CurlClient&) = delete;

  HttpResponse Get(const HttpRequest& request) override;

 private:
  void Configure(const Credentials& c, const std::string& user_agent);

  const std::atomic<bool>* stop_;
  CURL* easy_;
  std::string base_;
  curl_slist* connect_to_ = nullptr;
};

void SetBlob(CURL* easy, CURLoption option, const std::string& pem) {
  curl_blob blob{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_COPY};
  curl_easy_setopt(easy, option, &blob);
}

void CurlClient::Configure(const Credentials& c, const std::string& user_agent) {
  curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy_, CURLOPT_USERAGENT, user_agent.c_str());
  curl_easy_setopt(easy_, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(easy_, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy_, CURLOPT_TCP_KEEPIDLE, 30L);
  curl_easy_setopt(easy_, CURLOPT_TCP_KEEPINTVL, 10L);
  curl_easy_setopt(easy_, CURLOPT_ACCEPT_ENCODING, "");  // gzip when the server offers it
  curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "https,http");
  if (c.insecure_skip_tls_verify) {
    curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!c.ca_pem.empty()) {
    SetBlob(easy_, CURLOPT_CAINFO_BLOB, c.ca_pem);
  } else if (!c.ca_file.empty()) {
    curl_easy_setopt(easy_, CURLOPT_CAINFO, c.ca_file.c_str());
  }
  if (!c.client_cert_pem.empty()) {
    SetBlob(easy_, CURLOPT_SSLCERT_BLOB, c.client_cert_pem);
    curl_easy_setopt(easy_, CURLOPT_SSLCERTTYPE, "PEM");
  } else if (!c.client_cert_file.empty()) {
    curl_easy_setopt(easy_, CURLOPT_SSLCERT, c.client_cert_file.c_str());
  }
  if (!c.client_key_pem.empty()) {
    SetBlob(easy_, CURLOPT_SSLKEY_BLOB, c.client_key_pem);
    curl_easy_setopt(easy_, CURLOPT_SSLKEYTYPE, "PEM");
  } else if (!c.client_key_file.empty()) {
    curl_easy_setopt(easy_, CURLOPT_SSLKEY, c.client_key_file.c_str());
  }
  // tls-server-name: ask for that name (SNI and certificate check), connect to the server.
  std::string host;
  std::string port;
  if (!c.tls_server_name.empty() && SplitServer(c.server, host, port)) {
    connect_to_ = curl_slist_append(
        nullptr, (c.tls_server_name + ":" + port + ":" + host + ":" + port).c_str());
    curl_easy_setopt(easy_, CURLOPT_CONNECT_TO, connect_to_);
    base_ = c.server.substr(0, c.server.find("://") + 3) + c.tls_server_name + ":" + port;
  }
}

HttpResponse CurlClient::Get(const HttpRequest& request) {
  HttpResponse out;
  if (easy_ == nullptr) {
    out.error = ErrorKind::kConnect;
    out.message = "curl_easy_init failed";
    return out;
  }
  Transfer t;
  t.request = &request;
  t.stop = stop_;
  t.easy = easy_;
  t.start = t.last_byte = SteadyClock::now();
  const std::string url = base_ + request.path_and_query;
  curl_slist* headers = curl_slist_append(nullptr, "Accept: application/json");
  if (!request.bearer_token.empty()) {
    headers = curl_slist_append(headers, ("Authorization: Bearer " + request.bearer_token).c_str());
  }
  for (const std::string& header : request.headers) {
    headers = curl_slist_append(headers, header.c_str());
  }
  char error_buffer[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(easy_, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(easy_, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(easy_, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(easy_, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(easy_, CURLOPT_XFERINFOFUNCTION, &OnProgress);
  curl_easy_setopt(easy_, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(request.response_timeout.count()));  // NOLINT
  curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(request.total_timeout.count()));  // NOLINT
  const CURLcode code = curl_easy_perform(easy_);
  curl_slist_free_all(headers);
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, nullptr);

  long status = 0;  // NOLINT(google-runtime-int): curl's type
  curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
  out.status = static_cast<int>(status);
  if (curl_header* etag = nullptr;
      curl_easy_header(easy_, "ETag", 0, CURLH_HEADER, -1, &etag) == CURLHE_OK) {
    out.etag = etag->value;
  }
  out.error_body = std::move(t.error_body);
  if (code == CURLE_OK) {
    return out;
  }
  if (t.consumer_stopped) {
    out.stopped = true;
    return out;
  }
  if (t.aborted) {
    out.error = t.aborted;
    out.message = t.abort_message;
    return out;
  }
  out.error = KindOf(code);
  out.message = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
  return out;
}

}  // namespace

CurlClientFactory::CurlClientFactory(Credentials credentials, std::string user_agent)
    : credentials_(std::move(credentials)), user_agent_(std::move(user_agent)) {
  GlobalInit();
}

std::unique_ptr<HttpClient> CurlClientFactory::Create(const std::atomic<bool>* stop) {
  return std::make_unique<CurlClient>(credentials_, user_agent_, stop);
}

}  // namespace cbe::kube
